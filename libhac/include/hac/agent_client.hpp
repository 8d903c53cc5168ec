// The tools' client of the local hac-agent API: HTTP/1.1 + JSON over the agent's Unix socket.
#pragma once

#include <chrono>
#include <string>

#include <hac/exit_code.hpp>
#include <hac/json.hpp>
#include <hac/types.hpp>

namespace hac {

constexpr const char *kDefaultSocket = "/run/hac/agent.sock";

// --socket if given, else $HAC_SOCKET, else /run/hac/agent.sock.
std::string resolveSocketPath(const std::string &option);

// An answer of the agent, error or not.
struct AgentReply {
	int status = 0;
	Json body;

	std::string errorCode() const;
	std::string errorMessage() const;
};

class AgentClient {
public:
	explicit AgentClient(std::string socketPath,
			     std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

	// Each throws hac::Error: AgentUnreachable when the agent does not answer within the timeout,
	// otherwise the exit code that fits the agent's error (404 -> NotFound, 409 -> Conflict, ...)
	// with the agent's own message.
	Json get(const std::string &target);
	Json post(const std::string &target, const Json &body);
	Json request(const std::string &method, const std::string &target, const std::string &body);
	// Like request(), but an HTTP error status is returned, not thrown; only an agent that
	// cannot be reached or sends no JSON throws.
	AgentReply call(const std::string &method, const std::string &target, const std::string &body);

	Status status();
	const std::string &socketPath() const { return socketPath_; }
	void setTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
	std::chrono::milliseconds timeout() const { return timeout_; }

private:
	std::string socketPath_;
	std::chrono::milliseconds timeout_;
};

// The exit code a tool returns for an HTTP error status of the agent.
Errc errcForStatus(int httpStatus, const std::string &errorCode);

} // namespace hac
