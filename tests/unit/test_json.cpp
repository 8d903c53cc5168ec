// Unit tests of the JSON mapping of the domain types, both ways.
#include <doctest/doctest.h>

#include <hac/error.hpp>
#include <hac/json.hpp>

using namespace hac;

TEST_CASE("a device maps to JSON and back, with null for what is unknown")
{
	Device d{2, "6f1c", "HAC Virtual Accelerator", "2xLarge.192GB", 12, 196608, std::nullopt, std::nullopt, true};
	Json j = d;
	CHECK(j["index"] == 2);
	CHECK(j["sku"] == "2xLarge.192GB");
	CHECK(j["memory_total_mib"] == 196608);
	CHECK(j["memory_used_mib"].is_null());
	CHECK(j["current"] == true);
	Device back = j.get<Device>();
	CHECK(back.index == 2);
	CHECK(back.id == "6f1c");
	CHECK(back.memoryTotalMib == 196608);
	CHECK_FALSE(back.memoryUsedMib);
	CHECK(back.current);

	d.memoryUsedMib = 1024;
	CHECK(Json(d).get<Device>().memoryUsedMib == 1024);
}

TEST_CASE("a SKU's memory is derived from its GPUs")
{
	Sku s{"Large.64GB", 4, 16, 20000, "USD"};
	CHECK(s.memoryMib() == 65536);
	Json j = s;
	CHECK(j["memory_gib"] == 64);
	Sku back = j.get<Sku>();
	CHECK(back.name == "Large.64GB");
	CHECK(back.gpus == 4);
	CHECK(back.priceMicroPerGpuMinute == 20000);
}

TEST_CASE("a job maps to JSON and back, times as RFC 3339")
{
	Job job;
	job.id = "0b6b7d2e-8c1f-4f57-9d7e-3b2f1f0c9a11";
	job.device = 0;
	job.sku = "Large.64GB";
	job.gpus = 4;
	job.uid = 1000;
	job.pid = 4242;
	job.command = "python train.py --epochs 3";
	job.state = "ended";
	job.startedAt = 1795455000123;
	job.endedAt = 1795455060123;
	job.exitStatus = 0;
	job.endReason = "finished";
	Json j = job;
	CHECK(j["started_at"] == "2026-11-23T17:30:00.123Z");
	CHECK(j["ended_at"] == "2026-11-23T17:31:00.123Z");
	CHECK(j["memory_used_mib"].is_null());
	Job back = j.get<Job>();
	CHECK(back.id == job.id);
	CHECK(back.startedAt == job.startedAt);
	CHECK(back.endedAt == job.endedAt);
	CHECK(back.exitStatus == 0);
	CHECK(back.command == job.command);
}

TEST_CASE("readers ignore unknown fields and refuse wrong types")
{
	Json j = Json::parse(R"({"index":0,"sku":"Small.16GB","future_field":{"x":1}})");
	CHECK(j.get<Device>().sku == "Small.16GB");
	CHECK_THROWS_AS(Json::parse(R"({"index":"zero","sku":"Small.16GB"})").get<Device>(), Json::exception);
	CHECK_THROWS_AS(Json::parse(R"({"index":0})").get<Device>(), Json::exception);
	CHECK_THROWS_AS(Json::parse(R"({"id":"x","started_at":"yesterday"})").get<Job>(), Json::exception);
}

TEST_CASE("status carries the schema version and round-trips")
{
	Status s;
	s.agentVersion = "0.1.0";
	s.allocator.url = "http://127.0.0.1:7070";
	s.allocator.unreachableSince = 1795455000000;
	s.devices.push_back(Device{0, "a", "n", "Small.16GB", 1, 16384, std::nullopt, std::nullopt, true});
	Json j = s;
	CHECK(j["schema_version"] == kSchemaVersion);
	CHECK(j["allocator"]["unreachable_since"] == "2026-11-23T17:30:00.000Z");
	Status back = j.get<Status>();
	CHECK(back.devices.size() == 1);
	CHECK(back.allocator.unreachableSince == 1795455000000);
	CHECK_FALSE(back.allocator.reachable);
}

TEST_CASE("error bodies and JSON parsing")
{
	CHECK(errorBody("device_busy", "busy").dump() == R"({"error":{"code":"device_busy","message":"busy"}})");
	CHECK(parseJson("[1]", "x") == Json::array({1}));
	try {
		parseJson("{nope", "the agent's reply");
		FAIL("no exception");
	} catch (const Error &e) {
		CHECK(std::string(e.what()) == "the agent's reply is not valid JSON");
		CHECK(e.code() == Errc::Failure);
	}
}

TEST_CASE("an integer field must hold a whole number that fits, not a float cast with undefined behaviour")
{
	// Found by tests/fuzz: 8.9e24 as a pid, 7.7e77 as memory, once read with nlohmann's bare cast.
	Json j = Json::parse(R"({"id":"j1","device":0,"sku":"Large.64GB","gpus":4,"uid":0,"pid":8.9e24})");
	CHECK_THROWS_AS(j.get<Job>(), Json::exception);
	j["pid"] = 1.5;
	CHECK_THROWS_AS(j.get<Job>(), Json::exception);
	j["pid"] = 4294967297LL;
	CHECK_THROWS_AS(j.get<Job>(), Json::exception);
	j["pid"] = 42;
	CHECK(j.get<Job>().pid == 42);
	Json d = Json::parse(R"({"index":1e30,"id":"d","sku":"Large.64GB","gpus":4,"memory_total_mib":65536})");
	CHECK_THROWS_AS(d.get<Device>(), Json::exception);
	d["index"] = 18446744073709551615ULL;
	CHECK_THROWS_AS(d.get<Device>(), Json::exception);
	d["index"] = 1;
	CHECK(d.get<Device>().index == 1);
}
