// What callers read: the status, the job log's state and the account, answered from local state
// without waiting on the allocator, and usage reports, of which only a reconciliation asks it.
#include "agent.hpp"

#include <fmt/core.h>

#include <hac/error.hpp>

#include "access.hpp"
#include "usage.hpp"

namespace hac {

Status Agent::status(const Peer &peer)
{
	Status s;
	s.agentVersion = HAC_VERSION;
	auto [outboxSize, outboxMax] = noteOutbox();
	{
		std::lock_guard lock(mutex_);
		s.allocator = allocator_;
		s.devices = devices_;
	}
	s.allocator.outboxSize = outboxSize;
	s.allocator.outboxMax = outboxMax;
	std::optional<bool> maySee; // looked up only when another user's job is listed
	TimeMs now = nowMs();
	// The agent's figure alone: from its view of the running job's GPUs, else none.
	for (Device &d : s.devices)
		d.utilizationPct.reset();
	for (Job &job : jobs_.running()) {
		// A job that has not reported its memory (any hac-run job) uses none as far as anyone
		// knows: the job and its device say the same, 0 MiB.
		if (job.state != "waiting") {
			job.memoryUsedMib = job.memoryUsedMib.value_or(0);
			std::optional<int> utilization;
			if (job.state == "running")
				utilization = gpuViews_.utilization(job.id, now);
			for (Device &d : s.devices)
				if (d.index == job.device) {
					d.memoryUsedMib = job.memoryUsedMib;
					d.utilizationPct = utilization;
				}
		}
		job.user = userName(job.uid);
		if (job.uid != peer.uid && !(maySee ? *maySee : *(maySee = privileged(peer))))
			job.command.clear();
		s.jobs.push_back(std::move(job));
	}
	return s;
}

Json Agent::jobLogState() const
{
	std::optional<std::string> problem = logFile_.problem();
	return Json{{"writable", !problem}, {"problem", problem ? Json(*problem) : Json()}};
}

UsageReport Agent::usage(const Peer &peer, const UsageQuery &query)
{
	AllocatorStatus allocator;
	{
		std::lock_guard lock(mutex_);
		allocator = allocator_;
	}
	auto fetch = [this](TimeMs since) {
		try {
			return link_.usage(since);
		} catch (const Error &e) {
			if (e.code() != Errc::AllocatorUnreachable)
				throw;
			// What a reconciliation learns, every later answer says too.
			markUnreachable(e.what());
			throw Error(Errc::AllocatorUnreachable,
				    fmt::format("the allocator at {} does not answer ({}); reconciling compares the job log "
						"with its records, so try again when it is back", link_.url(), e.what()));
		}
	};
	UsageSources sources{usageLog_, fetch, allocator, config().adminGroup};
	return usageReport(query, peer, privileged(peer), sources, nowMs());
}

std::string Agent::account()
{
	std::lock_guard lock(mutex_);
	return account_;
}

} // namespace hac
