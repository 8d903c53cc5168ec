// Unit tests of the agent's last view of the running jobs' GPUs (agent/gpu_views.cpp), from which
// the status takes a device's utilization.
#include <doctest/doctest.h>

#include "gpu_views.hpp"

using namespace hac;

namespace {

PhysicalGpu gpu(std::optional<int> pct, std::optional<TimeMs> sampledAt = std::nullopt)
{
	PhysicalGpu g;
	g.node = "node-00";
	g.utilizationGpuPct = pct;
	g.sampledAt = sampledAt;
	return g;
}

} // namespace

TEST_CASE("a device's utilization is the rounded mean over the GPUs that have a recent figure")
{
	TimeMs now = 1'000'000;
	CHECK(meanUtilization({gpu(10), gpu(20), gpu(31)}, now, 60000) == 20);
	CHECK(meanUtilization({gpu(10), gpu(11)}, now, 60000) == 11); // 10.5 rounds up
	CHECK(meanUtilization({gpu(50), gpu(std::nullopt)}, now, 60000) == 50);
	CHECK_FALSE(meanUtilization({gpu(std::nullopt)}, now, 60000));
	CHECK_FALSE(meanUtilization({}, now, 60000));
	// A figure sampled more than 60 s ago is left out; one without a time counts.
	CHECK(meanUtilization({gpu(90, now - 61000), gpu(30, now - 1000)}, now, 60000) == 30);
	CHECK_FALSE(meanUtilization({gpu(90, now - 61000)}, now, 60000));
}

TEST_CASE("a job's view counts for 60 s, the later answer wins, and ended jobs are forgotten")
{
	GpuViews views;
	TimeMs t = 5'000'000;
	views.store("a", {gpu(40)}, t);
	views.store("b", {gpu(70)}, t);
	CHECK(views.utilization("a", t + 60000) == 40);
	CHECK_FALSE(views.utilization("a", t + 60001));
	CHECK_FALSE(views.utilization("unknown", t));
	// An answer that arrives after a later one does not replace it.
	views.store("a", {gpu(80)}, t + 10);
	views.store("a", {gpu(10)}, t + 5);
	CHECK(views.utilization("a", t + 20) == 80);
	// find() with a shorter age: what GET /v1/gpus reuses.
	CHECK(views.find("a", t + 500, 1000));
	CHECK_FALSE(views.find("a", t + 1011, 1000));

	views.keepOnly({"b"});
	CHECK(views.size() == 1);
	CHECK_FALSE(views.utilization("a", t + 20));
	views.drop("b");
	CHECK(views.size() == 0);
}
