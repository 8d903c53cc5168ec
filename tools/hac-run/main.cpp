// hac-run: run any command as an accounted job on the virtual accelerator (for CI scripts).
#include <climits>
#include <string>

#include <CLI/App.hpp>

#include <hac/duration.hpp>

#include "common/number_check.hpp"
#include "common/run_tool.hpp"
#include "launch.hpp"

int main(int argc, char **argv)
{
	CLI::App app{"Run a command as an accounted job on the virtual accelerator. The job is registered\n"
		     "before the command starts, ends with it, and hac-run exits with the command's exit code\n"
		     "(128+signal when a signal ended it). Exit codes of its own: 2 usage, 3 agent unreachable,\n"
		     "4 allocator unreachable, 5 permission denied, 6 device busy with --no-wait, 7 no such device,\n"
		     "11 the month's budget is spent (new jobs are refused). A job ended at its --time limit gets\n"
		     "SIGTERM, then SIGKILL after the agent's kill grace: hac-run exits 143 or 137."};
	app.name(HAC_TOOL);
	app.set_version_flag("-v,--version", std::string(HAC_TOOL " " HAC_VERSION), "Print hac-run's version and exit");
	hac::run::Options options;
	app.add_option("-d,--device", options.device, "Device index (default: $HAC_VISIBLE_DEVICE, else the current device)")
		->check(hac::tools::wholeNumber(0, INT_MAX, "a device index"));
	app.add_flag("--no-wait", options.noWait, "Fail at once (exit 6) when the device is busy instead of waiting");
	app.add_option("-n,--name", options.name, "A name for the job, shown by hac-smi and hac-usage");
	app.add_option_function<std::string>("-t,--time", [&](const std::string &text) {
		   auto seconds = hac::parseDuration(text);
		   if (!seconds)
			   throw CLI::ValidationError("--time", "'" + text + "' is not a duration; write e.g. 90m, 2h, 1d, 1h30m, "
							       "1:30:00 or 1-00:00:00 (more than 0, at most a year)");
		   options.timeLimitSeconds = *seconds;
	   }, "End the job after DURATION (90m, 2h, 1d, H:MM:SS, D-HH:MM:SS; default: the agent's default_time_limit)")
		->type_name("DURATION");
	app.add_option("--socket", options.socket, "hac-agent's socket (default: $HAC_SOCKET, else /run/hac/agent.sock)");
	app.add_option("command", options.command, "The command and its arguments, after --")->required();
	app.positionals_at_end();
	hac::tools::setUsage(app, "hac-run [--device N] [--no-wait] [--name NAME] [--time DURATION] -- CMD [ARGS...]");
	return hac::tools::runTool(app, argc, argv, [&] { return hac::run::launch(options); });
}
