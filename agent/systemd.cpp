// The notify and socket-activation protocols are small and stable (sd_notify(3),
// sd_listen_fds(3)); writing them here saves every tool's package a libsystemd dependency.
#include "systemd.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <hac/error.hpp>
#include <hac/number.hpp>

namespace hac {

bool notifySystemd(const std::string &state)
{
	const char *path = std::getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return false;
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	std::size_t length = std::strlen(path);
	if (length >= sizeof(addr.sun_path))
		return false;
	std::memcpy(addr.sun_path, path, length);
	if (addr.sun_path[0] == '@')
		addr.sun_path[0] = '\0'; // abstract namespace
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	socklen_t addrLength = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
	ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr *>(&addr), addrLength);
	close(fd);
	return sent == static_cast<ssize_t>(state.size());
}

int systemdListenFd()
{
	const char *pid = std::getenv("LISTEN_PID");
	const char *fds = std::getenv("LISTEN_FDS");
	if (!pid || !fds || std::atol(pid) != static_cast<long>(getpid()) || std::atoi(fds) < 1)
		return -1;
	// Not for our children: a job started by the agent must not think it was activated.
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	constexpr int fd = 3; // SD_LISTEN_FDS_START
	int type = 0;
	int listening = 0;
	socklen_t length = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM ||
	    (length = sizeof(listening), getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length)) != 0 ||
	    !listening)
		throw Error(Errc::Failure, "LISTEN_FDS is set but fd 3 is not a listening stream socket: check "
					       "ListenStream= in hac-agent.socket, or unset LISTEN_FDS and LISTEN_PID");
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

std::chrono::microseconds systemdWatchdogInterval()
{
	const char *usec = std::getenv("WATCHDOG_USEC");
	if (!usec || !*usec)
		return {};
	if (const char *pid = std::getenv("WATCHDOG_PID"); pid && *pid && parseInteger<pid_t>(pid) != getpid())
		return {};
	auto value = parseInteger<std::int64_t>(usec, 1, std::numeric_limits<std::int64_t>::max());
	if (!value)
		return {};
	return std::chrono::microseconds(*value);
}

} // namespace hac
