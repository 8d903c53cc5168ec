// Local-time formatting through localtime_r() and strftime() in the C locale, so output does not
// change with LANG.
#include "local_time.hpp"

#include <ctime>

#include <fmt/core.h>

namespace hac::tools {

std::string formatLocalTime(TimeMs t, const char *format)
{
	std::time_t secs = static_cast<std::time_t>(t / 1000);
	std::tm tm{};
	localtime_r(&secs, &tm);
	char buffer[128];
	std::size_t n = std::strftime(buffer, sizeof buffer, format, &tm);
	return std::string(buffer, n);
}

std::string formatAge(TimeMs ms)
{
	TimeMs s = ms < 0 ? 0 : ms / 1000;
	if (s < 120)
		return fmt::format("{} s", s);
	if (s < 2 * 3600)
		return fmt::format("{} min", s / 60);
	if (s < 2 * 86400)
		return fmt::format("{} h", s / 3600);
	return fmt::format("{} days", s / 86400);
}

} // namespace hac::tools
