// The billing rule. Integer arithmetic throughout: money is never a double.
#include <hac/billing.hpp>

#include <fmt/core.h>

namespace hac {

namespace {

constexpr TimeMs kMinuteMs = 60000;

} // namespace

std::int64_t billedMinutes(TimeMs startedAt, TimeMs endedAt)
{
	if (endedAt <= startedAt)
		return 0;
	return (endedAt - startedAt + kMinuteMs - 1) / kMinuteMs;
}

Charge chargeFor(int gpus, TimeMs startedAt, TimeMs endedAt, std::int64_t priceMicroPerGpuMinute, bool billable)
{
	Charge c;
	c.gpuMinutes = gpus > 0 ? std::int64_t(gpus) * billedMinutes(startedAt, endedAt) : 0;
	c.costMicro = billable && priceMicroPerGpuMinute > 0 ? c.gpuMinutes * priceMicroPerGpuMinute : 0;
	return c;
}

bool billableEnd(const std::string &endReason)
{
	return endReason != "allocator_failure" && endReason != "not_started" && endReason != "exec_failed";
}

std::string formatMicro(std::int64_t micro)
{
	// Unsigned, so that the most negative amount has a magnitude too.
	std::uint64_t magnitude = micro < 0 ? 0 - static_cast<std::uint64_t>(micro) : static_cast<std::uint64_t>(micro);
	std::string fraction = fmt::format("{:06}", magnitude % 1000000);
	while (fraction.size() > 2 && fraction.back() == '0')
		fraction.pop_back();
	return fmt::format("{}{}.{}", micro < 0 ? "-" : "", magnitude / 1000000, fraction);
}

} // namespace hac
