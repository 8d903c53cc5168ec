// The agent's engine: config, token, job log, allocator link and the local API server. main()
// is a thin shell over it, and tests run it in-process.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <map>

#include <hac/types.hpp>
#include <hac/usage.hpp>
#include <service/http_server.hpp>

#include "agent_config.hpp"
#include "allocator_cache.hpp"
#include "allocator_link.hpp"
#include "gpu_views.hpp"
#include "job_log.hpp"
#include "job_table.hpp"
#include "metrics.hpp"
#include "token.hpp"
#include "usage_log.hpp"

namespace hac {

// Sets spdlog's level from a config's log_level (debug, info, warning or error).
void setLogLevel(const std::string &level);

class Agent {
public:
	// Reads the token, opens and migrates the job log, loads the last known devices, makes one
	// bounded attempt to register with the allocator, and serves the local API. `listenFd` is
	// a socket passed by systemd, or -1 to bind config.socket. Throws hac::Error on failure.
	explicit Agent(AgentConfig config, int listenFd = -1);
	~Agent();
	Agent(const Agent &) = delete;
	Agent &operator=(const Agent &) = delete;

	// Runs until SIGTERM or SIGINT (blocked by the caller in every thread) or stop(); pings
	// systemd's watchdog ($WATCHDOG_USEC) at half its interval. On SIGHUP it calls `loadConfig`
	// (by default: the file read at start) and hands the result to reload(); a config that does
	// not load is refused with a log line and the running one stays.
	void run(std::function<AgentConfig()> loadConfig = {});
	// Stops serving at once: waits for devices and calls to the allocator are cut short, jobs'
	// processes keep running, and their rows stay open for reconcile() on the next start.
	void stop();
	// Applies what can change while running: log_level, admin_group and the [allocator] timeouts,
	// heartbeat and retry cap. socket, socket_mode, database, token_file and allocator.url need
	// a restart; a change to them is logged as such and otherwise ignored.
	void reload(const AgentConfig &next);

	// What a caller may see: everything for the privileged, others' commands hidden otherwise.
	// A device's utilization comes from the last view of its job's GPUs (gpuViews_), never
	// from the allocator.
	Status status(const Peer &peer);
	// GET /v1/gpus (physical_gpus.cpp): the physical GPUs of each running job, asked of the
	// allocator within kGpuViewWait for all jobs (a view fetched within kGpuViewReuseMs is
	// reused, so many callers make one request); a job whose GPUs could not be read is in
	// `errors`. Never holds mutex_ while it asks.
	GpuView gpus();
	// Below hac-smi -p's request timeout (5 s), so the caller hears what failed.
	static constexpr std::chrono::milliseconds kGpuViewWait{3000};
	static constexpr TimeMs kGpuViewReuseMs = 1000;
	// While a job runs, the link thread refreshes the view of its GPUs at least this often (and
	// at each heartbeat, when that is shorter).
	static constexpr std::chrono::seconds kGpuRefresh{10};
	// {"writable":true,"problem":null}, or false and why the job log takes no writes now
	// (LogFile::problem); never waits on a write.
	Json jobLogState() const;
	bool privileged(const Peer &peer) const;
	JobTable &jobs() { return jobs_; }
	// The device a job asks for: `index`, or else the current device. Throws Refusal NotFound.
	// Knowing no device and not registered (a first start, or the allocator was down at start),
	// it asks the link for an attempt at once and waits up to kFirstRegistrationWait for it;
	// then no device is 503 allocator_unreachable with the allocator's error.
	Device device(std::optional<int> index);
	// Below the tools' 2 s request timeout, so the caller hears the allocator's error itself.
	static constexpr std::chrono::milliseconds kFirstRegistrationWait{1500};
	// The price per GPU-minute of `sku` from the cached rate card (0 when unknown).
	std::pair<std::int64_t, std::string> price(const std::string &sku);
	// Device administration (device_admin.cpp): root or the admin group only; each needs the
	// allocator, and each change is in the job log before it is acknowledged. Throw Refusal.
	Json resizeDevice(const Peer &peer, int index, const std::string &sku, int waitMs);
	Json addDevice(const Peer &peer, const std::string &sku);
	Json removeDevice(const Peer &peer, int index, int waitMs);
	Json switchDevice(const Peer &peer, int index);
	// The rate card as last known, each size marked allowed or not, with max_devices and devices.
	Json skuCatalog();
	// A usage report for the caller (agent/usage.hpp says whose usage it may see); reconcile
	// asks the allocator and throws hac::Error(AllocatorUnreachable) when it does not answer.
	UsageReport usage(const Peer &peer, const UsageQuery &query);
	// A copy: reload() may change some keys while other threads read them.
	AgentConfig config() const;
	const Token &token() const { return token_; }
	// Before a job starts: throws Refusal Unavailable outbox_full when the usage records owed to the
	// allocator reached [outbox] max_records. Ending jobs never asks: their records are always kept.
	void admitJob();
	std::string account();

