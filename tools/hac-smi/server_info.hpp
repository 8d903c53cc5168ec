// hac-smi -s and -t: versions of the pieces, and the fingerprint of the device token.
#pragma once

#include <string>

#include <hac/json.hpp>
#include <hac/types.hpp>

namespace hac::smi {

std::string renderServerVersion(const Status &status);
Json serverVersionDocument(const Status &status);

// What GET /v1/token answers. Only these fields are read, so hac-smi never prints more than a
// fingerprint, whatever an agent sends.
struct TokenInfo {
	std::string fingerprint; // "SHA256:..."
	std::string account;
};

// Throws hac::Error(Failure) when the answer has no fingerprint.
TokenInfo parseTokenInfo(const Json &answer);
std::string renderTokenInfo(const TokenInfo &token);
Json tokenDocument(const TokenInfo &token);

} // namespace hac::smi
