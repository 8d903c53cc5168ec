// The allocator's metric families: one prefix (hac_allocator_), base units, _total on counters, and
// labels of bounded values only (node, SKU, route, code; never an account, a token or a job id).
#include "metrics.hpp"

#include <algorithm>

#include "catalog.hpp"
#include "store.hpp"

namespace hac::allocator {

namespace {

// An agent counts as seen while its last registration is younger than its heartbeat plus this:
// the next one is due at the heartbeat, and takes a request's time to arrive.
constexpr TimeMs kHeartbeatGraceMs = 5000;
// Agents not seen for this long are forgotten.
constexpr TimeMs kForgetAgentMs = 24 * 3600 * 1000;

} // namespace

AllocatorMetrics::AllocatorMetrics(const Config &config)
	: config_(config),
	  gpus_(registry_.gauge("hac_allocator_gpus", "GPUs of the farm, by node.", {"node"})),
	  gpusHeld_(registry_.gauge("hac_allocator_gpus_held", "GPUs lent to jobs now, by node.", {"node"})),
	  gpusFree_(registry_.gauge("hac_allocator_gpus_free", "GPUs free now, by node.", {"node"})),
	  allocations_(registry_.gauge("hac_allocator_allocations", "Allocations in the database, by state: held "
				       "(GPUs lent now) or released.", {"state"})),
	  queueLength_(registry_.gauge("hac_allocator_queue_length", "Requests waiting in the placement backend's queue; "
				       "always 0 for the simulated farm, which answers farm_full instead of queueing.")),
	  agentsSeen_(registry_.gauge("hac_allocator_agents_seen", "Agents (account and hostname) that registered within "
				      "their last heartbeat interval (the heartbeat_seconds each sends, 30 if none, "
				      "plus 5 s).")),
	  nodesReporting_(registry_.gauge("hac_allocator_nodes_reporting", "Farm nodes whose last telemetry report "
					  "(POST /v1/nodes/{node}/telemetry) arrived within the last 60 s.")),
	  farmFull_(registry_.counter("hac_allocator_farm_full_total", "Allocations refused with 503 farm_full.")),
	  requests_(registry_.counter("hac_allocator_requests_total", "Requests answered, by route and HTTP status.",
				      {"method", "route", "code"})),
	  latency_(registry_.histogram("hac_allocator_request_duration_seconds", "Time from a request's arrival to its "
				       "answer.", {"method", "route"})),
	  backendLatency_(registry_.histogram("hac_allocator_backend_request_duration_seconds", "Duration of each call to "
					      "the placement backend, by backend and operation; its _count is the "
					      "calls made.", {"backend", "operation"})),
	  backendErrors_(registry_.counter("hac_allocator_backend_errors_total", "Calls to the placement backend that "
					   "failed, by backend and operation.", {"backend", "operation"})),
	  usageRecords_(registry_.counter("hac_allocator_usage_records_total", "Usage records stored (replays not "
					  "counted), by SKU.", {"sku"})),
	  billedGpuSeconds_(registry_.counter("hac_allocator_billed_gpu_seconds_total", "GPU time billed by the usage "
					      "records stored, in seconds: 60 x the billed GPU-minutes, by SKU.", {"sku"}))
{
	registry_.gauge("hac_allocator_build_info", "The allocator's version; always 1.", {"version"}).set({HAC_VERSION}, 1);
	for (const Sku &sku : config.catalog.skus()) {
		usageRecords_.touch({sku.name});
		billedGpuSeconds_.touch({sku.name});
	}
	for (const char *operation : {"allocate", "release"}) {
		backendErrors_.touch({"simulated", operation});
	}
	queueLength_.set(0);
	nodesReporting_.set(0);
}

AllocatorMetrics::BackendCall::BackendCall(AllocatorMetrics &metrics, std::string backend, std::string operation)
	: metrics_(metrics), backend_(std::move(backend)), operation_(std::move(operation)),
	  start_(std::chrono::steady_clock::now())
{
}

AllocatorMetrics::BackendCall::~BackendCall()
{
	metrics_.backendCall(backend_, operation_,
			     std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(), ok_);
}

void AllocatorMetrics::backendCall(std::string_view backend, std::string_view operation, double seconds, bool ok)
{
	metrics::LabelValues labels{std::string(backend), std::string(operation)};
	backendLatency_.observe(labels, seconds);
	if (ok)
		backendErrors_.touch(labels);
	else
		backendErrors_.inc(labels);
}

void AllocatorMetrics::request(std::string_view method, std::string_view route, int status, double seconds)
{
	std::string m = metrics::methodLabel(method);
	requests_.inc({m, std::string(route), std::to_string(status)});
	latency_.observe({m, std::string(route)}, seconds);
}

void AllocatorMetrics::usageRecorded(const std::string &sku, std::int64_t gpuMinutes)
{
	usageRecords_.inc({sku});
	billedGpuSeconds_.inc({sku}, 60.0 * double(gpuMinutes));
}

void AllocatorMetrics::agentSeen(const std::string &account, const std::string &hostname, int heartbeatSeconds)
{
	std::lock_guard lock(agentsMutex_);
	agents_[{account, hostname}] = {nowMs(), TimeMs(heartbeatSeconds > 0 ? heartbeatSeconds : 30) * 1000};
}

void AllocatorMetrics::collect(Store &store)
{
	FarmSnapshot farm = store.farmSnapshot();
	const Inventory &inv = config_.inventory;
	gpus_.clear();
	gpusHeld_.clear();
	gpusFree_.clear();
	setQueueLength(double(farm.slurmQueued));
	// The GPUs by node are the simulated farm's; Slurm's are Slurm's to say (sinfo, its exporter).
	for (int node = 0; config_.backend == Backend::Simulated && node < inv.nodes; ++node) {
		auto it = farm.leasedByNode.find(node);
		int held = it == farm.leasedByNode.end() ? 0 : std::min(it->second, inv.gpusPerNode);
		gpus_.set({nodeName(node)}, inv.gpusPerNode);
		gpusHeld_.set({nodeName(node)}, held);
		gpusFree_.set({nodeName(node)}, inv.gpusPerNode - held);
	}
	allocations_.set({"held"}, double(farm.allocationsHeld));
	allocations_.set({"released"}, double(farm.allocationsReleased));

	TimeMs now = nowMs();
	std::lock_guard lock(agentsMutex_);
	double seen = 0;
	for (auto it = agents_.begin(); it != agents_.end();) {
		auto [last, heartbeat] = it->second;
		if (now - last > kForgetAgentMs) {
			it = agents_.erase(it);
			continue;
		}
		if (now - last <= heartbeat + kHeartbeatGraceMs)
			++seen;
		++it;
	}
	agentsSeen_.set(seen);
}

std::string AllocatorMetrics::render(Store &store)
{
	// One scrape at a time: the collector clears and sets the gauges it renders.
	std::lock_guard lock(scrapeMutex_);
	collect(store);
	return registry_.render();
}

} // namespace hac::allocator
