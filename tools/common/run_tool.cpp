// One place where CLI11's errors and hac::Error become the exit codes (README.md, "Exit codes"),
// so every tool reports a bad option or an unreachable agent the same way.
#include "run_tool.hpp"

#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/exit_code.hpp>
#include <hac/json.hpp>
#include <hac/types.hpp>

#include "output.hpp"

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

// The command line asks for JSON: --json, or hac-usage's --format json. Read from argv, not from
// the parsed options, so a command line CLI11 refused gets its error as JSON too.
bool wantsJson(int argc, char **argv)
{
	for (int i = 1; i < argc; ++i) {
		std::string arg = argv[i];
		if (arg == "--")
			return false;
		if (arg == "--json" || arg == "--format=json" || (arg == "--format" && i + 1 < argc && std::string(argv[i + 1]) == "json"))
			return true;
	}
	return false;
}

const char *exitCodeName(int code)
{
	switch (static_cast<ExitCode>(code)) {
	case ExitCode::Usage: return "usage";
	case ExitCode::AgentUnreachable: return "agent_unreachable";
	case ExitCode::AllocatorUnreachable: return "allocator_unreachable";
	case ExitCode::PermissionDenied: return "permission_denied";
	case ExitCode::Conflict: return "conflict";
	case ExitCode::NotFound: return "not_found";
	case ExitCode::VerificationFailed: return "verification_failed";
	case ExitCode::TimedOut: return "timed_out";
	case ExitCode::NeedsFix: return "needs_fix";
	case ExitCode::BudgetExhausted: return "budget_exhausted";
	default: return "failure";
	}
}

bool errorDocumentDone = false;

// With --json a script reads the failure from stdout as well as from stderr (README, "Exit codes").
void printJsonError(bool json, int code, const std::string &message)
{
	if (!json || errorDocumentDone)
		return;
	Json doc = {{"schema_version", kSchemaVersion}, {"error", jsonError(static_cast<ExitCode>(code), message)}};
	std::fflush(stdout);
	printJson(doc);
}

} // namespace

Json jsonError(ExitCode code, const std::string &message)
{
	return Json{{"code", exitCodeName(toInt(code))}, {"message", message}, {"exit_status", toInt(code)}};
}

void errorDocumentWritten()
{
	errorDocumentDone = true;
}

void setUsage(CLI::App &app, std::string usage)
{
	app.formatter(std::make_shared<UsageFormatter>(std::move(usage)));
}

int runTool(CLI::App &app, int argc, char **argv, const std::function<int()> &body)
{
	const std::string tool = app.get_name();
	const bool json = wantsJson(argc, argv);
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
		printJsonError(json, toInt(ExitCode::Usage), e.what());
		return finishOutput(tool, toInt(ExitCode::Usage));
	}

	int code;
	try {
		code = body();
	} catch (const Error &e) {
		std::fflush(stdout);
		fmt::print(stderr, "{}: {}\n", tool, e.what());
		code = toInt(exitCode(e.code()));
		if (e.code() == Errc::Usage)
			fmt::print(stderr, "{}", usageLine(app));
		printJsonError(json, code, e.what());
	} catch (const std::exception &e) {
		std::fflush(stdout);
		fmt::print(stderr, "{}: internal error: {}\n", tool, e.what());
		code = toInt(ExitCode::Failure);
		printJsonError(json, code, std::string("internal error: ") + e.what());
	}
	return finishOutput(tool, code);
}

} // namespace hac::tools
