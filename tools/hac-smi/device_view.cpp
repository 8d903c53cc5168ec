// The moreh-smi layout on libhac's generic Table. Memory is in MiB as nvidia-smi shows it; "-" marks
// a value that does not exist because no job holds GPUs.
#include "device_view.hpp"

#include <algorithm>
#include <optional>

#include <fmt/core.h>

#include <hac/billing.hpp>
#include <hac/budget.hpp>
#include <hac/duration.hpp>

#include "common/local_time.hpp"
#include "common/render.hpp"

namespace hac::smi {

namespace {

// The Processes table fits 100 columns: the other columns take at most 74 with their borders
// (a user name is cut at 8 columns, as ps cuts it); the full command and name are in --json.
constexpr std::size_t kProcessWidth = 26;
constexpr std::size_t kUserWidth = 8;
// "Time Left" and its borders, taken from the Process column when it is shown.
constexpr std::size_t kTimeLeftWidth = 12;
// Job IDs are UUIDs; their first 8 digits tell jobs apart in a table, as short container IDs do.
constexpr std::size_t kShortJobId = 8;

std::string mib(std::optional<std::int64_t> value)
{
	return value ? fmt::format("{} MiB", *value) : "-";
}

std::string percent(std::optional<int> value)
{
	return value ? fmt::format("{}%", *value) : "-";
}

// ps's etime: [[DD-]HH:]MM:SS.
std::string elapsed(TimeMs ms)
{
	long long s = ms < 0 ? 0 : ms / 1000;
	long long days = s / 86400, hours = s / 3600 % 24, minutes = s / 60 % 60, seconds = s % 60;
	if (days > 0)
		return fmt::format("{}-{:02}:{:02}:{:02}", days, hours, minutes, seconds);
	if (hours > 0)
		return fmt::format("{:02}:{:02}:{:02}", hours, minutes, seconds);
	return fmt::format("{:02}:{:02}", minutes, seconds);
}

// The Utilization cell: the mean over the GPUs of the device's running job, as the agent last
// read them; "no job" while none runs, "no telemetry" while one runs but no figure is known (no
// node reports, the view is over 60 s old, or the allocator does not answer).
std::string utilizationCell(const Device &d, const Status &status)
{
	if (d.utilizationPct)
		return percent(d.utilizationPct);
	bool runs = std::any_of(status.jobs.begin(), status.jobs.end(),
				[&](const Job &j) { return j.device == d.index && j.state == "running"; });
	return runs ? "no telemetry" : "no job";
}

Table deviceTable(const Status &status)
{
	Table table({
		{"Device", Align::Left},
		{"Name", Align::Left},
		{"Model", Align::Left},
		{"Memory Usage", Align::Right},
		{"Total Memory", Align::Right},
		{"Utilization", Align::Right},
	});
	for (const Device &d : status.devices) {
		table.addRow({
			fmt::format("{} {}", d.current ? "*" : " ", d.index),
			d.name.empty() ? "-" : d.name,
			d.sku.empty() ? "-" : d.sku,
			mib(d.memoryUsedMib),
			mib(d.memoryTotalMib),
			utilizationCell(d, status),
		});
	}
	return table;
}

// What is left of a job's time limit, rounded up to the second, or "-" for none.
std::string timeLeft(const Job &job, TimeMs now)
{
	if (!job.deadline)
		return "-";
	return formatDuration((std::max<TimeMs>(0, *job.deadline - now) + 999) / 1000);
}

// "This month (UTC): 12.50 of 100.00 USD (12%)": the month-to-date cost and the budget, for the header.
std::string budgetLine(const std::string &whose, const BudgetFigures &f, const std::string &currency)
{
	if (!f.limitMicro)
		return fmt::format("{} this month (UTC): {} {}, no budget", whose, formatMicro(f.spentMicro), currency);
	std::string line = fmt::format("{} this month (UTC): {} of {} {} ({}%)", whose, formatMicro(f.spentMicro),
				       formatMicro(*f.limitMicro), currency, percentSpent(f.spentMicro, *f.limitMicro));
	if (f.exhausted)
		line += ": spent, new jobs refused";
	else if (f.threshold > 0)
		line += fmt::format(": past {}%", f.threshold);
	return line;
}

// moreh-smi keeps the table, header and all, when no job runs; so do we, for scripts that read it.
std::string processes(const Status &status, TimeMs now)
{
	// A Time Left column only when a job has a limit; the Process column then gives up its width,
	// so the table still fits 100 columns.
	bool limits = std::any_of(status.jobs.begin(), status.jobs.end(),
				  [](const Job &job) { return job.state != "ended" && job.deadline; });
	std::vector<Column> columns{
		{"Device", Align::Right},
		{"Job ID", Align::Left},
		{"User", Align::Left, kUserWidth},
		{"PID", Align::Right},
		{"Elapsed", Align::Right},
		{"Memory Usage", Align::Right},
		{"Process", Align::Left, limits ? kProcessWidth - kTimeLeftWidth : kProcessWidth},
	};
	if (limits)
		columns.push_back({"Time Left", Align::Right});
	Table table(std::move(columns));
	for (const Job &job : status.jobs) {
		if (job.state == "ended")
			continue;
		// The agent leaves the command empty for another user's job the caller may not see.
		std::string command = !job.command.empty() ? job.command : job.name.empty() ? "(hidden)" : "";
		std::string process = job.name.empty() ? command : command.empty() ? job.name : job.name + ": " + command;
		// A waiting job has no ID yet: its place in the device's line stands there instead.
		std::string id = job.state == "waiting" ? fmt::format("queue #{}", job.queuePosition.value_or(1))
							: job.id.empty() ? "-" : job.id.substr(0, kShortJobId);
		std::vector<std::string> cells{
			std::to_string(job.device),
			id,
			job.user.empty() ? std::to_string(job.uid) : job.user,
			job.pid > 0 ? std::to_string(job.pid) : "-",
			job.startedAt > 0 ? elapsed(now - job.startedAt) : "-",
			mib(job.memoryUsedMib),
			process,
		};
		if (limits)
			cells.push_back(timeLeft(job, now));
		table.addRow(std::move(cells));
	}
	return "Processes:\n" + table.render();
}

// How long ago the allocator last answered, always: the agent notices an allocator that died only
// at its next call, and a user can judge the age themself.
std::string allocatorNote(const AllocatorStatus &allocator, TimeMs now)
{
	std::string answered = allocator.lastContact
		? fmt::format("last answered {} ago", tools::formatAge(now - *allocator.lastContact))
		: std::string("never answered since hac-agent started");
	if (allocator.reachable)
		return fmt::format("Allocator: {}.\n", answered);
	std::string note = "allocator unreachable";
	if (allocator.unreachableSince)
		note += fmt::format(" since {} ({} ago)",
				    tools::formatLocalTime(*allocator.unreachableSince, "%Y-%m-%d %H:%M:%S"),
				    tools::formatAge(now - *allocator.unreachableSince));
	note += fmt::format(", {}: showing the last known state\n", answered);
	if (!allocator.lastError.empty())
		note += fmt::format("  last error: {}\n", sanitizeCell(allocator.lastError));
	return note;
}

// "hac-smi 0.1.0        Client Version: 0.1.0  Server Version: 0.1.0", as moreh-smi's header.
std::string headerBox(const Status &status, std::size_t width)
{
	std::string left = fmt::format("{} {}", HAC_TOOL, HAC_VERSION);
	std::string right = fmt::format("Client Version: {}  Server Version: {}", HAC_VERSION,
					status.agentVersion.empty() ? "unknown" : sanitizeCell(status.agentVersion));
	std::size_t used = displayWidth(left) + displayWidth(right);
	std::size_t inner = width > 4 ? width - 4 : 0;
	if (inner < used + 2) // a narrow table: two lines rather than a box wider than the table
		return renderBox({left, right}, width, Align::Left);
	return renderBox({left + std::string(inner - used, ' ') + right}, width, Align::Left);
}

} // namespace

std::string renderDeviceView(const Status &status, TimeMs now)
{
	Table devices = deviceTable(status);
	std::string out = tools::formatLocalTime(now, "%a %b %e %H:%M:%S %Y") + "\n";
	out += headerBox(status, devices.width());
	if (status.budget) {
		std::vector<std::string> budget{budgetLine("VM", status.budget->vm, status.budget->currency)};
		if (status.budget->userFigures)
			budget.push_back(budgetLine(*status.budget->user, *status.budget->userFigures, status.budget->currency));
		out += renderBox(budget, devices.width(), Align::Right);
	}
	out += devices.render();
	if (status.devices.empty())
		out += "No devices are attached to this VM.\n";
	out += allocatorNote(status.allocator, now);
	out += "\n" + processes(status, now);
	return out;
}

} // namespace hac::smi
