// Running nvidia-smi with the telemetry query: fork and exec (no shell), every wait bounded.
#pragma once

#include <atomic>
#include <string>

#include <hac/time.hpp>

namespace hac::node_report {

struct SmiOutput {
	std::string text;     // its standard output: the CSV
	TimeMs startedAt = 0; // when it was started: the report's sampled_at
};

// Runs `program` (a path, or a name looked up in $PATH) with the query of kQueryFields, in a
// process group of its own, stdin from /dev/null. It is killed (the whole group, SIGKILL) when it
// has not finished within `timeoutMs`, or within 100 ms of `stopping` turning true.
// Throws hac::Error: TimedOut when it overran; Failure when it cannot be started, exits non-zero
// (naming the first line it printed), dies of a signal, or was stopped.
SmiOutput runNvidiaSmi(const std::string &program, long timeoutMs, const std::atomic<bool> &stopping);

// The program that runNvidiaSmi would start: `program` itself when it holds a '/', else the first
// executable of that name in $PATH. Throws hac::Error(Failure) naming where it looked.
std::string findProgram(const std::string &program);

} // namespace hac::node_report
