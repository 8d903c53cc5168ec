// hac-resize: one PATCH /v1/devices/{n} to the agent, which checks who asks, keeps jobs off the
// device while the allocator changes it, and records the change. The menu loops over the same call.
#include "resize.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <fmt/core.h>

#include <hac/agent_client.hpp>
#include <hac/error.hpp>

#include "common/menu.hpp"
#include "common/output.hpp"
#include "common/sku_catalog.hpp"

namespace hac::resize {

namespace {

using Clock = std::chrono::steady_clock;

// The agent waits at most this long in one request; --wait asks again until its own limit.
constexpr int kServerWaitMs = 25000;

const Device &pickDevice(const tools::Catalog &catalog, std::optional<int> index)
{
	for (const Device &d : catalog.devices)
		if (index ? d.index == *index : d.current)
			return d;
	std::string known;
	for (const Device &d : catalog.devices)
		known += fmt::format("{}{}", known.empty() ? "" : ", ", d.index);
	if (!index)
		throw Error(Errc::NotFound, "this VM has no device; add one with 'hac-smi device add'");
	throw Error(Errc::NotFound, fmt::format("no device {}: this VM has device(s) {}", *index, known.empty() ? "none" : known));
}

// One size change; waits for a running job while --wait allows. Returns the agent's answer.
Json change(AgentClient &agent, const Options &options, int device, const std::string &sku)
{
	const bool waiting = options.waitSeconds.has_value();
	const auto deadline = Clock::now() + std::chrono::milliseconds(std::llround(options.waitSeconds.value_or(0) * 1000));
	const bool unlimited = waiting && *options.waitSeconds == 0;
	bool told = false;
	for (;;) {
		// The first request does not wait, so a user learns at once what is being waited for.
		int waitMs = 0;
		if (waiting && told) {
			auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
			waitMs = unlimited ? kServerWaitMs : int(std::clamp<long long>(left, 0, kServerWaitMs));
		}
		agent.setTimeout(std::chrono::milliseconds(waitMs + 5000));
		AgentReply reply = agent.call("PATCH", fmt::format("/v1/devices/{}", device),
					      Json{{"sku", sku}, {"wait_ms", waitMs}}.dump());
		if (reply.status < 400)
			return reply.body;
		std::string code = reply.errorCode();
		bool busy = code == "device_in_use" || code == "device_busy";
		if (!busy || !waiting)
			throw Error(errcForStatus(reply.status, code), reply.errorMessage());
		if (!unlimited && Clock::now() >= deadline)
			throw Error(Errc::TimedOut, fmt::format("gave up waiting after {} s: {}", *options.waitSeconds, reply.errorMessage()));
		if (!told && !options.json)
			std::fprintf(stderr, "hac-resize: %s; waiting for it to end\n", reply.errorMessage().c_str());
		told = true;
	}
}

void report(const Options &options, const Json &answer)
{
	if (options.json) {
		Json doc = answer;
		doc["schema_version"] = 1;
		tools::printJson(doc);
		return;
	}
	Device d = answer.at("device").get<Device>();
	std::string previous = answer.value("previous_sku", "");
	if (!answer.value("changed", true))
		tools::print(fmt::format("Device {} is already {}: nothing to change.\n", d.index, d.sku));
	else
		tools::print(fmt::format("Device {} resized: {} -> {} ({} GPU{}, {} GB).\n", d.index, previous, d.sku, d.gpus, d.gpus == 1 ? "" : "s",
					 d.memoryTotalMib / 1024));
}

// moreh-switch-model's menu: the sizes, the current one marked, until q.
int menu(AgentClient &agent, const Options &options)
{
	for (;;) {
		tools::Catalog catalog = tools::fetchCatalog(agent);
		const Device &device = pickDevice(catalog, options.device);
		tools::print(fmt::format("Device {} is {}. Choose its new size:\n", device.index, device.sku));
		tools::print(tools::renderSkuTable(catalog, device.sku));
		auto choice = tools::askSelection(static_cast<int>(catalog.skus.size()));
		if (!choice)
			return 0;
		const std::string &sku = catalog.skus[std::size_t(*choice - 1)].sku.name;
		try {
			report(options, change(agent, options, device.index, sku));
		} catch (const Error &e) {
			// The menu stays open: the user may pick another size or quit.
			std::fprintf(stderr, "hac-resize: %s\n", e.what());
		}
		tools::print("\n");
	}
}

} // namespace

int run(const Options &options)
{
	if (options.size.empty() && !options.list && !tools::interactive())
		throw Error(Errc::Usage, "no SIZE given, and stdin is not a terminal for the menu: "
					     "give one (hac-resize 2xlarge), or see the sizes with 'hac-resize --list'");
	AgentClient agent(resolveSocketPath(options.socket));
	if (options.list) {
		tools::Catalog catalog = tools::fetchCatalog(agent);
		const std::string current = pickDevice(catalog, options.device).sku;
		tools::report(options.json, {{"schema_version", 1}, {"skus", tools::skuListJson(catalog, current)}},
			      tools::renderSkuTable(catalog, current));
		return 0;
	}
	if (options.size.empty())
		return menu(agent, options);

	tools::Catalog catalog = tools::fetchCatalog(agent);
	const Sku &sku = tools::resolveSku(catalog, options.size);
	const Device &device = pickDevice(catalog, options.device);
	if (!options.yes && tools::interactive() && device.sku != sku.name &&
	    !tools::confirm(fmt::format("Resize device {} from {} to {}? [y/N]", device.index, device.sku, sku.name))) {
		tools::print("Nothing changed.\n");
		return 0;
	}
	report(options, change(agent, options, device.index, sku.name));
	return 0;
}

} // namespace hac::resize
