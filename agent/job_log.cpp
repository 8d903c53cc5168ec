// JobLog: every write commits before the caller acknowledges anything.
#include "job_log.hpp"

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
		throw Error(ExitCode::Failure, fmt::format("the directory of the job log {} does not exist: create it "
							   "or set 'database' in agent.toml", path));
	// SQLite would say only "unable to open database file". The folder must be writable too:
	// the log's -wal and -shm files are made beside it.
	std::string folder = parent.empty() ? "." : parent.string();
	for (const std::string &what : {folder, path}) {
		if (access(what.c_str(), W_OK) == 0 || errno == ENOENT)
			continue;
		std::string why = errno == EROFS ? "its file system is mounted read-only"
						 : fmt::format("uid {} may not write it ({})", geteuid(), std::strerror(errno));
		throw Error(ExitCode::Failure,
			    fmt::format("the job log {} is read-only: {}: {}; hac-agent writes the log and its -wal and -shm "
					"files in {}: make that writable for the agent, or set 'database' in agent.toml to a "
					"writable place", path, what, why, folder));
	}
	return path;
}

} // namespace

JobLog::JobLog(const std::string &path)
	: db_(checkedPath(path), true)
{
	db_.migrate(kMigrations, "job log");
	struct stat st{};
	if (stat(path.c_str(), &st) != 0)
		throw Error(ExitCode::Failure, fmt::format("the job log {} vanished as it was opened: {}", path, std::strerror(errno)));
	device_ = st.st_dev;
	inode_ = st.st_ino;
	Statement count = db_.prepare("SELECT count(*) FROM outbox");
	count.step();
	outboxSize_ = count.integer(0);
}

