// hac-usage's modes. The tool draws the periods in local time and the agent sums them, so a day
// is the user's day whatever the agent's zone.
#include "usage.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/core.h>

#include <hac/agent_client.hpp>
#include <hac/error.hpp>

#include <hac/budget.hpp>

#include "budget_view.hpp"
#include "common/output.hpp"
#include "common/render.hpp"
#include "common/text_case.hpp"

namespace hac::usage {

namespace {

bool startsWithIgnoringCase(const std::string &text, const std::string &prefix)
{
	return tools::lower(text).starts_with(tools::lower(prefix));
}

// --jobs with IDs, --name or --reason: the jobs that fit, and the sums (per SKU) of only those,
// so the totals and the JSON rows say what the table shows. An ID that fits no job is status 7.
void filterJobs(const Options &options, UsageReport &report)
{
	if (!report.jobs || (options.ids.empty() && options.name.empty() && options.reason.empty()))
		return;
	std::vector<UsageJob> kept;
	for (const UsageJob &job : *report.jobs) {
		bool id = options.ids.empty() || std::any_of(options.ids.begin(), options.ids.end(), [&](const std::string &p) {
			return startsWithIgnoringCase(job.record.jobId, p);
		});
		bool name = options.name.empty() || job.name == options.name;
		bool reason = options.reason.empty() ||
			      (options.reason == "running" ? job.running : !job.running && job.record.endReason == options.reason);
		if (id && name && reason)
			kept.push_back(job);
	}
	for (const std::string &p : options.ids)
		if (std::none_of(report.jobs->begin(), report.jobs->end(),
				 [&](const UsageJob &job) { return startsWithIgnoringCase(job.record.jobId, p); }))
			throw Error(Errc::NotFound, fmt::format("no job{} has an ID starting with '{}' (searched from {}; "
								    "see the IDs with 'hac-usage --jobs')",
								    report.user ? " of " + *report.user : "", p, formatTime(report.since)));
	std::vector<UsageRow> rows;
	for (const UsageJob &job : kept) {
		const UsageRecord &r = job.record;
		auto it = std::find_if(rows.begin(), rows.end(),
				       [&](const UsageRow &row) { return row.key == r.sku && row.currency == r.currency; });
		if (it == rows.end()) {
			UsageRow row;
			row.key = r.sku;
			row.currency = r.currency;
			rows.push_back(row);
			it = rows.end() - 1;
		}
		++it->jobs;
		it->runningJobs += job.running ? 1 : 0;
		it->nonBillableJobs += r.billable ? 0 : 1;
		it->gpuMinutes += r.billable ? job.gpuMinutes : 0;
		it->costMicro += r.costMicro;
	}
	report.by = UsageGrouping::Sku;
	report.rows = rows;
	report.totals = usageTotals(rows);
	report.jobs = kept;
}

} // namespace

UsageQuery buildQuery(const Options &options, TimeMs now, View &view)
{
	UsageQuery q;
	q.until = options.until.empty() ? now : parseWhen(options.until, now, "--until");
	// A job looked up by its ID may be of any month, as in sacct -j.
	TimeMs defaultSince = options.ids.empty() ? periodStart(q.until - 1, Calendar::Month) : 0;
	q.since = options.since.empty() ? defaultSince : parseWhen(options.since, now, "--since");
	if (q.since >= q.until)
		throw Error(Errc::Usage, fmt::format("--since ({}) must be before --until ({})", formatTime(q.since),
							 formatTime(q.until)));
	view.by = options.by;
	view.periods = options.by == "day" || options.by == "week" || options.by == "month";
	if (view.periods) {
		view.calendar = options.by == "day" ? Calendar::Day : options.by == "week" ? Calendar::Week : Calendar::Month;
		q.by = UsageGrouping::Period;
		q.periods = periodBoundaries(q.since, q.until, view.calendar);
	} else {
		q.by = options.by == "user" ? UsageGrouping::User : UsageGrouping::Sku;
	}
	q.jobs = options.jobs;
	q.user = options.user;
	q.allUsers = options.allUsers;
	q.reconcile = options.reconcile;
	return q;
}

int run(const Options &options)
{
	if (options.budget) {
		AgentClient client(resolveSocketPath(options.socket), std::chrono::milliseconds(20000));
		Json reply = client.get("/v1/budget");
		BudgetStatus budget;
		try {
			reply.at("budget").get_to(budget);
		} catch (const Json::exception &e) {
			throw Error(Errc::Failure,
				    std::string("hac-agent sent a budget this tool cannot read (is it older than --budget?): ") + e.what());
		}
		std::string format = options.json ? "json" : options.format;
		if (format == "json")
			tools::printJson(budgetDocument(budget));
		else
			tools::print(format == "csv" ? renderBudgetCsv(budget) : renderBudgetTable(budget));
		return 0;
	}
	View view;
	UsageQuery query = buildQuery(options, nowMs(), view);
	std::string format = options.json ? "json" : options.format;

	// A year of a busy log is summed in well under a second; reconciling waits on the allocator,
	// whose every call the agent bounds.
	AgentClient client(resolveSocketPath(options.socket),
			   std::chrono::milliseconds(options.reconcile ? 60000 : 20000));
	Json reply = client.post("/v1/usage/query", Json(query));
	UsageReport report;
	try {
		reply.get_to(report);
	} catch (const Json::exception &e) {
		throw Error(Errc::Failure, std::string("hac-agent sent a usage report this tool cannot read: ") + e.what());
	}
	filterJobs(options, report);

	if (format == "json")
		tools::printJson(usageDocument(report, view));
	else if (options.reconcile)
		tools::print(format == "csv" ? renderReconcileCsv(report) : renderReconcileTable(report));
	else if (options.jobs)
		tools::print(format == "csv" ? renderJobsCsv(report) : renderJobsTable(report));
	else
		tools::print(format == "csv" ? renderSummaryCsv(report, view) : renderSummaryTable(report, view));

	// Scripts reading CSV still learn that prices may be stale, without it in their data.
	if (format == "csv" && !report.allocator.reachable)
		fmt::print(stderr, "hac-usage: note: the allocator is unreachable: prices may be stale\n");
	return options.reconcile && report.reconcile && !report.reconcile->differences.empty() ? 1 : 0;
}

} // namespace hac::usage
