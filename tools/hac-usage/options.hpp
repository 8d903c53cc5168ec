// hac-usage's command line: the options and what each asks for.
#pragma once

#include <string>
#include <vector>

#include <CLI/App.hpp>

namespace hac::usage {

struct Options {
	std::string socket;          // --socket; empty: $HAC_SOCKET or the default
	std::string since;           // as given; empty: the start of the month
	std::string until;           // as given; empty: now
	std::string by = "sku";      // day, week, month, sku or user
	std::string format = "table";
	bool json = false;           // --json: --format json
	bool jobs = false;
	std::vector<std::string> ids; // job IDs or their first digits, as the tables show them
	std::string name;             // --name: only jobs of this name
	std::string reason;           // --reason: only jobs that ended for this reason
	std::string user;
	bool allUsers = false;
	bool reconcile = false;
	bool budget = false;         // --budget: this month's budgets instead of a report
};

// Declares the options on `app`; CLI11 fills `options` while parsing.
void addOptions(CLI::App &app, Options &options);

} // namespace hac::usage
