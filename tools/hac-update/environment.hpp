// The Python environment hac-update works on (a conda env or a venv) and the packages it holds.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <hac/json.hpp>

namespace hac::update {

struct PythonEnv {
	std::string path;          // absolute
	std::string kind;          // "conda", "venv" or "prefix"
	std::string python;        // PATH/bin/python
	std::string sitePackages;  // PATH/lib/python3.X/site-packages
	std::string chosenBy;      // "--prefix", "--env NAME", "$CONDA_PREFIX" or "$VIRTUAL_ENV"
};

// --prefix, else --env NAME, else $CONDA_PREFIX, else $VIRTUAL_ENV. Throws hac::Error: Usage when
// none is given, NotFound when the chosen one is not a Python environment.
PythonEnv resolveEnvironment(const std::string &prefix, const std::string &envName);

// An installed distribution, from its .dist-info METADATA.
struct Installed {
	std::string name;      // as METADATA says
	std::string version;
	std::string distInfo;  // the folder
};

// The installed distributions among `names`, by normalized name (PEP 503); more than one entry
// for a name means a damaged environment. Reads the folder names and the METADATA of those that
// match, never starts Python: that is what keeps --check fast.
std::map<std::string, std::vector<Installed>> installedPackages(const PythonEnv &env,
								  const std::vector<std::string> &names);

Json envJson(const PythonEnv &env);

} // namespace hac::update
