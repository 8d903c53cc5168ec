// The agent's metric families: names by Prometheus's rules (one prefix, hac_agent_; base units;
// _total on counters), no label whose values grow without bound (no job ids, no user names).
#include "metrics.hpp"

#include <spdlog/spdlog.h>

#include "agent.hpp"

namespace hac {

namespace {

// Every end reason (agent/API.md, Job's end_reason), shown at 0 before the first of each.
constexpr const char *kEndReasons[] = {"finished", "process_died", "reset", "time_limit", "budget",
				       "allocator_failure", "not_started", "exec_failed"};

} // namespace

AgentMetrics::AgentMetrics()
	: jobs(registry.gauge("hac_agent_jobs", "Jobs the agent holds now, by state (starting, running, waiting for a "
				"busy device).", {"state"})),
	  gpusHeld(registry.gauge("hac_agent_gpus_held", "GPUs held now by the running job of each device.",
				  {"device", "sku"})),
	  outboxRecords(registry.gauge("hac_agent_outbox_records", "Usage records waiting in the outbox for the allocator.")),
	  outboxMax(registry.gauge("hac_agent_outbox_max_records", "The outbox's cap ([outbox] max_records): at it new "
				   "jobs are refused.")),
	  outboxOldestAge(registry.gauge("hac_agent_outbox_oldest_record_age_seconds", "Seconds since the job of the "
					 "oldest record in the outbox ended; 0 when the outbox is empty.")),
	  allocatorReachable(registry.gauge("hac_agent_allocator_reachable", "1 when the allocator answered the last "
					    "contact, 0 when it is unreachable.")),
	  allocatorLastAnswer(registry.gauge("hac_agent_allocator_last_answer_timestamp_seconds", "When the allocator "
					     "last answered a request (any status), in Unix seconds; 0 before it ever did "
					     "since the agent started.")),
	  connectionsOpen(registry.gauge("hac_agent_connections_open", "Connections open now on the local API's socket.")),
	  connectionsRefused(registry.counter("hac_agent_connections_refused_total", "Connections to the local API's "
					      "socket refused: beyond one user's share or the reserve for root and the "
					      "admin group.")),
	  deviceGpus(registry.gauge("hac_agent_device_gpus", "GPUs of each device at its size.", {"device", "sku"})),
	  deviceMemory(registry.gauge("hac_agent_device_memory_bytes", "Accelerator memory of each device.",
				      {"device", "sku"})),
	  deviceMemoryUsed(registry.gauge("hac_agent_device_memory_used_bytes", "Accelerator memory the job on each "
					  "device last reported using; 0 while no job holds it.", {"device", "sku"})),
	  jobsStarted_(registry.counter("hac_agent_jobs_started_total", "Jobs started: the allocator lent the GPUs and the "
					"command may run.")),
	  jobsEnded_(registry.counter("hac_agent_jobs_ended_total", "Jobs ended, by end reason (those whose command never "
				      "ran included: allocator_failure, not_started, exec_failed).", {"reason"})),
	  heldGpuSeconds_(registry.counter("hac_agent_held_gpu_seconds_total", "GPU-seconds held by jobs that ended: GPUs "
				       "times the seconds from start to end.", {"device", "sku"})),
	  billedGpuSeconds_(registry.counter("hac_agent_billed_gpu_seconds_total", "GPU time billed for jobs that ended, "
					     "in seconds: 60 x the billed GPU-minutes (each job's minutes rounded up, "
					     "times its GPUs; 0 for a job not billable).", {"device", "sku"})),
	  allocatorRequests_(registry.counter("hac_agent_allocator_requests_total", "Requests to the allocator, by "
					      "endpoint and HTTP status (code \"none\": no answer came).",
					      {"method", "endpoint", "code"})),
	  allocatorLatency_(registry.histogram("hac_agent_allocator_request_duration_seconds", "Time from sending a "
					       "request to the allocator to its answer (or giving up).",
					       {"method", "endpoint"})),
	  apiRequests_(registry.counter("hac_agent_api_requests_total", "Requests answered on the local API and the "
					"metrics listener, by route and HTTP status.", {"method", "route", "code"})),
	  apiLatency_(registry.histogram("hac_agent_api_request_duration_seconds", "Time from a request's arrival to its "
					 "answer (a job start includes its wait for the device and the allocator).",
					 {"method", "route"}))
{
	registry.gauge("hac_agent_build_info", "The agent's version; always 1.", {"version"}).set({HAC_VERSION}, 1);
	for (const char *reason : kEndReasons)
		jobsEnded_.touch({reason});
}

void AgentMetrics::jobStarted(const Job &)
{
	jobsStarted_.inc();
}

void AgentMetrics::jobEnded(const Job &job, const Charge &charge)
{
	jobsEnded_.inc({job.endReason});
	metrics::LabelValues device{std::to_string(job.device), job.sku};
	double seconds = job.endedAt ? double(*job.endedAt - job.startedAt) / 1000.0 : 0.0;
	heldGpuSeconds_.inc(device, seconds > 0 ? seconds * job.gpus : 0.0);
	// A job not billable still shows the minutes it held in its Charge; it is billed none.
	billedGpuSeconds_.inc(device, job.billable ? 60.0 * double(charge.gpuMinutes) : 0.0);
}

void AgentMetrics::allocatorRequest(std::string_view method, std::string_view endpoint, long status, double seconds)
{
	if (status > 0)
		lastAnswer_ = nowMs();
	allocatorRequests_.inc({std::string(method), std::string(endpoint), status > 0 ? std::to_string(status) : "none"});
	allocatorLatency_.observe({std::string(method), std::string(endpoint)}, seconds);
}

void AgentMetrics::apiRequest(std::string_view method, std::string_view route, int status, double seconds)
{
	std::string m = metrics::methodLabel(method);
	apiRequests_.inc({m, std::string(route), std::to_string(status)});
	apiLatency_.observe({m, std::string(route)}, seconds);
}

Response Agent::metricsResponse()
{
	Response r;
	r.body = metrics_.registry.render();
	r.contentType = metrics::kContentType;
	return r;
}

// From memory but for the outbox's oldest record, read on the reports' own connection: a scrape
// never waits on the allocator, and not on a job log write either.
void Agent::collectMetrics()
{
	TimeMs now = nowMs();
	std::vector<Device> devices;
	AllocatorStatus allocator;
	{
		std::lock_guard lock(mutex_);
		devices = devices_;
		allocator = allocator_;
	}
	std::vector<Job> jobs = jobs_.running();

	std::map<std::string, double> byState = {{"starting", 0}, {"running", 0}, {"waiting", 0}};
	for (const Job &job : jobs)
		++byState[job.state];
	metrics_.jobs.clear();
	for (const auto &[state, count] : byState)
		metrics_.jobs.set({state}, count);

	metrics_.gpusHeld.clear();
	metrics_.deviceGpus.clear();
	metrics_.deviceMemory.clear();
	metrics_.deviceMemoryUsed.clear();
	for (const Device &d : devices) {
		metrics::LabelValues labels{std::to_string(d.index), d.sku};
		metrics_.deviceGpus.set(labels, d.gpus);
		metrics_.deviceMemory.set(labels, double(d.memoryTotalMib) * 1024 * 1024);
		metrics_.deviceMemoryUsed.set(labels, 0);
		metrics_.gpusHeld.set(labels, 0);
	}
	for (const Job &job : jobs) {
		if (job.state == "waiting")
			continue;
		metrics::LabelValues labels{std::to_string(job.device), job.sku};
		metrics_.gpusHeld.add(labels, job.gpus);
		if (job.memoryUsedMib)
			metrics_.deviceMemoryUsed.set(labels, double(*job.memoryUsedMib) * 1024 * 1024);
	}

	metrics_.outboxRecords.set(double(log_.outboxSize()));
	metrics_.outboxMax.set(double(config().outbox.maxRecords));
	std::optional<TimeMs> oldest;
	if (log_.outboxSize() > 0) {
		try {
			oldest = usageLog_.oldestQueuedEnd();
		} catch (const std::exception &e) {
			spdlog::warn("metrics: cannot read the outbox's oldest record: {}", e.what());
		}
	}
	metrics_.outboxOldestAge.set(oldest ? double(std::max<TimeMs>(0, now - *oldest)) / 1000.0 : 0.0);

	metrics_.allocatorReachable.set(allocator.reachable ? 1 : 0);
	metrics_.allocatorLastAnswer.set(double(metrics_.lastAllocatorAnswer()) / 1000.0);
	if (const HttpServer *server = socketServer_) {
		metrics_.connectionsOpen.set(server->openConnections());
		metrics_.connectionsRefused.setTotal({}, double(server->refusedConnections()));
	}
}

} // namespace hac
