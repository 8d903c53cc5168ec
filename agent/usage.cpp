// Usage reports. The bill of a job comes from the price stored on its row when it started, so a
// report needs the allocator only to reconcile; everything else answers from the job log.
#include "usage.hpp"

#include <algorithm>
#include <map>

#include <fmt/core.h>

#include "access.hpp"
#include "refusal.hpp"

namespace hac {

namespace {

// Whose jobs a report covers: one uid, or everyone's (nothing).
std::optional<std::uint32_t> scope(const UsageQuery &query, const Peer &peer, bool privileged,
				   const std::string &adminGroup)
{
	auto refuse = [&](const std::string &whose) {
		return Refusal(Refusal::NotAllowed, "not_privileged",
			       fmt::format("only root or a member of group '{}' may see {}; without --user and "
					   "--all-users hac-usage shows your own", adminGroup, whose));
	};
	if (query.allUsers) {
		if (!privileged)
			throw refuse("the usage of all users");
		return std::nullopt;
	}
	if (query.user.empty())
		return peer.uid;
	std::optional<uid_t> uid = userId(query.user);
	if (!uid)
		throw Refusal(Refusal::NotFound, "user_not_found", fmt::format("there is no user '{}' on this machine", query.user));
	if (*uid != peer.uid && !privileged)
		throw refuse(fmt::format("the usage of user '{}'", query.user));
	return *uid;
}

// Names for uids, each looked up once per report.
class UserNames {
public:
	const std::string &operator()(std::uint32_t uid)
	{
		auto it = names_.find(uid);
		if (it == names_.end())
			it = names_.emplace(uid, userName(uid)).first;
		return it->second;
	}

private:
	std::map<std::uint32_t, std::string> names_;
};

} // namespace

Reconciliation reconcile(const ReconcileInput &in)
{
	Reconciliation out;
	std::map<std::string, const UsageRecord *> remote;
	for (const UsageRecord &r : in.allocator)
		remote.emplace(r.jobId, &r);
	std::set<std::string> seen;

	for (const UsageJob &job : in.jobLog) {
		if (job.running)
			continue;
		const UsageRecord &local = job.record;
		seen.insert(local.jobId);
		++out.compared;
		auto it = remote.find(local.jobId);
		if (it != remote.end()) {
			std::vector<std::string> fields = usageDifferences(local, *it->second);
			if (!fields.empty())
				out.differences.push_back({local.jobId, "differs", std::move(fields), local, *it->second});
		} else {
			const char *kind = in.queued.count(local.jobId) ? "not_yet_delivered" : "missing_at_allocator";
			out.differences.push_back({local.jobId, kind, {}, local, std::nullopt});
		}
	}

	// Records of the period that the loop above did not meet: a job the log holds under another
	// start or user, or one it never had.
	for (const UsageRecord &r : in.allocator) {
		if (r.startedAt < in.since || r.startedAt >= in.until || seen.count(r.jobId))
			continue;
		seen.insert(r.jobId);
		if (std::optional<UsageJob> job = in.findJob(r.jobId)) {
			if (!in.inScope(job->uid))
				continue;
			++out.compared;
			out.differences.push_back({r.jobId, "differs", usageDifferences(job->record, r), job->record, r});
		} else {
			// The log never had this job, or lost it (a log removed under the agent): a
			// difference in every scope, as the agent cannot tell whose it was.
			++out.compared;
			out.differences.push_back({r.jobId, "missing_in_job_log", {}, std::nullopt, r});
			if (!in.allUsers)
				++out.unattributed;
		}
	}

	auto started = [](const UsageDifference &d) { return d.jobLog ? d.jobLog->startedAt : d.allocator->startedAt; };
	std::stable_sort(out.differences.begin(), out.differences.end(),
			 [&](const UsageDifference &a, const UsageDifference &b) { return started(a) < started(b); });
	return out;
}

UsageReport usageReport(const UsageQuery &query, const Peer &peer, bool privileged, const UsageSources &sources,
			TimeMs now)
{
	std::optional<std::uint32_t> uid = scope(query, peer, privileged, sources.adminGroup);
	UserNames names;
	UsageReport report;
	report.since = query.since;
	report.until = query.until;
	report.asOf = now;
	report.by = query.by;
	if (uid)
		report.user = names(*uid);
	report.allocator = sources.allocator;

	if (query.reconcile) {
		// The allocator first: when it is down, the answer is 503 before any reading.
		std::vector<UsageRecord> records = sources.allocatorRecords(query.since);
		ReconcileInput in;
		in.since = query.since;
		in.until = query.until;
		in.allocator = std::move(records);
		in.allUsers = !uid;
		in.inScope = [&](std::uint32_t owner) { return !uid || owner == *uid; };
		in.findJob = [&](const std::string &id) { return sources.log.job(id, now); };
		sources.log.snapshot([&] {
			in.jobLog = sources.log.jobs(query.since, query.until, uid, now);
			in.queued = sources.log.queuedRecords();
			report.reconcile = reconcile(in);
		});
		return report;
	}

	sources.log.snapshot([&] {
		report.rows = sources.log.summary(query, uid, now);
		if (query.jobs)
			report.jobs = sources.log.jobs(query.since, query.until, uid, now);
	});
	if (query.by == UsageGrouping::User)
		for (UsageRow &row : report.rows)
			row.key = names(row.uid.value_or(0));
	if (report.jobs)
		for (UsageJob &job : *report.jobs)
			job.user = names(job.uid);
	report.totals = usageTotals(report.rows);
	return report;
}

} // namespace hac
