// Unit tests of usage reports: the edges of the billing rule in the job log (midnight, a month's
// end, a resized device, a reconstructed job, a non-billable one, a running one), who may see
// whose usage, the reconciliation, and the JSON both sides read.
#include <doctest/doctest.h>

#include <unistd.h>

#include <hac/billing.hpp>
#include <hac/error.hpp>
#include <hac/usage.hpp>

#include "agent_config.hpp"
#include "allocator_link.hpp"
#include "job_log.hpp"
#include "job_table.hpp"
#include "refusal.hpp"
#include "temp_dir.hpp"
#include "usage.hpp"
#include "usage_log.hpp"

using namespace hac;

namespace {

constexpr TimeMs kSecond = 1000;
constexpr TimeMs kDay = 86400 * kSecond;
constexpr TimeMs kNov30 = 1796000000000 - 1796000000000 % kDay; // 2026-11-30T00:00:00Z
constexpr TimeMs kDec1 = kNov30 + kDay;

struct Seed {
	std::string id;
	TimeMs start = 0;
	std::optional<TimeMs> end;
	std::string sku = "Large.64GB";
	int gpus = 4;
	std::int64_t price = 20000;
	std::string reason = "finished";
	std::uint32_t uid = 1000;
};

// A job written the way the agent writes one: stored starting, marked running, ended.
void addJob(JobLog &log, const Seed &s)
{
	JobRow row;
	row.job.id = s.id;
	row.job.sku = s.sku;
	row.job.gpus = s.gpus;
	row.job.uid = s.uid;
	row.job.pid = 1;
	row.job.command = "train";
	row.job.startedAt = s.start;
	row.deviceId = "dev-0";
	row.priceMicroPerGpuMinute = s.price;
	log.insertStarting(row);
	log.markRunning(s.id, s.start);
	if (!s.end)
		return;
	Job ended = row.job;
	ended.endedAt = *s.end;
	ended.endReason = s.reason;
	ended.billable = s.reason != "allocator_failure";
	log.endJob(ended, chargeFor(s.gpus, s.start, *s.end, s.price, ended.billable), usageBody(row));
}

UsageQuery periods(std::vector<TimeMs> bounds)
{
	UsageQuery q;
	q.by = UsageGrouping::Period;
	q.since = bounds.front();
	q.until = bounds.back();
	q.periods = std::move(bounds);
	return q;
}

UsageRecord record(const std::string &id, TimeMs start, TimeMs end)
{
	UsageRecord r;
	r.jobId = id;
	r.deviceId = "dev-0";
	r.sku = "Large.64GB";
	r.gpus = 4;
	r.startedAt = start;
	r.endedAt = end;
	r.endReason = "finished";
	r.priceMicroPerGpuMinute = 20000;
	r.costMicro = chargeFor(4, start, end, 20000, true).costMicro;
	return r;
}

UsageJob asJob(const UsageRecord &r, std::uint32_t uid = 1000)
{
	UsageJob j;
	j.record = r;
	j.uid = uid;
	return j;
}

} // namespace

TEST_CASE("a job across midnight and across a month's end counts wholly on the day and in the month it started")
{
	TempDir dir;
	LogFile logFile(dir.file("jobs.db"));
	JobLog log(logFile);
	// 23:59:30 on November 30 to 00:01:00 on December 1: 90 s, so 2 minutes, 4 GPUs.
	addJob(log, {"late", kDec1 - 30 * kSecond, kDec1 + 60 * kSecond});
	addJob(log, {"early", kDec1 + 3600 * kSecond, kDec1 + 3659 * kSecond});
	UsageLog usage(dir.file("jobs.db"));
	TimeMs now = kDec1 + kDay;

	auto days = usage.summary(periods({kNov30, kDec1, kDec1 + kDay}), 1000, now);
	REQUIRE(days.size() == 2);
	CHECK(*days[0].periodStart == kNov30);
	CHECK(days[0].jobs == 1);
	CHECK(days[0].gpuMinutes == 8);
	CHECK(days[0].costMicro == 160000);
	CHECK(*days[1].periodStart == kDec1);
	CHECK(days[1].gpuMinutes == 4);

	TimeMs nov1 = kNov30 - 29 * kDay;
	auto months = usage.summary(periods({nov1, kDec1, kDec1 + 31 * kDay}), 1000, now);
	REQUIRE(months.size() == 2);
	CHECK(months[0].costMicro == 160000);
	CHECK(months[1].costMicro == 80000);

	// A period that holds only the job's end holds none of it.
	auto december = usage.summary(periods({kDec1, kDec1 + 60 * kSecond}), 1000, now);
	CHECK(december.empty());
}

