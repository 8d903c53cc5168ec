// Agent: one thread keeps in touch with the allocator, libmicrohttpd's threads serve callers,
// and run() waits for signals, pings the watchdog and reloads the config. Reads never wait on the
// allocator: they answer from local state.
#include "agent.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <limits>
#include <poll.h>
#include <random>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/duration.hpp>
#include <hac/error.hpp>
#include <service/api_error.hpp>

#include "access.hpp"
#include "api.hpp"
#include "systemd.hpp"
#include "usage.hpp"

namespace hac {

namespace {

std::vector<Device> markCurrent(std::vector<Device> devices, const std::optional<std::string> &current)
{
	int wanted = current ? std::atoi(current->c_str()) : -1;
	bool found = std::any_of(devices.begin(), devices.end(), [&](const Device &d) { return d.index == wanted; });
	for (Device &d : devices)
		d.current = found ? d.index == wanted : &d == &devices.front();
	return devices;
}

// One line per key that needs a restart and was changed in `next`.
std::vector<std::string> restartOnlyChanges(const AgentConfig &running, const AgentConfig &next)
{
	std::vector<std::string> changes;
	auto note = [&](const char *key, const std::string &was, const std::string &now) {
		if (was != now)
			changes.push_back(fmt::format("{} changed from {} to {}", key, was, now));
	};
	note("socket", running.socket, next.socket);
	note("socket_mode", fmt::format("0{:o}", running.socketMode), fmt::format("0{:o}", next.socketMode));
	note("database", running.database, next.database);
	note("token_file", running.tokenFile, next.tokenFile);
	note("allocator.url", running.allocator.url, next.allocator.url);
	return changes;
}

} // namespace

void setLogLevel(const std::string &level)
{
	spdlog::set_level(spdlog::level::from_str(level == "warning" ? "warn" : level));
}

Agent::Agent(AgentConfig config, int listenFd)
	: config_(std::move(config)),
	  token_(loadToken(config_)),
	  log_(config_.database),
	  usageLog_(config_.database),
	  link_(config_.allocator, token_.value),
	  jobs_(log_, link_, [this] { return this->config().adminGroup; }, [this] { wakeLink(); },
		[this] {
			try {
				deliverOutbox(std::numeric_limits<TimeMs>::max());
			} catch (const Error &e) {
				markUnreachable(e.what());
			}
		})
{
	allocator_.url = link_.url();
	devices_ = markCurrent(log_.devices(), log_.setting("current_device"));
	spdlog::info("job log {} at schema version {}; {} known device(s)", config_.database, JobLog::schemaVersion(),
		     devices_.size());

	jobs_.setKillGrace(config_.jobs.killGraceSeconds * 1000);
	jobs_.reconcile();

	// A refused token is a configuration error worth failing the start for; an allocator that
	// does not answer is not: the agent serves what it last knew and keeps trying.
	try {
		contactAllocator();
	} catch (const Error &e) {
		if (e.code() == ExitCode::PermissionDenied)
			throw;
		markUnreachable(e.what());
	}

	stopFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	bool activated = listenFd >= 0;
	if (!activated) {
		listenFd = listenUnix(config_.socket, config_.socketMode);
		struct stat st {};
		if (stat(config_.socket.c_str(), &st) == 0) {
			ownSocket_ = config_.socket;
			ownSocketInode_ = st.st_ino;
		}
	}
	server_ = std::make_unique<HttpServer>(listenFd, [this](const Request &r) {
		Response response = handleRequest(*this, r);
		// One line per call at log_level = "debug", for an operator tracing a tool.
		if (spdlog::should_log(spdlog::level::debug))
			spdlog::debug("{} {} from pid {} uid {}: {}", r.method, r.path, r.peer ? r.peer->pid : 0,
				      r.peer ? r.peer->uid : 0, response.status);
		return response;
	}, ServerLimits{}, [this](const Peer &peer) { return privileged(peer); });
	linkThread_ = std::thread([this] { linkLoop(); });
	spdlog::info("serving the local API on {}", activated ? "the socket passed by systemd" : config_.socket);
}

Agent::~Agent()
{
	stop();
	if (linkThread_.joinable())
		linkThread_.join();
	server_.reset();
	if (stopFd_ >= 0)
		close(stopFd_);
	// Only the file this agent bound: a later agent may have bound the path since.
	struct stat st {};
	if (!ownSocket_.empty() && stat(ownSocket_.c_str(), &st) == 0 && st.st_ino == ownSocketInode_)
		unlink(ownSocket_.c_str());
}

void Agent::wakeLink()
{
	std::lock_guard lock(wakeMutex_);
	outboxDirty_ = true;
	wake_.notify_all();
}

void Agent::stop()
{
	stopping_ = true;
	{
		std::lock_guard lock(mutex_);
		contacted_.notify_all();
	}
	jobs_.shutdown();
	// A request to the allocator in flight would otherwise hold the stop for up to its timeout.
	link_.cancel();
	{
		std::lock_guard lock(wakeMutex_);
		wake_.notify_all();
	}
	if (stopFd_ >= 0) {
		std::uint64_t one = 1;
		[[maybe_unused]] ssize_t n = write(stopFd_, &one, sizeof(one));
	}
}

void Agent::run(std::function<AgentConfig()> loadConfig)
{
	using Clock = std::chrono::steady_clock;
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	int sigFd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigFd < 0)
		throw Error(ExitCode::Failure, fmt::format("cannot create a signalfd: {}", std::strerror(errno)));
	// systemd counts from the last ping: pinging at half the interval leaves the other half for
	// a slow turn of the loop. A loop stuck on the job table or the job log stops the pings.
	std::chrono::milliseconds pingEvery{0};
	if (auto watchdog = systemdWatchdogInterval(); watchdog.count() > 0) {
		pingEvery = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(watchdog / 2));
		spdlog::info("systemd watchdog: {} ms; pinging every {} ms", watchdog.count() / 1000, pingEvery.count());
	}
	Clock::time_point nextPing = Clock::now();
	// Everything that can fail at start (config, token, job log open and migrated, listening
	// socket) is behind us: the constructor threw otherwise.
	notifySystemd("READY=1\nSTATUS=serving");
	// Sleeps until a signal, stop(), a job's process ending, a job's heartbeat or the next
	// watchdog ping; with no job and no watchdog it does not wake at all.
	while (!stopping_) {
		// The budget first: a job it stops gets its SIGKILL time from tick().
		int untilBudget = watchBudget();
		int timeout = jobs_.tick();
		if (untilBudget >= 0)
			timeout = timeout < 0 ? untilBudget : std::min(timeout, untilBudget);
		if (pingEvery.count() > 0) {
			Clock::time_point now = Clock::now();
			if (now >= nextPing) {
				notifySystemd("WATCHDOG=1");
				nextPing = now + pingEvery;
			}
			auto untilPing = std::chrono::ceil<std::chrono::milliseconds>(nextPing - now).count();
			timeout = timeout < 0 ? static_cast<int>(untilPing) : std::min(timeout, static_cast<int>(untilPing));
		}
		pollfd fds[3] = {{sigFd, POLLIN, 0}, {stopFd_, POLLIN, 0}, {jobs_.epollFd(), POLLIN, 0}};
		int ready = poll(fds, 3, timeout);
		if (ready < 0 && errno != EINTR)
			break;
		if (fds[2].revents & POLLIN)
			jobs_.reapEnded();
		if (fds[0].revents & POLLIN) {
			signalfd_siginfo info{};
			if (read(sigFd, &info, sizeof(info)) != sizeof(info))
				continue;
			if (info.ssi_signo == SIGHUP) {
				reloadFrom(loadConfig);
				continue;
			}
			spdlog::info("signal {} received: stopping; running jobs keep running and are watched again on "
				     "the next start", strsignal(static_cast<int>(info.ssi_signo)));
			break;
		}
	}
	notifySystemd("STOPPING=1");
	close(sigFd);
	stop();
}

