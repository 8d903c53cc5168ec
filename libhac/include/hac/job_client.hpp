// Registering a job with the agent and ending it: what hac-run and the C API share.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <hac/agent_client.hpp>
#include <hac/types.hpp>

namespace hac {

struct JobRequest {
	int pid = 0;
	std::optional<int> device;   // empty: $HAC_VISIBLE_DEVICE, else the agent's current device
	std::string name;
	std::string command;         // what to show; empty: the process's own command line
	bool noWait = false;         // fail with Conflict at once instead of waiting
	std::optional<std::int64_t> timeLimitSeconds; // none: the agent's [jobs] default_time_limit
};

// Registers the job. While the device is busy or the farm has no free GPUs it waits (unless
// noWait), telling `notice` once why it waits and that it resumes by itself. Each request carries
// its deadline (agent/API.md, POST /v1/jobs), and the client waits out that deadline, so the agent
// answers first: a start the agent could not finish in time is undone, never billed. `notice`
// also hears the budget warning the agent gives once per threshold crossed.
Job beginJob(AgentClient &agent, const JobRequest &request, const std::function<void(const std::string &)> &notice);
void reportMemory(AgentClient &agent, const std::string &jobId, std::int64_t mib);
// `execFailed`: the job's command could not be executed (hac-run); the agent then ends it as
// exec_failed, not billable, if its process is still the one it registered (agent/API.md).
Job endJob(AgentClient &agent, const std::string &jobId, int exitStatus, bool execFailed = false);

} // namespace hac
