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

namespace hac::allocator {

struct StoredDevice {
	std::string id;
	std::string account;
	int index = 0;
	std::string sku;
	TimeMs createdAt = 0;
};

struct Allocation {
	std::string jobId;
	std::string account;
	std::string deviceId;
	std::string sku;
	int gpus = 0;
	std::vector<GpuSlot> placement;
	TimeMs allocatedAt = 0;
	std::optional<TimeMs> releasedAt;
};

struct AllocateResult {
	enum class Kind { Created, Replayed, Conflict, UnknownDevice, UnknownSku, DeviceBusy, FarmFull };
	Kind kind = Kind::Created;
	Allocation allocation;   // Created and Replayed
	std::string detail;      // Conflict: why; DeviceBusy: the job holding the device; UnknownSku: the SKU
	int neededGpus = 0;      // FarmFull
	int freeGpus = 0;        // FarmFull
	int totalGpus = 0;       // FarmFull
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
	std::map<int, int> leasedByNode;       // node -> GPUs lent now
	std::int64_t allocationsHeld = 0;
	std::int64_t allocationsReleased = 0;
};

// One connection behind a mutex: the allocator's traffic is small, and serial writers need no retry.
class Store {
public:
	// The schema version this binary writes; a database with a higher one is refused.
	static constexpr int kSchemaVersion = 2;

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

	AllocateResult allocate(const std::string &account, const std::string &jobId, const std::string &deviceId,
				const Catalog &catalog, const Inventory &inventory);
	ReleaseResult release(const std::string &account, const std::string &jobId);
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