void Agent::reloadFrom(const std::function<AgentConfig()> &loadConfig)
{
	notifySystemd("RELOADING=1");
	std::string file = config().file;
	std::string status = "serving";
	try {
		reload(loadConfig ? loadConfig() : loadAgentConfig(file));
	} catch (const std::exception &e) {
		spdlog::error("config reload refused: {}; the running config stays", e.what());
		status = "serving; the last config reload was refused (see the log)";
	}
	notifySystemd("READY=1\nSTATUS=" + status);
}

void Agent::reload(const AgentConfig &next)
{
	AgentConfig running = config();
	for (const std::string &change : restartOnlyChanges(running, next))
		spdlog::warn("config reload: {}, which takes effect only when hac-agent restarts", change);
	{
		std::lock_guard lock(configMutex_);
		config_.file = next.file;
		config_.logLevel = next.logLevel;
		config_.adminGroup = next.adminGroup;
		config_.allocator.connectTimeoutMs = next.allocator.connectTimeoutMs;
		config_.allocator.requestTimeoutMs = next.allocator.requestTimeoutMs;
		config_.allocator.heartbeatSeconds = next.allocator.heartbeatSeconds;
		config_.allocator.retryMaxSeconds = next.allocator.retryMaxSeconds;
		config_.outbox = next.outbox;
		config_.jobs = next.jobs;
		config_.budget = next.budget;
	}
	jobs_.setKillGrace(next.jobs.killGraceSeconds * 1000);
	{
		// A changed budget is looked at now: a lower limit may stop jobs, a higher one lifts the
		// refusal (which each start computes afresh anyway).
		std::lock_guard lock(mutex_);
		nextBudgetCheck_ = 0;
	}
	setLogLevel(next.logLevel);
	link_.setTimeouts(next.allocator);
	const AllocatorSettings &a = next.allocator;
	spdlog::info("config reloaded from {}: log_level {}, admin_group {}, allocator connect/request timeouts {}/{} ms, "
		     "heartbeat {} s, retry cap {} s",
		     next.file.empty() ? "built-in defaults" : next.file, next.logLevel, next.adminGroup, a.connectTimeoutMs,
		     a.requestTimeoutMs, a.heartbeatSeconds, a.retryMaxSeconds);
	spdlog::info("config reloaded: time limits default {}, max {}, kill grace {}; budget {}{}",
		     next.jobs.defaultTimeLimitSeconds ? formatDuration(*next.jobs.defaultTimeLimitSeconds) : "none",
		     next.jobs.maxTimeLimitSeconds ? formatDuration(*next.jobs.maxTimeLimitSeconds) : "none",
		     formatDuration(next.jobs.killGraceSeconds),
		     next.budget.monthlyLimitMicro ? formatMicro(*next.budget.monthlyLimitMicro) + " a month" : "none",
		     next.budget.userLimitsMicro.empty() ? "" : fmt::format(", {} user limit(s)", next.budget.userLimitsMicro.size()));
	// The link thread may be asleep for the old heartbeat: wake it to take the new one.
	wakeLink();
}

