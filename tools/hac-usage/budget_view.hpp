// hac-usage --budget: this month's budgets (GET /v1/budget) as a table, CSV or JSON.
#pragma once

#include <string>

#include <hac/json.hpp>
#include <hac/types.hpp>

namespace hac::usage {

// The --json document: {"schema_version":1,"budget":{...as the agent answers...}}.
Json budgetDocument(const BudgetStatus &budget);
std::string renderBudgetTable(const BudgetStatus &budget);
std::string renderBudgetCsv(const BudgetStatus &budget);

} // namespace hac::usage
