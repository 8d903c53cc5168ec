// hac-usage's options. Combinations that make no sense are usage errors here, before any request.
#include "options.hpp"

#include <CLI/CLI.hpp>

#include "common/run_tool.hpp"

namespace hac::usage {

void addOptions(CLI::App &app, Options &options)
{
	app.name(HAC_TOOL);
	app.description(
		"hac-usage: the GPU time your jobs held and what it costs, from the agent's job log.\n"
		"A job costs the minutes it held GPUs, each started minute counted whole, times its GPUs, times\n"
		"the price per GPU-minute when it started. Jobs whose command never ran are shown and cost\n"
		"nothing. A job counts wholly in the period it started in (it is not split at midnight or\n"
		"at the end of a month); a running job counts up to now. Days, weeks (Monday to Sunday) and\n"
		"months are local time.");
	hac::tools::setUsage(app, "hac-usage [--since WHEN] [--until WHEN] [--by day|week|month|sku|user | --jobs]\n"
				  "                 [--jobs [JOB_ID...] [--name NAME] [--reason REASON]]\n"
				  "                 [--user NAME | --all-users] [--format table|csv|json | --json]\n"
				  "                 [--reconcile] [-v] [--socket PATH]\n"
				  "       hac-usage --budget [--format table|csv|json | --json]");
	app.footer("WHEN: a date (2026-11-01: its local midnight), a local date and time (2026-11-01 14:30),\n"
		   "UTC with Z (2026-11-01T14:30Z), now, or a time ago (30m, 24h, 7d, 2w). Default: this month.\n"
		   "Exit status: 0 ok, 1 --reconcile found differences, 2 usage error, 3 hac-agent not reachable,\n"
		   "4 allocator not reachable (--reconcile), 5 permission denied, 7 no such user or job.\n"
		   "--budget: months are UTC months; spent counts the month's jobs as this tool bills them.\n"
		   "Environment: HAC_SOCKET (the agent's socket, default /run/hac/agent.sock), TZ.");
	app.set_version_flag("-v,--version", std::string(HAC_TOOL " " HAC_VERSION), "Print hac-usage's version and exit");

	app.add_option("--since", options.since, "Jobs that started at or after WHEN (default: the start of this month)")
		->type_name("WHEN");
	app.add_option("--until", options.until, "Jobs that started before WHEN (default: now)")->type_name("WHEN");
	auto *by = app.add_option("--by", options.by, "One row per day, week, month, SKU (the default) or user")
			   ->type_name("day|week|month|sku|user")
			   ->check(CLI::IsMember({"day", "week", "month", "sku", "user"}));
	auto *jobs = app.add_flag("--jobs", options.jobs,
				  "One row per job: name, start, end, duration, SKU, GPUs, GPU-minutes, cost, billable, end reason, exit status");
	auto *ids = app.add_option("job-id", options.ids,
				   "With --jobs: only these jobs, by ID or its first digits as the table shows them (any period\n"
				   "unless --since is given)")
			    ->type_name("JOB_ID...");
	auto *name = app.add_option("--name", options.name, "With --jobs: only the jobs of this name (hac-run --name)")
			     ->type_name("NAME");
	auto *reason = app.add_option("--reason", options.reason,
				      "With --jobs: only the jobs that ended for this reason (finished, process_died, reset,\n"
				      "allocator_failure...), or 'running'")
			       ->type_name("REASON");
	auto *user = app.add_option("--user", options.user, "This user's usage (root or the admin group, unless it is you)")
			     ->type_name("NAME");
	auto *all = app.add_flag("--all-users", options.allUsers, "Everyone's usage (root or the admin group)");
	auto *format = app.add_option("--format", options.format, "table (the default), csv or json")
			       ->type_name("table|csv|json")
			       ->check(CLI::IsMember({"table", "csv", "json"}));
	auto *json = app.add_flag("--json", options.json, "The same as --format json");
	auto *reconcile = app.add_flag("--reconcile", options.reconcile,
				       "Compare the job log with the allocator's records of the period; exit 1 if any job differs");
	auto *budget = app.add_flag("--budget", options.budget,
				    "This month's budget: limit, spent, remaining and a straight-line forecast for the month's end");
	app.add_option("--socket", options.socket, "The agent's socket (default: $HAC_SOCKET, else /run/hac/agent.sock)")
		->type_name("PATH");

	user->excludes(all);
	json->excludes(format);
	jobs->excludes(by);
	reconcile->excludes(by)->excludes(jobs);
	ids->needs(jobs);
	name->needs(jobs);
	reason->needs(jobs);
	budget->excludes(by)->excludes(jobs)->excludes(reconcile)->excludes(user)->excludes(all);
	budget->excludes(app.get_option("--since"))->excludes(app.get_option("--until"));
}

} // namespace hac::usage
