// The child is forked first and held on a pipe: the job is registered for its pid before it
// execs, so no GPU work runs unaccounted, and a refused job never runs at all. A second pipe,
// closed by a successful exec, tells hac-run whether the command ran: one that could not be
// executed is reported as such while the child still waits, so the agent can check it and not
// bill it.
#include "launch.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <hac/agent_client.hpp>
#include <hac/duration.hpp>
#include <hac/error.hpp>
#include <hac/job_client.hpp>

namespace hac::run {

namespace {

volatile sig_atomic_t childPid = 0;

// Signals another process sent to hac-run go to the child. Those the terminal sends (Ctrl-C)
// already reach the child through its process group: forwarding them would deliver them twice.
void forward(int signo, siginfo_t *info, void *)
{
	if (childPid > 0 && info && (info->si_code == SI_USER || info->si_code == SI_QUEUE) && info->si_pid != childPid)
		kill(childPid, signo);
}

[[noreturn]] void childMain(int gate, int execStatus, const Options &options)
{
	// Wait for the parent's word: the job id, or end-of-file when the job was refused.
	char buf[128] = {};
	ssize_t n;
	do {
		n = read(gate, buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(127);
	std::string word(buf, static_cast<std::size_t>(n));
	auto space = word.find(' ');
	setenv("HAC_JOB_ID", word.substr(0, space).c_str(), 1);
	setenv("HAC_VISIBLE_DEVICE", word.substr(space + 1).c_str(), 1);
	std::vector<char *> argv;
	for (const std::string &arg : options.command)
		argv.push_back(const_cast<char *>(arg.c_str()));
	argv.push_back(nullptr);
	execvp(argv[0], argv.data());
	int err = errno;
	std::fprintf(stderr, "hac-run: cannot run '%s': %s\n", argv[0], std::strerror(err));
	[[maybe_unused]] ssize_t sent = write(execStatus, &err, sizeof(err));
	// Alive until hac-run has reported the failure: the agent checks that this process still
	// runs hac-run's program.
	do {
		n = read(gate, buf, sizeof(buf));
	} while (n > 0 || (n < 0 && errno == EINTR));
	_exit(err == ENOENT ? 127 : 126);
}

// The child's errno when its exec failed; 0 when it ran the command (or was killed before).
int execError(int execStatus)
{
	int err = 0;
	ssize_t n;
	do {
		n = read(execStatus, &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	return n == static_cast<ssize_t>(sizeof(err)) ? err : 0;
}

std::string joined(const std::vector<std::string> &words)
{
	std::string out;
	for (const std::string &w : words)
		out += (out.empty() ? "" : " ") + w;
	return out;
}

} // namespace

int launch(const Options &options)
{
	AgentClient agent(resolveSocketPath(options.socket));
	int gate[2], execStatus[2];
	if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(execStatus, O_CLOEXEC) != 0)
		throw Error(Errc::Failure, fmt::format("pipe: {}", std::strerror(errno)));
	pid_t pid = fork();
	if (pid < 0)
		throw Error(Errc::Failure, fmt::format("fork: {}", std::strerror(errno)));
	if (pid == 0) {
		close(gate[1]);
		close(execStatus[0]);
		childMain(gate[0], execStatus[1], options);
	}
	close(gate[0]);
	close(execStatus[1]);

	Job job;
	try {
		JobRequest request;
		request.pid = pid;
		request.device = options.device;
		request.name = options.name;
		request.command = joined(options.command);
		request.noWait = options.noWait;
		request.timeLimitSeconds = options.timeLimitSeconds;
		job = beginJob(agent, request, [](const std::string &why) { std::fprintf(stderr, "hac-run: %s\n", why.c_str()); });
	} catch (...) {
		close(gate[1]); // the child sees end-of-file and exits without running the command
		waitpid(pid, nullptr, 0);
		throw;
	}

	childPid = pid;
	struct sigaction sa{};
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (int signo : {SIGINT, SIGTERM, SIGHUP})
		sigaction(signo, &sa, nullptr);

	std::string word = fmt::format("{} {}", job.id, job.device);
	[[maybe_unused]] ssize_t written = write(gate[1], word.data(), word.size());
	int err = execError(execStatus[0]);
	close(execStatus[0]);
	int code = err == ENOENT ? 127 : 126;
	if (err) {
		try {
			endJob(agent, job.id, code, true);
		} catch (const Error &e) {
			std::fprintf(stderr, "hac-run: could not report that job %s did not run (%s)\n", job.id.c_str(), e.what());
		}
	}
	close(gate[1]); // the child, if its exec failed, exits now

	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (err)
		return code;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	try {
		Job ended = endJob(agent, job.id, code);
		if (ended.endReason == "time_limit")
			std::fprintf(stderr, "hac-run: job %s reached its time limit of %s: the agent stopped it\n", job.id.c_str(),
				     formatDuration(ended.timeLimitSeconds.value_or(0)).c_str());
		else if (ended.endReason == "budget")
			std::fprintf(stderr, "hac-run: job %s was stopped: the month's budget is spent\n", job.id.c_str());
	} catch (const Error &e) {
		// The agent ends the job itself when it sees the process gone; say so, keep the exit code.
		std::fprintf(stderr, "hac-run: could not report the end of job %s (%s); the agent closes it when it "
			     "notices the process has ended\n", job.id.c_str(), e.what());
	}
	return code;
}

} // namespace hac::run
