// Sizes as the tools show and accept them.
#include "sku_catalog.hpp"

#include <fmt/core.h>

#include <hac/error.hpp>

#include "render.hpp"
#include "suggest.hpp"

#include "text_case.hpp"

namespace hac::tools {

namespace {

std::string names(const std::vector<const Sku *> &skus)
{
	std::string out;
	for (const Sku *s : skus)
		out += (out.empty() ? "" : ", ") + s->name;
	return out;
}

} // namespace

Catalog fetchCatalog(AgentClient &agent)
{
	Json j = agent.get("/v1/skus");
	Catalog c;
	try {
		for (const Json &s : j.at("skus"))
			c.skus.push_back(CatalogSku{s.get<Sku>(), s.value("allowed", true)});
		c.maxDevices = j.value("max_devices", 1);
		j.at("devices").get_to(c.devices);
		if (j.contains("allocator"))
			j.at("allocator").get_to(c.allocator);
	} catch (const Json::exception &e) {
		throw Error(Errc::Failure, fmt::format("hac-agent sent a size list this tool cannot read ({}); "
							   "is hac-agent the same version as this tool?", e.what()));
	}
	if (c.skus.empty())
		throw Error(Errc::AllocatorUnreachable, "hac-agent knows no sizes yet: it has not reached the allocator; "
							    "check 'hac-smi -s'");
	return c;
}

const Sku &resolveSku(const Catalog &catalog, const std::string &typed)
{
	std::string want = lower(typed);
	std::vector<const Sku *> matches;
	for (const CatalogSku &c : catalog.skus)
		if (lower(c.sku.name) == want)
			return c.sku;
	for (const CatalogSku &c : catalog.skus)
		if (lower(c.sku.name.substr(0, c.sku.name.find('.'))) == want)
			matches.push_back(&c.sku);
	if (matches.size() == 1)
		return *matches.front();
	if (matches.size() > 1)
		throw Error(Errc::Conflict, fmt::format("'{}' is ambiguous: it fits {}; give the full name", typed, names(matches)));
	std::vector<const Sku *> all;
	std::vector<std::string> spellings;
	for (const CatalogSku &c : catalog.skus) {
		all.push_back(&c.sku);
		spellings.push_back(c.sku.name);
	}
	std::vector<std::string> near = nearestNames(typed, spellings);
	if (near.empty()) {
		std::vector<std::string> shorts;
		for (const CatalogSku &c : catalog.skus)
			shorts.push_back(c.sku.name.substr(0, c.sku.name.find('.')));
		for (const std::string &n : nearestNames(typed, shorts))
			for (const CatalogSku &c : catalog.skus)
				if (c.sku.name.substr(0, c.sku.name.find('.')) == n)
					near.push_back(c.sku.name);
	}
	throw Error(Errc::NotFound, fmt::format("no size '{}'{}; the sizes are: {}", typed, didYouMean(near), names(all)));
}

std::string formatPrice(std::int64_t micro, const std::string &currency)
{
	std::string digits = fmt::format("{}.{:06}", micro / 1000000, micro % 1000000);
	while (digits.size() > digits.find('.') + 3 && digits.back() == '0')
		digits.pop_back();
	return digits + " " + currency;
}

std::string renderSkuTable(const Catalog &catalog, const std::string &current)
{
	Table table({{" "}, {"#", Align::Right}, {"Size"}, {"GPUs", Align::Right}, {"Memory", Align::Right},
		     {"Price/min", Align::Right}, {"Allowed"}});
	int n = 0;
	for (const CatalogSku &c : catalog.skus) {
		const Sku &s = c.sku;
		table.addRow({s.name == current ? "*" : "", std::to_string(++n), s.name, std::to_string(s.gpus),
			      fmt::format("{} GB", s.gpus * s.gpuMemoryGib), formatPrice(s.priceMicroPerGpuMinute * s.gpus, s.currency),
			      c.allowed ? "yes" : "no"});
	}
	return table.render();
}

Json skuListJson(const Catalog &catalog, const std::string &current)
{
	Json out = Json::array();
	for (const CatalogSku &c : catalog.skus) {
		Json j = c.sku;
		j["current"] = c.sku.name == current;
		j["allowed"] = c.allowed;
		j["price_micro_per_minute"] = c.sku.priceMicroPerGpuMinute * c.sku.gpus;
		out.push_back(std::move(j));
	}
	return out;
}

} // namespace hac::tools
