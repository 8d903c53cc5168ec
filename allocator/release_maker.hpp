// Making a signed release from a folder of wheels: what hac-release does, as a function.
#pragma once

#include <string>

#include <release/manifest.hpp>

#include <hac/time.hpp>

namespace hac::allocator {

struct ReleaseRequest {
	std::string keyFile;          // Ed25519 private key (PEM)
	std::string framework;        // "24.5.0"
	std::string wheelsDir;        // the *.whl files to release
	std::string releasesDir;      // the allocator's [releases] dir
	std::string minAgentVersion;
	TimeMs expiresAt = 0;
	bool replace = false;         // sign an existing release again (a new expiry, say)
};

struct MadeRelease {
	release::Manifest manifest;
	std::string keyId;
	std::string dir;              // releasesDir/framework
	bool replaced = false;
	std::vector<std::string> warnings;
};

// Writes releasesDir/framework/{manifest.json,manifest.sig,*.whl} in one step: the files are
// written under a temporary name and the folder renamed into place, so the allocator never serves
// a half-made release. Throws hac::Error: Usage for bad input, Conflict when the release exists
// and `replace` is false, Failure for I/O.
MadeRelease makeRelease(const ReleaseRequest &request);

} // namespace hac::allocator