// SQLite goes on writing to a file that was unlinked or renamed over: its writes would be lost
// with the agent's next start, while the callers were told "ok".
void JobLog::requireSameFile()
{
	{
		std::lock_guard lock(problemMutex_);
		if (!gone_.empty())
			throw Error(ExitCode::Failure, gone_);
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
	throw Error(ExitCode::Failure, message);
}

void JobLog::write(const std::function<void()> &work)
{
	requireSameFile();
	writingSince_ = nowMs();
	try {
		work();
	} catch (const std::exception &e) {
		writingSince_ = 0;
		std::lock_guard lock(problemMutex_);
		lastWriteError_ = e.what();
		throw;
	}
	writingSince_ = 0;
	requireSameFile();
	std::lock_guard lock(problemMutex_);
	lastWriteError_.clear();
}

std::optional<std::string> JobLog::problem() const
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

int JobLog::schemaVersion()
{
	return static_cast<int>(kMigrations.size());
}

const std::vector<std::string_view> &JobLog::migrations()
{
	return kMigrations;
}

void JobLog::saveAllocatorView(const std::vector<Device> &devices, const std::vector<Sku> &skus)
{
	std::lock_guard lock(mutex_);
	write([&] { db_.transaction([&] {
		db_.exec("DELETE FROM devices");
		Statement insertDevice = db_.prepare(
			"INSERT INTO devices (idx, id, name, sku, gpus, memory_total_mib) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
		for (const Device &d : devices) {
			insertDevice.reset();
			insertDevice.bind(1, d.index).bind(2, d.id).bind(3, d.name).bind(4, d.sku).bind(5, d.gpus)
				.bind(6, d.memoryTotalMib).run();
		}
		if (skus.empty())
			return;
		db_.exec("DELETE FROM skus");
		Statement insertSku = db_.prepare(
			"INSERT INTO skus (name, gpus, gpu_memory_gib, price_micro_per_gpu_minute, currency) "
			"VALUES (?1, ?2, ?3, ?4, ?5)");
		for (const Sku &s : skus) {
			insertSku.reset();
			insertSku.bind(1, s.name).bind(2, s.gpus).bind(3, s.gpuMemoryGib).bind(4, s.priceMicroPerGpuMinute)
				.bind(5, s.currency).run();
		}
	}); });
}

std::vector<Device> JobLog::devices()
{
	std::lock_guard lock(mutex_);
	std::vector<Device> out;
	Statement s = db_.prepare("SELECT idx, id, name, sku, gpus, memory_total_mib FROM devices ORDER BY idx");
	while (s.step()) {
		Device d;
		d.index = static_cast<int>(s.integer(0));
		d.id = s.text(1);
		d.name = s.text(2);
		d.sku = s.text(3);
		d.gpus = static_cast<int>(s.integer(4));
		d.memoryTotalMib = s.integer(5);
		out.push_back(std::move(d));
	}
	return out;
}

std::vector<Sku> JobLog::skus()
{
	std::lock_guard lock(mutex_);
	std::vector<Sku> out;
	Statement s = db_.prepare("SELECT name, gpus, gpu_memory_gib, price_micro_per_gpu_minute, currency FROM skus "
				  "ORDER BY gpus, name");
	while (s.step())
		out.push_back(Sku{s.text(0), static_cast<int>(s.integer(1)), static_cast<int>(s.integer(2)), s.integer(3), s.text(4)});
	return out;
}

std::optional<std::string> JobLog::setting(const std::string &key)
{
	std::lock_guard lock(mutex_);
	Statement s = db_.prepare("SELECT value FROM settings WHERE key = ?1");
	s.bind(1, key);
	if (!s.step())
		return std::nullopt;
	return s.text(0);
}

void JobLog::setSetting(const std::string &key, const std::string &value)
{
	std::lock_guard lock(mutex_);
	write([&] {
		db_.prepare("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2")
			.bind(1, key).bind(2, value).run();
	});
}

void JobLog::recordDeviceChange(const DeviceChange &c)
{
	std::lock_guard lock(mutex_);
	write([&] {
		db_.prepare("INSERT INTO device_changes (at, device, device_id, change, old_sku, new_sku, uid) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
			.bind(1, c.at).bind(2, c.device).bind(3, c.deviceId).bind(4, c.change).bind(5, c.oldSku)
			.bind(6, c.newSku).bind(7, std::int64_t(c.uid)).run();
	});
}

std::vector<DeviceChange> JobLog::deviceChanges()
{
	std::lock_guard lock(mutex_);
	std::vector<DeviceChange> out;
	Statement s = db_.prepare("SELECT at, device, device_id, change, old_sku, new_sku, uid FROM device_changes ORDER BY seq");
	while (s.step()) {
		DeviceChange c;
		c.at = s.integer(0);
		c.device = static_cast<int>(s.integer(1));
		c.deviceId = s.text(2);
		c.change = s.text(3);
		if (!s.isNull(4))
			c.oldSku = s.text(4);
		if (!s.isNull(5))
			c.newSku = s.text(5);
		c.uid = static_cast<unsigned>(s.integer(6));
		out.push_back(std::move(c));
	}
	return out;
}

namespace {

constexpr const char *kJobColumns =
	"id, device, sku, gpus, uid, pid, command, name, state, started_at, ended_at, memory_used_mib, "
	"exit_status, end_reason, billable, reconstructed, device_id, pid_start, price_micro_per_gpu_minute, "
	"currency, heartbeat_at, time_limit_seconds, deadline_at";

} // namespace

std::vector<JobRow> JobLog::selectJobs(const std::string &where, const std::string &id)
{
	std::vector<JobRow> out;
	Statement s = db_.prepare(fmt::format("SELECT {} FROM jobs WHERE {} ORDER BY started_at", kJobColumns, where));
	if (!id.empty())
		s.bind(1, id);
	while (s.step()) {
		JobRow row;
		Job &j = row.job;
		j.id = s.text(0);
		j.device = static_cast<int>(s.integer(1));
		j.sku = s.text(2);
		j.gpus = static_cast<int>(s.integer(3));
		j.uid = static_cast<std::uint32_t>(s.integer(4));
		j.pid = static_cast<int>(s.integer(5));
		j.command = s.text(6);
		j.name = s.text(7);
		j.state = s.text(8);
		j.startedAt = s.integer(9);
		j.endedAt = s.optInteger(10);
		j.memoryUsedMib = s.optInteger(11);
		if (auto status = s.optInteger(12))
			j.exitStatus = static_cast<int>(*status);
		j.endReason = s.text(13);
		j.billable = s.integer(14) != 0;
		j.reconstructed = s.integer(15) != 0;
		row.deviceId = s.text(16);
		row.pidStart = static_cast<std::uint64_t>(s.integer(17));
		row.priceMicroPerGpuMinute = s.integer(18);
		row.currency = s.text(19);
		row.heartbeatAt = s.integer(20);
		j.timeLimitSeconds = s.optInteger(21);
		j.deadline = s.optInteger(22);
		out.push_back(std::move(row));
	}
	return out;
}

void JobLog::insertStarting(const JobRow &row)
{
	std::lock_guard lock(mutex_);
	const Job &j = row.job;
	write([&] {
		db_.prepare("INSERT INTO jobs (id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, "
			    "pid, pid_start, command, name, state, started_at, heartbeat_at, time_limit_seconds) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'starting', ?13, ?13, ?14)")
			.bind(1, j.id).bind(2, j.device).bind(3, row.deviceId).bind(4, j.sku).bind(5, j.gpus)
			.bind(6, row.priceMicroPerGpuMinute).bind(7, row.currency).bind(8, std::int64_t(j.uid)).bind(9, j.pid)
			.bind(10, static_cast<std::int64_t>(row.pidStart)).bind(11, j.command).bind(12, j.name)
			.bind(13, j.startedAt).bind(14, j.timeLimitSeconds).run();
	});
}

void JobLog::markRunning(const std::string &id, TimeMs startedAt, std::optional<TimeMs> deadline)
{
	std::lock_guard lock(mutex_);
	write([&] {
		db_.prepare("UPDATE jobs SET state = 'running', started_at = ?2, heartbeat_at = ?2, deadline_at = ?3 WHERE id = ?1")
			.bind(1, id).bind(2, startedAt).bind(3, deadline).run();
	});
}

void JobLog::deleteStarting(const std::string &id)
{
	std::lock_guard lock(mutex_);
	write([&] { db_.prepare("DELETE FROM jobs WHERE id = ?1 AND state = 'starting'").bind(1, id).run(); });
}

void JobLog::endJob(const Job &ended, const Charge &charge, const std::string &usageBody)
{
	std::lock_guard lock(mutex_);
	write([&] { db_.transaction([&] {
		db_.prepare("UPDATE jobs SET state = 'ended', ended_at = ?2, exit_status = ?3, end_reason = ?4, "
			    "billable = ?5, reconstructed = ?6, memory_used_mib = ?7, heartbeat_at = ?2, gpu_minutes = ?8, "
			    "cost_micro = ?9 WHERE id = ?1")
			.bind(1, ended.id).bind(2, ended.endedAt).bind(3, ended.exitStatus).bind(4, ended.endReason)
			.bind(5, ended.billable ? 1 : 0).bind(6, ended.reconstructed ? 1 : 0).bind(7, ended.memoryUsedMib)
			.bind(8, charge.gpuMinutes).bind(9, charge.costMicro).run();
		db_.prepare("INSERT INTO outbox (job_id, body, next_attempt_at) VALUES (?1, ?2, 0)")
			.bind(1, ended.id).bind(2, usageBody).run();
	}); });
	++outboxSize_;
}

void JobLog::heartbeat(TimeMs at)
{
	std::lock_guard lock(mutex_);
	write([&] { db_.prepare("UPDATE jobs SET heartbeat_at = ?1 WHERE state = 'running'").bind(1, at).run(); });
}

std::vector<JobRow> JobLog::openJobs()
{
	std::lock_guard lock(mutex_);
	return selectJobs("state IN ('starting', 'running')", "");
}

std::optional<JobRow> JobLog::job(const std::string &id)
{
	std::lock_guard lock(mutex_);
	auto rows = selectJobs("id = ?1", id);
	if (rows.empty())
		return std::nullopt;
	return rows.front();
}

std::vector<OutboxItem> JobLog::dueOutbox(TimeMs now, int limit)
{
	std::lock_guard lock(mutex_);
	std::vector<OutboxItem> out;
	Statement s = db_.prepare("SELECT job_id, body, attempts FROM outbox WHERE next_attempt_at <= ?1 "
				  "ORDER BY next_attempt_at LIMIT ?2");
	s.bind(1, now).bind(2, limit);
	while (s.step())
		out.push_back(OutboxItem{s.text(0), s.text(1), static_cast<int>(s.integer(2))});
	return out;
}

std::optional<TimeMs> JobLog::nextOutboxAttempt()
{
	std::lock_guard lock(mutex_);
	Statement s = db_.prepare("SELECT min(next_attempt_at) FROM outbox");
	s.step();
	return s.optInteger(0);
}

void JobLog::ackOutbox(const std::string &jobId)
{
	std::lock_guard lock(mutex_);
	write([&] {
		db_.prepare("DELETE FROM outbox WHERE job_id = ?1").bind(1, jobId).run();
		outboxSize_ -= db_.changes();
	});
}

void JobLog::retryOutbox(const std::string &jobId, TimeMs nextAttemptAt, const std::string &error)
{
	std::lock_guard lock(mutex_);
	write([&] {
		db_.prepare("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE job_id = ?1")
			.bind(1, jobId).bind(2, nextAttemptAt).bind(3, error).run();
	});
}

} // namespace hac
