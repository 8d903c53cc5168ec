// What hac-usage prints: the summary, the jobs and the reconciliation, as a table for people, CSV
// and JSON for scripts.
#pragma once

#include <string>

#include <hac/json.hpp>
#include <hac/usage.hpp>

#include "period.hpp"

namespace hac::usage {

// How the rows were grouped, as the user asked: the agent knows only sku, user and period.
struct View {
	std::string by = "sku";      // day, week, month, sku or user
	Calendar calendar = Calendar::Day;
	bool periods = false;        // by day, week or month
};

// The --json document: the agent's report, with each period's local label ("period") and the tool's
// grouping in "by". Fields are only ever added.
Json usageDocument(const UsageReport &report, const View &view);

std::string renderSummaryTable(const UsageReport &report, const View &view);
std::string renderSummaryCsv(const UsageReport &report, const View &view);
std::string renderJobsTable(const UsageReport &report);
std::string renderJobsCsv(const UsageReport &report);
std::string renderReconcileTable(const UsageReport &report);
std::string renderReconcileCsv(const UsageReport &report);

// Notes for people under a table: running jobs, non-billable jobs, an unreachable allocator.
std::string renderNotes(const UsageReport &report);

} // namespace hac::usage
