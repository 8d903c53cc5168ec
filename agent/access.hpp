// Who a caller is, from the kernel's word (SO_PEERCRED), and what that lets them do.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include <service/http_server.hpp>

namespace hac {

// Root, or a member of `adminGroup` (primary or supplementary group of the calling process).
bool isPrivileged(const Peer &peer, const std::string &adminGroup);

// The login name of `uid`, or the number when it has none.
std::string userName(uid_t uid);

// The uid of a login name, or of a number given as text (which need not have a name); nothing
// for a name no user has.
std::optional<uid_t> userId(const std::string &nameOrUid);

} // namespace hac
