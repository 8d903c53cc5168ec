// JobLog: every write commits before the caller acknowledges anything.
#include "job_log.hpp"

#include <fmt/core.h>

namespace hac {

JobLog::JobLog(LogFile &file)
	: file_(file)
{
	outboxSize_ = file_.read([](Database &db) {
		Statement count = db.prepare("SELECT count(*) FROM outbox");
		count.step();
		return count.integer(0);
	});
}

void JobLog::recordDeviceChange(const DeviceChange &c)
{
	file_.write([&](Database &db) {
		db.prepare("INSERT INTO device_changes (at, device, device_id, change, old_sku, new_sku, uid) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
			.bind(1, c.at).bind(2, c.device).bind(3, c.deviceId).bind(4, c.change).bind(5, c.oldSku)
			.bind(6, c.newSku).bind(7, std::int64_t(c.uid)).run();
	});
}

std::vector<DeviceChange> JobLog::deviceChanges()
{
	return file_.read([&](Database &db) {
		std::vector<DeviceChange> out;
		Statement s = db.prepare("SELECT at, device, device_id, change, old_sku, new_sku, uid FROM device_changes ORDER BY seq");
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
	});
}

namespace {

constexpr const char *kJobColumns =
	"id, device, sku, gpus, uid, pid, command, name, state, started_at, ended_at, memory_used_mib, "
	"exit_status, end_reason, billable, reconstructed, device_id, pid_start, price_micro_per_gpu_minute, "
	"currency, heartbeat_at, time_limit_seconds, deadline_at";

} // namespace

std::vector<JobRow> JobLog::selectJobs(Database &db, const std::string &where, const std::string &id)
{
	std::vector<JobRow> out;
	Statement s = db.prepare(fmt::format("SELECT {} FROM jobs WHERE {} ORDER BY started_at", kJobColumns, where));
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
	const Job &j = row.job;
	file_.write([&](Database &db) {
		db.prepare("INSERT INTO jobs (id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, "
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
	file_.write([&](Database &db) {
		db.prepare("UPDATE jobs SET state = 'running', started_at = ?2, heartbeat_at = ?2, deadline_at = ?3 WHERE id = ?1")
			.bind(1, id).bind(2, startedAt).bind(3, deadline).run();
	});
}

void JobLog::deleteStarting(const std::string &id)
{
	file_.write([&](Database &db) { db.prepare("DELETE FROM jobs WHERE id = ?1 AND state = 'starting'").bind(1, id).run(); });
}

void JobLog::endJob(const Job &ended, const Charge &charge, const std::string &usageBody)
{
	file_.write([&](Database &db) { db.transaction([&] {
		db.prepare("UPDATE jobs SET state = 'ended', ended_at = ?2, exit_status = ?3, end_reason = ?4, "
			    "billable = ?5, reconstructed = ?6, memory_used_mib = ?7, heartbeat_at = ?2, gpu_minutes = ?8, "
			    "cost_micro = ?9 WHERE id = ?1")
			.bind(1, ended.id).bind(2, ended.endedAt).bind(3, ended.exitStatus).bind(4, ended.endReason)
			.bind(5, ended.billable ? 1 : 0).bind(6, ended.reconstructed ? 1 : 0).bind(7, ended.memoryUsedMib)
			.bind(8, charge.gpuMinutes).bind(9, charge.costMicro).run();
		db.prepare("INSERT INTO outbox (job_id, body, next_attempt_at) VALUES (?1, ?2, 0)")
			.bind(1, ended.id).bind(2, usageBody).run();
	}); });
	++outboxSize_;
}

void JobLog::heartbeat(TimeMs at)
{
	file_.write([&](Database &db) { db.prepare("UPDATE jobs SET heartbeat_at = ?1 WHERE state = 'running'").bind(1, at).run(); });
}

std::vector<JobRow> JobLog::openJobs()
{
	return file_.read([&](Database &db) { return selectJobs(db, "state IN ('starting', 'running')", ""); });
}

std::optional<JobRow> JobLog::job(const std::string &id)
{
	return file_.read([&](Database &db) -> std::optional<JobRow> {
		auto rows = selectJobs(db, "id = ?1", id);
		if (rows.empty())
			return std::nullopt;
		return rows.front();
	});
}

std::vector<OutboxItem> JobLog::dueOutbox(TimeMs now, int limit)
{
	return file_.read([&](Database &db) {
		std::vector<OutboxItem> out;
		Statement s = db.prepare("SELECT job_id, body, attempts FROM outbox WHERE next_attempt_at <= ?1 "
					  "ORDER BY next_attempt_at LIMIT ?2");
		s.bind(1, now).bind(2, limit);
		while (s.step())
			out.push_back(OutboxItem{s.text(0), s.text(1), static_cast<int>(s.integer(2))});
		return out;
	});
}

std::optional<TimeMs> JobLog::nextOutboxAttempt()
{
	return file_.read([&](Database &db) {
		Statement s = db.prepare("SELECT min(next_attempt_at) FROM outbox");
		s.step();
		return s.optInteger(0);
	});
}

void JobLog::ackOutbox(const std::string &jobId)
{
	file_.write([&](Database &db) {
		db.prepare("DELETE FROM outbox WHERE job_id = ?1").bind(1, jobId).run();
		outboxSize_ -= db.changes();
	});
}

void JobLog::retryOutbox(const std::string &jobId, TimeMs nextAttemptAt, const std::string &error)
{
	file_.write([&](Database &db) {
		db.prepare("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE job_id = ?1")
			.bind(1, jobId).bind(2, nextAttemptAt).bind(3, error).run();
	});
}

} // namespace hac
