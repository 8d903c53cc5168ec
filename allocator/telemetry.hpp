// The farm's per-GPU figures (utilization, memory, temperature, power), as its nodes report them
// (POST /v1/nodes/{node}/telemetry), joined with placement for GET /v1/allocations/{job}/gpus.
// Kept in memory, not in the store: they are live readings, not records, and a restart forgets
// them until each node's next report (a few seconds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <hac/json.hpp>
#include <hac/time.hpp>
#include <hac/types.hpp>

#include "store.hpp"

namespace hac::allocator {

// A node's last report: its GPUs' figures (hac::PhysicalGpu, `gpu` the index nvidia-smi gives,
// `node` empty: the report's node is its key), each unknown where the node could not read it.
struct NodeReport {
	TimeMs sampledAt = 0;
	TimeMs receivedAt = 0;
	std::vector<PhysicalGpu> gpus;
};

// GPUs a report may hold: more than any node has (8 or 16), and within the request bodies'
// bound on values (service/request_fields.hpp).
constexpr int kMaxReportedGpus = 32;

// A report's body read as API.md says, or ApiError 400 naming the field (gpus[2].power_w).
// `now` stands for a missing sampled_at; one more than a minute ahead of it is refused.
NodeReport parseNodeReport(const Json &body, TimeMs now);

// Whether `node` can be a node's name in a path: 1 to 64 of [A-Za-z0-9._-].
bool validNodeName(const std::string &node);

// The simulated backend's stand-in for a node's report: figures that move with time and differ
// from GPU to GPU and job to job, so the demo's view looks like a farm at work.
// Its source is "simulated" and its sample time `now`.
PhysicalGpu simulatedGpu(const std::string &jobId, const PlacedGpu &gpu, std::int64_t memoryTotalMib, TimeMs now);

class Telemetry {
public:
	// At most `maxNodes` nodes are kept; a new one beyond that replaces the one heard from longest
	// ago, so a credential allowed "*" cannot grow the allocator without bound.
	explicit Telemetry(std::size_t maxNodes = 100000) : maxNodes_(maxNodes) {}

	void report(const std::string &node, NodeReport report);
	// GPU `gpu` of `node` as last reported: its figures, the report's sample time, source "node".
	std::optional<PhysicalGpu> gpu(const std::string &node, int gpu) const;
	// Nodes heard from since `since`.
	std::size_t nodesSince(TimeMs since) const;

private:
	mutable std::mutex mutex_;
	std::unordered_map<std::string, NodeReport> nodes_;
	std::size_t maxNodes_;
};

} // namespace hac::allocator
