// A download goes to FILE.part and becomes FILE only once its size and hash match the manifest; a
// run that breaks off leaves FILE.part, and the next run asks only for the rest.
#include "package_cache.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <release/sha256.hpp>

#include "paths.hpp"
#include "progress_bar.hpp"

namespace hac::update {

namespace {

// Files may be gigabytes: no total deadline short enough to cut a slow but moving download, but
// a stall (under 1 KiB/s for 30 s) ends it, and so does a day.
NetTimeouts fileTimeouts()
{
	NetTimeouts t;
	t.connectMs = 3000;
	t.totalMs = 24L * 3600 * 1000;
	t.lowSpeedBytesPerSecond = 1024;
	t.lowSpeedSeconds = 30;
	return t;
}

std::uint64_t sizeOf(const std::string &path, bool &exists)
{
	struct stat st{};
	exists = stat(path.c_str(), &st) == 0;
	return exists ? static_cast<std::uint64_t>(st.st_size) : 0;
}

[[noreturn]] void refuse(const std::string &part, const std::string &message)
{
	unlink(part.c_str());
	throw Error(Errc::VerificationFailed, message + "; nothing was installed");
}

// Brings `part` from `have` bytes to the declared size, or throws.
void download(ReleaseSource &source, const std::string &framework, const release::Package &p, const std::string &part,
	      std::uint64_t have, bool progressBar)
{
	if (have == p.size)
		return;
	bool exists = false;
	int fd = open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		throw Error(Errc::Failure, fmt::format("cannot write {}: {}", part, std::strerror(errno)));
	FetchResult r;
	{
		ProgressBar bar(progressBar, p.file);
		r = source.downloader().fetchToFile(source.fileUrl(framework, p.file), fd, have, p.size, fileTimeouts(),
						    [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
	}
	bool synced = fsync(fd) == 0;
	close(fd);
	if (r.overLimit)
		refuse(part, fmt::format("the allocator sends {} with more than the {} bytes its signed manifest "
					 "declares: refused", p.file, p.size));
	if (r.status == 416)
		refuse(part, fmt::format("the allocator's {} is shorter than the {} bytes its signed manifest "
					 "declares (truncated)", p.file, p.size));
	if (!r.error.empty()) {
		std::uint64_t now = sizeOf(part, exists);
		throw Error(Errc::AllocatorUnreachable,
			    fmt::format("the download of {} from {} stopped at {} of {} bytes: {}. Run hac-update again "
					"to resume it; nothing was installed", p.file, source.url(), now, p.size, r.error));
	}
	if (r.status == 404) {
		unlink(part.c_str());
		throw Error(Errc::NotFound, fmt::format("the allocator at {} has no file {} of release {}: the "
							    "release is incomplete; tell its operator", source.url(),
							    p.file, framework));
	}
	if (r.status != 200 && r.status != 206)
		throw Error(r.status >= 500 ? Errc::AllocatorUnreachable : Errc::Failure,
			    fmt::format("the allocator at {} answered HTTP {} for {}", source.url(), r.status, p.file));
	if (!synced)
		throw Error(Errc::Failure, fmt::format("cannot write {}: {}", part, std::strerror(errno)));
	std::uint64_t size = sizeOf(part, exists);
	if (size != p.size)
		refuse(part, fmt::format("the allocator sent {} bytes of {}, but its signed manifest declares {} "
					 "(truncated)", size, p.file, p.size));
}

} // namespace

std::string releaseCacheDir(const std::string &framework)
{
	return fmt::format("{}/releases/{}", cacheDir(), framework);
}

FetchedPackage fetchPackage(ReleaseSource &source, const std::string &framework, const release::Package &p,
			    bool progressBar)
{
	FetchedPackage fetched;
	fetched.package = p;
	std::string dir = releaseCacheDir(framework);
	makeDirs(dir);
	fetched.path = dir + "/" + p.file;
	std::string part = fetched.path + ".part";

	bool exists = false;
	if (sizeOf(fetched.path, exists) == p.size && exists && release::sha256File(fetched.path) == p.sha256) {
		fetched.cached = true;
		return fetched;
	}
	if (exists)
		unlink(fetched.path.c_str()); // not this release's file: fetched again

	std::uint64_t have = sizeOf(part, exists);
	if (have > p.size || (have == p.size && release::sha256File(part) != p.sha256)) {
		unlink(part.c_str());
		have = 0;
	}
	fetched.resumedFrom = have;
	download(source, framework, p, part, have, progressBar);
	std::string hash = release::sha256File(part);
	if (hash != p.sha256 && fetched.resumedFrom > 0) {
		// The part may be the start of another file of the same name (a release signed again):
		// one more try, from the beginning.
		unlink(part.c_str());
		fetched.resumedFrom = 0;
		download(source, framework, p, part, 0, progressBar);
		hash = release::sha256File(part);
	}
	if (hash != p.sha256)
		refuse(part, fmt::format("the sha256 of {} is {}, but its signed manifest says {}: the file was altered",
					 p.file, hash, p.sha256));
	if (rename(part.c_str(), fetched.path.c_str()) != 0)
		throw Error(Errc::Failure, fmt::format("cannot rename {}: {}", part, std::strerror(errno)));
	return fetched;
}

} // namespace hac::update
