// Times for people, in the local time zone (scripts get RFC 3339 UTC from hac/time.hpp).
#pragma once

#include <string>

#include <hac/time.hpp>

namespace hac::tools {

// strftime() of `t` in local time, e.g. "%a %b %e %H:%M:%S %Y" -> "Mon Nov 23 17:30:00 2026".
std::string formatLocalTime(TimeMs t, const char *format);

// "45 s", "12 min", "3 h", "2 days": how long ago something happened, for notes like "since ... (12 min ago)".
std::string formatAge(TimeMs ms);

} // namespace hac::tools
