// The job log read for usage reports: sums in SQL, per group or per period, and jobs with their bill.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <hac/usage.hpp>
#include <service/database.hpp>

namespace hac {

class UsageLog {
public:
	// Opens a connection of its own to the job log that LogFile created and migrated, so that a
	// long report reads beside the job writes instead of holding them up (WAL lets both run).
	explicit UsageLog(const std::string &path);

	// Runs `read` (calls of the functions below) in one read transaction, so that all it reads
	// is one state of the log.
	void snapshot(const std::function<void()> &read);

	// The summary of the jobs that started in [since, until) and are not still starting, grouped
	// as `query.by` says, and by currency; only `uid`'s jobs when given. Running jobs count up to
	// `now`. Rows come in the order of their group (periods in time order, uids by number), empty
	// groups left out; `key` holds the SKU, the uid (the caller names users), or the period's start.
	std::vector<UsageRow> summary(const UsageQuery &query, std::optional<std::uint32_t> uid, TimeMs now);

	// The same jobs one by one, in start order, each with its bill: the one stored when it ended,
	// or for a running job hac::chargeFor() up to `now`.
	std::vector<UsageJob> jobs(TimeMs since, TimeMs until, std::optional<std::uint32_t> uid, TimeMs now);

	// One job, whatever its start, or nothing for an id the log does not hold.
	std::optional<UsageJob> job(const std::string &id, TimeMs now);

	// The jobs whose usage record waits in the outbox, not yet acknowledged by the allocator.
	std::set<std::string> queuedRecords();
	// When the job of the oldest record in the outbox ended; nothing when the outbox is empty.
	// On this connection, so a scrape reads beside the job writes instead of waiting on them.
	std::optional<TimeMs> oldestQueuedEnd();

private:
	std::vector<std::string> currencies();
	std::vector<UsageJob> runningJobs(TimeMs since, TimeMs until, std::optional<std::uint32_t> uid, TimeMs now);
	std::vector<UsageJob> selectJobs(const std::string &where, const std::function<void(Statement &)> &bind, TimeMs now);

	std::recursive_mutex mutex_;    // one connection; recursive for snapshot()
	Database db_;
};

} // namespace hac
