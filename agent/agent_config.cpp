// agent.toml: every key optional, every error naming file, line and key.
#include "agent_config.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/core.h>

#include <hac/budget.hpp>
#include <hac/duration.hpp>
#include <hac/number.hpp>
#include <net/address.hpp>
#include <service/config.hpp>

namespace hac {

namespace {

std::optional<std::int64_t> duration(const ConfigSection &section, const char *key)
{
	auto text = section.string(key);
	if (!text)
		return std::nullopt;
	auto seconds = parseDuration(*text);
	if (!seconds)
		section.fail(key, fmt::format("'{}' is not a duration; write e.g. \"90m\", \"2h\", \"1d\", \"1:30:00\" or "
					      "\"1-00:00:00\" (more than 0, at most a year)", *text));
	return seconds;
}

std::int64_t money(const ConfigSection &section, const char *key, const std::string &text)
{
	auto micro = parseMoney(text);
	if (!micro)
		section.fail(key, fmt::format("'{}' is not an amount; write it as a string of digits with at most six "
					      "decimals, in the catalog's currency, e.g. \"500\" or \"12.50\"", text));
	return *micro;
}

void readJobs(const ConfigSection &section, JobSettings &jobs)
{
	jobs.defaultTimeLimitSeconds = duration(section, "default_time_limit");
	jobs.maxTimeLimitSeconds = duration(section, "max_time_limit");
	if (auto grace = duration(section, "kill_grace"))
		jobs.killGraceSeconds = *grace;
	if (jobs.defaultTimeLimitSeconds && jobs.maxTimeLimitSeconds && *jobs.defaultTimeLimitSeconds > *jobs.maxTimeLimitSeconds)
		section.fail("default_time_limit", fmt::format("{} is above max_time_limit ({}); lower it or raise the maximum",
							       formatDuration(*jobs.defaultTimeLimitSeconds),
							       formatDuration(*jobs.maxTimeLimitSeconds)));
	section.finish();
}

void readBudget(const ConfigSection &section, BudgetSettings &budget)
{
	if (auto limit = section.string("monthly_limit"))
		budget.monthlyLimitMicro = money(section, "monthly_limit", *limit);
	if (auto thresholds = section.integers("thresholds", 1, 1000)) {
		if (thresholds->empty())
			section.fail("thresholds", "expected at least one percentage, e.g. [50, 80, 100]");
		budget.thresholds.assign(thresholds->begin(), thresholds->end());
		std::sort(budget.thresholds.begin(), budget.thresholds.end());
		budget.thresholds.erase(std::unique(budget.thresholds.begin(), budget.thresholds.end()), budget.thresholds.end());
	}
	budget.onExhausted = section.string("on_exhausted", budget.onExhausted);
	if (budget.onExhausted != "refuse" && budget.onExhausted != "stop")
		section.fail("on_exhausted", "expected \"refuse\" (new jobs are refused) or \"stop\" (running jobs are ended too)");
	for (const ConfigSection &user : section.tables("user")) {
		auto name = user.string("name");
		auto limit = user.string("monthly_limit");
		if (!name || name->empty())
			user.fail("name", "missing: each [[budget.user]] names a login name");
		if (!limit)
			user.fail("monthly_limit", "missing: each [[budget.user]] gives its monthly_limit");
		budget.userLimitsMicro.emplace_back(*name, money(user, "monthly_limit", *limit));
		user.finish();
	}
	section.finish();
}

} // namespace

std::string MetricsSettings::listen() const
{
	return enabled() ? fmt::format("{}:{}", host, port) : std::string();
}

MetricsSettings parseMetricsListen(const std::string &text)
{
	std::size_t colon = text.rfind(':');
	if (colon == std::string::npos || colon == 0 || text.front() == '[')
		throw std::invalid_argument(fmt::format("'{}' is not HOST:PORT; write a loopback address and a port, e.g. "
							"\"127.0.0.1:9464\"", text));
	std::string host = text.substr(0, colon);
	auto port = parseInteger<int>(std::string_view(text).substr(colon + 1), 1, 65535);
	if (!port)
		throw std::invalid_argument(fmt::format("'{}' is not a port (1 to 65535); write e.g. \"127.0.0.1:9464\"",
							text.substr(colon + 1)));
	in_addr addr{};
	if (inet_pton(AF_INET, host.c_str(), &addr) != 1)
		throw std::invalid_argument(fmt::format("'{}' is not an IPv4 address; the metrics listener serves on a loopback "
							"address only, e.g. \"127.0.0.1:{}\"", host, *port));
	if (!isLoopbackHost(host))
		throw std::invalid_argument(fmt::format("{} is not a loopback address: the metrics listener has no "
							"authentication, so it serves on 127.0.0.0/8 only (e.g. \"127.0.0.1:{}\"); "
							"to scrape from elsewhere, run Prometheus or a proxy on this VM",
							host, *port));
	return MetricsSettings{host, *port};
}

AgentConfig loadAgentConfig(const std::string &file)
{
	AgentConfig config;
	std::string path = file;
	if (path.empty()) {
		const char *env = std::getenv("HAC_CONFIG");
		path = env && *env ? env : kDefaultAgentConfig;
		struct stat st{};
		if (!(env && *env) && stat(path.c_str(), &st) != 0)
			return config;
	}
	ConfigFile parsed = ConfigFile::load(path);
	const ConfigSection &root = parsed.root();
	config.file = path;
	config.socket = root.string("socket", config.socket);
	config.socketMode = static_cast<unsigned>(root.integer("socket_mode", config.socketMode, 0600, 0666));
	config.database = root.string("database", config.database);
	config.tokenFile = root.string("token_file", config.tokenFile);
	config.adminGroup = root.string("admin_group", config.adminGroup);
	config.logLevel = root.string("log_level", config.logLevel);
	if (config.logLevel != "debug" && config.logLevel != "info" && config.logLevel != "warning" &&
	    config.logLevel != "error")
		root.fail("log_level", "expected one of debug, info, warning, error");
	if (auto section = root.table("allocator")) {
		AllocatorSettings &a = config.allocator;
		a.url = section->string("url", a.url);
		if (a.url.rfind("http://", 0) != 0 && a.url.rfind("https://", 0) != 0)
			section->fail("url", "expected an http:// or https:// URL");
		// The device token goes with every request: over plain HTTP, anyone on the path reads it.
		if (a.url.rfind("http://", 0) == 0 && !isLoopbackHost(urlHost(a.url)))
			section->fail("url", fmt::format("http:// to {} would send the device token in clear over the network; "
							 "use https:// (with ca_file = the operator's CA), or an allocator "
							 "on a loopback address", urlHost(a.url)));
		auto file = [&](std::string_view key) {
			std::string path = section->string(key, "");
			if (!path.empty() && access(path.c_str(), R_OK) != 0)
				section->fail(key, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
			return path;
		};
		a.caFile = file("ca_file");
		a.clientCertFile = file("client_cert_file");
		a.clientKeyFile = file("client_key_file");
		if (a.clientCertFile.empty() != a.clientKeyFile.empty())
			section->fail(a.clientCertFile.empty() ? "client_cert_file" : "client_key_file",
				      "give client_cert_file and client_key_file together");
		if ((!a.caFile.empty() || !a.clientCertFile.empty()) && a.url.rfind("https://", 0) != 0)
			section->fail(a.caFile.empty() ? "client_cert_file" : "ca_file", "applies to an https:// url only");
		a.connectTimeoutMs = section->integer("connect_timeout_ms", a.connectTimeoutMs, 10, 60000);
		a.requestTimeoutMs = section->integer("request_timeout_ms", a.requestTimeoutMs, 10, 600000);
		a.heartbeatSeconds = static_cast<int>(section->integer("heartbeat_seconds", a.heartbeatSeconds, 1, 3600));
		a.retryMaxSeconds = static_cast<int>(section->integer("retry_max_seconds", a.retryMaxSeconds, 1, 3600));
		section->finish();
	}
	if (auto section = root.table("outbox")) {
		config.outbox.maxRecords = section->integer("max_records", config.outbox.maxRecords, 2, 100000000);
		section->finish();
	}
	if (auto section = root.table("jobs"))
		readJobs(*section, config.jobs);
	if (auto section = root.table("budget"))
		readBudget(*section, config.budget);
	if (auto section = root.table("metrics")) {
		if (auto listen = section->string("listen")) {
			try {
				config.metrics = parseMetricsListen(*listen);
			} catch (const std::invalid_argument &e) {
				section->fail("listen", e.what());
			}
		}
		section->finish();
	}
	root.finish();
	return config;
}

} // namespace hac
