// UsageLog. An ended job carries its bill (gpu_minutes, cost_micro: migrations/v3.sql), and the
// index jobs_usage holds every column a summary reads, per currency in start order; so a summary
// sums one index range per currency and never touches the table. SQLite aggregates a GROUP BY by
// sorting its input unless that comes in group order already; grouping by period is what must
// stay fast over a year of jobs, so the periods go into a temporary table whose rowid order is
// their time order, each period's jobs are one index range, and nothing is sorted. The few
// running jobs have no bill yet: theirs is worked out here, up to now, with hac::chargeFor().
#include "usage_log.hpp"

#include <algorithm>

#include <fmt/core.h>

#include <hac/billing.hpp>

namespace hac {

namespace {

// What a summary row sums over the ended jobs `j`: count, non-billable, billable GPU-minutes, cost.
constexpr const char *kSums = "count(*), sum(NOT j.billable), sum(j.billable * j.gpu_minutes), sum(j.cost_micro)";
// Ended jobs only (a bill is there), of one user when :uid is not NULL.
constexpr const char *kEnded = "j.cost_micro IS NOT NULL AND (:uid IS NULL OR j.uid = :uid)";

void readSums(const Statement &s, int first, UsageRow &row)
{
	row.jobs = s.integer(first);
	row.nonBillableJobs = s.integer(first + 1);
	row.gpuMinutes = s.integer(first + 2);
	row.costMicro = s.integer(first + 3);
}

std::optional<std::int64_t> uidParameter(std::optional<std::uint32_t> uid)
{
	return uid ? std::optional<std::int64_t>(*uid) : std::nullopt;
}

// The order of summary rows: by period, by uid, or by SKU; then by currency.
bool before(const UsageRow &a, const UsageRow &b)
{
	if (a.periodStart != b.periodStart)
		return a.periodStart < b.periodStart;
	if (a.uid != b.uid)
		return a.uid < b.uid;
	if (a.key != b.key)
		return a.key < b.key;
	return a.currency < b.currency;
}

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

std::vector<std::string> UsageLog::currencies()
{
	// Each step is one seek in jobs_usage, which leads with the currency: no scan of the jobs.
	Statement s = db_.prepare("WITH RECURSIVE c(currency) AS (SELECT min(currency) FROM jobs UNION ALL "
				  "SELECT (SELECT min(currency) FROM jobs WHERE currency > c.currency) FROM c "
				  "WHERE c.currency IS NOT NULL) SELECT currency FROM c WHERE currency IS NOT NULL");
	std::vector<std::string> out;
	while (s.step())
		out.push_back(s.text(0));
	return out;
}

std::vector<UsageRow> UsageLog::endedRows(const UsageQuery &query, std::optional<std::uint32_t> uid)
{
	std::vector<UsageRow> rows;
	bool periods = query.by == UsageGrouping::Period;
	if (periods) {
		db_.exec("DELETE FROM temp.usage_periods");
		Statement insert = db_.prepare("INSERT INTO temp.usage_periods (i, begins, ends) VALUES (?1, ?2, ?3)");
		for (std::size_t i = 0; i + 1 < query.periods.size(); ++i) {
			insert.reset();
			insert.bind(1, std::int64_t(i)).bind(2, query.periods[i]).bind(3, query.periods[i + 1]).run();
		}
	}
	// CROSS JOIN keeps the periods the outer loop, INDEXED BY keeps the planner from a narrower
	// index that would send it to the table for every job.
	const char *key = query.by == UsageGrouping::User ? "j.uid" : "j.sku";
	std::string sql = periods
		? fmt::format("SELECT p.i, p.begins, p.ends, {} FROM temp.usage_periods p CROSS JOIN jobs j INDEXED BY jobs_usage "
			      "ON j.currency = :currency AND j.started_at >= p.begins AND j.started_at < p.ends "
			      "WHERE {} GROUP BY p.i ORDER BY p.i", kSums, kEnded)
		: fmt::format("SELECT {0}, {1} FROM jobs j INDEXED BY jobs_usage WHERE j.currency = :currency "
			      "AND j.started_at >= :since AND j.started_at < :until AND {2} GROUP BY {0} ORDER BY {0}",
			      key, kSums, kEnded);
	for (const std::string &currency : currencies()) {
		Statement s = db_.prepare(sql);
		s.bind(s.parameter(":currency"), currency).bind(s.parameter(":uid"), uidParameter(uid));
		if (!periods)
			s.bind(s.parameter(":since"), query.since).bind(s.parameter(":until"), query.until);
		while (s.step()) {
			UsageRow row;
			row.currency = currency;
			if (periods) {
				row.periodStart = s.integer(1);
				row.periodEnd = s.integer(2);
				row.key = formatTime(*row.periodStart);
				readSums(s, 3, row);
			} else {
				row.key = s.text(0);
				if (query.by == UsageGrouping::User)
					row.uid = static_cast<std::uint32_t>(s.integer(0));
				readSums(s, 1, row);
			}
			rows.push_back(std::move(row));
		}
	}
	return rows;
}

std::vector<UsageRow> UsageLog::summary(const UsageQuery &query, std::optional<std::uint32_t> uid, TimeMs now)
{
	std::lock_guard lock(mutex_);
	std::vector<UsageRow> rows = endedRows(query, uid);
	bool periods = query.by == UsageGrouping::Period;
	for (const UsageJob &job : runningJobs(query.since, query.until, uid, now)) {
		const UsageRecord &r = job.record;
		UsageRow want;
		want.currency = r.currency;
		if (periods) {
			auto next = std::upper_bound(query.periods.begin(), query.periods.end(), r.startedAt);
			want.periodStart = *(next - 1);
			want.periodEnd = *next;
			want.key = formatTime(*want.periodStart);
		} else if (query.by == UsageGrouping::User) {
			want.uid = job.uid;
			want.key = std::to_string(job.uid);
		} else {
			want.key = r.sku;
		}
		auto it = std::find_if(rows.begin(), rows.end(), [&](const UsageRow &row) {
			return row.key == want.key && row.currency == want.currency;
		});
		if (it == rows.end()) {
			rows.push_back(want);
			it = rows.end() - 1;
		}
		++it->jobs;
		++it->runningJobs;
		it->nonBillableJobs += r.billable ? 0 : 1;
		it->gpuMinutes += r.billable ? job.gpuMinutes : 0;
		it->costMicro += r.costMicro;
	}
	std::sort(rows.begin(), rows.end(), before);
	return rows;
}

UserSpending UsageLog::userSpending(TimeMs since, TimeMs until)
{
	UserSpending out;
	snapshot([&] {
		UsageQuery query;
		query.since = since;
		query.until = until;
		query.by = UsageGrouping::User;
		out.ended = endedRows(query, std::nullopt);
		// The jobs runningJobs() reads, kept as the log holds them.
		Statement s = db_.prepare("SELECT uid, currency, gpus, started_at, ended_at, cost_micro, price_micro_per_gpu_minute, "
					  "billable FROM jobs WHERE state = 'running' AND started_at >= :since AND started_at < :until "
					  "ORDER BY started_at, id");
		s.bind(s.parameter(":since"), since).bind(s.parameter(":until"), until);
		while (s.step()) {
			RunningBill bill;
			bill.uid = static_cast<std::uint32_t>(s.integer(0));
			bill.currency = s.text(1);
			bill.gpus = static_cast<int>(s.integer(2));
			bill.startedAt = s.integer(3);
			bill.endedAt = s.optInteger(4);
			bill.costMicro = s.optInteger(5);
			bill.priceMicroPerGpuMinute = s.integer(6);
			bill.billable = s.integer(7) != 0;
			out.running.push_back(std::move(bill));
		}
	});
	return out;
}

std::int64_t RunningBill::costAt(TimeMs now) const
{
	// As selectJobs() bills a job: the stored bill, else up to its end, or up to now while it runs.
	if (costMicro)
		return *costMicro;
	return chargeFor(gpus, startedAt, endedAt.value_or(std::max(now, startedAt)), priceMicroPerGpuMinute, billable).costMicro;
}

std::vector<UsageJob> UsageLog::runningJobs(TimeMs since, TimeMs until, std::optional<std::uint32_t> uid, TimeMs now)
{
	return selectJobs("state = 'running' AND started_at >= :since AND started_at < :until AND (:uid IS NULL OR uid = :uid)",
			  [&](Statement &s) {
				  s.bind(s.parameter(":since"), since).bind(s.parameter(":until"), until)
					  .bind(s.parameter(":uid"), uidParameter(uid));
			  }, now);
}

std::vector<UsageJob> UsageLog::selectJobs(const std::string &where, const std::function<void(Statement &)> &bind,
					   TimeMs now)
{
	Statement s = db_.prepare(fmt::format(
		"SELECT id, device_id, sku, gpus, started_at, ended_at, billable, end_reason, reconstructed, "
		"price_micro_per_gpu_minute, currency, uid, name, gpu_minutes, cost_micro, exit_status FROM jobs WHERE {} "
		"ORDER BY started_at, id", where));
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
		// An ended job shows the bill stored with it, which is what the summaries add up.
		Charge charge = chargeFor(r.gpus, r.startedAt, r.endedAt, r.priceMicroPerGpuMinute, r.billable);
		job.gpuMinutes = s.optInteger(13).value_or(charge.gpuMinutes);
		r.costMicro = s.optInteger(14).value_or(charge.costMicro);
		if (auto status = s.optInteger(15))
			job.exitStatus = static_cast<int>(*status);
		out.push_back(std::move(job));
	}
	return out;
}

std::vector<UsageJob> UsageLog::jobs(TimeMs since, TimeMs until, std::optional<std::uint32_t> uid, TimeMs now)
{
	std::lock_guard lock(mutex_);
	return selectJobs("state != 'starting' AND started_at >= :since AND started_at < :until AND (:uid IS NULL OR uid = :uid)",
			  [&](Statement &s) {
				  s.bind(s.parameter(":since"), since).bind(s.parameter(":until"), until)
					  .bind(s.parameter(":uid"), uidParameter(uid));
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

std::optional<TimeMs> UsageLog::oldestQueuedEnd()
{
	std::lock_guard lock(mutex_);
	Statement s = db_.prepare("SELECT min(jobs.ended_at) FROM outbox JOIN jobs ON jobs.id = outbox.job_id");
	s.step();
	return s.optInteger(0);
}

} // namespace hac
