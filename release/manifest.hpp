// A release manifest: the framework version, its packages and their hashes, the oldest agent it
// supports and when it expires. Signed as exact bytes (signing.hpp); allocator/API.md documents it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <hac/time.hpp>

namespace hac::release {

constexpr int kManifestSchemaVersion = 1;
// Larger manifests are refused before they are read: a release lists a handful of wheels.
constexpr std::size_t kMaxManifestBytes = 1 << 20;
constexpr std::size_t kMaxPackages = 256;
constexpr std::uint64_t kMaxPackageBytes = std::uint64_t(1) << 40;

struct Package {
	std::string name;       // distribution name as pip knows it ("torch")
	std::string version;    // exactly as its METADATA says ("2.1.0+hac24.5.0")
	std::string file;       // the wheel's file name in the release
	std::uint64_t size = 0; // bytes
	std::string sha256;     // 64 lower-case hex digits
};

struct Manifest {
	std::string framework;         // "24.5.0"
	TimeMs createdAt = 0;
	TimeMs expiresAt = 0;
	std::string minAgentVersion;   // "0.1.0"
	std::vector<Package> packages;

	const Package *find(std::string_view name) const; // by normalized name
	bool expired(TimeMs now) const { return now >= expiresAt; }
};

// Parses and checks a manifest; throws hac::Error(VerificationFailed) naming the first field that
// is missing or wrong. Never trusts the bytes: sizes, names and counts are bounded, and fields it
// does not know are ignored.
Manifest parseManifest(std::string_view bytes);

// The bytes hac-release signs: JSON with sorted keys, two-space indent and a final newline.
std::string serializeManifest(const Manifest &manifest);

} // namespace hac::release
