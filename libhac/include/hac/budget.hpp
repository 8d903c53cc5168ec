// Budgets on a VM's spending: the month they count in, how far a budget is spent, the forecast,
// and the document the agent serves (GET /v1/budget, "budget" in GET /v1/status).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hac/json.hpp>
#include <hac/time.hpp>

namespace hac {

// A budget's month is the calendar month in UTC, as every time the job log keeps: the agent has
// no time zone, and a VM's users may sit in several. Jobs count in the month they started in, as
// in hac-usage; a running job counts up to now.
TimeMs monthStartUtc(TimeMs t);
TimeMs nextMonthStartUtc(TimeMs t);

// An amount of money as written in agent.toml ("500", "12.50", "0.000001"): millionths; nothing
// for anything else (a sign, more than six decimals, text, more than a trillion).
std::optional<std::int64_t> parseMoney(std::string_view text);

// Percent of `limit` that `spent` is, rounded down; a limit of 0 is spent at once.
std::int64_t percentSpent(std::int64_t spentMicro, std::int64_t limitMicro);

// The highest threshold (percent, ascending list) that `spent` reached of `limit`; 0 for none.
int reachedThreshold(std::int64_t spentMicro, std::int64_t limitMicro, const std::vector<int> &thresholds);

// A straight line through the month so far: spent x month length / time elapsed, from at least
// one minute so the first seconds of a month do not forecast millions.
std::int64_t forecastMicro(std::int64_t spentMicro, TimeMs monthStart, TimeMs monthEnd, TimeMs now);

// Figures for `spent` of `limit` as of `now` in the month [start, end).
BudgetFigures budgetFigures(std::optional<std::int64_t> limitMicro, std::int64_t spentMicro,
			    const std::vector<int> &thresholds, TimeMs monthStart, TimeMs monthEnd, TimeMs now);

void to_json(Json &j, const BudgetFigures &f);
void from_json(const Json &j, BudgetFigures &f);
void to_json(Json &j, const BudgetStatus &b);
void from_json(const Json &j, BudgetStatus &b);

} // namespace hac
