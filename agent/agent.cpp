// Agent: one thread keeps in touch with the allocator, libmicrohttpd's threads serve callers,
// and run() waits for signals. Reads never wait on the allocator: they answer from local state.
#include "agent.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <poll.h>
#include <random>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>

#include "access.hpp"
#include "api.hpp"
#include "systemd.hpp"

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

} // namespace

Agent::Agent(AgentConfig config, int listenFd)
	: config_(std::move(config)),
	  token_(loadToken(config_)),
	  log_(config_.database),
	  link_(config_.allocator, token_.value)
{
	allocator_.url = link_.url();
	devices_ = markCurrent(log_.devices(), log_.setting("current_device"));
	spdlog::info("job log {} at schema version {}; {} known device(s)", config_.database, JobLog::schemaVersion(),
		     devices_.size());

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
	if (listenFd < 0)
		listenFd = listenUnix(config_.socket, config_.socketMode);
	server_ = std::make_unique<HttpServer>(listenFd, [this](const Request &r) { return handleRequest(*this, r); });
	linkThread_ = std::thread([this] { linkLoop(); });
	spdlog::info("serving the local API on {}", listenFd == 3 ? "the socket passed by systemd" : config_.socket);
}

Agent::~Agent()
{
	stop();
	if (linkThread_.joinable())
		linkThread_.join();
	server_.reset();
	if (stopFd_ >= 0)
		close(stopFd_);
}

void Agent::stop()
{
	stopping_ = true;
	{
		std::lock_guard lock(wakeMutex_);
		wake_.notify_all();
	}
	if (stopFd_ >= 0) {
		std::uint64_t one = 1;
		[[maybe_unused]] ssize_t n = write(stopFd_, &one, sizeof(one));
	}
}

void Agent::run()
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	int sigFd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
	notifySystemd("READY=1\nSTATUS=serving");
	while (!stopping_) {
		pollfd fds[2] = {{sigFd, POLLIN, 0}, {stopFd_, POLLIN, 0}};
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			signalfd_siginfo info{};
			if (read(sigFd, &info, sizeof(info)) == sizeof(info))
				spdlog::info("signal {} received: stopping", strsignal(static_cast<int>(info.ssi_signo)));
			break;
		}
	}
	notifySystemd("STOPPING=1");
	if (sigFd >= 0)
		close(sigFd);
	stop();
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
	log_.saveAllocatorView(reg.devices, reg.skus);
	std::lock_guard lock(mutex_);
	bool wasDown = !allocator_.reachable;
	allocator_.version = version;
	allocator_.reachable = true;
	allocator_.lastContact = nowMs();
	allocator_.unreachableSince.reset();
	allocator_.lastError.clear();
	failures_ = 0;
	account_ = reg.account;
	devices_ = markCurrent(reg.devices, log_.setting("current_device"));
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

void Agent::linkLoop()
{
	std::mt19937_64 random(std::random_device{}());
	while (!stopping_) {
		std::chrono::milliseconds delay;
		{
			std::lock_guard lock(mutex_);
			if (allocator_.reachable) {
				delay = std::chrono::seconds(config_.allocator.heartbeatSeconds);
			} else {
				// Capped exponential back-off with full jitter, so many agents that lost the
				// allocator together do not come back in lockstep.
				std::int64_t capMs = std::int64_t(config_.allocator.retryMaxSeconds) * 1000;
				std::int64_t ceiling = std::min(capMs, std::int64_t(500) << std::min(failures_, 20));
				delay = std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(100, std::max<std::int64_t>(100, ceiling))(random));
			}
		}
		{
			std::unique_lock lock(wakeMutex_);
			wake_.wait_for(lock, delay, [this] { return stopping_.load(); });
		}
		if (stopping_)
			break;
		try {
			contactAllocator();
		} catch (const Error &e) {
			markUnreachable(e.what());
		} catch (const std::exception &e) {
			markUnreachable(e.what());
		}
	}
}

Status Agent::status(const Peer &peer)
{
	Status s;
	s.agentVersion = HAC_VERSION;
	{
		std::lock_guard lock(mutex_);
		s.allocator = allocator_;
		s.devices = devices_;
	}
	bool privileged = isPrivileged(peer, config_.adminGroup);
	for (Job &job : log_.jobs()) {
		job.user = userName(job.uid);
		if (!privileged && job.uid != peer.uid)
			job.command.clear();
		s.jobs.push_back(std::move(job));
	}
	return s;
}

std::string Agent::account()
{
	std::lock_guard lock(mutex_);
	return account_;
}

} // namespace hac
