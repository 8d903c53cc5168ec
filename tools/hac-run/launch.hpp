// Running a command as an accounted job: registered before it runs, ended with its exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hac::run {

struct Options {
	std::optional<int> device;
	bool noWait = false;
	std::string name;
	std::string socket;
	std::optional<std::int64_t> timeLimitSeconds; // --time; none: the agent's default
	std::vector<std::string> command;
};

// Returns the command's exit code, or 128+signal when a signal ended it.
int launch(const Options &options);

} // namespace hac::run
