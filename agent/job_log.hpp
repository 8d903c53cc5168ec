// What the agent stores in the job log's file, each write committed before it is acknowledged:
// its jobs with their bills, the outbox of usage records owed to the allocator, and the changes of
// its devices. What it keeps of the allocator's answers is AllocatorCache's, over the same file.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <hac/billing.hpp>
#include <hac/types.hpp>

#include "log_file.hpp"

namespace hac {

// A job as the log holds it: what is shown, plus what billing and reconciliation need.
struct JobRow {
	Job job;
	std::string deviceId;
	std::uint64_t pidStart = 0;
	std::int64_t priceMicroPerGpuMinute = 0;
	std::string currency = "USD";
	TimeMs heartbeatAt = 0;
};

// A usage record owed to the allocator.
struct OutboxItem {
	std::string jobId;
	std::string body;
	int attempts = 0;
};

// A change of the VM's devices, as the job log keeps it (table device_changes).
struct DeviceChange {
	TimeMs at = 0;
	int device = 0;
	std::string deviceId;
	std::string change;                  // resize, add, remove, switch
	std::optional<std::string> oldSku;   // none for add
	std::optional<std::string> newSku;   // none for remove
	unsigned uid = 0;
};

class JobLog {
public:
	// Counts the outbox of an opened (and migrated) job log.
	explicit JobLog(LogFile &file);

	// Jobs: each call is one transaction, committed before it returns.
	void insertStarting(const JobRow &row);
	// The job holds its GPUs from `startedAt`; a time limit ends it at `deadline`.
	void markRunning(const std::string &id, TimeMs startedAt, std::optional<TimeMs> deadline = std::nullopt);
	void deleteStarting(const std::string &id);
	// Ends the job, stores its bill, and queues its usage record in the same transaction.
	void endJob(const Job &ended, const Charge &charge, const std::string &usageBody);
	void heartbeat(TimeMs at);
	std::vector<JobRow> openJobs();          // starting and running
	std::optional<JobRow> job(const std::string &id);

	// Device changes, committed before the change is acknowledged; oldest first.
	void recordDeviceChange(const DeviceChange &change);
	std::vector<DeviceChange> deviceChanges();

	// Outbox of usage records.
	std::vector<OutboxItem> dueOutbox(TimeMs now, int limit);
	std::optional<TimeMs> nextOutboxAttempt();
	void ackOutbox(const std::string &jobId);
	void retryOutbox(const std::string &jobId, TimeMs nextAttemptAt, const std::string &error);
	// Kept in memory, so a reader never waits on a writer for it.
	std::int64_t outboxSize() const { return outboxSize_; }

private:
	static std::vector<JobRow> selectJobs(Database &db, const std::string &where, const std::string &id);

	LogFile &file_;
	std::atomic<std::int64_t> outboxSize_{0};
};

} // namespace hac
