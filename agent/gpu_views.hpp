// The agent's last view of each running job's physical GPUs (GET /v1/gpus), kept so that the
// status can show a device's utilization without ever waiting on the allocator.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <hac/types.hpp>

namespace hac {

// The mean (rounded) of utilization_gpu_pct over `gpus` that have a figure sampled at most
// `maxAgeMs` before `now` (a figure with no sampled_at counts); none when no GPU has one.
std::optional<int> meanUtilization(const std::vector<PhysicalGpu> &gpus, TimeMs now, TimeMs maxAgeMs);

class GpuViews {
public:
	// A view older than this gives a device no utilization figure.
	static constexpr TimeMs kMaxAgeMs = 60000;

	struct View {
		TimeMs fetchedAt = 0;          // when the allocator answered (the agent's clock)
		std::vector<PhysicalGpu> gpus;
	};

	void store(const std::string &jobId, std::vector<PhysicalGpu> gpus, TimeMs fetchedAt);
	// The view of `jobId` if it was fetched at most `maxAgeMs` before `now`.
	std::optional<View> find(const std::string &jobId, TimeMs now, TimeMs maxAgeMs) const;
	// The utilization of the job's device: meanUtilization of its view, if at most kMaxAgeMs old.
	std::optional<int> utilization(const std::string &jobId, TimeMs now) const;
	void drop(const std::string &jobId);
	// Forgets every job but `running`.
	void keepOnly(const std::set<std::string> &running);
	std::size_t size() const;

private:
	mutable std::mutex mutex_; // never held while anything else is asked
	std::map<std::string, View> byJob_;
};

} // namespace hac
