// The verbs in the order the issue gives them. Everything that can refuse a release (signature,
// expiry, rollback, agent version) runs here, before the environment is touched; the install
// itself, and its undoing when it fails, is install_transaction.cpp's.
#include "update.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <unistd.h>

#include <fmt/format.h>

#include <hac/agent_client.hpp>
#include <hac/error.hpp>
#include <hac/exit_code.hpp>
#include <release/version.hpp>

#include "common/menu.hpp"
#include "common/output.hpp"
#include "common/render.hpp"
#include "common/run_tool.hpp"
#include "env_state.hpp"
#include "install_transaction.hpp"
#include "release_source.hpp"
#include "trust_state.hpp"

namespace hac::update {

namespace {

// Where releases come from and who asked: the allocator the agent uses, or --allocator.
struct Source {
	std::unique_ptr<ReleaseSource> releases;
	std::string agentVersion;   // empty when the agent was not asked
};

std::string keysDir(const Options &opt)
{
	if (!opt.keysDir.empty())
		return opt.keysDir;
	if (const char *env = std::getenv("HAC_KEYS_DIR"); env && *env)
		return env;
	return kDefaultKeysDir;
}

// The agent knows the allocator this VM belongs to (GET /v1/version, "allocator.url"): asking it
// keeps one place of configuration, and needs no change to the agent.
Source openSource(const Options &opt)
{
	Source s;
	std::string url = opt.allocator;
	if (url.empty()) {
		AgentClient agent(resolveSocketPath(opt.socket));
		Json v = agent.get("/v1/version");
		s.agentVersion = v.value("agent_version", "");
		if (v.contains("allocator") && v["allocator"].is_object())
			url = v["allocator"].value("url", "");
		if (url.empty())
			throw Error(Errc::Failure, "hac-agent reports no allocator URL; set [allocator] url in its config, "
						       "or give --allocator URL");
	}
	s.releases = std::make_unique<ReleaseSource>(url, keysDir(opt));
	for (const std::string &problem : s.releases->keyProblems())
		fmt::print(stderr, "hac-update: warning: {}\n", problem);
	return s;
}

ReleaseIndex nonEmptyIndex(ReleaseSource &source)
{
	ReleaseIndex index = source.index();
	if (index.frameworks.empty() || index.pinned.empty())
		throw Error(Errc::NotFound, fmt::format("the allocator at {} offers no framework release", source.url()));
	return index;
}

Json releaseJson(const VerifiedRelease &r)
{
	Json packages = Json::array();
	for (const release::Package &p : r.manifest.packages)
		packages.push_back({{"name", p.name}, {"version", p.version}, {"file", p.file}, {"size", p.size},
				    {"sha256", p.sha256}});
	return Json{{"framework", r.manifest.framework},
		    {"key_id", r.keyId},
		    {"created_at", formatTime(r.manifest.createdAt)},
		    {"expires_at", formatTime(r.manifest.expiresAt)},
		    {"min_agent_version", r.manifest.minAgentVersion},
		    {"packages", packages}};
}

void checkNotExpired(const VerifiedRelease &r)
{
	if (r.manifest.expired(nowMs()))
		throw Error(Errc::VerificationFailed,
			    fmt::format("release {}'s manifest expired at {}: its operator must sign it again "
					"(hac-release --replace); nothing was changed", r.manifest.framework,
					formatTime(r.manifest.expiresAt)));
}

// Everything that refuses a release before a byte is downloaded.
void checkInstallable(const VerifiedRelease &r, const TrustState &trust, bool allowOlder, const Source &source)
{
	checkNotExpired(r);
	const std::string &fw = r.manifest.framework;
	if (!trust.newestInstalled().empty() && release::compareVersions(fw, trust.newestInstalled()) < 0 && !allowOlder)
		throw Error(Errc::VerificationFailed,
			    fmt::format("release {} is older than {}, which was installed before (rollback protection, {}); "
					"to go back on purpose run 'hac-update --target {} --allow-older'; nothing was changed",
					fw, trust.newestInstalled(), trust.file(), fw));
	if (!source.agentVersion.empty() && release::isFrameworkVersion(source.agentVersion) &&
	    release::compareVersions(source.agentVersion, r.manifest.minAgentVersion) < 0)
		throw Error(Errc::Failure,
			    fmt::format("release {} needs hac-agent {} or newer, and this VM runs {}: upgrade hac-agent "
					"first; nothing was changed", fw, r.manifest.minAgentVersion, source.agentVersion));
}

Json baseDocument(const PythonEnv &env, const ReleaseSource &source, const VerifiedRelease &r, const EnvState &state)
{
	return Json{{"schema_version", kSchemaVersion},
		    {"env", envJson(env)},
		    {"allocator", source.url()},
		    {"release", releaseJson(r)},
		    {"before", installedJson(state)},
		    {"downloads", Json::array()}};
}

void printIntro(const PythonEnv &env, const ReleaseSource &source, const VerifiedRelease &r)
{
	fmt::print("Environment: {} ({}, chosen by {})\n", env.path, env.kind, env.chosenBy);
	fmt::print("Release {} from {}: signed by key {} ({}), expires {}\n", r.manifest.framework, source.url(), r.keyId,
		   r.keyFile, formatTime(r.manifest.expiresAt));
}

int runCheck(const Options &opt)
{
	PythonEnv env = resolveEnvironment(opt.prefix, opt.envName);
	Source src = openSource(opt);
	std::string framework = opt.target;
	if (framework.empty())
		framework = nonEmptyIndex(*src.releases).pinned;
	VerifiedRelease r = src.releases->fetch(framework);
	checkNotExpired(r);
	EnvState state = assess(env, r.manifest);
	// A release older than one installed before is refused without --allow-older (rollback
	// protection): advise what will work, not a --force that is refused.
	std::string fix = opt.target.empty() ? "hac-update --force" : "hac-update --target " + opt.target;
	std::string newest;
	try {
		newest = TrustState::load().newestInstalled();
	} catch (const Error &) {
		// A damaged record is reported by the install that needs it, not by a check.
	}
	bool older = !newest.empty() && release::compareVersions(r.manifest.framework, newest) < 0;
	if (older)
		fix = fmt::format("hac-update --target {} --allow-older", r.manifest.framework);
	std::string message = describe(state, r.manifest, env, opt.target.empty() ? "the allocator expects" : "--target asks for", fix);
	if (older && state.health != Health::Ok && !state.pending)
		message += fmt::format(" (it is older than {}, installed before: rollback protection refuses it without "
				       "--allow-older)", newest);
	tools::report(opt.json,
		      Json{{"schema_version", kSchemaVersion},
			   {"env", envJson(env)},
			   {"allocator", src.releases->url()},
			   {"expected", releaseJson(r)},
			   {"installed", installedJson(state)},
			   {"status", healthName(state.health)},
			   {"message", message}},
		      fmt::format("{}: {}\n", state.health == Health::Ok ? "ok" : healthName(state.health), message));
	return state.health == Health::Ok ? 0 : toInt(ExitCode::NeedsFix);
}

int runList(const Options &opt)
{
	std::optional<PythonEnv> env;
	try {
		env = resolveEnvironment(opt.prefix, opt.envName);
	} catch (const Error &e) {
		if (e.code() != Errc::Usage)
			throw;
	}
	Source src = openSource(opt);
	ReleaseIndex index = src.releases->index();
	Json releases = Json::array();
	Table table({{"framework"}, {"packages"}, {"expires"}, {""}});
	for (const std::string &fw : index.frameworks) {
		Json entry = {{"framework", fw}, {"pinned", fw == index.pinned}, {"latest", fw == index.latest}};
		std::vector<std::string> notes;
		if (fw == index.pinned)
			notes.push_back("pinned");
		if (fw == index.latest)
			notes.push_back("latest");
		try {
			VerifiedRelease r = src.releases->fetch(fw);
			entry.update(releaseJson(r));
			bool expired = r.manifest.expired(nowMs());
			entry["verified"] = !expired;
			entry["error"] = expired ? Json("expired") : Json(nullptr);
			bool held = env && assess(*env, r.manifest).health == Health::Ok;
			entry["installed"] = held;
			if (held)
				notes.push_back("installed");
			if (expired)
				notes.push_back("EXPIRED");
			table.addRow({fw, releaseSummary(r.manifest), formatTime(r.manifest.expiresAt), fmt::format("{}", fmt::join(notes, ", "))});
		} catch (const Error &e) {
			if (e.code() != Errc::VerificationFailed && e.code() != Errc::NotFound)
				throw;
			entry["verified"] = false;
			entry["error"] = e.what();
			entry["installed"] = false;
			notes.push_back("NOT VERIFIED");
			table.addRow({fw, "", "", fmt::format("{}", fmt::join(notes, ", "))});
			if (!opt.json)
				fmt::print(stderr, "hac-update: {}\n", e.what());
		}
		releases.push_back(std::move(entry));
	}
	tools::report(opt.json,
		      Json{{"schema_version", kSchemaVersion},
			   {"allocator", src.releases->url()},
			   {"env", env ? envJson(*env) : Json(nullptr)},
			   {"pinned", index.pinned.empty() ? Json(nullptr) : Json(index.pinned)},
			   {"latest", index.latest.empty() ? Json(nullptr) : Json(index.latest)},
			   {"releases", releases}},
		      index.frameworks.empty() ? fmt::format("The allocator at {} offers no framework release.\n", src.releases->url())
					       : fmt::format("Releases at {}:\n{}", src.releases->url(), table.render()));
	return 0;
}

// The release of the index that `env` holds exactly, as --list marks it "installed"; empty for none.
std::string heldRelease(const PythonEnv &env, ReleaseSource &releases, const ReleaseIndex &index)
{
	for (const std::string &fw : index.frameworks) {
		try {
			if (assess(env, releases.fetch(fw).manifest).health == Health::Ok)
				return fw;
		} catch (const Error &e) {
			if (e.code() != Errc::VerificationFailed && e.code() != Errc::NotFound)
				throw;
		}
	}
	return {};
}

// No verb: the latest release, if it is newer, after a question.
int runUpgrade(const Options &opt)
{
	PythonEnv env = resolveEnvironment(opt.prefix, opt.envName);
	Source src = openSource(opt);
	ReleaseIndex index = nonEmptyIndex(*src.releases);
	VerifiedRelease latest = src.releases->fetch(index.latest);
	EnvState state = assess(env, latest.manifest);
	// Judged against the latest release's packages only, an env holding another release whose
	// packages differ would read as "none", where --list says "installed".
	if (state.framework.empty() && state.health != Health::Ok)
		state.framework = heldRelease(env, *src.releases, index);
	Json doc = baseDocument(env, *src.releases, latest, state);
	const std::string &fw = latest.manifest.framework;
	std::string current = state.framework.empty()
		? fmt::format("none ({})", installedSummary(state)) : fmt::format("{} ({})", state.framework, installedSummary(state));

	bool newer = state.health != Health::Ok &&
		     (state.framework.empty() || release::compareVersions(state.framework, fw) <= 0);
	if (!newer) {
		doc["action"] = "up_to_date";
		tools::report(opt.json, doc,
			      fmt::format("Currently installed: {}\n{}\n", current,
					  state.health == Health::Ok ? fmt::format("This is the latest release; {} is up to date.", env.path)
								     : fmt::format("No newer release: the latest is {}.", fw)));
		return 0;
	}
	TrustState trust = TrustState::load();
	if (!opt.json) {
		fmt::print("Currently installed: {}\n", current);
		fmt::print("Possible upgrading version: {} ({})\n", fw, releaseSummary(latest.manifest));
	}
	checkInstallable(latest, trust, false, src);
	if (!opt.yes && !opt.dryRun) {
		if (!isatty(STDIN_FILENO))
			throw Error(Errc::Usage, fmt::format("not upgrading to {}: stdin is not a terminal to answer the "
								 "question; give --yes to upgrade without asking", fw));
		// The question as hac-update(1) shows it; with --json it goes to stderr, off the document.
		if (!tools::confirm("Do you want to upgrade? (y/n, default: n)", opt.json ? stderr : stdout)) {
			doc["action"] = "declined";
			tools::report(opt.json, doc, "Not upgraded; nothing was changed.\n");
			return 0;
		}
	}
	if (!opt.json)
		printIntro(env, *src.releases, latest);
	return installRelease(env, *src.releases, latest, state, false, trust, doc, opt);
}

// --force and --target: a named release (the pinned one by default), without a question.
int runInstall(const Options &opt)
{
	PythonEnv env = resolveEnvironment(opt.prefix, opt.envName);
	std::optional<PendingInstall> pending = readPending(env.path);
	Source src = openSource(opt);
	std::string framework = opt.target;
	bool allowOlder = opt.allowOlder;
	if (framework.empty() && pending && !pending->framework.empty()) {
		framework = pending->framework;
		allowOlder = pending->allowOlder;
		if (!opt.json)
			fmt::print("Finishing the install of framework {} that was cut short.\n", framework);
	}
	if (framework.empty())
		framework = nonEmptyIndex(*src.releases).pinned;
	VerifiedRelease r = src.releases->fetch(framework);
	EnvState state = assess(env, r.manifest);
	Json doc = baseDocument(env, *src.releases, r, state);
	if (!opt.force && state.health == Health::Ok) {
		doc["action"] = "up_to_date";
		tools::report(opt.json, doc,
			      fmt::format("{} already holds framework {}: {}. Give --force to install it again.\n", env.path,
					  framework, releaseSummary(r.manifest)));
		return 0;
	}
	TrustState trust = TrustState::load();
	checkInstallable(r, trust, allowOlder, src);
	if (!opt.json) {
		printIntro(env, *src.releases, r);
		fmt::print("Currently installed: {}\n", installedSummary(state));
	}
	return installRelease(env, *src.releases, r, state, allowOlder, trust, doc, opt);
}

} // namespace

int runUpdate(const Options &opt)
{
	if (opt.allowOlder && opt.target.empty())
		throw Error(Errc::Usage, "--allow-older needs --target VERSION: name the older release to go back to");
	if (!opt.target.empty() && !release::isFrameworkVersion(opt.target))
		throw Error(Errc::Usage, fmt::format("--target '{}' is not a release version such as 24.5.0", opt.target));
	if (opt.check)
		return runCheck(opt);
	if (opt.list)
		return runList(opt);
	if (opt.force || !opt.target.empty())
		return runInstall(opt);
	return runUpgrade(opt);
}

} // namespace hac::update
