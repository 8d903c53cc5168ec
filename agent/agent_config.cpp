// agent.toml: every key optional, every error naming file, line and key.
#include "agent_config.hpp"

#include <cstdlib>
#include <sys/stat.h>

#include <hac/config.hpp>

namespace hac {

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
	root.finish();
	return config;
}

} // namespace hac
