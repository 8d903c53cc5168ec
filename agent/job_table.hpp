// The running jobs, one per device: starting them (with the allocator), waiting for a busy
// device, watching each job's process with a pidfd, and ending them durably.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <hac/types.hpp>
#include <service/http_server.hpp>

#include "allocator_link.hpp"
#include "job_log.hpp"
#include "refusal.hpp"

namespace hac {

struct ProcessInfo;

struct StartRequest {
	pid_t pid = 0;
	std::string name;
	std::string command;  // what to show; empty: the process's own command line
	bool wait = false;    // wait for a busy device, up to waitMs, instead of failing at once
	int waitMs = 0;
	// When the caller stops waiting for the answer: a start not answered by then is undone and
	// never billed (agent/API.md, POST /v1/jobs, "deadline_ms").
	std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
	int deadlineMs = 0;   // the same, as the caller gave it, for messages
	std::optional<std::int64_t> timeLimitSeconds; // checked against [jobs] by the caller; none: no limit
};

// A device as a job starts on it: its size now, and that size's price per GPU-minute.
struct PricedDevice {
	Device device;
	std::int64_t priceMicroPerGpuMinute = 0;
	std::string currency = "USD";
};

// What a job table tells its observer (the agent's metrics), called under the table's lock: each
// must be quick and must not call back into the table.
struct JobEvents {
	std::function<void(const Job &)> started;                  // running: its command may run
	std::function<void(const Job &, const Charge &)> ended;    // ended and in the job log, with its bill
};

class JobTable {
public:
	// `wakeOutbox` is called after a usage record was queued, so it is delivered at once.
	// `deliverOwed` delivers the queued records now, in the caller's thread: the allocator holds
	// a device until the record of the job that used it arrives, so a start that finds the device
	// busy there right after a job ended delivers them and asks again.
	// `adminGroup` gives the group named in refusals (it may change on reload), so a user learns
	// which group would grant the verb.
	JobTable(JobLog &log, AllocatorLink &link, std::function<std::string()> adminGroup, std::function<void()> wakeOutbox,
		 std::function<void()> deliverOwed);
	~JobTable();
	JobTable(const JobTable &) = delete;
	JobTable &operator=(const JobTable &) = delete;

	// At start: a job whose process still lives is watched again; one whose process is gone
	// is closed at its last heartbeat and flagged reconstructed.
	void reconcile();

	// Each throws Refusal for the caller (NotFound, NotAllowed, Busy device_busy, Unavailable ...).
	// `quote` gives the device's size and price; it is asked again once the job holds the
	// device, so a job that waited through a resize starts at the new size.
	// Its steps, each a private method below: check the caller's process, reserve the device in
	// line, record the job as starting, allocate at the allocator, watch the process.
	Job start(const Peer &peer, bool privileged, const StartRequest &request, int device,
		  const std::function<PricedDevice(int)> &quote);
	// `execFailed`: the launcher says the job's command could not be executed. Believed (end reason
	// exec_failed, not billable) only from another process than the job's, while the job's process
	// lives and has run no other program since it was registered, and within kExecReportMs of the
	// start (a launcher reports at once); otherwise the job ends as finished.
	Job finish(const Peer &peer, bool privileged, const std::string &id, int exitStatus, bool execFailed = false);
	void reportMemory(const Peer &peer, bool privileged, const std::string &id, std::int64_t mib);
	Job reset(const Peer &peer, bool privileged, int device);
	std::optional<Job> find(const std::string &id);

	// The jobs holding a device, then those waiting for one (state "waiting", no id yet, their
	// place in each device's line in queuePosition). A start or an end holds the table while its
	// write to the job log commits; when that waits on a stalled disk, this answers with the jobs
	// as last seen.
	std::vector<Job> running();

	// Keeps jobs off `device` while an administrator changes it (resize, removal): waits up to
	// waitMs for its job to end, else throws Refusal Busy device_in_use, "<refusal> while the
	// accelerator is in use (job J, pid P: CMD)". Jobs that ask meanwhile wait, told `what`.
	void claimDevice(int device, int waitMs, const std::string &what, const std::string &refusal);
	void releaseDevice(int device);

	// The pidfds of the running jobs live in this epoll set; when it is readable, call
	// reapEnded() to note the jobs whose process is gone.
	int epollFd() const { return epollFd_; }
	void reapEnded();
	// Ends the jobs whose process exited more than the grace ago, and writes the running jobs'
	// heartbeat when due. Returns the milliseconds until it is next needed, or -1 for never.
	int tick();
	// Wakes every caller waiting for a device, so the agent can stop.
	void shutdown();

