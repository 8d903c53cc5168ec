// How an environment compares with a release: the answer of --check, and what an install starts
// from.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <hac/json.hpp>
#include <release/manifest.hpp>

#include "environment.hpp"
#include "trust_state.hpp"

namespace hac::update {

enum class Health {
	Ok,           // every package of the release is installed at its exact version
	Missing,      // a package is not installed
	Plain,        // a package is a plain build (no +hac label), e.g. put there by 'pip install'
	Different,    // a package is another version or another framework's build
	Damaged,      // a package is installed twice
	Interrupted,  // an install into this environment was cut short
};

const char *healthName(Health h);

struct PackageState {
	std::string name;
	std::string expected;
	std::vector<std::string> installed;   // versions; empty when missing
	Health health = Health::Ok;
};

struct EnvState {
	Health health = Health::Ok;           // the first problem, in the order of the packages
	std::vector<PackageState> packages;
	std::vector<Installed> installed;     // the installed packages of the release's names
	std::string framework;                // the framework the env's build is of; empty for none
	std::optional<PendingInstall> pending;
};

EnvState assess(const PythonEnv &env, const release::Manifest &manifest);

// One sentence for people: what is installed and, unless Ok, what to run.
// `wantedBy` says who wants the release ("the allocator expects"), `fix` what puts it right
// ("hac-update --force").
std::string describe(const EnvState &state, const release::Manifest &manifest, const PythonEnv &env,
		     const std::string &wantedBy, const std::string &fix);

// "torch 2.1.0+hac24.5.0, numpy 1.26.0" or "torch (not installed)".
std::string installedSummary(const EnvState &state);
std::string releaseSummary(const release::Manifest &manifest);

Json installedJson(const EnvState &state);

} // namespace hac::update
