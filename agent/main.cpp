// hac-agent: holds the device token, talks to the allocator, keeps the job log, serves tools.
#include <csignal>
#include <cstdio>
#include <sys/prctl.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>

#include "agent.hpp"
#include "systemd.hpp"

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

	// The options given here win over the file, at start and at every reload (SIGHUP).
	auto loadConfig = [&] {
		hac::AgentConfig config = hac::loadAgentConfig(configFile);
		if (!socket.empty())
			config.socket = socket;
		if (!logLevel.empty())
			config.logLevel = logLevel;
		return config;
	};
	try {
		hac::AgentConfig config = loadConfig();
		hac::setLogLevel(config.logLevel);
		hac::Agent agent(config, hac::systemdListenFd());
		agent.run(loadConfig);
		spdlog::info("stopped");
		return 0;
	} catch (const hac::Error &e) {
		spdlog::error("{}", e.what());
		return hac::toInt(e.code());
	} catch (const std::exception &e) {
		spdlog::error("{}", e.what());
		return 1;
	}
}
