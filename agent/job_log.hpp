// The agent's durable state in SQLite: last known devices and rate card, settings, jobs, outbox.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <hac/types.hpp>

#include "database.hpp"

namespace hac {

class JobLog {
public:
	// Opens or creates the database and migrates it to the current schema; throws hac::Error
	// for a database newer than this binary, which it leaves untouched.
	explicit JobLog(const std::string &path);

	static int schemaVersion();

	// Replaces the cached devices and rate card with what the allocator just said.
	void saveAllocatorView(const std::vector<Device> &devices, const std::vector<Sku> &skus);
	std::vector<Device> devices();
	std::vector<Sku> skus();

	std::optional<std::string> setting(const std::string &key);
	void setSetting(const std::string &key, const std::string &value);

	std::vector<Job> jobs();

private:
	std::mutex mutex_; // one connection, shared by the HTTP threads and the allocator link
	Database db_;
};

} // namespace hac
