// Unit tests of hac-usage's times: --since/--until as people write them, and local days, weeks and
// months, in a zone with daylight saving time so that a day is not always 24 hours.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include <hac/error.hpp>

#include "period.hpp"
#include "time_zone.hpp"

using namespace hac;
using namespace hac::usage;

namespace {

TimeMs utc(const char *text)
{
	return *parseTime(text);
}

std::string refusal(const char *text)
{
	try {
		parseWhen(text, utc("2026-11-23T17:30:00Z"), "--since");
	} catch (const Error &e) {
		CHECK(e.code() == Errc::Usage);
		return e.what();
	}
	return "";
}

} // namespace

TEST_CASE("--since and --until take dates, local times, UTC times and times ago")
{
	Zone zone("Europe/Berlin");
	TimeMs now = utc("2026-11-23T17:30:00Z");
	CHECK(parseWhen("now", now, "--until") == now);
	CHECK(parseWhen("2026-11-01", now, "--since") == utc("2026-10-31T23:00:00Z"));
	CHECK(parseWhen("2026-07-01", now, "--since") == utc("2026-06-30T22:00:00Z"));     // summer time
	CHECK(parseWhen("2026-11-01 14:30", now, "--since") == utc("2026-11-01T13:30:00Z"));
	CHECK(parseWhen("2026-11-01T14:30:15", now, "--since") == utc("2026-11-01T13:30:15Z"));
	CHECK(parseWhen("2026-11-01T14:30Z", now, "--since") == utc("2026-11-01T14:30:00Z"));
	CHECK(parseWhen("2026-11-01T14:30:00.250Z", now, "--since") == utc("2026-11-01T14:30:00.250Z"));
	CHECK(parseWhen("7d", now, "--since") == now - 7 * 86400000LL);
	CHECK(parseWhen("24h", now, "--since") == now - 86400000LL);
	CHECK(parseWhen("30m", now, "--since") == now - 1800000LL);
	CHECK(parseWhen("2w", now, "--since") == now - 14 * 86400000LL);

	CHECK(refusal("yesterday").find("--since 'yesterday' is not a time") != std::string::npos);
	CHECK(refusal("2026-02-30").find("not a date of the calendar") != std::string::npos);
	CHECK(refusal("2026-13-01").find("out of range") != std::string::npos);
	CHECK(refusal("2026-11-01 25:00").find("out of range") != std::string::npos);
	CHECK(refusal("7y").find("unknown unit") != std::string::npos);
	CHECK(refusal("").find("is not a time") != std::string::npos);
	CHECK(refusal("2026-11-1").find("is not a time") != std::string::npos);
}

TEST_CASE("days follow local midnight, also on the 25-hour day when summer time ends")
{
	Zone zone("Europe/Berlin");
	// Summer time ends on Sunday, October 25, 2026 at 03:00 local.
	auto b = periodBoundaries(utc("2026-10-23T22:00:00Z"), utc("2026-10-26T23:00:00Z"), Calendar::Day);
	REQUIRE(b.size() == 4);
	CHECK(b[1] == utc("2026-10-24T22:00:00Z"));
	CHECK(b[2] == utc("2026-10-25T23:00:00Z"));
	CHECK(b[2] - b[1] == 25 * 3600000LL);
	CHECK(periodLabel(b[1], Calendar::Day) == "2026-10-25");
	// A range that starts and ends within days is cut at both.
	b = periodBoundaries(utc("2026-10-24T10:00:00Z"), utc("2026-10-25T12:00:00Z"), Calendar::Day);
	REQUIRE(b.size() == 3);
	CHECK(b[0] == utc("2026-10-24T10:00:00Z"));
	CHECK(b[1] == utc("2026-10-24T22:00:00Z"));
	CHECK(b[2] == utc("2026-10-25T12:00:00Z"));
	CHECK(localIso(b[1]) == "2026-10-25T00:00:00+02:00");
	CHECK(localIso(utc("2026-11-03T09:00:00Z")) == "2026-11-03T10:00:00+01:00");
}

TEST_CASE("weeks start on Monday and carry ISO week numbers; months start on the first")
{
	Zone zone("Europe/Berlin");
	// Sunday, November 29, 2026, 12:00 local belongs to the week of Monday, November 23.
	TimeMs sunday = utc("2026-11-29T11:00:00Z");
	CHECK(periodStart(sunday, Calendar::Week) == utc("2026-11-22T23:00:00Z"));
	CHECK(periodLabel(sunday, Calendar::Week) == "2026-W48");
	CHECK(nextPeriodStart(utc("2026-11-22T23:00:00Z"), Calendar::Week) == utc("2026-11-29T23:00:00Z"));
	// ISO week 53 of 2026 ends on Sunday, January 3, 2027.
	CHECK(periodLabel(utc("2027-01-03T12:00:00Z"), Calendar::Week) == "2026-W53");

	auto months = periodBoundaries(utc("2026-10-15T00:00:00Z"), utc("2027-01-10T00:00:00Z"), Calendar::Month);
	REQUIRE(months.size() == 5);
	CHECK(months[1] == utc("2026-10-31T23:00:00Z"));
	CHECK(months[2] == utc("2026-11-30T23:00:00Z"));
	CHECK(months[3] == utc("2026-12-31T23:00:00Z"));
	CHECK(periodLabel(months[0], Calendar::Month) == "2026-10");
	CHECK(periodLabel(months[3], Calendar::Month) == "2027-01");
	CHECK(periodStart(utc("2026-11-15T00:00:00Z"), Calendar::Month) == utc("2026-10-31T23:00:00Z"));
}

TEST_CASE("a zone half an hour off UTC draws its days there")
{
	Zone zone("Asia/Kolkata");
	auto b = periodBoundaries(utc("2026-11-01T00:00:00Z"), utc("2026-11-02T00:00:00Z"), Calendar::Day);
	REQUIRE(b.size() == 3);
	CHECK(b[1] == utc("2026-11-01T18:30:00Z"));
	CHECK(periodLabel(b[0], Calendar::Day) == "2026-11-01");
	CHECK(periodLabel(b[1], Calendar::Day) == "2026-11-02");
}
