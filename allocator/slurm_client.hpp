// slurmrestd's openapi v0.0.38, as hac-allocator's Slurm placement backend uses it (issue 14): a
// hold job per allocation, found by name, read for its state and placement, cancelled. Over
// libcurl (net/), never libslurm. The answers it reads are pinned down by
// tests/integration/slurm_cluster.bats and described in allocator/slurm-notes.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <hac/error.hpp>
#include <net/http_client.hpp>

namespace hac::slurm {

// Where slurmrestd is and how long we wait for it. slurmrestd itself waits ~9 s (ping, submit)
// to ~18 s (job) for a slurmctld that is down: the bound here is ours, well below that.
struct Endpoint {
	std::string url;            // "unix:/path/to/socket", or an http:// or https:// URL
	std::string userName;       // X-SLURM-USER-NAME, with a JWT (remote clusters only)
	std::string token;          // X-SLURM-USER-TOKEN; never logged
	std::string gres = "hacgpu";  // the GRES that stands for GPUs in slurm.conf and gres.conf
	NetTimeouts timeouts{1000, 3000, 1, 3};
};

// Why a call failed; each SlurmError says which.
enum class Failure {
	Unreachable,     // no HTTP answer within the bounds (slurmrestd down or hung)
	ControllerDown,  // slurmrestd answered that it cannot reach slurmctld (error -1 or 1800)
	UnknownJob,      // Slurm has no such job (error 2017), said by a controller that answers
	Refused,         // Slurm refused the request (2014: no node can ever hold it, ...)
	BadAnswer,       // an answer that is not the JSON of openapi v0.0.38
};

class SlurmError : public Error {
public:
	SlurmError(Failure failure, int slurmCode, const std::string &message)
		: Error(Errc::Failure, message), failure_(failure), slurmCode_(slurmCode) {}
	Failure failure() const { return failure_; }
	int slurmCode() const { return slurmCode_; }   // Slurm's error number, 0 when none

private:
	Failure failure_;
	int slurmCode_;
};

// A job that only holds GPUs: `exec sleep infinity` with gres=<gres>:<gpusPerNode> on `nodes` nodes.
struct HoldJob {
	std::string name;          // the hac job id
	std::string partition;     // empty: the cluster's default partition
	int gpusPerNode = 1;
	int nodes = 1;
	std::string comment;       // "account=... device=..."
};

struct NodeGpus {
	std::string node;
	std::vector<int> indexes;   // from gres_detail's IDX list, in gres.conf's File= order
	bool operator==(const NodeGpus &) const = default;
};

struct Job {
	std::int64_t id = 0;
	std::string name;
	std::string state;          // PENDING, RUNNING, COMPLETING, CANCELLED, FAILED, ...
	std::string reason;         // state_reason: None, Resources, PartitionNodeLimit, ...
	std::string comment;
	std::vector<NodeGpus> placement;   // empty until it runs
	std::int64_t startTime = 0;         // epoch seconds, 0 when not started
	std::int64_t endTime = 0;

	// Pending or holding its GPUs: a job of this name that must not be submitted again.
	bool live() const;
};

// Parses one gres_detail entry for GRES `gres`: "hacgpu:3(IDX:0-2)" -> {0,1,2},
// "hacgpu:4(IDX:0,2-3,7)" -> {0,2,3,7}. Throws SlurmError(BadAnswer) for another GRES or no
// indexes ("hacgpu(CNT:6)": gres.conf has no File= lines).
std::vector<int> parseGresIndexes(const std::string &detail, const std::string &gres);

class Client {
public:
	explicit Client(Endpoint endpoint);
	~Client();

	// Throws unless slurmctld answers through slurmrestd.
	void ping();
	// Submits; returns the job id. Throws Refused (with Slurm's code) when Slurm will not take
	// it, or when it accepted a job that can never start (2015: more nodes than the partition):
	// that job is cancelled first.
	std::int64_t submit(const HoldJob &job);
	// Every job Slurm still remembers with this name, ended ones included (GET /jobs/ is a scan).
	std::vector<Job> findByName(const std::string &name);
	// One job's state and placement; throws UnknownJob only when slurmctld answers a ping.
	Job job(std::int64_t id);
	// Cancels; a job already ended is not an error. Throws UnknownJob as job() does.
	void cancel(std::int64_t id);

	const std::string &where() const { return endpoint_.url; }

private:
	struct Answer;
	Answer call(const std::string &method, const std::string &path, const std::string &body = {});
	[[noreturn]] void fail(const std::string &what, const Answer &answer);

	Endpoint endpoint_;
	std::unique_ptr<HttpClient> http_;
};

} // namespace hac::slurm
