// hac-usage's modes. The tool draws the periods in local time and the agent sums them, so a day
// is the user's day whatever the agent's zone.
#include "usage.hpp"

#include <chrono>
#include <cstdio>

#include <fmt/core.h>

#include <hac/agent_client.hpp>
#include <hac/error.hpp>
#include <hac/render.hpp>

#include <hac/budget.hpp>

#include "budget_view.hpp"

namespace hac::usage {

namespace {

void write(const std::string &text)
{
	std::fwrite(text.data(), 1, text.size(), stdout);
}

} // namespace

UsageQuery buildQuery(const Options &options, TimeMs now, View &view)
{
	UsageQuery q;
	q.until = options.until.empty() ? now : parseWhen(options.until, now, "--until");
	q.since = options.since.empty() ? periodStart(q.until - 1, Calendar::Month) : parseWhen(options.since, now, "--since");
	if (q.since >= q.until)
		throw Error(ExitCode::Usage, fmt::format("--since ({}) must be before --until ({})", formatTime(q.since),
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
			throw Error(ExitCode::Failure,
				    std::string("hac-agent sent a budget this tool cannot read (is it older than --budget?): ") + e.what());
		}
		std::string format = options.json ? "json" : options.format;
		write(format == "json" ? renderJson(budgetDocument(budget), JsonStyle::Pretty)
		      : format == "csv" ? renderBudgetCsv(budget)
					: renderBudgetTable(budget));
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
		throw Error(ExitCode::Failure, std::string("hac-agent sent a usage report this tool cannot read: ") + e.what());
	}

	if (format == "json")
		write(renderJson(usageDocument(report, view), JsonStyle::Pretty));
	else if (options.reconcile)
		write(format == "csv" ? renderReconcileCsv(report) : renderReconcileTable(report));
	else if (options.jobs)
		write(format == "csv" ? renderJobsCsv(report) : renderJobsTable(report));
	else
		write(format == "csv" ? renderSummaryCsv(report, view) : renderSummaryTable(report, view));

	// Scripts reading CSV still learn that prices may be stale, without it in their data.
	if (format == "csv" && !report.allocator.reachable)
		fmt::print(stderr, "hac-usage: note: the allocator is unreachable: prices may be stale\n");
	return options.reconcile && report.reconcile && !report.reconcile->differences.empty() ? 1 : 0;
}

} // namespace hac::usage
