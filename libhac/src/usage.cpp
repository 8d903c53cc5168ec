// Usage reports as JSON, the strict reading of a query, and the comparison of two records of a job.
#include <hac/usage.hpp>

#include <algorithm>
#include <map>

#include <fmt/core.h>

#include <hac/error.hpp>

#include "json_fields.hpp"

namespace hac {

using detail::orNull;
using detail::read;
using detail::readTime;
using detail::timeOrNull;

std::string_view groupingName(UsageGrouping by)
{
	switch (by) {
	case UsageGrouping::Sku: return "sku";
	case UsageGrouping::User: return "user";
	case UsageGrouping::Period: return "period";
	}
	return "sku";
}

std::optional<UsageGrouping> parseGrouping(std::string_view name)
{
	for (UsageGrouping by : {UsageGrouping::Sku, UsageGrouping::User, UsageGrouping::Period})
		if (groupingName(by) == name)
			return by;
	return std::nullopt;
}

std::vector<UsageRow> usageTotals(const std::vector<UsageRow> &rows)
{
	std::map<std::string, UsageRow> byCurrency;
	for (const UsageRow &r : rows) {
		UsageRow &t = byCurrency[r.currency];
		t.key = "total";
		t.currency = r.currency;
		t.jobs += r.jobs;
		t.runningJobs += r.runningJobs;
		t.nonBillableJobs += r.nonBillableJobs;
		t.gpuMinutes += r.gpuMinutes;
		t.costMicro += r.costMicro;
	}
	std::vector<UsageRow> out;
	for (auto &[currency, row] : byCurrency)
		out.push_back(std::move(row));
	return out;
}

std::vector<std::string> usageDifferences(const UsageRecord &a, const UsageRecord &b)
{
	std::vector<std::string> out;
	auto differ = [&](const char *field, bool same) {
		if (!same)
			out.push_back(field);
	};
	differ("device_id", a.deviceId == b.deviceId);
	differ("sku", a.sku == b.sku);
	differ("gpus", a.gpus == b.gpus);
	differ("started_at", a.startedAt == b.startedAt);
	differ("ended_at", a.endedAt == b.endedAt);
	differ("billable", a.billable == b.billable);
	differ("end_reason", a.endReason == b.endReason);
	differ("reconstructed", a.reconstructed == b.reconstructed);
	differ("price_micro_per_gpu_minute", a.priceMicroPerGpuMinute == b.priceMicroPerGpuMinute);
	differ("currency", a.currency == b.currency);
	differ("cost_micro", a.costMicro == b.costMicro);
	return out;
}

void to_json(Json &j, const UsageQuery &q)
{
	j = Json{
		{"since", formatTime(q.since)},
		{"until", formatTime(q.until)},
		{"by", groupingName(q.by)},
		{"jobs", q.jobs},
		{"all_users", q.allUsers},
		{"reconcile", q.reconcile},
	};
	if (q.by == UsageGrouping::Period) {
		Json periods = Json::array();
		for (TimeMs t : q.periods)
			periods.push_back(formatTime(t));
		j["periods"] = std::move(periods);
	}
	if (!q.user.empty())
		j["user"] = q.user;
}

namespace {

[[noreturn]] void badField(const std::string &name, const std::string &what)
{
	throw Error(Errc::Usage, fmt::format("the field '{}' {}", name, what));
}

TimeMs timeField(const Json &body, const char *name)
{
	auto it = body.find(name);
	if (it == body.end() || it->is_null())
		badField(name, "is missing; it must be an RFC 3339 UTC time such as 2026-11-01T00:00:00.000Z");
	std::optional<TimeMs> t = it->is_string() ? parseTime(it->get<std::string>()) : std::nullopt;
	if (!t)
		badField(name, "must be an RFC 3339 UTC time such as 2026-11-01T00:00:00.000Z");
	return *t;
}

bool boolField(const Json &body, const char *name)
{
	auto it = body.find(name);
	if (it == body.end() || it->is_null())
		return false;
	if (!it->is_boolean())
		badField(name, "must be true or false");
	return it->get<bool>();
}

} // namespace

UsageQuery parseUsageQuery(const Json &body)
{
	if (!body.is_object())
		throw Error(Errc::Usage, "the request body must be a JSON object");
	UsageQuery q;
	q.since = timeField(body, "since");
	q.until = timeField(body, "until");
	if (q.until < q.since)
		badField("until", "is before 'since'");
	if (auto it = body.find("by"); it != body.end() && !it->is_null()) {
		auto by = it->is_string() ? parseGrouping(it->get<std::string>()) : std::nullopt;
		if (!by)
			badField("by", "must be \"sku\", \"user\" or \"period\"");
		q.by = *by;
	}
	if (q.by == UsageGrouping::Period) {
		auto it = body.find("periods");
		if (it == body.end() || !it->is_array() || it->size() < 2)
			badField("periods", "must list the boundaries of the periods (at least two times) when 'by' is \"period\"");
		for (const Json &t : *it) {
			std::optional<TimeMs> ms = t.is_string() ? parseTime(t.get<std::string>()) : std::nullopt;
			if (!ms)
				badField("periods", "must hold RFC 3339 UTC times only");
			if (!q.periods.empty() && *ms <= q.periods.back())
				badField("periods", "must be in ascending order, without repeats");
			q.periods.push_back(*ms);
		}
		if (q.periods.front() != q.since || q.periods.back() != q.until)
			badField("periods", "must begin at 'since' and end at 'until'");
	}
	q.jobs = boolField(body, "jobs");
	q.allUsers = boolField(body, "all_users");
	q.reconcile = boolField(body, "reconcile");
	if (auto it = body.find("user"); it != body.end() && !it->is_null()) {
		if (!it->is_string() || it->get<std::string>().empty())
			badField("user", "must be a user's name or uid");
		q.user = it->get<std::string>();
	}
	if (q.allUsers && !q.user.empty())
		badField("user", "cannot be given with 'all_users'");
	return q;
}

void to_json(Json &j, const UsageRow &r)
{
	j = Json{
		{"key", r.key},
		{"period_start", timeOrNull(r.periodStart)},
		{"period_end", timeOrNull(r.periodEnd)},
		{"uid", orNull(r.uid)},
		{"currency", r.currency},
		{"jobs", r.jobs},
		{"running_jobs", r.runningJobs},
		{"non_billable_jobs", r.nonBillableJobs},
		{"gpu_minutes", r.gpuMinutes},
		{"cost_micro", r.costMicro},
	};
}

void from_json(const Json &j, UsageRow &r)
{
	j.at("key").get_to(r.key);
	readTime(j, "period_start", r.periodStart);
	readTime(j, "period_end", r.periodEnd);
	read(j, "uid", r.uid);
	read(j, "currency", r.currency);
	read(j, "jobs", r.jobs);
	read(j, "running_jobs", r.runningJobs);
	read(j, "non_billable_jobs", r.nonBillableJobs);
	read(j, "gpu_minutes", r.gpuMinutes);
	read(j, "cost_micro", r.costMicro);
}

void to_json(Json &j, const UsageJob &job)
{
	j = job.record;
	// A running job has not ended: its record runs to the report's as_of, which is said instead.
	if (job.running)
		j["ended_at"] = nullptr;
	j["uid"] = job.uid;
	j["user"] = job.user;
	j["name"] = job.name;
	j["exit_status"] = job.exitStatus ? Json(*job.exitStatus) : Json(nullptr);
	j["state"] = job.running ? "running" : "ended";
	j["duration_ms"] = job.record.endedAt - job.record.startedAt;
	j["gpu_minutes"] = job.gpuMinutes;
}

void from_json(const Json &j, UsageJob &job)
{
	job.running = j.value("state", "ended") == "running";
	if (job.running) {
		// The record needs an end: the start plus the duration counted so far.
		Json copy = j;
		std::optional<TimeMs> started;
		readTime(j, "started_at", started);
		copy["ended_at"] = formatTime(started.value_or(0) + j.value("duration_ms", std::int64_t(0)));
		copy.get_to(job.record);
	} else {
		j.get_to(job.record);
	}
	read(j, "uid", job.uid);
	read(j, "user", job.user);
	read(j, "name", job.name);
	read(j, "exit_status", job.exitStatus);
	read(j, "gpu_minutes", job.gpuMinutes);
}

void to_json(Json &j, const UsageDifference &d)
{
	j = Json{
		{"job_id", d.jobId},
		{"kind", d.kind},
		{"fields", d.fields},
		{"job_log", d.jobLog ? Json(*d.jobLog) : Json(nullptr)},
		{"allocator", d.allocator ? Json(*d.allocator) : Json(nullptr)},
	};
}

void from_json(const Json &j, UsageDifference &d)
{
	j.at("job_id").get_to(d.jobId);
	j.at("kind").get_to(d.kind);
	read(j, "fields", d.fields);
	read(j, "job_log", d.jobLog);
	read(j, "allocator", d.allocator);
}

void to_json(Json &j, const Reconciliation &r)
{
	j = Json{{"compared", r.compared}, {"differences", r.differences}, {"unattributed", r.unattributed}};
}

void from_json(const Json &j, Reconciliation &r)
{
	read(j, "compared", r.compared);
	read(j, "differences", r.differences);
	read(j, "unattributed", r.unattributed);
}

void to_json(Json &j, const UsageReport &r)
{
	j = Json{
		{"schema_version", kSchemaVersion},
		{"since", formatTime(r.since)},
		{"until", formatTime(r.until)},
		{"as_of", formatTime(r.asOf)},
		{"by", groupingName(r.by)},
		{"user", orNull(r.user)},
		{"allocator", r.allocator},
		{"rows", r.rows},
		{"totals", r.totals},
	};
	if (r.jobs)
		j["jobs"] = *r.jobs;
	if (r.reconcile)
		j["reconcile"] = *r.reconcile;
}

void from_json(const Json &j, UsageReport &r)
{
	std::optional<TimeMs> t;
	readTime(j, "since", t);
	r.since = t.value_or(0);
	readTime(j, "until", t);
	r.until = t.value_or(0);
	readTime(j, "as_of", t);
	r.asOf = t.value_or(0);
	r.by = parseGrouping(j.value("by", "sku")).value_or(UsageGrouping::Sku);
	read(j, "user", r.user);
	read(j, "allocator", r.allocator);
	read(j, "rows", r.rows);
	read(j, "totals", r.totals);
	read(j, "jobs", r.jobs);
	read(j, "reconcile", r.reconcile);
}

} // namespace hac