AgentConfig Agent::config() const
{
	std::lock_guard lock(configMutex_);
	return config_;
}

void Agent::contactAllocator()
{
	Registration reg = link_.registerAgent(HAC_VERSION);
	std::string version;
	{
		std::lock_guard lock(mutex_);
		version = allocator_.version;
	}
	if (version.empty())
		version = link_.version();
	try {
		log_.saveAllocatorView(reg.devices, reg.skus);
		log_.setSetting("max_devices", std::to_string(reg.maxDevices));
		log_.setSetting("allowed_skus", Json(reg.allowedSkus).dump());
	} catch (const Error &e) {
		// The allocator answered: a job log that takes no writes is reported as the job log's
		// problem (job_log in the status), not as the allocator being unreachable.
		spdlog::warn("cannot keep the allocator's view in the job log: {}", e.what());
	}
	// Read before taking mutex_: readers of the status take it, and must not wait on the job log.
	std::optional<std::string> current = log_.setting("current_device");
	std::lock_guard lock(mutex_);
	bool wasDown = !allocator_.reachable;
	allocator_.version = version;
	allocator_.reachable = true;
	allocator_.lastContact = nowMs();
	allocator_.unreachableSince.reset();
	allocator_.lastError.clear();
	failures_ = 0;
	account_ = reg.account;
	devices_ = markCurrent(reg.devices, current);
	contacted_.notify_all();
	if (wasDown)
		spdlog::info("registered with the allocator at {} (account {}, {} device(s))", allocator_.url,
			     reg.account, reg.devices.size());
}

