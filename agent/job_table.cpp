// JobTable. The order of every start is: reserve the device in memory, store the job's UUID,
// ask the allocator (keyed by that UUID), then watch the process. Every end is: one transaction
// that closes the job and queues its usage record, then the device is free.
#include "job_table.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/billing.hpp>
#include <hac/duration.hpp>
#include <hac/error.hpp>
#include <hac/json.hpp>
#include <hac/uuid.hpp>

#include "access.hpp"
#include "process.hpp"
#include "refusal.hpp"

namespace hac {

namespace {

// What a start keeps of its caller's deadline for writing the job log and answering, and the least
// time worth giving the allocator.
constexpr long kStartReserveMs = 500;
constexpr long kMinAllocatorMs = 100;
// A launcher says at once that a command could not be executed; later, it is not believed.
constexpr TimeMs kExecReportMs = 10000;
// How long a job id the farm queued is asked for again: well past the allocator's own bound for a
// queued job nobody asks about ([slurm] queue_seconds), after which it is a new job anyway.
constexpr TimeMs kFarmQueueKeepMs = 10 * 60 * 1000;

// What a start's row takes from the device's quote: its size, and that size's price.
void priceRow(JobRow &row, const PricedDevice &priced)
{
	row.job.sku = priced.device.sku;
	row.job.gpus = priced.device.gpus;
	row.deviceId = priced.device.id;
	row.priceMicroPerGpuMinute = priced.priceMicroPerGpuMinute;
	row.currency = priced.currency;
}

// What is left of a start's caller's deadline.
long msLeft(const StartRequest &request)
{
	using namespace std::chrono;
	return duration_cast<milliseconds>(request.deadline - steady_clock::now()).count();
}

Refusal startTimeout(const StartRequest &request, const std::string &why)
{
	return Refusal(Refusal::TimedOut, "start_timeout",
		       fmt::format("the job could not be started within the caller's deadline of {} ms ({}); the command was "
				   "not run and is not billed; if this repeats, check 'systemctl status hac-agent'",
				   request.deadlineMs, why));
}

} // namespace

std::string usageBody(const JobRow &row)
{
	const Job &j = row.job;
	UsageRecord r;
	r.jobId = j.id;
	r.deviceId = row.deviceId;
	r.sku = j.sku;
	r.gpus = j.gpus;
	r.startedAt = j.startedAt;
	r.endedAt = j.endedAt.value_or(j.startedAt);
	r.billable = j.billable;
	r.endReason = j.endReason;
	r.reconstructed = j.reconstructed;
	// The agent's own view of the bill, at the price the job started at; the allocator bills
	// from its catalog, and hac-usage --reconcile shows where the two differ.
	r.priceMicroPerGpuMinute = row.priceMicroPerGpuMinute;
	r.currency = row.currency;
	r.costMicro = chargeFor(r.gpus, r.startedAt, r.endedAt, r.priceMicroPerGpuMinute, r.billable).costMicro;
	return Json(r).dump();
}

JobTable::JobTable(JobLog &log, AllocatorLink &link, std::function<std::string()> adminGroup,
		   std::function<void()> wakeOutbox, std::function<void()> deliverOwed)
	: log_(log), link_(link), adminGroup_(std::move(adminGroup)), wakeOutbox_(std::move(wakeOutbox)),
	  deliverOwed_(std::move(deliverOwed)), epollFd_(epoll_create1(EPOLL_CLOEXEC))
{
	if (epollFd_ < 0)
		throw Error(Errc::Failure, fmt::format("epoll_create1: {}", std::strerror(errno)));
	wakeFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.fd = wakeFd_;
	if (wakeFd_ < 0 || epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd_, &ev) != 0)
		throw Error(Errc::Failure, fmt::format("eventfd: {}", std::strerror(errno)));
}

JobTable::~JobTable()
{
	for (auto &[device, entry] : byDevice_)
		if (entry.pidfd >= 0)
			close(entry.pidfd);
	close(wakeFd_);
	close(epollFd_);
}