	// Budgets (budget.cpp). This month's spending and the budgets that apply to `uid`.
	BudgetStatus budget(uid_t uid);
	// Before a job starts: throws Refusal BudgetExhausted when the VM's or the caller's
	// budget is spent, unless the caller is privileged. Returns the warning the caller is due (a
	// threshold crossed that this user was not told of this month), or "".
	std::string admitBudget(const Peer &peer, bool privileged);
	// The time limit a job asking for `requested` seconds gets: the request, else [jobs]
	// default_time_limit. Throws Refusal BadInput time_limit_too_long above max_time_limit.
	std::optional<std::int64_t> timeLimit(std::optional<std::int64_t> requested);

	// GET /metrics: the Prometheus text format (agent/API.md lists each figure).
	Response metricsResponse();
	AgentMetrics &metrics() { return metrics_; }

private:
	void reloadFrom(const std::function<AgentConfig()> &loadConfig);

	// The link thread and its contact with the allocator (link_loop.cpp).
	// `devices` with `current` (the current_device setting) marked, else the first.
	static std::vector<Device> markCurrent(std::vector<Device> devices, const std::optional<std::string> &current);
	void linkLoop();
	void contactAllocator();
	void markUnreachable(const std::string &why);
	// Capped exponential back-off: min(retry_max_seconds, base * 2^attempts).
	std::int64_t backoffCeilingMs(int attempts, std::int64_t baseMs) const;
	// A full-jitter draw below that ceiling (500 ms base, 100 ms floor), so agents that lost the
	// allocator together do not retry in lockstep.
	std::int64_t fullJitterMs(std::mt19937_64 &random, int attempts) const;
	void wakeLink();
	// Asks the allocator for each running job's GPUs within `within` (reusing views younger than
	// reuseMs), keeps them in gpuViews_ and forgets the views of jobs no longer running.
	GpuView fetchGpus(std::chrono::milliseconds within, TimeMs reuseMs);
	// The link thread's refresh of the running jobs' views.
	void refreshGpus();
	bool runsJobs();

	// The outbox (outbox.cpp).
	// Sends the usage records due by `dueBy`; a record the allocator refused waits its back-off.
	void deliverOutbox(TimeMs dueBy);
	// The outbox's size now, warning once each time it crosses half of the cap.
	std::pair<std::int64_t, std::int64_t> noteOutbox();

	// Device administration's checks and steps (device_admin.cpp).
	void requirePrivileged(const Peer &peer, const std::string &what) const;
	Sku knownSku(const std::string &name);
	void requireAllocator(const std::string &what);
	void refreshDevices();
	void deliverOwedRecords();
	// Runs a device change at the allocator; no answer becomes 503 allocator_unreachable.
	Device changeAtAllocator(const std::function<Device()> &change);

