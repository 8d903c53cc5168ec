// Views are replaced whole, never merged: a figure the allocator stopped giving is not kept.
#include "gpu_views.hpp"

#include <cmath>

namespace hac {

std::optional<int> meanUtilization(const std::vector<PhysicalGpu> &gpus, TimeMs now, TimeMs maxAgeMs)
{
	long long sum = 0;
	int count = 0;
	for (const PhysicalGpu &g : gpus) {
		if (!g.utilizationGpuPct || (g.sampledAt && now - *g.sampledAt > maxAgeMs))
			continue;
		sum += *g.utilizationGpuPct;
		++count;
	}
	if (count == 0)
		return std::nullopt;
	return static_cast<int>(std::lround(static_cast<double>(sum) / count));
}

void GpuViews::store(const std::string &jobId, std::vector<PhysicalGpu> gpus, TimeMs fetchedAt)
{
	std::lock_guard lock(mutex_);
	View &view = byJob_[jobId];
	// Two fetches may answer out of order: the later answer wins.
	if (fetchedAt < view.fetchedAt)
		return;
	view.fetchedAt = fetchedAt;
	view.gpus = std::move(gpus);
}

std::optional<GpuViews::View> GpuViews::find(const std::string &jobId, TimeMs now, TimeMs maxAgeMs) const
{
	std::lock_guard lock(mutex_);
	auto it = byJob_.find(jobId);
	if (it == byJob_.end() || now - it->second.fetchedAt > maxAgeMs)
		return std::nullopt;
	return it->second;
}

std::optional<int> GpuViews::utilization(const std::string &jobId, TimeMs now) const
{
	std::optional<View> view = find(jobId, now, kMaxAgeMs);
	if (!view)
		return std::nullopt;
	return meanUtilization(view->gpus, now, kMaxAgeMs);
}

void GpuViews::drop(const std::string &jobId)
{
	std::lock_guard lock(mutex_);
	byJob_.erase(jobId);
}

void GpuViews::keepOnly(const std::set<std::string> &running)
{
	std::lock_guard lock(mutex_);
	std::erase_if(byJob_, [&](const auto &entry) { return !running.contains(entry.first); });
}

std::size_t GpuViews::size() const
{
	std::lock_guard lock(mutex_);
	return byJob_.size();
}

} // namespace hac
