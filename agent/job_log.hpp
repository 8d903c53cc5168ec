// The agent's durable state in SQLite: last known devices and rate card, settings, jobs, outbox.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <hac/billing.hpp>
#include <hac/types.hpp>
#include <service/database.hpp>

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
	// Opens or creates the database and migrates it to the current schema; throws hac::Error
	// for a database newer than this binary, which it leaves untouched, and for a folder or file
	// the agent may not write (read-only), named as such.
	explicit JobLog(const std::string &path);

	// Why the log cannot take writes now, or nothing when it can: the file was removed or
	// replaced under the agent (for good: every later write is refused), a write has waited
	// on the disk for more than a second, or the last write failed. Never waits on a writer.
	std::optional<std::string> problem() const;

	static int schemaVersion();
	// The schema steps, migrations/v1.sql onwards: step i takes version i to i + 1.
	static const std::vector<std::string_view> &migrations();

	// Replaces the cached devices and rate card with what the allocator just said.
	void saveAllocatorView(const std::vector<Device> &devices, const std::vector<Sku> &skus);
	std::vector<Device> devices();
	std::vector<Sku> skus();

	std::optional<std::string> setting(const std::string &key);
	void setSetting(const std::string &key, const std::string &value);

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
	std::vector<JobRow> selectJobs(const std::string &where, const std::string &id);
	// Runs one write (caller holds mutex_), refused when the file is no longer the one opened;
	// checked again after the commit, before the caller acknowledges anything.
	void write(const std::function<void()> &work);
	void requireSameFile();

	std::mutex mutex_; // one connection, shared by the HTTP threads and the allocator link
	Database db_;
	dev_t device_ = 0;                      // the opened file's identity, to tell a replaced one
	ino_t inode_ = 0;
	std::atomic<std::int64_t> outboxSize_{0};
	std::atomic<TimeMs> writingSince_{0};   // 0: no write under way
	mutable std::mutex problemMutex_;       // guards the two below
	std::string gone_;                      // set once the file was removed or replaced
	std::string lastWriteError_;            // the last write's failure, cleared by a success
};

} // namespace hac
