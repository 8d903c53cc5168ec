// hac-smi's entry point: the command line is in options.cpp, the work in smi.cpp.
#include <CLI/App.hpp>

#include "common/run_tool.hpp"
#include "device_admin.hpp"
#include "options.hpp"
#include "smi.hpp"

int main(int argc, char **argv)
{
	CLI::App app;
	hac::smi::Options options;
	hac::smi::DeviceCommand device;
	hac::smi::addOptions(app, options);
	hac::smi::addDeviceCommand(app, device);
	return hac::tools::runTool(app, argc, argv, [&] {
		if (!app.got_subcommand("device"))
			return hac::smi::run(options);
		hac::smi::checkDeviceCommand(device);
		return hac::smi::runDeviceCommand(device, options);
	});
}
