// hac-node-report: a farm node's GPU figures from nvidia-smi, pushed to the allocator every few
// seconds with a node credential (man 8 hac-node-report).
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include <hac/error.hpp>

#include "common/run_tool.hpp"
#include "options.hpp"
#include "reporter.hpp"
#include "token_file.hpp"

int main(int argc, char **argv)
{
	using namespace hac;
	node_report::Options o;
	CLI::App app{"hac-node-report: report this farm node's GPUs (nvidia-smi --query-gpu) to the allocator.\n"
		     "Every --interval it runs nvidia-smi and sends its figures with POST /v1/nodes/NODE/telemetry,\n"
		     "authorised by a node credential ([[node_token]] in the allocator's config); it backs off\n"
		     "while nvidia-smi or the allocator fails, and stops on SIGTERM or SIGINT.\n"
		     "Exit codes: 0 stopped by a signal (or --once: reported), 1 failure (--once), 2 usage error or\n"
		     "a file that cannot be read, 4 the allocator did not answer (--once), 5 the token file is\n"
		     "open to others or the allocator refused the credential (401, 403), 9 nvidia-smi overran\n"
		     "--timeout (--once).",
		     "hac-node-report"};
	app.add_option("--allocator", o.allocator, "the allocator's URL, e.g. https://allocator.example:7443")
		->required()
		->type_name("URL");
	app.add_option("--token-file", o.tokenFile, "file holding the node credential (mode 0600)")
		->required()
		->type_name("PATH");
	app.add_option("--node", o.node, "this node's name at the allocator (default: the short host name)")
		->type_name("NAME");
	app.add_option("--interval", o.intervalSeconds, "seconds between reports (default 5)")
		->type_name("SECONDS")
		->check(CLI::Range(1, 3600));
	app.add_option("--nvidia-smi", o.nvidiaSmi, "the nvidia-smi to run (default: nvidia-smi in PATH)")
		->type_name("PATH");
	app.add_option("--ca-file", o.caFile, "trust only this CA (PEM) for an https:// allocator")->type_name("PATH");
	app.add_option("--timeout", o.timeoutSeconds,
		       "seconds each nvidia-smi run and each request may take (default 5)")
		->type_name("SECONDS")
		->check(CLI::Range(1, 300));
	app.add_flag("--once", o.once, "report once and exit: 0 when the allocator stored it");
	app.add_flag("--verbose", o.verbose, "log every report and every retry, not only changes");
	app.set_version_flag("-v,--version", std::string("hac-node-report ") + HAC_VERSION);
	tools::setUsage(app, "hac-node-report --allocator URL --token-file PATH [--node NAME] [--interval SECONDS] "
			     "[--nvidia-smi PATH] [--ca-file PATH] [--timeout SECONDS] [--once] [--verbose]");

	return tools::runTool(app, argc, argv, [&] {
		// SIGTERM and SIGINT go to one thread that stops the reporter; every other thread (libcurl's
		// too) inherits the blocked mask. The child nvidia-smi gets the default mask back.
		sigset_t stopSignals;
		sigemptyset(&stopSignals);
		sigaddset(&stopSignals, SIGTERM);
		sigaddset(&stopSignals, SIGINT);
		pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
		std::signal(SIGPIPE, SIG_IGN);

		node_report::checkOptions(o);
		std::string token = node_report::readTokenFile(o.tokenFile);
		node_report::Reporter reporter(o, std::move(token));
		std::thread signals([&reporter, stopSignals] {
			int signal = 0;
			sigwait(&stopSignals, &signal);
			reporter.stop();
		});
		int code = reporter.run();
		// The signal thread ends on a signal of its own, while the reporter it stops still exists.
		pthread_kill(signals.native_handle(), SIGTERM);
		signals.join();
		return code;
	});
}
