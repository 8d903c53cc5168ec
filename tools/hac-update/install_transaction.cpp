// Install, read back, then keep (the cut-short marker cleared, the release recorded for rollback
// protection) or undo. The marker is written before pip starts, so an install cut short by a kill
// is found by --check and finished by --force; a failure hac-update lives through is undone here.
#include "install_transaction.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <hac/error.hpp>
#include <hac/exit_code.hpp>

#include "common/output.hpp"
#include "common/run_tool.hpp"
#include "installer.hpp"
#include "package_cache.hpp"

namespace hac::update {

namespace {

// The restoring half of installRelease(): removes what the failed run changed, reinstalls the saved
// copies of what was there, and says where that leaves the environment.
[[noreturn]] void undo(Installer &installer, const PythonEnv &env, const release::Manifest &m,
		       const std::vector<std::string> &wheels, const EnvState &before,
		       const std::vector<SavedPackage> &saved, const std::string &failure, const std::string &pipSaid,
		       Json &doc, const Options &opt)
{
	EnvState now = assess(env, m);
	for (std::size_t i = 0; i < m.packages.size(); ++i)
		if (now.packages[i].installed != before.packages[i].installed)
			installer.removeWheel(wheels[i]);
	std::vector<std::string> copies, problems;
	for (const SavedPackage &s : saved) {
		if (!s.wheel.empty())
			copies.push_back(s.wheel);
		else
			problems.push_back(s.problem);
	}
	if (!copies.empty())
		installer.pipInstall(copies);
	now = assess(env, m);

	bool restored = true;
	for (std::size_t i = 0; i < m.packages.size(); ++i)
		if (now.packages[i].installed != before.packages[i].installed)
			restored = false;
	std::string message;
	if (restored) {
		clearPending(env.path);
		message = fmt::format("{} installing framework {}; the previous packages were put back, and {} is as it "
				      "was before: {}. pip's log: {}{}", failure, m.framework, env.path,
				      installedSummary(now), installer.logFile(), pipSaid);
	} else {
		message = fmt::format("{} installing framework {}, and putting back the previous packages did not "
				      "succeed{}: {} now holds {} (before: {}). Run 'hac-update --force' to finish the "
				      "install. pip's log: {}{}", failure, m.framework,
				      problems.empty() ? "" : fmt::format(" ({})", fmt::join(problems, "; ")), env.path,
				      installedSummary(now), installedSummary(before), installer.logFile(), pipSaid);
	}
	if (opt.json) {
		doc["action"] = restored ? "restored" : "failed";
		doc["installed"] = installedJson(now);
		doc["state"] = restored ? "as_before" : "unknown";
		doc["error"] = tools::jsonError(ExitCode::Failure, message);
		tools::printJson(doc);
		tools::errorDocumentWritten();
	}
	throw Error(Errc::Failure, message);
}

} // namespace

int installRelease(const PythonEnv &env, ReleaseSource &source, const VerifiedRelease &r, const EnvState &before,
		   bool allowOlder, TrustState &trust, Json &doc, const Options &opt)
{
	const release::Manifest &m = r.manifest;
	bool bars = !opt.json && isatty(STDERR_FILENO);
	if (opt.dryRun) {
		std::uint64_t bytes = 0;
		for (const release::Package &p : m.packages)
			bytes += p.size;
		doc["action"] = "dry_run";
		tools::report(opt.json, doc,
			      fmt::format("Dry run: would download up to {} bytes into {} and install {} into {}; nothing was "
					  "changed.\n", bytes, releaseCacheDir(m.framework), releaseSummary(m), env.path));
		return 0;
	}

	std::vector<std::string> wheels;
	for (const release::Package &p : m.packages) {
		FetchedPackage f = fetchPackage(source, m.framework, p, bars);
		wheels.push_back(f.path);
		doc["downloads"].push_back({{"file", p.file}, {"size", p.size}, {"sha256", p.sha256}, {"cached", f.cached},
					    {"resumed_from", f.resumedFrom}, {"path", f.path}});
		if (!opt.json)
			fmt::print("  {}: {}, sha256 verified\n", p.file,
				   f.cached ? "in the cache" : f.resumedFrom ? fmt::format("downloaded, resumed at byte {}", f.resumedFrom)
									     : std::string("downloaded"));
	}

	Installer installer(env);
	std::vector<SavedPackage> saved = installer.save(before.installed);
	for (const SavedPackage &s : saved)
		if (!s.problem.empty())
			fmt::print(stderr, "hac-update: warning: {}\n", s.problem);
	writePending({env.path, m.framework, allowOlder, nowMs()});
	if (!opt.json)
		fmt::print("Installing with pip (log: {})\n", installer.logFile());
	int status = installer.pipInstall(wheels);
	EnvState after = assess(env, m);
	bool installed = true;
	for (const PackageState &p : after.packages)
		if (p.health != Health::Ok)
			installed = false;
	if (status != 0 || !installed) {
		std::string failure = status > 128 ? fmt::format("pip was stopped by signal {}", status - 128)
				    : status != 0 ? fmt::format("pip failed (exit {})", status)
						  : fmt::format("pip succeeded but left {}", installedSummary(after));
		std::string pipSaid = status != 0 ? "\npip's last lines:\n" + installer.logTail(3) : "";
		undo(installer, env, m, wheels, before, saved, failure, pipSaid, doc, opt);
	}

	clearPending(env.path);
	trust.noteInstalled(m.framework);
	after = assess(env, m);
	doc["action"] = "installed";
	doc["installed"] = installedJson(after);
	doc["state"] = "installed";
	tools::report(opt.json, doc, fmt::format("Installed framework {} into {}: {}\n", m.framework, env.path, releaseSummary(m)));
	return 0;
}

} // namespace hac::update
