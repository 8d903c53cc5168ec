// Unit tests of hac-allocator's store: its schema migrations keep a version 1 database's data, and
// the device verbs (add, resize, remove) keep indexes and their history straight.
#include <doctest/doctest.h>

#include <hac/time.hpp>
#include <service/database.hpp>

#include "store.hpp"
#include "temp_dir.hpp"

using namespace hac;
using namespace hac::allocator;

namespace {

const char *const kLive = "11111111-1111-4111-8111-111111111111";
const char *const kRemoved = "22222222-2222-4222-8222-222222222222";
const char *const kJob = "33333333-3333-4333-8333-333333333333";

// A database as hac-allocator 0.1.0 (schema version 1) left it: an account with a live device at
// index 1, a removed one that had index 0, a released allocation and its usage record.
void writeVersion1(const std::string &path)
{
	Database db(path, true);
	db.migrate({Store::migrations().front()}, "allocator database");
	db.exec(R"SQL(
INSERT INTO accounts VALUES ('acme', 1000);
INSERT INTO devices VALUES ('22222222-2222-4222-8222-222222222222', 'acme', 0, 'Small.16GB', 1000, 5000);
INSERT INTO devices VALUES ('11111111-1111-4111-8111-111111111111', 'acme', 1, 'Large.64GB', 2000, NULL);
INSERT INTO allocations VALUES ('33333333-3333-4333-8333-333333333333', 'acme',
	'22222222-2222-4222-8222-222222222222', 'Small.16GB', 1, '[[0,0]]', 3000, 4000);
INSERT INTO usage VALUES ('33333333-3333-4333-8333-333333333333', 'acme', '22222222-2222-4222-8222-222222222222',
	'Small.16GB', 1, 3000, 4000, 1, 'finished', 0, 20000, 334, 4100);
)SQL");
}

} // namespace

TEST_CASE("allocator store: a version 1 database is migrated to the current version with its data kept")
{
	TempDir dir;
	std::string path = dir.file("allocator.db");
	writeVersion1(path);
	{
		Database db(path, false);
		REQUIRE(db.userVersion() == 1);
	}

	Store store(path);
	{
		Database db(path, false);
		CHECK(db.userVersion() == Store::kSchemaVersion);
		// Each device's history starts from its own times: added, and removed where it was.
		Statement st = db.prepare("SELECT device_id, at, change, sku FROM device_changes ORDER BY at");
		REQUIRE(st.step());
		CHECK(st.text(0) == kRemoved);
		CHECK(st.integer(1) == 1000);
		CHECK(st.text(2) == "added");
		REQUIRE(st.step());
		CHECK(st.text(0) == kLive);
		CHECK(st.integer(1) == 2000);
		CHECK(st.text(2) == "added");
		CHECK(st.text(3) == "Large.64GB");
		REQUIRE(st.step());
		CHECK(st.text(0) == kRemoved);
		CHECK(st.integer(1) == 5000);
		CHECK(st.text(2) == "removed");
		CHECK_FALSE(st.step());
	}

	auto devices = store.devices("acme");
	REQUIRE(devices.size() == 1);
	CHECK(devices[0].id == kLive);
	CHECK(devices[0].index == 1);
	CHECK(devices[0].sku == "Large.64GB");
	CHECK(devices[0].createdAt == 2000);

	// Its allocation, written before placements named their nodes ([[0,0]]), reads as node-00.
	AllocateResult again = store.allocate("acme", kJob, kRemoved, Catalog::defaults(16, 20000), Inventory{});
	REQUIRE(again.kind == AllocateResult::Kind::Replayed);
	CHECK(again.allocation.placement == std::vector<PlacedGpu>{{"node-00", 0}});

	// The usage of the removed device's job is still there.
	auto records = store.usage("acme", std::nullopt, std::nullopt);
	REQUIRE(records.size() == 1);
	CHECK(records[0].jobId == kJob);
	CHECK(records[0].costMicro == 334);

	// Asking for the SKU it has changes nothing and says since when it has it: the migrated history.
	ResizeResult same = store.resizeDevice("acme", kLive, "Large.64GB", true);
	CHECK(same.kind == ResizeResult::Kind::Unchanged);
	CHECK(same.changedAt == 2000);

	// The removed device's index 0 is the lowest free one.
	AddDeviceResult added = store.addDevice("acme", "Small.16GB", 2);
	REQUIRE(added.kind == AddDeviceResult::Kind::Added);
	CHECK(added.device.index == 0);
	CHECK(store.addDevice("acme", "Small.16GB", 2).kind == AddDeviceResult::Kind::Limit);
}

