// The job log's SQLite file: opened and migrated once, one connection shared by the classes over
// it (JobLog: what the agent stores; AllocatorCache: what it keeps of the allocator's answers),
// and every write refused once the file was removed or replaced under the agent.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include <hac/time.hpp>
#include <service/database.hpp>

namespace hac {

class LogFile {
public:
	// Opens or creates the database and migrates it to the current schema; throws hac::Error
	// for a database newer than this binary, which it leaves untouched, and for a folder or file
	// the agent may not write (read-only), named as such.
	explicit LogFile(const std::string &path);

	// Why the log cannot take writes now, or nothing when it can: the file was removed or
	// replaced under the agent (for good: every later write is refused), a write has waited
	// on the disk for more than a second, or the last write failed. Never waits on a writer.
	std::optional<std::string> problem() const;

	static int schemaVersion();
	// The schema steps, migrations/v1.sql onwards: step i takes version i to i + 1.
	static const std::vector<std::string_view> &migrations();

	// One read on the shared connection, under its lock.
	template <typename Work>
	auto read(Work &&work)
	{
		std::lock_guard lock(mutex_);
		return work(db_);
	}
	// One write under the lock, refused when the file is no longer the one opened, and checked
	// again after it committed, before the caller acknowledges anything.
	void write(const std::function<void(Database &)> &work);
	// Counts the writes ended (committed, or failed and rolled back), each counted once it is
	// over: a reader that saw the same count before and after reading read no older state than
	// a reader would now, so what it worked out from the log may be kept until the count moves.
	std::uint64_t generation() const { return generation_.load(); }

private:
	void requireSameFile();

	std::mutex mutex_; // one connection, shared by the HTTP threads and the allocator link
	Database db_;
	dev_t device_ = 0;                      // the opened file's identity, to tell a replaced one
	ino_t inode_ = 0;
	std::atomic<TimeMs> writingSince_{0};   // 0: no write under way
	std::atomic<std::uint64_t> generation_{0}; // writes ended (generation())
	mutable std::mutex problemMutex_;       // guards the two below
	std::string gone_;                      // set once the file was removed or replaced
	std::string lastWriteError_;            // the last write's failure, cleared by a success
};

} // namespace hac
