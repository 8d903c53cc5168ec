// Unit tests of hac-node-report's reading of nvidia-smi's CSV (node-report/nvidia_csv.cpp) and of
// its back-off (node-report/reporter.cpp).
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "nvidia_csv.hpp"
#include "reporter.hpp"

using namespace hac;
using namespace hac::node_report;

namespace {

bool mentions(const std::vector<std::string> &warnings, const std::string &a, const std::string &b = "")
{
	for (const std::string &w : warnings)
		if (w.find(a) != std::string::npos && w.find(b) != std::string::npos)
			return true;
	return false;
}

} // namespace

TEST_CASE("good lines become the contract's figures, power as a number with decimals")
{
	ParsedCsv p = parseNvidiaCsv("0, GPU-5f2d0000-1111-2222-3333-444455556666, NVIDIA A100-SXM4-80GB, 37, 12, 1024, 81920, 45, 210.50\n"
				     "1, GPU-aaaa, NVIDIA A100-SXM4-80GB, 0, 0, 0, 81920, -5, 0.00\n");
	CHECK(p.warnings.empty());
	CHECK(p.lines == 2);
	REQUIRE(p.gpus.size() == 2);
	const GpuSample &g = p.gpus[0];
	CHECK(g.index == 0);
	CHECK(g.uuid == "GPU-5f2d0000-1111-2222-3333-444455556666");
	CHECK(g.name == "NVIDIA A100-SXM4-80GB");
	CHECK(g.utilizationGpuPct == 37);
	CHECK(g.utilizationMemoryPct == 12);
	CHECK(g.memoryUsedMib == 1024);
	CHECK(g.memoryTotalMib == 81920);
	CHECK(g.temperatureC == 45);
	CHECK(g.powerW == doctest::Approx(210.5));
	CHECK(p.gpus[1].temperatureC == -5);
	Json j = toJson(g);
	CHECK(j.dump() == R"({"index":0,"memory_total_mib":81920,"memory_used_mib":1024,"name":"NVIDIA A100-SXM4-80GB",)"
			  R"("power_w":210.5,"temperature_c":45,"utilization_gpu_pct":37,"utilization_memory_pct":12,)"
			  R"("uuid":"GPU-5f2d0000-1111-2222-3333-444455556666"})");
}

TEST_CASE("[N/A], [Not Supported], N/A, [Unknown Error] and other bracketed notes are null, without a warning")
{
	ParsedCsv p = parseNvidiaCsv("3, [N/A], [N/A], [N/A], [Not Supported], N/A, [Unknown Error], [GPU is lost], [N/A]\n");
	CHECK(p.warnings.empty());
	REQUIRE(p.gpus.size() == 1);
	const GpuSample &g = p.gpus[0];
	CHECK(g.index == 3);
	CHECK_FALSE(g.uuid);
	CHECK_FALSE(g.name);
	CHECK_FALSE(g.utilizationGpuPct);
	CHECK_FALSE(g.utilizationMemoryPct);
	CHECK_FALSE(g.memoryUsedMib);
	CHECK_FALSE(g.memoryTotalMib);
	CHECK_FALSE(g.temperatureC);
	CHECK_FALSE(g.powerW);
	Json j = toJson(g);
	CHECK(j["power_w"].is_null());
	CHECK(j["uuid"].is_null());
	CHECK(j["index"] == 3);
}

TEST_CASE("a malformed line is skipped with a warning naming its line and field; the others stay")
{
	ParsedCsv p = parseNvidiaCsv("0, GPU-a, A100, 1, 2, 3, 4, 5, 6\n"
				     "1, GPU-b, A100, 1, 2\n"                            // line 2: 5 fields
				     "x, GPU-c, A100, 1, 2, 3, 4, 5, 6\n"                // line 3: bad index
				     "3, GPU-d, A100, 1, 2, lots, 4, 5, 6\n"             // line 4: not a number
				     "64, GPU-e, A100, 1, 2, 3, 4, 5, 6\n"               // line 5: index past 63
				     "0, GPU-f, A100, 1, 2, 3, 4, 5, 6\n"                // line 6: index twice
				     "[N/A], GPU-g, A100, 1, 2, 3, 4, 5, 6\n"            // line 7: no index
				     "7, GPU-h, A100, 1, 2, 3, 4, 5, 6, 7\n"             // line 8: 10 fields
				     "8, GPU-i, A100, 1, 2, 3, 4, 12abc, 6\n"            // line 9: trailing junk
				     "9, GPU-j, A100, 1, 2, 3, 4, 5, nan\n"              // line 10: not finite
				     "10, GPU-k, A100, 1, 2, 3, 4, 5, \n"                // line 11: empty figure
				     "11, GPU-l, A100, 1, 2, 3, 4, 5, 6\n");
	REQUIRE(p.gpus.size() == 2);
	CHECK(p.gpus[0].uuid == "GPU-a");
	CHECK(p.gpus[1].index == 11);
	CHECK(p.lines == 12);
	CHECK(p.warnings.size() == 10);
	CHECK(mentions(p.warnings, "line 2:", "5 fields instead of 9"));
	CHECK(mentions(p.warnings, "line 3: field index", "'x'"));
	CHECK(mentions(p.warnings, "line 4: field memory.used", "'lots' is not a number"));
	CHECK(mentions(p.warnings, "line 5: field index", "'64'"));
	CHECK(mentions(p.warnings, "line 6: field index", "already on line 1"));
	CHECK(mentions(p.warnings, "line 7: field index"));
	CHECK(mentions(p.warnings, "line 8:", "10 fields"));
	CHECK(mentions(p.warnings, "line 9: field temperature.gpu", "'12abc'"));
	CHECK(mentions(p.warnings, "line 10: field power.draw"));
	CHECK(mentions(p.warnings, "line 11: field power.draw"));
	for (const std::string &w : p.warnings)
		CHECK(w.find("line skipped") != std::string::npos);
}

