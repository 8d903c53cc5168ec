// Store's allocation verbs, on the allocations and leases tables: lend a device's GPUs to a job, and
// give them back.
#include "store.hpp"
#include "store_allocations.hpp"
#include "store_devices.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <hac/json.hpp>

namespace hac::allocator {

namespace {

// [["node-01", 3], ...]: the node by name, as Slurm names its nodes. Rows written before the Slurm
// backend hold the simulated farm's node number instead ([[1, 3]]), read as its name.
std::string placementText(const std::vector<PlacedGpu> &placement)
{
	Json j = Json::array();
	for (const PlacedGpu &g : placement)
		j.push_back({g.node, g.gpu});
	return j.dump();
}

std::vector<PlacedGpu> placementFrom(const std::string &text)
{
	std::vector<PlacedGpu> out;
	for (const Json &pair : Json::parse(text)) {
		const Json &node = pair.at(0);
		out.push_back({node.is_string() ? node.get<std::string>() : nodeName(node.get<int>()), pair.at(1).get<int>()});
	}
	return out;
}

std::vector<PlacedGpu> named(const std::vector<GpuSlot> &slots)
{
	std::vector<PlacedGpu> out;
	for (const GpuSlot &s : slots)
		out.push_back({nodeName(s.node), s.gpu});
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

// A job asked for again: by the same account on the same device, a replay of what it was lent;
// otherwise a conflict that says what differs.
AllocateResult againFor(const Allocation &existing, const std::string &account, const std::string &jobId,
			const std::string &deviceId)
{
	AllocateResult r;
	if (existing.account == account && existing.deviceId == deviceId) {
		r.kind = AllocateResult::Kind::Replayed;
		r.allocation = existing;
	} else {
		r.kind = AllocateResult::Kind::Conflict;
		r.detail = existing.account != account
			? fmt::format("job {} is already allocated under another account", jobId)
			: fmt::format("job {} was allocated on device {}, not {}", jobId, existing.deviceId, deviceId);
	}
	return r;
}

// A refusal: its kind, and for the kinds that carry one (see AllocateResult) its detail.
AllocateResult refused(AllocateResult::Kind kind, std::string detail = {})
{
	AllocateResult r;
	r.kind = kind;
	r.detail = std::move(detail);
	return r;
}

// A job whose usage is recorded has ended (recording it released the allocation, if any), so it
// is not lent GPUs again.
bool usageRecorded(Database &db, const std::string &jobId)
{
	Statement st = db.prepare("SELECT 1 FROM usage WHERE job_id = ?");
	st.bind(1, jobId);
	return st.step();
}

// The GPUs lent now, to every account.
std::vector<GpuSlot> leasedGpus(Database &db)
{
	std::vector<GpuSlot> busy;
	Statement st = db.prepare("SELECT node, gpu FROM leases");
	while (st.step())
		busy.push_back({static_cast<int>(st.integer(0)), static_cast<int>(st.integer(1))});
	return busy;
}

// No room for `needed` GPUs: the answer says how many the farm has and how many are free. A lease
// outside the farm as configured now is not one of its GPUs, so it does not lower the free count.
AllocateResult farmFull(const Inventory &inventory, const std::vector<GpuSlot> &busy, int needed)
{
	AllocateResult r;
	r.kind = AllocateResult::Kind::FarmFull;
	r.neededGpus = needed;
	r.totalGpus = inventory.totalGpus();
	auto inFarm = std::count_if(busy.begin(), busy.end(), [&](const GpuSlot &s) {
		return s.node < inventory.nodes && s.gpu < inventory.gpusPerNode;
	});
	r.freeGpus = r.totalGpus - static_cast<int>(inFarm);
	return r;
}

// The allocation's row, with the Slurm job that holds its GPUs (none on the simulated farm, whose
// leases are written beside it).
void insertAllocation(Database &db, const Allocation &a, std::optional<std::int64_t> slurmJobId = std::nullopt)
{
	db.prepare("INSERT INTO allocations(job_id, account, device_id, sku, gpus, placement, allocated_at, slurm_job_id) "
		   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
		.bind(1, a.jobId).bind(2, a.account).bind(3, a.deviceId).bind(4, a.sku).bind(5, a.gpus)
		.bind(6, placementText(a.placement)).bind(7, a.allocatedAt).bind(8, slurmJobId).run();
}

void insertLeases(Database &db, const std::string &jobId, const std::vector<GpuSlot> &slots)
{
	Statement lease = db.prepare("INSERT INTO leases(node, gpu, job_id) VALUES (?, ?, ?)");
	for (const GpuSlot &s : slots) {
		lease.reset();
		lease.bind(1, s.node).bind(2, s.gpu).bind(3, jobId).run();
	}
}

// What every backend checks before placing, inside a transaction: a job already allocated is
// answered from its row; a new one must not have ended, and needs its device known and free and
// its SKU in the catalog. The refusals have only read, so committing them is the same as rolling
// back.
Admission admitInTransaction(Database &db, const std::string &account, const std::string &jobId,
			     const std::string &deviceId, const Catalog &catalog)
{
	Admission a;
	if (auto existing = loadAllocation(db, jobId)) {
		a.answer = againFor(*existing, account, jobId, deviceId);
		return a;
	}
	if (usageRecorded(db, jobId)) {
		a.answer = refused(AllocateResult::Kind::Conflict, fmt::format("job {} has ended: its usage is recorded", jobId));
		return a;
	}
	auto device = loadDevice(db, account, deviceId);
	if (!device) {
		a.answer = refused(AllocateResult::Kind::UnknownDevice);
		return a;
	}
	a.sku = catalog.find(device->sku);
	if (!a.sku)
		a.answer = refused(AllocateResult::Kind::UnknownSku, device->sku);
	else if (auto job = heldBy(db, deviceId))
		a.answer = refused(AllocateResult::Kind::DeviceBusy, *job);
	return a;
}

AllocateResult created(const std::string &account, const std::string &jobId, const std::string &deviceId,
		       const Sku &sku, std::vector<PlacedGpu> placement)
{
	AllocateResult r;
	r.kind = AllocateResult::Kind::Created;
	r.allocation = {jobId, account, deviceId, sku.name, sku.gpus, std::move(placement), nowMs(), std::nullopt};
	return r;
}

// Store::allocate's steps, inside its transaction: admitted, placed on the simulated farm's free
// GPUs, written with its leases.
AllocateResult allocateInTransaction(Database &db, const std::string &account, const std::string &jobId,
				     const std::string &deviceId, const Catalog &catalog, const Inventory &inventory)
{
	Admission admission = admitInTransaction(db, account, jobId, deviceId, catalog);
	if (admission.answer)
		return *admission.answer;
	std::vector<GpuSlot> busy = leasedGpus(db);
	std::vector<GpuSlot> slots = place(inventory, busy, admission.sku->gpus);
	if (slots.empty())
		return farmFull(inventory, busy, admission.sku->gpus);
	AllocateResult r = created(account, jobId, deviceId, *admission.sku, named(slots));
	insertAllocation(db, r.allocation);
	insertLeases(db, jobId, slots);
	return r;
}

// The hold the backend placed is still the job's: nobody released it while Slurm was asked.
bool holdStands(Database &db, const std::string &jobId, std::int64_t hold)
{
	Statement st = db.prepare("SELECT 1 FROM slurm_holds WHERE job_id = ? AND slurm_job_id = ?");
	st.bind(1, jobId).bind(2, hold);
	return st.step();
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
	dropHold(db, jobId, account, "released", now);
	db.prepare("DELETE FROM leases WHERE job_id = ?1 AND EXISTS (SELECT 1 FROM allocations "
		   "WHERE job_id = ?1 AND account = ?2 AND released_at IS NULL)")
		.bind(1, jobId).bind(2, account).run();
	db.prepare("UPDATE allocations SET released_at = ?3 WHERE job_id = ?1 AND account = ?2 AND released_at IS NULL")
		.bind(1, jobId).bind(2, account).bind(3, now).run();
}

AllocateResult Store::allocate(const std::string &account, const std::string &jobId, const std::string &deviceId,
			       const Catalog &catalog, const Inventory &inventory)
{
	std::lock_guard lock(mutex_);
	AllocateResult r;
	db_.transaction([&] { r = allocateInTransaction(db_, account, jobId, deviceId, catalog, inventory); });
	return r;
}

Admission Store::admit(const std::string &account, const std::string &jobId, const std::string &deviceId,
			const Catalog &catalog)
{
	std::lock_guard lock(mutex_);
	Admission a;
	db_.transaction([&] { a = admitInTransaction(db_, account, jobId, deviceId, catalog); });
	return a;
}

AllocateResult Store::commit(const std::string &account, const std::string &jobId, const std::string &deviceId,
			     const Catalog &catalog, std::int64_t hold, std::vector<PlacedGpu> placement)
{
	std::lock_guard lock(mutex_);
	AllocateResult r;
	db_.transaction([&] {
		Admission admission = admitInTransaction(db_, account, jobId, deviceId, catalog);
		if (admission.answer) {
			r = *admission.answer;
			return;
		}
		if (!holdStands(db_, jobId, hold)) {
			// Given up while Slurm placed it: the caller asks again, and is queued anew.
			r.kind = AllocateResult::Kind::FarmFull;
			r.neededGpus = admission.sku->gpus;
			r.detail = fmt::format("the job's place in Slurm's queue (job {}) was given up meanwhile", hold);
			return;
		}
		r = created(account, jobId, deviceId, *admission.sku, std::move(placement));
		insertAllocation(db_, r.allocation, hold);
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
			if (!st.step()) {
				// Still in Slurm's queue: leaving it is its release.
				r.releasedAt = nowMs();
				r.found = dropHold(db_, jobId, account, "given up", r.releasedAt);
				return;
			}
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

std::optional<Allocation> Store::allocation(const std::string &jobId)
{
	std::lock_guard lock(mutex_);
	return loadAllocation(db_, jobId);
}

} // namespace hac::allocator
