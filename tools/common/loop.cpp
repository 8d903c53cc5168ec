// Signals reach the loop through a self-pipe that poll() waits on together with the interval, so a
// signal that lands between the check and the wait still ends the wait at once.
#include "loop.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <fmt/core.h>

#include <hac/error.hpp>

namespace hac::tools {

namespace {

volatile std::sig_atomic_t stopRequested = 0;
int wakeFds[2] = {-1, -1};
struct sigaction previousInt;
struct sigaction previousTerm;

extern "C" void onStopSignal(int)
{
	int saved = errno;
	stopRequested = 1;
	[[maybe_unused]] ssize_t n = write(wakeFds[1], "x", 1);
	errno = saved;
}

} // namespace

Loop::Loop(std::chrono::milliseconds interval, std::optional<std::uint64_t> count)
	: interval_(interval), count_(count), roundStart_(std::chrono::steady_clock::now())
{
	if (pipe2(wakeFds, O_CLOEXEC | O_NONBLOCK) != 0)
		throw Error(Errc::Failure, fmt::format("cannot create a pipe for --loop: {}", std::strerror(errno)));
	stopRequested = 0;
	struct sigaction action {};
	action.sa_handler = onStopSignal;
	sigemptyset(&action.sa_mask);
	// SA_RESTART: a signal during a round must not fail the agent request or a write to stdout;
	// the round finishes and next() ends the loop.
	action.sa_flags = SA_RESTART;
	sigaction(SIGINT, &action, &previousInt);
	sigaction(SIGTERM, &action, &previousTerm);
}

Loop::~Loop()
{
	sigaction(SIGINT, &previousInt, nullptr);
	sigaction(SIGTERM, &previousTerm, nullptr);
	close(wakeFds[0]);
	close(wakeFds[1]);
	wakeFds[0] = wakeFds[1] = -1;
}

bool Loop::stopped() const
{
	return stopRequested != 0;
}

bool Loop::next()
{
	using namespace std::chrono;
	if (stopped() || (count_ && rounds_ >= *count_))
		return false;
	// Rounds start an interval apart, however long a round took, so samples keep their cadence.
	auto due = roundStart_ + interval_;
	for (;;) {
		auto left = duration_cast<milliseconds>(due - steady_clock::now());
		if (left.count() <= 0)
			break;
		struct pollfd pfd = {wakeFds[0], POLLIN, 0};
		int n = poll(&pfd, 1, static_cast<int>(left.count()));
		if (stopped())
			return false;
		if (n < 0 && errno != EINTR)
			throw Error(Errc::Failure, fmt::format("waiting for the next --loop round: {}", std::strerror(errno)));
	}
	// A round that overran its interval starts the cadence anew instead of a burst of catch-ups.
	auto now = steady_clock::now();
	roundStart_ = now - due > interval_ ? now : due;
	++rounds_;
	return true;
}

} // namespace hac::tools
