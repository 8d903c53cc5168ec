// Store's Slurm verbs, on the slurm_holds and slurm_cancels tables: which Slurm job holds or queues
// for which hac job, and which Slurm jobs are still to cancel. Written in the same transactions as
// the allocations they follow, so that no release loses its cancel.
#include "store.hpp"
#include "store_allocations.hpp"

namespace hac::allocator {

namespace {

SlurmHold holdFrom(Statement &st)
{
	return {st.text(0), st.integer(1), st.text(2), st.text(3), st.integer(4), st.integer(5)};
}

void queueCancel(Database &db, std::int64_t slurmJobId, const std::string &jobId, const std::string &reason,
		 TimeMs now)
{
	db.prepare("INSERT INTO slurm_cancels(slurm_job_id, job_id, reason, queued_at, next_attempt_at) "
		   "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(slurm_job_id, job_id) DO NOTHING")
		.bind(1, slurmJobId).bind(2, jobId).bind(3, reason).bind(4, now).run();
}

} // namespace

bool dropHold(Database &db, const std::string &jobId, const std::string &account, const std::string &reason,
	      TimeMs now)
{
	Statement st = db.prepare("SELECT slurm_job_id FROM slurm_holds WHERE job_id = ? AND account = ?");
	st.bind(1, jobId).bind(2, account);
	if (!st.step())
		return false;
	queueCancel(db, st.integer(0), jobId, reason, now);
	db.prepare("DELETE FROM slurm_holds WHERE job_id = ?").bind(1, jobId).run();
	return true;
}

std::optional<SlurmHold> Store::slurmHold(const std::string &jobId)
{
	std::lock_guard lock(mutex_);
	Statement st = db_.prepare("SELECT job_id, slurm_job_id, account, device_id, submitted_at, asked_at "
				   "FROM slurm_holds WHERE job_id = ?");
	st.bind(1, jobId);
	if (!st.step())
		return std::nullopt;
	return holdFrom(st);
}

void Store::noteSlurmHold(const SlurmHold &hold)
{
	std::lock_guard lock(mutex_);
	db_.transaction([&] {
		db_.prepare("INSERT INTO slurm_holds(job_id, slurm_job_id, account, device_id, submitted_at, asked_at) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(job_id) DO UPDATE SET "
			    "slurm_job_id = excluded.slurm_job_id, asked_at = excluded.asked_at")
			.bind(1, hold.jobId).bind(2, hold.slurmJobId).bind(3, hold.account).bind(4, hold.deviceId)
			.bind(5, hold.submittedAt).bind(6, nowMs()).run();
	});
}

void Store::dropSlurmHold(const std::string &jobId, const std::string &reason)
{
	std::lock_guard lock(mutex_);
	db_.transaction([&] {
		Statement st = db_.prepare("SELECT account FROM slurm_holds WHERE job_id = ?");
		st.bind(1, jobId);
		if (st.step())
			dropHold(db_, jobId, st.text(0), reason, nowMs());
	});
}

int Store::expireQueuedHolds(TimeMs before)
{
	std::lock_guard lock(mutex_);
	int expired = 0;
	db_.transaction([&] {
		TimeMs now = nowMs();
		Statement st = db_.prepare("SELECT job_id, account FROM slurm_holds h WHERE asked_at < ? AND NOT EXISTS "
					   "(SELECT 1 FROM allocations a WHERE a.job_id = h.job_id)");
		st.bind(1, before);
		std::vector<std::pair<std::string, std::string>> stale;
		while (st.step())
			stale.emplace_back(st.text(0), st.text(1));
		for (const auto &[jobId, account] : stale)
			dropHold(db_, jobId, account, "queued, not asked for again", now);
		expired = static_cast<int>(stale.size());
	});
	return expired;
}

std::vector<SlurmCancel> Store::dueCancels(TimeMs now)
{
	std::lock_guard lock(mutex_);
	Statement st = db_.prepare("SELECT id, slurm_job_id, job_id, reason, attempts FROM slurm_cancels "
				   "WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 64");
	st.bind(1, now);
	std::vector<SlurmCancel> out;
	while (st.step())
		out.push_back({st.integer(0), st.integer(1), st.text(2), st.text(3), static_cast<int>(st.integer(4))});
	return out;
}

void Store::cancelDone(std::int64_t cancel)
{
	std::lock_guard lock(mutex_);
	db_.transaction([&] { db_.prepare("DELETE FROM slurm_cancels WHERE id = ?").bind(1, cancel).run(); });
}

void Store::cancelFailed(std::int64_t cancel, const std::string &error, TimeMs nextAttemptAt)
{
	std::lock_guard lock(mutex_);
	db_.transaction([&] {
		db_.prepare("UPDATE slurm_cancels SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 "
			    "WHERE id = ?1")
			.bind(1, cancel).bind(2, nextAttemptAt).bind(3, error).run();
	});
}

std::vector<HeldJob> Store::slurmHeldJobs()
{
	std::lock_guard lock(mutex_);
	Statement st = db_.prepare("SELECT a.job_id, a.slurm_job_id, a.sku, a.gpus, a.allocated_at, a.released_at, "
				   "u.started_at, u.ended_at FROM allocations a LEFT JOIN usage u USING (job_id) "
				   "WHERE a.slurm_job_id IS NOT NULL ORDER BY a.allocated_at");
	std::vector<HeldJob> out;
	while (st.step()) {
		HeldJob h;
		h.jobId = st.text(0);
		h.slurmJobId = st.integer(1);
		h.sku = st.text(2);
		h.gpus = static_cast<int>(st.integer(3));
		h.allocatedAt = st.integer(4);
		h.releasedAt = st.optInteger(5);
		h.startedAt = st.optInteger(6);
		h.endedAt = st.optInteger(7);
		out.push_back(std::move(h));
	}
	return out;
}

} // namespace hac::allocator
