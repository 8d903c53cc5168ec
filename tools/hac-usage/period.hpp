// Time for hac-usage: --since/--until as people write them, and the calendar periods of --by day,
// week and month in the local time zone (the agent stores and sums UTC; the days are the user's).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <hac/time.hpp>

namespace hac::usage {

enum class Calendar { Day, Week, Month };

// Reads `text` as given to `option` (for the message): "now"; a date "2026-11-01" (its local
// midnight); a local date and time "2026-11-01 14:30", "2026-11-01T14:30:15"; UTC with a trailing
// Z ("2026-11-01T14:30:00Z", RFC 3339 too); or a time before `now`: "30m", "24h", "7d", "2w".
// Throws hac::Error(Usage) naming the option and the forms it takes.
TimeMs parseWhen(std::string_view text, TimeMs now, const char *option);

// The local start of the day, the week (Monday) or the month that holds `t`.
TimeMs periodStart(TimeMs t, Calendar calendar);
// The local start of the period after the one starting at `start`.
TimeMs nextPeriodStart(TimeMs start, Calendar calendar);

// The boundaries of the periods that meet [since, until): since, every period start between,
// until. The first and last periods are cut at since and until. Needs since < until.
std::vector<TimeMs> periodBoundaries(TimeMs since, TimeMs until, Calendar calendar);

// "2026-11-03" (day), "2026-W45" (ISO week), "2026-11" (month): the local period holding `t`.
std::string periodLabel(TimeMs t, Calendar calendar);

// ISO 8601 in local time with the offset: "2026-11-03T10:00:00+01:00", for CSV.
std::string localIso(TimeMs t);

} // namespace hac::usage
