// What the kernel says of a process: owner, parent, start time, command line; and its pidfd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

namespace hac {

struct ProcessInfo {
	pid_t pid = 0;
	pid_t parent = 0;
	uid_t uid = 0;                 // real uid
	std::uint64_t startTicks = 0;  // start time in clock ticks after boot: tells a reused pid apart
	std::string command;           // argv joined by spaces, bounded by boundedCommand()
};

// What a job keeps in the job log for good, and shows (agent/API.md): a longer name is refused,
// a longer command kept cut, with a marker.
constexpr std::size_t kMaxJobNameBytes = 256;
constexpr std::size_t kMaxJobCommandBytes = 4096;

// `command` itself, or its first kMaxJobCommandBytes (cut where no UTF-8 character is split)
// followed by " [... N bytes in all]".
std::string boundedCommand(std::string command);

// Empty when the process does not exist (any more).
std::optional<ProcessInfo> readProcess(pid_t pid);

// The program the process runs now (/proc/PID/exe); empty when it cannot be read. An exec
// changes it, so comparing two readings tells whether the process ran another program between.
std::string processExe(pid_t pid);

// Sends `signo` to a job's processes: its process group when the job's process leads one (a
// session or group of its own holds just the job), else the process and every descendant of it
// (hac-run's child shares the caller's group, which must not be signalled). Returns how many
// processes or groups were signalled.
int signalJob(pid_t pid, int signo);

// A pidfd (pidfd_open(2)) that becomes readable when the process ends; -1 when it is gone.
int openPidfd(pid_t pid);

} // namespace hac
