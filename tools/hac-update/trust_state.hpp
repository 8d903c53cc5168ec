// What hac-update remembers per user between runs: the newest framework release it installed from
// a verified manifest (rollback protection), and installs it began but did not finish.
#pragma once

#include <optional>
#include <string>

#include <hac/time.hpp>

namespace hac::update {

// stateDir()/trusted.json: {"schema_version":1,"newest_installed":"24.6.0","updated_at":"..."}
class TrustState {
public:
	// Throws hac::Error(Failure) when the file exists but is damaged: protection is not silently
	// dropped.
	static TrustState load();

	const std::string &newestInstalled() const { return newest_; }
	const std::string &file() const { return file_; }
	// Remembers `framework` if it is newer than what is remembered; throws hac::Error(Failure).
	void noteInstalled(const std::string &framework);

private:
	std::string file_;
	std::string newest_;
};

// stateDir()/pending/<id of the env>.json, written before pip runs and removed once the env is
// in a known state again.
struct PendingInstall {
	std::string env;
	std::string framework;
	bool allowOlder = false;
	TimeMs startedAt = 0;
};

std::optional<PendingInstall> readPending(const std::string &envPath);
void writePending(const PendingInstall &pending);
void clearPending(const std::string &envPath);

} // namespace hac::update
