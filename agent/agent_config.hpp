// hac-agent's settings, read from agent.toml (man 5 hac-agent.toml).
#pragma once

#include <string>

namespace hac {

constexpr const char *kDefaultAgentConfig = "/etc/hac/agent.toml";

struct AllocatorSettings {
	std::string url = "http://127.0.0.1:7070";
	long connectTimeoutMs = 1000;
	long requestTimeoutMs = 5000;
	int heartbeatSeconds = 30;      // how often a reachable allocator is re-registered with
	int retryMaxSeconds = 60;       // the cap of the back-off while it is unreachable
};

// The usage records owed to the allocator while it is away.
struct OutboxSettings {
	long maxRecords = 10000;        // new jobs are refused at this many; completions never are
};

struct AgentConfig {
	std::string file;               // where it was read from; empty for built-in defaults
	std::string socket = "/run/hac/agent.sock";
	unsigned socketMode = 0660;
	std::string database = "/var/lib/hac/jobs.db";
	std::string tokenFile = "/etc/hac/token";
	std::string adminGroup = "hac-admin";
	std::string logLevel = "info";
	AllocatorSettings allocator;
	OutboxSettings outbox;
};

// Reads `file`; with an empty `file`, $HAC_CONFIG or else /etc/hac/agent.toml, whose absence
// means built-in defaults. Throws hac::Error naming file, line and key.
AgentConfig loadAgentConfig(const std::string &file);

} // namespace hac
