// Routing of the local API. Identity is the kernel's (request.peer), never the body's.
#include "api.hpp"

#include <algorithm>
#include <functional>
#include <vector>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/budget.hpp>
#include <hac/error.hpp>
#include <hac/number.hpp>
#include <hac/json.hpp>
#include <hac/usage.hpp>
#include <service/api_error.hpp>
#include <service/request_fields.hpp>
#include <service/router.hpp>

#include "agent.hpp"
#include "log_file.hpp"
#include "process.hpp"

namespace hac {

namespace {

// A matched request: the caller, the body, and the {} parts of the path.
struct Call {
	Agent &agent;
	const Request &request;
	const Peer &peer;
	std::vector<std::string> params;

	Json body() const { return requestBody(request.body); }
};

using CallHandler = std::function<Response(const Call &)>;

// The longest a caller may ask a job start to take: the longest device wait and then some.
constexpr int kMaxStartDeadlineMs = 180000;

Json document(Json fields)
{
	fields["schema_version"] = kSchemaVersion;
	return fields;
}

int deviceIndex(const std::string &text)
{
	if (auto n = parseInteger(text, 0, std::numeric_limits<int>::max()))
		return *n;
	throw ApiError(404, "device_not_found", fmt::format("'{}' is not a device index", text));
}

Job visible(const Call &c, Job job)
{
	if (job.uid != c.peer.uid && !c.agent.privileged(c.peer))
		job.command.clear();
	return job;
}

const std::vector<Route<CallHandler>> &routes()
{
	static const std::vector<Route<CallHandler>> table = {
		{"GET", "/v1/version", [](const Call &c) {
			Status s = c.agent.status(c.peer);
			return Response::json(200, document({{"agent_version", s.agentVersion}, {"api_version", 1},
							     {"job_log_schema", LogFile::schemaVersion()},
							     {"job_log", c.agent.jobLogState()}, {"allocator", s.allocator}}));
		}},
		{"GET", "/v1/status", [](const Call &c) {
			Status s = c.agent.status(c.peer);
			Json logState = c.agent.jobLogState();
			// The month's spending reads the job log after each write to it (Agent::spendingBase):
			// not while a write waits on the disk, as reads never wait on a stalled writer.
			if (logState["writable"].get<bool>())
				s.budget = c.agent.budget(c.peer.uid);
			Json status = s;
			status["job_log"] = logState;
			return Response::json(200, status);
		}},
		// Readable by whoever may read the status: no command or user is in it.
		{"GET", "/v1/gpus", [](const Call &c) {
			Json view = c.agent.gpus();
			return Response::json(200, document(view));
		}},
		{"GET", "/metrics", [](const Call &c) { return c.agent.metricsResponse(); }},
		{"GET", "/v1/budget", [](const Call &c) {
			return Response::json(200, document({{"budget", c.agent.budget(c.peer.uid)}}));
		}},
		{"GET", "/v1/devices", [](const Call &c) {
			Status s = c.agent.status(c.peer);
			return Response::json(200, document({{"devices", s.devices}, {"allocator", s.allocator}}));
		}},
		{"GET", "/v1/token", [](const Call &c) {
			return Response::json(200, document({{"fingerprint", c.agent.token().fingerprint},
							     {"account", c.agent.account()}}));
		}},
		{"GET", "/v1/jobs", [](const Call &c) {
			return Response::json(200, document({{"jobs", c.agent.status(c.peer).jobs}}));
		}},
		{"POST", "/v1/jobs", [](const Call &c) {
			Json body = c.body();
			StartRequest r;
			r.pid = field<int>(body, "pid", "a process id");
			std::optional<int> device;
			if (body.contains("device") && !body["device"].is_null())
				device = field<int>(body, "device", "a device index");
			r.name = field<std::string>(body, "name", "a string", std::string());
			if (r.name.size() > kMaxJobNameBytes)
				throw ApiError(400, "bad_request", fmt::format("the field 'name' is {} bytes long; a job's name may "
									     "have at most {}", r.name.size(), kMaxJobNameBytes));
			r.command = boundedCommand(field<std::string>(body, "command", "a string", std::string()));
			r.wait = field<bool>(body, "wait", "true or false", false);
			r.waitMs = std::clamp(field<int>(body, "wait_ms", "milliseconds", 30000), 0, 60000);
			// Without a deadline from the caller, the agent's own bound: the device wait, then the
			// allocator's request timeout, then the time to write the job log.
			int ownBound = (r.wait ? r.waitMs : 0) + static_cast<int>(c.agent.config().allocator.requestTimeoutMs) + 1000;
			r.deadlineMs = std::clamp(field<int>(body, "deadline_ms", "milliseconds", ownBound), 0, kMaxStartDeadlineMs);
			r.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.deadlineMs);
			std::optional<std::int64_t> limit;
			if (body.contains("time_limit_seconds") && !body["time_limit_seconds"].is_null()) {
				limit = field<std::int64_t>(body, "time_limit_seconds", "a number of seconds, 1 or more");
				if (*limit <= 0 || *limit > 366 * 86400)
					throw ApiError(400, "bad_request",
						       "the field 'time_limit_seconds' must be 1 to 31622400 (a year) seconds");
			}
			r.timeLimitSeconds = c.agent.timeLimit(limit);
			c.agent.admitJob();
			std::string notice = c.agent.admitBudget(c.peer, c.agent.privileged(c.peer));
			int index = c.agent.device(device).index;
			Job job = c.agent.jobs().start(c.peer, c.agent.privileged(c.peer), r, index, [&c](int i) {
				Device d = c.agent.device(i);
				auto [price, currency] = c.agent.price(d.sku);
				return PricedDevice{d, price, currency};
			});
			Json answer = document({{"job", job}});
			if (!notice.empty())
				answer["budget_notice"] = notice;
			return Response::json(201, answer);
		}},
		{"GET", "/v1/jobs/{}", [](const Call &c) {
			auto job = c.agent.jobs().find(c.params[0]);
			if (!job)
				throw ApiError(404, "job_not_found", fmt::format("no job {}", c.params[0]));
			return Response::json(200, document({{"job", visible(c, *job)}}));
		}},
		{"POST", "/v1/jobs/{}/memory", [](const Call &c) {
			Json body = c.body();
			auto mib = field<std::int64_t>(body, "memory_used_mib", "a number of MiB");
			if (mib < 0)
				throw ApiError(400, "bad_request", "the field 'memory_used_mib' must not be negative");
			// No job uses more than its device has: a larger figure would be shown and stored.
			if (auto job = c.agent.jobs().find(c.params[0]); job && job->state != "ended") {
				Device d = c.agent.device(job->device);
				if (d.memoryTotalMib > 0 && mib > d.memoryTotalMib)
					throw ApiError(400, "memory_above_device",
						       fmt::format("memory_used_mib {} is more than device {} has ({} MiB, {}): report "
								   "the memory the job uses, at most the device's", mib, d.index,
								   d.memoryTotalMib, d.sku),
						       Json{{"memory_total_mib", d.memoryTotalMib}});
			}
			c.agent.jobs().reportMemory(c.peer, c.agent.privileged(c.peer), c.params[0], mib);
			return Response::json(200, document({{"job_id", c.params[0]}, {"memory_used_mib", mib}}));
		}},
		{"POST", "/v1/jobs/{}/finish", [](const Call &c) {
			Json body = c.body();
			int status = field<int>(body, "exit_status", "an exit status (0-255, or 128+signal)", 0);
			bool execFailed = field<bool>(body, "exec_failed", "true or false", false);
			Job job = c.agent.jobs().finish(c.peer, c.agent.privileged(c.peer), c.params[0], status, execFailed);
			return Response::json(200, document({{"job", job}}));
		}},
		{"GET", "/v1/skus", [](const Call &c) { return Response::json(200, document(c.agent.skuCatalog())); }},
		{"PATCH", "/v1/devices/{}", [](const Call &c) {
			Json body = c.body();
			std::string sku = field<std::string>(body, "sku", "a size such as \"2xLarge.192GB\"");
			int waitMs = std::clamp(field<int>(body, "wait_ms", "milliseconds", 0), 0, 24 * 3600 * 1000);
			return Response::json(200, document(c.agent.resizeDevice(c.peer, deviceIndex(c.params[0]), sku, waitMs)));
		}},
		{"POST", "/v1/devices", [](const Call &c) {
			std::string sku = field<std::string>(c.body(), "sku", "a size such as \"2xLarge.192GB\"");
			return Response::json(201, document(c.agent.addDevice(c.peer, sku)));
		}},
		{"DELETE", "/v1/devices/{}", [](const Call &c) {
			return Response::json(200, document(c.agent.removeDevice(c.peer, deviceIndex(c.params[0]), 0)));
		}},
		{"POST", "/v1/devices/{}/current", [](const Call &c) {
			return Response::json(200, document(c.agent.switchDevice(c.peer, deviceIndex(c.params[0]))));
		}},
		{"POST", "/v1/usage/query", [](const Call &c) {
			UsageQuery query;
			try {
				query = parseUsageQuery(c.body());
			} catch (const Error &e) {
				throw ApiError(400, "bad_request", e.what());
			}
			return Response::json(200, c.agent.usage(c.peer, query));
		}},
		{"POST", "/v1/devices/{}/reset", [](const Call &c) {
			int index = deviceIndex(c.params[0]);
			c.agent.device(index);
			Job job = c.agent.jobs().reset(c.peer, c.agent.privileged(c.peer), index);
			return Response::json(200, document({{"job", visible(c, job)}}));
		}},
	};
	return table;
}

} // namespace