void JobTable::watchLocked(Entry &entry)
{
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.fd = entry.pidfd;
	epoll_ctl(epollFd_, EPOLL_CTL_ADD, entry.pidfd, &ev);
}

void JobTable::reconcile()
{
	std::lock_guard lock(mutex_);
	for (JobRow &row : log_.openJobs()) {
		Entry entry{row, -1, false, std::nullopt, {}, std::nullopt, std::nullopt};
		auto it = byDevice_.emplace(row.job.device, entry).first;
		if (row.job.state == "starting") {
			// The agent stopped while asking the allocator: whether GPUs were lent is unknown,
			// so a non-billable record is sent, which also releases any allocation.
			endLocked(it, "allocator_failure", std::nullopt, row.job.startedAt, false);
			continue;
		}
		auto process = readProcess(row.job.pid);
		int pidfd = process && process->startTicks == row.pidStart ? openPidfd(row.job.pid) : -1;
		std::optional<TimeMs> deadline = row.job.deadline;
		if (pidfd < 0 && deadline && *deadline <= row.heartbeatAt) {
			spdlog::info("job {} (pid {}) reached its time limit while the agent was down: ended at its deadline {}",
				     row.job.id, row.job.pid, formatTime(*deadline));
			endLocked(it, "time_limit", std::nullopt, *deadline, true);
			continue;
		}
		if (pidfd >= 0 && deadline && nowMs() >= *deadline) {
			// Its processes are told to stop as at the limit, and the job is dated at its deadline:
			// the time the agent was away is not billed beyond what the limit allowed.
			close(pidfd);
			int signalled = signalJob(row.job.pid, SIGTERM);
			stragglers_.push_back(Straggler{row.job.pid, row.pidStart, nowMs() + killGraceMs_});
			spdlog::info("job {} (pid {}) passed its time limit while the agent was down: ended at its deadline {}; "
				     "sent SIGTERM to {} process(es), SIGKILL in {} s if they have not ended",
				     row.job.id, row.job.pid, formatTime(*deadline), signalled, killGraceMs_ / 1000);
			endLocked(it, "time_limit", std::nullopt, *deadline, false);
			continue;
		}
		if (pidfd < 0) {
			spdlog::info("job {} (pid {}) ended while the agent was down: closed at its last heartbeat {}",
				     row.job.id, row.job.pid, formatTime(row.heartbeatAt));
			endLocked(it, "process_died", std::nullopt, row.heartbeatAt, true);
			continue;
		}
		it->second.pidfd = pidfd;
		row.job.state = "running";
		watchLocked(it->second);
		spdlog::info("job {} (pid {}) still runs: watching it again", row.job.id, row.job.pid);
	}
}

Job JobTable::start(const Peer &peer, bool privileged, const StartRequest &request, int device,
		    const std::function<PricedDevice(int)> &quote)
{
	ProcessInfo process = callersProcess(peer, request.pid);
	// What a waiting job shows; the size and price are read again once the device is ours.
	JobRow row;
	priceRow(row, quote(device));
	reserveInLine(peer, privileged, request, device, process, row);
	recordStarting(device, quote, row);
	allocate(request, device, row);
	return watch(request, device, row);
}

ProcessInfo JobTable::callersProcess(const Peer &peer, pid_t pid) const
{
	auto process = readProcess(pid);
	if (!process)
		throw Refusal(Refusal::NotFound, "process_not_found", fmt::format("no process with pid {}", pid));
	if (peer.uid != 0 && (process->uid != peer.uid || (process->pid != peer.pid && process->parent != peer.pid)))
		throw Refusal(Refusal::NotAllowed, "not_your_process",
			      fmt::format("pid {} is neither the caller nor a child of the caller owned by the same user; "
					  "a job is registered by its own process or by the launcher that started it", pid));
	return *process;
}

