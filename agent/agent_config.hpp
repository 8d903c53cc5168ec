// hac-agent's settings, read from agent.toml (man 5 hac-agent.toml).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hac {

constexpr const char *kDefaultAgentConfig = "/etc/hac/agent.toml";

struct AllocatorSettings {
	std::string url = "http://127.0.0.1:7070";
	long connectTimeoutMs = 1000;
	long requestTimeoutMs = 5000;
	int heartbeatSeconds = 30;      // how often a reachable allocator is re-registered with
	int retryMaxSeconds = 60;       // the cap of the back-off while it is unreachable
	std::string caFile;             // https: trust this CA only (the operator's); empty: the system's
	std::string clientCertFile;     // https: our certificate, for an allocator that asks for one
	std::string clientKeyFile;
};

// The usage records owed to the allocator while it is away.
struct OutboxSettings {
	long maxRecords = 10000;        // new jobs are refused at this many; completions never are
};

// Time limits on jobs, as Slurm's --time (hac-run --time).
struct JobSettings {
	std::optional<std::int64_t> defaultTimeLimitSeconds;  // for a job that asks for none; none: no limit
	std::optional<std::int64_t> maxTimeLimitSeconds;      // a request above it is refused, not cut
	std::int64_t killGraceSeconds = 30;                   // SIGTERM at the limit, SIGKILL this long after
};

// A monthly budget on the VM's spending (UTC months, in the catalog's currency), and per user.
struct BudgetSettings {
	std::optional<std::int64_t> monthlyLimitMicro;       // none: spending is shown, nothing refused
	std::vector<std::pair<std::string, std::int64_t>> userLimitsMicro; // login name -> limit
	std::vector<int> thresholds = {50, 80, 100};         // percent, ascending; each said once a month
	std::string onExhausted = "refuse";                  // refuse: new jobs; stop: running jobs too

	bool any() const { return monthlyLimitMicro || !userLimitsMicro.empty(); }
};

// The opt-in TCP listener that serves GET /metrics to Prometheus, which does not scrape Unix
// sockets. Loopback only: it has no authentication.
struct MetricsSettings {
	std::string host;               // empty: no listener (the default)
	int port = 0;

	bool enabled() const { return !host.empty(); }
	std::string listen() const;     // "HOST:PORT", or "" when not enabled
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
	JobSettings jobs;
	BudgetSettings budget;
	MetricsSettings metrics;
};

// "HOST:PORT" with HOST a loopback IPv4 address (127.0.0.0/8) and PORT 1-65535; otherwise the reason
// it is refused, as the message of an std::invalid_argument.
MetricsSettings parseMetricsListen(const std::string &text);

// Reads `file`; with an empty `file`, $HAC_CONFIG or else /etc/hac/agent.toml, whose absence
// means built-in defaults. Throws hac::Error naming file, line and key.
AgentConfig loadAgentConfig(const std::string &file);

} // namespace hac
