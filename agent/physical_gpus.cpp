// GET /v1/gpus and the link thread's refresh: the physical GPUs of the running jobs, asked of
// the allocator without holding Agent::mutex_ (status readers never wait on the allocator), and
// kept per job in gpuViews_ for the devices' utilization in the status.
#include "agent.hpp"

#include <set>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>

namespace hac {

namespace {

bool holdsGpus(const Job &job)
{
	return job.state == "running" && !job.id.empty();
}

} // namespace

GpuView Agent::gpus()
{
	return fetchGpus(kGpuViewWait, kGpuViewReuseMs);
}

GpuView Agent::fetchGpus(std::chrono::milliseconds within, TimeMs reuseMs)
{
	auto deadline = std::chrono::steady_clock::now() + within;
	GpuView out;
	std::set<std::string> running;
	for (const Job &job : jobs_.running()) {
		if (!holdsGpus(job))
			continue;
		running.insert(job.id);
		const auto attach = [&](std::vector<PhysicalGpu> gpus) {
			for (PhysicalGpu &g : gpus) {
				g.device = job.device;
				g.jobId = job.id;
				out.gpus.push_back(std::move(g));
			}
		};
		if (auto view = gpuViews_.find(job.id, nowMs(), reuseMs)) {
			attach(view->gpus);
			continue;
		}
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0) {
			out.errors.push_back({job.device, job.id, "allocator_unreachable",
					      fmt::format("not asked: the allocator at {} took the {} s the agent gives it for "
							  "the GPUs of all jobs", link_.url(), within.count() / 1000.0)});
			continue;
		}
		try {
			std::vector<PhysicalGpu> gpus = link_.allocationGpus(job.id, left.count());
			gpuViews_.store(job.id, gpus, nowMs());
			attach(std::move(gpus));
		} catch (const Refusal &e) {
			// The job ended while the allocator was asked: its GPUs are given back, nothing to show.
			bool stillRuns = false;
			for (const Job &now : jobs_.running())
				stillRuns = stillRuns || (now.id == job.id && holdsGpus(now));
			if (stillRuns)
				out.errors.push_back({job.device, job.id, e.code, e.what()});
		} catch (const Error &e) {
			out.errors.push_back({job.device, job.id,
					      e.code() == Errc::AllocatorUnreachable ? "allocator_unreachable" : "allocator_error",
					      e.what()});
		}
	}
	gpuViews_.keepOnly(running);
	return out;
}

void Agent::refreshGpus()
{
	std::chrono::milliseconds within{config().allocator.requestTimeoutMs};
	GpuView view = fetchGpus(within, 0);
	for (const GpuViewError &e : view.errors)
		spdlog::debug("cannot read the GPUs of job {} (device {}) from the allocator: {}", e.jobId, e.device, e.message);
}

bool Agent::runsJobs()
{
	for (const Job &job : jobs_.running())
		if (holdsGpus(job))
			return true;
	return false;
}

} // namespace hac
