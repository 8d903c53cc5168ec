// libFuzzer target: agent.toml as any bytes. Loading either gives settings within their documented
// ranges or throws hac::Error naming the file; it never crashes, hangs or lets a bad value through.
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

#include <hac/error.hpp>
#include <service/config.hpp>

#include "agent_config.hpp"

namespace {

// One file per fuzzer process, rewritten for each input: loadAgentConfig reads a path.
const std::string &scratch()
{
	static const std::string path = [] {
		const char *dir = getenv("TMPDIR");
		return std::string(dir && *dir ? dir : "/tmp") + "/hac-fuzz-config-" + std::to_string(getpid()) + ".toml";
	}();
	return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string text(reinterpret_cast<const char *>(data), size);
	// The parser alone, from memory.
	try {
		hac::ConfigFile parsed = hac::ConfigFile::parse(text, "fuzz.toml");
		hac::ConfigSection &root = parsed.root();
		(void)root.string("socket");
		(void)root.integer("socket_mode", 0600, 0666);
		(void)root.boolean("flag", false);
		(void)root.strings("devices");
		for (const hac::ConfigSection &t : root.tables("token"))
			(void)t.string("token");
		root.finish();
	} catch (const hac::Error &) {
	}
	// The agent's whole reading, from a file as in production.
	FILE *f = std::fopen(scratch().c_str(), "wb");
	if (!f)
		return 0;
	std::fwrite(data, 1, size, f);
	std::fclose(f);
	try {
		hac::AgentConfig c = hac::loadAgentConfig(scratch());
		if (c.socketMode < 0600 || c.socketMode > 0666 || c.allocator.connectTimeoutMs < 10 ||
		    c.allocator.heartbeatSeconds < 1 || c.allocator.retryMaxSeconds < 1)
			__builtin_trap(); // a value outside its range got through
		if (c.logLevel != "debug" && c.logLevel != "info" && c.logLevel != "warning" && c.logLevel != "error")
			__builtin_trap();
		// Time limits are within a year and the default within the maximum; budgets are not negative.
		auto inYear = [](std::optional<std::int64_t> s) { return !s || (*s > 0 && *s <= 366LL * 86400); };
		if (!inYear(c.jobs.defaultTimeLimitSeconds) || !inYear(c.jobs.maxTimeLimitSeconds) ||
		    !inYear(c.jobs.killGraceSeconds) ||
		    (c.jobs.defaultTimeLimitSeconds && c.jobs.maxTimeLimitSeconds &&
		     *c.jobs.defaultTimeLimitSeconds > *c.jobs.maxTimeLimitSeconds) ||
		    (c.budget.monthlyLimitMicro && *c.budget.monthlyLimitMicro < 0) || c.budget.thresholds.empty() ||
		    (c.budget.onExhausted != "refuse" && c.budget.onExhausted != "stop"))
			__builtin_trap();
		// The metrics listener, when set, is on a loopback address and a real port.
		if (c.metrics.enabled() && (c.metrics.host.rfind("127.", 0) != 0 || c.metrics.port < 1 || c.metrics.port > 65535))
			__builtin_trap();
	} catch (const hac::Error &) {
	}
	return 0;
}