void JobTable::reserveInLine(const Peer &peer, bool privileged, const StartRequest &request, int device,
			     const ProcessInfo &process, JobRow &row)
{
	std::unique_lock lock(mutex_);
	auto deadline = std::min(std::chrono::steady_clock::now() + std::chrono::milliseconds(request.wait ? request.waitMs : 0),
				 request.deadline);
	auto taken = [&] { return byDevice_.count(device) || claims_.count(device); };
	// While it waits the job is shown in hac-smi (who, since when, its place in line), and
	// the device goes to the waiters in the order they came.
	std::optional<std::list<Job>::iterator> waiter;
	// A launcher asks again when one server-side wait ends (libhac's beginJob): the process
	// keeps its place and its "since" across the calls.
	const std::pair<pid_t, std::uint64_t> who{process.pid, process.startTicks};
	struct Unlist {
		JobTable &table;
		std::optional<std::list<Job>::iterator> &it;
		std::pair<pid_t, std::uint64_t> who;
		bool granted = false;
		~Unlist()
		{
			if (!it)
				return;
			if (!granted) {
				if (table.waitedSince_.size() >= 1024)
					table.waitedSince_.erase(table.waitedSince_.begin());
				table.waitedSince_[who] = (*it)->startedAt;
			}
			table.waiting_.erase(*it);
			table.freed_.notify_all(); // the next in line may go
		}
	} unlist{*this, waiter, who};
	auto ahead = [&] {
		for (auto it = waiting_.begin(); it != waiting_.end() && !(waiter && it == *waiter); ++it)
			if (it->device == device)
				return true;
		return false;
	};
	auto blocked = [&] { return taken() || ahead(); };
	if (request.wait && blocked() && !stopping_)
		waiter = joinLineLocked(request, device, process, row);
	while (blocked() && !stopping_) {
		if (!request.wait || freed_.wait_until(lock, deadline) == std::cv_status::timeout) {
			if (!blocked())
				break;
			throw busyRefusal(peer, privileged, device);
		}
	}
	unlist.granted = !stopping_;
	if (stopping_)
		throw Refusal(Refusal::Unavailable, "agent_stopping", "hac-agent is stopping; try again when it is back");
	Job &job = row.job;
	job.id = newUuid();
	if (auto queued = farmQueued_.find(device); queued != farmQueued_.end()) {
		if (nowMs() - queued->second.second < kFarmQueueKeepMs)
			job.id = queued->second.first;
		farmQueued_.erase(queued);
	}
	job.device = device;
	job.uid = process.uid;
	job.user = userName(process.uid);
	job.pid = process.pid;
	job.command = request.command.empty() ? process.command : request.command;
	job.name = request.name;
	job.timeLimitSeconds = request.timeLimitSeconds;
	job.state = "starting";
	job.startedAt = nowMs();
	row.pidStart = process.startTicks;
	byDevice_.emplace(device, Entry{row, -1, true, std::nullopt, processExe(process.pid), std::nullopt, std::nullopt});
}

std::list<Job>::iterator JobTable::joinLineLocked(const StartRequest &request, int device, const ProcessInfo &process,
						 const JobRow &row)
{
	Job w;
	w.device = device;
	w.sku = row.job.sku;
	w.gpus = row.job.gpus;
	w.uid = process.uid;
	w.user = userName(process.uid);
	w.pid = process.pid;
	w.command = request.command.empty() ? process.command : request.command;
	w.name = request.name;
	w.state = "waiting";
	w.startedAt = nowMs();
	if (auto before = waitedSince_.find({process.pid, process.startTicks}); before != waitedSince_.end()) {
		w.startedAt = before->second;
		waitedSince_.erase(before);
	}
	auto place = std::find_if(waiting_.begin(), waiting_.end(),
				  [&](const Job &other) { return other.startedAt > w.startedAt; });
	return waiting_.insert(place, std::move(w));
}

