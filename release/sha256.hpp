// SHA-256 through OpenSSL's libcrypto, as lower-case hex: the hashes release manifests state.
#pragma once

#include <string>
#include <string_view>

namespace hac::release {

std::string sha256Hex(std::string_view data);

// Hashes a file as it is read; throws hac::Error(Failure) naming the file when it cannot be read.
std::string sha256File(const std::string &path);

} // namespace hac::release
