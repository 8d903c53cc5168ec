// Routing of the local API. Identity is the kernel's (request.peer), never the body's.
#include "api.hpp"

#include <functional>
#include <map>

#include <hac/json.hpp>

#include "agent.hpp"
#include "job_log.hpp"

namespace hac {

namespace {

using Route = std::function<Response(Agent &, const Request &, const Peer &)>;

Response version(Agent &agent, const Request &, const Peer &peer)
{
	Status s = agent.status(peer);
	return Response::json(200, Json{
		{"schema_version", kSchemaVersion},
		{"agent_version", s.agentVersion},
		{"api_version", 1},
		{"job_log_schema", JobLog::schemaVersion()},
		{"allocator", s.allocator},
	});
}

Response status(Agent &agent, const Request &, const Peer &peer)
{
	return Response::json(200, agent.status(peer));
}

Response devices(Agent &agent, const Request &, const Peer &peer)
{
	Status s = agent.status(peer);
	return Response::json(200, Json{{"schema_version", kSchemaVersion}, {"devices", s.devices}, {"allocator", s.allocator}});
}

Response jobs(Agent &agent, const Request &, const Peer &peer)
{
	Status s = agent.status(peer);
	return Response::json(200, Json{{"schema_version", kSchemaVersion}, {"jobs", s.jobs}});
}

Response token(Agent &agent, const Request &, const Peer &)
{
	return Response::json(200, Json{
		{"schema_version", kSchemaVersion},
		{"fingerprint", agent.token().fingerprint},
		{"account", agent.account()},
	});
}

// path -> method -> handler
const std::map<std::string, std::map<std::string, Route>> &routes()
{
	static const std::map<std::string, std::map<std::string, Route>> table = {
		{"/v1/version", {{"GET", version}}},
		{"/v1/status", {{"GET", status}}},
		{"/v1/devices", {{"GET", devices}}},
		{"/v1/jobs", {{"GET", jobs}}},
		{"/v1/token", {{"GET", token}}},
	};
	return table;
}

} // namespace

Response handleRequest(Agent &agent, const Request &request)
{
	if (!request.peer)
		return Response::error(403, "no_peer", "the caller's identity could not be read from the socket");
	auto path = routes().find(request.path);
	if (path == routes().end())
		return Response::error(404, "not_found", "no such endpoint: " + request.path + " (see agent/API.md)");
	auto handler = path->second.find(request.method);
	if (handler == path->second.end()) {
		std::string allowed;
		for (const auto &[method, route] : path->second)
			allowed += (allowed.empty() ? "" : ", ") + method;
		Response r = Response::error(405, "method_not_allowed",
					     request.method + " is not allowed on " + request.path + "; use " + allowed);
		r.headers["Allow"] = allowed;
		return r;
	}
	return handler->second(agent, request, *request.peer);
}

} // namespace hac
