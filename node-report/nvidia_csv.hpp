// What nvidia-smi --query-gpu prints (CSV, no header, no units), read into the figures of the
// allocator's POST /v1/nodes/{node}/telemetry (allocator/API.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hac/json.hpp>

namespace hac::node_report {

// The query hac-node-report runs; the parser expects its fields in this order.
inline constexpr const char *kQueryFields =
	"index,uuid,name,utilization.gpu,utilization.memory,memory.used,memory.total,temperature.gpu,power.draw";
inline constexpr int kMaxGpus = 64;          // indexes 0..63
// The allocator takes at most 32 GPUs in one report (allocator/API.md; the contract said 64):
// the lines after the 32nd GPU are skipped with a warning rather than the whole report refused.
inline constexpr int kMaxGpusPerReport = 32;

// One GPU's line. Every figure but the index may be unknown (nvidia-smi said [N/A], or it was out
// of the allocator's range).
struct GpuSample {
	int index = 0;
	std::optional<std::string> uuid;
	std::optional<std::string> name;
	std::optional<std::int64_t> utilizationGpuPct;
	std::optional<std::int64_t> utilizationMemoryPct;
	std::optional<std::int64_t> memoryUsedMib;
	std::optional<std::int64_t> memoryTotalMib;
	std::optional<std::int64_t> temperatureC;
	std::optional<double> powerW;
};

struct ParsedCsv {
	std::vector<GpuSample> gpus;
	// One per line skipped and per figure dropped, naming the line and the field.
	std::vector<std::string> warnings;
	int lines = 0;        // lines that were not blank
};

// Never throws: what it cannot read it skips (a line) or leaves unknown (a figure), with a warning.
ParsedCsv parseNvidiaCsv(std::string_view text);

// The GPU as the contract's JSON object, unknown figures as null.
Json toJson(const GpuSample &gpu);

} // namespace hac::node_report
