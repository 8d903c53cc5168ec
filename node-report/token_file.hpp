// The node credential: read from a file only its owner can read, never logged.
#pragma once

#include <string>

namespace hac::node_report {

// Reads the token from `path`, trailing newline and blanks removed. Refused (hac::Error,
// PermissionDenied): a symbolic link, not a regular file, readable or writable by group or others
// (unless it is in $CREDENTIALS_DIRECTORY, which systemd keeps private to the service). An error
// (Usage): a file that cannot be read, is empty, is over 4 KiB, or holds spaces or control
// characters. The messages name the file, never the token.
std::string readTokenFile(const std::string &path);

} // namespace hac::node_report
