// hac-run: run any command as an accounted job on the virtual accelerator (for CI scripts).
#include <climits>
#include <string>

#include <CLI/App.hpp>

#include "common/number_check.hpp"
#include "common/run_tool.hpp"
#include "launch.hpp"

int main(int argc, char **argv)
{
	CLI::App app{"Run a command as an accounted job on the virtual accelerator. The job is registered\n"
		     "before the command starts, ends with it, and hac-run exits with the command's exit code\n"
		     "(128+signal when a signal ended it). Exit codes of its own: 2 usage, 3 agent unreachable,\n"
		     "4 allocator unreachable, 5 permission denied, 6 device busy with --no-wait, 7 no such device."};
	app.name(HAC_TOOL);
	app.set_version_flag("-v,--version", std::string(HAC_TOOL " " HAC_VERSION), "Print hac-run's version and exit");
	hac::run::Options options;
	app.add_option("-d,--device", options.device, "Device index (default: $HAC_VISIBLE_DEVICE, else the current device)")
		->check(hac::tools::wholeNumber(0, INT_MAX, "a device index"));
	app.add_flag("--no-wait", options.noWait, "Fail at once (exit 6) when the device is busy instead of waiting");
	app.add_option("-n,--name", options.name, "A name for the job, shown by hac-smi and hac-usage");
	app.add_option("--socket", options.socket, "hac-agent's socket (default: $HAC_SOCKET, else /run/hac/agent.sock)");
	app.add_option("command", options.command, "The command and its arguments, after --")->required();
	app.positionals_at_end();
	hac::tools::setUsage(app, "hac-run [--device N] [--no-wait] [--name NAME] -- CMD [ARGS...]");
	return hac::tools::runTool(app, argc, argv, [&] { return hac::run::launch(options); });
}
