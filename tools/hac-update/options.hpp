// hac-update's command line, parsed: which environment, which release, what to do.
#pragma once

#include <string>

namespace hac::update {

constexpr const char *kDefaultKeysDir = "/etc/hac/keys";

struct Options {
	std::string prefix;      // --prefix PATH
	std::string envName;     // --env NAME (a conda env)
	std::string socket;      // --socket: hac-agent's, asked for the allocator's URL
	std::string allocator;   // --allocator URL: instead of asking the agent
	std::string keysDir;     // --keys DIR, else $HAC_KEYS_DIR, else /etc/hac/keys
	std::string target;      // --target VERSION
	bool check = false;
	bool list = false;
	bool force = false;
	bool dryRun = false;
	bool json = false;
	bool yes = false;
	bool allowOlder = false;
};

} // namespace hac::update
