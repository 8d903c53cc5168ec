// hac-smi's entry point: the command line is in options.cpp, the work in smi.cpp.
#include <CLI/App.hpp>

#include "common/run_tool.hpp"
#include "options.hpp"
#include "smi.hpp"

int main(int argc, char **argv)
{
	CLI::App app;
	hac::smi::Options options;
	hac::smi::addOptions(app, options);
	return hac::tools::runTool(app, argc, argv, [&] { return hac::smi::run(options); });
}
