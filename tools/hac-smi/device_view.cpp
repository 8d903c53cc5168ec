// The moreh-smi layout on libhac's generic Table. Memory is in MiB as nvidia-smi shows it; "-" marks
// a value that does not exist because no job holds GPUs.
#include "device_view.hpp"

#include <algorithm>
#include <optional>

#include <fmt/core.h>

#include <hac/billing.hpp>
#include <hac/budget.hpp>
#include <hac/duration.hpp>
#include <hac/render.hpp>

#include "common/local_time.hpp"

namespace hac::smi {

namespace {

// Long enough for "python3 train.py --config big.yaml"; the full command is in --json.
constexpr std::size_t kProcessWidth = 48;
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
	for (const Device &d : status.devices)
		table.addRow({
			fmt::format("{} {}", d.current ? "*" : " ", d.index),
			d.name.empty() ? "-" : d.name,
			d.sku.empty() ? "-" : d.sku,
			mib(d.memoryUsedMib),
			mib(d.memoryTotalMib),
			percent(d.utilizationPct),
		});
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

std::string processes(const Status &status, TimeMs now)
{
	Table table({
		{"Device", Align::Right},
		{"Job ID", Align::Left},
		{"PID", Align::Right},
		{"Process", Align::Left, kProcessWidth},
		{"Memory Usage", Align::Right},
		{"Time Left", Align::Right},
	});
	for (const Job &job : status.jobs) {
		if (job.state == "ended")
			continue;
		// The agent leaves the command empty for another user's job the caller may not see.
		std::string process = !job.command.empty() ? job.command : !job.name.empty() ? job.name : "(hidden)";
		if (job.state == "waiting")
			process += " (waiting for GPUs)";
		table.addRow({
			std::to_string(job.device),
			job.id.substr(0, kShortJobId),
			job.pid > 0 ? std::to_string(job.pid) : "-",
			process,
			mib(job.memoryUsedMib),
			timeLeft(job, now),
		});
	}
	if (table.rowCount() == 0)
		return "Processes:\nNo jobs are running.\n";
	return "Processes:\n" + table.render();
}

std::string allocatorNote(const AllocatorStatus &allocator, TimeMs now)
{
	if (allocator.reachable)
		return {};
	std::string note = "allocator unreachable";
	if (allocator.unreachableSince)
		note += fmt::format(" since {} ({} ago)",
				    tools::formatLocalTime(*allocator.unreachableSince, "%Y-%m-%d %H:%M:%S"),
				    tools::formatAge(now - *allocator.unreachableSince));
	note += ": showing the last known state\n";
	if (!allocator.lastError.empty())
		note += fmt::format("  last error: {}\n", sanitizeCell(allocator.lastError));
	return note;
}

} // namespace

std::string renderDeviceView(const Status &status, TimeMs now)
{
	Table devices = deviceTable(status);
	std::string out = tools::formatLocalTime(now, "%a %b %e %H:%M:%S %Y") + "\n";
	std::vector<std::string> header{fmt::format("Client Version: {}  Server Version: {}", HAC_VERSION,
						       status.agentVersion.empty() ? "unknown" : status.agentVersion)};
	if (status.budget) {
		header.push_back(budgetLine("VM", status.budget->vm, status.budget->currency));
		if (status.budget->userFigures)
			header.push_back(budgetLine(*status.budget->user, *status.budget->userFigures, status.budget->currency));
	}
	out += renderBox(header, devices.width(), Align::Right);
	out += devices.render();
	if (status.devices.empty())
		out += "No devices are attached to this VM.\n";
	out += allocatorNote(status.allocator, now);
	out += "\n" + processes(status, now);
	return out;
}

} // namespace hac::smi
