// One place where CLI11's errors and hac::Error become the exit codes (README.md, "Exit codes"),
// so every tool reports a bad option or an unreachable agent the same way.
#include "run_tool.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/exit_code.hpp>

namespace hac::tools {

namespace {

class UsageFormatter : public CLI::Formatter {
public:
	explicit UsageFormatter(std::string usage) : usage_(std::move(usage)) {}

	std::string make_usage(const CLI::App *, std::string) const override
	{
		return "Usage: " + usage_ + "\n";
	}

	// Only the value's name ("-i N"): CLI11's "Excludes: ..." and validator notes clutter the help,
	// and a wrong combination is reported plainly when it is used.
	std::string make_option_opts(const CLI::Option *opt) const override
	{
		if (opt->get_type_size() == 0)
			return {};
		std::string name = opt->get_type_name();
		return " " + name.substr(0, name.find(':'));
	}

private:
	std::string usage_;
};

std::string usageLine(const CLI::App &app)
{
	if (auto *formatter = dynamic_cast<const CLI::Formatter *>(app.get_formatter().get()))
		return formatter->make_usage(&app, app.get_name());
	return "Usage: " + app.get_name() + " [OPTIONS]\n";
}

// stdout is flushed here and not at exit, where a write error would go unnoticed.
int finishOutput(const std::string &tool, int code)
{
	if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
		std::fprintf(stderr, "%s: cannot write the output: %s\n", tool.c_str(), std::strerror(errno));
		return code == 0 ? toInt(ExitCode::Failure) : code;
	}
	return code;
}

} // namespace

void setUsage(CLI::App &app, std::string usage)
{
	app.formatter(std::make_shared<UsageFormatter>(std::move(usage)));
}

int runTool(CLI::App &app, int argc, char **argv, const std::function<int()> &body)
{
	const std::string tool = app.get_name();
	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &) {
		fmt::print("{}", app.help());
		return finishOutput(tool, 0);
	} catch (const CLI::CallForVersion &e) {
		fmt::print("{}\n", e.what());
		return finishOutput(tool, 0);
	} catch (const CLI::ParseError &e) {
		fmt::print(stderr, "{}: {}\n{}Run '{} --help' for more information.\n", tool, e.what(),
			   usageLine(app), tool);
		return toInt(ExitCode::Usage);
	}

	int code;
	try {
		code = body();
	} catch (const Error &e) {
		std::fflush(stdout);
		fmt::print(stderr, "{}: {}\n", tool, e.what());
		code = toInt(e.code());
		if (e.code() == ExitCode::Usage)
			fmt::print(stderr, "{}", usageLine(app));
	} catch (const std::exception &e) {
		std::fflush(stdout);
		fmt::print(stderr, "{}: internal error: {}\n", tool, e.what());
		code = toInt(ExitCode::Failure);
	}
	return finishOutput(tool, code);
}

} // namespace hac::tools
