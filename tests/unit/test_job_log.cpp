// Unit tests of the job log's file (schema migrations, a file replaced under it), what it stores
// and its cache of the allocator's view.
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include <hac/error.hpp>
#include <service/database.hpp>

#include "allocator_cache.hpp"
#include "job_log.hpp"
#include "log_file.hpp"
#include "temp_dir.hpp"

using namespace hac;

TEST_CASE("a new job log is created at the current schema version, in WAL mode")
{
	TempDir dir;
	{ LogFile file(dir.file("jobs.db")); }
	Database db(dir.file("jobs.db"), false);
	CHECK(db.userVersion() == LogFile::schemaVersion());
	{
		// Scoped: a statement not yet finished keeps the connection's transaction open.
		Statement mode = db.prepare("PRAGMA journal_mode");
		mode.step();
		CHECK(mode.text(0) == "wal");
	}
	// Opening again migrates nothing and keeps the data.
	db.exec("INSERT INTO settings VALUES ('current_device', '1')");
	LogFile again(dir.file("jobs.db"));
	CHECK(AllocatorCache(again).setting("current_device") == "1");
}

TEST_CASE("a job log newer than the binary is refused and left untouched")
{
	TempDir dir;
	{ LogFile file(dir.file("jobs.db")); }
	{
		Database db(dir.file("jobs.db"), false);
		db.exec("PRAGMA user_version = 99");
	}
	try {
		LogFile file(dir.file("jobs.db"));
		FAIL("no exception");
	} catch (const Error &e) {
		CHECK(std::string(e.what()).find("schema version 99, newer than") != std::string::npos);
	}
	Database db(dir.file("jobs.db"), false);
	CHECK(db.userVersion() == 99);
}

TEST_CASE("a failed migration step leaves the old version")
{
	TempDir dir;
	Database db(dir.file("x.db"), true);
	db.migrate({"CREATE TABLE a (x)"}, "test db");
	CHECK(db.userVersion() == 1);
	CHECK_THROWS_AS(db.migrate({"CREATE TABLE a (x)", "CREATE TABLE b (y); INSERT INTO nope VALUES (1)"}, "test db"), Error);
	CHECK(db.userVersion() == 1);
	Statement s = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'b'");
	s.step();
	CHECK(s.integer(0) == 0);
}

TEST_CASE("the allocator's view is cached and replaced whole")
{
	TempDir dir;
	LogFile file(dir.file("jobs.db"));
	AllocatorCache cache(file);
	cache.saveAllocatorView({Device{0, "id0", "HAC", "Large.64GB", 4, 65536, {}, {}, false},
			       Device{1, "id1", "HAC", "Small.16GB", 1, 16384, {}, {}, false}},
			      {Sku{"Small.16GB", 1, 16, 20000, "USD"}});
	CHECK(cache.devices().size() == 2);
	CHECK(cache.skus().size() == 1);
	cache.saveAllocatorView({Device{1, "id1", "HAC", "Medium.32GB", 2, 32768, {}, {}, false}}, {});
	auto devices = cache.devices();
	REQUIRE(devices.size() == 1);
	CHECK(devices[0].sku == "Medium.32GB");
	CHECK(cache.skus().size() == 1); // an empty catalog in a reply keeps the cached rate card
}

TEST_CASE("a missing directory for the job log says what to do")
{
	try {
		LogFile file("/nonexistent-dir/jobs.db");
		FAIL("no exception");
	} catch (const Error &e) {
		CHECK(std::string(e.what()).find("does not exist: create it or set 'database'") != std::string::npos);
	}
}

TEST_CASE("a job log at schema version 1 migrates to the current version and keeps its jobs and outbox")
{
	TempDir dir;
	std::ifstream fixture(HAC_FIXTURES "/job_log_v1.sql");
	REQUIRE(fixture);
	std::stringstream sql;
	sql << fixture.rdbuf();
	{
		Database db(dir.file("jobs.db"), true);
		db.exec(sql.str());
		CHECK(db.userVersion() == 1);
	}
	LogFile file(dir.file("jobs.db"));
	JobLog log(file);
	auto job = log.job("0b6c7e4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e");
	REQUIRE(job);
	CHECK(job->job.command == "python train.py");
	CHECK(job->priceMicroPerGpuMinute == 5000);
	CHECK(log.outboxSize() == 1);
	CHECK(AllocatorCache(file).setting("current_device") == "0");
	CHECK(log.deviceChanges().empty());
	log.recordDeviceChange({1763900100000, 0, "6f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f", "resize", "Large.64GB", "2xLarge.192GB", 0});
	REQUIRE(log.deviceChanges().size() == 1);
	CHECK(log.deviceChanges()[0].newSku == "2xLarge.192GB");
	Database db(dir.file("jobs.db"), false);
	CHECK(db.userVersion() == LogFile::schemaVersion());
}

TEST_CASE("a job log removed or replaced under it refuses every later write, and says why")
{
	TempDir dir;
	for (bool replace : {false, true}) {
		std::string path = dir.file(replace ? "replaced.db" : "removed.db");
		LogFile file(path);
		JobLog log(file);
		AllocatorCache cache(file);
		cache.setSetting("current_device", "0");
		CHECK_FALSE(file.problem());
		if (replace) {
			{ LogFile other(dir.file("other.db")); }
			std::filesystem::rename(dir.file("other.db"), path);
		} else {
			std::filesystem::remove(path);
		}
		std::string said = replace ? "was replaced by another file while hac-agent runs" : "was removed while hac-agent runs";
		try {
			cache.setSetting("current_device", "1");
			FAIL("no exception");
		} catch (const Error &e) {
			CHECK(std::string(e.what()).find(said) != std::string::npos);
		}
		REQUIRE(file.problem());
		CHECK(file.problem()->find(said) != std::string::npos);
		// For good, even with a file back at the path.
		CHECK_THROWS_AS(log.heartbeat(1), Error);
	}
}
