// UsageLog. The sums are SQL over the index jobs_usage (migrations/v2.sql), which holds every column
// they read, so a report never touches the table itself. SQLite aggregates a GROUP BY by sorting
// its input unless the input already comes in group order; grouping by period is the case that
// must stay fast over a year of jobs, so the periods go into a temporary table whose rowid order
// is their time order, each period's jobs are found by an index range, and nothing is sorted.
#include "usage_log.hpp"

#include <algorithm>

#include <fmt/core.h>

#include <hac/billing.hpp>

namespace hac {

namespace {

// What every summary row sums, over jobs `j`: count, running, non-billable, billable GPU-minutes
// and cost. The billing rule's SQL is hac::chargeFor()'s twin (tests/unit/test_billing.cpp).
std::string sums()
{
	return fmt::format("count(*), sum(j.state = 'running'), sum(NOT j.billable), "
			   "sum(CASE WHEN j.billable THEN {} ELSE 0 END), sum({})",
			   gpuMinutesSql(), costMicroSql());
}

void readSums(const Statement &s, int first, UsageRow &row)
{
	row.jobs = s.integer(first);
	row.runningJobs = s.integer(first + 1);
	row.nonBillableJobs = s.integer(first + 2);
	row.gpuMinutes = s.integer(first + 3);
	row.costMicro = s.integer(first + 4);
}

constexpr const char *kJobs = "state != 'starting' AND (:uid IS NULL OR uid = :uid)";

} // namespace

UsageLog::UsageLog(const std::string &path)
	: db_(path, false)
{
	// The periods' table lives in memory; the job log is only read.
	db_.exec("PRAGMA temp_store = MEMORY");
	db_.exec("CREATE TEMP TABLE usage_periods (i INTEGER PRIMARY KEY, begins INTEGER NOT NULL, ends INTEGER NOT NULL)");
}

void UsageLog::snapshot(const std::function<void()> &read)
{
	std::lock_guard lock(mutex_);
	// Deferred: a read transaction, which never holds up the writers of the job log.
	db_.exec("BEGIN");
	try {
		read();
	} catch (...) {
		db_.exec("ROLLBACK");
		throw;
	}
	db_.exec("COMMIT");
}

std::vector<UsageRow> UsageLog::summary(const UsageQuery &query, std::optional<std::uint32_t> uid, TimeMs now)
{
	std::lock_guard lock(mutex_);
	if (query.by == UsageGrouping::Period) {
		std::vector<UsageRow> rows = periodSummary(query, uid, now, false);
		// One currency per period is the rule, and its query sorts nothing; a log that mixes
		// currencies in a period is summed again per currency.
		if (std::any_of(rows.begin(), rows.end(), [](const UsageRow &r) { return r.currency.empty(); }))
			rows = periodSummary(query, uid, now, true);
		return rows;
	}
	const char *key = query.by == UsageGrouping::User ? "j.uid" : "j.sku";
	Statement s = db_.prepare(fmt::format("SELECT {0}, j.currency, {1} FROM jobs j "
					      "WHERE j.started_at >= :since AND j.started_at < :until AND {2} "
					      "GROUP BY {0}, j.currency ORDER BY {0}, j.currency",
					      key, sums(), kJobs));
	s.bind(s.parameter(":since"), query.since).bind(s.parameter(":until"), query.until)
		.bind(s.parameter(":uid"), uid ? std::optional<std::int64_t>(*uid) : std::nullopt)
		.bind(s.parameter(":now"), now);
	std::vector<UsageRow> rows;
	while (s.step()) {
		UsageRow row;
		row.key = s.text(0);
		if (query.by == UsageGrouping::User)
			row.uid = static_cast<std::uint32_t>(s.integer(0));
		row.currency = s.text(1);
		readSums(s, 2, row);
		rows.push_back(std::move(row));
	}
	return rows;
}

std::vector<UsageRow> UsageLog::periodSummary(const UsageQuery &query, std::optional<std::uint32_t> uid, TimeMs now,
					      bool byCurrency)
{
	db_.exec("DELETE FROM temp.usage_periods");
	{
		Statement insert = db_.prepare("INSERT INTO temp.usage_periods (i, begins, ends) VALUES (?1, ?2, ?3)");
		for (std::size_t i = 0; i + 1 < query.periods.size(); ++i) {
			insert.reset();
			insert.bind(1, std::int64_t(i)).bind(2, query.periods[i]).bind(3, query.periods[i + 1]).run();
		}
	}
	// Without byCurrency, a period whose jobs are in more than one currency answers an empty one.
	std::string currency = byCurrency ? "j.currency" : "CASE WHEN min(j.currency) = max(j.currency) THEN min(j.currency) ELSE '' END";
	Statement s = db_.prepare(fmt::format("SELECT p.i, p.begins, p.ends, {0}, {1} FROM temp.usage_periods p "
					      "JOIN jobs j ON j.started_at >= p.begins AND j.started_at < p.ends "
					      "WHERE {2} GROUP BY p.i{3} ORDER BY p.i{3}",
					      currency, sums(), kJobs, byCurrency ? ", j.currency" : ""));
	s.bind(s.parameter(":uid"), uid ? std::optional<std::int64_t>(*uid) : std::nullopt).bind(s.parameter(":now"), now);
	std::vector<UsageRow> rows;
	while (s.step()) {
		UsageRow row;
		row.periodStart = s.integer(1);
		row.periodEnd = s.integer(2);
		row.key = formatTime(*row.periodStart);
		row.currency = s.text(3);
		readSums(s, 4, row);
		rows.push_back(std::move(row));
	}
	return rows;
}

std::vector<UsageJob> UsageLog::selectJobs(const std::string &where, const std::function<void(Statement &)> &bind,
					   TimeMs now)
{
	Statement s = db_.prepare(fmt::format(
		"SELECT id, device_id, sku, gpus, started_at, ended_at, billable, end_reason, reconstructed, "
		"price_micro_per_gpu_minute, currency, uid, name, state FROM jobs WHERE {} ORDER BY started_at, id", where));
	bind(s);
	std::vector<UsageJob> out;
	while (s.step()) {
		UsageJob job;
		UsageRecord &r = job.record;
		r.jobId = s.text(0);
		r.deviceId = s.text(1);
		r.sku = s.text(2);
		r.gpus = static_cast<int>(s.integer(3));
		r.startedAt = s.integer(4);
		job.running = s.isNull(5);
		r.endedAt = s.optInteger(5).value_or(std::max(now, r.startedAt));
		r.billable = s.integer(6) != 0;
		r.endReason = s.text(7);
		r.reconstructed = s.integer(8) != 0;
		r.priceMicroPerGpuMinute = s.integer(9);
		r.currency = s.text(10);
		job.uid = static_cast<std::uint32_t>(s.integer(11));
		job.name = s.text(12);
		Charge charge = chargeFor(r.gpus, r.startedAt, r.endedAt, r.priceMicroPerGpuMinute, r.billable);
		r.costMicro = charge.costMicro;
		job.gpuMinutes = charge.gpuMinutes;
		out.push_back(std::move(job));
	}
	return out;
}

std::vector<UsageJob> UsageLog::jobs(TimeMs since, TimeMs until, std::optional<std::uint32_t> uid, TimeMs now)
{
	std::lock_guard lock(mutex_);
	return selectJobs(fmt::format("started_at >= :since AND started_at < :until AND {}", kJobs), [&](Statement &s) {
		s.bind(s.parameter(":since"), since).bind(s.parameter(":until"), until)
			.bind(s.parameter(":uid"), uid ? std::optional<std::int64_t>(*uid) : std::nullopt);
	}, now);
}

std::optional<UsageJob> UsageLog::job(const std::string &id, TimeMs now)
{
	std::lock_guard lock(mutex_);
	auto found = selectJobs("id = :id AND state != 'starting'", [&](Statement &s) { s.bind(s.parameter(":id"), id); }, now);
	if (found.empty())
		return std::nullopt;
	return found.front();
}

std::set<std::string> UsageLog::queuedRecords()
{
	std::lock_guard lock(mutex_);
	std::set<std::string> out;
	Statement s = db_.prepare("SELECT job_id FROM outbox");
	while (s.step())
		out.insert(s.text(0));
	return out;
}

} // namespace hac
