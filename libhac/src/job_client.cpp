// The waiting is the client's: a short answer tells it who holds the device, so it can say so,
// then it asks again with a server-side wait that ends as soon as the device is free.
#include <hac/job_client.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/number.hpp>

namespace hac {

namespace {

constexpr int kServerWaitMs = 25000;
// A start's contract (agent/API.md, POST /v1/jobs): the agent answers within deadline_ms, undoing
// a start it cannot finish by then, so its command never runs and is never billed. The deadline
// covers the allocator's answer (hac-agent.toml's request_timeout_ms, 5 s by default) and the job
// log; the client waits a little longer, for the answer to travel.
constexpr int kStartDeadlineMs = 15000;
constexpr int kAnswerSlackMs = 3000;

std::optional<int> visibleDevice()
{
	const char *env = std::getenv("HAC_VISIBLE_DEVICE");
	if (!env || !*env)
		return std::nullopt;
	auto n = parseInteger(std::string_view(env), 0, 1000000);
	if (!n)
		throw Error(Errc::Usage, fmt::format("HAC_VISIBLE_DEVICE='{}' is not a device index", env));
	return *n;
}

} // namespace

Job beginJob(AgentClient &agent, const JobRequest &request, const std::function<void(const std::string &)> &notice)
{
	Json body{{"pid", request.pid}, {"name", request.name}, {"command", request.command}, {"wait", false}};
	if (auto device = request.device ? request.device : visibleDevice())
		body["device"] = *device;
	if (request.timeLimitSeconds)
		body["time_limit_seconds"] = *request.timeLimitSeconds;
	std::string told;
	auto tell = [&](const std::string &what) {
		if (what != told)
			notice(what);
		told = what;
	};
	auto bound = [&](int deadlineMs) {
		body["deadline_ms"] = deadlineMs;
		agent.setTimeout(std::chrono::milliseconds(deadlineMs + kAnswerSlackMs));
	};
	struct Restore {
		AgentClient &agent;
		std::chrono::milliseconds timeout;
		~Restore() { agent.setTimeout(timeout); }
	} restore{agent, agent.timeout()};
	bound(kStartDeadlineMs);
	for (;;) {
		AgentReply reply = agent.call("POST", "/v1/jobs", body.dump());
		if (reply.status == 201) {
			if (reply.body.contains("budget_notice") && reply.body["budget_notice"].is_string())
				notice(reply.body["budget_notice"].get<std::string>());
			return reply.body.at("job").get<Job>();
		}
		std::string code = reply.errorCode();
		if (request.noWait || (code != "device_busy" && code != "farm_full"))
			throw Error(errcForStatus(reply.status, code), reply.errorMessage());
		if (code == "device_busy") {
			tell(reply.errorMessage() + "; waiting: the job starts by itself when the device is free");
			body["wait"] = true;
			body["wait_ms"] = kServerWaitMs;
			bound(kServerWaitMs + kStartDeadlineMs);
			continue;
		}
		int retry = reply.body["error"].value("retry_after_seconds", 5);
		tell("the farm has no free GPUs for this size right now; waiting: the job starts by itself when they are free");
		std::this_thread::sleep_for(std::chrono::seconds(std::clamp(retry, 1, 60)));
	}
}

void reportMemory(AgentClient &agent, const std::string &jobId, std::int64_t mib)
{
	agent.post("/v1/jobs/" + jobId + "/memory", Json{{"memory_used_mib", mib}});
}

Job endJob(AgentClient &agent, const std::string &jobId, int exitStatus, bool execFailed)
{
	Json body{{"exit_status", exitStatus}};
	if (execFailed)
		body["exec_failed"] = true;
	return agent.post("/v1/jobs/" + jobId + "/finish", body).at("job").get<Job>();
}

} // namespace hac