void Agent::markUnreachable(const std::string &why)
{
	std::lock_guard lock(mutex_);
	if (allocator_.reachable || !allocator_.unreachableSince) {
		allocator_.unreachableSince = nowMs();
		spdlog::warn("allocator unreachable: {}; answering from the last known state", why);
	}
	allocator_.reachable = false;
	allocator_.lastError = why;
	++failures_;
}

std::int64_t Agent::backoffCeilingMs(int attempts, std::int64_t baseMs) const
{
	std::int64_t capMs;
	{
		std::lock_guard lock(configMutex_);
		capMs = std::int64_t(config_.allocator.retryMaxSeconds) * 1000;
	}
	return std::min(capMs, baseMs << std::min(attempts, 20));
}

std::int64_t Agent::fullJitterMs(std::mt19937_64 &random, int attempts) const
{
	std::int64_t ceiling = std::max<std::int64_t>(100, backoffCeilingMs(attempts, 500));
	return std::uniform_int_distribution<std::int64_t>(100, ceiling)(random);
}

void Agent::linkLoop()
{
	std::mt19937_64 random(std::random_device{}());
	while (!stopping_) {
		std::chrono::milliseconds delay;
		bool wasReachable;
		{
			std::lock_guard lock(mutex_);
			wasReachable = allocator_.reachable;
			if (allocator_.reachable) {
				std::lock_guard configLock(configMutex_);
				delay = std::chrono::seconds(config_.allocator.heartbeatSeconds);
			} else {
				// Capped exponential back-off with full jitter, so many agents that lost the
				// allocator together do not come back in lockstep.
				delay = std::chrono::milliseconds(fullJitterMs(random, failures_));
			}
		}
		try {
			noteOutbox();
		} catch (const std::exception &e) {
			spdlog::error("cannot read the outbox: {}", e.what());
		}
		// While the allocator is unreachable, neither a record just queued nor one due cuts the
		// back-off short: each job that ends (or fails to start) meanwhile would otherwise be one
		// more attempt at once, and agents started together would retry together.
		if (auto next = log_.nextOutboxAttempt(); next && wasReachable)
			delay = std::min(delay, std::chrono::milliseconds(std::max<TimeMs>(0, *next - nowMs())));
		bool deliverNow = false;
		{
			std::unique_lock lock(wakeMutex_);
			wake_.wait_for(lock, delay, [&] {
				return stopping_.load() || contactNow_ || (outboxDirty_ && wasReachable);
			});
			deliverNow = outboxDirty_;
			outboxDirty_ = false;
			contactNow_ = false;
		}
		if (stopping_)
			break;
		bool reachable;
		{
			std::lock_guard lock(mutex_);
			reachable = allocator_.reachable;
		}
		try {
			if (!deliverNow || !reachable) {
				{
					std::lock_guard lock(mutex_);
					++contactsBegun_;
				}
				contactAllocator();
			}
			deliverOutbox(nowMs());
		} catch (const Error &e) {
			markUnreachable(e.what());
		} catch (const std::exception &e) {
			markUnreachable(e.what());
		}
		std::lock_guard lock(mutex_);
		contactsEnded_ = contactsBegun_;
		contacted_.notify_all();
	}
}

