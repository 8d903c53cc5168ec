// Unit tests of the billing rule: its edges, money for people, and its SQL twin in the job log's
// v3 migration, which must bill exactly as the C++ rule does.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include <hac/billing.hpp>
#include <service/database.hpp>

#include "log_file.hpp"
#include "temp_dir.hpp"
#include "usage_log.hpp"

using namespace hac;

namespace {

constexpr TimeMs kSecond = 1000;
constexpr TimeMs kMinute = 60 * kSecond;
constexpr TimeMs kStart = 1795455000000; // 2026-11-23T17:30:00Z

} // namespace

TEST_CASE("each started minute counts whole: 0 s is 0, 59 s and 60 s are 1, 61 s is 2")
{
	CHECK(billedMinutes(kStart, kStart) == 0);
	CHECK(billedMinutes(kStart, kStart + 1) == 1);
	CHECK(billedMinutes(kStart, kStart + 59 * kSecond) == 1);
	CHECK(billedMinutes(kStart, kStart + 60 * kSecond) == 1);
	CHECK(billedMinutes(kStart, kStart + 60 * kSecond + 1) == 2);
	CHECK(billedMinutes(kStart, kStart + 61 * kSecond) == 2);
	CHECK(billedMinutes(kStart, kStart + 120 * kSecond) == 2);
	CHECK(billedMinutes(kStart, kStart - kSecond) == 0); // an end before the start bills nothing
	CHECK(billedMinutes(kStart, kStart + 365LL * 86400 * kSecond) == 365LL * 1440);
}

TEST_CASE("a charge is GPUs x minutes x the price; a non-billable job shows its minutes and costs 0")
{
	Charge c = chargeFor(4, kStart, kStart + 61 * kSecond, 20000, true);
	CHECK(c.gpuMinutes == 8);
	CHECK(c.costMicro == 160000);
	Charge failed = chargeFor(4, kStart, kStart + 61 * kSecond, 20000, false);
	CHECK(failed.gpuMinutes == 8);
	CHECK(failed.costMicro == 0);
	CHECK(chargeFor(0, kStart, kStart + kMinute, 20000, true).costMicro == 0);
	CHECK(chargeFor(4, kStart, kStart + kMinute, 0, true).costMicro == 0);
	// A year of the largest SKU at a high price does not overflow.
	CHECK(chargeFor(18, kStart, kStart + 365LL * 86400 * kSecond, 1000000, true).costMicro == 18LL * 525600 * 1000000);
}

TEST_CASE("money is shown exactly, with two decimals at least")
{
	CHECK(formatMicro(0) == "0.00");
	CHECK(formatMicro(240000) == "0.24");
	CHECK(formatMicro(12500) == "0.0125");
	CHECK(formatMicro(1) == "0.000001");
	CHECK(formatMicro(3000000) == "3.00");
	CHECK(formatMicro(123456789) == "123.456789");
	CHECK(formatMicro(-20000) == "-0.02");
	CHECK(formatMicro(INT64_MIN) == "-9223372036854.775808");
}

