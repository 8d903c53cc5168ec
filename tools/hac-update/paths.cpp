// Per-user folders and the one way hac-update writes a small file: whole or not at all.
#include "paths.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <pwd.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/core.h>

#include <hac/error.hpp>

namespace hac::update {

namespace {

namespace fs = std::filesystem;

std::string xdgDir(const char *var, const char *fallback)
{
	const char *v = std::getenv(var);
	if (v && *v == '/')
		return fs::path(v) / "hac";
	return fs::path(homeDir()) / fallback / "hac";
}

} // namespace

std::string homeDir()
{
	if (const char *home = std::getenv("HOME"); home && *home)
		return home;
	if (const passwd *pw = getpwuid(getuid()); pw && pw->pw_dir)
		return pw->pw_dir;
	throw Error(Errc::Failure, "cannot tell the home folder: set HOME");
}

std::string cacheDir()
{
	return xdgDir("XDG_CACHE_HOME", ".cache");
}

std::string stateDir()
{
	return xdgDir("XDG_STATE_HOME", ".local/state");
}

void makeDirs(const std::string &dir)
{
	std::error_code ec;
	fs::path p(dir);
	std::vector<fs::path> missing;
	for (; !p.empty() && !fs::exists(p, ec); p = p.parent_path())
		missing.push_back(p);
	for (auto it = missing.rbegin(); it != missing.rend(); ++it)
		if (mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
			throw Error(Errc::Failure, fmt::format("cannot create {}: {}", it->string(), std::strerror(errno)));
}

void writeFileAtomically(const std::string &path, const std::string &bytes)
{
	makeDirs(fs::path(path).parent_path().string());
	std::string tmp = fmt::format("{}.tmp-{}", path, getpid());
	int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0;
	for (std::size_t done = 0; ok && done < bytes.size();) {
		ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0;
		done += ok ? static_cast<std::size_t>(n) : 0;
	}
	ok = ok && fsync(fd) == 0;
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
		err = ok ? errno : err;
		unlink(tmp.c_str());
		throw Error(Errc::Failure, fmt::format("cannot write {}: {}", path, std::strerror(err)));
	}
}

std::string readFileIfAny(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in) {
		if (errno == ENOENT)
			return {};
		throw Error(Errc::Failure, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
	}
	std::ostringstream text;
	text << in.rdbuf();
	return text.str();
}

} // namespace hac::update
