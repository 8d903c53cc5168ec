// Unit tests of RFC 3339 time formatting and parsing.
#include <doctest/doctest.h>

#include <hac/time.hpp>

using namespace hac;

TEST_CASE("times round-trip through RFC 3339 UTC with milliseconds")
{
	CHECK(formatTime(0) == "1970-01-01T00:00:00.000Z");
	CHECK(formatTime(1795455000123) == "2026-11-23T17:30:00.123Z");
	CHECK(parseTime("2026-11-23T17:30:00.123Z") == 1795455000123);
	CHECK(parseTime("2026-11-23T17:30:00Z") == 1795455000000);
	CHECK(parseTime("2026-11-23T17:30:00.5Z") == 1795455000500);
	for (TimeMs t : {TimeMs(0), TimeMs(86399999), TimeMs(1795455000123), TimeMs(4102444800000)})
		CHECK(parseTime(formatTime(t)) == t);
}

TEST_CASE("malformed times are refused, not guessed")
{
	CHECK_FALSE(parseTime(""));
	CHECK_FALSE(parseTime("2026-11-23"));
	CHECK_FALSE(parseTime("2026-11-23T17:30:00"));        // no zone: ambiguous
	CHECK_FALSE(parseTime("2026-11-23T17:30:00+01:00"));  // only UTC is written
	CHECK_FALSE(parseTime("2026-13-01T00:00:00Z"));
	CHECK_FALSE(parseTime("2026-11-23T17:30:00.Z"));
	CHECK_FALSE(parseTime("2026-11-23T17:30:00Zjunk"));
}
