// hac-allocator reconcile: the allocator's record of each Slurm-held job (allocation and usage)
// against Slurm's own (jobcomp/filetxt lines), so that an operator sees any GPU time Slurm lent
// that nobody billed, and any bill Slurm has no hold for. README.md, "Run the farm on Slurm",
// says what each difference means.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <hac/time.hpp>

namespace hac::allocator {

// One line of Slurm's jobcomp/filetxt file: a job that ended.
struct SlurmRecord {
	std::int64_t id = 0;
	std::string name;      // the hac job id, for a hold job
	std::string state;     // CANCELLED, FAILED, ...
	TimeMs start = 0;      // 0: it never started (cancelled while queued)
	TimeMs end = 0;
	int nodes = 0;
};

// Parses the file's lines; times are the slurmctld host's local time (filetxt writes no zone).
// Throws hac::Error(Failure) naming the file and line of anything it cannot read.
std::vector<SlurmRecord> readJobComp(const std::string &path);

// The allocator's side of one Slurm-held job.
struct HeldJob {
	std::string jobId;
	std::int64_t slurmJobId = 0;
	std::string sku;
	int gpus = 0;
	int nodes = 0;                      // the SKU's split over Slurm's nodes (the caller's to fill)
	TimeMs allocatedAt = 0;
	std::optional<TimeMs> releasedAt;   // no usage record: released by DELETE, or still held
	std::optional<TimeMs> startedAt;    // the usage record's, when there is one
	std::optional<TimeMs> endedAt;
};

struct Difference {
	std::string jobId;
	std::int64_t slurmJobId = 0;   // 0 when Slurm has no record
	std::string kind;              // missing_in_slurm, missing_in_allocator, nodes, start, end
	std::string detail;
};

struct ReconcileOptions {
	TimeMs since = 0;
	TimeMs until = 0;
	// Slurm times the hold (submit to cancel), the agent the process: a hold may start up to this
	// much before the job and end this much after it (the usage record's delivery, the cancel).
	TimeMs allowedGapMs = 120'000;
};

struct ReconcileReport {
	int compared = 0;
	std::vector<Difference> differences;
};

// `held`: every job the allocator lent through Slurm (any time; the window is applied here to the
// end of each side's record). `slurm`: Slurm's records, matched to `held` by Slurm job id.
ReconcileReport reconcile(const std::vector<HeldJob> &held, const std::vector<SlurmRecord> &slurm,
			  const ReconcileOptions &options);

} // namespace hac::allocator
