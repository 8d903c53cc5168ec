// nvidia-smi as a child process: its own process group, so a wrapper script's children die with
// it; a pipe that reports a failed exec; stdout and stderr read under one deadline.
#include "nvidia_smi.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <hac/error.hpp>

#include "nvidia_csv.hpp"

namespace hac::node_report {

namespace {

constexpr std::size_t kMaxOutput = 1 << 20;  // 64 GPUs' lines are ~10 KiB; beyond this is dropped

using Clock = std::chrono::steady_clock;

struct Fd {
	int fd = -1;
	Fd() = default;
	explicit Fd(int f) : fd(f) {}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd() { reset(); }
	void reset()
	{
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
};

bool executable(const std::string &path)
{
	struct stat st{};
	return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string firstLine(const std::string &text)
{
	std::size_t start = text.find_first_not_of(" \t\r\n");
	if (start == std::string::npos)
		return {};
	std::string line = text.substr(start, text.find('\n', start) - start);
	while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
		line.pop_back();
	if (line.size() > 200)
		line = line.substr(0, 200) + "...";
	return line;
}

// Kills the child's whole group and reaps the child.
void killGroup(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
	}
}

} // namespace

std::string findProgram(const std::string &program)
{
	if (program.find('/') != std::string::npos) {
		if (!executable(program))
			throw Error(Errc::Failure, fmt::format("cannot run {}: {}", program,
								   access(program.c_str(), F_OK) == 0 ? "it is not an executable file"
												       : "no such file"));
		return program;
	}
	const char *path = std::getenv("PATH");
	std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
	for (std::size_t start = 0; start <= dirs.size();) {
		std::size_t colon = dirs.find(':', start);
		std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
		std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
		if (executable(candidate))
			return candidate;
		if (colon == std::string::npos)
			break;
		start = colon + 1;
	}
	throw Error(Errc::Failure, fmt::format("{} is not in PATH ({}); install the NVIDIA driver's utilities, "
						   "or give its path with --nvidia-smi", program, dirs));
}

SmiOutput runNvidiaSmi(const std::string &program, long timeoutMs, const std::atomic<bool> &stopping)
{
	std::string path = findProgram(program);
	const std::string query = std::string("--query-gpu=") + kQueryFields;
	const char *argv[] = {path.c_str(), query.c_str(), "--format=csv,noheader,nounits", nullptr};

	int out[2], err[2], status[2];
	if (pipe2(out, O_CLOEXEC) != 0)
		throw Error(Errc::Failure, fmt::format("cannot run {}: pipe: {}", path, std::strerror(errno)));
	Fd outRead(out[0]), outWrite(out[1]);
	if (pipe2(err, O_CLOEXEC) != 0)
		throw Error(Errc::Failure, fmt::format("cannot run {}: pipe: {}", path, std::strerror(errno)));
	Fd errRead(err[0]), errWrite(err[1]);
	if (pipe2(status, O_CLOEXEC) != 0)
		throw Error(Errc::Failure, fmt::format("cannot run {}: pipe: {}", path, std::strerror(errno)));
	Fd statusRead(status[0]), statusWrite(status[1]);
	int devNull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	Fd nullFd(devNull);

	SmiOutput result;
	result.startedAt = nowMs();
	const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
	pid_t pid = fork();
	if (pid < 0)
		throw Error(Errc::Failure, fmt::format("cannot run {}: fork: {}", path, std::strerror(errno)));
	if (pid == 0) {
		// The child: only async-signal-safe calls until exec.
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, nullptr);
		signal(SIGPIPE, SIG_DFL);
		if ((devNull >= 0 && dup2(devNull, 0) < 0) || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) {
			int e = errno;
			[[maybe_unused]] auto n = write(status[1], &e, sizeof e);
			_exit(127);
		}
		execv(argv[0], const_cast<char *const *>(argv));
		int e = errno;
		[[maybe_unused]] auto n = write(status[1], &e, sizeof e);
		_exit(127);
	}
	setpgid(pid, pid);  // also here, so that the group exists before any kill below
	outWrite.reset();
	errWrite.reset();
	statusWrite.reset();

	int execErrno = 0;
	ssize_t got;
	while ((got = read(statusRead.fd, &execErrno, sizeof execErrno)) < 0 && errno == EINTR) {
	}
	if (got == sizeof execErrno) {
		killGroup(pid);
		throw Error(Errc::Failure, fmt::format("cannot run {}: {}", path, std::strerror(execErrno)));
	}

	std::string errText;
	bool stopped = false, overran = false;
	while (outRead.fd >= 0 || errRead.fd >= 0) {
		if (stopping) {
			stopped = true;
			break;
		}
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
		if (left <= 0) {
			overran = true;
			break;
		}
		pollfd fds[2] = {{outRead.fd, POLLIN, 0}, {errRead.fd, POLLIN, 0}};
		int ready = poll(fds, 2, static_cast<int>(std::min<long long>(left, 100)));
		if (ready < 0 && errno != EINTR)
			break;
		Fd *fdsOwned[2] = {&outRead, &errRead};
		std::string *texts[2] = {&result.text, &errText};
		for (int i = 0; i < 2; ++i) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[8192];
			ssize_t n = read(fds[i].fd, buf, sizeof buf);
			if (n > 0) {
				if (texts[i]->size() < kMaxOutput)
					texts[i]->append(buf, std::min<std::size_t>(std::size_t(n), kMaxOutput - texts[i]->size()));
			} else if (n == 0 || errno != EINTR) {
				fdsOwned[i]->reset();
			}
		}
	}

	// Both pipes closed (or we gave up on them): reap it within what is left of the deadline.
	int wstatus = 0;
	bool reaped = false;
	while (!stopped && !overran) {
		pid_t r = waitpid(pid, &wstatus, WNOHANG);
		if (r == pid) {
			reaped = true;
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
		if (stopping)
			stopped = true;
		else if (Clock::now() >= deadline)
			overran = true;
		else
			usleep(10'000);
	}
	if (!reaped) {
		killGroup(pid);
		if (stopped)
			throw Error(Errc::Failure, fmt::format("{} was stopped: hac-node-report is stopping", path));
		if (overran)
			throw Error(Errc::TimedOut, fmt::format("{} did not finish within {} s; killed it (and its "
								    "process group)", path, double(timeoutMs) / 1000));
		throw Error(Errc::Failure, fmt::format("cannot wait for {}: {}", path, std::strerror(errno)));
	}
	if (WIFSIGNALED(wstatus))
		throw Error(Errc::Failure, fmt::format("{} was killed by signal {} ({})", path, WTERMSIG(wstatus),
							   strsignal(WTERMSIG(wstatus))));
	if (WEXITSTATUS(wstatus) != 0) {
		std::string said = firstLine(errText);
		if (said.empty())
			said = firstLine(result.text);
		throw Error(Errc::Failure, fmt::format("{} exited with status {}{}{}", path, WEXITSTATUS(wstatus),
							   said.empty() ? "" : ": ", said));
	}
	return result;
}

} // namespace hac::node_report
