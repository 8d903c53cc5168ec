// hac-allocator's Prometheus metrics (allocator/API.md, "GET /metrics"): the families, the events
// that move them, and the hook a placement backend reports its calls through.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <hac/time.hpp>
#include <hac/types.hpp>
#include <service/metrics.hpp>

#include "config.hpp"

namespace hac::allocator {

class Store;

class AllocatorMetrics {
public:
	// `config`'s catalog and inventory name the SKU and node series, shown from the start.
	explicit AllocatorMetrics(const Config &config);

	// The placement backend's hook: one call of `backend` ("simulated", "slurm") for `operation`
	// ("allocate", "release", "submit", ...) took `seconds`; `ok` false counts an error. A backend
	// that talks to another system (Slurm's slurmrestd) reports each request it makes here, so
	// its latency and errors are seen beside the allocator's own. Thread-safe.
	void backendCall(std::string_view backend, std::string_view operation, double seconds, bool ok);
	// The same, measured: from its making to ok() (a success) or to its end without ok() (an
	// error: an exception left the call).
	//   auto call = metrics.timeBackend("slurm", "submit"); ...; call.ok();
	class BackendCall {
	public:
		BackendCall(AllocatorMetrics &metrics, std::string backend, std::string operation);
		~BackendCall();
		BackendCall(const BackendCall &) = delete;
		BackendCall &operator=(const BackendCall &) = delete;
		void ok() { ok_ = true; }

	private:
		AllocatorMetrics &metrics_;
		std::string backend_;
		std::string operation_;
		std::chrono::steady_clock::time_point start_;
		bool ok_ = false;
	};
	BackendCall timeBackend(std::string backend, std::string operation) { return {*this, std::move(backend), std::move(operation)}; }
	// Requests the backend holds in a queue of its own (Slurm's pending jobs); the simulated
	// farm queues nothing (a request it cannot place is answered farm_full), so it stays 0.
	void setQueueLength(double length) { queueLength_.set(length); }

	// A request answered: `route` is its route's pattern, or "other".
	void request(std::string_view method, std::string_view route, int status, double seconds);
	void farmFull() { farmFull_.inc(); }
	void setNodesReporting(double nodes) { nodesReporting_.set(nodes); }
	// A new usage record stored (not a replay), with the GPU-minutes it bills.
	void usageRecorded(const std::string &sku, std::int64_t gpuMinutes);
	// An agent registered; it says how often it will again (its heartbeat_seconds).
	void agentSeen(const std::string &account, const std::string &hostname, int heartbeatSeconds);

	// GET /metrics: reads the farm and the allocations from `store`, then renders everything.
	std::string render(Store &store);

private:
	void collect(Store &store);

	const Config &config_;
	metrics::Registry registry_;
	metrics::Gauge &gpus_;
	metrics::Gauge &gpusHeld_;
	metrics::Gauge &gpusFree_;
	metrics::Gauge &allocations_;
	metrics::Gauge &queueLength_;
	metrics::Gauge &agentsSeen_;
	metrics::Gauge &nodesReporting_;
	metrics::Counter &farmFull_;
	metrics::Counter &requests_;
	metrics::Histogram &latency_;
	metrics::Histogram &backendLatency_;
	metrics::Counter &backendErrors_;
	metrics::Counter &usageRecords_;
	metrics::Counter &billedGpuSeconds_;

	std::mutex scrapeMutex_;
	std::mutex agentsMutex_;
	// (account, hostname) -> when it last registered, and its heartbeat in ms. Only the count is
	// shown, never a name.
	std::map<std::pair<std::string, std::string>, std::pair<TimeMs, TimeMs>> agents_;
};

} // namespace hac::allocator
