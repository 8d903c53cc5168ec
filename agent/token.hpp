// The device token: read once at start from a file only the agent's user can read.
#pragma once

#include <string>

namespace hac {

struct AgentConfig;

struct Token {
	std::string value;         // never logged, never sent to a tool
	std::string fingerprint;   // "SHA256:<32 hex digits>", safe to show
	std::string source;        // the file it came from
};

// From $CREDENTIALS_DIRECTORY/token (systemd LoadCredential=) or else config.tokenFile. Throws
// hac::Error saying how to fix it when the file is missing, a symlink, empty, or (token_file
// only: systemd guards the credential) not owned by this user or readable by group or others.
Token loadToken(const AgentConfig &config);

std::string tokenFingerprint(const std::string &token);

} // namespace hac
