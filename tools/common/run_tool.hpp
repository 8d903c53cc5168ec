// The frame of every tool's main(): parse the command line, run, and map failures to exit codes.
#pragma once

#include <functional>
#include <string>

#include <CLI/App.hpp>

#include <hac/exit_code.hpp>
#include <hac/json.hpp>

namespace hac::tools {

// Makes help and usage errors show `usage` ("hac-smi [-i N] [--json]...") instead of CLI11's
// generic "[OPTIONS]".
void setUsage(CLI::App &app, std::string usage);

// Parses argv into `app`, then runs `body` and returns its exit code. -h and -v print to stdout
// and return 0; a bad command line prints "TOOL: message" and the usage line to stderr and returns
// 2; hac::Error prints "TOOL: message" and returns its code; any other exception returns 1. Output
// that could not be written (a full disk, say) is a failure too.
// With --json on the command line, a failure also prints {"schema_version": 1, "error": ...} on
// stdout, unless the tool has already printed its own document for it (errorDocumentWritten()).
int runTool(CLI::App &app, int argc, char **argv, const std::function<int()> &body);

// The "error" object of the JSON printed on a failure: code (the exit status's name), message, exit_status.
Json jsonError(ExitCode code, const std::string &message);
// The tool printed a JSON document that carries the failure: runTool adds none.
void errorDocumentWritten();

} // namespace hac::tools
