// The allocator as a source of releases: its list, and manifests checked against the trusted keys
// before anything in them is believed.
#pragma once

#include <string>
#include <vector>

#include <net/download.hpp>
#include <release/manifest.hpp>
#include <release/signing.hpp>

namespace hac::update {

struct ReleaseIndex {
	std::string pinned;                   // what the allocator expects environments to hold
	std::string latest;
	std::vector<std::string> frameworks;  // oldest first
};

// A manifest whose signature matched a trusted key. Not yet checked: expiry, rollback, agent.
struct VerifiedRelease {
	release::Manifest manifest;
	std::string keyId;
	std::string keyFile;
};

class ReleaseSource {
public:
	// Throws hac::Error(VerificationFailed) when `keysDir` holds no usable key.
	ReleaseSource(std::string allocatorUrl, std::string keysDir);

	const std::string &url() const { return url_; }
	const std::string &keysDir() const { return keysDir_; }
	// Keys that could not be read, for a warning.
	const std::vector<std::string> &keyProblems() const { return keyProblems_; }

	// Each throws hac::Error: AllocatorUnreachable when no answer comes, NotFound for an unknown
	// release, VerificationFailed for a manifest that is not signed by a trusted key or not valid.
	ReleaseIndex index();
	VerifiedRelease fetch(const std::string &framework);

	std::string fileUrl(const std::string &framework, const std::string &file) const;
	Downloader &downloader() { return downloader_; }

private:
	std::string get(const std::string &path, const std::string &what, std::uint64_t maxBytes);

	std::string url_;
	std::string keysDir_;
	std::vector<release::PublicKey> keys_;
	std::vector<std::string> keyProblems_;
	Downloader downloader_;
};

} // namespace hac::update