TEST_CASE("each job keeps the SKU, GPUs and price it started at, as on a device resized between jobs")
{
	TempDir dir;
	LogFile logFile(dir.file("jobs.db"));
	JobLog log(logFile);
	addJob(log, {"big", kNov30, kNov30 + 61 * kSecond, "Large.64GB", 4, 20000});
	addJob(log, {"small", kNov30 + 3600 * kSecond, kNov30 + 3660 * kSecond, "Small.16GB", 1, 30000});
	UsageLog usage(dir.file("jobs.db"));
	UsageQuery q;
	q.since = kNov30;
	q.until = kDec1;
	auto rows = usage.summary(q, 1000, kDec1);
	REQUIRE(rows.size() == 2);
	CHECK(rows[0].key == "Large.64GB");
	CHECK(rows[0].gpuMinutes == 8);
	CHECK(rows[0].costMicro == 160000);
	CHECK(rows[1].key == "Small.16GB");
	CHECK(rows[1].gpuMinutes == 1);
	CHECK(rows[1].costMicro == 30000);
}

TEST_CASE("a non-billable job is listed with its minutes and costs nothing; a running one counts up to now")
{
	TempDir dir;
	LogFile logFile(dir.file("jobs.db"));
	JobLog log(logFile);
	addJob(log, {"failed", kNov30, kNov30 + 10 * kSecond, "Large.64GB", 4, 20000, "allocator_failure"});
	addJob(log, {"running", kNov30 + 100 * kSecond, std::nullopt});
	UsageLog usage(dir.file("jobs.db"));
	TimeMs now = kNov30 + 100 * kSecond + 121 * kSecond;
	UsageQuery q;
	q.since = kNov30;
	q.until = kDec1;
	auto rows = usage.summary(q, 1000, now);
	REQUIRE(rows.size() == 1);
	CHECK(rows[0].jobs == 2);
	CHECK(rows[0].nonBillableJobs == 1);
	CHECK(rows[0].runningJobs == 1);
	CHECK(rows[0].gpuMinutes == 12);      // the running job's 3 started minutes x 4 GPUs
	CHECK(rows[0].costMicro == 240000);
	auto jobs = usage.jobs(q.since, q.until, 1000, now);
	REQUIRE(jobs.size() == 2);
	CHECK_FALSE(jobs[0].record.billable);
	CHECK(jobs[0].gpuMinutes == 4);
	CHECK(jobs[0].record.costMicro == 0);
	CHECK(jobs[1].running);
	CHECK(jobs[1].record.endedAt == now);
	CHECK(jobs[1].record.costMicro == 240000);
}

TEST_CASE("a job reconstructed after the agent was down is billed up to its last heartbeat")
{
	TempDir dir;
	LogFile logFile(dir.file("jobs.db"));
	JobLog log(logFile);
	// A running job whose process is gone (a pid that cannot exist), last seen 150 s after it started.
	Seed s{"lost", kNov30, std::nullopt};
	addJob(log, s);
	log.heartbeat(kNov30 + 150 * kSecond);
	{
		Database db(dir.file("jobs.db"), false);
		db.exec("UPDATE jobs SET pid = 2147483647 WHERE id = 'lost'");
	}
	AllocatorLink link(AllocatorSettings{}, "token");
	JobTable table(log, link, [] { return std::string("hac-admin"); }, [] {}, [] {});
	table.reconcile();

	UsageLog usage(dir.file("jobs.db"));
	auto jobs = usage.jobs(kNov30, kDec1, 1000, kDec1);
	REQUIRE(jobs.size() == 1);
	CHECK(jobs[0].record.reconstructed);
	CHECK(jobs[0].record.endedAt == kNov30 + 150 * kSecond);
	CHECK(jobs[0].gpuMinutes == 12);
	CHECK(jobs[0].record.costMicro == 240000);
	CHECK(usage.queuedRecords().count("lost") == 1);
}

