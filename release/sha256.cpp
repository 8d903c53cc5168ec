// Streaming SHA-256 with EVP, so a multi-gigabyte wheel is hashed without being held in memory.
#include "sha256.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <unistd.h>

#include <fmt/core.h>
#include <openssl/evp.h>

#include <hac/error.hpp>

namespace hac::release {

namespace {

struct MdCtxFree {
	void operator()(EVP_MD_CTX *ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

MdCtx startSha256()
{
	MdCtx ctx(EVP_MD_CTX_new());
	if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
		throw Error(Errc::Failure, "OpenSSL cannot start a SHA-256 digest");
	return ctx;
}

std::string finish(EVP_MD_CTX *ctx)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int length = 0;
	if (EVP_DigestFinal_ex(ctx, digest, &length) != 1)
		throw Error(Errc::Failure, "OpenSSL cannot finish a SHA-256 digest");
	std::string hex;
	for (unsigned int i = 0; i < length; ++i)
		hex += fmt::format("{:02x}", digest[i]);
	return hex;
}

} // namespace

std::string sha256Hex(std::string_view data)
{
	MdCtx ctx = startSha256();
	EVP_DigestUpdate(ctx.get(), data.data(), data.size());
	return finish(ctx.get());
}

std::string sha256File(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		throw Error(Errc::Failure, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
	MdCtx ctx = startSha256();
	static thread_local char buffer[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buffer, sizeof(buffer));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			throw Error(Errc::Failure, fmt::format("cannot read {}: {}", path, std::strerror(err)));
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx.get(), buffer, static_cast<std::size_t>(n));
	}
	close(fd);
	return finish(ctx.get());
}

} // namespace hac::release
