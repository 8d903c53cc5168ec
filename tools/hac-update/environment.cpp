// Finding the environment: a named conda env is looked up where conda keeps them (its root's
// envs/, ~/.conda/envs/, ~/.conda/environments.txt) without running conda, which takes a second.
#include "environment.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <release/version.hpp>

#include "paths.hpp"

namespace hac::update {

namespace {

namespace fs = std::filesystem;

std::string envVar(const char *name)
{
	const char *v = std::getenv(name);
	return v ? v : "";
}

bool isDir(const fs::path &p)
{
	std::error_code ec;
	return fs::is_directory(p, ec);
}

std::string findCondaEnv(const std::string &name, std::vector<std::string> &looked)
{
	std::vector<fs::path> roots;
	if (std::string exe = envVar("CONDA_EXE"); !exe.empty())
		roots.push_back(fs::path(exe).parent_path().parent_path());
	for (const char *var : {"CONDA_ROOT", "MAMBA_ROOT_PREFIX"})
		if (std::string root = envVar(var); !root.empty())
			roots.push_back(root);
	// An active env inside a root (ROOT/envs/X) tells where the root is.
	if (fs::path active = envVar("CONDA_PREFIX"); !active.empty()) {
		if (active.parent_path().filename() == "envs")
			roots.push_back(active.parent_path().parent_path());
		else if (isDir(active / "envs"))
			roots.push_back(active);
	}
	std::vector<fs::path> candidates;
	for (const fs::path &root : roots)
		candidates.push_back(name == "base" ? root : root / "envs" / name);
	fs::path home = homeDir();
	candidates.push_back(home / ".conda" / "envs" / name);
	std::ifstream list(home / ".conda" / "environments.txt");
	for (std::string line; std::getline(list, line);)
		if (!line.empty() && fs::path(line).filename() == name)
			candidates.push_back(line);
	for (const fs::path &c : candidates) {
		looked.push_back(c.string());
		if (isDir(c / "conda-meta"))
			return c.string();
	}
	return {};
}

// lib/python3.X/site-packages; with several, the one of the Python that bin/python runs.
std::string findSitePackages(const fs::path &prefix, const fs::path &python)
{
	std::vector<fs::path> found;
	std::error_code ec;
	for (fs::directory_iterator it(prefix / "lib", ec), end; !ec && it != end; it.increment(ec)) {
		std::string dir = it->path().filename().string();
		if (dir.compare(0, 7, "python3") == 0 && isDir(it->path() / "site-packages"))
			found.push_back(it->path() / "site-packages");
	}
	if (found.size() == 1)
		return found[0].string();
	std::string runs = fs::canonical(python, ec).filename().string(); // python3.11
	for (const fs::path &p : found)
		if (p.parent_path().filename() == runs)
			return p.string();
	return {};
}

} // namespace

PythonEnv resolveEnvironment(const std::string &prefix, const std::string &envName)
{
	PythonEnv env;
	if (!prefix.empty()) {
		env.path = prefix;
		env.chosenBy = "--prefix";
	} else if (!envName.empty()) {
		std::vector<std::string> looked;
		env.path = findCondaEnv(envName, looked);
		if (env.path.empty())
			throw Error(Errc::NotFound,
				    fmt::format("there is no conda environment named '{}' (looked in {}); 'conda env list' "
						"shows them, or give --prefix PATH", envName, fmt::join(looked, ", ")));
		env.chosenBy = fmt::format("--env {}", envName);
	} else if (std::string conda = envVar("CONDA_PREFIX"); !conda.empty()) {
		env.path = conda;
		env.chosenBy = "$CONDA_PREFIX";
	} else if (std::string venv = envVar("VIRTUAL_ENV"); !venv.empty()) {
		env.path = venv;
		env.chosenBy = "$VIRTUAL_ENV";
	} else {
		throw Error(Errc::Usage, "no Python environment is chosen: activate the conda env or venv "
					     "('conda activate NAME', 'source VENV/bin/activate'), or give --prefix PATH or --env NAME");
	}

	std::error_code ec;
	fs::path path = fs::absolute(env.path, ec).lexically_normal();
	if (path.has_filename() == false)
		path = path.parent_path();
	env.path = path.string();
	if (!isDir(path))
		throw Error(Errc::NotFound, fmt::format("the environment {} ({}) does not exist", env.path, env.chosenBy));
	env.python = (path / "bin" / "python").string();
	if (!fs::exists(env.python, ec))
		throw Error(Errc::NotFound, fmt::format("{} ({}) has no bin/python: it is not a conda env or venv",
							    env.path, env.chosenBy));
	env.kind = isDir(path / "conda-meta") ? "conda" : fs::exists(path / "pyvenv.cfg", ec) ? "venv" : "prefix";
	env.sitePackages = findSitePackages(path, env.python);
	if (env.sitePackages.empty())
		throw Error(Errc::NotFound, fmt::format("{} ({}) has no single lib/python3.X/site-packages for its "
							    "bin/python", env.path, env.chosenBy));
	return env;
}

namespace {

// Name and Version from METADATA's headers (RFC 822 style, up to the first empty line).
Installed readMetadata(const fs::path &distInfo)
{
	Installed i;
	i.distInfo = distInfo.string();
	std::ifstream in(distInfo / "METADATA");
	for (std::string line; std::getline(in, line) && !line.empty() && line != "\r";) {
		if (!line.empty() && line.back() == '\r')
			line.pop_back();
		auto value = [&](std::string_view key) -> std::optional<std::string> {
			if (line.size() > key.size() && line.compare(0, key.size(), key) == 0)
				return line.substr(line.find_first_not_of(' ', key.size()));
			return std::nullopt;
		};
		if (auto v = value("Name:"))
			i.name = *v;
		else if (auto v2 = value("Version:"))
			i.version = *v2;
	}
	return i;
}

} // namespace

std::map<std::string, std::vector<Installed>> installedPackages(const PythonEnv &env,
								  const std::vector<std::string> &names)
{
	std::vector<std::string> wanted;
	for (const std::string &n : names)
		wanted.push_back(release::normalizeName(n));
	std::map<std::string, std::vector<Installed>> found;
	std::error_code ec;
	constexpr std::string_view suffix = ".dist-info";
	for (fs::directory_iterator it(env.sitePackages, ec), end; !ec && it != end; it.increment(ec)) {
		std::string dir = it->path().filename().string();
		if (dir.size() <= suffix.size() || dir.compare(dir.size() - suffix.size(), suffix.size(), suffix) != 0)
			continue;
		// NAME-VERSION.dist-info, the name's own '-' written as '_'.
		std::string name = release::normalizeName(dir.substr(0, dir.find('-')));
		if (std::find(wanted.begin(), wanted.end(), name) == wanted.end())
			continue;
		Installed i = readMetadata(it->path());
		if (i.name.empty() || i.version.empty())
			continue; // a folder left half-removed: not an installed package
		found[release::normalizeName(i.name)].push_back(std::move(i));
	}
	return found;
}

Json envJson(const PythonEnv &env)
{
	return Json{{"path", env.path}, {"kind", env.kind}, {"python", env.python}, {"chosen_by", env.chosenBy}};
}

} // namespace hac::update
