// Redrawn at most ten times a second with a carriage return: cheap, and readable in a terminal.
#include "progress_bar.hpp"

#include <cstdio>

#include <fmt/core.h>

namespace hac::update {

namespace {

std::string mib(std::uint64_t bytes)
{
	return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

} // namespace

ProgressBar::ProgressBar(bool enabled, std::string label) : enabled_(enabled), label_(std::move(label)) {}

ProgressBar::~ProgressBar()
{
	finish();
}

void ProgressBar::update(std::uint64_t done, std::uint64_t total)
{
	done_ = done;
	total_ = total;
	auto now = std::chrono::steady_clock::now();
	if (!enabled_ || (drawn_ && now - last_ < std::chrono::milliseconds(100)))
		return;
	last_ = now;
	draw();
}

void ProgressBar::draw()
{
	constexpr int width = 30;
	int filled = total_ ? static_cast<int>(width * std::min(done_, total_) / total_) : 0;
	int pct = total_ ? static_cast<int>(100 * std::min(done_, total_) / total_) : 0;
	std::string label = label_.size() > 40 ? label_.substr(0, 37) + "..." : label_;
	fmt::print(stderr, "\r{:<40} [{}{}] {:3}% {} / {}", label, std::string(static_cast<std::size_t>(filled), '#'),
		   std::string(static_cast<std::size_t>(width - filled), '.'), pct, mib(done_), mib(total_));
	std::fflush(stderr);
	drawn_ = true;
}

void ProgressBar::finish()
{
	if (!enabled_ || finished_ || !drawn_)
		return;
	draw();
	fmt::print(stderr, "\n");
	finished_ = true;
}

} // namespace hac::update
