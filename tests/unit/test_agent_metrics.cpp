// Unit tests of the agent's metrics: the [metrics] listen key (loopback only, errors naming
// FILE:LINE: KEY) and the counters that jobs' events move.
#include <fstream>

#include <doctest/doctest.h>

#include <hac/error.hpp>

#include "agent_config.hpp"
#include "metrics.hpp"
#include "temp_dir.hpp"

using namespace hac;

namespace {

AgentConfig metricsConfig(const TempDir &dir, const std::string &listen)
{
	std::string path = dir.file("agent.toml");
	std::ofstream(path) << "log_level = \"info\"\n\n[metrics]\nlisten = \"" << listen << "\"\n";
	return loadAgentConfig(path);
}

std::string metricsError(const TempDir &dir, const std::string &listen)
{
	try {
		metricsConfig(dir, listen);
	} catch (const Error &e) {
		return e.what();
	}
	return "";
}

} // namespace

TEST_CASE("[metrics] listen: off by default; a loopback HOST:PORT is taken")
{
	TempDir dir;
	std::string path = dir.file("empty.toml");
	std::ofstream(path) << "";
	CHECK_FALSE(loadAgentConfig(path).metrics.enabled());
	AgentConfig c = metricsConfig(dir, "127.0.0.1:9464");
	CHECK(c.metrics.enabled());
	CHECK(c.metrics.host == "127.0.0.1");
	CHECK(c.metrics.port == 9464);
	CHECK(c.metrics.listen() == "127.0.0.1:9464");
	CHECK(metricsConfig(dir, "127.1.2.3:1").metrics.port == 1);
}

TEST_CASE("[metrics] listen: anything but a loopback IPv4 address and a port is refused, naming file, line and key")
{
	TempDir dir;
	std::string where = dir.file("agent.toml") + ":4: metrics.listen: ";
	std::string e = metricsError(dir, "0.0.0.0:9464");
	CHECK(e.rfind(where, 0) == 0);
	CHECK(e.find("0.0.0.0 is not a loopback address") != std::string::npos);
	CHECK(metricsError(dir, "10.0.0.5:9464").find("not a loopback address") != std::string::npos);
	CHECK(metricsError(dir, "128.0.0.1:9464").find("not a loopback address") != std::string::npos);
	CHECK(metricsError(dir, "localhost:9464").find("is not an IPv4 address") != std::string::npos);
	CHECK(metricsError(dir, "[::1]:9464").find("is not HOST:PORT") != std::string::npos);
	CHECK(metricsError(dir, "127.0.0.1").find("is not HOST:PORT") != std::string::npos);
	CHECK(metricsError(dir, "127.0.0.1:0").find("is not a port") != std::string::npos);
	CHECK(metricsError(dir, "127.0.0.1:65536").find("is not a port") != std::string::npos);
	CHECK(metricsError(dir, "127.0.0.1:http").find("is not a port") != std::string::npos);
	CHECK(metricsError(dir, "127.0.0.1:9464").empty());
}

TEST_CASE("a job's end counts its reason, its GPU-seconds held and its billed GPU time (60 x the GPU-minutes)")
{
	AgentMetrics m;
	Job job;
	job.device = 1;
	job.sku = "Large.64GB";
	job.gpus = 4;
	job.startedAt = 1000;
	job.endedAt = 1000 + 90 * 1000; // 90 s: 2 minutes rounded up
	job.endReason = "finished";
	m.jobStarted(job);
	m.jobEnded(job, Charge{8, 160000});
	std::string text = m.registry.render(false);
	CHECK(text.find("hac_agent_jobs_started_total 1\n") != std::string::npos);
	CHECK(text.find("hac_agent_jobs_ended_total{reason=\"finished\"} 1\n") != std::string::npos);
	CHECK(text.find("hac_agent_jobs_ended_total{reason=\"reset\"} 0\n") != std::string::npos);
	CHECK(text.find("hac_agent_held_gpu_seconds_total{device=\"1\",sku=\"Large.64GB\"} 360\n") != std::string::npos);
	CHECK(text.find("hac_agent_billed_gpu_seconds_total{device=\"1\",sku=\"Large.64GB\"} 480\n") != std::string::npos);
	// A job not billable: its GPU-seconds held count, its bill is 0 (its Charge still shows the minutes).
	job.endReason = "exec_failed";
	job.billable = false;
	m.jobEnded(job, Charge{8, 0});
	text = m.registry.render(false);
	CHECK(text.find("hac_agent_held_gpu_seconds_total{device=\"1\",sku=\"Large.64GB\"} 720\n") != std::string::npos);
	CHECK(text.find("hac_agent_billed_gpu_seconds_total{device=\"1\",sku=\"Large.64GB\"} 480\n") != std::string::npos);
	m.allocatorRequest("POST", "/v1/allocations", 0, 0.5);
	CHECK(m.lastAllocatorAnswer() == 0); // no answer came
	m.allocatorRequest("POST", "/v1/allocations", 503, 0.01);
	CHECK(m.lastAllocatorAnswer() > 0);
	text = m.registry.render(false);
	CHECK(text.find("hac_agent_allocator_requests_total{method=\"POST\",endpoint=\"/v1/allocations\",code=\"none\"} 1\n") !=
	      std::string::npos);
	CHECK(text.find("hac_agent_allocator_requests_total{method=\"POST\",endpoint=\"/v1/allocations\",code=\"503\"} 1\n") !=
	      std::string::npos);
	// A method no route has is one label value, whatever a client sends.
	m.apiRequest("BREW", "other", 404, 0.001);
	CHECK(m.registry.render(false).find("hac_agent_api_requests_total{method=\"other\",route=\"other\",code=\"404\"} 1\n") !=
	      std::string::npos);
}
