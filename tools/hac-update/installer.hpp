// Changing the environment: pip with the environment's own Python, and the copies of what was
// installed before that a failed install is undone with.
#pragma once

#include <string>
#include <vector>

#include "environment.hpp"

namespace hac::update {

// An installed package saved as a wheel that pip can install again.
struct SavedPackage {
	std::string name;
	std::string version;
	std::string wheel;   // empty when it could not be saved (no RECORD); `problem` says why
	std::string problem;
};

class Installer {
public:
	explicit Installer(const PythonEnv &env);

	// Saves each installed package as a wheel in ~/.cache/hac/previous/<env id>/, replacing the
	// copies of an earlier run: the files its RECORD lists, repacked by the environment's Python.
	std::vector<SavedPackage> save(const std::vector<Installed> &installed);

	// `python -I -m pip install --no-deps --no-index --force-reinstall WHEELS...`: no network, no
	// dependency changes, pip's own config ignored. Returns pip's exit status (128+N for signal
	// N); output goes to logFile(). SIGINT and SIGTERM reach pip but not hac-update, which then
	// puts the environment right.
	int pipInstall(const std::vector<std::string> &wheels);
	// Removes what installing `wheel` put into site-packages, whole or half; for the packages a
	// failed install changed. Returns the helper's exit status.
	int removeWheel(const std::string &wheel);

	const std::string &logFile() const { return logFile_; }
	// The last lines of the log, for a message.
	std::string logTail(std::size_t lines) const;

private:
	// `shown` replaces the command line in the log when the arguments hold a script.
	int run(const std::vector<std::string> &args, const std::string &shown = {});

	const PythonEnv &env_;
	std::string logFile_;
};

// A short id of an environment's path, naming its files in the cache and state folders.
std::string envId(const PythonEnv &env);

} // namespace hac::update
