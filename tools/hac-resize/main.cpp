// hac-resize's command line: change the size (SKU) of a virtual accelerator.
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/number_check.hpp"
#include "common/run_tool.hpp"
#include "resize.hpp"

namespace {

// "--wait 2xlarge": CLI11 would read the size as --wait's SECONDS. A bare --wait followed by
// anything but a number means "no limit", as if written --wait=0.
std::vector<std::string> bareWaitFixed(int argc, char **argv)
{
	std::vector<std::string> args(argv, argv + argc);
	for (std::size_t i = 1; i < args.size(); ++i) {
		if (args[i] == "--")
			break;
		if (args[i] != "--wait")
			continue;
		const std::string next = i + 1 < args.size() ? args[i + 1] : "";
		char *end = nullptr;
		std::strtod(next.c_str(), &end);
		if (next.empty() || *end != '\0')
			args[i] = "--wait=0";
	}
	return args;
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> fixed = bareWaitFixed(argc, argv);
	std::vector<char *> args;
	for (std::string &a : fixed)
		args.push_back(a.data());
	argc = static_cast<int>(args.size());
	argv = args.data();
	CLI::App app;
	hac::resize::Options options;
	app.name(HAC_TOOL);
	app.description("hac-resize: change the size (SKU) of a virtual accelerator of this VM.\n"
			"SIZE is a full name (2xLarge.192GB) or the part before the dot (2xlarge), in any case.\n"
			"Without SIZE on a terminal it offers a menu of the sizes.");
	hac::tools::setUsage(app, "hac-resize [SIZE] [--device N] [--wait[=SECONDS]] [--yes] [--json] [--socket PATH]\n"
				  "       hac-resize --list [--json]");
	app.footer("Only root and members of group hac-admin may change a size. A job's usage is billed at the\n"
		   "size it ran at; each change is recorded in the job log.\n"
		   "Exit status: 0 ok (or unchanged), 1 failure, 2 usage error, 3 hac-agent not reachable,\n"
		   "4 allocator not reachable, 5 permission denied, 6 device in use or ambiguous SIZE,\n"
		   "7 no such size or device, 9 --wait timed out.");
	app.set_version_flag("-v,--version", std::string(HAC_TOOL " " HAC_VERSION), "Print hac-resize's version and exit");
	app.add_option("size", options.size, "The new size, e.g. 2xlarge or 2xLarge.192GB")->type_name("SIZE");
	app.add_option_function<int>("-d,--device", [&options](int n) { options.device = n; },
				     "The device to resize (default: the current device)")
		->type_name("N")
		->check(hac::tools::wholeNumber(0, INT_MAX, "a device index"));
	auto *list = app.add_flag("-l,--list", options.list, "List the sizes: GPUs, memory, price per minute; the current one marked *");
	app.add_flag("--json", options.json, "Print JSON (with \"schema_version\")");
	auto *yes = app.add_flag("-y,--yes", options.yes, "Do not ask for confirmation on a terminal");
	auto *wait = app.add_option_function<double>("--wait", [&options](double s) { options.waitSeconds = s; },
						      "While a job runs on the device, wait for it to end (up to SECONDS; no limit without)")
			     ->type_name("[=SECONDS]")
			     ->expected(0, 1)
			     ->default_str("0")
			     ->check(hac::tools::seconds(0.0, 7 * 86400.0));
	app.add_option("--socket", options.socket, "The agent's socket (default: $HAC_SOCKET, else /run/hac/agent.sock)")
		->type_name("PATH");
	list->excludes(yes)->excludes(wait)->excludes("size");
	return hac::tools::runTool(app, argc, argv, [&] { return hac::resize::run(options); });
}
