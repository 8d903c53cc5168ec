// The -l/--loop of the tools: repeat every interval until SIGINT or SIGTERM, or for a count of rounds.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace hac::tools {

// Use as: Loop loop(interval, count); do { ...one round... } while (loop.next());
// While it lives, SIGINT and SIGTERM end the loop after the current round instead of killing the
// tool mid-line, so a script reading its output sees whole records and exit status 0.
class Loop {
public:
	Loop(std::chrono::milliseconds interval, std::optional<std::uint64_t> count);
	~Loop();
	Loop(const Loop &) = delete;
	Loop &operator=(const Loop &) = delete;

	// Waits until the next round is due; false once `count` rounds ran or a signal came.
	bool next();
	bool stopped() const;

private:
	std::chrono::milliseconds interval_;
	std::optional<std::uint64_t> count_;
	std::uint64_t rounds_ = 1;
	std::chrono::steady_clock::time_point roundStart_;
};

} // namespace hac::tools
