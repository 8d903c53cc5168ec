// What a job start is given: its device (waiting briefly for a first registration when none is
// known), that device's price from the cached rate card, and its time limit under [jobs].
#include "agent.hpp"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/duration.hpp>

#include "refusal.hpp"

namespace hac {

Device Agent::device(std::optional<int> index)
{
	std::unique_lock lock(mutex_);
	if (devices_.empty() && !allocator_.reachable) {
		// `systemctl start hac-agent && hac-run ...` right after an unanswered first contact:
		// the back-off may be seconds away, so one attempt now, the caller waiting for it (not
		// for one already under way, which may have begun before the allocator was back).
		std::uint64_t begun = contactsBegun_;
		lock.unlock();
		{
			std::lock_guard wake(wakeMutex_);
			contactNow_ = true;
			wake_.notify_all();
		}
		lock.lock();
		contacted_.wait_for(lock, kFirstRegistrationWait,
				    [&] { return allocator_.reachable || contactsEnded_ > begun || stopping_.load(); });
	}
	for (const Device &d : devices_)
		if (index ? d.index == *index : d.current)
			return d;
	if (devices_.empty() && !allocator_.reachable)
		throw Refusal(Refusal::Unavailable, "allocator_unreachable",
			      fmt::format("the agent knows no devices yet: it has not reached the allocator at {} ({}); "
					  "try again when the allocator answers (hac-smi shows its state)",
					  allocator_.url, allocator_.lastError.empty() ? "no answer yet" : allocator_.lastError));
	if (devices_.empty())
		throw Refusal(Refusal::Unavailable, "no_devices", "the allocator lists no devices for this VM's token");
	throw Refusal(Refusal::NotFound, "device_not_found",
		      fmt::format("no device {}; this VM has {} device(s)", index.value_or(-1), devices_.size()));
}

std::pair<std::int64_t, std::string> Agent::price(const std::string &sku)
{
	for (const Sku &s : cache_.skus())
		if (s.name == sku)
			return {s.priceMicroPerGpuMinute, s.currency};
	spdlog::warn("no price known for {}: the job is recorded at 0", sku);
	return {0, "USD"};
}

std::optional<std::int64_t> Agent::timeLimit(std::optional<std::int64_t> requested)
{
	JobSettings jobs = config().jobs;
	std::optional<std::int64_t> limit = requested ? requested : jobs.defaultTimeLimitSeconds;
	if (limit && jobs.maxTimeLimitSeconds && *limit > *jobs.maxTimeLimitSeconds)
		throw Refusal(Refusal::BadInput, "time_limit_too_long",
			      fmt::format("the time limit {} is above this VM's maximum of {} ([jobs] max_time_limit in "
					  "agent.toml); ask for {} or less", formatDuration(*limit),
					  formatDuration(*jobs.maxTimeLimitSeconds), formatDuration(*jobs.maxTimeLimitSeconds)),
			      Json{{"time_limit_seconds", *limit}, {"max_time_limit_seconds", *jobs.maxTimeLimitSeconds}});
	return limit;
}

} // namespace hac
