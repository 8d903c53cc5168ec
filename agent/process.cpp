// /proc parsing. The start time comes from /proc/PID/stat field 22, after the last ')' so a
// command name holding spaces or parentheses cannot shift the fields.
#include "process.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>
#include <sys/syscall.h>
#include <unistd.h>

namespace hac {

std::string boundedCommand(std::string command)
{
	if (command.size() <= kMaxJobCommandBytes)
		return command;
	std::size_t total = command.size();
	std::size_t cut = kMaxJobCommandBytes;
	while (cut > 0 && (static_cast<unsigned char>(command[cut]) & 0xC0) == 0x80)
		--cut;
	command.resize(cut);
	return command + " [... " + std::to_string(total) + " bytes in all]";
}

std::optional<ProcessInfo> readProcess(pid_t pid)
{
	if (pid <= 0)
		return std::nullopt;
	std::string base = "/proc/" + std::to_string(pid);
	std::ifstream statFile(base + "/stat");
	std::string stat;
	if (!std::getline(statFile, stat))
		return std::nullopt;
	auto close = stat.rfind(')');
	if (close == std::string::npos)
		return std::nullopt;
	std::istringstream fields(stat.substr(close + 2));
	// Fields from 3 on: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
	// utime stime cutime cstime priority nice num_threads itrealvalue starttime.
	std::string state;
	ProcessInfo info;
	info.pid = pid;
	fields >> state >> info.parent;
	std::string skip;
	for (int i = 5; i < 22 && fields; ++i)
		fields >> skip;
	fields >> info.startTicks;
	if (!fields || state == "Z")
		return std::nullopt;

	std::ifstream status(base + "/status");
	std::string line;
	bool haveUid = false;
	while (std::getline(status, line)) {
		if (line.rfind("Uid:", 0) == 0) {
			std::istringstream(line.substr(4)) >> info.uid;
			haveUid = true;
			break;
		}
	}
	if (!haveUid)
		return std::nullopt;

	std::ifstream cmdline(base + "/cmdline", std::ios::binary);
	std::string raw((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
	while (!raw.empty() && raw.back() == '\0')
		raw.pop_back();
	for (char &c : raw)
		if (c == '\0')
			c = ' ';
	info.command = boundedCommand(std::move(raw));
	return info;
}

std::string processExe(pid_t pid)
{
	char buf[4096];
	ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof(buf));
	return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

namespace {

// The children of `pid`, from /proc/PID/task/*/children (every thread's, as a child may belong
// to any thread).
std::vector<pid_t> children(pid_t pid)
{
	std::vector<pid_t> out;
	std::error_code ec;
	for (const auto &task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
		std::ifstream file(task.path() / "children");
		pid_t child;
		while (file >> child)
			out.push_back(child);
	}
	return out;
}

} // namespace

int signalJob(pid_t pid, int signo)
{
	if (pid <= 0)
		return 0;
	if (getpgid(pid) == pid)
		return kill(-pid, signo) == 0 ? 1 : 0;
	// Parents first, collected before any is signalled, so a child orphaned meanwhile is still hit.
	std::vector<pid_t> tree{pid};
	for (std::size_t i = 0; i < tree.size() && tree.size() < 4096; ++i)
		for (pid_t child : children(tree[i]))
			tree.push_back(child);
	int signalled = 0;
	for (pid_t p : tree)
		signalled += kill(p, signo) == 0 ? 1 : 0;
	return signalled;
}

int openPidfd(pid_t pid)
{
	return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

} // namespace hac
