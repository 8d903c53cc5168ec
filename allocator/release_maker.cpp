// hac-release's work: hash the wheels, write the manifest, sign its exact bytes, and put the
// release folder in place atomically (a new one by rename, a replaced one by RENAME_EXCHANGE).
#include "release_maker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>

#include <hac/error.hpp>
#include <release/sha256.hpp>
#include <release/signing.hpp>
#include <release/version.hpp>

namespace hac::allocator {

namespace {

namespace fs = std::filesystem;

void writeFile(const fs::path &path, const std::string &bytes)
{
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out << bytes;
	out.flush();
	if (!out)
		throw Error(Errc::Failure, fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
}

// The data reaches the disk before the folder is renamed into place.
void syncPath(const fs::path &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

std::vector<fs::path> wheelsIn(const std::string &dir)
{
	std::error_code ec;
	if (!fs::is_directory(dir, ec))
		throw Error(Errc::Usage, fmt::format("--wheels {} is not a folder", dir));
	std::vector<fs::path> wheels;
	for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
		if (it->path().extension() == ".whl" && it->is_regular_file())
			wheels.push_back(it->path());
	if (ec)
		throw Error(Errc::Failure, fmt::format("cannot read {}: {}", dir, ec.message()));
	if (wheels.empty())
		throw Error(Errc::Usage, fmt::format("{} holds no .whl file to release", dir));
	std::sort(wheels.begin(), wheels.end());
	return wheels;
}

release::Package describe(const fs::path &wheel, const std::string &framework, std::vector<std::string> &warnings)
{
	std::string file = wheel.filename().string();
	auto name = release::parseWheelFilename(file);
	if (!name)
		throw Error(Errc::Usage, fmt::format("{} is not named as a wheel (NAME-VERSION-PY-ABI-PLATFORM.whl)", file));
	std::string builtFor = release::frameworkOfVersion(name->version);
	if (!builtFor.empty() && release::compareVersions(builtFor, framework) != 0)
		throw Error(Errc::Usage, fmt::format("{} is built for framework {} (+hac{}), not {}", file, builtFor,
							 builtFor, framework));
	if (builtFor.empty())
		warnings.push_back(fmt::format("{} {} carries no +hac{} label: hac-update will tell a plain build of it "
					       "only by its exact version", name->name, name->version, framework));
	release::Package p;
	p.name = name->name;
	p.version = name->version;
	p.file = file;
	p.size = fs::file_size(wheel);
	p.sha256 = release::sha256File(wheel.string());
	return p;
}

} // namespace

MadeRelease makeRelease(const ReleaseRequest &req)
{
	if (!release::isFrameworkVersion(req.framework))
		throw Error(Errc::Usage, fmt::format("--framework '{}' is not a version such as 24.5.0", req.framework));
	if (!release::isFrameworkVersion(req.minAgentVersion))
		throw Error(Errc::Usage, fmt::format("--min-agent-version '{}' is not a version such as 0.1.0",
							 req.minAgentVersion));
	std::error_code ec;
	if (!fs::is_directory(req.releasesDir, ec))
		throw Error(Errc::Usage, fmt::format("--releases {} is not a folder; create it first", req.releasesDir));
	release::SigningKey key = release::SigningKey::load(req.keyFile);

	MadeRelease made;
	made.dir = (fs::path(req.releasesDir) / req.framework).string();
	bool exists = fs::exists(made.dir, ec);
	if (exists && !req.replace)
		throw Error(Errc::Conflict, fmt::format("release {} exists in {}; give --replace to sign it again",
							    req.framework, req.releasesDir));

	release::Manifest &m = made.manifest;
	m.framework = req.framework;
	m.createdAt = nowMs();
	m.expiresAt = req.expiresAt;
	m.minAgentVersion = req.minAgentVersion;
	if (m.expiresAt <= m.createdAt)
		throw Error(Errc::Usage, fmt::format("the expiry {} is not in the future", formatTime(m.expiresAt)));
	std::vector<fs::path> wheels = wheelsIn(req.wheelsDir);
	for (const fs::path &w : wheels)
		m.packages.push_back(describe(w, req.framework, made.warnings));

	std::string bytes = release::serializeManifest(m);
	release::Signature signature = key.sign(bytes);
	// What hac-update will do, done once here: a release that cannot pass is not written.
	release::parseManifest(bytes);
	made.keyId = signature.keyId;

	fs::path tmp = fs::path(req.releasesDir) / fmt::format(".tmp-{}-{}", req.framework, getpid());
	fs::remove_all(tmp, ec);
	fs::create_directory(tmp);
	try {
		for (const fs::path &w : wheels) {
			fs::copy_file(w, tmp / w.filename());
			syncPath(tmp / w.filename());
		}
		writeFile(tmp / "manifest.json", bytes);
		writeFile(tmp / "manifest.sig", release::serializeSignature(signature));
		syncPath(tmp / "manifest.json");
		syncPath(tmp / "manifest.sig");
		syncPath(tmp);
		if (exists) {
			if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, made.dir.c_str(), RENAME_EXCHANGE) != 0)
				throw Error(Errc::Failure, fmt::format("cannot replace {}: {}", made.dir, std::strerror(errno)));
			made.replaced = true;
		} else if (rename(tmp.c_str(), made.dir.c_str()) != 0) {
			throw Error(Errc::Failure, fmt::format("cannot create {}: {}", made.dir, std::strerror(errno)));
		}
		syncPath(req.releasesDir);
	} catch (...) {
		fs::remove_all(tmp, ec);
		throw;
	}
	fs::remove_all(tmp, ec); // after an exchange: the release it replaced
	return made;
}

} // namespace hac::allocator
