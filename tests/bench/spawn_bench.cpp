// hac-bench-spawn: the wall time of a whole command (start, work, exit), against a baseline
// command measured in the same run, one caller at a time or many at once.
//   hac-bench-spawn [options] -- COMMAND [ARG...] [--vs BASELINE [ARG...]]
// Each call is posix_spawn + waitpid, timed from before the spawn to after the wait, with stdout
// on /dev/null. The two commands alternate in rounds (by default one call per caller each), so a
// burst of the machine's noise hits both.
// Prints one JSON row (tests/bench/bench_row.hpp); without --vs its baseline is empty.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "bench_row.hpp"

extern char **environ;

namespace {

using hac::bench::Clock;
using hac::bench::msSince;

struct Command {
	std::vector<std::string> argv;
	std::string stdinPath = "/dev/null";
};

struct Samples {
	std::vector<double> ms;
	int failed = 0;
	int lastStatus = 0;
};

// One call: its wall time in ms, and its exit status (-1 when it could not be started).
std::pair<double, int> callOnce(const Command &command)
{
	std::vector<char *> argv;
	for (const std::string &a : command.argv)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, command.stdinPath.c_str(), O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	auto start = Clock::now();
	pid_t pid = 0;
	int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
	posix_spawn_file_actions_destroy(&actions);
	if (rc != 0) {
		fmt::print(stderr, "hac-bench-spawn: cannot start {}: {}\n", command.argv[0], std::strerror(rc));
		return {msSince(start), -1};
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	double ms = msSince(start);
	return {ms, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

// `calls` calls of `command` shared among `callers` threads, all started together.
void callMany(const Command &command, int calls, int callers, Samples &into)
{
	std::atomic<int> next{0};
	std::mutex mutex;
	std::vector<std::thread> threads;
	for (int c = 0; c < callers; ++c)
		threads.emplace_back([&] {
			std::vector<double> mine;
			int failed = 0, lastStatus = 0;
			while (next.fetch_add(1) < calls) {
				auto [ms, status] = callOnce(command);
				mine.push_back(ms);
				if (status != 0) {
					++failed;
					lastStatus = status;
				}
			}
			std::lock_guard lock(mutex);
			into.ms.insert(into.ms.end(), mine.begin(), mine.end());
			into.failed += failed;
			if (failed)
				into.lastStatus = lastStatus;
		});
	for (std::thread &t : threads)
		t.join();
}

std::string joined(const std::vector<std::string> &argv)
{
	std::string out;
	for (const std::string &a : argv)
		out += (out.empty() ? "" : " ") + a;
	return out;
}

int usage()
{
	std::fputs("usage: hac-bench-spawn [--calls N] [--callers K] [--rounds R (default N/K)] [--name TEXT] [--stdin FILE]\n"
		   "         [--baseline TEXT] [--baseline-stdin FILE] [--target-ratio X]\n"
		   "         -- COMMAND [ARG...] [--vs BASELINE [ARG...]]\n",
		   stderr);
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	try {
		int calls = 200, callers = 1, rounds = 0;
		std::string name, baselineName;
		std::optional<double> targetRatio;
		Command command, baseline;
		int i = 1;
		auto value = [&](const char *option) -> std::string {
			if (i + 1 >= argc)
				throw std::invalid_argument(fmt::format("{} needs a value", option));
			return argv[++i];
		};
		for (; i < argc; ++i) {
			std::string a = argv[i];
			if (a == "--calls")
				calls = std::stoi(value("--calls"));
			else if (a == "--callers")
				callers = std::stoi(value("--callers"));
			else if (a == "--rounds")
				rounds = std::stoi(value("--rounds"));
			else if (a == "--name")
				name = value("--name");
			else if (a == "--stdin")
				command.stdinPath = value("--stdin");
			else if (a == "--baseline")
				baselineName = value("--baseline");
			else if (a == "--baseline-stdin")
				baseline.stdinPath = value("--baseline-stdin");
			else if (a == "--target-ratio")
				targetRatio = std::stod(value("--target-ratio"));
			else if (a == "--") {
				++i;
				break;
			} else
				return usage();
		}
		for (bool inBaseline = false; i < argc; ++i) {
			std::string a = argv[i];
			if (a == "--vs" && !inBaseline)
				inBaseline = true;
			else
				(inBaseline ? baseline : command).argv.push_back(a);
		}
		if (command.argv.empty() || calls < 1 || callers < 1 || rounds < 0)
			return usage();
		// By default each round gives each caller one call: one caller alternates the two commands
		// call by call, so a burst of noise falls on both alike. Never fewer calls in a round than
		// callers, so K callers are K at once.
		rounds = std::max(1, std::min(rounds ? rounds : calls, calls / callers));
		if (name.empty())
			name = joined(command.argv);
		if (baselineName.empty() && !baseline.argv.empty())
			baselineName = joined(baseline.argv);

		// Warm the page cache and the agent before anything counts.
		Samples warm;
		callMany(command, 5, 1, warm);
		if (!baseline.argv.empty())
			callMany(baseline, 5, 1, warm);

		Samples ours, base;
		for (int r = 0; r < rounds; ++r) {
			int share = calls / rounds + (r < calls % rounds ? 1 : 0);
			callMany(command, share, callers, ours);
			if (!baseline.argv.empty())
				callMany(baseline, share, callers, base);
		}
		for (auto [what, s] : {std::pair{&command, &ours}, std::pair{&baseline, &base}})
			if (s->failed)
				fmt::print(stderr, "hac-bench-spawn: {} of {} calls of '{}' failed (last exit status {})\n",
					   s->failed, s->ms.size(), joined(what->argv), s->lastStatus);

		hac::bench::RowExtras extras;
		extras.targetRatio = targetRatio;
		extras.fields = {{"callers", callers}, {"failed", ours.failed}, {"baseline_failed", base.failed}};
		hac::bench::row(name, "ms", ours.ms, baselineName, base.ms, false, extras);
		return ours.failed || base.failed ? 1 : 0;
	} catch (const std::exception &e) {
		fmt::print(stderr, "hac-bench-spawn: {}\n", e.what());
		return 2;
	}
}
