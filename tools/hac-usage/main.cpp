// hac-usage's entry point: the command line is in options.cpp, the work in usage.cpp.
#include <CLI/App.hpp>

#include "common/run_tool.hpp"
#include "options.hpp"
#include "usage.hpp"

int main(int argc, char **argv)
{
	CLI::App app;
	hac::usage::Options options;
	hac::usage::addOptions(app, options);
	return hac::tools::runTool(app, argc, argv, [&] { return hac::usage::run(options); });
}
