// Versions and the token fingerprint, for people and as JSON.
#include "server_info.hpp"

#include <fmt/core.h>

#include <hac/error.hpp>

#include "common/render.hpp"

namespace hac::smi {

namespace {

std::string orUnknown(const std::string &s)
{
	return s.empty() ? "unknown" : sanitizeCell(s);
}

} // namespace

std::string renderServerVersion(const Status &status)
{
	const AllocatorStatus &a = status.allocator;
	std::string out = fmt::format("hac-smi    {}\nhac-agent  {}\nallocator  {}", HAC_VERSION,
				      orUnknown(status.agentVersion), orUnknown(a.version));
	if (!a.url.empty())
		out += fmt::format(" at {}", sanitizeCell(a.url));
	if (!a.reachable) {
		out += a.version.empty() ? " (not reached yet)" : " (unreachable: last known version)";
		// Why, as the agent last saw it: refused, timed out, a certificate it does not trust.
		if (!a.lastError.empty())
			out += fmt::format("\n           {}", sanitizeCell(a.lastError));
	}
	return out + "\n";
}

Json serverVersionDocument(const Status &status)
{
	return Json{
		{"schema_version", kSchemaVersion},
		{"client_version", HAC_VERSION},
		{"agent_version", status.agentVersion},
		{"allocator", {
			{"url", status.allocator.url},
			{"version", status.allocator.version},
			{"reachable", status.allocator.reachable},
			{"last_error", status.allocator.lastError},
		}},
	};
}

TokenInfo parseTokenInfo(const Json &answer)
{
	TokenInfo token;
	auto fingerprint = answer.find("fingerprint");
	if (fingerprint == answer.end() || !fingerprint->is_string() || fingerprint->get<std::string>().empty())
		throw Error(Errc::Failure, "hac-agent sent no token fingerprint: check that hac-agent and hac-smi "
					       "are of the same release");
	token.fingerprint = fingerprint->get<std::string>();
	if (auto account = answer.find("account"); account != answer.end() && account->is_string())
		token.account = account->get<std::string>();
	return token;
}

std::string renderTokenInfo(const TokenInfo &token)
{
	std::string out = fmt::format("Token fingerprint: {}\n", sanitizeCell(token.fingerprint));
	if (!token.account.empty())
		out += fmt::format("Account:           {}\n", sanitizeCell(token.account));
	return out;
}

Json tokenDocument(const TokenInfo &token)
{
	return Json{
		{"schema_version", kSchemaVersion},
		{"fingerprint", token.fingerprint},
		{"account", token.account},
	};
}

} // namespace hac::smi
