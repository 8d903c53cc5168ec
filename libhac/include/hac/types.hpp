// Domain types shared by the agent, the allocator and the tools.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <hac/time.hpp>

namespace hac {

// JSON documents a tool prints or the agent serves carry this; fields are only ever added.
constexpr int kSchemaVersion = 1;

// A size of virtual accelerator, as the allocator's catalog lists it.
struct Sku {
	std::string name;                      // "2xLarge.192GB"
	int gpus = 0;                          // real GPUs lent while a job runs
	int gpuMemoryGib = 0;                  // memory of one GPU
	std::int64_t priceMicroPerGpuMinute = 0; // price of one GPU-minute, in millionths of `currency`
	std::string currency = "USD";

	std::int64_t memoryMib() const { return std::int64_t(gpus) * gpuMemoryGib * 1024; }
};

// One virtual accelerator of this VM.
struct Device {
	int index = 0;
	std::string id;                        // the allocator's UUID for it
	std::string name;                      // product name shown in the table
	std::string sku;
	int gpus = 0;
	std::int64_t memoryTotalMib = 0;
	std::optional<std::int64_t> memoryUsedMib; // empty while no job runs
	std::optional<int> utilizationPct;
	bool current = false;                  // the default device for new jobs
};

// One program using a device.
struct Job {
	std::string id;                        // UUID
	int device = 0;
	std::string sku;
	int gpus = 0;
	std::uint32_t uid = 0;
	std::string user;
	int pid = 0;
	std::string command;                   // empty when the caller may not see it
	std::string name;
	std::string state;                     // waiting, running, ended
	TimeMs startedAt = 0;                  // a waiting job: when it began to wait
	std::optional<int> queuePosition;      // a waiting job: 1 is next for the device
	std::optional<TimeMs> endedAt;
	std::optional<std::int64_t> memoryUsedMib;
	std::optional<int> exitStatus;
	std::string endReason;                 // finished, process_died, reset, allocator_failure, time_limit, budget
	std::optional<std::int64_t> timeLimitSeconds; // none: the job runs until it ends
	std::optional<TimeMs> deadline;        // startedAt + the limit: the agent ends the job then
	bool billable = true;
	bool reconstructed = false;
};

// What one job used: the record the agent sends the allocator when the job ends (allocator/API.md,
// POST /v1/usage), the allocator's bill for it (GET /v1/usage), and what hac-usage --reconcile
// compares. The first nine fields are the job's; the rest are the bill, set by whoever bills it.
struct UsageRecord {
	std::string jobId;
	std::string deviceId;
	std::string sku;
	int gpus = 0;
	TimeMs startedAt = 0;
	TimeMs endedAt = 0;
	bool billable = true;
	std::string endReason;
	bool reconstructed = false;
	std::int64_t priceMicroPerGpuMinute = 0;
	std::string currency = "USD";
	std::int64_t costMicro = 0;
	std::optional<TimeMs> recordedAt;      // when the allocator stored it; empty on the agent's side
};

// What the agent knows of its allocator.
struct AllocatorStatus {
	std::string url;
	bool reachable = false;
	std::string version;                   // empty until first contact
	std::optional<TimeMs> lastContact;
	std::optional<TimeMs> unreachableSince;
	std::string lastError;
	// The usage records waiting for the allocator, and the cap at which new jobs are refused;
	// set by the agent only (outbox_size, outbox_max).
	std::optional<std::int64_t> outboxSize;
	std::optional<std::int64_t> outboxMax;
};

// One budget, the VM's or a user's, as of now (hac/budget.hpp has its arithmetic).
struct BudgetFigures {
	std::optional<std::int64_t> limitMicro;  // none: no limit, spending is only shown
	std::int64_t spentMicro = 0;             // ended jobs' bills + running jobs up to now
	std::int64_t forecastMicro = 0;          // for the month's end
	int threshold = 0;                       // the highest warning threshold reached, 0 for none
	bool exhausted = false;                  // spent >= limit

	std::optional<std::int64_t> remainingMicro() const;
};

struct BudgetStatus {
	std::string currency = "USD";            // the catalog's
	TimeMs monthStart = 0;
	TimeMs monthEnd = 0;
	TimeMs asOf = 0;
	std::string onExhausted = "refuse";      // refuse, or stop (running jobs are ended too)
	std::vector<int> thresholds;
	BudgetFigures vm;
	std::optional<std::string> user;         // the caller, when a limit of their own applies
	std::optional<BudgetFigures> userFigures;
};

// One physical GPU lent to a running job, with the figures its node last reported (issue 18):
// an entry of the allocator's GET /v1/allocations/{job}/gpus, which the agent passes on in
// GET /v1/gpus with the device and the job it belongs to. Every figure may be unknown.
struct PhysicalGpu {
	int device = 0;                        // the agent's device index (set by the agent)
	std::string jobId;                     // the job holding it (set by the agent)
	std::string node;                      // the farm node, Slurm's node name on Slurm
	int gpu = 0;                           // its index on the node
	std::optional<std::string> uuid;
	std::optional<std::string> name;
	std::optional<int> utilizationGpuPct;
	std::optional<int> utilizationMemoryPct;
	std::optional<std::int64_t> memoryUsedMib;
	std::optional<std::int64_t> memoryTotalMib;
	std::optional<int> temperatureC;
	std::optional<double> powerW;
	std::optional<TimeMs> sampledAt;       // when the figures were taken (the allocator's clock)
	std::optional<std::string> source;     // "node", "simulated", or none: nothing known
};

// A job whose GPUs the agent could not read from the allocator.
struct GpuViewError {
	int device = 0;
	std::string jobId;
	std::string code;                      // allocator_unreachable, or the allocator's refusal
	std::string message;
};

// The agent's GET /v1/gpus: the GPUs of this VM's running jobs.
struct GpuView {
	std::vector<PhysicalGpu> gpus;
	std::vector<GpuViewError> errors;
};

// Everything hac-smi shows, in one answer of the agent.
struct Status {
	std::string agentVersion;
	AllocatorStatus allocator;
	std::vector<Device> devices;
	std::vector<Job> jobs;
	std::optional<BudgetStatus> budget;    // this month's spending; absent from an older agent
};

} // namespace hac
