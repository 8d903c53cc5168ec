// LogFile: every write commits before the caller acknowledges anything.
#include "log_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>

namespace hac {

namespace {

// One entry per schema version; migrations/vN.sql, embedded at build time.
const std::vector<std::string_view> kMigrations = {
#include "migrations_v1.inc"
#include "migrations_v2.inc"
#include "migrations_v3.inc"
#include "migrations_v4.inc"
#include "migrations_v5.inc"
};

std::string checkedPath(const std::string &path)
{
	std::filesystem::path parent = std::filesystem::path(path).parent_path();
	std::error_code ec;
	if (!parent.empty() && !std::filesystem::is_directory(parent, ec))
		throw Error(Errc::Failure, fmt::format("the directory of the job log {} does not exist: create it "
							   "or set 'database' in agent.toml", path));
	// SQLite would say only "unable to open database file". The folder must be writable too:
	// the log's -wal and -shm files are made beside it.
	std::string folder = parent.empty() ? "." : parent.string();
	for (const std::string &what : {folder, path}) {
		if (access(what.c_str(), W_OK) == 0 || errno == ENOENT)
			continue;
		std::string why = errno == EROFS ? "its file system is mounted read-only"
						 : fmt::format("uid {} may not write it ({})", geteuid(), std::strerror(errno));
		throw Error(Errc::Failure,
			    fmt::format("the job log {} is read-only: {}: {}; hac-agent writes the log and its -wal and -shm "
					"files in {}: make that writable for the agent, or set 'database' in agent.toml to a "
					"writable place", path, what, why, folder));
	}
	return path;
}

} // namespace

LogFile::LogFile(const std::string &path)
	: db_(checkedPath(path), true)
{
	db_.migrate(kMigrations, "job log");
	struct stat st{};
	if (stat(path.c_str(), &st) != 0)
		throw Error(Errc::Failure, fmt::format("the job log {} vanished as it was opened: {}", path, std::strerror(errno)));
	device_ = st.st_dev;
	inode_ = st.st_ino;
}

// SQLite goes on writing to a file that was unlinked or renamed over: its writes would be lost
// with the agent's next start, while the callers were told "ok".
void LogFile::requireSameFile()
{
	{
		std::lock_guard lock(problemMutex_);
		if (!gone_.empty())
			throw Error(Errc::Failure, gone_);
	}
	struct stat st{};
	bool found = stat(db_.path().c_str(), &st) == 0;
	if (found && st.st_dev == device_ && st.st_ino == inode_)
		return;
	std::string what = found ? "replaced by another file" : "removed";
	std::string message = fmt::format(
		"the job log {} was {} while hac-agent runs: nothing more is recorded or acknowledged (what it wrote "
		"since is in a file no one can open); find what removed it, then restart hac-agent, which opens the "
		"file at that path; hac-usage --reconcile lists the jobs the allocator holds and the log does not",
		db_.path(), what);
	{
		std::lock_guard lock(problemMutex_);
		if (gone_.empty())
			spdlog::error("{}", message);
		gone_ = message;
	}
	throw Error(Errc::Failure, message);
}

void LogFile::write(const std::function<void(Database &)> &work)
{
	std::lock_guard writing(mutex_);
	requireSameFile();
	writingSince_ = nowMs();
	try {
		work(db_);
	} catch (const std::exception &e) {
		++generation_;
		writingSince_ = 0;
		std::lock_guard lock(problemMutex_);
		lastWriteError_ = e.what();
		throw;
	}
	++generation_;
	writingSince_ = 0;
	requireSameFile();
	std::lock_guard lock(problemMutex_);
	lastWriteError_.clear();
}

std::optional<std::string> LogFile::problem() const
{
	std::lock_guard lock(problemMutex_);
	if (!gone_.empty())
		return gone_;
	if (TimeMs since = writingSince_; since > 0 && nowMs() - since > 1000)
		return fmt::format("a write to the job log {} has waited {:.1f} s for the disk (a frozen, full or failing "
				   "file system?): jobs cannot start or end until it is done", db_.path(),
				   double(nowMs() - since) / 1000.0);
	if (!lastWriteError_.empty())
		return "the last write to the job log failed: " + lastWriteError_;
	return std::nullopt;
}

int LogFile::schemaVersion()
{
	return static_cast<int>(kMigrations.size());
}

const std::vector<std::string_view> &LogFile::migrations()
{
	return kMigrations;
}

} // namespace hac
