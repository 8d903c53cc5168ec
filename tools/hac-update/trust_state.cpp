// Both files are small JSON documents written atomically (paths.hpp).
#include "trust_state.hpp"

#include <cstdio>
#include <filesystem>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/json.hpp>
#include <hac/types.hpp>
#include <release/sha256.hpp>
#include <release/version.hpp>

#include "paths.hpp"

namespace hac::update {

namespace {

std::string pendingFile(const std::string &envPath)
{
	return fmt::format("{}/pending/{}.json", stateDir(), release::sha256Hex(envPath).substr(0, 16));
}

} // namespace

TrustState TrustState::load()
{
	TrustState s;
	s.file_ = stateDir() + "/trusted.json";
	std::string text = readFileIfAny(s.file_);
	if (text.empty())
		return s;
	Json j = Json::parse(text, nullptr, false);
	auto it = j.is_object() ? j.find("newest_installed") : j.end();
	if (it == j.end() || !it->is_string() || !release::isFrameworkVersion(it->get<std::string>()))
		throw Error(Errc::Failure,
			    fmt::format("{} is damaged; it holds the newest release installed, for rollback protection. "
					"Remove it to start that record afresh", s.file_));
	s.newest_ = it->get<std::string>();
	return s;
}

void TrustState::noteInstalled(const std::string &framework)
{
	if (!newest_.empty() && release::compareVersions(framework, newest_) <= 0)
		return;
	Json j = {{"schema_version", kSchemaVersion}, {"newest_installed", framework}, {"updated_at", formatTime(nowMs())}};
	writeFileAtomically(file_, j.dump(2) + "\n");
	newest_ = framework;
}

std::optional<PendingInstall> readPending(const std::string &envPath)
{
	std::string text = readFileIfAny(pendingFile(envPath));
	if (text.empty())
		return std::nullopt;
	PendingInstall p;
	p.env = envPath;
	Json j = Json::parse(text, nullptr, false);
	if (j.is_object() && j.value("framework", "") != "" && release::isFrameworkVersion(j.value("framework", ""))) {
		p.framework = j.value("framework", "");
		p.allowOlder = j.value("allow_older", false);
		p.startedAt = parseTime(j.value("started_at", "")).value_or(0);
	}
	// A damaged record still says an install was cut short; --force then installs the pinned release.
	return p;
}

void writePending(const PendingInstall &p)
{
	Json j = {{"schema_version", kSchemaVersion}, {"env", p.env}, {"framework", p.framework},
		  {"allow_older", p.allowOlder}, {"started_at", formatTime(p.startedAt)}};
	writeFileAtomically(pendingFile(p.env), j.dump(2) + "\n");
}

void clearPending(const std::string &envPath)
{
	std::remove(pendingFile(envPath).c_str());
}

} // namespace hac::update
