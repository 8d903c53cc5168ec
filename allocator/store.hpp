// hac-allocator's durable state in SQLite: accounts' devices, allocations and their GPUs, usage records.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hac/time.hpp>
#include <hac/types.hpp>
#include <service/database.hpp>

#include "catalog.hpp"
#include "reconcile.hpp"

namespace hac::allocator {

struct StoredDevice {
	std::string id;
	std::string account;
	int index = 0;
	std::string sku;
	TimeMs createdAt = 0;
};

// One GPU lent, as the API's placement names it: the node's name (node-03 in the simulated farm,
// Slurm's own node name) and the GPU's index on it.
struct PlacedGpu {
	std::string node;
	int gpu = 0;

	bool operator==(const PlacedGpu &) const = default;
};

struct Allocation {
	std::string jobId;
	std::string account;
	std::string deviceId;
	std::string sku;
	int gpus = 0;
	std::vector<PlacedGpu> placement;
	TimeMs allocatedAt = 0;
	std::optional<TimeMs> releasedAt;
};

struct AllocateResult {
	// NeverFits and PlacementDown come from the Slurm backend only (slurm_farm.hpp).
	enum class Kind { Created, Replayed, Conflict, UnknownDevice, UnknownSku, DeviceBusy, FarmFull, NeverFits,
			  PlacementDown };
	Kind kind = Kind::Created;
	Allocation allocation;   // Created and Replayed
	// Conflict: why; DeviceBusy: the job holding the device; UnknownSku: the SKU; FarmFull from
	// Slurm, NeverFits and PlacementDown: what Slurm said
	std::string detail;
	int neededGpus = 0;      // FarmFull
	int freeGpus = 0;        // FarmFull, simulated backend
	int totalGpus = 0;       // FarmFull, simulated backend
};

// A job the store would lend GPUs to (Store::admit): its device free, its SKU known. `answer` is
// set instead when the store answers it alone (a replay, or a refusal).
struct Admission {
	std::optional<AllocateResult> answer;
	const Sku *sku = nullptr;
};

// A Slurm job that holds or queues for a hac job (the slurm_holds table).
struct SlurmHold {
	std::string jobId;
	std::int64_t slurmJobId = 0;
	std::string account;
	std::string deviceId;
	TimeMs submittedAt = 0;
	TimeMs askedAt = 0;
};

// A Slurm job to cancel (the slurm_cancels table), kept until Slurm confirms.
struct SlurmCancel {
	std::int64_t id = 0;           // the row
	std::int64_t slurmJobId = 0;   // 0: every live Slurm job named jobId
	std::string jobId;
	std::string reason;
	int attempts = 0;
};

// POST /v1/devices: a new device at the account's lowest free index.
struct AddDeviceResult {
	enum class Kind { Added, Limit };
	Kind kind = Kind::Added;
	StoredDevice device;     // Added
	int devices = 0;         // Limit: how many the account has now
};

// PATCH /v1/devices/{id}: a new SKU, checked and changed in one transaction with allocate().
struct ResizeResult {
	enum class Kind { Resized, Unchanged, UnknownDevice, NotAllowed, DeviceBusy };
	Kind kind = Kind::Resized;
	StoredDevice device;     // Resized and Unchanged: as it is now
	std::string previousSku; // Resized and Unchanged
	TimeMs changedAt = 0;    // Resized: now; Unchanged: when the device got its SKU
	std::string busyJob;     // DeviceBusy: the job holding the device
};

// DELETE /v1/devices/{id}: the row stays (removed_at set) for usage that arrives late.
struct RemoveResult {
	enum class Kind { Removed, UnknownDevice, DeviceBusy };
	Kind kind = Kind::Removed;
	StoredDevice device;     // Removed: as it was
	TimeMs removedAt = 0;    // Removed
	std::string busyJob;     // DeviceBusy
};

struct ReleaseResult {
	bool found = false;
	TimeMs releasedAt = 0;
};

struct RecordResult {
	enum class Kind { Created, Replayed, Conflict, UnknownDevice, UnknownSku };
	Kind kind = Kind::Created;
	UsageRecord record;      // Created and Replayed: as stored (without the currency, the catalog's)
	std::string detail;      // Conflict: the fields that differ
};

// What GET /metrics shows of the farm and the allocations (store_metrics.cpp).
struct FarmSnapshot {
	std::map<int, int> leasedByNode;       // simulated farm: node -> GPUs lent now
	std::int64_t allocationsHeld = 0;
	std::int64_t allocationsReleased = 0;
	std::int64_t slurmQueued = 0;          // Slurm: hold jobs waiting in Slurm's queue (no allocation yet)
};

// One connection behind a mutex: the allocator's traffic is small, and serial writers need no retry.
class Store {
public:
	// The schema version this binary writes; a database with a higher one is refused.
	static constexpr int kSchemaVersion = 3;

