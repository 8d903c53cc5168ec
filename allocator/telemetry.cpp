#include "telemetry.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include <fmt/format.h>

#include <service/api_error.hpp>

namespace hac::allocator {

namespace {

ApiError badField(const std::string &field, const std::string &what)
{
	return {400, "bad_request", fmt::format("the field '{}' must be {}", field, what)};
}

// An optional whole number of gpus[i] within [min, max].
template <typename T>
std::optional<T> optionalWhole(const Json &gpu, const std::string &prefix, const char *key, std::int64_t min, std::int64_t max)
{
	auto it = gpu.find(key);
	if (it == gpu.end() || it->is_null())
		return std::nullopt;
	std::string what = fmt::format("null or a whole number from {} to {}", min, max);
	if (!it->is_number_integer())
		throw badField(prefix + key, what);
	// Unsigned beyond int64 is out of range as well.
	if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max))
		throw badField(prefix + key, what);
	auto v = it->get<std::int64_t>();
	if (v < min || v > max)
		throw badField(prefix + key, what);
	return static_cast<T>(v);
}

std::optional<std::string> optionalText(const Json &gpu, const std::string &prefix, const char *key)
{
	auto it = gpu.find(key);
	if (it == gpu.end() || it->is_null())
		return std::nullopt;
	const char *what = "null or a string of at most 128 printable characters";
	if (!it->is_string())
		throw badField(prefix + key, what);
	auto s = it->get<std::string>();
	if (s.size() > 128 || std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < ' ' || c == 0x7f; }))
		throw badField(prefix + key, what);
	return s;
}

std::optional<double> optionalPower(const Json &gpu, const std::string &prefix)
{
	auto it = gpu.find("power_w");
	if (it == gpu.end() || it->is_null())
		return std::nullopt;
	if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 10000)
		throw badField(prefix + "power_w", "null or a number of watts from 0 to 10000");
	return it->get<double>();
}

} // namespace

bool validNodeName(const std::string &node)
{
	return !node.empty() && node.size() <= 64 && std::all_of(node.begin(), node.end(), [](char c) {
		return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
	});
}

NodeReport parseNodeReport(const Json &body, TimeMs now)
{
	NodeReport r;
	r.receivedAt = now;
	r.sampledAt = now;
	if (auto it = body.find("sampled_at"); it != body.end() && !it->is_null()) {
		std::optional<TimeMs> t = it->is_string() ? parseTime(it->get<std::string>()) : std::nullopt;
		if (!t)
			throw badField("sampled_at", "an RFC 3339 UTC time such as 2026-12-02T08:00:00.000Z");
		if (*t > now + 60'000)
			throw ApiError(400, "bad_request",
				       fmt::format("sampled_at ({}) is more than a minute ahead of the allocator's clock ({}); "
						   "check the node's clock (NTP)", it->get<std::string>(), formatTime(now)));
		r.sampledAt = *t;
	}
	auto gpus = body.find("gpus");
	if (gpus == body.end() || !gpus->is_array())
		throw badField("gpus", fmt::format("an array of at most {} GPUs", kMaxReportedGpus));
	if (gpus->size() > static_cast<std::size_t>(kMaxReportedGpus))
		throw badField("gpus", fmt::format("an array of at most {} GPUs; this one has {}", kMaxReportedGpus, gpus->size()));
	std::set<int> seen;
	for (std::size_t i = 0; i < gpus->size(); ++i) {
		const Json &g = (*gpus)[i];
		std::string prefix = fmt::format("gpus[{}].", i);
		if (!g.is_object())
			throw badField(fmt::format("gpus[{}]", i), "an object");
		PhysicalGpu f;
		auto index = optionalWhole<int>(g, prefix, "index", 0, 63);
		if (!index)
			throw badField(prefix + "index", "a whole number from 0 to 63 (nvidia-smi's index)");
		if (!seen.insert(*index).second)
			throw ApiError(400, "bad_request", fmt::format("GPU index {} is reported twice ({}index)", *index, prefix));
		f.gpu = *index;
		f.uuid = optionalText(g, prefix, "uuid");
		f.name = optionalText(g, prefix, "name");
		f.utilizationGpuPct = optionalWhole<int>(g, prefix, "utilization_gpu_pct", 0, 100);
		f.utilizationMemoryPct = optionalWhole<int>(g, prefix, "utilization_memory_pct", 0, 100);
		constexpr std::int64_t maxMib = std::int64_t{1} << 40;
		f.memoryUsedMib = optionalWhole<std::int64_t>(g, prefix, "memory_used_mib", 0, maxMib);
		f.memoryTotalMib = optionalWhole<std::int64_t>(g, prefix, "memory_total_mib", 0, maxMib);
		f.temperatureC = optionalWhole<int>(g, prefix, "temperature_c", -50, 200);
		f.powerW = optionalPower(g, prefix);
		r.gpus.push_back(std::move(f));
	}
	return r;
}

PhysicalGpu simulatedGpu(const std::string &jobId, const PlacedGpu &gpu, std::int64_t memoryTotalMib, TimeMs now)
{
	// A phase per job and GPU, and a slow wave over a minute: busy, but not flat.
	std::size_t seed = std::hash<std::string>{}(fmt::format("{}/{}/{}", jobId, gpu.node, gpu.gpu));
	double phase = static_cast<double>(seed % 1000) / 1000.0 * 2 * M_PI;
	double wave = std::sin(phase + static_cast<double>(now % 60'000) / 60'000.0 * 2 * M_PI);
	int util = static_cast<int>(std::lround(75 + 20 * wave));
	PhysicalGpu f;
	f.node = gpu.node;
	f.gpu = gpu.gpu;
	f.uuid = fmt::format("GPU-sim-{}-{}", gpu.node, gpu.gpu);
	f.name = "HAC Simulated GPU";
	f.utilizationGpuPct = util;
	f.utilizationMemoryPct = static_cast<int>(std::lround(util * 0.45));
	f.memoryTotalMib = memoryTotalMib;
	f.memoryUsedMib = memoryTotalMib * (55 + static_cast<std::int64_t>(seed % 30)) / 100;
	f.temperatureC = 38 + util * 4 / 10;
	f.powerW = std::round((90.0 + util * 2.6) * 10) / 10;
	f.sampledAt = now;
	f.source = "simulated";
	return f;
}

void Telemetry::report(const std::string &node, NodeReport report)
{
	std::lock_guard lock(mutex_);
	if (!nodes_.contains(node) && nodes_.size() >= maxNodes_) {
		auto oldest = std::min_element(nodes_.begin(), nodes_.end(), [](const auto &a, const auto &b) {
			return a.second.receivedAt < b.second.receivedAt;
		});
		nodes_.erase(oldest);
	}
	nodes_[node] = std::move(report);
}

std::optional<PhysicalGpu> Telemetry::gpu(const std::string &node, int gpu) const
{
	std::lock_guard lock(mutex_);
	auto it = nodes_.find(node);
	if (it == nodes_.end())
		return std::nullopt;
	for (PhysicalGpu f : it->second.gpus)
		if (f.gpu == gpu) {
			f.node = node;
			f.sampledAt = it->second.sampledAt;
			f.source = "node";
			return f;
		}
	return std::nullopt;
}

std::size_t Telemetry::nodesSince(TimeMs since) const
{
	std::lock_guard lock(mutex_);
	return static_cast<std::size_t>(std::count_if(nodes_.begin(), nodes_.end(),
						      [&](const auto &n) { return n.second.receivedAt >= since; }));
}

} // namespace hac::allocator
