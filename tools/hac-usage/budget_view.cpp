// One row per budget that applies to the caller: the VM's, and the caller's own when set.
#include "budget_view.hpp"

#include <fmt/core.h>

#include <hac/billing.hpp>
#include <hac/budget.hpp>

#include "common/local_time.hpp"
#include "common/render.hpp"

namespace hac::usage {

namespace {

struct Line {
	std::string scope;
	const BudgetFigures *figures;
};

std::vector<Line> lines(const BudgetStatus &b)
{
	std::vector<Line> out{{"vm", &b.vm}};
	if (b.userFigures)
		out.push_back({"user:" + b.user.value_or(""), &*b.userFigures});
	return out;
}

std::string orDash(const std::optional<std::int64_t> &micro)
{
	return micro ? formatMicro(*micro) : "-";
}

} // namespace

Json budgetDocument(const BudgetStatus &budget)
{
	return Json{{"schema_version", kSchemaVersion}, {"budget", budget}};
}

std::string renderBudgetTable(const BudgetStatus &b)
{
	Table table({
		{"Budget", Align::Left},
		{"Limit", Align::Right},
		{"Spent", Align::Right},
		{"Remaining", Align::Right},
		{"Used", Align::Right},
		{"Forecast", Align::Right},
	});
	for (const Line &line : lines(b)) {
		const BudgetFigures &f = *line.figures;
		table.addRow({line.scope == "vm" ? "this VM" : "you (" + line.scope.substr(5) + ")", orDash(f.limitMicro),
			      formatMicro(f.spentMicro), orDash(f.remainingMicro()),
			      f.limitMicro ? fmt::format("{}%", percentSpent(f.spentMicro, *f.limitMicro)) : "-",
			      formatMicro(f.forecastMicro)});
	}
	std::string out = fmt::format("Budget for {} (a UTC month: {} to {} local time), in {}\n",
				      formatTime(b.monthStart).substr(0, 7), tools::formatLocalTime(b.monthStart, "%Y-%m-%d %H:%M"),
				      tools::formatLocalTime(b.monthEnd, "%Y-%m-%d %H:%M"), b.currency);
	out += table.render();
	out += "Spent: the month's ended jobs plus running jobs up to now, billed as hac-usage bills them.\n"
	       "Forecast: the spending so far, drawn in a straight line to the month's end.\n";
	for (const Line &line : lines(b)) {
		const BudgetFigures &f = *line.figures;
		if (f.exhausted)
			out += fmt::format("{} is spent: new jobs are refused{} (root and the admin group excepted).\n",
					   line.scope == "vm" ? "This VM's budget" : "Your budget",
					   b.onExhausted == "stop" ? " and running jobs are stopped" : "");
	}
	return out;
}

std::string renderBudgetCsv(const BudgetStatus &b)
{
	std::string out = csvRow({"budget", "month_start", "month_end", "currency", "limit", "spent", "remaining", "percent",
				  "forecast", "threshold", "exhausted"});
	for (const Line &line : lines(b)) {
		const BudgetFigures &f = *line.figures;
		out += csvRow({line.scope, formatTime(b.monthStart), formatTime(b.monthEnd), b.currency,
			       f.limitMicro ? formatMicro(*f.limitMicro) : "", formatMicro(f.spentMicro),
			       f.remainingMicro() ? formatMicro(*f.remainingMicro()) : "",
			       f.limitMicro ? std::to_string(percentSpent(f.spentMicro, *f.limitMicro)) : "",
			       formatMicro(f.forecastMicro), std::to_string(f.threshold), f.exhausted ? "true" : "false"});
	}
	return out;
}

} // namespace hac::usage