Refusal JobTable::busyRefusal(const Peer &peer, bool privileged, int device) const
{
	if (auto claim = claims_.find(device); claim != claims_.end())
		return Refusal(Refusal::Busy, "device_busy", fmt::format("device {} is being changed ({})", device, claim->second),
			       Json{{"holder", {{"change", claim->second}}}});
	auto holding = byDevice_.find(device);
	if (holding == byDevice_.end())
		return Refusal(Refusal::Busy, "device_busy",
			       fmt::format("device {} is promised to the jobs that waited for it first", device));
	const Job &holder = holding->second.row.job;
	bool visible = privileged || holder.uid == peer.uid;
	std::string command = visible ? holder.command : "(another user's job)";
	return Refusal(Refusal::Busy, "device_busy",
		       fmt::format("device {} is in use by job {} (pid {}: {})", device, holder.id, holder.pid, command),
		       Json{{"holder", {{"job_id", holder.id}, {"pid", holder.pid}, {"command", command},
					{"user", userName(holder.uid)}}}});
}

void JobTable::releaseReserved(int device)
{
	std::lock_guard lock(mutex_);
	byDevice_.erase(device);
	freed_.notify_all();
}

void JobTable::recordStarting(int device, const std::function<PricedDevice(int)> &quote, JobRow &row)
{
	try {
		// The device is this job's now, so no resize can slip in between.
		priceRow(row, quote(device));
		{
			std::lock_guard lock(mutex_);
			byDevice_.at(device).row = row;
		}
		log_.insertStarting(row);
	} catch (...) {
		releaseReserved(device);
		throw;
	}
}

void JobTable::allocate(const StartRequest &request, int device, JobRow &row)
{
	// The answer must reach the caller before its deadline: the allocator gets what is left of it,
	// less a reserve for writing the job log and answering.
	if (msLeft(request) < kStartReserveMs + kMinAllocatorMs) {
		log_.deleteStarting(row.job.id);
		releaseReserved(device);
		throw startTimeout(request, "the job log was slow to write");
	}
	try {
		Allocation a = [&] {
			try {
				return link_.allocate(row.job.id, row.deviceId, msLeft(request) - kStartReserveMs);
			} catch (const Refusal &e) {
				// The job that had the device ended here, but its record, which releases the
				// device at the allocator, may still be on its way: send it and ask once more,
				// so the device goes to this job, the first in line, and not to a later one.
				if (e.code != "device_busy" || log_.outboxSize() == 0 ||
				    msLeft(request) < kStartReserveMs + kMinAllocatorMs)
					throw;
				deliverOwed_();
				return link_.allocate(row.job.id, row.deviceId, msLeft(request) - kStartReserveMs);
			}
		}();
		if (a.gpus > 0)
			row.job.gpus = a.gpus;
	} catch (const Refusal &e) {
		// A refusal of the allocator's own (4xx, or farm_full): nothing was lent, so the job never
		// was. Any other 5xx may come from a gateway that passed the request on, so it is
		// treated as no answer.
		if (e.kind == Refusal::AllocatorRefused || e.code == "farm_full") {
			log_.deleteStarting(row.job.id);
			if (e.code == "farm_full") {
				std::lock_guard lock(mutex_);
				farmQueued_[device] = {row.job.id, nowMs()};
			}
			releaseReserved(device);
			throw;
		}
		std::lock_guard lock(mutex_);
		endLocked(byDevice_.find(device), "allocator_failure", std::nullopt, std::nullopt, false);
		throw Refusal(Refusal::Unavailable, "allocator_unreachable",
			      fmt::format("{}; the job was not started and is not billed: check the allocator (hac-smi shows "
					  "whether the agent reaches it)", e.what()));
	} catch (const Error &e) {
		// No answer: the allocation may or may not exist. Ending the job non-billable queues a
		// usage record, whose delivery releases it.
		std::lock_guard lock(mutex_);
		endLocked(byDevice_.find(device), "allocator_failure", std::nullopt, std::nullopt, false);
		throw Refusal(Refusal::Unavailable, "allocator_unreachable",
			      fmt::format("the allocator at {} did not answer the allocation ({}); the job was not started and "
					  "is not billed: check the allocator (hac-smi shows whether the agent reaches it)",
					  link_.url(), e.what()));
	}
}

