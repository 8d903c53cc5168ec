// hac-smi's options, with moreh-smi's short names and nvidia-smi's --query/--format/--loop.
// Combinations that make no sense are usage errors here, before any request is made.
#include "options.hpp"

#include <CLI/CLI.hpp>

#include <climits>

#include "common/number_check.hpp"
#include "common/run_tool.hpp"

namespace hac::smi {

void addOptions(CLI::App &app, Options &options)
{
	app.name(HAC_TOOL);
	app.description("hac-smi: the virtual accelerators of this VM, their memory use and the jobs on them.");
	hac::tools::setUsage(app, "hac-smi [-p] [-i N] [--json | --query FIELD,... [--format csv[,noheader][,nounits]]]\n"
				  "               [-l SECONDS [--count N]] [-s | -t | -r [-i N]] [-v] [--socket PATH]\n"
				  "       hac-smi device list | add [SIZE] | rm [N] | switch [N]");
	app.footer("Exit status: 0 ok, 2 usage error, 3 hac-agent not reachable, 4 allocator not reachable,\n"
		   "5 permission denied (another user's job; device commands need root or hac-admin),\n"
		   "6 conflict (device in use, device limit, ambiguous SIZE), 7 no such device, size or job to release.\n"
		   "Environment: HAC_SOCKET (the agent's socket, default /run/hac/agent.sock).");
	app.set_version_flag("-v,--version", std::string(HAC_TOOL " " HAC_VERSION), "Print hac-smi's version and exit");

	app.add_option_function<int>("-i,--idx", [&options](int i) { options.index = i; },
				     "Show only the device with this index")
		->type_name("N")
		->check(tools::wholeNumber(0, INT_MAX, "a device index"));
	auto *server = app.add_flag("-s,--server-version", options.serverVersion,
				    "Print the versions of hac-smi, hac-agent and the allocator");
	auto *token = app.add_flag("-t,--token", options.token,
				   "Print the fingerprint of the device token the agent uses (never the token)");
	auto *reset = app.add_flag("-r,--reset", options.reset,
				   "Release the job on the device (-i N, else the current device) and its GPUs;\n"
				   "another user's job needs root or hac-admin");
	auto *physical = app.add_flag("-p,--physical", options.physical,
				      "Show the physical GPUs the running jobs hold, one row each: node:index,\n"
				      "utilization, memory, temperature, power, how old the figures are");
	auto *json = app.add_flag("--json", options.json,
				  "Print JSON (with \"schema_version\"); with --loop one object per line");
	auto *query = app.add_option("--query,--query-gpu", options.query,
				     "Print these device fields as CSV, one row per device (see --help-query)")
			      ->type_name("FIELD,...")
			      ->check(tools::nonEmpty("at least one field, e.g. --query index,memory.used (see --help-query)"));
	auto *format = app.add_option("--format", options.format,
				      "csv, optionally followed by ,noheader and ,nounits (default: csv)")
			       ->type_name("csv[,noheader][,nounits]");
	app.add_flag("--help-query", options.helpQuery, "List the fields --query takes (with -p, those of -p) and exit");
	auto *loop = app.add_option_function<double>("-l,--loop", [&options](double s) { options.loopSeconds = s; },
						      "Repeat every SECONDS until interrupted (SIGINT or SIGTERM end it with status 0)")
			     ->type_name("SECONDS")
			     ->check(tools::seconds(0.1, 86400.0));
	auto *count = app.add_option_function<std::uint64_t>("--count", [&options](std::uint64_t n) { options.count = n; },
							     "With --loop: stop after N rounds")
			      ->type_name("N")
			      ->check(tools::wholeNumber(1, 1LL << 40, "a number of rounds"));
	app.add_option("--socket", options.socket, "The agent's socket (default: $HAC_SOCKET, else /run/hac/agent.sock)")
		->type_name("PATH");

	format->needs(query);
	count->needs(loop);
	json->excludes(query);
	server->excludes(token)->excludes(query)->excludes(loop);
	token->excludes(query)->excludes(loop);
	reset->excludes(server)->excludes(token)->excludes(query)->excludes(loop);
	physical->excludes(server)->excludes(token)->excludes(reset);
	app.get_option("--idx")->excludes(server)->excludes(token);
}

} // namespace hac::smi
