// The pieces of the systemd protocol the agent needs, without linking libsystemd.
#pragma once

#include <chrono>
#include <string>

namespace hac {

// sd_notify(3): sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET; false when not under systemd.
bool notifySystemd(const std::string &state);

// sd_listen_fds(3): the listening socket systemd passed (fd 3), or -1 when none was passed.
// Throws hac::Error when one was announced but fd 3 is not a listening stream socket.
int systemdListenFd();

// sd_watchdog_enabled(3): $WATCHDOG_USEC, the time within which systemd wants "WATCHDOG=1";
// zero when it is unset or invalid, or when $WATCHDOG_PID names another process.
std::chrono::microseconds systemdWatchdogInterval();

} // namespace hac
