// Reading the token with O_NOFOLLOW and fstat on the open file, so no check races the read.
#include "token.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>
#include <openssl/evp.h>

#include <hac/error.hpp>

#include "agent_config.hpp"

namespace hac {

namespace {

constexpr std::size_t kMaxTokenBytes = 4096;

[[noreturn]] void refuse(const std::string &path, const std::string &why)
{
	throw Error(Errc::PermissionDenied, fmt::format("refusing the device token {}: {}", path, why));
}

} // namespace

std::string tokenFingerprint(const std::string &token)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int length = 0;
	EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr);
	std::string out = "SHA256:";
	for (unsigned int i = 0; i < 16 && i < length; ++i)
		out += fmt::format("{:02x}", digest[i]);
	return out;
}

Token loadToken(const AgentConfig &config)
{
	std::string path = config.tokenFile;
	bool credential = false;
	if (const char *dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir) {
		path = std::string(dir) + "/token";
		credential = true;
	}

	int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int err = errno;
		if (err == ELOOP)
			refuse(path, "it is a symbolic link; point token_file at the real file");
		if (err == ENOENT)
			throw Error(Errc::Failure, fmt::format("no device token at {}: write the token given by your "
								   "provider there (mode 0600), or set token_file in {}",
								   path, config.file.empty() ? kDefaultAgentConfig : config.file));
		throw Error(Errc::PermissionDenied, fmt::format("cannot read the device token {}: {}", path, std::strerror(err)));
	}
	struct stat st{};
	fstat(fd, &st);
	auto closeFd = [fd] { close(fd); };
	if (!S_ISREG(st.st_mode)) {
		closeFd();
		refuse(path, "it is not a regular file");
	}
	// A credential needs neither check: systemd made its directory private to this service, and
	// where that directory is on tmpfs it grants the service's user read access with an ACL on a
	// file root owns (mode 0440 as stat shows the ACL mask), which the checks would refuse.
	if (!credential && (st.st_mode & 077)) {
		closeFd();
		refuse(path, fmt::format("it is readable by group or others (mode {:04o}); run 'chmod 600 {}'",
					 st.st_mode & 07777, path));
	}
	if (!credential && st.st_uid != geteuid()) {
		closeFd();
		refuse(path, fmt::format("it is owned by uid {}, not by the agent's user (uid {}); run 'chown {} {}'",
					 st.st_uid, geteuid(), geteuid(), path));
	}
	std::string value(kMaxTokenBytes + 1, '\0');
	ssize_t n = read(fd, value.data(), value.size());
	closeFd();
	if (n < 0)
		throw Error(Errc::Failure, fmt::format("cannot read the device token {}: {}", path, std::strerror(errno)));
	if (static_cast<std::size_t>(n) > kMaxTokenBytes)
		refuse(path, fmt::format("it is larger than {} bytes; is it the right file?", kMaxTokenBytes));
	value.resize(static_cast<std::size_t>(n));
	auto first = value.find_first_not_of(" \t\r\n");
	auto last = value.find_last_not_of(" \t\r\n");
	if (first == std::string::npos)
		throw Error(Errc::Failure, fmt::format("the device token file {} is empty", path));
	value = value.substr(first, last - first + 1);
	if (value.find_first_of(" \t\r\n") != std::string::npos || value.find('\0') != std::string::npos)
		refuse(path, "it holds more than one word; it must hold the token alone");
	return Token{value, tokenFingerprint(value), path};
}

} // namespace hac
