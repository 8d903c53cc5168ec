// A one-line download progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hac::update {

class ProgressBar {
public:
	// `enabled` false draws nothing (stderr not a terminal, or --json).
	ProgressBar(bool enabled, std::string label);
	~ProgressBar();
	ProgressBar(const ProgressBar &) = delete;
	ProgressBar &operator=(const ProgressBar &) = delete;

	void update(std::uint64_t done, std::uint64_t total);
	// Draws the last state and ends the line.
	void finish();

private:
	void draw();

	bool enabled_;
	std::string label_;
	std::uint64_t done_ = 0;
	std::uint64_t total_ = 0;
	bool drawn_ = false;
	bool finished_ = false;
	std::chrono::steady_clock::time_point last_{};
};

} // namespace hac::update
