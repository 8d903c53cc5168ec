// Usage reports: what the agent's POST /v1/usage/query takes and answers (agent/API.md), and what
// hac-usage shows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hac/json.hpp>
#include <hac/types.hpp>

namespace hac {

enum class UsageGrouping { Sku, User, Period };

std::string_view groupingName(UsageGrouping by);
std::optional<UsageGrouping> parseGrouping(std::string_view name);

// What a report covers: jobs that started in [since, until), each attributed wholly to that time.
struct UsageQuery {
	TimeMs since = 0;
	TimeMs until = 0;
	UsageGrouping by = UsageGrouping::Sku;
	// By Period: the boundaries, from since to until; period i is [periods[i], periods[i + 1]). The
	// caller draws them (days, weeks, months in its own time zone), so the agent needs no zone.
	std::vector<TimeMs> periods;
	bool jobs = false;          // also list every job
	std::string user;           // another user's usage (name or uid): root or the admin group only
	bool allUsers = false;      // everyone's usage: root or the admin group only
	bool reconcile = false;     // compare the job log with the allocator's records instead
};

// One group of a summary: the jobs that started in it and their bill.
struct UsageRow {
	std::string key;                         // the SKU, the user's name, or the period's start
	std::optional<TimeMs> periodStart;       // by Period
	std::optional<TimeMs> periodEnd;
	std::optional<std::uint32_t> uid;        // by User
	std::string currency = "USD";
	std::int64_t jobs = 0;
	std::int64_t runningJobs = 0;            // counted up to the report's asOf
	std::int64_t nonBillableJobs = 0;        // in `jobs`, costing 0, their minutes not counted
	std::int64_t gpuMinutes = 0;             // of the billable jobs
	std::int64_t costMicro = 0;
};

// One job and its bill. A running job's record ends at the report's asOf.
struct UsageJob {
	UsageRecord record;
	std::uint32_t uid = 0;
	std::string user;
	std::string name;
	std::optional<int> exitStatus;           // ended jobs whose exit status is known
	bool running = false;
	std::int64_t gpuMinutes = 0;             // held, billable or not
};

// A job on which the job log and the allocator's records disagree.
struct UsageDifference {
	std::string jobId;
	// differs, missing_at_allocator, missing_in_job_log, or not_yet_delivered (still in the
	// agent's outbox: the allocator will have it once it is delivered)
	std::string kind;
	std::vector<std::string> fields;         // differs: the fields that differ
	std::optional<UsageRecord> jobLog;
	std::optional<UsageRecord> allocator;
};

struct Reconciliation {
	std::int64_t compared = 0;               // jobs of the period on either side
	std::vector<UsageDifference> differences;
	// Allocator records of jobs this job log never had, left out of a report on one user (they
	// belong to no user on this VM); an --all-users report lists them as missing_in_job_log.
	std::int64_t unattributed = 0;
};

struct UsageReport {
	TimeMs since = 0;
	TimeMs until = 0;
	TimeMs asOf = 0;                         // running jobs are counted up to here
	UsageGrouping by = UsageGrouping::Sku;
	std::optional<std::string> user;         // whose usage; empty: all users
	AllocatorStatus allocator;
	std::vector<UsageRow> rows;
	std::vector<UsageRow> totals;            // one per currency, key "total"
	std::optional<std::vector<UsageJob>> jobs;
	std::optional<Reconciliation> reconcile;
};

// The rows summed per currency.
std::vector<UsageRow> usageTotals(const std::vector<UsageRow> &rows);

// The fields, by their JSON names, in which two records of one job differ; empty when they agree.
// recorded_at is the allocator's alone and not compared.
std::vector<std::string> usageDifferences(const UsageRecord &jobLog, const UsageRecord &allocator);

// The body of POST /v1/usage/query, and its strict reading: hac::Error(Usage) naming the field
// that is missing or wrong, so the agent can answer 400 with it.
void to_json(Json &j, const UsageQuery &q);
UsageQuery parseUsageQuery(const Json &body);

void to_json(Json &j, const UsageRow &r);
void from_json(const Json &j, UsageRow &r);
void to_json(Json &j, const UsageJob &job);
void from_json(const Json &j, UsageJob &job);
void to_json(Json &j, const UsageDifference &d);
void from_json(const Json &j, UsageDifference &d);
void to_json(Json &j, const Reconciliation &r);
void from_json(const Json &j, Reconciliation &r);
void to_json(Json &j, const UsageReport &r);
void from_json(const Json &j, UsageReport &r);

} // namespace hac
