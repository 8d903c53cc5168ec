// The SKU catalog and the simulated GPU farm (nodes x GPUs) that hac-allocator lends from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <hac/types.hpp>

namespace hac::allocator {

struct Inventory {
	int nodes = 8;
	int gpusPerNode = 8;
	int gpuMemoryGib = 16;

	int totalGpus() const { return nodes * gpusPerNode; }
};

// One GPU of the farm, as a placement lists it.
struct GpuSlot {
	int node = 0;
	int gpu = 0;

	bool operator==(const GpuSlot &) const = default;
};

std::string nodeName(int node);

class Catalog {
public:
	Catalog() = default;
	explicit Catalog(std::vector<Sku> skus) : skus_(std::move(skus)) {}

	// Small.16GB .. 3xLarge.288GB, one price for every GPU-minute.
	static Catalog defaults(int gpuMemoryGib, std::int64_t priceMicroPerGpuMinute);

	const std::vector<Sku> &skus() const { return skus_; }
	const Sku *find(std::string_view name) const;
	std::vector<std::string> names() const;

private:
	std::vector<Sku> skus_;
};

constexpr std::int64_t kDefaultPriceMicroPerGpuMinute = 20000;

// Chooses `count` GPUs among the free ones (`busy` lists the taken ones), packed onto as few nodes
// as the farm allows. Empty when fewer than `count` are free.
std::vector<GpuSlot> place(const Inventory &inventory, const std::vector<GpuSlot> &busy, int count);

} // namespace hac::allocator