TEST_CASE("only root or the admin group sees another user's usage or everyone's")
{
	TempDir dir;
	LogFile logFile(dir.file("jobs.db"));
	JobLog log(logFile);
	addJob(log, {"mine", kNov30, kNov30 + 60 * kSecond, "Large.64GB", 4, 20000, "finished", 1000});
	addJob(log, {"theirs", kNov30, kNov30 + 60 * kSecond, "Large.64GB", 4, 20000, "finished", 1001});
	UsageLog usage(dir.file("jobs.db"));
	UsageSources sources{usage, [](TimeMs) -> std::vector<UsageRecord> { throw Error(Errc::AllocatorUnreachable, "down"); },
			     AllocatorStatus{}, "hac-admin"};
	Peer me{1, 1000, 1000};
	UsageQuery q;
	q.since = kNov30;
	q.until = kDec1;
	UsageReport own = usageReport(q, me, false, sources, kDec1);
	REQUIRE(own.rows.size() == 1);
	CHECK(own.rows[0].jobs == 1);
	CHECK(own.totals.at(0).costMicro == 80000);

	q.allUsers = true;
	try {
		usageReport(q, me, false, sources, kDec1);
		FAIL("no refusal");
	} catch (const Refusal &e) {
		CHECK(e.kind == Refusal::NotAllowed);
		CHECK(std::string(e.what()).find("group 'hac-admin'") != std::string::npos);
	}
	CHECK(usageReport(q, me, true, sources, kDec1).totals.at(0).jobs == 2);

	q.allUsers = false;
	q.user = "1001";
	CHECK_THROWS_AS(usageReport(q, me, false, sources, kDec1), Refusal);
	CHECK(usageReport(q, me, true, sources, kDec1).rows.at(0).jobs == 1);
	q.user = "1000"; // oneself by number needs no privilege
	CHECK(usageReport(q, me, false, sources, kDec1).rows.at(0).jobs == 1);
	q.user = "no-such-user-here";
	try {
		usageReport(q, me, true, sources, kDec1);
		FAIL("no refusal");
	} catch (const Refusal &e) {
		CHECK(e.kind == Refusal::NotFound);
	}

	// Reconciling needs the allocator: its absence is the allocator's error, not an empty answer.
	q.user.clear();
	q.reconcile = true;
	CHECK_THROWS_AS(usageReport(q, me, false, sources, kDec1), Error);
}

TEST_CASE("reconciling lists every job that differs or is missing on either side")
{
	ReconcileInput in;
	in.since = kNov30;
	in.until = kDec1;
	UsageRecord same = record("a-same", kNov30 + 1000, kNov30 + 61000);
	UsageRecord mine = record("b-differs", kNov30 + 2000, kNov30 + 62000);
	UsageRecord theirs = mine;
	theirs.endedAt += 60000;
	theirs.costMicro += 80000;
	UsageRecord onlyHere = record("c-only-here", kNov30 + 3000, kNov30 + 4000);
	UsageRecord queued = record("d-queued", kNov30 + 4000, kNov30 + 5000);
	UsageRecord onlyThere = record("e-only-there", kNov30 + 5000, kNov30 + 6000);
	UsageRecord before = record("f-before", kNov30 - 5000, kNov30 + 6000);
	UsageJob running = asJob(record("g-running", kNov30 + 6000, kNov30 + 7000));
	running.running = true;
	in.jobLog = {asJob(same), asJob(mine), asJob(onlyHere), asJob(queued), running};
	in.allocator = {same, theirs, onlyThere, before};
	in.queued = {"d-queued"};
	in.findJob = [](const std::string &) { return std::optional<UsageJob>(); };
	in.inScope = [](std::uint32_t) { return true; };
	in.allUsers = true;

	Reconciliation r = reconcile(in);
	CHECK(r.compared == 5);
	REQUIRE(r.differences.size() == 4);
	CHECK(r.differences[0].jobId == "b-differs");
	CHECK(r.differences[0].kind == "differs");
	CHECK(r.differences[0].fields == std::vector<std::string>{"ended_at", "cost_micro"});
	CHECK(r.differences[1].kind == "missing_at_allocator");
	CHECK(r.differences[2].kind == "not_yet_delivered");
	CHECK(r.differences[3].jobId == "e-only-there");
	CHECK(r.differences[3].kind == "missing_in_job_log");
	CHECK(r.unattributed == 0);

	// For one user, a record that no job of the log explains is still a difference (the log
	// lost it, or never had it), counted as unattributed: the log cannot say whose it was.
	in.allUsers = false;
	r = reconcile(in);
	CHECK(r.differences.size() == 4);
	CHECK(r.differences[3].kind == "missing_in_job_log");
	CHECK(r.unattributed == 1);
	// A record of a job the log holds under another user is not that user's business.
	in.findJob = [&](const std::string &id) {
		return id == "e-only-there" ? std::optional<UsageJob>(asJob(onlyThere, 1001)) : std::nullopt;
	};
	in.inScope = [](std::uint32_t uid) { return uid == 1000; };
	r = reconcile(in);
	CHECK(r.differences.size() == 3);
	CHECK(r.unattributed == 0);
}