TEST_CASE("allocator store: a resize is recorded with both SKUs, a removal keeps the row")
{
	TempDir dir;
	std::string path = dir.file("allocator.db");
	Store store(path);
	REQUIRE(store.seedAccount("acme", {"Large.64GB"}));
	std::string id = store.devices("acme").at(0).id;

	ResizeResult r = store.resizeDevice("acme", id, "2xLarge.192GB", true);
	REQUIRE(r.kind == ResizeResult::Kind::Resized);
	CHECK(r.previousSku == "Large.64GB");
	CHECK(r.device.sku == "2xLarge.192GB");
	CHECK(store.devices("acme").at(0).sku == "2xLarge.192GB");
	CHECK(store.resizeDevice("acme", id, "Small.16GB", false).kind == ResizeResult::Kind::NotAllowed);

	RemoveResult removed = store.removeDevice("acme", id);
	REQUIRE(removed.kind == RemoveResult::Kind::Removed);
	CHECK(removed.device.sku == "2xLarge.192GB");
	CHECK(store.devices("acme").empty());
	CHECK(store.removeDevice("acme", id).kind == RemoveResult::Kind::UnknownDevice);
	CHECK(store.resizeDevice("acme", id, "Small.16GB", true).kind == ResizeResult::Kind::UnknownDevice);
	// Another account never sees it.
	CHECK(store.removeDevice("other", id).kind == RemoveResult::Kind::UnknownDevice);

	Database db(path, false);
	Statement st = db.prepare("SELECT change, sku, previous_sku FROM device_changes WHERE device_id = ? ORDER BY id");
	st.bind(1, id);
	REQUIRE(st.step());
	CHECK(st.text(0) == "added");
	CHECK(st.isNull(2));
	REQUIRE(st.step());
	CHECK(st.text(0) == "resized");
	CHECK(st.text(1) == "2xLarge.192GB");
	CHECK(st.text(2) == "Large.64GB");
	REQUIRE(st.step());
	CHECK(st.text(0) == "removed");
	CHECK_FALSE(st.step());
}

TEST_CASE("allocator store: a Slurm hold is committed as the allocation, released into a cancel kept until done")
{
	TempDir dir;
	Store store(dir.file("allocator.db"));
	Catalog catalog = Catalog::defaults(16, 20000);
	REQUIRE(store.seedAccount("acme", {"Large.64GB", "Large.64GB"}));
	auto devices = store.devices("acme");
	const std::string job = "44444444-4444-4444-8444-444444444444";
	const std::string other = "55555555-5555-4555-8555-555555555555";

	Admission admission = store.admit("acme", job, devices[0].id, catalog);
	REQUIRE_FALSE(admission.answer);
	CHECK(admission.sku->gpus == 4);
	store.noteSlurmHold({job, 0, "acme", devices[0].id, 1000, 0});
	store.noteSlurmHold({job, 17, "acme", devices[0].id, 1000, 0});
	CHECK(store.slurmHold(job)->slurmJobId == 17);

	// Another hold's id is not this job's: given up meanwhile, it is queued anew.
	CHECK(store.commit("acme", job, devices[0].id, catalog, 99, {}).kind == AllocateResult::Kind::FarmFull);
	std::vector<PlacedGpu> placement{{"f01", 0}, {"f01", 1}, {"f02", 6}, {"f02", 7}};
	AllocateResult r = store.commit("acme", job, devices[0].id, catalog, 17, placement);
	REQUIRE(r.kind == AllocateResult::Kind::Created);
	CHECK(r.allocation.placement == placement);
	CHECK(store.admit("acme", job, devices[0].id, catalog).answer->kind == AllocateResult::Kind::Replayed);
	CHECK(store.admit("acme", other, devices[0].id, catalog).answer->kind == AllocateResult::Kind::DeviceBusy);

	// A holding job is never expired as a queued one; a queued one nobody asked about is.
	store.noteSlurmHold({other, 18, "acme", devices[1].id, 1000, 0});
	CHECK(store.expireQueuedHolds(nowMs() + 1) == 1);
	CHECK(store.slurmHold(job));
	CHECK_FALSE(store.slurmHold(other));

	ReleaseResult released = store.release("acme", job);
	CHECK(released.found);
	CHECK_FALSE(store.slurmHold(job));
	auto due = store.dueCancels(nowMs());
	REQUIRE(due.size() == 2);
	CHECK(due[0].slurmJobId == 18);
	CHECK(due[1].slurmJobId == 17);
	CHECK(due[1].reason == "released");

	// A cancel that failed waits for its next attempt; one that was made leaves.
	store.cancelFailed(due[1].id, "slurmrestd does not answer", nowMs() + 60'000);
	store.cancelDone(due[0].id);
	CHECK(store.dueCancels(nowMs()).empty());
	CHECK_FALSE(store.slurmHold(job));
	auto later = store.dueCancels(nowMs() + 61'000);
	REQUIRE(later.size() == 1);
	CHECK(later[0].attempts == 1);

	// DELETE of a job still queued in Slurm finds it and gives its place up.
	store.noteSlurmHold({other, 19, "acme", devices[1].id, 1000, 0});
	CHECK_FALSE(store.release("nobody", other).found);
	CHECK(store.release("acme", other).found);
	CHECK_FALSE(store.slurmHold(other));
	CHECK(store.dueCancels(nowMs() + 61'000).size() == 2);
}