	// Opens (creating) the database and migrates it; throws hac::Error(Failure) naming the path.
	explicit Store(const std::string &path);
	Store(const Store &) = delete;
	Store &operator=(const Store &) = delete;

	// The steps that take a database from version i to i + 1 (migrate() applies them); public so a
	// test can build a database of an older version.
	static std::vector<std::string_view> migrations();

	// Creates the account with one device per SKU unless it exists; true when it was created.
	bool seedAccount(const std::string &account, const std::vector<std::string> &skus);
	std::vector<StoredDevice> devices(const std::string &account);
	std::vector<StoredDevice> allDevices();
	AddDeviceResult addDevice(const std::string &account, const std::string &sku, int maxDevices);
	// `allowed`: whether the token may use `sku`; only asked when the SKU would change.
	ResizeResult resizeDevice(const std::string &account, const std::string &deviceId, const std::string &sku,
				  bool allowed);
	RemoveResult removeDevice(const std::string &account, const std::string &deviceId);
	void noteAgent(const std::string &account, const std::string &hostname, const std::string &agentVersion);

	// The simulated backend's allocation: checked, placed on the inventory and written at once.
	AllocateResult allocate(const std::string &account, const std::string &jobId, const std::string &deviceId,
				const Catalog &catalog, const Inventory &inventory);
	// An outside backend's allocation (Slurm) in two steps, the placement between them made
	// without the store's lock: admit() checks what allocate() checks before placing; commit()
	// checks it again and writes the allocation with the backend's placement, provided `hold`
	// still holds for the job (nobody gave it up meanwhile).
	Admission admit(const std::string &account, const std::string &jobId, const std::string &deviceId,
			const Catalog &catalog);
	AllocateResult commit(const std::string &account, const std::string &jobId, const std::string &deviceId,
			      const Catalog &catalog, std::int64_t hold, std::vector<PlacedGpu> placement);
	// The allocation of `jobId`, held or released, whichever account's.
	std::optional<Allocation> allocation(const std::string &jobId);
	// Gives the job's GPUs back; a job still queued in Slurm leaves the queue (found too).
	ReleaseResult release(const std::string &account, const std::string &jobId);

	// The Slurm backend's bookkeeping (store_slurm.cpp).
	std::optional<SlurmHold> slurmHold(const std::string &jobId);
	// Notes (or renews) the Slurm job that holds or queues for `jobId` (0: about to be submitted);
	// asked_at is now.
	void noteSlurmHold(const SlurmHold &hold);
	// Gives up `jobId`'s hold, if any, as the release paths do: its Slurm job is to be cancelled.
	void dropSlurmHold(const std::string &jobId, const std::string &reason);
	// Queued holds nobody asked about since `before` (no allocation yet) go to the cancels; returns
	// how many.
	int expireQueuedHolds(TimeMs before);
	std::vector<SlurmCancel> dueCancels(TimeMs now);
	void cancelDone(std::int64_t cancel);
	void cancelFailed(std::int64_t cancel, const std::string &error, TimeMs nextAttemptAt);
	// Every allocation a Slurm job held, with its usage record's times where there is one.
	std::vector<HeldJob> slurmHeldJobs();
	RecordResult recordUsage(const std::string &account, const UsageRecord &record, const Catalog &catalog);
	// Records whose ended_at is in [since, until), oldest first.
	std::vector<UsageRecord> usage(const std::string &account, std::optional<TimeMs> since,
				       std::optional<TimeMs> until);
	FarmSnapshot farmSnapshot();

private:
	void migrate();

	std::mutex mutex_;
	Database db_;
};

} // namespace hac::allocator
