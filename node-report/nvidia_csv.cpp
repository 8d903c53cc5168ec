// Reading nvidia-smi's CSV: trimmed values, its bracketed notes as unknown, a bad line skipped
// and a figure out of the allocator's range dropped, each with a warning that names the line.
#include "nvidia_csv.hpp"

#include <array>
#include <charconv>
#include <cmath>

#include <fmt/core.h>

#include <hac/number.hpp>

namespace hac::node_report {

namespace {

constexpr int kFields = 9;
constexpr std::array<const char *, kFields> kNames = {
	"index", "uuid", "name", "utilization.gpu", "utilization.memory",
	"memory.used", "memory.total", "temperature.gpu", "power.draw"};

// A figure's place in GpuSample and the range the allocator accepts for it (allocator/API.md).
struct Figure {
	int field;
	bool integer;
	double min, max;
	std::optional<std::int64_t> GpuSample::*whole;
	std::optional<double> GpuSample::*real;
};

constexpr double kMaxMib = 1099511627776.0;  // 2^40
const std::array<Figure, 6> kFigures = {{
	{3, true, 0, 100, &GpuSample::utilizationGpuPct, nullptr},
	{4, true, 0, 100, &GpuSample::utilizationMemoryPct, nullptr},
	{5, true, 0, kMaxMib, &GpuSample::memoryUsedMib, nullptr},
	{6, true, 0, kMaxMib, &GpuSample::memoryTotalMib, nullptr},
	{7, true, -50, 200, &GpuSample::temperatureC, nullptr},
	{8, false, 0, 10000, nullptr, &GpuSample::powerW},
}};

std::string_view trim(std::string_view s)
{
	while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
		s.remove_prefix(1);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
		s.remove_suffix(1);
	return s;
}

// nvidia-smi's ways of saying it does not know: [N/A], [Not Supported], [Unknown Error], and any
// other bracketed note ([Insufficient Permissions], [GPU is lost]); also a bare N/A.
bool unknown(std::string_view value)
{
	return value == "N/A" || (value.size() >= 2 && value.front() == '[' && value.back() == ']');
}

std::optional<double> number(std::string_view text)
{
	double value = 0;
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
		return std::nullopt;
	return value;
}

std::string rangeText(const Figure &f)
{
	if (f.max == kMaxMib)
		return "0..2^40";
	return fmt::format("{}..{}", f.min, f.max);
}

} // namespace

ParsedCsv parseNvidiaCsv(std::string_view text)
{
	ParsedCsv out;
	std::vector<int> lineOfIndex(kMaxGpus, 0);
	int lineNo = 0;
	while (!text.empty()) {
		std::size_t nl = text.find('\n');
		std::string_view line = text.substr(0, nl);
		text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
		++lineNo;
		if (trim(line).empty())
			continue;
		++out.lines;

		std::vector<std::string_view> values;
		for (std::size_t start = 0;;) {
			std::size_t comma = line.find(',', start);
			values.push_back(trim(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
			if (comma == std::string_view::npos)
				break;
			start = comma + 1;
		}
		auto skip = [&](const std::string &why) {
			out.warnings.push_back(fmt::format("line {}: {}; line skipped", lineNo, why));
		};
		if (values.size() != kFields) {
			skip(fmt::format("{} fields instead of {} ({})", values.size(), kFields, kQueryFields));
			continue;
		}

		GpuSample gpu;
		auto index = parseInteger<int>(values[0], 0, kMaxGpus - 1);
		if (!index) {
			skip(fmt::format("field index: '{}' is not a GPU index 0..{}", values[0], kMaxGpus - 1));
			continue;
		}
		gpu.index = *index;
		if (out.gpus.size() == std::size_t(kMaxGpusPerReport)) {
			skip(fmt::format("more than {} GPUs, which is all the allocator takes in one report", kMaxGpusPerReport));
			continue;
		}
		if (lineOfIndex[gpu.index]) {
			skip(fmt::format("field index: GPU {} is already on line {}", gpu.index, lineOfIndex[gpu.index]));
			continue;
		}
		if (!unknown(values[1]) && !values[1].empty())
			gpu.uuid = std::string(values[1]);
		if (!unknown(values[2]) && !values[2].empty())
			gpu.name = std::string(values[2]);

		bool bad = false;
		for (const Figure &f : kFigures) {
			std::string_view value = values[f.field];
			if (unknown(value))
				continue;
			auto v = number(value);
			if (!v) {
				skip(fmt::format("field {}: '{}' is not a number", kNames[f.field], value));
				bad = true;
				break;
			}
			if (*v < f.min || *v > f.max) {
				out.warnings.push_back(fmt::format("line {}: field {}: {} is outside {}; sent as unknown",
								   lineNo, kNames[f.field], value, rangeText(f)));
				continue;
			}
			if (f.integer)
				gpu.*f.whole = std::llround(*v);
			else
				gpu.*f.real = *v;
		}
		if (bad)
			continue;
		lineOfIndex[gpu.index] = lineNo;
		out.gpus.push_back(std::move(gpu));
	}
	return out;
}

Json toJson(const GpuSample &gpu)
{
	auto orNull = [](const auto &v) { return v ? Json(*v) : Json(nullptr); };
	return Json{{"index", gpu.index},
		    {"uuid", orNull(gpu.uuid)},
		    {"name", orNull(gpu.name)},
		    {"utilization_gpu_pct", orNull(gpu.utilizationGpuPct)},
		    {"utilization_memory_pct", orNull(gpu.utilizationMemoryPct)},
		    {"memory_used_mib", orNull(gpu.memoryUsedMib)},
		    {"memory_total_mib", orNull(gpu.memoryTotalMib)},
		    {"temperature_c", orNull(gpu.temperatureC)},
		    {"power_w", orNull(gpu.powerW)}};
}

} // namespace hac::node_report
