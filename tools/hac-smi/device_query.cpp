// The --query fields of hac-smi. Names follow nvidia-smi where one exists (index, name,
// memory.total, memory.used, timestamp); fields are only ever added, never renamed.
#include "device_query.hpp"

#include <optional>

#include <fmt/core.h>

#include "common/local_time.hpp"

namespace hac::smi {

namespace {

using Value = std::optional<std::string>;

struct DeviceField {
	QueryField field;
	Value (*value)(const Device &d, TimeMs now);
};

const std::vector<DeviceField> &deviceFields()
{
	static const std::vector<DeviceField> fields = {
		{{"timestamp", "", "time of the query, local time: YYYY/MM/DD HH:MM:SS.mmm"},
		 [](const Device &, TimeMs now) -> Value {
			 return fmt::format("{}.{:03}", tools::formatLocalTime(now, "%Y/%m/%d %H:%M:%S"), now % 1000);
		 }},
		{{"index", "", "the device's index, as -i takes it"},
		 [](const Device &d, TimeMs) -> Value { return std::to_string(d.index); }},
		{{"id", "", "the allocator's UUID of the device"},
		 [](const Device &d, TimeMs) -> Value { return d.id.empty() ? Value() : Value(d.id); }},
		{{"name", "", "product name"},
		 [](const Device &d, TimeMs) -> Value { return d.name.empty() ? Value() : Value(d.name); }},
		{{"sku", "", "the device's size, the table's Model (e.g. Large.64GB)"},
		 [](const Device &d, TimeMs) -> Value { return d.sku; }},
		{{"gpus", "", "real GPUs lent to the device while a job runs"},
		 [](const Device &d, TimeMs) -> Value { return std::to_string(d.gpus); }},
		{{"memory.total", "MiB", "memory of the device's GPUs"},
		 [](const Device &d, TimeMs) -> Value { return std::to_string(d.memoryTotalMib); }},
		{{"memory.used", "MiB", "memory its jobs use; [N/A] while no job runs"},
		 [](const Device &d, TimeMs) -> Value {
			 return d.memoryUsedMib ? Value(std::to_string(*d.memoryUsedMib)) : Value();
		 }},
		{{"utilization", "%", "GPU utilization; [N/A] while no job runs"},
		 [](const Device &d, TimeMs) -> Value {
			 return d.utilizationPct ? Value(std::to_string(*d.utilizationPct)) : Value();
		 }},
		{{"current", "", "Yes for the default device of new jobs (the table's *), else No"},
		 [](const Device &d, TimeMs) -> Value { return d.current ? "Yes" : "No"; }},
	};
	return fields;
}

} // namespace

const std::vector<QueryField> &deviceQueryFields()
{
	static const std::vector<QueryField> fields = [] {
		std::vector<QueryField> out;
		for (const DeviceField &f : deviceFields())
			out.push_back(f.field);
		return out;
	}();
	return fields;
}

std::string deviceQueryHelp()
{
	return "Fields of hac-smi --query FIELD,... (one CSV row per device, fields in the order given):\n\n" +
	       queryHelp(deviceQueryFields()) +
	       "\n--format csv[,noheader][,nounits]: noheader drops the header line; nounits drops \" MiB\" and\n"
	       "\" %\" from values (the header keeps the unit). A value that does not exist prints as [N/A].\n"
	       "Fields containing commas or quotes are quoted as in RFC 4180.\n";
}

std::string renderDeviceQuery(const Query &query, const Status &status, TimeMs now, bool withHeader)
{
	std::string out = withHeader ? query.header() : std::string();
	const auto &fields = deviceFields();
	for (const Device &d : status.devices) {
		std::vector<Value> values;
		for (std::size_t i : query.selected())
			values.push_back(fields[i].value(d, now));
		out += query.row(values);
	}
	return out;
}

} // namespace hac::smi
