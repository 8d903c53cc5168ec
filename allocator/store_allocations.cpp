// Store's allocation verbs, on the allocations and leases tables: lend a device's GPUs to a job, and
// give them back.
#include "store.hpp"
#include "store_allocations.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include <hac/json.hpp>

namespace hac::allocator {

namespace {

std::string placementText(const std::vector<GpuSlot> &placement)
{
	Json j = Json::array();
	for (const GpuSlot &s : placement)
		j.push_back({s.node, s.gpu});
	return j.dump();
}

std::vector<GpuSlot> placementFrom(const std::string &text)
{
	std::vector<GpuSlot> out;
	for (const Json &pair : Json::parse(text))
		out.push_back({pair.at(0).get<int>(), pair.at(1).get<int>()});
	return out;
}

std::optional<Allocation> loadAllocation(Database &db, const std::string &jobId)
{
	Statement st = db.prepare("SELECT job_id, account, device_id, sku, gpus, placement, allocated_at, released_at "
				  "FROM allocations WHERE job_id = ?");
	st.bind(1, jobId);
	if (!st.step())
		return std::nullopt;
	Allocation a;
	a.jobId = st.text(0);
	a.account = st.text(1);
	a.deviceId = st.text(2);
	a.sku = st.text(3);
	a.gpus = static_cast<int>(st.integer(4));
	a.placement = placementFrom(st.text(5));
	a.allocatedAt = st.integer(6);
	a.releasedAt = st.optInteger(7);
	return a;
}

} // namespace

std::optional<std::string> heldBy(Database &db, const std::string &deviceId)
{
	Statement st = db.prepare("SELECT job_id FROM allocations WHERE device_id = ? AND released_at IS NULL");
	st.bind(1, deviceId);
	if (!st.step())
		return std::nullopt;
	return st.text(0);
}

void releaseHeld(Database &db, const std::string &account, const std::string &jobId, TimeMs now)
{
	db.prepare("DELETE FROM leases WHERE job_id = ?1 AND EXISTS (SELECT 1 FROM allocations "
		   "WHERE job_id = ?1 AND account = ?2 AND released_at IS NULL)")
		.bind(1, jobId).bind(2, account).run();
	db.prepare("UPDATE allocations SET released_at = ?3 WHERE job_id = ?1 AND account = ?2 AND released_at IS NULL")
		.bind(1, jobId).bind(2, account).bind(3, now).run();
}

// The early returns below have only read, so committing them is the same as rolling back.
AllocateResult Store::allocate(const std::string &account, const std::string &jobId, const std::string &deviceId,
			       const Catalog &catalog, const Inventory &inventory)
{
	std::lock_guard lock(mutex_);
	AllocateResult r;
	db_.transaction([&] {
		if (auto existing = loadAllocation(db_, jobId)) {
			if (existing->account == account && existing->deviceId == deviceId) {
				r.kind = AllocateResult::Kind::Replayed;
				r.allocation = *existing;
			} else {
				r.kind = AllocateResult::Kind::Conflict;
				r.detail = existing->account != account
					? fmt::format("job {} is already allocated under another account", jobId)
					: fmt::format("job {} was allocated on device {}, not {}", jobId, existing->deviceId, deviceId);
			}
			return;
		}
		{
			Statement st = db_.prepare("SELECT 1 FROM usage WHERE job_id = ?");
			st.bind(1, jobId);
			if (st.step()) {
				r.kind = AllocateResult::Kind::Conflict;
				r.detail = fmt::format("job {} has ended: its usage is recorded", jobId);
				return;
			}
		}
		std::string skuName;
		{
			Statement st = db_.prepare("SELECT sku FROM devices WHERE id = ? AND account = ? AND removed_at IS NULL");
			st.bind(1, deviceId).bind(2, account);
			if (!st.step()) {
				r.kind = AllocateResult::Kind::UnknownDevice;
				return;
			}
			skuName = st.text(0);
		}
		const Sku *sku = catalog.find(skuName);
		if (!sku) {
			r.kind = AllocateResult::Kind::UnknownSku;
			r.detail = skuName;
			return;
		}
		if (auto job = heldBy(db_, deviceId)) {
			r.kind = AllocateResult::Kind::DeviceBusy;
			r.detail = *job;
			return;
		}
		std::vector<GpuSlot> busy;
		{
			Statement st = db_.prepare("SELECT node, gpu FROM leases");
			while (st.step())
				busy.push_back({static_cast<int>(st.integer(0)), static_cast<int>(st.integer(1))});
		}
		std::vector<GpuSlot> placement = place(inventory, busy, sku->gpus);
		if (placement.empty()) {
			r.kind = AllocateResult::Kind::FarmFull;
			r.neededGpus = sku->gpus;
			r.totalGpus = inventory.totalGpus();
			auto inFarm = std::count_if(busy.begin(), busy.end(), [&](const GpuSlot &s) {
				return s.node < inventory.nodes && s.gpu < inventory.gpusPerNode;
			});
			r.freeGpus = r.totalGpus - static_cast<int>(inFarm);
			return;
		}

		Allocation &a = r.allocation;
		a.jobId = jobId;
		a.account = account;
		a.deviceId = deviceId;
		a.sku = sku->name;
		a.gpus = sku->gpus;
		a.placement = placement;
		a.allocatedAt = nowMs();
		db_.prepare("INSERT INTO allocations(job_id, account, device_id, sku, gpus, placement, allocated_at) "
			    "VALUES (?, ?, ?, ?, ?, ?, ?)")
			.bind(1, a.jobId).bind(2, a.account).bind(3, a.deviceId).bind(4, a.sku).bind(5, a.gpus)
			.bind(6, placementText(a.placement)).bind(7, a.allocatedAt).run();
		Statement lease = db_.prepare("INSERT INTO leases(node, gpu, job_id) VALUES (?, ?, ?)");
		for (const GpuSlot &s : placement) {
			lease.reset();
			lease.bind(1, s.node).bind(2, s.gpu).bind(3, jobId).run();
		}
		r.kind = AllocateResult::Kind::Created;
	});
	return r;
}

ReleaseResult Store::release(const std::string &account, const std::string &jobId)
{
	std::lock_guard lock(mutex_);
	ReleaseResult r;
	db_.transaction([&] {
		{
			Statement st = db_.prepare("SELECT released_at FROM allocations WHERE job_id = ? AND account = ?");
			st.bind(1, jobId).bind(2, account);
			if (!st.step())
				return;
			r.found = true;
			if (auto released = st.optInteger(0)) {
				r.releasedAt = *released;
				return;
			}
		}
		r.releasedAt = nowMs();
		releaseHeld(db_, account, jobId, r.releasedAt);
	});
	return r;
}

} // namespace hac::allocator
