// RFC 3339 formatting and parsing of Unix-millisecond times, always in UTC.
#include <hac/time.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/core.h>

namespace hac {

TimeMs nowMs()
{
	using namespace std::chrono;
	return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string formatTime(TimeMs t)
{
	std::time_t secs = static_cast<std::time_t>(t / 1000);
	int ms = static_cast<int>(t % 1000);
	if (ms < 0) {
		secs -= 1;
		ms += 1000;
	}
	std::tm tm{};
	gmtime_r(&secs, &tm);
	return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
			   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::optional<TimeMs> parseTime(std::string_view text)
{
	// Accepts YYYY-MM-DDTHH:MM:SS[.fff]Z, the form formatTime writes.
	std::string s(text);
	int y, mo, d, h, mi, sec, n = 0;
	if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return std::nullopt;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return std::nullopt;
	std::size_t pos = static_cast<std::size_t>(n);
	int ms = 0;
	if (pos < s.size() && s[pos] == '.') {
		int digits = 0;
		for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++digits)
			if (digits < 3)
				ms = ms * 10 + (s[pos] - '0');
		if (digits == 0)
			return std::nullopt;
		for (; digits < 3; ++digits)
			ms *= 10;
	}
	if (pos + 1 != s.size() || s[pos] != 'Z')
		return std::nullopt;
	std::tm tm{};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	std::time_t secs = timegm(&tm);
	return TimeMs(secs) * 1000 + ms;
}

} // namespace hac
