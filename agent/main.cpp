// hac-agent: holds the device token, talks to the allocator, keeps the job log, serves tools.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <sys/prctl.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>
#include <hac/exit_code.hpp>
#include <hac/number.hpp>

#include "agent.hpp"
#include "systemd.hpp"

namespace {

// systemctl reload's half, run as ExecReload= (systemd 252 has no ReloadSignal=, and a minimal
// system has no /bin/kill): refuses a config that does not load, so the reload fails with the
// reason, then sends SIGHUP to the agent systemd names in $MAINPID; the agent rereads the file.
int reloadRunning(const std::function<hac::AgentConfig()> &loadConfig)
{
	const char *mainPid = std::getenv("MAINPID");
	auto pid = hac::parseInteger<pid_t>(mainPid ? mainPid : "", 2, std::numeric_limits<pid_t>::max());
	if (!pid) {
		std::fprintf(stderr, "hac-agent: --reload needs $MAINPID, the agent's pid, which systemd sets for the unit's "
				     "ExecReload=: run 'systemctl reload hac-agent' (or send SIGHUP to the agent yourself)\n");
		return hac::toInt(hac::ExitCode::Usage);
	}
	try {
		loadConfig();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "hac-agent: config reload refused: %s; the running config stays\n", e.what());
		return hac::toInt(hac::ExitCode::Failure);
	}
	if (kill(*pid, SIGHUP) != 0) {
		int err = errno;
		std::fprintf(stderr, "hac-agent: cannot signal the agent (pid %d): %s\n", static_cast<int>(*pid), std::strerror(err));
		return hac::toInt(err == EPERM ? hac::ExitCode::PermissionDenied : hac::ExitCode::Failure);
	}
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"hac-agent: the service that lends this VM's virtual accelerator its GPUs"};
	std::string configFile;
	std::string socket;
	std::string logLevel;
	app.add_option("-c,--config", configFile, "Config file (default: $HAC_CONFIG or /etc/hac/agent.toml)");
	app.add_option("--socket", socket, "Unix socket to serve the local API on (default: from the config, /run/hac/agent.sock)");
	app.add_option("--log-level", logLevel, "debug, info, warning or error (default: from the config, info)")
		->check(CLI::IsMember({"debug", "info", "warning", "error"}));
	bool reload = false;
	app.add_flag("--reload", reload,
		     "Check the config, then tell the running agent ($MAINPID) to reload it: the unit's ExecReload=");
	app.add_flag_callback("-v,--version", [] {
		std::printf("hac-agent %s\n", HAC_VERSION);
		throw CLI::Success();
	}, "Print the version and exit");
	try {
		app.parse(argc, argv);
	} catch (const CLI::Success &e) { // --help, --version
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		// CLI11's own codes (105, 109...) are not ours: a bad command line is 2 in every hac tool,
		// said as the tools say it.
		std::fprintf(stderr, "hac-agent: %s\nRun 'hac-agent --help' for more information.\n", e.what());
		return hac::toInt(hac::ExitCode::Usage);
	}

	// The options given here win over the file, at start and at every reload (SIGHUP).
	auto loadConfig = [&] {
		hac::AgentConfig config = hac::loadAgentConfig(configFile);
		if (!socket.empty())
			config.socket = socket;
		if (!logLevel.empty())
			config.logLevel = logLevel;
		return config;
	};
	if (reload)
		return reloadRunning(loadConfig);

	// The process holds the token: no core dumps, no ptrace by other processes of the same user.
	prctl(PR_SET_DUMPABLE, 0);

	// Under systemd the journal stamps each line; elsewhere the log carries its own time.
	auto logger = spdlog::stderr_logger_mt("hac-agent");
	logger->set_pattern(std::getenv("JOURNAL_STREAM") ? "%l: %v" : "%Y-%m-%d %H:%M:%S.%e %l: %v");
	spdlog::set_default_logger(logger);

	// Blocked in every thread, so run() takes them from its signalfd.
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, nullptr);
	std::signal(SIGPIPE, SIG_IGN);

	try {
		hac::AgentConfig config = loadConfig();
		hac::setLogLevel(config.logLevel);
		hac::Agent agent(config, hac::systemdListenFd());
		agent.run(loadConfig);
		spdlog::info("stopped");
		return 0;
	} catch (const hac::Error &e) {
		spdlog::error("{}", e.what());
		return hac::toInt(hac::exitCode(e.code()));
	} catch (const std::exception &e) {
		spdlog::error("{}", e.what());
		return 1;
	}
}
