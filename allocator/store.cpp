// SQLite behind hac-allocator: WAL, synchronous=FULL, every write in BEGIN IMMEDIATE and committed
// before the caller answers, the schema migrated one version per transaction.
#include "store.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <hac/billing.hpp>
#include <hac/error.hpp>
#include <hac/json.hpp>
#include <hac/usage.hpp>
#include <hac/uuid.hpp>

namespace hac::allocator {

namespace {

// One entry per schema version, applied in order: migrations/vN.sql, embedded at build time (each
// file's header is its changelog entry).
constexpr std::string_view kMigrations[] = {
#include "migrations_v1.inc"
#include "migrations_v2.inc"
};
static_assert(std::size(kMigrations) == Store::kSchemaVersion, "one migration step per schema version");

// What SQLite says when it cannot open or create the file rarely names the cause; it is nearly always
// the folder.
Database openDatabase(const std::string &path)
{
	try {
		return Database(path, true);
	} catch (const Error &e) {
		throw Error(e.code(), fmt::format("{}; check that its folder exists and is writable", e.what()));
	}
}

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

constexpr const char *kUsageColumns =
	"job_id, device_id, sku, gpus, started_at, ended_at, billable, end_reason, reconstructed, "
	"price_micro_per_gpu_minute, cost_micro, recorded_at, account";

UsageRecord usageFrom(const Statement &st)
{
	UsageRecord r;
	r.jobId = st.text(0);
	r.deviceId = st.text(1);
	r.sku = st.text(2);
	r.gpus = static_cast<int>(st.integer(3));
	r.startedAt = st.integer(4);
	r.endedAt = st.integer(5);
	r.billable = st.integer(6) != 0;
	r.endReason = st.text(7);
	r.reconstructed = st.integer(8) != 0;
	r.priceMicroPerGpuMinute = st.integer(9);
	r.costMicro = st.integer(10);
	r.recordedAt = st.integer(11);
	return r;
}

// Gives the job's GPUs back if this account still holds them.
void releaseHeld(Database &db, const std::string &account, const std::string &jobId, TimeMs now)
{
	db.prepare("DELETE FROM leases WHERE job_id = ?1 AND EXISTS (SELECT 1 FROM allocations "
		   "WHERE job_id = ?1 AND account = ?2 AND released_at IS NULL)")
		.bind(1, jobId).bind(2, account).run();
	db.prepare("UPDATE allocations SET released_at = ?3 WHERE job_id = ?1 AND account = ?2 AND released_at IS NULL")
		.bind(1, jobId).bind(2, account).bind(3, now).run();
}

std::optional<StoredDevice> loadDevice(Database &db, const std::string &account, const std::string &deviceId)
{
	Statement st = db.prepare("SELECT id, account, idx, sku, created_at FROM devices "
				  "WHERE id = ? AND account = ? AND removed_at IS NULL");
	st.bind(1, deviceId).bind(2, account);
	if (!st.step())
		return std::nullopt;
	return StoredDevice{st.text(0), st.text(1), static_cast<int>(st.integer(2)), st.text(3), st.integer(4)};
}

// The job holding the device: its allocation is neither released nor ended by recorded usage
// (recording usage releases it).
std::optional<std::string> heldBy(Database &db, const std::string &deviceId)
{
	Statement st = db.prepare("SELECT job_id FROM allocations WHERE device_id = ? AND released_at IS NULL");
	st.bind(1, deviceId);
	if (!st.step())
		return std::nullopt;
	return st.text(0);
}

void noteChange(Database &db, const std::string &deviceId, TimeMs at, const char *change, const std::string &sku,
		const std::optional<std::string> &previousSku = std::nullopt)
{
	db.prepare("INSERT INTO device_changes(device_id, at, change, sku, previous_sku) VALUES (?, ?, ?, ?, ?)")
		.bind(1, deviceId).bind(2, at).bind(3, change).bind(4, sku).bind(5, previousSku).run();
}

// What of `sent` differs from the record stored for its job, each field with both values. Price,
// currency and cost are the allocator's own, worked out from the catalog when it stored the record,
// so they are not the agent's to differ in: a replay after a price change is still a replay.
std::string describeDifferences(const UsageRecord &stored, UsageRecord sent)
{
	sent.priceMicroPerGpuMinute = stored.priceMicroPerGpuMinute;
	sent.currency = stored.currency;
	sent.costMicro = stored.costMicro;
	const Json a = stored, b = sent;
	auto text = [](const Json &v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
	std::vector<std::string> diffs;
	for (const std::string &field : usageDifferences(stored, sent))
		diffs.push_back(fmt::format("{} (recorded {}, sent {})", field, text(a.at(field)), text(b.at(field))));
	return fmt::format("{}", fmt::join(diffs, ", "));
}

} // namespace

Store::Store(const std::string &path) : db_(openDatabase(path))
{
	{
		// Database asks for WAL, and SQLite quietly keeps the old journal where it cannot have it
		// (":memory:", a VFS without shared memory); the durability this store promises needs it.
		Statement mode = db_.prepare("PRAGMA journal_mode");
		if (!mode.step() || mode.text(0) != "wal")
			throw Error(ExitCode::Failure, fmt::format("database {}: cannot switch it to WAL mode", path));
	}
	migrate();
}

std::vector<std::string_view> Store::migrations()
{
	return {std::begin(kMigrations), std::end(kMigrations)};
}

void Store::migrate()
{
	int from = db_.userVersion();
	db_.migrate(migrations(), "allocator database");
	// Each step has committed by now, so each one is logged as done.
	for (int v = from + 1; v <= kSchemaVersion; ++v)
		spdlog::info("database {}: migrated to schema version {}", db_.path(), v);
}

bool Store::seedAccount(const std::string &account, const std::vector<std::string> &skus)
{
	std::lock_guard lock(mutex_);
	bool created = false;
	db_.transaction([&] {
		TimeMs now = nowMs();
		db_.prepare("INSERT INTO accounts(name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
			.bind(1, account).bind(2, now).run();
		if (db_.changes() == 0)
			return;
		Statement insert = db_.prepare("INSERT INTO devices(id, account, idx, sku, created_at) VALUES (?, ?, ?, ?, ?)");
		for (std::size_t i = 0; i < skus.size(); ++i) {
			std::string id = newUuid();
			insert.reset();
			insert.bind(1, id).bind(2, account).bind(3, static_cast<int>(i)).bind(4, skus[i]).bind(5, now).run();
			noteChange(db_, id, now, "added", skus[i]);
		}
		created = true;
	});
	return created;
}

std::vector<StoredDevice> Store::devices(const std::string &account)
{
	std::lock_guard lock(mutex_);
	Statement st = db_.prepare("SELECT id, account, idx, sku, created_at FROM devices "
				   "WHERE account = ? AND removed_at IS NULL ORDER BY idx");
	st.bind(1, account);
	std::vector<StoredDevice> out;
	while (st.step())
		out.push_back({st.text(0), st.text(1), static_cast<int>(st.integer(2)), st.text(3), st.integer(4)});
	return out;
}

std::vector<StoredDevice> Store::allDevices()
{
	std::lock_guard lock(mutex_);
	Statement st = db_.prepare(
		"SELECT id, account, idx, sku, created_at FROM devices WHERE removed_at IS NULL ORDER BY account, idx");
	std::vector<StoredDevice> out;
	while (st.step())
		out.push_back({st.text(0), st.text(1), static_cast<int>(st.integer(2)), st.text(3), st.integer(4)});
	return out;
}

AddDeviceResult Store::addDevice(const std::string &account, const std::string &sku, int maxDevices)
{
	std::lock_guard lock(mutex_);
	AddDeviceResult r;
	db_.transaction([&] {
		std::vector<int> taken;
		{
			Statement st = db_.prepare("SELECT idx FROM devices WHERE account = ? AND removed_at IS NULL ORDER BY idx");
			st.bind(1, account);
			while (st.step())
				taken.push_back(static_cast<int>(st.integer(0)));
		}
		if (static_cast<int>(taken.size()) >= maxDevices) {
			r.kind = AddDeviceResult::Kind::Limit;
			r.devices = static_cast<int>(taken.size());
			return;
		}
		// The lowest free index, so the other devices keep theirs (and the agent's view of them).
		int index = 0;
		for (int t : taken) {
			if (t != index)
				break;
			++index;
		}
		StoredDevice &d = r.device;
		d = {newUuid(), account, index, sku, nowMs()};
		db_.prepare("INSERT INTO devices(id, account, idx, sku, created_at) VALUES (?, ?, ?, ?, ?)")
			.bind(1, d.id).bind(2, account).bind(3, d.index).bind(4, d.sku).bind(5, d.createdAt).run();
		noteChange(db_, d.id, d.createdAt, "added", d.sku);
		r.kind = AddDeviceResult::Kind::Added;
	});
	return r;
}

// Under the same mutex and in one transaction with allocate(), so of a resize and an allocation
// racing for one device exactly one sees the other: an allocation is always lent the device's SKU
// of the moment, and no held allocation ever has its device resized under it.
ResizeResult Store::resizeDevice(const std::string &account, const std::string &deviceId, const std::string &sku,
				 bool allowed)
{
	std::lock_guard lock(mutex_);
	ResizeResult r;
	db_.transaction([&] {
		auto d = loadDevice(db_, account, deviceId);
		if (!d) {
			r.kind = ResizeResult::Kind::UnknownDevice;
			return;
		}
		r.previousSku = d->sku;
		if (d->sku == sku) {
			// Nothing changes, so neither the token's allowed SKUs nor a running job stand in the way.
			Statement st = db_.prepare("SELECT max(at) FROM device_changes WHERE device_id = ? "
						   "AND change IN ('added', 'resized')");
			st.bind(1, d->id);
			r.changedAt = st.step() ? st.optInteger(0).value_or(d->createdAt) : d->createdAt;
			r.device = *d;
			r.kind = ResizeResult::Kind::Unchanged;
			return;
		}
		if (!allowed) {
			r.kind = ResizeResult::Kind::NotAllowed;
			return;
		}
		if (auto job = heldBy(db_, d->id)) {
			r.kind = ResizeResult::Kind::DeviceBusy;
			r.busyJob = *job;
			return;
		}
		r.changedAt = nowMs();
		db_.prepare("UPDATE devices SET sku = ? WHERE id = ?").bind(1, sku).bind(2, d->id).run();
		noteChange(db_, d->id, r.changedAt, "resized", sku, d->sku);
		r.device = *d;
		r.device.sku = sku;
		r.kind = ResizeResult::Kind::Resized;
	});
	return r;
}

RemoveResult Store::removeDevice(const std::string &account, const std::string &deviceId)
{
	std::lock_guard lock(mutex_);
	RemoveResult r;
	db_.transaction([&] {
		auto d = loadDevice(db_, account, deviceId);
		if (!d) {
			r.kind = RemoveResult::Kind::UnknownDevice;
			return;
		}
		if (auto job = heldBy(db_, d->id)) {
			r.kind = RemoveResult::Kind::DeviceBusy;
			r.busyJob = *job;
			return;
		}
		r.removedAt = nowMs();
		db_.prepare("UPDATE devices SET removed_at = ? WHERE id = ?").bind(1, r.removedAt).bind(2, d->id).run();
		noteChange(db_, d->id, r.removedAt, "removed", d->sku);
		r.device = *d;
		r.kind = RemoveResult::Kind::Removed;
	});
	return r;
}

void Store::noteAgent(const std::string &account, const std::string &hostname, const std::string &agentVersion)
{
	std::lock_guard lock(mutex_);
	db_.transaction([&] {
		db_.prepare("INSERT INTO agents(account, hostname, agent_version, last_seen) VALUES (?, ?, ?, ?) "
			    "ON CONFLICT(account, hostname) DO UPDATE SET agent_version = excluded.agent_version, "
			    "last_seen = excluded.last_seen")
			.bind(1, account).bind(2, hostname).bind(3, agentVersion).bind(4, nowMs()).run();
	});
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

RecordResult Store::recordUsage(const std::string &account, const UsageRecord &sent, const Catalog &catalog)
{
	std::lock_guard lock(mutex_);
	RecordResult r;
	db_.transaction([&] {
		{
			Statement st = db_.prepare(fmt::format("SELECT {} FROM usage WHERE job_id = ?", kUsageColumns));
			st.bind(1, sent.jobId);
			if (st.step()) {
				UsageRecord stored = usageFrom(st);
				if (st.text(12) != account) {
					r.kind = RecordResult::Kind::Conflict;
					r.detail = "it was recorded under another account";
					return;
				}
				r.detail = describeDifferences(stored, sent);
				r.kind = r.detail.empty() ? RecordResult::Kind::Replayed : RecordResult::Kind::Conflict;
				r.record = stored;
				return;
			}
		}
		{
			// A device removed since the job ran still gets its bill.
			Statement st = db_.prepare("SELECT 1 FROM devices WHERE id = ? AND account = ?");
			st.bind(1, sent.deviceId).bind(2, account);
			if (!st.step()) {
				r.kind = RecordResult::Kind::UnknownDevice;
				return;
			}
		}
		const Sku *sku = catalog.find(sent.sku);
		if (!sku) {
			r.kind = RecordResult::Kind::UnknownSku;
			r.detail = sent.sku;
			return;
		}
		UsageRecord &rec = r.record;
		rec = sent;
		rec.priceMicroPerGpuMinute = sku->priceMicroPerGpuMinute;
		rec.currency = sku->currency;
		// The billing rule every side applies (libhac/include/hac/billing.hpp), so that
		// hac-usage --reconcile finds the agent's bill and this one equal.
		rec.costMicro = chargeFor(rec.gpus, rec.startedAt, rec.endedAt, rec.priceMicroPerGpuMinute, rec.billable).costMicro;
		TimeMs now = nowMs();
		rec.recordedAt = now;
		db_.prepare(fmt::format("INSERT INTO usage({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", kUsageColumns))
			.bind(1, rec.jobId).bind(2, rec.deviceId).bind(3, rec.sku).bind(4, rec.gpus)
			.bind(5, rec.startedAt).bind(6, rec.endedAt).bind(7, rec.billable ? 1 : 0).bind(8, rec.endReason)
			.bind(9, rec.reconstructed ? 1 : 0).bind(10, rec.priceMicroPerGpuMinute).bind(11, rec.costMicro)
			.bind(12, now).bind(13, account).run();
		releaseHeld(db_, account, rec.jobId, now);
		r.kind = RecordResult::Kind::Created;
	});
	return r;
}

std::vector<UsageRecord> Store::usage(const std::string &account, std::optional<TimeMs> since,
				      std::optional<TimeMs> until)
{
	std::lock_guard lock(mutex_);
	Statement st = db_.prepare(fmt::format("SELECT {} FROM usage WHERE account = ?1 "
					       "AND (?2 IS NULL OR ended_at >= ?2) AND (?3 IS NULL OR ended_at < ?3) "
					       "ORDER BY ended_at, job_id", kUsageColumns));
	st.bind(1, account).bind(2, since).bind(3, until);
	std::vector<UsageRecord> out;
	while (st.step())
		out.push_back(usageFrom(st));
	return out;
}

} // namespace hac::allocator
