// The local API's routes (agent/API.md): a request and its caller in, a response out.
#pragma once

#include <service/http_server.hpp>

namespace hac {

class Agent;

Response handleRequest(Agent &agent, const Request &request);

} // namespace hac