TEST_CASE("the bills the v3 migration works out in SQL, and their sums, are what the C++ rule gives")
{
	TempDir dir;
	// A job log of schema version 1, from before jobs carried their bill; LogFile migrates it below.
	{
		Database db(dir.file("jobs.db"), true);
		db.migrate({LogFile::migrations().front()}, "job log");
	}
	// Jobs whose durations sit on and around every edge of the rule, and at random; some running,
	// some not billable; three prices, two currencies, three users, over two months.
	std::mt19937_64 random(42);
	const TimeMs edges[] = {0, 1, 59 * kSecond, 60 * kSecond - 1, 60 * kSecond, 60 * kSecond + 1, 61 * kSecond, 3 * kMinute};
	const TimeMs now = kStart + 62LL * 86400 * kSecond;
	struct Seeded {
		std::string sku;
		std::string currency;
		std::uint32_t uid;
		TimeMs start;
		Charge charge;
		bool running;
		bool billable;
	};
	std::vector<Seeded> seeded;
	{
		Database db(dir.file("jobs.db"), false);
		db.transaction([&] {
			Statement insert = db.prepare(
				"INSERT INTO jobs (id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, pid, "
				"pid_start, command, state, started_at, heartbeat_at, ended_at, end_reason, billable) "
				"VALUES (?1, 0, 'dev', ?2, ?3, ?4, ?5, ?6, 1, 0, 'x', ?7, ?8, ?8, ?9, ?10, ?11)");
			for (int i = 0; i < 3000; ++i) {
				Seeded s;
				int kind = static_cast<int>(random() % 3);
				s.sku = kind == 0 ? "Small.16GB" : kind == 1 ? "Large.64GB" : "2xLarge.192GB";
				int gpus = kind == 0 ? 1 : kind == 1 ? 4 : 12;
				std::int64_t price = i % 7 == 0 ? 0 : 10000 + 5000 * (i % 3);
				s.currency = i % 11 == 0 ? "EUR" : "USD";
				s.uid = 1000 + static_cast<std::uint32_t>(i % 3);
				s.start = kStart + static_cast<TimeMs>(random() % (60ULL * 86400 * 1000));
				TimeMs length = i % 2 ? edges[i / 2 % std::size(edges)] : static_cast<TimeMs>(random() % (5 * 3600 * 1000));
				s.running = i % 97 == 0;
				s.billable = i % 13 != 0;
				s.charge = chargeFor(gpus, s.start, s.running ? now : s.start + length, price, s.billable);
				insert.reset();
				insert.bind(1, "job-" + std::to_string(i)).bind(2, s.sku).bind(3, gpus).bind(4, price).bind(5, s.currency)
					.bind(6, std::int64_t(s.uid)).bind(8, s.start).bind(11, s.billable ? 1 : 0);
				if (s.running)
					insert.bind(7, "running").bind(9, std::nullopt).bind(10, std::nullopt);
				else
					insert.bind(7, "ended").bind(9, s.start + length).bind(10, s.billable ? "finished" : "allocator_failure");
				insert.run();
				seeded.push_back(s);
			}
		});
	}

	{ LogFile migrated(dir.file("jobs.db")); }
	UsageLog usage(dir.file("jobs.db"));
	UsageQuery q;
	q.since = kStart;
	q.until = kStart + 61LL * 86400 * kSecond;

	// By SKU for one user, from SQL, against the C++ rule over what was seeded.
	std::map<std::pair<std::string, std::string>, UsageRow> expected;
	for (const Seeded &s : seeded) {
		if (s.uid != 1001)
			continue;
		UsageRow &r = expected[{s.sku, s.currency}];
		++r.jobs;
		r.runningJobs += s.running;
		r.nonBillableJobs += !s.billable;
		r.gpuMinutes += s.billable ? s.charge.gpuMinutes : 0;
		r.costMicro += s.charge.costMicro;
	}
	std::vector<UsageRow> rows = usage.summary(q, 1001, now);
	REQUIRE(rows.size() == expected.size());
	for (const UsageRow &row : rows) {
		const UsageRow &e = expected.at({row.key, row.currency});
		CHECK(row.jobs == e.jobs);
		CHECK(row.runningJobs == e.runningJobs);
		CHECK(row.nonBillableJobs == e.nonBillableJobs);
		CHECK(row.gpuMinutes == e.gpuMinutes);
		CHECK(row.costMicro == e.costMicro);
	}

	// Job by job: the bill stored by the migration (or, running, worked out now) is the C++ rule's.
	std::vector<UsageJob> jobs = usage.jobs(q.since, q.until, std::nullopt, now);
	REQUIRE(jobs.size() == seeded.size());
	for (const UsageJob &job : jobs) {
		const Seeded &s = seeded.at(std::stoul(job.record.jobId.substr(4)));
		CHECK(job.gpuMinutes == s.charge.gpuMinutes);
		CHECK(job.record.costMicro == s.charge.costMicro);
	}

	// By day for everyone (two currencies: one query each), against the jobs one by one.
	q.by = UsageGrouping::Period;
	for (TimeMs t = q.since; t <= q.until; t += 86400 * kSecond)
		q.periods.push_back(t);
	std::map<std::pair<TimeMs, std::string>, std::int64_t> costs;
	for (const UsageJob &job : usage.jobs(q.since, q.until, std::nullopt, now))
		costs[{q.since + (job.record.startedAt - q.since) / (86400 * kSecond) * 86400 * kSecond, job.record.currency}] += job.record.costMicro;
	rows = usage.summary(q, std::nullopt, now);
	std::int64_t total = 0;
	for (const UsageRow &row : rows) {
		CHECK(row.costMicro == costs.at({*row.periodStart, row.currency}));
		total += row.costMicro;
	}
	std::int64_t seededTotal = 0;
	for (const Seeded &s : seeded)
		if (s.start < q.until)
			seededTotal += s.charge.costMicro;
	CHECK(total == seededTotal);
	CHECK(rows.size() == costs.size());
}
