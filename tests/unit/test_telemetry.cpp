// The allocator's telemetry: reading a node's report, the credentials' node patterns, the
// simulated figures and the bound on the nodes kept.
#include <doctest/doctest.h>

#include <config.hpp>
#include <service/api_error.hpp>
#include <telemetry.hpp>

using namespace hac;
using namespace hac::allocator;

namespace {

constexpr TimeMs kNow = 1'800'000'000'000;

std::string refusal(const Json &body)
{
	try {
		parseNodeReport(body, kNow);
	} catch (const ApiError &e) {
		CHECK(e.status == 400);
		return e.what();
	}
	return "accepted";
}

} // namespace

TEST_CASE("a report's figures are read, and unknown ones stay unknown")
{
	NodeReport r = parseNodeReport(Json::parse(R"({"gpus":[
		{"index":3,"uuid":"GPU-3","name":"A100","utilization_gpu_pct":37,"utilization_memory_pct":null,
		 "memory_used_mib":1024,"memory_total_mib":81920,"temperature_c":-5,"power_w":210.5},
		{"index":0}]})"), kNow);
	REQUIRE(r.gpus.size() == 2);
	CHECK(r.sampledAt == kNow);
	CHECK(r.gpus[0].gpu == 3);
	CHECK(r.gpus[0].utilizationGpuPct == 37);
	CHECK_FALSE(r.gpus[0].utilizationMemoryPct);
	CHECK(r.gpus[0].temperatureC == -5);
	CHECK(r.gpus[0].powerW == doctest::Approx(210.5));
	CHECK_FALSE(r.gpus[1].uuid);
	CHECK_FALSE(r.gpus[1].powerW);
}

TEST_CASE("a wrong field is refused by its place in the report")
{
	CHECK(refusal(Json::parse(R"({"gpus":[{"index":0},{"index":1,"memory_used_mib":1.5}]})")).find("gpus[1].memory_used_mib") != std::string::npos);
	CHECK(refusal(Json::parse(R"({"gpus":[{"index":64}]})")).find("gpus[0].index") != std::string::npos);
	CHECK(refusal(Json::parse(R"({"gpus":[{"index":0,"temperature_c":201}]})")).find("temperature_c") != std::string::npos);
	CHECK(refusal(Json::parse(R"({"gpus":[{"index":0,"name":"a\u0001b"}]})")).find("gpus[0].name") != std::string::npos);
	CHECK(refusal(Json::parse(R"({"gpus":[{"index":0,"utilization_gpu_pct":18446744073709551615}]})")).find("utilization_gpu_pct") != std::string::npos);
	CHECK(refusal(Json::parse(R"({"gpus":[0]})")).find("gpus[0]") != std::string::npos);
	CHECK(refusal(Json::parse(R"({})")).find("'gpus'") != std::string::npos);
	CHECK(refusal(Json::parse(R"({"sampled_at":"yesterday","gpus":[]})")).find("sampled_at") != std::string::npos);
}

TEST_CASE("node names and the credentials' patterns")
{
	CHECK(validNodeName("node-03"));
	CHECK(validNodeName("gpu.rack_2"));
	CHECK_FALSE(validNodeName(""));
	CHECK_FALSE(validNodeName("a/b"));
	CHECK_FALSE(validNodeName(std::string(65, 'n')));
	NodeTokenConfig t;
	t.nodes = {"node-0[0-3]", "spare"};
	CHECK(t.allows("node-02"));
	CHECK(t.allows("spare"));
	CHECK_FALSE(t.allows("node-04"));
	CHECK_FALSE(t.allows("node-020"));
}

TEST_CASE("simulated figures are plausible and move with time")
{
	PlacedGpu g{"node-01", 2};
	bool moved = false;
	PhysicalGpu first = simulatedGpu("job", g, 16384, kNow);
	for (TimeMs t = kNow; t < kNow + 60'000; t += 5'000) {
		PhysicalGpu f = simulatedGpu("job", g, 16384, t);
		CHECK(*f.utilizationGpuPct >= 0);
		CHECK(*f.utilizationGpuPct <= 100);
		CHECK(*f.memoryUsedMib <= 16384);
		CHECK(*f.memoryTotalMib == 16384);
		CHECK(*f.powerW > 0);
		CHECK(f.source == "simulated");
		CHECK(f.sampledAt == t);
		moved = moved || f.utilizationGpuPct != first.utilizationGpuPct;
	}
	CHECK(moved);
}

TEST_CASE("the nodes kept are bounded: a new one replaces the one heard from longest ago")
{
	Telemetry t(2);
	auto at = [](TimeMs received) { return NodeReport{kNow, received, {PhysicalGpu{}}}; };
	t.report("a", at(kNow));
	t.report("b", at(kNow + 1));
	t.report("a", at(kNow + 2));
	t.report("c", at(kNow + 3));
	REQUIRE(t.gpu("a", 0));
	CHECK(t.gpu("a", 0)->source == "node");
	CHECK(t.gpu("a", 0)->sampledAt == kNow);
	CHECK_FALSE(t.gpu("b", 0));
	CHECK(t.gpu("c", 0));
	CHECK_FALSE(t.gpu("c", 1));
	CHECK(t.nodesSince(kNow + 3) == 1);
}
