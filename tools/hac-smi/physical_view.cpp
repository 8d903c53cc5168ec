// The -p view. Each GPU's figures are as old as its node's last report: the Sampled column says
// how old, so a node that stopped reporting is visible; "-" is a figure nobody knows.
#include "physical_view.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include <hac/error.hpp>

#include "common/local_time.hpp"

namespace hac::smi {

namespace {

constexpr std::size_t kShortJobId = 8;

using Value = std::optional<std::string>;

template <typename T>
Value text(const std::optional<T> &v)
{
	return v ? Value(fmt::format("{}", *v)) : Value();
}

Value powerText(const std::optional<double> &w)
{
	return w ? Value(fmt::format("{:.2f}", *w)) : Value();
}

std::string localTime(TimeMs t)
{
	return fmt::format("{}.{:03}", tools::formatLocalTime(t, "%Y/%m/%d %H:%M:%S"), t % 1000);
}

std::string location(const PhysicalGpu &g)
{
	return fmt::format("{}:{}", g.node, g.gpu);
}

std::string memoryUsage(const PhysicalGpu &g)
{
	if (!g.memoryUsedMib && !g.memoryTotalMib)
		return "-";
	return fmt::format("{} / {} MiB", g.memoryUsedMib ? std::to_string(*g.memoryUsedMib) : "-",
			   g.memoryTotalMib ? std::to_string(*g.memoryTotalMib) : "-");
}

std::string sampled(const PhysicalGpu &g, TimeMs now)
{
	if (!g.sampledAt)
		return "-";
	// A node's clock a little ahead of this VM's is "0 s ago", not a negative age.
	return tools::formatAge(std::max<TimeMs>(0, now - *g.sampledAt)) + " ago";
}

struct GpuField {
	QueryField field;
	Value (*value)(const PhysicalGpu &g, TimeMs now);
};

const std::vector<GpuField> &gpuFields()
{
	static const std::vector<GpuField> fields = {
		{{"timestamp", "", "time of the query, local time: YYYY/MM/DD HH:MM:SS.mmm"},
		 [](const PhysicalGpu &, TimeMs now) -> Value { return localTime(now); }},
		{{"device", "", "the device (virtual accelerator) whose job holds the GPU, as -i takes it"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return std::to_string(g.device); }},
		{{"job_id", "", "the job holding the GPU"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return g.jobId.empty() ? Value() : Value(g.jobId); }},
		{{"location", "", "node:index, the table's Location"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return location(g); }},
		{{"node", "", "the farm node the GPU is in (Slurm's node name on Slurm)"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return g.node; }},
		{{"index", "", "the GPU's index on its node"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return std::to_string(g.gpu); }},
		{{"uuid", "", "the GPU's UUID, as nvidia-smi on the node shows it"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return g.uuid; }},
		{{"name", "", "the GPU's product name"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return g.name; }},
		{{"utilization.gpu", "%", "GPU utilization"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return text(g.utilizationGpuPct); }},
		{{"utilization.memory", "%", "memory controller utilization"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return text(g.utilizationMemoryPct); }},
		{{"memory.used", "MiB", "memory in use on the GPU"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return text(g.memoryUsedMib); }},
		{{"memory.total", "MiB", "the GPU's memory"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return text(g.memoryTotalMib); }},
		{{"temperature.gpu", "", "GPU temperature, degrees C"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return text(g.temperatureC); }},
		{{"power.draw", "W", "power drawn by the GPU"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return powerText(g.powerW); }},
		{{"sampled_at", "", "when the node took these figures, local time: YYYY/MM/DD HH:MM:SS.mmm"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return g.sampledAt ? Value(localTime(*g.sampledAt)) : Value(); }},
		{{"source", "", "node (hac-node-report on the node) or simulated (the simulated farm)"},
		 [](const PhysicalGpu &g, TimeMs) -> Value { return g.source; }},
	};
	return fields;
}

std::string percentCell(const std::optional<int> &v)
{
	return v ? fmt::format("{}%", *v) : "-";
}

} // namespace

GpuView parseGpuView(const Json &document)
{
	try {
		return document.get<GpuView>();
	} catch (const Json::exception &e) {
		throw Error(Errc::Failure, std::string("hac-agent sent a GPU view this tool cannot read: ") + e.what());
	}
}

void keepDeviceGpus(GpuView &view, int index)
{
	std::erase_if(view.gpus, [&](const PhysicalGpu &g) { return g.device != index; });
	std::erase_if(view.errors, [&](const GpuViewError &e) { return e.device != index; });
}

std::string renderPhysicalView(const GpuView &view, TimeMs now)
{
	Table table({
		{"Dev", Align::Right},
		{"Location", Align::Left},
		{"GPU Util", Align::Right},
		{"Mem Util", Align::Right},
		{"Mem Usage", Align::Right},
		{"Temp", Align::Right},
		{"Power", Align::Right},
		{"Job", Align::Left},
		{"Sampled", Align::Right},
	});
	bool unknown = false, simulated = false;
	for (const PhysicalGpu &g : view.gpus) {
		unknown = unknown || !g.source;
		simulated = simulated || g.source == "simulated";
		table.addRow({
			std::to_string(g.device),
			location(g),
			percentCell(g.utilizationGpuPct),
			percentCell(g.utilizationMemoryPct),
			memoryUsage(g),
			g.temperatureC ? fmt::format("{}C", *g.temperatureC) : "-",
			g.powerW ? fmt::format("{}W", std::lround(*g.powerW)) : "-",
			g.jobId.empty() ? "-" : g.jobId.substr(0, kShortJobId),
			sampled(g, now),
		});
	}
	std::string out = tools::formatLocalTime(now, "%a %b %e %H:%M:%S %Y") + "\n";
	out += table.render();
	if (view.gpus.empty() && view.errors.empty())
		out += "No job is running: no physical GPU is held.\n";
	for (const GpuViewError &e : view.errors)
		out += fmt::format("GPUs of device {} (job {}) unknown: {}\n", e.device, e.jobId.substr(0, kShortJobId),
				   sanitizeCell(e.message));
	if (unknown)
		out += "-: not known; a node without hac-node-report sends no figures.\n";
	if (simulated)
		out += "Figures of the simulated farm are made up by the allocator, not measured.\n";
	return out;
}

Json physicalDocument(const GpuView &view, TimeMs now)
{
	Json doc = view;
	doc["schema_version"] = kSchemaVersion;
	doc["client_version"] = HAC_VERSION;
	doc["timestamp"] = formatTime(now);
	return doc;
}

const std::vector<QueryField> &physicalQueryFields()
{
	static const std::vector<QueryField> fields = [] {
		std::vector<QueryField> out;
		for (const GpuField &f : gpuFields())
			out.push_back(f.field);
		return out;
	}();
	return fields;
}

std::string physicalQueryHelp()
{
	return "Fields of hac-smi -p --query FIELD,... (one CSV row per physical GPU a running job holds, fields\n"
	       "in the order given):\n\n" +
	       queryHelp(physicalQueryFields()) +
	       "\n--format csv[,noheader][,nounits]: noheader drops the header line; nounits drops \" MiB\", \" %\"\n"
	       "and \" W\" from values (the header keeps the unit). A figure nobody knows prints as [N/A].\n"
	       "Fields containing commas or quotes are quoted as in RFC 4180.\n";
}

std::string renderPhysicalQuery(const Query &query, const GpuView &view, TimeMs now, bool withHeader)
{
	std::string out = withHeader ? query.header() : std::string();
	const auto &fields = gpuFields();
	for (const PhysicalGpu &g : view.gpus) {
		std::vector<Value> values;
		for (std::size_t i : query.selected())
			values.push_back(fields[i].value(g, now));
		out += query.row(values);
	}
	return out;
}

} // namespace hac::smi
