// The agent's side of its contact with the allocator: one thread registers at each heartbeat,
// backs off (capped, jittered) while the allocator does not answer, and delivers the outbox on the
// way. What it learns is kept in the job log and in Agent's devices_ and allocator_, which readers
// answer from without waiting on the allocator.
#include "agent.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include <spdlog/spdlog.h>

#include <hac/error.hpp>

namespace hac {

std::vector<Device> Agent::markCurrent(std::vector<Device> devices, const std::optional<std::string> &current)
{
	int wanted = current ? std::atoi(current->c_str()) : -1;
	bool found = std::any_of(devices.begin(), devices.end(), [&](const Device &d) { return d.index == wanted; });
	for (Device &d : devices)
		d.current = found ? d.index == wanted : &d == &devices.front();
	return devices;
}

void Agent::wakeLink()
{
	std::lock_guard lock(wakeMutex_);
	outboxDirty_ = true;
	wake_.notify_all();
}

void Agent::contactAllocator()
{
	Registration reg = link_.registerAgent(HAC_VERSION, config().allocator.heartbeatSeconds);
	std::string version;
	{
		std::lock_guard lock(mutex_);
		version = allocator_.version;
	}
	if (version.empty())
		version = link_.version();
	try {
		cache_.saveAllocatorView(reg.devices, reg.skus);
		cache_.setSetting("max_devices", std::to_string(reg.maxDevices));
		cache_.setSetting("allowed_skus", Json(reg.allowedSkus).dump());
	} catch (const Error &e) {
		// The allocator answered: a job log that takes no writes is reported as the job log's
		// problem (job_log in the status), not as the allocator being unreachable.
		spdlog::warn("cannot keep the allocator's view in the job log: {}", e.what());
	}
	// Read before taking mutex_: readers of the status take it, and must not wait on the job log.
	std::optional<std::string> current = cache_.setting("current_device");
	std::lock_guard lock(mutex_);
	bool wasDown = !allocator_.reachable;
	allocator_.version = version;
	allocator_.reachable = true;
	allocator_.lastContact = nowMs();
	allocator_.unreachableSince.reset();
	allocator_.lastError.clear();
	failures_ = 0;
	account_ = reg.account;
	devices_ = markCurrent(reg.devices, current);
	contacted_.notify_all();
	if (wasDown)
		spdlog::info("registered with the allocator at {} (account {}, {} device(s))", allocator_.url,
			     reg.account, reg.devices.size());
}

void Agent::markUnreachable(const std::string &why)
{
	std::lock_guard lock(mutex_);
	if (allocator_.reachable || !allocator_.unreachableSince) {
		allocator_.unreachableSince = nowMs();
		spdlog::warn("allocator unreachable: {}; answering from the last known state", why);
	}
	allocator_.reachable = false;
	allocator_.lastError = why;
	++failures_;
}

std::int64_t Agent::backoffCeilingMs(int attempts, std::int64_t baseMs) const
{
	std::int64_t capMs;
	{
		std::lock_guard lock(configMutex_);
		capMs = std::int64_t(config_.allocator.retryMaxSeconds) * 1000;
	}
	return std::min(capMs, baseMs << std::min(attempts, 20));
}

std::int64_t Agent::fullJitterMs(std::mt19937_64 &random, int attempts) const
{
	std::int64_t ceiling = std::max<std::int64_t>(100, backoffCeilingMs(attempts, 500));
	return std::uniform_int_distribution<std::int64_t>(100, ceiling)(random);
}

void Agent::linkLoop()
{
	using Clock = std::chrono::steady_clock;
	std::mt19937_64 random(std::random_device{}());
	// The constructor has just made the first contact. Heartbeats keep their own schedule, so
	// that the shorter wakes for the GPUs' view (and the outbox's) do not put them off.
	Clock::time_point lastContact = Clock::now();
	Clock::time_point lastGpuRefresh = Clock::now();
	while (!stopping_) {
		std::chrono::milliseconds delay;
		std::chrono::milliseconds heartbeat;
		bool wasReachable;
		{
			std::lock_guard lock(mutex_);
			wasReachable = allocator_.reachable;
			{
				std::lock_guard configLock(configMutex_);
				heartbeat = std::chrono::seconds(config_.allocator.heartbeatSeconds);
			}
			if (allocator_.reachable) {
				delay = std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
										       lastContact + heartbeat - Clock::now()));
			} else {
				// Capped exponential back-off with full jitter, so many agents that lost the
				// allocator together do not come back in lockstep.
				delay = std::chrono::milliseconds(fullJitterMs(random, failures_));
			}
		}
		try {
			noteOutbox();
		} catch (const std::exception &e) {
			spdlog::error("cannot read the outbox: {}", e.what());
		}
		// While the allocator is unreachable, neither a record just queued nor one due cuts the
		// back-off short: each job that ends (or fails to start) meanwhile would otherwise be one
		// more attempt at once, and agents started together would retry together.
		if (auto next = log_.nextOutboxAttempt(); next && wasReachable)
			delay = std::min(delay, std::chrono::milliseconds(std::max<TimeMs>(0, *next - nowMs())));
		// While a job runs, the view of its GPUs is refreshed every kGpuRefresh (or heartbeat, if
		// shorter); a wake for that alone asks the allocator nothing else. Idle, nothing changes.
		bool gpuTimer = false;
		if (wasReachable && runsJobs()) {
			auto due = std::chrono::duration_cast<std::chrono::milliseconds>(
				lastGpuRefresh + std::min<std::chrono::milliseconds>(kGpuRefresh, heartbeat) - Clock::now());
			due = std::max(std::chrono::milliseconds(0), due);
			if (due < delay) {
				delay = due;
				gpuTimer = true;
			}
		}
		bool deliverNow = false;
		bool contactAsked = false;
		bool gpusDue = false;
		bool woken;
		{
			std::unique_lock lock(wakeMutex_);
			woken = wake_.wait_for(lock, delay, [&] {
				return stopping_.load() || contactNow_ || (wasReachable && (outboxDirty_ || gpusDue_));
			});
			deliverNow = outboxDirty_;
			contactAsked = contactNow_;
			gpusDue = gpusDue_ || (!woken && gpuTimer);
			outboxDirty_ = false;
			contactNow_ = false;
			gpusDue_ = false;
		}
		if (stopping_)
			break;
		bool reachable;
		{
			std::lock_guard lock(mutex_);
			reachable = allocator_.reachable;
		}
		if (reachable && gpusDue && !deliverNow && !contactAsked) {
			refreshGpus();
			lastGpuRefresh = Clock::now();
			continue;
		}
		bool contacted = false;
		try {
			if (!deliverNow || !reachable) {
				{
					std::lock_guard lock(mutex_);
					++contactsBegun_;
				}
				contacted = true;
				contactAllocator();
			}
			deliverOutbox(nowMs());
		} catch (const Error &e) {
			markUnreachable(e.what());
		} catch (const std::exception &e) {
			markUnreachable(e.what());
		}
		if (contacted)
			lastContact = Clock::now();
		{
			std::lock_guard lock(mutex_);
			contactsEnded_ = contactsBegun_;
			contacted_.notify_all();
			reachable = allocator_.reachable;
		}
		// At each heartbeat too, and on a job's start.
		if (reachable && (contacted || gpusDue)) {
			refreshGpus();
			lastGpuRefresh = Clock::now();
		}
	}
}

} // namespace hac
