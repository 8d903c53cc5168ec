// Unit tests of hac-smi -p (tools/hac-smi/physical_view.cpp): reading the agent's GET /v1/gpus,
// the table, the notes under it, the --json document and the --query fields.
#include <doctest/doctest.h>

#include <hac/error.hpp>
#include <hac/json.hpp>

#include "physical_view.hpp"

using namespace hac;
using namespace hac::smi;

namespace {

const TimeMs kNow = *parseTime("2026-12-02T08:00:10.000Z");

Json document()
{
	return Json::parse(R"({"schema_version":1,
		"gpus":[{"device":0,"job_id":"0b7e1234-aaaa-bbbb-cccc-000000000000","node":"node-03","gpu":2,
			 "uuid":"GPU-5f2d","name":"NVIDIA A100-SXM4-80GB","utilization_gpu_pct":37,
			 "utilization_memory_pct":12,"memory_used_mib":1024,"memory_total_mib":81920,
			 "temperature_c":45,"power_w":210.5,"sampled_at":"2026-12-02T08:00:07.000Z","source":"node"},
			{"device":0,"job_id":"0b7e1234-aaaa-bbbb-cccc-000000000000","node":"f01","gpu":7,
			 "uuid":null,"name":null,"utilization_gpu_pct":null,"utilization_memory_pct":null,
			 "memory_used_mib":null,"memory_total_mib":null,"temperature_c":null,"power_w":null,
			 "sampled_at":null,"source":null}],
		"errors":[{"device":1,"job_id":"9c9c9c9c-0000-0000-0000-000000000000","code":"allocator_unreachable",
			   "message":"the allocator did not answer within 3 s"}]})");
}

} // namespace

TEST_CASE("the agent's GPU view is read whole; a wrong type is a failure naming the view")
{
	GpuView view = parseGpuView(document());
	REQUIRE(view.gpus.size() == 2);
	CHECK(view.gpus[0].node == "node-03");
	CHECK(view.gpus[0].gpu == 2);
	CHECK(view.gpus[0].powerW == doctest::Approx(210.5));
	CHECK(view.gpus[0].sampledAt == parseTime("2026-12-02T08:00:07.000Z"));
	CHECK_FALSE(view.gpus[1].utilizationGpuPct);
	CHECK_FALSE(view.gpus[1].source);
	REQUIRE(view.errors.size() == 1);
	CHECK(view.errors[0].device == 1);
	CHECK(view.errors[0].code == "allocator_unreachable");

	// An allocator's entry, without device and job_id, reads too (the agent adds them).
	auto g = Json::parse(R"({"node":"node-00","gpu":0,"power_w":100})").get<PhysicalGpu>();
	CHECK(g.powerW == doctest::Approx(100.0));
	CHECK(g.jobId.empty());

	Json bad = document();
	bad["gpus"][0]["utilization_gpu_pct"] = "37";
	try {
		parseGpuView(bad);
		FAIL("a string percentage was read");
	} catch (const Error &e) {
		CHECK(e.code() == Errc::Failure);
		CHECK(std::string(e.what()).find("GPU view") != std::string::npos);
	}
}

TEST_CASE("the -p table: a row per GPU at node:index, '-' for what is unknown, how old the figures are")
{
	std::string out = renderPhysicalView(parseGpuView(document()), kNow);
	CHECK(out.find("| Dev | Location  | GPU Util | Mem Util |        Mem Usage | Temp | Power | Job      | Sampled |\n") != std::string::npos);
	CHECK(out.find("|   0 | node-03:2 |      37% |      12% | 1024 / 81920 MiB |  45C |  211W | 0b7e1234 | 3 s ago |\n") != std::string::npos);
	CHECK(out.find("|   0 | f01:7     |        - |        - |                - |    - |     - | 0b7e1234 |       - |\n") != std::string::npos);
	CHECK(out.find("GPUs of device 1 (job 9c9c9c9c) unknown: the allocator did not answer within 3 s\n") != std::string::npos);
	CHECK(out.find("-: not known; a node without hac-node-report sends no figures.\n") != std::string::npos);
	CHECK(out.find("No job is running") == std::string::npos);
	CHECK(out.find("simulated") == std::string::npos);
}

TEST_CASE("the -p table with no job says so; simulated figures are said to be made up")
{
	std::string none = renderPhysicalView(GpuView{}, kNow);
	CHECK(none.ends_with("No job is running: no physical GPU is held.\n"));

	GpuView view = parseGpuView(document());
	view.gpus.resize(1);
	view.errors.clear();
	view.gpus[0].source = "simulated";
	std::string out = renderPhysicalView(view, kNow);
	CHECK(out.ends_with("Figures of the simulated farm are made up by the allocator, not measured.\n"));
	CHECK(out.find("not known") == std::string::npos);
}

TEST_CASE("-i keeps one device's GPUs and errors")
{
	GpuView view = parseGpuView(document());
	keepDeviceGpus(view, 1);
	CHECK(view.gpus.empty());
	CHECK(view.errors.size() == 1);
	view = parseGpuView(document());
	keepDeviceGpus(view, 0);
	CHECK(view.gpus.size() == 2);
	CHECK(view.errors.empty());
}

TEST_CASE("-p --json: the agent's fields with schema_version, client_version and timestamp")
{
	Json doc = physicalDocument(parseGpuView(document()), kNow);
	CHECK(doc["schema_version"] == 1);
	CHECK(doc["timestamp"] == "2026-12-02T08:00:10.000Z");
	CHECK(doc["gpus"][0]["utilization_gpu_pct"] == 37);
	CHECK(doc["gpus"][0]["sampled_at"] == "2026-12-02T08:00:07.000Z");
	CHECK(doc["gpus"][1]["source"].is_null());
	CHECK(doc["gpus"][1]["power_w"].is_null());
	CHECK(doc["errors"][0]["message"] == "the allocator did not answer within 3 s");
	// What the agent sent, field for field, but hac-smi's own additions.
	Json agent = document();
	Json back = doc;
	back.erase("client_version");
	back.erase("timestamp");
	CHECK(back == agent);
}

TEST_CASE("-p --query: nvidia-smi's names and units; [N/A] for what is unknown")
{
	Query query("device,location,node,index,utilization.gpu,memory.used,temperature.gpu,power.draw,source",
		    physicalQueryFields(), parseCsvFormat("csv"));
	std::string out = renderPhysicalQuery(query, parseGpuView(document()), kNow, true);
	CHECK(out == "device, location, node, index, utilization.gpu [%], memory.used [MiB], temperature.gpu, power.draw [W], source\n"
		     "0, node-03:2, node-03, 2, 37 %, 1024 MiB, 45, 210.50 W, node\n"
		     "0, f01:7, f01, 7, [N/A], [N/A], [N/A], [N/A], [N/A]\n");
	Query bare("job_id,power.draw", physicalQueryFields(), parseCsvFormat("csv,noheader,nounits"));
	CHECK(renderPhysicalQuery(bare, parseGpuView(document()), kNow, false) ==
	      "0b7e1234-aaaa-bbbb-cccc-000000000000, 210.50\n0b7e1234-aaaa-bbbb-cccc-000000000000, [N/A]\n");
	// The device view's fields are not -p's.
	CHECK_THROWS_AS(Query("memory.total,sku", physicalQueryFields(), parseCsvFormat("csv")), Error);
	CHECK(physicalQueryHelp().find("utilization.memory [%]") != std::string::npos);
}