Job JobTable::watch(const StartRequest &request, int device, JobRow &row)
{
	std::lock_guard lock(mutex_);
	auto it = byDevice_.find(device);
	// Past the deadline the caller has given up: its command never ran, so the job is undone, not
	// billed, and the record that says so releases the allocation.
	if (msLeft(request) < 0) {
		endLocked(it, "not_started", std::nullopt, std::nullopt, false);
		throw startTimeout(request, "the start took too long");
	}
	row.job.startedAt = nowMs();
	row.job.state = "running";
	if (row.job.timeLimitSeconds)
		row.job.deadline = row.job.startedAt + *row.job.timeLimitSeconds * 1000;
	it->second.row = row;
	it->second.starting = false;
	log_.markRunning(row.job.id, row.job.startedAt, row.job.deadline);
	int pidfd = openPidfd(row.job.pid);
	auto again = readProcess(row.job.pid);
	if (pidfd < 0 || !again || again->startTicks != row.pidStart) {
		if (pidfd >= 0)
			close(pidfd);
		// Its process ended before the start was answered: nothing ran as this job.
		return endLocked(it, "not_started", std::nullopt, std::nullopt, false);
	}
	it->second.pidfd = pidfd;
	if (msLeft(request) < 0) {
		close(pidfd);
		it->second.pidfd = -1;
		endLocked(it, "not_started", std::nullopt, std::nullopt, false);
		throw startTimeout(request, "the job log was slow to write");
	}
	watchLocked(it->second);
	if (row.job.deadline) {
		// run() may sleep past this deadline: wake it to take it into account.
		std::uint64_t one = 1;
		[[maybe_unused]] ssize_t n = write(wakeFd_, &one, sizeof(one));
	}
	if (events_.started)
		events_.started(row.job);
	spdlog::info("job {} started on device {} ({}, {} GPUs) for pid {} of {}{}", row.job.id, device, row.job.sku,
		     row.job.gpus, row.job.pid, row.job.user,
		     row.job.deadline ? fmt::format(", time limit {} (until {})", formatDuration(*row.job.timeLimitSeconds),
						    formatTime(*row.job.deadline))
				      : "");
	return row.job;
}

Job JobTable::endLocked(std::map<int, Entry>::iterator it, const std::string &reason, std::optional<int> exitStatus,
			std::optional<TimeMs> endedAt, bool reconstructed)
{
	Entry &entry = it->second;
	JobRow row = entry.row;
	Job &job = row.job;
	job.state = "ended";
	job.endedAt = std::max(endedAt.value_or(nowMs()), job.startedAt);
	job.exitStatus = exitStatus;
	job.endReason = reason;
	job.billable = billableEnd(reason);
	job.reconstructed = reconstructed;
	Charge charge = chargeFor(job.gpus, job.startedAt, *job.endedAt, row.priceMicroPerGpuMinute, job.billable);
	log_.endJob(job, charge, usageBody(row));
	if (events_.ended)
		events_.ended(job, charge);
	if (entry.pidfd >= 0)
		close(entry.pidfd); // also leaves the epoll set
	byDevice_.erase(it);
	freed_.notify_all();
	spdlog::info("job {} ended ({}{}) after {:.1f} s", job.id, reason,
		     exitStatus ? fmt::format(", exit status {}", *exitStatus) : "",
		     double(*job.endedAt - job.startedAt) / 1000.0);
	wakeOutbox_();
	return job;
}

