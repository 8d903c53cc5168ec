// The billing rule: what one job costs (man 1 hac-usage, "BILLING").
#pragma once

#include <cstdint>
#include <string>

#include <hac/time.hpp>

namespace hac {

// A job's bill: the GPU-minutes it held and what they cost, in millionths of its currency.
struct Charge {
	std::int64_t gpuMinutes = 0;
	std::int64_t costMicro = 0;
};

// Minutes a job held GPUs, each started minute counted whole: 0 ms is 0 minutes, 1 ms to 60 s is
// 1, 60.001 s is 2. An end before the start counts as 0.
std::int64_t billedMinutes(TimeMs startedAt, TimeMs endedAt);

// gpus x billedMinutes x the price per GPU-minute the job started at. A job that is not billable
// (billableEnd) still shows the GPU-minutes it held, and costs 0. The agent
// stores this on the job when it ends; agent/migrations/v3.sql has the same rule in SQL for the
// jobs that ended before (tests/unit/test_billing.cpp checks that the two agree).
Charge chargeFor(int gpus, TimeMs startedAt, TimeMs endedAt, std::int64_t priceMicroPerGpuMinute, bool billable);

// Whether a job that ended for `endReason` is billed. Not billed: a job whose command never ran
// under it, whoever gave up: the allocator failed or did not answer while it started
// (allocator_failure), its start did not complete in time or its process ended before the start
// was answered (not_started), or its command could not be executed (exec_failed).
bool billableEnd(const std::string &endReason);

// An amount in millionths for people, exact: at least two decimals, more only when they are not
// zero: 240000 -> "0.24", 12500 -> "0.0125", 3000000 -> "3.00", -20000 -> "-0.02".
std::string formatMicro(std::int64_t micro);

} // namespace hac
