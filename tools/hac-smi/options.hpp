// hac-smi's command line: the options and what each asks for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <CLI/App.hpp>

namespace hac::smi {

struct Options {
	std::string socket;                 // --socket; empty: $HAC_SOCKET or the default
	std::optional<int> index;           // -i: only this device
	bool serverVersion = false;         // -s
	bool token = false;                 // -t
	bool reset = false;                 // -r: release the job on the device (-i, else the current one)
	bool physical = false;              // -p: the physical GPUs the running jobs hold
	bool json = false;
	std::string query;                  // --query FIELD,...; empty: the table
	std::string format = "csv";         // --format csv[,noheader][,nounits]
	bool helpQuery = false;
	std::optional<double> loopSeconds;  // -l
	std::optional<std::uint64_t> count; // --count, only with -l
};

// Declares the options on `app`; CLI11 fills `options` while parsing.
void addOptions(CLI::App &app, Options &options);

} // namespace hac::smi