std::map<int, JobTable::Entry>::iterator JobTable::findLocked(const std::string &id)
{
	return std::find_if(byDevice_.begin(), byDevice_.end(), [&](const auto &kv) { return kv.second.row.job.id == id; });
}

// Refuses `verb` on another user's job unless the caller is privileged.
void JobTable::checkOwner(const Peer &peer, bool privileged, const Job &job, const char *verb) const
{
	if (!privileged && peer.uid != job.uid)
		throw Refusal(Refusal::NotAllowed, "not_your_job",
			      fmt::format("job {} belongs to {}; only its owner, root or a member of group {} may {} it",
					  job.id, userName(job.uid), adminGroup_(), verb));
}

// Why a launcher's word that the job's command could not be executed is not believed, or empty.
std::string JobTable::execClaimRefusal(const Entry &entry, const Peer &peer) const
{
	const Job &job = entry.row.job;
	if (peer.pid == job.pid)
		return "it came from the job's own process, which therefore runs";
	if (nowMs() - job.startedAt > kExecReportMs)
		return fmt::format("it came {} ms after the start, later than {} ms", nowMs() - job.startedAt, kExecReportMs);
	auto process = readProcess(job.pid);
	if (!process || process->startTicks != entry.row.pidStart)
		return "the job's process has already ended";
	std::string exe = processExe(job.pid);
	if (entry.exe.empty() || exe != entry.exe)
		return "the job's process ran another program since it was registered";
	return {};
}

Job JobTable::finish(const Peer &peer, bool privileged, const std::string &id, int exitStatus, bool execFailed)
{
	std::lock_guard lock(mutex_);
	auto it = findLocked(id);
	if (it == byDevice_.end() || it->second.starting) {
		// Finishing twice answers with the job as it ended, so a client may retry safely.
		if (auto row = log_.job(id); row && row->job.state == "ended") {
			checkOwner(peer, privileged, row->job, "finish");
			return row->job;
		}
		throw Refusal(Refusal::NotFound, "job_not_found", fmt::format("no running job {}", id));
	}
	checkOwner(peer, privileged, it->second.row.job, "finish");
	if (execFailed) {
		if (std::string refusal = execClaimRefusal(it->second, peer); refusal.empty())
			return endLocked(it, "exec_failed", exitStatus, std::nullopt, false);
		else
			spdlog::warn("job {}: its launcher says the command could not be executed, but {}: ended as finished, "
				     "billable", id, refusal);
	}
	return endLocked(it, it->second.stopReason.value_or("finished"), exitStatus, it->second.exitedAt, false);
}

void JobTable::reportMemory(const Peer &peer, bool privileged, const std::string &id, std::int64_t mib)
{
	std::lock_guard lock(mutex_);
	auto it = findLocked(id);
	if (it == byDevice_.end())
		throw Refusal(Refusal::NotFound, "job_not_found", fmt::format("no running job {}", id));
	checkOwner(peer, privileged, it->second.row.job, "report memory for");
	// Kept in memory and written with the job's end: a report is frequent and not billed.
	it->second.row.job.memoryUsedMib = mib;
}

Job JobTable::reset(const Peer &peer, bool privileged, int device)
{
	std::lock_guard lock(mutex_);
	auto it = byDevice_.find(device);
	if (it == byDevice_.end() || it->second.starting)
		throw Refusal(Refusal::NotFound, "not_running", fmt::format("no job runs on device {}", device));
	checkOwner(peer, privileged, it->second.row.job, "reset");
	return endLocked(it, "reset", std::nullopt, std::nullopt, false);
}

std::optional<Job> JobTable::find(const std::string &id)
{
	{
		std::lock_guard lock(mutex_);
		if (auto it = findLocked(id); it != byDevice_.end())
			return it->second.row.job;
	}
	if (auto row = log_.job(id))
		return row->job;
	return std::nullopt;
}

