// Job time limits as people write them (hac-run --time, agent.toml [jobs]), as Slurm's --time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hac {

// Seconds from "90s", "90m", "2h", "1d", a sum such as "1h30m", "H:MM:SS" or "D-HH:MM:SS"; nothing
// for any other text, for 0 and for more than a year. A bare number is refused: Slurm reads it as
// minutes, a person often means seconds.
std::optional<std::int64_t> parseDuration(std::string_view text);

// "1:02:03" or, from a day on, "2-03:04:05": the form parseDuration reads. Negative counts as 0.
std::string formatDuration(std::int64_t seconds);

} // namespace hac
