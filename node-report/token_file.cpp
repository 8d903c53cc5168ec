// Reading the node credential with O_NOFOLLOW and fstat on the open file, so no check races the
// read: the same rules as hac-agent's device token (agent/token.cpp).
#include "token_file.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <hac/error.hpp>

namespace hac::node_report {

namespace {

constexpr std::size_t kMaxTokenBytes = 4096;

struct FdCloser {
	int fd;
	~FdCloser() { close(fd); }
};

// The file is inside systemd's credentials directory of this service (LoadCredential=).
bool isCredential(const std::string &path)
{
	const char *dir = std::getenv("CREDENTIALS_DIRECTORY");
	if (!dir || !*dir)
		return false;
	std::string prefix = std::string(dir);
	if (prefix.back() != '/')
		prefix += '/';
	return path.rfind(prefix, 0) == 0 && path.find("/..", prefix.size() - 1) == std::string::npos;
}

} // namespace

std::string readTokenFile(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int err = errno;
		if (err == ELOOP)
			throw Error(Errc::PermissionDenied, fmt::format("refusing the token file {}: it is a symbolic "
									    "link; give the real file", path));
		throw Error(Errc::Usage, fmt::format("cannot read the token file {}: {}", path, std::strerror(err)));
	}
	FdCloser closer{fd};
	struct stat st{};
	if (fstat(fd, &st) != 0)
		throw Error(Errc::Usage, fmt::format("cannot read the token file {}: {}", path, std::strerror(errno)));
	if (!S_ISREG(st.st_mode))
		throw Error(Errc::PermissionDenied, fmt::format("refusing the token file {}: it is not a regular file", path));
	// A credential needs no mode check: systemd made its directory private to the service, and on
	// tmpfs grants the service's user read access with an ACL (mode 0440 as stat shows the mask).
	if ((st.st_mode & 077) && !isCredential(path))
		throw Error(Errc::PermissionDenied,
			    fmt::format("refusing the token file {}: it is open to group or others (mode {:04o}); run "
					"'chmod 600 {}'", path, st.st_mode & 07777, path));
	if (std::size_t(st.st_size) > kMaxTokenBytes)
		throw Error(Errc::Usage, fmt::format("the token file {} is larger than {} bytes: is it the right file?",
							 path, kMaxTokenBytes));
	std::string token(kMaxTokenBytes + 1, '\0');
	std::size_t have = 0;
	for (;;) {
		ssize_t n = read(fd, token.data() + have, token.size() - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			throw Error(Errc::Usage, fmt::format("cannot read the token file {}: {}", path, std::strerror(errno)));
		if (n == 0 || (have += std::size_t(n)) == token.size())
			break;
	}
	token.resize(have);
	while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
		token.pop_back();
	if (token.empty())
		throw Error(Errc::Usage, fmt::format("the token file {} is empty; put the node credential of the "
							 "allocator's [[node_token]] in it", path));
	if (token.size() > kMaxTokenBytes)
		throw Error(Errc::Usage, fmt::format("the token file {} is larger than {} bytes: is it the right file?",
							 path, kMaxTokenBytes));
	for (char c : token)
		if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
			throw Error(Errc::Usage, fmt::format("the token file {} holds spaces or control characters "
								 "within the token; it must be the token alone", path));
	return token;
}

} // namespace hac::node_report