std::vector<Job> JobTable::running()
{
	std::unique_lock lock(mutex_, std::defer_lock);
	if (!lock.try_lock_for(std::chrono::milliseconds(500))) {
		std::lock_guard seen(lastSeenMutex_);
		return lastSeen_;
	}
	std::vector<Job> out;
	for (const auto &[device, entry] : byDevice_)
		out.push_back(entry.row.job);
	std::map<int, int> place;
	for (const Job &w : waiting_) {
		out.push_back(w);
		out.back().queuePosition = ++place[w.device];
	}
	std::lock_guard seen(lastSeenMutex_);
	lastSeen_ = out;
	return out;
}

void JobTable::claimDevice(int device, int waitMs, const std::string &what, const std::string &refusal)
{
	std::unique_lock lock(mutex_);
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(waitMs);
	while ((byDevice_.count(device) || claims_.count(device)) && !stopping_) {
		if (freed_.wait_until(lock, deadline) != std::cv_status::timeout)
			continue;
		if (auto claim = claims_.find(device); claim != claims_.end())
			throw Refusal(Refusal::Busy, "device_busy",
				      fmt::format("{}: device {} is being changed ({})", refusal, device, claim->second));
		if (auto it = byDevice_.find(device); it != byDevice_.end()) {
			const Job &job = it->second.row.job;
			throw Refusal(Refusal::Busy, "device_in_use",
				      fmt::format("{} while the accelerator is in use (job {}, pid {}: {})", refusal, job.id,
						  job.pid, job.command),
				      Json{{"holder", {{"job_id", job.id}, {"pid", job.pid}, {"command", job.command},
						       {"user", userName(job.uid)}}}});
		}
	}
	if (stopping_)
		throw Refusal(Refusal::Unavailable, "agent_stopping", "hac-agent is stopping; try again when it is back");
	claims_.emplace(device, what);
}

void JobTable::releaseDevice(int device)
{
	std::lock_guard lock(mutex_);
	claims_.erase(device);
	freed_.notify_all();
}

// A launcher such as hac-run learns the exit status and sends it a moment after the process
// ends; the agent sees the end first. So an exit is noted, and the job is ended without a
// status only if no finish comes within the grace. Either way it ends when the process did.
constexpr TimeMs kExitGraceMs = 250;
constexpr TimeMs kHeartbeatMs = 5000;

void JobTable::reapEnded()
{
	epoll_event events[16];
	int n = epoll_wait(epollFd_, events, 16, 0);
	std::lock_guard lock(mutex_);
	for (int i = 0; i < n; ++i) {
		if (events[i].data.fd == wakeFd_) {
			std::uint64_t count;
			[[maybe_unused]] ssize_t r = read(wakeFd_, &count, sizeof(count));
			continue;
		}
		for (auto &[device, entry] : byDevice_) {
			if (entry.pidfd != events[i].data.fd)
				continue;
			entry.exitedAt = nowMs();
			epoll_ctl(epollFd_, EPOLL_CTL_DEL, entry.pidfd, nullptr);
		}
	}
}