	// This month's (UTC) billed and running jobs' cost in the catalog's currency, per uid too.
	struct Spending {
		std::string currency;
		TimeMs monthStart = 0;
		TimeMs monthEnd = 0;
		std::int64_t vmMicro = 0;
		std::map<std::uint32_t, std::int64_t> byUid;
	};
	Spending spending(TimeMs now);
	// What spending() keeps between calls: the month's ended jobs summed and its running jobs,
	// read from the job log at `generation` (LogFile::generation()), in the currency of the rate
	// card then. Read again once the log took a write or the month turned: a call meanwhile
	// only bills the running jobs up to its now, so GET /v1/status does not query SQLite.
	struct SpendingBase {
		std::uint64_t generation = 0;
		TimeMs monthStart = 0;
		std::string currency;
		std::int64_t vmMicro = 0;
		std::map<std::uint32_t, std::int64_t> byUid;
		std::vector<RunningBill> running;
	};
	std::shared_ptr<const SpendingBase> spendingBase(TimeMs monthStart);
	BudgetSettings budgetSettings() const;
	static BudgetStatus budgetStatus(const Spending &s, uid_t uid, const BudgetSettings &settings, TimeMs now);
	// Logs each warning threshold crossed, once a month, and with on_exhausted = "stop" stops the
	// jobs of a spent budget. Returns the milliseconds until the next check, or -1 with no budget.
	int watchBudget();

	// First, so it outlives every thread and table that counts into it.
	AgentMetrics metrics_;
	// Sets the figures read from the agent's state at each scrape (a Registry collector).
	void collectMetrics();

	mutable std::mutex configMutex_; // guards config_'s reloadable keys (taken after mutex_, never before)
	AgentConfig config_;
	Token token_;
	LogFile logFile_;               // the job log's file, one connection for the two below
	JobLog log_;                    // what the agent stores: jobs, outbox, device changes
	AllocatorCache cache_;          // what it keeps of the allocator: devices, rate card, settings
	UsageLog usageLog_;             // a second connection to the job log, for reports
	AllocatorLink link_;
	GpuViews gpuViews_;             // the running jobs' GPUs as last read (own lock)
	JobTable jobs_;

	std::mutex mutex_;              // guards the fields below
	std::vector<Device> devices_;
	std::string account_;
	AllocatorStatus allocator_;
	int failures_ = 0;              // consecutive failed contacts, for the back-off
	std::uint64_t contactsBegun_ = 0; // the link thread's registration attempts begun
	std::uint64_t contactsEnded_ = 0; // ... and ended, answered or not
	std::condition_variable contacted_; // notified when one ends or succeeds, and on stop()
	bool outboxWarned_ = false;     // the outbox is at or above half its cap, and the log said so
	TimeMs nextBudgetCheck_ = 0;    // watchBudget()'s next look at the spending
	std::shared_ptr<const SpendingBase> spendingBase_; // the last one read; under spendingMutex_

	std::mutex spendingMutex_;      // guards spendingBase_ (a pointer's copy)
	std::mutex spendingReadMutex_;  // one reader of the job log at a time for spendingBase()

	std::mutex wakeMutex_;
	std::condition_variable wake_;
	bool outboxDirty_ = true;       // a usage record may be waiting: deliver before sleeping
	bool contactNow_ = false;       // a caller waits for the first registration: no back-off
	bool gpusDue_ = false;          // a job started: read its GPUs without waiting for the refresh
	std::atomic<bool> stopping_{false};
	int stopFd_ = -1;               // eventfd: stop() wakes run()
	// The socket file the agent bound itself, removed when it stops; empty when systemd passed the
	// socket (the file is then systemd's, and must stay for socket activation).
	std::string ownSocket_;
	ino_t ownSocketInode_ = 0;

	std::thread linkThread_;
	std::unique_ptr<HttpServer> server_;
	std::unique_ptr<HttpServer> metricsServer_; // [metrics] listen: GET /metrics on loopback TCP
	// server_ as the metrics collector reads it: set once it is made, never reset, so a
	// scrape does not race ~Agent's server_.reset() (the server stops its threads before it goes).
	std::atomic<const HttpServer *> socketServer_{nullptr};
};

} // namespace hac