namespace {

// The one place a refusal of the agent's becomes an HTTP status (agent/API.md lists them).
int statusOf(const Refusal &r)
{
	switch (r.kind) {
	case Refusal::BadInput: return 400;
	case Refusal::BudgetExhausted: return 402;
	case Refusal::NotAllowed: return 403;
	case Refusal::NotFound: return 404;
	case Refusal::Busy: return 409;
	case Refusal::AllocatorRefused: return r.allocatorStatus;
	case Refusal::AllocatorBroken: return 502;
	case Refusal::Unavailable: return 503;
	case Refusal::TimedOut: return 504;
	}
	return 500;
}

} // namespace

Response handleRequest(Agent &agent, const Request &request, const char **route)
{
	if (!request.peer)
		return Response::error(403, "no_peer", "the caller's identity could not be read from the socket");
	std::vector<std::string> params;
	try {
		const CallHandler &handler = findRoute(routes(), request, params, "agent/API.md", route);
		return handler(Call{agent, request, *request.peer, params});
	} catch (const Refusal &e) {
		return ApiError(statusOf(e), e.code, e.what(), e.details).response();
	} catch (const ApiError &e) {
		return e.response();
	} catch (const Error &e) {
		if (e.code() == Errc::AllocatorUnreachable)
			return Response::error(503, "allocator_unreachable", e.what());
		spdlog::error("{} {}: {}", printable(request.method, 16), printable(request.path, 200), e.what());
		return Response::error(500, "internal", e.what());
	}
}

} // namespace hac
