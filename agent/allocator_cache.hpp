// What the agent keeps of the allocator's answers in the job log's file: the devices and the rate
// card as last heard, and the settings table (the allocator's max_devices and allowed_skus, and
// beside them the agent's own small keys: current_device and the budget notices already given).
// Readers answer from it while the allocator is away, and a restarted agent knows it at once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <hac/types.hpp>

#include "log_file.hpp"

namespace hac {

class AllocatorCache {
public:
	explicit AllocatorCache(LogFile &file) : file_(file) {}

	// Replaces the cached devices and rate card with what the allocator just said (an empty
	// rate card in a reply keeps the cached one).
	void saveAllocatorView(const std::vector<Device> &devices, const std::vector<Sku> &skus);
	std::vector<Device> devices();
	std::vector<Sku> skus();

	std::optional<std::string> setting(const std::string &key);
	void setSetting(const std::string &key, const std::string &value);

private:
	LogFile &file_;
};

} // namespace hac
