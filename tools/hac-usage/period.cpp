// Local calendar arithmetic through localtime_r() and mktime(), which know the zone's daylight
// saving rules: a day is not always 24 hours, and a period boundary is wherever local midnight is.
#include "period.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/number.hpp>

namespace hac::usage {

namespace {

std::tm localTm(TimeMs t)
{
	std::time_t secs = static_cast<std::time_t>(t / 1000 - (t % 1000 < 0 ? 1 : 0));
	std::tm tm{};
	localtime_r(&secs, &tm);
	return tm;
}

// Local midnight of the (possibly denormal) date in `tm`, as mktime() normalizes it.
TimeMs localMidnight(std::tm tm)
{
	tm.tm_hour = 0;
	tm.tm_min = 0;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return TimeMs(std::mktime(&tm)) * 1000;
}

// `text` against a pattern of 'd' (a digit), 'T' (T or a space) and literal characters.
bool matches(std::string_view text, std::string_view pattern)
{
	if (text.size() != pattern.size())
		return false;
	for (std::size_t i = 0; i < text.size(); ++i) {
		char c = text[i], p = pattern[i];
		bool ok = p == 'd' ? std::isdigit(static_cast<unsigned char>(c)) != 0 : p == 'T' ? c == 'T' || c == ' ' : c == p;
		if (!ok)
			return false;
	}
	return true;
}

int number(std::string_view text, std::size_t pos, std::size_t len)
{
	int n = 0;
	for (std::size_t i = pos; i < pos + len; ++i)
		n = n * 10 + (text[i] - '0');
	return n;
}

} // namespace

TimeMs parseWhen(std::string_view text, TimeMs now, const char *option)
{
	auto bad = [&](std::string_view why) {
		return Error(Errc::Usage,
			     fmt::format("{} '{}' {}: give a date (2026-11-01), a local date and time (2026-11-01 14:30), "
					 "UTC with Z (2026-11-01T14:30Z), or a time ago (30m, 24h, 7d, 2w)", option, text, why));
	};
	if (text == "now")
		return now;

	// A time ago: digits and one unit.
	if (text.size() >= 2 && text.size() <= 8 && std::all_of(text.begin(), text.end() - 1, [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
		TimeMs unit = 0;
		switch (text.back()) {
		case 'm': unit = 60000; break;
		case 'h': unit = 3600000; break;
		case 'd': unit = 86400000; break;
		case 'w': unit = 7 * 86400000LL; break;
		default: throw bad("has an unknown unit (m, h, d or w)");
		}
		// Up to 7 digits, so the product cannot overflow.
		return now - *parseInteger<TimeMs>(text.substr(0, text.size() - 1)) * unit;
	}
	if (auto t = parseTime(text))
		return *t;

	bool utc = !text.empty() && text.back() == 'Z';
	std::string_view body = utc ? text.substr(0, text.size() - 1) : text;
	bool date = matches(body, "dddd-dd-dd");
	bool minutes = matches(body, "dddd-dd-ddTdd:dd");
	bool seconds = matches(body, "dddd-dd-ddTdd:dd:dd");
	if (!date && !minutes && !seconds)
		throw bad("is not a time");
	std::tm tm{};
	tm.tm_year = number(body, 0, 4) - 1900;
	tm.tm_mon = number(body, 5, 2) - 1;
	tm.tm_mday = number(body, 8, 2);
	if (!date) {
		tm.tm_hour = number(body, 11, 2);
		tm.tm_min = number(body, 14, 2);
	}
	if (seconds)
		tm.tm_sec = number(body, 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 59)
		throw bad("is out of range");
	std::tm asked = tm;
	tm.tm_isdst = -1;
	std::time_t secs = utc ? timegm(&tm) : std::mktime(&tm);
	// mktime() and timegm() roll 2026-02-30 over to March; a date that does not exist is refused.
	if (tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon)
		throw bad("is not a date of the calendar");
	return TimeMs(secs) * 1000;
}

TimeMs periodStart(TimeMs t, Calendar calendar)
{
	std::tm tm = localTm(t);
	if (calendar == Calendar::Week)
		tm.tm_mday -= (tm.tm_wday + 6) % 7;      // back to Monday
	else if (calendar == Calendar::Month)
		tm.tm_mday = 1;
	// Where midnight does not exist (a clock change at 00:00), mktime() may answer an hour on;
	// a period never starts after the time it holds.
	return std::min(localMidnight(tm), t);
}

TimeMs nextPeriodStart(TimeMs start, Calendar calendar)
{
	std::tm tm = localTm(start);
	switch (calendar) {
	case Calendar::Day: tm.tm_mday += 1; break;
	case Calendar::Week: tm.tm_mday += 7 - (tm.tm_wday + 6) % 7; break;
	case Calendar::Month: tm.tm_mday = 1; tm.tm_mon += 1; break;
	}
	TimeMs next = localMidnight(tm);
	return next > start ? next : start + 86400000;
}

std::vector<TimeMs> periodBoundaries(TimeMs since, TimeMs until, Calendar calendar)
{
	std::vector<TimeMs> out{since};
	for (TimeMs t = nextPeriodStart(periodStart(since, calendar), calendar); t < until; t = nextPeriodStart(t, calendar))
		out.push_back(t);
	out.push_back(until);
	return out;
}

std::string periodLabel(TimeMs t, Calendar calendar)
{
	std::tm tm = localTm(t);
	const char *format = calendar == Calendar::Day ? "%Y-%m-%d" : calendar == Calendar::Week ? "%G-W%V" : "%Y-%m";
	char buffer[32];
	return std::string(buffer, std::strftime(buffer, sizeof buffer, format, &tm));
}

std::string localIso(TimeMs t)
{
	std::tm tm = localTm(t);
	char buffer[48];
	std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S%z", &tm);
	// %z writes +0100; RFC 3339 wants +01:00.
	std::string_view s(buffer, n);
	return fmt::format("{}:{}", s.substr(0, n - 2), s.substr(n - 2));
}

} // namespace hac::usage