void Agent::deliverOutbox(TimeMs dueBy)
{
	std::mt19937_64 random(std::random_device{}());
	for (const OutboxItem &item : log_.dueOutbox(dueBy, 100)) {
		try {
			link_.recordUsage(item.jobId, item.body);
			log_.ackOutbox(item.jobId);
		} catch (const ApiError &e) {
			// A refusal is kept and retried slowly, never dropped: the allocator may be fixed,
			// and the record is what the user is billed from.
			std::int64_t ceiling = backoffCeilingMs(item.attempts, 1000);
			TimeMs next = nowMs() + std::uniform_int_distribution<std::int64_t>(ceiling / 2, ceiling)(random);
			log_.retryOutbox(item.jobId, next, e.what());
			spdlog::warn("usage record of job {} refused: {}; retrying", item.jobId, e.what());
		} catch (const Error &e) {
			log_.retryOutbox(item.jobId, nowMs() + fullJitterMs(random, item.attempts), e.what());
			throw;
		}
	}
}

std::pair<std::int64_t, std::int64_t> Agent::noteOutbox()
{
	std::int64_t size = log_.outboxSize();
	std::int64_t max;
	{
		std::lock_guard lock(configMutex_);
		max = config_.outbox.maxRecords;
	}
	std::lock_guard lock(mutex_);
	bool high = size * 2 >= max;
	if (high && !outboxWarned_)
		spdlog::warn("the outbox holds {} usage record(s), half or more of its cap of {} ([outbox] max_records): "
			     "the allocator at {} has not taken them ({}); at the cap new jobs are refused",
			     size, max, allocator_.url, allocator_.lastError.empty() ? "it is reachable" : allocator_.lastError);
	else if (!high && outboxWarned_)
		spdlog::info("the outbox is back below half its cap: {} of {} usage record(s)", size, max);
	outboxWarned_ = high;
	return {size, max};
}

void Agent::admitJob()
{
	auto [size, max] = noteOutbox();
	if (size < max)
		return;
	std::string url;
	{
		std::lock_guard lock(mutex_);
		url = allocator_.url;
	}
	throw ApiError(503, "outbox_full",
		       fmt::format("new jobs are refused: {} usage record(s) wait for the allocator at {}, the cap set by "
				   "[outbox] max_records is {}; running jobs still end and are recorded. Try again when "
				   "the allocator is back (hac-smi shows allocator.outbox_size)", size, url, max),
		       Json{{"outbox_size", size}, {"outbox_max", max}});
}

Status Agent::status(const Peer &peer)
{
	Status s;
	s.agentVersion = HAC_VERSION;
	auto [outboxSize, outboxMax] = noteOutbox();
	{
		std::lock_guard lock(mutex_);
		s.allocator = allocator_;
		s.devices = devices_;
	}
	s.allocator.outboxSize = outboxSize;
	s.allocator.outboxMax = outboxMax;
	std::optional<bool> maySee; // looked up only when another user's job is listed
	for (Job &job : jobs_.running()) {
		// A job that has not reported its memory (any hac-run job) uses none as far as anyone
		// knows: the job and its device say the same, 0 MiB.
		if (job.state != "waiting") {
			job.memoryUsedMib = job.memoryUsedMib.value_or(0);
			for (Device &d : s.devices)
				if (d.index == job.device)
					d.memoryUsedMib = job.memoryUsedMib;
		}
		job.user = userName(job.uid);
		if (job.uid != peer.uid && !(maySee ? *maySee : *(maySee = privileged(peer))))
			job.command.clear();
		s.jobs.push_back(std::move(job));
	}
	return s;
}

Json Agent::jobLogState() const
{
	std::optional<std::string> problem = log_.problem();
	return Json{{"writable", !problem}, {"problem", problem ? Json(*problem) : Json()}};
}

