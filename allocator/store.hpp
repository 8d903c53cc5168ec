// hac-allocator's durable state in SQLite: accounts' devices, allocations and their GPUs, usage records.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <hac/time.hpp>
#include <hac/types.hpp>

#include "catalog.hpp"
#include "database.hpp"

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

// One connection behind a mutex: the allocator's traffic is small, and serial writers need no retry.
class Store {
public:
	// The schema version this binary writes; a database with a higher one is refused.
	static constexpr int kSchemaVersion = 1;

	// Opens (creating) the database and migrates it; throws hac::Error(Failure) naming the path.
	explicit Store(const std::string &path);
	Store(const Store &) = delete;
	Store &operator=(const Store &) = delete;

	// Creates the account with one device per SKU unless it exists; true when it was created.
	bool seedAccount(const std::string &account, const std::vector<std::string> &skus);
	std::vector<StoredDevice> devices(const std::string &account);
	std::vector<StoredDevice> allDevices();
	void noteAgent(const std::string &account, const std::string &hostname, const std::string &agentVersion);

	AllocateResult allocate(const std::string &account, const std::string &jobId, const std::string &deviceId,
				const Catalog &catalog, const Inventory &inventory);
	ReleaseResult release(const std::string &account, const std::string &jobId);
	RecordResult recordUsage(const std::string &account, const UsageRecord &record, const Catalog &catalog);
	// Records whose ended_at is in [since, until), oldest first.
	std::vector<UsageRecord> usage(const std::string &account, std::optional<TimeMs> since,
				       std::optional<TimeMs> until);

private:
	void migrate();

	std::mutex mutex_;
	Database db_;
};

} // namespace hac::allocator
