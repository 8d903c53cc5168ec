// Agent's lifecycle: start, run() (signals, the systemd watchdog, the jobs' ticks), reload and
// stop. One thread keeps in touch with the allocator (link_loop.cpp, outbox.cpp), libmicrohttpd's
// threads serve callers (api.cpp), and reads never wait on the allocator: they answer from local
// state (status.cpp).
#include "agent.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <limits>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/duration.hpp>
#include <hac/error.hpp>

#include "access.hpp"
#include "api.hpp"
#include "systemd.hpp"

namespace hac {

namespace {

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
	note("metrics.listen", running.metrics.listen().empty() ? "none" : running.metrics.listen(),
	     next.metrics.listen().empty() ? "none" : next.metrics.listen());
	note("allocator.ca_file", running.allocator.caFile, next.allocator.caFile);
	note("allocator.client_cert_file", running.allocator.clientCertFile, next.allocator.clientCertFile);
	note("allocator.client_key_file", running.allocator.clientKeyFile, next.allocator.clientKeyFile);
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
	  logFile_(config_.database),
	  log_(logFile_),
	  cache_(logFile_),
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
	// Before anything can start or end a job or call the allocator.
	jobs_.setEvents({[this](const Job &job) {
				 metrics_.jobStarted(job);
				 std::lock_guard lock(wakeMutex_);
				 gpusDue_ = true;
				 wake_.notify_all();
			 },
			 [this](const Job &job, const Charge &charge) {
				 metrics_.jobEnded(job, charge);
				 gpuViews_.drop(job.id);
			 }});
	link_.setObserver([this](const char *method, const char *endpoint, long status, double seconds) {
		metrics_.allocatorRequest(method, endpoint, status, seconds);
	});
	metrics_.registry.collectWith([this] { collectMetrics(); });
	allocator_.url = link_.url();
	devices_ = markCurrent(cache_.devices(), cache_.setting("current_device"));
	spdlog::info("job log {} at schema version {}; {} known device(s)", config_.database, LogFile::schemaVersion(),
		     devices_.size());

	jobs_.setKillGrace(config_.jobs.killGraceSeconds * 1000);
	jobs_.reconcile();

	// A refused token is a configuration error worth failing the start for; an allocator that
	// does not answer is not: the agent serves what it last knew and keeps trying.
	try {
		contactAllocator();
	} catch (const Error &e) {
		if (e.code() == Errc::PermissionDenied)
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
		auto start = std::chrono::steady_clock::now();
		const char *route = "other";
		Response response = handleRequest(*this, r, &route);
		metrics_.apiRequest(r.method, route, response.status,
				    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
		// One line per call at log_level = "debug", for an operator tracing a tool.
		if (spdlog::should_log(spdlog::level::debug))
			spdlog::debug("{} {} from pid {} uid {}: {}", r.method, r.path, r.peer ? r.peer->pid : 0,
				      r.peer ? r.peer->uid : 0, response.status);
		return response;
	}, ServerLimits{}, [this](const Peer &peer) { return privileged(peer); });
	socketServer_ = server_.get();
	if (config_.metrics.enabled()) {
		// Loopback only (agent_config.cpp refuses any other address), and only GET /metrics: a TCP
		// caller has no kernel identity, so nothing else of the API is served here.
		int metricsFd = listenTcp(config_.metrics.host, config_.metrics.port);
		ServerLimits limits;
		limits.connectionLimit = 16;
		limits.maxBodyBytes = 4096;
		metricsServer_ = std::make_unique<HttpServer>(metricsFd, [this](const Request &r) {
			auto start = std::chrono::steady_clock::now();
			Response response = r.path != "/metrics"
				? Response::error(404, "not_found", "this listener serves GET /metrics only (agent/API.md)")
				: r.method != "GET" ? Response::error(405, "method_not_allowed", "use GET /metrics")
				: metricsResponse();
			if (response.status == 405)
				response.headers["Allow"] = "GET";
			metrics_.apiRequest(r.method, response.status == 404 ? "other" : "/metrics", response.status,
					    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
			return response;
		}, limits);
		spdlog::info("serving GET /metrics on http://{}/metrics", config_.metrics.listen());
	}
	linkThread_ = std::thread([this] { linkLoop(); });
	spdlog::info("serving the local API on {}", activated ? "the socket passed by systemd" : config_.socket);
}

Agent::~Agent()
{
	stop();
	if (linkThread_.joinable())
		linkThread_.join();
	metricsServer_.reset();
	server_.reset();
	if (stopFd_ >= 0)
		close(stopFd_);
	// Only the file this agent bound: a later agent may have bound the path since.
	struct stat st {};
	if (!ownSocket_.empty() && stat(ownSocket_.c_str(), &st) == 0 && st.st_ino == ownSocketInode_)
		unlink(ownSocket_.c_str());
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
		throw Error(Errc::Failure, fmt::format("cannot create a signalfd: {}", std::strerror(errno)));
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

bool Agent::privileged(const Peer &peer) const
{
	std::string adminGroup;
	{
		std::lock_guard lock(configMutex_);
		adminGroup = config_.adminGroup;
	}
	return isPrivileged(peer, adminGroup);
}

} // namespace hac
