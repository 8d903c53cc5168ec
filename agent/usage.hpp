// Usage reports of the local API (POST /v1/usage/query): whose usage a caller may see, the summary
// and jobs from the job log, and the comparison with the allocator's records (--reconcile).
#pragma once

#include <functional>
#include <set>
#include <vector>

#include <hac/usage.hpp>
#include <service/http_server.hpp>

#include "usage_log.hpp"

namespace hac {

struct UsageSources {
	UsageLog &log;
	// The allocator's records whose ended_at is at or after `since`; throws
	// hac::Error(AllocatorUnreachable) when the allocator does not answer.
	std::function<std::vector<UsageRecord>(TimeMs since)> allocatorRecords;
	AllocatorStatus allocator;
	std::string adminGroup;            // named in the refusal
};

// The report `query` asks for, as of `now`. The caller's own jobs unless it asks for another
// user's or everyone's, which needs `privileged` (Refusal NotAllowed not_privileged; NotFound user_not_found
// for a user that does not exist).
UsageReport usageReport(const UsageQuery &query, const Peer &peer, bool privileged, const UsageSources &sources,
			TimeMs now);

// What a reconciliation compares, for one period and one scope of users.
struct ReconcileInput {
	TimeMs since = 0;
	TimeMs until = 0;
	std::vector<UsageJob> jobLog;                 // the scope's jobs that started in the period
	std::vector<UsageRecord> allocator;           // the allocator's records ending at or after since
	std::set<std::string> queued;                 // jobs whose record waits in the agent's outbox
	// A job of the log by id, wherever it started (nothing: the log never had it).
	std::function<std::optional<UsageJob>(const std::string &)> findJob;
	// Whether a user's jobs are in the scope.
	std::function<bool(std::uint32_t uid)> inScope;
	bool allUsers = false;
};

// Every ended job of the period on either side that is missing on the other or differs from it;
// an allocator record no job of the log explains is missing_in_job_log whoever asks, and, asked
// for one user, also counted in `unattributed` (the log cannot say whose it was).
// A job that ended in the log but whose record is still queued is not_yet_delivered; running jobs
// have no record yet and are not compared. Differences come in start order.
Reconciliation reconcile(const ReconcileInput &in);

} // namespace hac