TEST_CASE("a figure outside the allocator's range is null with a warning; the line stays")
{
	ParsedCsv p = parseNvidiaCsv("0, GPU-a, A100, 101, -1, 3, 1099511627777, 201, 10000.5\n"
				     "1, GPU-b, A100, 100, 0, 1099511627776, 0, -50, 10000\n"
				     "2, GPU-c, A100, 5, 5, 5, 5, -51, -0.5\n");
	REQUIRE(p.gpus.size() == 3);
	const GpuSample &bad = p.gpus[0];
	CHECK_FALSE(bad.utilizationGpuPct);
	CHECK_FALSE(bad.utilizationMemoryPct);
	CHECK(bad.memoryUsedMib == 3);
	CHECK_FALSE(bad.memoryTotalMib);
	CHECK_FALSE(bad.temperatureC);
	CHECK_FALSE(bad.powerW);
	const GpuSample &edge = p.gpus[1];   // the bounds themselves are in range
	CHECK(edge.utilizationGpuPct == 100);
	CHECK(edge.memoryUsedMib == 1099511627776);
	CHECK(edge.temperatureC == -50);
	CHECK(edge.powerW == doctest::Approx(10000));
	CHECK_FALSE(p.gpus[2].temperatureC);
	CHECK_FALSE(p.gpus[2].powerW);
	CHECK(p.warnings.size() == 7);
	CHECK(mentions(p.warnings, "line 1: field utilization.gpu: 101 is outside 0..100", "sent as unknown"));
	CHECK(mentions(p.warnings, "line 1: field memory.total", "2^40"));
	CHECK(mentions(p.warnings, "line 1: field temperature.gpu: 201 is outside -50..200"));
	CHECK(mentions(p.warnings, "line 3: field power.draw: -0.5 is outside 0..10000"));
}

TEST_CASE("spaces, tabs, CRLF and blank lines are taken in stride")
{
	ParsedCsv p = parseNvidiaCsv("\n   \n  0 ,GPU-a,  NVIDIA  H100 80GB HBM3 ,  37\t,12 ,1024,81920 , 45,  210.5  \r\n\n"
				     "1,GPU-b,H100,1,2,3,4,5,6");   // no newline at the end
	CHECK(p.warnings.empty());
	CHECK(p.lines == 2);
	REQUIRE(p.gpus.size() == 2);
	CHECK(p.gpus[0].name == "NVIDIA  H100 80GB HBM3");   // inner spaces are the name's own
	CHECK(p.gpus[0].utilizationGpuPct == 37);
	CHECK(p.gpus[0].powerW == doctest::Approx(210.5));
	CHECK(p.gpus[1].powerW == doctest::Approx(6));
}

TEST_CASE("no output is no GPUs and no warning; a figure with decimals where a whole number goes is rounded")
{
	ParsedCsv none = parseNvidiaCsv("");
	CHECK(none.gpus.empty());
	CHECK(none.lines == 0);
	CHECK(none.warnings.empty());
	ParsedCsv p = parseNvidiaCsv("0, GPU-a, A100, 37.6, 12, 1024.0, 81920, 45, 210\n");
	REQUIRE(p.gpus.size() == 1);
	CHECK(p.gpus[0].utilizationGpuPct == 38);
	CHECK(p.gpus[0].memoryUsedMib == 1024);
}

TEST_CASE("more GPUs than the allocator takes in one report: the first 32 are kept")
{
	std::string text;
	for (int i = 0; i < 40; ++i)
		text += std::to_string(i) + ", GPU-" + std::to_string(i) + ", A100, 1, 2, 3, 4, 5, 6\n";
	ParsedCsv p = parseNvidiaCsv(text);
	CHECK(p.gpus.size() == std::size_t(kMaxGpusPerReport));
	CHECK(p.gpus.back().index == 31);
	CHECK(p.warnings.size() == 8);
	CHECK(mentions(p.warnings, "line 33:", "more than 32 GPUs"));
}

TEST_CASE("the back-off doubles from the interval, is never shorter than it, and stops at 60 s")
{
	std::mt19937_64 random(42);
	for (int i = 0; i < 200; ++i) {
		std::int64_t first = backoffMs(1, 5, random);
		CHECK(first >= 5000);
		CHECK(first <= 10000);
		std::int64_t third = backoffMs(3, 5, random);
		CHECK(third >= 5000);
		CHECK(third <= 40000);
		std::int64_t late = backoffMs(30, 5, random);
		CHECK(late >= 5000);
		CHECK(late <= 60000);
		// An interval longer than the cap: the interval itself.
		CHECK(backoffMs(4, 300, random) == 300000);
	}
}
