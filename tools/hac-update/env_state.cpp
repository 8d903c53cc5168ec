// A release's packages are compared by exact version, as pip writes them into METADATA; the
// "+hac<framework>" label tells a framework build from a plain one in messages.
#include "env_state.hpp"

#include <fmt/format.h>

#include <release/version.hpp>

namespace hac::update {

const char *healthName(Health h)
{
	switch (h) {
	case Health::Ok: return "ok";
	case Health::Missing: return "missing";
	case Health::Plain: return "plain";
	case Health::Different: return "different";
	case Health::Damaged: return "damaged";
	case Health::Interrupted: return "interrupted";
	}
	return "unknown";
}

EnvState assess(const PythonEnv &env, const release::Manifest &manifest)
{
	EnvState state;
	std::vector<std::string> names;
	for (const release::Package &p : manifest.packages)
		names.push_back(p.name);
	auto found = installedPackages(env, names);
	for (const release::Package &p : manifest.packages) {
		PackageState ps{p.name, p.version, {}, Health::Ok};
		auto it = found.find(release::normalizeName(p.name));
		if (it != found.end())
			for (const Installed &i : it->second) {
				ps.installed.push_back(i.version);
				state.installed.push_back(i);
			}
		if (ps.installed.empty())
			ps.health = Health::Missing;
		else if (ps.installed.size() > 1)
			ps.health = Health::Damaged;
		else if (ps.installed[0] == p.version)
			ps.health = Health::Ok;
		else if (release::frameworkOfVersion(ps.installed[0]).empty() && !release::frameworkOfVersion(p.version).empty())
			ps.health = Health::Plain;
		else
			ps.health = Health::Different;
		if (state.health == Health::Ok)
			state.health = ps.health;
		if (state.framework.empty() && ps.installed.size() == 1 && !release::frameworkOfVersion(p.version).empty())
			state.framework = release::frameworkOfVersion(ps.installed[0]);
		state.packages.push_back(std::move(ps));
	}
	state.pending = readPending(env.path);
	if (state.pending)
		state.health = Health::Interrupted;
	return state;
}

std::string installedSummary(const EnvState &state)
{
	std::vector<std::string> parts;
	for (const PackageState &p : state.packages)
		parts.push_back(p.installed.empty() ? fmt::format("{} (not installed)", p.name)
						    : fmt::format("{} {}", p.name, fmt::join(p.installed, " and ")));
	return fmt::format("{}", fmt::join(parts, ", "));
}

std::string releaseSummary(const release::Manifest &manifest)
{
	std::vector<std::string> parts;
	for (const release::Package &p : manifest.packages)
		parts.push_back(fmt::format("{} {}", p.name, p.version));
	return fmt::format("{}", fmt::join(parts, ", "));
}

std::string describe(const EnvState &state, const release::Manifest &m, const PythonEnv &env, const std::string &wantedBy,
		     const std::string &fix)
{
	if (state.pending)
		return fmt::format("an install of framework {} into {} was cut short{}; it holds {}. Run 'hac-update "
				   "--force' to finish it",
				   state.pending->framework.empty() ? "?" : state.pending->framework, env.path,
				   state.pending->startedAt ? " (started " + formatTime(state.pending->startedAt) + ")" : "",
				   installedSummary(state));
	if (state.health == Health::Ok)
		return fmt::format("{} holds framework {}: {}", env.path, m.framework, releaseSummary(m));
	const PackageState *bad = nullptr;
	for (const PackageState &p : state.packages)
		if (p.health == state.health) {
			bad = &p;
			break;
		}
	std::string what;
	switch (state.health) {
	case Health::Missing:
		what = fmt::format("{} is not installed in {}", bad->name, env.path);
		break;
	case Health::Plain:
		what = fmt::format("{} {} in {} is a plain build, not the framework build {} (a 'pip install' may have "
				   "replaced it)", bad->name, bad->installed[0], env.path, bad->expected);
		break;
	case Health::Different: {
		std::string fw = release::frameworkOfVersion(bad->installed[0]);
		what = fmt::format("{} {} in {} is {}, not {}", bad->name, bad->installed[0], env.path,
				   fw.empty() ? "another version" : "framework " + fw, bad->expected);
		break;
	}
	case Health::Damaged:
		what = fmt::format("{} is installed twice in {} ({})", bad->name, env.path, fmt::join(bad->installed, " and "));
		break;
	default:
		break;
	}
	return fmt::format("{}; {} framework {} ({}). Run '{}' to install it", what, wantedBy, m.framework,
			   releaseSummary(m), fix);
}

Json installedJson(const EnvState &state)
{
	Json packages = Json::array();
	for (const PackageState &p : state.packages)
		packages.push_back({{"name", p.name},
				    {"version", p.installed.size() == 1 ? Json(p.installed[0]) : Json(nullptr)},
				    {"versions", p.installed},
				    {"health", healthName(p.health)}});
	return Json{{"framework", state.framework.empty() ? Json(nullptr) : Json(state.framework)}, {"packages", packages}};
}

} // namespace hac::update
