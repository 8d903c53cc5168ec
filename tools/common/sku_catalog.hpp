// The sizes a device can take, as the agent last heard them from the allocator: fetching them,
// resolving what a user typed ("2xlarge") to one of them, and listing them. hac-resize and
// `hac-smi device` share it.
#pragma once

#include <string>
#include <vector>

#include <hac/agent_client.hpp>
#include <hac/json.hpp>
#include <hac/types.hpp>

namespace hac::tools {

struct CatalogSku {
	Sku sku;
	bool allowed = true;  // this token may use it (the allocator's per-token list)
};

struct Catalog {
	std::vector<CatalogSku> skus;
	int maxDevices = 1;
	std::vector<Device> devices;
	AllocatorStatus allocator;
};

// GET /v1/skus. Throws hac::Error as AgentClient does.
Catalog fetchCatalog(AgentClient &agent);

// A size by its full name or by the part before the dot, in any case: "2xlarge" is
// 2xLarge.192GB. Throws Conflict when the name fits several (listing them), NotFound when it
// fits none (listing the catalog).
const Sku &resolveSku(const Catalog &catalog, const std::string &typed);

// "0.24 USD": a price in millionths, with as many decimals as it needs (at least two).
std::string formatPrice(std::int64_t micro, const std::string &currency);

// The numbered table of sizes, `current` marked with '*', price per minute of the whole device.
std::string renderSkuTable(const Catalog &catalog, const std::string &current);
// The same as a JSON array, each size with "current" and "allowed".
Json skuListJson(const Catalog &catalog, const std::string &current);

} // namespace hac::tools
