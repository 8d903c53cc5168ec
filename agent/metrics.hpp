// hac-agent's Prometheus metrics (agent/API.md, "GET /metrics"): the families, and the events that
// move the counters. The figures read from the agent's state at each scrape (jobs, devices,
// outbox, allocator) are set by Agent::collectMetrics().
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include <hac/billing.hpp>
#include <hac/time.hpp>
#include <hac/types.hpp>
#include <service/metrics.hpp>

namespace hac {

class AgentMetrics {
public:
	AgentMetrics();

	// A job's command may run / a job ended with its bill (JobTable's events).
	void jobStarted(const Job &job);
	void jobEnded(const Job &job, const Charge &charge);
	// A request to the allocator ended: `status` 0 when no answer came.
	void allocatorRequest(std::string_view method, std::string_view endpoint, long status, double seconds);
	// A request to the local API (or the metrics listener) was answered; `route` is the route's
	// pattern, or "other" for a path no route has.
	void apiRequest(std::string_view method, std::string_view route, int status, double seconds);
	// When the allocator last answered anything, 0 before it ever did.
	TimeMs lastAllocatorAnswer() const { return lastAnswer_; }

	metrics::Registry registry;

	// Set by the agent's collector at each scrape.
	metrics::Gauge &jobs;
	metrics::Gauge &gpusHeld;
	metrics::Gauge &outboxRecords;
	metrics::Gauge &outboxMax;
	metrics::Gauge &outboxOldestAge;
	metrics::Gauge &allocatorReachable;
	metrics::Gauge &allocatorLastAnswer;
	metrics::Gauge &connectionsOpen;
	metrics::Counter &connectionsRefused;
	metrics::Gauge &deviceGpus;
	metrics::Gauge &deviceMemory;
	metrics::Gauge &deviceMemoryUsed;

private:
	metrics::Counter &jobsStarted_;
	metrics::Counter &jobsEnded_;
	metrics::Counter &heldGpuSeconds_;
	metrics::Counter &billedGpuSeconds_;
	metrics::Counter &allocatorRequests_;
	metrics::Histogram &allocatorLatency_;
	metrics::Counter &apiRequests_;
	metrics::Histogram &apiLatency_;
	std::atomic<TimeMs> lastAnswer_{0};
};

} // namespace hac
