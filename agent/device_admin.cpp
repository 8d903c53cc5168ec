// Device administration: resize, add, remove, switch, and the catalog they choose from. Each
// needs root or the admin group and a reachable allocator, and is in the job log before it is
// acknowledged, so each job is billed at the size it ran at and every change can be explained.
#include "agent.hpp"

#include <algorithm>
#include <limits>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>
#include <hac/number.hpp>
#include <hac/time.hpp>

#include "access.hpp"
#include "refusal.hpp"

namespace hac {

namespace {

// Frees a claimed device however the change ends.
class DeviceClaim {
public:
	DeviceClaim(JobTable &jobs, int device) : jobs_(jobs), device_(device) {}
	~DeviceClaim() { jobs_.releaseDevice(device_); }
	DeviceClaim(const DeviceClaim &) = delete;
	DeviceClaim &operator=(const DeviceClaim &) = delete;

private:
	JobTable &jobs_;
	int device_;
};

} // namespace

void Agent::requirePrivileged(const Peer &peer, const std::string &what) const
{
	if (!privileged(peer)) {
		std::string group = config().adminGroup;
		throw Refusal(Refusal::NotAllowed, "not_privileged",
			      fmt::format("{} needs root or membership in group {} (ask an administrator to run "
					  "'usermod -aG {} {}')", what, group, group, userName(peer.uid)));
	}
}

Sku Agent::knownSku(const std::string &name)
{
	std::vector<Sku> skus = cache_.skus();
	for (const Sku &s : skus)
		if (s.name == name)
			return s;
	std::vector<std::string> names;
	for (const Sku &s : skus)
		names.push_back(s.name);
	throw Refusal(Refusal::NotFound, "unknown_sku", fmt::format("no size '{}' in the allocator's catalog; the sizes are: {}", name,
								    fmt::join(names, ", ")));
}

void Agent::requireAllocator(const std::string &what)
{
	std::lock_guard lock(mutex_);
	if (allocator_.reachable)
		return;
	// Not the last error: it was another request's (a resize's URL, say), and would mislead.
	std::string since = allocator_.unreachableSince ? " since " + formatTime(*allocator_.unreachableSince) : "";
	throw Refusal(Refusal::Unavailable, "allocator_unreachable",
		      fmt::format("{} needs the allocator, and the allocator at {} has not answered{}; nothing was sent. "
				  "Try again when it is back ('hac-smi' shows when it last answered)",
				  what, allocator_.url, since));
}

// Re-reads the devices from the allocator after a change it acknowledged.
void Agent::refreshDevices()
{
	try {
		contactAllocator();
	} catch (const Error &e) {
		markUnreachable(e.what());
		spdlog::warn("the change was made, but the devices could not be read again: {}", e.what());
	}
}

void Agent::deliverOwedRecords()
{
	// A job's allocation is released by its usage record; one still in the outbox, even one
	// waiting out a back-off, would make the allocator see the device as busy.
	try {
		deliverOutbox(std::numeric_limits<TimeMs>::max());
	} catch (const Error &e) {
		markUnreachable(e.what());
		throw Refusal(Refusal::Unavailable, "allocator_unreachable", std::string(e.what()) + "; nothing was changed");
	}
}

Device Agent::changeAtAllocator(const std::function<Device()> &change)
{
	try {
		return change();
	} catch (const Refusal &) {
		throw;
	} catch (const Error &e) {
		if (e.code() != Errc::AllocatorUnreachable)
			throw;
		markUnreachable(e.what());
		throw Refusal(Refusal::Unavailable, "allocator_unreachable",
			      fmt::format("the allocator at {} did not answer ({}); if it received the change, hac-smi shows it "
					  "once the allocator is back", link_.url(), e.what()));
	}
}

Json Agent::skuCatalog()
{
	std::vector<std::string> allowed;
	if (auto saved = cache_.setting("allowed_skus"))
		allowed = Json::parse(*saved, nullptr, false).get<std::vector<std::string>>();
	Json skus = Json::array();
	for (const Sku &s : cache_.skus()) {
		Json j = s;
		j["allowed"] = allowed.empty() || std::find(allowed.begin(), allowed.end(), s.name) != allowed.end();
		skus.push_back(std::move(j));
	}
	// Written by this agent from the allocator's answer; 1 if it was ever anything else.
	int maxDevices = parseInteger<int>(cache_.setting("max_devices").value_or("1")).value_or(1);
	std::lock_guard lock(mutex_);
	return Json{{"skus", skus}, {"max_devices", maxDevices}, {"devices", devices_}, {"allocator", allocator_}};
}

Json Agent::resizeDevice(const Peer &peer, int index, const std::string &skuName, int waitMs)
{
	requirePrivileged(peer, "Changing the accelerator's size");
	Device before = device(index);
	Sku sku = knownSku(skuName);
	requireAllocator(fmt::format("Resizing device {} to {}", index, sku.name));
	jobs_.claimDevice(index, waitMs, "resize to " + sku.name, "The size cannot be changed");
	DeviceClaim claim(jobs_, index);
	before = device(index);
	if (before.sku == sku.name)
		return Json{{"device", before}, {"previous_sku", before.sku}, {"changed", false}};
	deliverOwedRecords();
	Device after = changeAtAllocator([&] { return link_.resizeDevice(before.id, sku.name); });
	TimeMs at = nowMs();
	log_.recordDeviceChange({at, index, before.id, "resize", before.sku, after.sku, peer.uid});
	spdlog::info("device {} resized from {} to {} by {}", index, before.sku, after.sku, userName(peer.uid));
	refreshDevices();
	after = device(index);
	return Json{{"device", after}, {"previous_sku", before.sku}, {"changed", true}, {"changed_at", formatTime(at)}};
}

Json Agent::addDevice(const Peer &peer, const std::string &skuName)
{
	requirePrivileged(peer, "Adding a device");
	Sku sku = knownSku(skuName);
	requireAllocator(fmt::format("Adding a device of size {} (POST /v1/devices)", sku.name));
	Device added = changeAtAllocator([&] { return link_.addDevice(sku.name); });
	log_.recordDeviceChange({nowMs(), added.index, added.id, "add", std::nullopt, added.sku, peer.uid});
	spdlog::info("device {} ({}) added by {}", added.index, added.sku, userName(peer.uid));
	refreshDevices();
	return Json{{"device", device(added.index)}};
}

Json Agent::removeDevice(const Peer &peer, int index, int waitMs)
{
	requirePrivileged(peer, "Removing a device");
	Device gone = device(index);
	requireAllocator(fmt::format("Removing device {}", index));
	jobs_.claimDevice(index, waitMs, "removal", fmt::format("Device {} cannot be removed", index));
	DeviceClaim claim(jobs_, index);
	deliverOwedRecords();
	changeAtAllocator([&] { return link_.removeDevice(gone.id); });
	log_.recordDeviceChange({nowMs(), index, gone.id, "remove", gone.sku, std::nullopt, peer.uid});
	spdlog::info("device {} ({}) removed by {}", index, gone.sku, userName(peer.uid));
	refreshDevices();
	return Json{{"device", gone}};
}

Json Agent::switchDevice(const Peer &peer, int index)
{
	requirePrivileged(peer, "Switching the current device");
	Device chosen = device(index);
	Device previous = device(std::nullopt);
	cache_.setSetting("current_device", std::to_string(index));
	log_.recordDeviceChange({nowMs(), index, chosen.id, "switch", previous.sku, chosen.sku, peer.uid});
	{
		std::lock_guard lock(mutex_);
		for (Device &d : devices_)
			d.current = d.index == index;
	}
	spdlog::info("current device switched from {} to {} by {}", previous.index, index, userName(peer.uid));
	return Json{{"device", device(index)}, {"previous_device", previous.index}};
}

} // namespace hac
