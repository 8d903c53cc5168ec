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

// A running job's bill, which grows with the time: what summary() counts for it at any `now`, so
// that a caller may keep it and bill it again without reading the log.
struct RunningBill {
	std::uint32_t uid = 0;
	std::string currency;
	int gpus = 0;
	TimeMs startedAt = 0;
	std::optional<TimeMs> endedAt;          // as the log holds them: none while the job runs
	std::optional<std::int64_t> costMicro;
	std::int64_t priceMicroPerGpuMinute = 0;
	bool billable = true;

	std::int64_t costAt(TimeMs now) const;
};

// A by-user summary of [since, until) in its two parts: the ended jobs' rows, whose bills are
// stored, and the running jobs, whose bills grow. Adding each running job's costAt(now) to the
// rows of its uid and currency gives what summary() says at `now`.
struct UserSpending {
	std::vector<UsageRow> ended;
	std::vector<RunningBill> running;
};

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

	// summary()'s figures by user in two parts (UserSpending), both read in one read transaction.
	UserSpending userSpending(TimeMs since, TimeMs until);

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
	// The rows of the ended jobs: summary() without the running ones.
	std::vector<UsageRow> endedRows(const UsageQuery &query, std::optional<std::uint32_t> uid);
	std::vector<UsageJob> runningJobs(TimeMs since, TimeMs until, std::optional<std::uint32_t> uid, TimeMs now);
	std::vector<UsageJob> selectJobs(const std::string &where, const std::function<void(Statement &)> &bind, TimeMs now);

	std::recursive_mutex mutex_;    // one connection; recursive for snapshot()
	Database db_;
};

} // namespace hac
