// The framework releases the allocator serves (API.md, "Releases"): the list with the pinned one,
// each signed manifest, and the wheels, read from the folder hac-release writes.
#pragma once

#include <string>
#include <vector>

#include <service/http_server.hpp>

namespace hac::allocator {

struct ReleasesConfig {
	std::string dir;      // empty: no releases are served
	std::string pinned;   // the release agents' environments should hold; empty: the newest
};

class Releases {
public:
	explicit Releases(const ReleasesConfig &config) : config_(config) {}

	// True for /v1/releases and the paths under it.
	static bool owns(const std::string &path);
	// Answers a GET of a path it owns. The folder is read on every request, so a release that
	// hac-release adds is served at once.
	Response handle(const Request &request) const;

private:
	// The framework versions in the folder with both a manifest and its signature, oldest first.
	std::vector<std::string> available() const;
	Response list() const;
	Response file(const std::string &framework, const std::string &name, const Request &request) const;

	const ReleasesConfig &config_;
};

} // namespace hac::allocator
