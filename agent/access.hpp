// Who a caller is, from the kernel's word (SO_PEERCRED), and what that lets them do.
#pragma once

#include <string>
#include <sys/types.h>

#include "http_server.hpp"

namespace hac {

// Root, or a member of `adminGroup` (primary or supplementary group of the calling process).
bool isPrivileged(const Peer &peer, const std::string &adminGroup);

// The login name of `uid`, or the number when it has none.
std::string userName(uid_t uid);

} // namespace hac
