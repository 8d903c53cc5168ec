// The two pieces of the systemd protocol the agent needs, without linking libsystemd.
#pragma once

#include <string>

namespace hac {

// sd_notify(3): sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET; false when not under systemd.
bool notifySystemd(const std::string &state);

// sd_listen_fds(3): the listening socket systemd passed (fd 3), or -1 when none was passed.
int systemdListenFd();

} // namespace hac
