// Tables show times in local time and money as exact decimals ("0.24 USD"); CSV has local times
// with their offset and a currency column; JSON keeps the agent's UTC times and integer micro-units.
#include "usage_view.hpp"

#include <fmt/core.h>

#include <hac/billing.hpp>

#include "common/local_time.hpp"
#include "common/render.hpp"

namespace hac::usage {

namespace {

// The first 8 digits of a job's UUID tell jobs apart in a table, as in hac-smi; CSV and JSON
// carry the whole id.
constexpr std::size_t kShortJobId = 8;
// Long enough to tell named jobs apart; --format csv and json have the whole name.
constexpr std::size_t kNameWidth = 20;

std::string local(TimeMs t)
{
	return tools::formatLocalTime(t, "%Y-%m-%d %H:%M:%S");
}

std::string money(std::int64_t micro, const std::string &currency)
{
	return formatMicro(micro) + " " + currency;
}

std::string duration(TimeMs ms)
{
	TimeMs s = ms / 1000;
	return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

std::string seconds(TimeMs ms)
{
	return fmt::format("{}.{:03}", ms / 1000, ms % 1000);
}

std::string plural(std::int64_t n, const char *one, const char *many)
{
	return fmt::format("{} {}", n, n == 1 ? one : many);
}

// "SKU", "User", "Day" ...: the first column's header.
std::string groupHeader(const View &view)
{
	if (view.by == "sku")
		return "SKU";
	std::string h = view.by;
	h[0] = static_cast<char>(h[0] - 'a' + 'A');
	return h;
}

std::string rowLabel(const UsageRow &row, const View &view)
{
	return view.periods && row.periodStart ? periodLabel(*row.periodStart, view.calendar) : row.key;
}

std::string whose(const UsageReport &r)
{
	return r.user ? "Usage of " + *r.user : std::string("Usage of all users");
}

std::string span(const UsageReport &r)
{
	return fmt::format("{} to {}", tools::formatLocalTime(r.since, "%Y-%m-%d %H:%M %Z"),
			   tools::formatLocalTime(r.until, "%Y-%m-%d %H:%M %Z"));
}

// A field of a record as a table cell: strings bare, the rest as JSON writes them.
std::string fieldValue(const UsageRecord &record, const std::string &field)
{
	Json j = record;
	auto it = j.find(field);
	if (it == j.end())
		return "-";
	return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string kindText(const std::string &kind)
{
	if (kind == "missing_at_allocator")
		return "missing at the allocator";
	if (kind == "missing_in_job_log")
		return "missing in the job log";
	if (kind == "not_yet_delivered")
		return "not yet delivered";
	return kind;
}

} // namespace

Json usageDocument(const UsageReport &report, const View &view)
{
	Json doc = report; // carries schema_version
	doc["by"] = view.by;
	if (view.periods)
		for (std::size_t i = 0; i < report.rows.size(); ++i)
			doc["rows"][i]["period"] = rowLabel(report.rows[i], view);
	if (report.reconcile) {
		doc.erase("rows");
		doc.erase("totals");
	}
	doc["prices_may_be_stale"] = !report.allocator.reachable;
	return doc;
}

std::string renderNotes(const UsageReport &report)
{
	std::string out;
	std::int64_t running = 0, nonBillable = 0;
	for (const UsageRow &t : report.totals) {
		running += t.runningJobs;
		nonBillable += t.nonBillableJobs;
	}
	if (nonBillable > 0)
		out += fmt::format("Note: {} not billable, shown at no cost: {} command never ran (the allocator failed, "
				   "the start was abandoned, or the command could not be executed).\n",
				   plural(nonBillable, "job", "jobs"), nonBillable == 1 ? "its" : "their");
	if (running > 0)
		out += fmt::format("Note: {} still {}: counted up to now ({}).\n", plural(running, "job", "jobs"),
				   running == 1 ? "runs" : "run", tools::formatLocalTime(report.asOf, "%H:%M:%S"));
	if (report.reconcile && report.reconcile->unattributed > 0)
		out += fmt::format("Note: {} of the allocator {} to no job in this job log, whoever ran {} (was the "
				   "job log removed or replaced?).\n",
				   plural(report.reconcile->unattributed, "record", "records"),
				   report.reconcile->unattributed == 1 ? "belongs" : "belong",
				   report.reconcile->unattributed == 1 ? "it" : "them");
	const AllocatorStatus &a = report.allocator;
	if (!a.reachable) {
		std::string since = a.unreachableSince
			? fmt::format(" since {} ({} ago)", tools::formatLocalTime(*a.unreachableSince, "%Y-%m-%d %H:%M"),
				      tools::formatAge(report.asOf - *a.unreachableSince))
			: std::string();
		out += fmt::format("Note: the allocator is unreachable{}: jobs started meanwhile were priced from the "
				   "last known rate card, and prices may be stale.\n", since);
	}
	return out;
}

std::string renderSummaryTable(const UsageReport &report, const View &view)
{
	std::string out = fmt::format("{}, {}, by {}\n", whose(report), span(report), view.by == "sku" ? "SKU" : view.by);
	if (report.rows.empty())
		return out + "No jobs started in this period.\n" + renderNotes(report);
	Table table({
		{groupHeader(view), Align::Left},
		{"Jobs", Align::Right},
		{"GPU-minutes", Align::Right},
		{"Cost", Align::Right},
	});
	for (const UsageRow &row : report.rows)
		table.addRow({sanitizeCell(rowLabel(row, view)), std::to_string(row.jobs), std::to_string(row.gpuMinutes),
			      money(row.costMicro, row.currency)});
	for (const UsageRow &total : report.totals)
		table.addRow({"Total", std::to_string(total.jobs), std::to_string(total.gpuMinutes),
			      money(total.costMicro, total.currency)});
	return out + table.render() + renderNotes(report);
}

std::string renderSummaryCsv(const UsageReport &report, const View &view)
{
	std::vector<std::string> header{view.periods ? "period" : view.by};
	if (view.periods) {
		header.push_back("period_start");
		header.push_back("period_end");
	}
	for (const char *h : {"jobs", "running_jobs", "non_billable_jobs", "gpu_minutes", "cost", "currency"})
		header.push_back(h);
	std::string out = csvRow(header);
	for (const UsageRow &row : report.rows) {
		std::vector<std::string> fields{rowLabel(row, view)};
		if (view.periods) {
			fields.push_back(localIso(row.periodStart.value_or(0)));
			fields.push_back(localIso(row.periodEnd.value_or(0)));
		}
		for (std::int64_t n : {row.jobs, row.runningJobs, row.nonBillableJobs, row.gpuMinutes})
			fields.push_back(std::to_string(n));
		fields.push_back(formatMicro(row.costMicro));
		fields.push_back(row.currency);
		out += csvRow(fields);
	}
	return out;
}

std::string renderJobsTable(const UsageReport &report)
{
	std::string out = fmt::format("{}, {}, one row per job\n", whose(report), span(report));
	const std::vector<UsageJob> &jobs = report.jobs ? *report.jobs : std::vector<UsageJob>{};
	if (jobs.empty())
		return out + "No jobs started in this period.\n" + renderNotes(report);
	bool users = !report.user;
	std::vector<Column> columns{{"Job ID", Align::Left}};
	if (users)
		columns.push_back({"User", Align::Left});
	columns.push_back({"Name", Align::Left, kNameWidth});
	for (Column c : std::initializer_list<Column>{
		     {"Start", Align::Left}, {"End", Align::Left}, {"Duration", Align::Right}, {"SKU", Align::Left},
		     {"GPUs", Align::Right}, {"GPU-minutes", Align::Right}, {"Cost", Align::Right}, {"Billable", Align::Left},
		     {"End reason", Align::Left}, {"Exit", Align::Right}})
		columns.push_back(c);
	Table table(columns);
	for (const UsageJob &job : jobs) {
		const UsageRecord &r = job.record;
		std::vector<std::string> cells{r.jobId.substr(0, kShortJobId)};
		if (users)
			cells.push_back(sanitizeCell(job.user));
		cells.push_back(job.name.empty() ? "-" : sanitizeCell(job.name));
		std::string reason = job.running ? "-" : r.endReason.empty() ? "-" : r.endReason;
		if (r.reconstructed)
			reason += " (reconstructed)";
		for (std::string cell : {local(r.startedAt), job.running ? std::string("running") : local(r.endedAt),
					 duration(r.endedAt - r.startedAt), sanitizeCell(r.sku), std::to_string(r.gpus),
					 std::to_string(job.gpuMinutes), money(r.costMicro, r.currency),
					 std::string(r.billable ? "yes" : "no"), reason,
					 job.exitStatus ? std::to_string(*job.exitStatus) : std::string("-")})
			cells.push_back(std::move(cell));
		table.addRow(std::move(cells));
	}
	out += table.render();
	for (const UsageRow &t : report.totals)
		out += fmt::format("Total: {}, {} GPU-minutes billed, {}.\n", plural(t.jobs, "job", "jobs"), t.gpuMinutes,
				   money(t.costMicro, t.currency));
	return out + renderNotes(report);
}

std::string renderJobsCsv(const UsageReport &report)
{
	std::string out = csvRow({"job_id", "user", "name", "state", "start", "end", "duration_s", "sku", "gpus",
				  "gpu_minutes", "cost", "currency", "billable", "end_reason", "reconstructed", "exit_status"});
	if (!report.jobs)
		return out;
	for (const UsageJob &job : *report.jobs) {
		const UsageRecord &r = job.record;
		out += csvRow({r.jobId, job.user, job.name, job.running ? "running" : "ended", localIso(r.startedAt),
			       job.running ? "" : localIso(r.endedAt), seconds(r.endedAt - r.startedAt), r.sku,
			       std::to_string(r.gpus), std::to_string(job.gpuMinutes), formatMicro(r.costMicro), r.currency,
			       r.billable ? "true" : "false", r.endReason, r.reconstructed ? "true" : "false",
			       job.exitStatus ? std::to_string(*job.exitStatus) : ""});
	}
	return out;
}

std::string renderReconcileTable(const UsageReport &report)
{
	const Reconciliation rec = report.reconcile.value_or(Reconciliation{});
	std::string out = fmt::format("{} against the allocator's records, {}: {} compared, {} differ\n", whose(report),
				      span(report), plural(rec.compared, "job", "jobs"), rec.differences.size());
	if (rec.differences.empty())
		return out + "The job log and the allocator agree on every job.\n" + renderNotes(report);
	Table table({
		{"Job ID", Align::Left},
		{"Start", Align::Left},
		{"Difference", Align::Left},
		{"Field", Align::Left},
		{"Job log", Align::Left},
		{"Allocator", Align::Left},
	});
	for (const UsageDifference &d : rec.differences) {
		const UsageRecord &any = d.jobLog ? *d.jobLog : *d.allocator;
		if (d.kind == "differs") {
			for (const std::string &field : d.fields)
				table.addRow({d.jobId, local(any.startedAt), kindText(d.kind), field,
					      sanitizeCell(fieldValue(*d.jobLog, field)), sanitizeCell(fieldValue(*d.allocator, field))});
			continue;
		}
		auto present = [](const std::optional<UsageRecord> &r) {
			return r ? fmt::format("{}, {}", plural(r->gpus, "GPU", "GPUs"), money(r->costMicro, r->currency))
				 : std::string("none");
		};
		table.addRow({d.jobId, local(any.startedAt), kindText(d.kind), "-", present(d.jobLog), present(d.allocator)});
	}
	return out + table.render() + renderNotes(report);
}

std::string renderReconcileCsv(const UsageReport &report)
{
	std::string out = csvRow({"job_id", "start", "kind", "field", "job_log", "allocator"});
	if (!report.reconcile)
		return out;
	for (const UsageDifference &d : report.reconcile->differences) {
		const UsageRecord &any = d.jobLog ? *d.jobLog : *d.allocator;
		if (d.kind == "differs") {
			for (const std::string &field : d.fields)
				out += csvRow({d.jobId, localIso(any.startedAt), d.kind, field, fieldValue(*d.jobLog, field),
					       fieldValue(*d.allocator, field)});
			continue;
		}
		out += csvRow({d.jobId, localIso(any.startedAt), d.kind, "", d.jobLog ? formatMicro(d.jobLog->costMicro) : "",
			       d.allocator ? formatMicro(d.allocator->costMicro) : ""});
	}
	return out;
}

} // namespace hac::usage