	// Ends the running jobs `which` picks, for `reason` (time_limit, budget): SIGTERM to each
	// job's processes now, SIGKILL after the kill grace; each ends with that reason when its
	// process does, billed up to then. Returns how many were told to stop.
	int stopJobs(const std::string &reason, const std::function<bool(const Job &)> &which);
	// How long a stopped job has between SIGTERM and SIGKILL ([jobs] kill_grace).
	void setKillGrace(TimeMs ms);
	// Who hears of jobs starting and ending; set before reconcile() and the first start.
	void setEvents(JobEvents events);

private:
	struct Entry {
		JobRow row;
		int pidfd = -1;
		bool starting = true;
		std::optional<TimeMs> exitedAt;  // the process is gone; its launcher may still finish it
		std::string exe;                 // the program the process ran when registered
		std::optional<std::string> stopReason; // the agent ends it (time_limit, budget): its end reason
		std::optional<TimeMs> killAt;    // SIGKILL then if the process still lives
	};

	std::string execClaimRefusal(const Entry &entry, const Peer &peer) const;

	// start()'s steps, in order (job_table.cpp says why that order).
	// The process `pid` as the kernel has it, if the caller may register it (its own, or its
	// child owned by the same user): else 404 process_not_found or 403 not_your_process.
	ProcessInfo callersProcess(const Peer &peer, pid_t pid) const;
	// Takes `device` for the job in memory, after waiting in line for it if the request asks to
	// (shown in running() meanwhile); fills in the job's id, owner and command. Throws 409
	// device_busy (busyRefusal) or 503 agent_stopping.
	void reserveInLine(const Peer &peer, bool privileged, const StartRequest &request, int device,
			   const ProcessInfo &process, JobRow &row);
	// Puts the caller in `device`'s line, by when it began to wait (kept across its calls by
	// waitedSince_). mutex_ held.
	std::list<Job>::iterator joinLineLocked(const StartRequest &request, int device, const ProcessInfo &process,
						const JobRow &row);
	// Why `device` cannot be had now: being changed, held by a job (its command hidden from other
	// users unless `privileged`), or promised to the jobs that waited first. mutex_ held.
	Refusal busyRefusal(const Peer &peer, bool privileged, int device) const;
	// Undoes reserveInLine() for a job that never was.
	void releaseReserved(int device);
	// Prices the job at its device's size now that the device is its own, and stores it as
	// starting; on failure the device is released.
	void recordStarting(int device, const std::function<PricedDevice(int)> &quote, JobRow &row);
	// Asks the allocator for the device, within what is left of the caller's deadline; on a
	// refusal or no answer undoes or ends the job (never billed) and throws.
	void allocate(const StartRequest &request, int device, JobRow &row);
	// Marks the job running and watches its process; a process already gone, or a caller that
	// gave up, ends it as not_started.
	Job watch(const StartRequest &request, int device, JobRow &row);

	// A process the job log no longer holds (ended by a restarted agent at its deadline) that was
	// sent SIGTERM and gets SIGKILL at killAt if it still lives.
	struct Straggler {
		pid_t pid = 0;
		std::uint64_t pidStart = 0;
		TimeMs killAt = 0;
	};

	void stopLocked(Entry &entry, const std::string &reason, TimeMs now);

	Job endLocked(std::map<int, Entry>::iterator it, const std::string &reason, std::optional<int> exitStatus,
		      std::optional<TimeMs> endedAt, bool reconstructed);
	std::map<int, Entry>::iterator findLocked(const std::string &id);
	void checkOwner(const Peer &peer, bool privileged, const Job &job, const char *verb) const;
	void watchLocked(Entry &entry);

	JobLog &log_;
	AllocatorLink &link_;
	std::function<std::string()> adminGroup_;
	std::map<int, std::string> claims_;  // device -> the change under way
	std::function<void()> wakeOutbox_;
	std::function<void()> deliverOwed_;
	JobEvents events_;
	int epollFd_;
	int wakeFd_;                         // eventfd in the epoll set: a new deadline for run()'s sleep

	std::timed_mutex mutex_;             // timed: running() waits on it only so long
	std::condition_variable_any freed_;  // a device became free
	std::map<int, Entry> byDevice_;      // device index -> its job (starting or running)
	std::list<Job> waiting_;             // callers waiting for a busy device, first come first
	// (pid, start ticks) -> when it began to wait, for a caller that will ask again
	std::map<std::pair<pid_t, std::uint64_t>, TimeMs> waitedSince_;
	// device index -> the job id the farm queued (503 farm_full) and when: the next start on the
	// device asks again with it, so that it keeps its place in the farm's queue
	std::map<int, std::pair<std::string, TimeMs>> farmQueued_;
	bool stopping_ = false;
	TimeMs nextHeartbeat_ = 0;
	std::mutex lastSeenMutex_;
	std::vector<Job> lastSeen_;          // what running() last returned
	TimeMs killGraceMs_ = 30000;
	std::vector<Straggler> stragglers_;
};

// The usage record the allocator is sent for an ended job (allocator/API.md, POST /v1/usage).
std::string usageBody(const JobRow &row);

} // namespace hac