int JobTable::tick()
{
	std::lock_guard lock(mutex_);
	TimeMs now = nowMs();
	TimeMs next = -1;
	auto sooner = [&](TimeMs at) { next = next < 0 ? at : std::min(next, at); };
	std::erase_if(stragglers_, [&](const Straggler &s) {
		auto process = readProcess(s.pid);
		if (!process || process->startTicks != s.pidStart)
			return true;
		if (now < s.killAt) {
			sooner(s.killAt);
			return false;
		}
		spdlog::warn("pid {} still runs {} ms after SIGTERM: sending SIGKILL", s.pid, killGraceMs_);
		signalJob(s.pid, SIGKILL);
		return true;
	});
	for (auto it = byDevice_.begin(); it != byDevice_.end();) {
		auto following = std::next(it);
		Entry &entry = it->second;
		if (!entry.exitedAt && !entry.starting) {
			// A pid that the kernel reused, or an end that could not be written before.
			auto process = readProcess(entry.row.job.pid);
			if ((!process || process->startTicks != entry.row.pidStart) && now >= nextHeartbeat_)
				entry.exitedAt = now;
		}
		if (!entry.exitedAt && !entry.starting) {
			const Job &job = entry.row.job;
			if (job.deadline && !entry.stopReason) {
				if (now >= *job.deadline)
					stopLocked(entry, "time_limit", now);
				else
					sooner(*job.deadline);
			}
			if (entry.killAt && now >= *entry.killAt) {
				auto process = readProcess(job.pid);
				if (process && process->startTicks == entry.row.pidStart) {
					spdlog::warn("job {} (pid {}) still runs {} ms after SIGTERM: sending SIGKILL", job.id, job.pid,
						     killGraceMs_);
					signalJob(job.pid, SIGKILL);
				}
				entry.killAt.reset();
			} else if (entry.killAt) {
				sooner(*entry.killAt);
			}
		}
		if (entry.exitedAt && now >= *entry.exitedAt + kExitGraceMs) {
			try {
				endLocked(it, entry.stopReason.value_or("process_died"), std::nullopt, entry.exitedAt, false);
			} catch (const std::exception &e) {
				spdlog::error("cannot record the end of job {}: {}; retrying", entry.row.job.id, e.what());
				sooner(now + kHeartbeatMs);
			}
		} else if (entry.exitedAt) {
			sooner(*entry.exitedAt + kExitGraceMs);
		}
		it = following;
	}
	bool running = std::any_of(byDevice_.begin(), byDevice_.end(), [](const auto &kv) { return !kv.second.starting; });
	if (running) {
		if (now >= nextHeartbeat_) {
			try {
				log_.heartbeat(now);
			} catch (const std::exception &e) {
				spdlog::error("cannot record the jobs' heartbeat: {}", e.what());
			}
			nextHeartbeat_ = now + kHeartbeatMs;
		}
		sooner(nextHeartbeat_);
	}
	return next < 0 ? -1 : static_cast<int>(std::max<TimeMs>(0, next - now));
}

void JobTable::stopLocked(Entry &entry, const std::string &reason, TimeMs now)
{
	const Job &job = entry.row.job;
	entry.stopReason = reason;
	entry.killAt = now + killGraceMs_;
	auto process = readProcess(job.pid);
	if (!process || process->startTicks != entry.row.pidStart)
		return; // already gone: the next tick ends it, with this reason
	int signalled = signalJob(job.pid, SIGTERM);
	std::string why = reason == "time_limit" && job.timeLimitSeconds
				  ? fmt::format("reached its time limit of {}", formatDuration(*job.timeLimitSeconds))
				  : reason == "budget" ? "is stopped because the month's budget is spent ([budget] on_exhausted = \"stop\")"
						       : "is stopped (" + reason + ")";
	spdlog::info("job {} (pid {} of {}) {}: sent SIGTERM to {} process(es), SIGKILL in {} ms if it has not ended",
		     job.id, job.pid, userName(job.uid), why, signalled, killGraceMs_);
}

int JobTable::stopJobs(const std::string &reason, const std::function<bool(const Job &)> &which)
{
	std::lock_guard lock(mutex_);
	TimeMs now = nowMs();
	int stopped = 0;
	for (auto &[device, entry] : byDevice_) {
		if (entry.starting || entry.stopReason || entry.exitedAt || !which(entry.row.job))
			continue;
		stopLocked(entry, reason, now);
		++stopped;
	}
	return stopped;
}

void JobTable::setKillGrace(TimeMs ms)
{
	std::lock_guard lock(mutex_);
	killGraceMs_ = ms;
}

void JobTable::setEvents(JobEvents events)
{
	std::lock_guard lock(mutex_);
	events_ = std::move(events);
}

void JobTable::shutdown()
{
	std::lock_guard lock(mutex_);
	stopping_ = true;
	freed_.notify_all();
}

} // namespace hac
