// The default catalog and placement: best fit on one node, else the fullest-free nodes first.
#include "catalog.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace hac::allocator {

std::string nodeName(int node)
{
	return fmt::format("node-{:02}", node);
}

Catalog Catalog::defaults(int gpuMemoryGib, std::int64_t priceMicroPerGpuMinute)
{
	// The names state the memory of 16 GiB GPUs, as the product sells them.
	static const std::pair<const char *, int> sizes[] = {
		{"Small.16GB", 1}, {"Medium.32GB", 2}, {"Large.48GB", 3}, {"Large.64GB", 4},
		{"xLarge.96GB", 6}, {"2xLarge.192GB", 12}, {"3xLarge.288GB", 18},
	};
	std::vector<Sku> skus;
	for (const auto &[name, gpus] : sizes) {
		Sku s;
		s.name = name;
		s.gpus = gpus;
		s.gpuMemoryGib = gpuMemoryGib;
		s.priceMicroPerGpuMinute = priceMicroPerGpuMinute;
		skus.push_back(s);
	}
	return Catalog(std::move(skus));
}

const Sku *Catalog::find(std::string_view name) const
{
	for (const Sku &s : skus_)
		if (s.name == name)
			return &s;
	return nullptr;
}

std::vector<std::string> Catalog::names() const
{
	std::vector<std::string> out;
	for (const Sku &s : skus_)
		out.push_back(s.name);
	return out;
}

std::vector<GpuSlot> place(const Inventory &inventory, const std::vector<GpuSlot> &busy, int count)
{
	if (count <= 0)
		return {};
	auto slot = [&](int n, int g) { return static_cast<std::size_t>(n) * static_cast<std::size_t>(inventory.gpusPerNode) + static_cast<std::size_t>(g); };
	std::vector<bool> taken(static_cast<std::size_t>(inventory.totalGpus()), false);
	// Leases outside the farm (it shrank since they were made) take nothing from it.
	for (const GpuSlot &b : busy)
		if (b.node >= 0 && b.node < inventory.nodes && b.gpu >= 0 && b.gpu < inventory.gpusPerNode)
			taken[slot(b.node, b.gpu)] = true;
	std::vector<std::vector<int>> freeGpus(static_cast<std::size_t>(inventory.nodes));
	for (int n = 0; n < inventory.nodes; ++n)
		for (int g = 0; g < inventory.gpusPerNode; ++g)
			if (!taken[slot(n, g)])
				freeGpus[static_cast<std::size_t>(n)].push_back(g);

	std::vector<int> order(static_cast<std::size_t>(inventory.nodes));
	for (int n = 0; n < inventory.nodes; ++n)
		order[static_cast<std::size_t>(n)] = n;
	auto freeOn = [&](int n) { return static_cast<int>(freeGpus[static_cast<std::size_t>(n)].size()); };

	std::vector<GpuSlot> chosen;
	// One node if any can hold the job: the one with the fewest free GPUs that suffices, so the
	// emptier nodes stay whole for larger jobs.
	int best = -1;
	for (int n : order)
		if (freeOn(n) >= count && (best < 0 || freeOn(n) < freeOn(best)))
			best = n;
	if (best >= 0) {
		for (int i = 0; i < count; ++i)
			chosen.push_back({best, freeGpus[static_cast<std::size_t>(best)][static_cast<std::size_t>(i)]});
		return chosen;
	}
	// Otherwise span nodes, taking the emptiest first so the job touches as few nodes as possible.
	std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return freeOn(a) > freeOn(b); });
	for (int n : order) {
		for (int g : freeGpus[static_cast<std::size_t>(n)]) {
			if (static_cast<int>(chosen.size()) == count)
				break;
			chosen.push_back({n, g});
		}
	}
	if (static_cast<int>(chosen.size()) < count)
		return {};
	std::sort(chosen.begin(), chosen.end(), [](const GpuSlot &a, const GpuSlot &b) {
		return a.node != b.node ? a.node < b.node : a.gpu < b.gpu;
	});
	return chosen;
}

} // namespace hac::allocator
