// What hac-resize does once its command line is parsed.
#pragma once

#include <optional>
#include <string>

namespace hac::resize {

struct Options {
	std::string size;                   // empty: the menu on a terminal
	std::optional<int> device;          // --device; empty: the current device
	bool list = false;
	bool json = false;
	bool yes = false;
	std::optional<double> waitSeconds;  // --wait[=SECONDS]; 0 means without limit
	std::string socket;
};

// Prints what `options` ask for and returns the exit code; throws hac::Error.
int run(const Options &options);

} // namespace hac::resize
