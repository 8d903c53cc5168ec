// The wheels of releases in ~/.cache/hac/releases/<framework>/: downloaded with resume, never
// past their declared size, and hashed in full before they are used.
#pragma once

#include <cstdint>
#include <string>

#include <release/manifest.hpp>

#include "release_source.hpp"

namespace hac::update {

struct FetchedPackage {
	release::Package package;
	std::string path;               // the verified wheel
	bool cached = false;            // it was there already
	std::uint64_t resumedFrom = 0;  // bytes a partial download already had
};

std::string releaseCacheDir(const std::string &framework);

// Returns the path of the package's wheel with its size and sha256 checked. Throws hac::Error:
// AllocatorUnreachable when the transfer breaks off (the partial file is kept for the next run),
// VerificationFailed when the file is longer or shorter than declared or its hash differs (the
// file is removed), NotFound when the allocator lacks it.
FetchedPackage fetchPackage(ReleaseSource &source, const std::string &framework, const release::Package &package,
			    bool progressBar);

} // namespace hac::update