bool Agent::privileged(const Peer &peer) const
{
	std::string adminGroup;
	{
		std::lock_guard lock(configMutex_);
		adminGroup = config_.adminGroup;
	}
	return isPrivileged(peer, adminGroup);
}

Device Agent::device(std::optional<int> index)
{
	std::unique_lock lock(mutex_);
	if (devices_.empty() && !allocator_.reachable) {
		// `systemctl start hac-agent && hac-run ...` right after an unanswered first contact:
		// the back-off may be seconds away, so one attempt now, the caller waiting for it (not
		// for one already under way, which may have begun before the allocator was back).
		std::uint64_t begun = contactsBegun_;
		lock.unlock();
		{
			std::lock_guard wake(wakeMutex_);
			contactNow_ = true;
			wake_.notify_all();
		}
		lock.lock();
		contacted_.wait_for(lock, kFirstRegistrationWait,
				    [&] { return allocator_.reachable || contactsEnded_ > begun || stopping_.load(); });
	}
	for (const Device &d : devices_)
		if (index ? d.index == *index : d.current)
			return d;
	if (devices_.empty() && !allocator_.reachable)
		throw ApiError(503, "allocator_unreachable",
			       fmt::format("the agent knows no devices yet: it has not reached the allocator at {} ({}); "
					   "try again when the allocator answers (hac-smi shows its state)",
					   allocator_.url, allocator_.lastError.empty() ? "no answer yet" : allocator_.lastError));
	if (devices_.empty())
		throw ApiError(503, "no_devices", "the allocator lists no devices for this VM's token");
	throw ApiError(404, "device_not_found", fmt::format("no device {}; this VM has {} device(s)", index.value_or(-1), devices_.size()));
}

std::pair<std::int64_t, std::string> Agent::price(const std::string &sku)
{
	for (const Sku &s : log_.skus())
		if (s.name == sku)
			return {s.priceMicroPerGpuMinute, s.currency};
	spdlog::warn("no price known for {}: the job is recorded at 0", sku);
	return {0, "USD"};
}

UsageReport Agent::usage(const Peer &peer, const UsageQuery &query)
{
	AllocatorStatus allocator;
	{
		std::lock_guard lock(mutex_);
		allocator = allocator_;
	}
	auto fetch = [this](TimeMs since) {
		try {
			return link_.usage(since);
		} catch (const Error &e) {
			if (e.code() != ExitCode::AllocatorUnreachable)
				throw;
			// What a reconciliation learns, every later answer says too.
			markUnreachable(e.what());
			throw Error(ExitCode::AllocatorUnreachable,
				    fmt::format("the allocator at {} does not answer ({}); reconciling compares the job log "
						"with its records, so try again when it is back", link_.url(), e.what()));
		}
	};
	UsageSources sources{usageLog_, fetch, allocator, config().adminGroup};
	return usageReport(query, peer, privileged(peer), sources, nowMs());
}

std::optional<std::int64_t> Agent::timeLimit(std::optional<std::int64_t> requested)
{
	JobSettings jobs = config().jobs;
	std::optional<std::int64_t> limit = requested ? requested : jobs.defaultTimeLimitSeconds;
	if (limit && jobs.maxTimeLimitSeconds && *limit > *jobs.maxTimeLimitSeconds)
		throw ApiError(400, "time_limit_too_long",
			       fmt::format("the time limit {} is above this VM's maximum of {} ([jobs] max_time_limit in "
					   "agent.toml); ask for {} or less", formatDuration(*limit),
					   formatDuration(*jobs.maxTimeLimitSeconds), formatDuration(*jobs.maxTimeLimitSeconds)),
			       Json{{"time_limit_seconds", *limit}, {"max_time_limit_seconds", *jobs.maxTimeLimitSeconds}});
	return limit;
}

std::string Agent::account()
{
	std::lock_guard lock(mutex_);
	return account_;
}

} // namespace hac
