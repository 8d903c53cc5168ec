// Store's device verbs, on the devices and device_changes tables: list, add, resize, remove.
#include "store.hpp"
#include "store_allocations.hpp"
#include "store_devices.hpp"

#include <vector>

#include <hac/uuid.hpp>

namespace hac::allocator {

namespace {

void noteChange(Database &db, const std::string &deviceId, TimeMs at, const char *change, const std::string &sku,
		const std::optional<std::string> &previousSku = std::nullopt)
{
	db.prepare("INSERT INTO device_changes(device_id, at, change, sku, previous_sku) VALUES (?, ?, ?, ?, ?)")
		.bind(1, deviceId).bind(2, at).bind(3, change).bind(4, sku).bind(5, previousSku).run();
}

} // namespace

std::optional<StoredDevice> loadDevice(Database &db, const std::string &account, const std::string &deviceId)
{
	Statement st = db.prepare("SELECT id, account, idx, sku, created_at FROM devices "
				  "WHERE id = ? AND account = ? AND removed_at IS NULL");
	st.bind(1, deviceId).bind(2, account);
	if (!st.step())
		return std::nullopt;
	return StoredDevice{st.text(0), st.text(1), static_cast<int>(st.integer(2)), st.text(3), st.integer(4)};
}

void insertDevice(Database &db, const StoredDevice &d)
{
	db.prepare("INSERT INTO devices(id, account, idx, sku, created_at) VALUES (?, ?, ?, ?, ?)")
		.bind(1, d.id).bind(2, d.account).bind(3, d.index).bind(4, d.sku).bind(5, d.createdAt).run();
	noteChange(db, d.id, d.createdAt, "added", d.sku);
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
		r.device = {newUuid(), account, index, sku, nowMs()};
		insertDevice(db_, r.device);
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

} // namespace hac::allocator
