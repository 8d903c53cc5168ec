// JSON mapping of the domain types. Readers ignore unknown fields: documents only ever gain fields.
#include <hac/json.hpp>

#include <hac/budget.hpp>
#include <hac/error.hpp>

#include "json_fields.hpp"

namespace hac {

using detail::as;
using detail::read;
using detail::readTime;
using detail::timeOrNull;
using detail::orNull;

void to_json(Json &j, const Sku &s)
{
	j = Json{
		{"name", s.name},
		{"gpus", s.gpus},
		{"gpu_memory_gib", s.gpuMemoryGib},
		{"memory_gib", s.gpus * s.gpuMemoryGib},
		{"price_micro_per_gpu_minute", s.priceMicroPerGpuMinute},
		{"currency", s.currency},
	};
}

void from_json(const Json &j, Sku &s)
{
	j.at("name").get_to(s.name);
	s.gpus = as<decltype(s.gpus)>(j.at("gpus"), "gpus");
	s.gpuMemoryGib = as<decltype(s.gpuMemoryGib)>(j.at("gpu_memory_gib"), "gpu_memory_gib");
	read(j, "price_micro_per_gpu_minute", s.priceMicroPerGpuMinute);
	read(j, "currency", s.currency);
}

void to_json(Json &j, const Device &d)
{
	j = Json{
		{"index", d.index},
		{"id", d.id},
		{"name", d.name},
		{"sku", d.sku},
		{"gpus", d.gpus},
		{"memory_total_mib", d.memoryTotalMib},
		{"memory_used_mib", orNull(d.memoryUsedMib)},
		{"utilization_pct", orNull(d.utilizationPct)},
		{"current", d.current},
	};
}

void from_json(const Json &j, Device &d)
{
	d.index = as<decltype(d.index)>(j.at("index"), "index");
	read(j, "id", d.id);
	read(j, "name", d.name);
	j.at("sku").get_to(d.sku);
	read(j, "gpus", d.gpus);
	read(j, "memory_total_mib", d.memoryTotalMib);
	read(j, "memory_used_mib", d.memoryUsedMib);
	read(j, "utilization_pct", d.utilizationPct);
	read(j, "current", d.current);
}

void to_json(Json &j, const Job &job)
{
	j = Json{
		{"id", job.id},
		{"device", job.device},
		{"sku", job.sku},
		{"gpus", job.gpus},
		{"uid", job.uid},
		{"user", job.user},
		{"pid", job.pid},
		{"command", job.command},
		{"name", job.name},
		{"state", job.state},
		{"started_at", formatTime(job.startedAt)},
		{"ended_at", timeOrNull(job.endedAt)},
		{"memory_used_mib", orNull(job.memoryUsedMib)},
		{"exit_status", orNull(job.exitStatus)},
		{"end_reason", job.endReason},
		{"billable", job.billable},
		{"reconstructed", job.reconstructed},
		{"time_limit_seconds", orNull(job.timeLimitSeconds)},
		{"deadline", timeOrNull(job.deadline)},
	};
	if (job.queuePosition)
		j["queue_position"] = *job.queuePosition;
}

void from_json(const Json &j, Job &job)
{
	j.at("id").get_to(job.id);
	read(j, "device", job.device);
	read(j, "sku", job.sku);
	read(j, "gpus", job.gpus);
	read(j, "uid", job.uid);
	read(j, "user", job.user);
	read(j, "pid", job.pid);
	read(j, "command", job.command);
	read(j, "name", job.name);
	read(j, "state", job.state);
	std::optional<TimeMs> started;
	readTime(j, "started_at", started);
	job.startedAt = started.value_or(0);
	readTime(j, "ended_at", job.endedAt);
	read(j, "memory_used_mib", job.memoryUsedMib);
	read(j, "exit_status", job.exitStatus);
	read(j, "end_reason", job.endReason);
	read(j, "billable", job.billable);
	read(j, "reconstructed", job.reconstructed);
	read(j, "queue_position", job.queuePosition);
	read(j, "time_limit_seconds", job.timeLimitSeconds);
	readTime(j, "deadline", job.deadline);
}

void to_json(Json &j, const UsageRecord &u)
{
	j = Json{
		{"job_id", u.jobId},
		{"device_id", u.deviceId},
		{"sku", u.sku},
		{"gpus", u.gpus},
		{"started_at", formatTime(u.startedAt)},
		{"ended_at", formatTime(u.endedAt)},
		{"billable", u.billable},
		{"end_reason", u.endReason},
		{"reconstructed", u.reconstructed},
		{"price_micro_per_gpu_minute", u.priceMicroPerGpuMinute},
		{"currency", u.currency},
		{"cost_micro", u.costMicro},
		{"recorded_at", timeOrNull(u.recordedAt)},
	};
}

void from_json(const Json &j, UsageRecord &u)
{
	j.at("job_id").get_to(u.jobId);
	read(j, "device_id", u.deviceId);
	j.at("sku").get_to(u.sku);
	u.gpus = as<decltype(u.gpus)>(j.at("gpus"), "gpus");
	std::optional<TimeMs> t;
	readTime(j, "started_at", t);
	if (!t)
		throw Json::type_error::create(302, "field 'started_at' is missing", &j);
	u.startedAt = *t;
	readTime(j, "ended_at", t);
	if (!t)
		throw Json::type_error::create(302, "field 'ended_at' is missing", &j);
	u.endedAt = *t;
	read(j, "billable", u.billable);
	read(j, "end_reason", u.endReason);
	read(j, "reconstructed", u.reconstructed);
	read(j, "price_micro_per_gpu_minute", u.priceMicroPerGpuMinute);
	read(j, "currency", u.currency);
	read(j, "cost_micro", u.costMicro);
	readTime(j, "recorded_at", u.recordedAt);
}

void to_json(Json &j, const AllocatorStatus &a)
{
	j = Json{
		{"url", a.url},
		{"reachable", a.reachable},
		{"version", a.version},
		{"last_contact", timeOrNull(a.lastContact)},
		{"unreachable_since", timeOrNull(a.unreachableSince)},
		{"last_error", a.lastError},
	};
	if (a.outboxSize)
		j["outbox_size"] = *a.outboxSize;
	if (a.outboxMax)
		j["outbox_max"] = *a.outboxMax;
}

void from_json(const Json &j, AllocatorStatus &a)
{
	read(j, "url", a.url);
	read(j, "reachable", a.reachable);
	read(j, "version", a.version);
	readTime(j, "last_contact", a.lastContact);
	readTime(j, "unreachable_since", a.unreachableSince);
	read(j, "last_error", a.lastError);
	if (j.contains("outbox_size") && j["outbox_size"].is_number_integer())
		a.outboxSize = j["outbox_size"].get<std::int64_t>();
	if (j.contains("outbox_max") && j["outbox_max"].is_number_integer())
		a.outboxMax = j["outbox_max"].get<std::int64_t>();
}

void to_json(Json &j, const Status &s)
{
	j = Json{
		{"schema_version", kSchemaVersion},
		{"agent_version", s.agentVersion},
		{"allocator", s.allocator},
		{"devices", s.devices},
		{"jobs", s.jobs},
	};
	if (s.budget)
		j["budget"] = *s.budget;
}

void from_json(const Json &j, Status &s)
{
	read(j, "agent_version", s.agentVersion);
	read(j, "allocator", s.allocator);
	read(j, "devices", s.devices);
	read(j, "jobs", s.jobs);
	if (j.contains("budget") && j["budget"].is_object())
		s.budget = j["budget"].get<BudgetStatus>();
}

void to_json(Json &j, const PhysicalGpu &g)
{
	j = Json{
		{"device", g.device},
		{"job_id", g.jobId},
		{"node", g.node},
		{"gpu", g.gpu},
		{"uuid", orNull(g.uuid)},
		{"name", orNull(g.name)},
		{"utilization_gpu_pct", orNull(g.utilizationGpuPct)},
		{"utilization_memory_pct", orNull(g.utilizationMemoryPct)},
		{"memory_used_mib", orNull(g.memoryUsedMib)},
		{"memory_total_mib", orNull(g.memoryTotalMib)},
		{"temperature_c", orNull(g.temperatureC)},
		{"power_w", orNull(g.powerW)},
		{"sampled_at", timeOrNull(g.sampledAt)},
		{"source", orNull(g.source)},
	};
}

// The allocator's entries have no device and job_id: the agent adds them.
void from_json(const Json &j, PhysicalGpu &g)
{
	read(j, "device", g.device);
	read(j, "job_id", g.jobId);
	j.at("node").get_to(g.node);
	g.gpu = as<decltype(g.gpu)>(j.at("gpu"), "gpu");
	read(j, "uuid", g.uuid);
	read(j, "name", g.name);
	read(j, "utilization_gpu_pct", g.utilizationGpuPct);
	read(j, "utilization_memory_pct", g.utilizationMemoryPct);
	read(j, "memory_used_mib", g.memoryUsedMib);
	read(j, "memory_total_mib", g.memoryTotalMib);
	read(j, "temperature_c", g.temperatureC);
	read(j, "power_w", g.powerW);
	readTime(j, "sampled_at", g.sampledAt);
	read(j, "source", g.source);
}

void to_json(Json &j, const GpuViewError &e)
{
	j = Json{{"device", e.device}, {"job_id", e.jobId}, {"code", e.code}, {"message", e.message}};
}

void from_json(const Json &j, GpuViewError &e)
{
	read(j, "device", e.device);
	read(j, "job_id", e.jobId);
	read(j, "code", e.code);
	read(j, "message", e.message);
}

void to_json(Json &j, const GpuView &v)
{
	j = Json{{"gpus", v.gpus}, {"errors", v.errors}};
}

void from_json(const Json &j, GpuView &v)
{
	read(j, "gpus", v.gpus);
	read(j, "errors", v.errors);
}

Json errorBody(const std::string &code, const std::string &message)
{
	return Json{{"error", {{"code", code}, {"message", message}}}};
}

Json parseJson(const std::string &text, const std::string &what)
{
	Json j = Json::parse(text, nullptr, false);
	if (j.is_discarded())
		throw Error(Errc::Failure, what + " is not valid JSON");
	return j;
}

} // namespace hac
