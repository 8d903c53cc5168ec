// The outbox: usage records owed to the allocator, kept in the job log until it has stored them.
// Delivery is the link thread's (and a start's or a device change's that finds the device still
// held at the allocator); a refusal waits a back-off and is never dropped, since the record is
// what the user is billed from.
#include "agent.hpp"
#include "refusal.hpp"

#include <random>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>

namespace hac {

void Agent::deliverOutbox(TimeMs dueBy)
{
	std::mt19937_64 random(std::random_device{}());
	for (const OutboxItem &item : log_.dueOutbox(dueBy, 100)) {
		try {
			link_.recordUsage(item.jobId, item.body);
			log_.ackOutbox(item.jobId);
		} catch (const Refusal &e) {
			// A refusal is kept and retried slowly, never dropped: the allocator may be fixed,
			// and the record is what the user is billed from.
			std::int64_t ceiling = backoffCeilingMs(item.attempts, 1000);
			TimeMs next = nowMs() + std::uniform_int_distribution<std::int64_t>(ceiling / 2, ceiling)(random);
			log_.retryOutbox(item.jobId, next, e.what());
			spdlog::warn("usage record of job {} refused: {}; retrying", item.jobId, e.what());
		} catch (const Error &e) {
			log_.retryOutbox(item.jobId, nowMs() + fullJitterMs(random, item.attempts), e.what());
			throw;
		}
	}
}

std::pair<std::int64_t, std::int64_t> Agent::noteOutbox()
{
	std::int64_t size = log_.outboxSize();
	std::int64_t max;
	{
		std::lock_guard lock(configMutex_);
		max = config_.outbox.maxRecords;
	}
	std::lock_guard lock(mutex_);
	bool high = size * 2 >= max;
	if (high && !outboxWarned_)
		spdlog::warn("the outbox holds {} usage record(s), half or more of its cap of {} ([outbox] max_records): "
			     "the allocator at {} has not taken them ({}); at the cap new jobs are refused",
			     size, max, allocator_.url, allocator_.lastError.empty() ? "it is reachable" : allocator_.lastError);
	else if (!high && outboxWarned_)
		spdlog::info("the outbox is back below half its cap: {} of {} usage record(s)", size, max);
	outboxWarned_ = high;
	return {size, max};
}

void Agent::admitJob()
{
	auto [size, max] = noteOutbox();
	if (size < max)
		return;
	std::string url;
	{
		std::lock_guard lock(mutex_);
		url = allocator_.url;
	}
	throw Refusal(Refusal::Unavailable, "outbox_full",
		      fmt::format("new jobs are refused: {} usage record(s) wait for the allocator at {}, the cap set by "
				  "[outbox] max_records is {}; running jobs still end and are recorded. Try again when "
				  "the allocator is back (hac-smi shows allocator.outbox_size)", size, url, max),
		      Json{{"outbox_size", size}, {"outbox_max", max}});
}

} // namespace hac
