// Wall-clock times as Unix milliseconds, written and read as RFC 3339 UTC ("2026-11-23T17:30:00.000Z").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hac {

using TimeMs = std::int64_t;

TimeMs nowMs();
std::string formatTime(TimeMs t);
std::optional<TimeMs> parseTime(std::string_view text);

} // namespace hac
