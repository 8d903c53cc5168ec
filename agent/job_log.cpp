// JobLog: every write commits before the caller acknowledges anything.
#include "job_log.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/core.h>

#include <hac/error.hpp>

namespace hac {

namespace {

// One entry per schema version; migrations/vN.sql, embedded at build time.
const std::vector<std::string_view> kMigrations = {
#include "migrations_v1.inc"
};

std::string checkedPath(const std::string &path)
{
	std::filesystem::path parent = std::filesystem::path(path).parent_path();
	std::error_code ec;
	if (!parent.empty() && !std::filesystem::is_directory(parent, ec))
		throw Error(ExitCode::Failure, fmt::format("the directory of the job log {} does not exist: create it "
							   "or set 'database' in agent.toml", path));
	return path;
}

} // namespace

JobLog::JobLog(const std::string &path)
	: db_(checkedPath(path), true)
{
	db_.migrate(kMigrations, "job log");
}

int JobLog::schemaVersion()
{
	return static_cast<int>(kMigrations.size());
}

void JobLog::saveAllocatorView(const std::vector<Device> &devices, const std::vector<Sku> &skus)
{
	std::lock_guard lock(mutex_);
	db_.transaction([&] {
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
	});
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
	db_.prepare("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2")
		.bind(1, key).bind(2, value).run();
}

std::vector<Job> JobLog::jobs()
{
	std::lock_guard lock(mutex_);
	std::vector<Job> out;
	Statement s = db_.prepare(
		"SELECT id, device, sku, gpus, uid, pid, command, name, state, started_at, ended_at, memory_used_mib, "
		"exit_status, end_reason, billable, reconstructed FROM jobs WHERE state = 'running' ORDER BY started_at");
	while (s.step()) {
		Job j;
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
		out.push_back(std::move(j));
	}
	return out;
}

} // namespace hac
