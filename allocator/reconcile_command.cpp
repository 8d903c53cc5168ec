// `hac-allocator reconcile`: reads the allocator's database and Slurm's jobcomp file, prints the
// differences (a table, or --json), and says by its exit status whether there were any.
#include "reconcile_command.hpp"

#include <cstdio>

#include <fmt/format.h>

#include <hac/error.hpp>
#include <hac/json.hpp>

#include "reconcile.hpp"
#include "store.hpp"

namespace hac::allocator {

namespace {

TimeMs parseWhen(const std::string &option, const std::string &text)
{
	// A date alone is its midnight, UTC.
	std::string full = text.size() == 10 ? text + "T00:00:00Z" : text;
	auto t = parseTime(full);
	if (!t)
		throw Error(Errc::Usage, fmt::format("{} '{}' is not a time; give an RFC 3339 UTC time such as "
							 "2026-12-01T00:00:00Z, or a date such as 2026-12-01", option, text));
	return *t;
}

} // namespace

int runReconcile(const Config &config, const ReconcileArgs &args)
{
	if (config.backend != Backend::Slurm)
		throw Error(Errc::Usage, "reconcile compares allocations with Slurm's record: the config's [placement] "
					     "backend is not \"slurm\"");
	std::string file = args.jobCompFile.empty() ? config.slurm.jobCompFile : args.jobCompFile;
	if (file.empty())
		throw Error(Errc::Usage, "no Slurm job record to compare with: set [slurm] jobcomp_file to slurm.conf's "
					     "JobCompLoc (JobCompType=jobcomp/filetxt), or give --jobcomp FILE");
	ReconcileOptions options;
	options.since = args.since.empty() ? 0 : parseWhen("--since", args.since);
	options.until = args.until.empty() ? nowMs() + 1 : parseWhen("--until", args.until);
	if (options.since >= options.until)
		throw Error(Errc::Usage, "--since must be before --until");
	options.allowedGapMs = args.allowedGapSeconds * 1000LL;

	Store store(config.database);
	std::vector<HeldJob> held = store.slurmHeldJobs();
	for (HeldJob &h : held)
		if (auto split = splitOverNodes(h.gpus, config.slurm.gpusPerNode))
			h.nodes = split->nodes;
	ReconcileReport report = reconcile(held, readJobComp(file), options);

	if (args.json) {
		Json differences = Json::array();
		for (const Difference &d : report.differences)
			differences.push_back({{"job_id", d.jobId}, {"slurm_job_id", d.slurmJobId}, {"kind", d.kind},
					       {"detail", d.detail}});
		Json out{{"jobcomp_file", file},
			 {"since", formatTime(options.since)},
			 {"until", formatTime(options.until)},
			 {"allowed_gap_seconds", args.allowedGapSeconds},
			 {"compared", report.compared},
			 {"differences", differences}};
		std::fputs((out.dump(2) + "\n").c_str(), stdout);
	} else {
		std::string text = fmt::format("{} Slurm-held job(s) compared with {}: ", report.compared, file);
		text += report.differences.empty() ? "they agree.\n"
						   : fmt::format("{} difference(s).\n", report.differences.size());
		if (!report.differences.empty())
			text += fmt::format("{:<36}  {:>8}  {:<20}  {}\n", "JOB", "SLURM", "KIND", "DETAIL");
		for (const Difference &d : report.differences)
			text += fmt::format("{:<36}  {:>8}  {:<20}  {}\n", d.jobId,
					    d.slurmJobId ? std::to_string(d.slurmJobId) : "-", d.kind, d.detail);
		std::fputs(text.c_str(), stdout);
	}
	return report.differences.empty() ? 0 : 1;
}

} // namespace hac::allocator
