// The local API's routes (agent/API.md): a request and its caller in, a response out.
#pragma once

#include <service/http_server.hpp>

namespace hac {

class Agent;

// `route`, when given, is set to the pattern of the route taken (left alone for none), for metrics.
Response handleRequest(Agent &agent, const Request &request, const char **route = nullptr);

} // namespace hac
