// Boost.Beast over asio's local stream socket: header-only, so a tool loads no extra libraries and
// answers in a few milliseconds. One connection per request; every step shares one deadline.
#include <hac/agent_client.hpp>

#include <cstdlib>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/core.h>

#include <hac/error.hpp>

namespace hac {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

std::string resolveSocketPath(const std::string &option)
{
	if (!option.empty())
		return option;
	if (const char *env = std::getenv("HAC_SOCKET"); env && *env)
		return env;
	return kDefaultSocket;
}

Errc errcForStatus(int httpStatus, const std::string &errorCode)
{
	if (errorCode == "allocator_unreachable")
		return Errc::AllocatorUnreachable;
	if (errorCode == "start_timeout")
		return Errc::AgentUnreachable; // the agent could not answer within the deadline
	if (errorCode == "budget_exhausted")
		return Errc::BudgetExhausted;
	switch (httpStatus) {
	case 400: case 413: case 422: return Errc::Usage;
	case 401: case 403: return Errc::PermissionDenied;
	case 404: return Errc::NotFound;
	case 409: return Errc::Conflict;
	case 504: return Errc::TimedOut;
	default: return Errc::Failure;
	}
}

AgentClient::AgentClient(std::string socketPath, std::chrono::milliseconds timeout)
	: socketPath_(std::move(socketPath)), timeout_(timeout)
{
}

std::string AgentReply::errorCode() const
{
	return body.contains("error") && body["error"].is_object() ? body["error"].value("code", "") : "";
}

std::string AgentReply::errorMessage() const
{
	std::string message = body.contains("error") && body["error"].is_object() ? body["error"].value("message", "") : "";
	return message.empty() ? fmt::format("hac-agent answered HTTP {}", status) : message;
}

Json AgentClient::request(const std::string &method, const std::string &target, const std::string &body)
{
	AgentReply reply = call(method, target, body);
	if (reply.status >= 400)
		throw Error(errcForStatus(reply.status, reply.errorCode()), reply.errorMessage());
	return reply.body;
}

AgentReply AgentClient::call(const std::string &method, const std::string &target, const std::string &body)
{
	asio::io_context io;
	asio::local::stream_protocol::socket socket(io);
	http::request<http::string_body> req(http::string_to_verb(method), target, 11);
	req.set(http::field::host, "hac");
	req.set(http::field::connection, "close");
	if (!body.empty()) {
		req.set(http::field::content_type, "application/json");
		req.body() = body;
	}
	req.prepare_payload();
	boost::beast::flat_buffer buffer;
	http::response_parser<http::string_body> parser;
	parser.body_limit(64 << 20);

	std::optional<error_code> done;
	socket.async_connect(socketPath_, [&](error_code ec) {
		if (ec) {
			done = ec;
			return;
		}
		http::async_write(socket, req, [&](error_code ec, std::size_t) {
			if (ec) {
				done = ec;
				return;
			}
			http::async_read(socket, buffer, parser, [&](error_code ec, std::size_t) { done = ec; });
		});
	});
	io.run_for(timeout_);

	const std::string start = "start it with 'systemctl start hac-agent', or point HAC_SOCKET or --socket at a running agent";
	if (!done)
		throw Error(Errc::AgentUnreachable,
			    fmt::format("hac-agent at {} did not answer within {} ms: check 'systemctl status hac-agent'",
					socketPath_, timeout_.count()));
	if (*done) {
		const error_code &ec = *done;
		if (ec == asio::error::not_found || ec == asio::error::connection_refused ||
		    ec == boost::system::errc::no_such_file_or_directory)
			throw Error(Errc::AgentUnreachable,
				    fmt::format("hac-agent is not running (no agent at {}): {}", socketPath_, start));
		if (ec == asio::error::access_denied || ec == boost::system::errc::permission_denied)
			throw Error(Errc::PermissionDenied,
				    fmt::format("permission denied on {}: ask an administrator to add you to group 'hac'", socketPath_));
		throw Error(Errc::AgentUnreachable,
			    fmt::format("cannot talk to hac-agent at {}: {}", socketPath_, ec.message()));
	}

	const auto &res = parser.get();
	int status = static_cast<int>(res.result_int());
	Json json = Json::parse(res.body(), nullptr, false);
	if (json.is_discarded())
		throw Error(Errc::Failure, fmt::format("hac-agent sent a reply that is not JSON (HTTP {})", status));
	return AgentReply{status, std::move(json)};
}

Json AgentClient::get(const std::string &target)
{
	return request("GET", target, {});
}

Json AgentClient::post(const std::string &target, const Json &body)
{
	return request("POST", target, body.dump());
}

Status AgentClient::status()
{
	Json j = get("/v1/status");
	try {
		return j.get<Status>();
	} catch (const Json::exception &e) {
		throw Error(Errc::Failure, std::string("hac-agent sent a status this tool cannot read: ") + e.what());
	}
}

} // namespace hac
