// Releases are plain folders (RELEASES/24.5.0/{manifest.json,manifest.sig,*.whl}); the allocator
// only lists and sends them. It never reads a manifest: clients verify the signature themselves,
// which is why these paths need no token.
#include "releases.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <hac/json.hpp>
#include <release/version.hpp>

namespace hac::allocator {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "/v1/releases";

bool isRegularFile(const std::string &path, std::uint64_t &size)
{
	struct stat st{};
	if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	size = static_cast<std::uint64_t>(st.st_size);
	return true;
}

// "bytes=N-" or "bytes=N-M": the first byte asked for. Other forms (suffixes, several ranges) are
// not resumes; they get the whole file, as RFC 9110 allows.
std::optional<std::uint64_t> rangeStart(const std::string &header)
{
	constexpr std::string_view unit = "bytes=";
	if (header.compare(0, unit.size(), unit) != 0 || header.find(',') != std::string::npos)
		return std::nullopt;
	std::string_view spec = std::string_view(header).substr(unit.size());
	std::uint64_t start = 0;
	auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), start);
	if (ec != std::errc() || end == spec.data() || end == spec.data() + spec.size() || *end != '-')
		return std::nullopt;
	return start;
}

Response notFound(const std::string &message)
{
	return Response::error(404, "unknown_release", message);
}

} // namespace

bool Releases::owns(const std::string &path)
{
	return path.compare(0, kPrefix.size(), kPrefix) == 0 &&
	       (path.size() == kPrefix.size() || path[kPrefix.size()] == '/');
}

std::vector<std::string> Releases::available() const
{
	std::vector<std::string> versions;
	if (config_.dir.empty())
		return versions;
	std::error_code ec;
	for (fs::directory_iterator it(config_.dir, ec), end; !ec && it != end; it.increment(ec)) {
		std::string name = it->path().filename().string();
		std::uint64_t size = 0;
		if (release::isFrameworkVersion(name) && isRegularFile((it->path() / "manifest.json").string(), size) &&
		    isRegularFile((it->path() / "manifest.sig").string(), size))
			versions.push_back(name);
	}
	if (ec)
		spdlog::warn("cannot read the releases folder {}: {}", config_.dir, ec.message());
	std::sort(versions.begin(), versions.end(),
		  [](const std::string &a, const std::string &b) { return release::compareVersions(a, b) < 0; });
	return versions;
}

Response Releases::handle(const Request &request) const
{
	const std::string &path = request.path;
	if (path == kPrefix || path == std::string(kPrefix) + "/")
		return list();
	// /v1/releases/{framework}/manifest.json | manifest.sig | files/{file}
	std::string rest = path.substr(kPrefix.size() + 1);
	auto slash = rest.find('/');
	std::string framework = rest.substr(0, slash);
	std::string tail = slash == std::string::npos ? "" : rest.substr(slash + 1);
	if (!release::isFrameworkVersion(framework))
		return notFound(fmt::format("'{}' is not a release version such as 24.5.0; GET /v1/releases lists them",
					    framework.substr(0, 64)));
	if (tail == "manifest.json" || tail == "manifest.sig")
		return file(framework, tail, request);
	constexpr std::string_view files = "files/";
	if (tail.compare(0, files.size(), files) == 0 && release::isPlainFileName(tail.substr(files.size())) &&
	    tail.substr(files.size()) != "manifest.json" && tail.substr(files.size()) != "manifest.sig")
		return file(framework, tail.substr(files.size()), request);
	return Response::error(404, "not_found", "there is no such path; allocator/API.md lists the paths");
}

Response Releases::list() const
{
	std::vector<std::string> versions = available();
	std::string pinned = config_.pinned;
	if (pinned.empty() && !versions.empty())
		pinned = versions.back();
	if (!config_.pinned.empty() && std::find(versions.begin(), versions.end(), pinned) == versions.end())
		spdlog::warn("the pinned release {} is not in {}; make it with hac-release", pinned, config_.dir);
	Json releases = Json::array();
	for (const std::string &v : versions) {
		std::string base = fmt::format("{}/{}/", kPrefix, v);
		releases.push_back({{"framework", v}, {"manifest", base + "manifest.json"},
				    {"signature", base + "manifest.sig"}, {"files", base + "files/"}});
	}
	return Response::json(200, {
		{"pinned", pinned.empty() ? Json(nullptr) : Json(pinned)},
		{"latest", versions.empty() ? Json(nullptr) : Json(versions.back())},
		{"releases", releases},
	});
}

Response Releases::file(const std::string &framework, const std::string &name, const Request &request) const
{
	if (config_.dir.empty())
		return notFound("this allocator serves no releases (no [releases] dir in its config)");
	std::string releaseDir = (fs::path(config_.dir) / framework).string();
	std::uint64_t size = 0;
	if (!isRegularFile(releaseDir + "/manifest.json", size) || !isRegularFile(releaseDir + "/manifest.sig", size))
		return notFound(fmt::format("there is no release {}; GET /v1/releases lists them", framework));
	std::string path = releaseDir + "/" + name;
	if (!isRegularFile(path, size))
		return notFound(fmt::format("release {} has no file {}", framework, name));

	std::string type = name.size() > 5 && name.substr(name.size() - 5) == ".json" ? "application/json"
			 : name == "manifest.sig" ? "application/json" : "application/octet-stream";
	std::uint64_t start = 0;
	if (auto from = rangeStart(request.header("range"))) {
		if (*from >= size) {
			Response r = Response::error(416, "range_not_satisfiable",
						     fmt::format("{} has {} bytes; a resume starts before the end", name, size));
			r.headers["Content-Range"] = fmt::format("bytes */{}", size);
			return r;
		}
		start = *from;
	}
	Response r = Response::file(start ? 206 : 200, path, start, size - start, type);
	r.headers["Accept-Ranges"] = "bytes";
	if (start)
		r.headers["Content-Range"] = fmt::format("bytes {}-{}/{}", start, size - 1, size);
	return r;
}

} // namespace hac::allocator