TEST_CASE("usage JSON reads back as it was written; a bad query names its field")
{
	UsageRecord r = record("job", kNov30, kNov30 + 61000);
	r.recordedAt = kNov30 + 70000;
	CHECK(Json(Json(r).get<UsageRecord>()) == Json(r));

	UsageReport report;
	report.since = kNov30;
	report.until = kDec1;
	report.asOf = kDec1;
	report.by = UsageGrouping::Period;
	report.user = "alice";
	UsageRow row;
	row.key = formatTime(kNov30);
	row.periodStart = kNov30;
	row.periodEnd = kDec1;
	row.jobs = 2;
	row.gpuMinutes = 8;
	row.costMicro = 160000;
	report.rows = {row};
	report.totals = usageTotals(report.rows);
	UsageJob job = asJob(r);
	job.running = true;
	job.user = "alice";
	job.gpuMinutes = 8;
	report.jobs = std::vector<UsageJob>{job};
	report.reconcile = Reconciliation{1, {{"job", "missing_at_allocator", {}, r, std::nullopt}}, 0};
	Json j = report;
	CHECK(j["schema_version"] == 1);
	CHECK(j["jobs"][0]["ended_at"].is_null());
	CHECK(j["jobs"][0]["state"] == "running");
	CHECK(Json(j.get<UsageReport>()) == j);

	UsageQuery q = periods({kNov30, kDec1});
	q.allUsers = true;
	UsageQuery back = parseUsageQuery(Json(q));
	CHECK(back.periods == q.periods);
	CHECK(back.allUsers);

	auto refusal = [](const Json &body) {
		try {
			parseUsageQuery(body);
		} catch (const Error &e) {
			CHECK(e.code() == Errc::Usage);
			return std::string(e.what());
		}
		return std::string();
	};
	CHECK(refusal(Json::object()).find("'since' is missing") != std::string::npos);
	CHECK(refusal({{"since", "yesterday"}, {"until", formatTime(kDec1)}}).find("'since' must be") != std::string::npos);
	CHECK(refusal({{"since", formatTime(kDec1)}, {"until", formatTime(kNov30)}}).find("'until' is before") != std::string::npos);
	CHECK(refusal({{"since", formatTime(kNov30)}, {"until", formatTime(kDec1)}, {"by", "day"}}).find("'by'") != std::string::npos);
	CHECK(refusal({{"since", formatTime(kNov30)}, {"until", formatTime(kDec1)}, {"by", "period"}}).find("'periods'") != std::string::npos);
	CHECK(refusal({{"since", formatTime(kNov30)}, {"until", formatTime(kDec1)}, {"by", "period"},
		       {"periods", {formatTime(kNov30), formatTime(kNov30), formatTime(kDec1)}}}).find("ascending") != std::string::npos);
	CHECK(refusal({{"since", formatTime(kNov30)}, {"until", formatTime(kDec1)}, {"jobs", "yes"}}).find("'jobs'") != std::string::npos);
	CHECK(refusal({{"since", formatTime(kNov30)}, {"until", formatTime(kDec1)}, {"user", "x"}, {"all_users", true}}).find("'user'") != std::string::npos);
}
