// Unit tests of the cost guard's arithmetic: durations, UTC months, money, thresholds, forecasts,
// the bill of a job its limit ended, the job log's v5 step and the [jobs] and [budget] settings.
#include <cstdlib>
#include <ctime>
#include <fstream>

#include <doctest/doctest.h>

#include <hac/billing.hpp>
#include <hac/budget.hpp>
#include <hac/duration.hpp>
#include <hac/error.hpp>
#include <service/database.hpp>

#include "agent_config.hpp"
#include "job_log.hpp"
#include "temp_dir.hpp"
#include "time_zone.hpp"
#include "usage_log.hpp"

using namespace hac;

namespace {

constexpr TimeMs kSecond = 1000;
constexpr TimeMs kMinute = 60 * kSecond;

TimeMs at(const char *rfc3339)
{
	return parseTime(rfc3339).value();
}

AgentConfig configFrom(const TempDir &dir, const std::string &text)
{
	std::string path = dir.file("agent.toml");
	std::ofstream(path) << text;
	return loadAgentConfig(path);
}

std::string configError(const TempDir &dir, const std::string &text)
{
	try {
		configFrom(dir, text);
	} catch (const Error &e) {
		return e.what();
	}
	return "";
}

} // namespace

TEST_CASE("durations: units, sums, clock forms as Slurm's --time; bare numbers and nonsense refused")
{
	CHECK(parseDuration("90s") == 90);
	CHECK(parseDuration("90m") == 5400);
	CHECK(parseDuration("2h") == 7200);
	CHECK(parseDuration("1d") == 86400);
	CHECK(parseDuration("1h30m") == 5400);
	CHECK(parseDuration("1d2h3m4s") == 93784);
	CHECK(parseDuration("1:30:00") == 5400);
	CHECK(parseDuration("0:00:01") == 1);
	CHECK(parseDuration("36:00:00") == 36 * 3600);     // hours may pass 23 without a day count
	CHECK(parseDuration("1-00:00:00") == 86400);
	CHECK(parseDuration("2-03:04:05") == 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
	CHECK(parseDuration("366d") == 366 * 86400);       // a year is the most
	for (const char *bad : {"", "90", "0s", "0:00:00", "-5m", "5 m", "5M", "1x", "m", "2h1h", "1m2h", "367d",
				"1:60:00", "1:00:60", "1:5:00", "1-24:00:00", "1-", "-1:00:00", "1:00", "1:00:00:00",
				"99999999999h", "1.5h", "2h "})
		CHECK_MESSAGE(!parseDuration(bad), bad);
}

TEST_CASE("a duration is shown as H:MM:SS, from a day on as D-HH:MM:SS, the forms it is read in")
{
	CHECK(formatDuration(0) == "0:00:00");
	CHECK(formatDuration(59) == "0:00:59");
	CHECK(formatDuration(5400) == "1:30:00");
	CHECK(formatDuration(86399) == "23:59:59");
	CHECK(formatDuration(86400) == "1-00:00:00");
	CHECK(formatDuration(-5) == "0:00:00");
	for (std::int64_t s : {1LL, 61LL, 5400LL, 86400LL, 93784LL, 366LL * 86400})
		CHECK(parseDuration(formatDuration(s)) == s);
}

TEST_CASE("a budget's month is the UTC calendar month, whatever the time zone")
{
	for (const char *tz : {"UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Asia/Kolkata"}) {
		Zone zone(tz);
		CAPTURE(tz);
		CHECK(monthStartUtc(at("2026-12-31T23:59:59.999Z")) == at("2026-12-01T00:00:00.000Z"));
		CHECK(nextMonthStartUtc(at("2026-12-31T23:59:59.999Z")) == at("2027-01-01T00:00:00.000Z"));
		CHECK(monthStartUtc(at("2027-01-01T00:00:00.000Z")) == at("2027-01-01T00:00:00.000Z"));
		CHECK(monthStartUtc(at("2027-01-01T00:00:00.000Z") - 1) == at("2026-12-01T00:00:00.000Z"));
		CHECK(nextMonthStartUtc(at("2028-02-29T12:00:00.000Z")) == at("2028-03-01T00:00:00.000Z"));
		CHECK(monthStartUtc(at("2028-02-29T12:00:00.000Z")) == at("2028-02-01T00:00:00.000Z"));
	}
}

TEST_CASE("money in agent.toml: exact millionths, at most six decimals, nothing else")
{
	CHECK(parseMoney("500") == 500'000'000);
	CHECK(parseMoney("12.5") == 12'500'000);
	CHECK(parseMoney("0.08") == 80'000);
	CHECK(parseMoney("0.000001") == 1);
	CHECK(parseMoney("0") == 0);
	for (const char *bad : {"", "-1", "+1", "1.", ".5", "1.0000001", "1e3", "12,50", "1 000", "USD 5", "10000000000000"})
		CHECK_MESSAGE(!parseMoney(bad), bad);
}

TEST_CASE("a threshold is reached at its exact share of the limit, not a millionth before")
{
	std::vector<int> t{50, 80, 100};
	CHECK(reachedThreshold(49'999'999, 100'000'000, t) == 0);
	CHECK(reachedThreshold(50'000'000, 100'000'000, t) == 50);
	CHECK(reachedThreshold(79'999'999, 100'000'000, t) == 50);
	CHECK(reachedThreshold(80'000'000, 100'000'000, t) == 80);
	CHECK(reachedThreshold(99'999'999, 100'000'000, t) == 80);
	CHECK(reachedThreshold(100'000'000, 100'000'000, t) == 100);
	CHECK(reachedThreshold(250'000'000, 100'000'000, t) == 100);
	CHECK(reachedThreshold(1, 3, {33}) == 33);            // 1/3 is 33.3%: past 33
	CHECK(reachedThreshold(0, 0, t) == 100);              // a limit of 0 is spent at once
	CHECK(percentSpent(99'999'999, 100'000'000) == 99);   // rounded down: 100% only when spent
	CHECK(percentSpent(80'000, 80'000) == 100);

	BudgetFigures f = budgetFigures(100'000'000, 100'000'000, t, 0, 30 * 86400 * kSecond, 86400 * kSecond);
	CHECK(f.exhausted);
	CHECK(f.remainingMicro() == 0);
	BudgetFigures over = budgetFigures(100'000'000, 100'000'001, t, 0, 30 * 86400 * kSecond, 86400 * kSecond);
	CHECK(over.remainingMicro() == 0);                    // never negative
	BudgetFigures none = budgetFigures(std::nullopt, 5, t, 0, 30 * 86400 * kSecond, 86400 * kSecond);
	CHECK_FALSE(none.exhausted);
	CHECK(none.threshold == 0);
	CHECK_FALSE(none.remainingMicro());
}

TEST_CASE("the forecast draws the month so far in a straight line to its end")
{
	TimeMs start = at("2026-11-01T00:00:00.000Z"), end = at("2026-12-01T00:00:00.000Z");
	CHECK(forecastMicro(10'000'000, start, end, at("2026-11-16T00:00:00.000Z")) == 20'000'000); // half way: twice
	CHECK(forecastMicro(10'000'000, start, end, at("2026-11-11T00:00:00.000Z")) == 30'000'000); // a third
	CHECK(forecastMicro(0, start, end, at("2026-11-20T00:00:00.000Z")) == 0);
	// The first seconds of a month count as a minute, so one job does not forecast millions.
	CHECK(forecastMicro(80'000, start, end, start + kSecond) == 80'000LL * 30 * 1440);
	CHECK(forecastMicro(80'000, start, end, end) == 80'000);                                   // it is over
}

TEST_CASE("a job that crosses its limit mid-minute is billed up to its end, each started minute whole")
{
	TimeMs started = at("2026-11-30T23:58:30.000Z");
	TimeMs deadline = started + 90 * kSecond;             // --time 90s, in the next month (UTC)
	// Ended by the agent at the limit: SIGTERM at the deadline, gone 200 ms later.
	CHECK(chargeFor(4, started, deadline + 200, 20000, true).gpuMinutes == 8);
	CHECK(chargeFor(4, started, deadline + 200, 20000, true).costMicro == 160000);
	// A restarted agent dates an overdue job at its deadline: the same two started minutes.
	CHECK(chargeFor(4, started, deadline, 20000, true).gpuMinutes == 8);
	// --time 1m ended exactly at its deadline is one minute; a millisecond of grace is a second one.
	CHECK(chargeFor(4, started, started + kMinute, 20000, true).gpuMinutes == 4);
	CHECK(chargeFor(4, started, started + kMinute + 1, 20000, true).gpuMinutes == 8);
	// It counts in the month it started in (UTC), as in hac-usage: November, not December.
	CHECK(monthStartUtc(started) == at("2026-11-01T00:00:00.000Z"));
	CHECK(monthStartUtc(deadline) == at("2026-12-01T00:00:00.000Z"));
}

TEST_CASE("the month's spending counts the jobs that started in the UTC month, running ones up to now")
{
	TempDir dir;
	LogFile logFile(dir.file("jobs.db"));
	JobLog log(logFile);
	auto add = [&](const std::string &id, TimeMs started, std::optional<TimeMs> ended, const std::string &reason) {
		JobRow row;
		row.job.id = id;
		row.job.sku = "Large.64GB";
		row.job.gpus = 4;
		row.job.uid = 1000;
		row.job.pid = 1;
		row.job.command = "train";
		row.job.startedAt = started;
		row.job.timeLimitSeconds = 90;
		row.deviceId = "dev";
		row.priceMicroPerGpuMinute = 20000;
		log.insertStarting(row);
		log.markRunning(id, started, started + 90 * kSecond);
		if (ended) {
			row.job.endedAt = ended;
			row.job.endReason = reason;
			row.job.state = "ended";
			log.endJob(row.job, chargeFor(4, started, *ended, 20000, true), "{}");
		}
	};
	// November's last job (its limit ended it in December), December's first, and one running.
	add("nov", at("2026-11-30T23:59:30.000Z"), at("2026-12-01T00:01:00.000Z"), "time_limit");
	add("dec", at("2026-12-01T00:00:00.000Z"), at("2026-12-01T00:00:30.000Z"), "finished");
	add("run", at("2026-12-10T10:00:00.000Z"), std::nullopt, "");
	auto row = log.job("nov");
	REQUIRE(row);
	CHECK(row->job.endReason == "time_limit");
	CHECK(row->job.timeLimitSeconds == 90);
	CHECK(row->job.deadline == at("2026-11-30T23:59:30.000Z") + 90 * kSecond);

	UsageLog usage(dir.file("jobs.db"));
	auto spent = [&](TimeMs now) {
		UsageQuery q;
		q.since = monthStartUtc(now);
		q.until = nextMonthStartUtc(now);
		q.by = UsageGrouping::User;
		std::int64_t total = 0;
		for (const UsageRow &r : usage.summary(q, std::nullopt, now))
			total += r.costMicro;
		return total;
	};
	TimeMs now = at("2026-12-10T10:02:30.000Z");             // the running job: 3 started minutes
	CHECK(spent(now) == 4 * 20000 /* dec: 1 min */ + 12 * 20000 /* run: 3 min */);
	CHECK(spent(at("2026-11-30T23:59:59.999Z")) == 8 * 20000); // nov: 2 minutes, all in November

	// What the agent keeps (UserSpending, read once) says the same at any later now.
	auto kept = [&](TimeMs read, TimeMs now) {
		UserSpending parts = usage.userSpending(monthStartUtc(read), nextMonthStartUtc(read));
		std::int64_t total = 0;
		for (const UsageRow &r : parts.ended)
			total += r.costMicro;
		for (const RunningBill &b : parts.running)
			total += b.costAt(now);
		return total;
	};
	CHECK(kept(now, now) == spent(now));
	TimeMs later = at("2026-12-10T10:07:00.000Z");
	CHECK(kept(now, later) == spent(later));
	CHECK(kept(now, later) == 4 * 20000 + 28 * 20000); // run: 7 started minutes
	CHECK(kept(at("2026-11-30T23:59:59.999Z"), at("2026-11-30T23:59:59.999Z")) == 8 * 20000);

	// Every write to the log moves its generation, the end of a job too.
	std::uint64_t before = logFile.generation();
	JobRow running = *log.job("run");
	running.job.endedAt = later;
	running.job.endReason = "finished";
	running.job.state = "ended";
	log.endJob(running.job, chargeFor(4, running.job.startedAt, later, 20000, true), "{}");
	CHECK(logFile.generation() > before);
	CHECK(kept(later, later) == spent(later));
	CHECK(usage.userSpending(monthStartUtc(later), nextMonthStartUtc(later)).running.empty());
}

TEST_CASE("the job log's v5 step keeps every job and queued record, and allows the new end reasons")
{
	TempDir dir;
	{
		Database db(dir.file("jobs.db"), true);
		auto steps = LogFile::migrations();
		db.migrate(std::vector<std::string_view>(steps.begin(), steps.begin() + 4), "job log");
		db.exec("INSERT INTO jobs (id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, pid, "
			"pid_start, command, state, started_at, heartbeat_at, ended_at, end_reason, gpu_minutes, cost_micro) "
			"VALUES ('a', 0, 'd', 'Large.64GB', 4, 20000, 'USD', 1000, 1, 1, 'x', 'ended', 0, 61000, 61000, "
			"'finished', 8, 160000)");
		db.exec("INSERT INTO outbox (job_id, body, next_attempt_at) VALUES ('a', '{}', 0)");
		CHECK_THROWS_AS(db.exec("UPDATE jobs SET end_reason = 'time_limit'"), Error);
	}
	LogFile logFile(dir.file("jobs.db"));
	JobLog log(logFile);
	auto a = log.job("a");
	REQUIRE(a);
	CHECK(a->job.endReason == "finished");
	CHECK_FALSE(a->job.deadline);
	CHECK(log.outboxSize() == 1);
	Database db(dir.file("jobs.db"), false);
	CHECK(db.userVersion() == 5);
	db.exec("UPDATE jobs SET end_reason = 'time_limit'");
	db.exec("UPDATE jobs SET end_reason = 'budget'");
	CHECK_THROWS_AS(db.exec("UPDATE jobs SET end_reason = 'whatever'"), Error);
	CHECK_THROWS_AS(db.exec("DELETE FROM jobs"), Error); // the outbox still references it
}

TEST_CASE("[jobs] and [budget] in agent.toml: values, defaults, and errors naming the key")
{
	TempDir dir;
	AgentConfig none = configFrom(dir, "");
	CHECK_FALSE(none.jobs.defaultTimeLimitSeconds);
	CHECK_FALSE(none.jobs.maxTimeLimitSeconds);
	CHECK(none.jobs.killGraceSeconds == 30);
	CHECK_FALSE(none.budget.any());
	CHECK(none.budget.thresholds == std::vector<int>{50, 80, 100});
	CHECK(none.budget.onExhausted == "refuse");

	AgentConfig c = configFrom(dir, "[jobs]\ndefault_time_limit = \"2h\"\nmax_time_limit = \"1d\"\nkill_grace = \"5s\"\n"
					"[budget]\nmonthly_limit = \"500.50\"\nthresholds = [90, 25, 90]\non_exhausted = \"stop\"\n"
					"[[budget.user]]\nname = \"alice\"\nmonthly_limit = \"20\"\n");
	CHECK(c.jobs.defaultTimeLimitSeconds == 7200);
	CHECK(c.jobs.maxTimeLimitSeconds == 86400);
	CHECK(c.jobs.killGraceSeconds == 5);
	CHECK(c.budget.monthlyLimitMicro == 500'500'000);
	CHECK(c.budget.thresholds == std::vector<int>{25, 90});
	CHECK(c.budget.onExhausted == "stop");
	REQUIRE(c.budget.userLimitsMicro.size() == 1);
	CHECK(c.budget.userLimitsMicro[0] == std::pair<std::string, std::int64_t>{"alice", 20'000'000});

	std::string e = configError(dir, "[jobs]\nmax_time_limit = \"90\"\n");
	CHECK(e.find("agent.toml:2: jobs.max_time_limit: '90' is not a duration") != std::string::npos);
	e = configError(dir, "[jobs]\ndefault_time_limit = \"3h\"\nmax_time_limit = \"2h\"\n");
	CHECK(e.find("jobs.default_time_limit: 3:00:00 is above max_time_limit (2:00:00)") != std::string::npos);
	e = configError(dir, "[budget]\nmonthly_limit = 500.5\n");
	CHECK(e.find("budget.monthly_limit: expected a string") != std::string::npos);
	e = configError(dir, "[budget]\nmonthly_limit = \"5,00\"\n");
	CHECK(e.find("'5,00' is not an amount") != std::string::npos);
	e = configError(dir, "[budget]\non_exhausted = \"kill\"\n");
	CHECK(e.find("budget.on_exhausted: expected \"refuse\"") != std::string::npos);
	e = configError(dir, "[budget]\nthresholds = [0]\n");
	CHECK(e.find("budget.thresholds: 0 is out of range") != std::string::npos);
	e = configError(dir, "[[budget.user]]\nname = \"bob\"\n");
	CHECK(e.find("monthly_limit: missing") != std::string::npos);
	e = configError(dir, "[jobs]\ntime_limit = \"2h\"\n");
	CHECK(e.find("jobs.time_limit: unknown key") != std::string::npos);
}
