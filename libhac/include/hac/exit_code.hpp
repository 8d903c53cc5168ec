// Exit codes shared by every hac tool (README.md, "Exit codes"); scripts depend on them.
#pragma once

namespace hac {

enum class ExitCode : int {
	Ok = 0,
	Failure = 1,
	Usage = 2,
	AgentUnreachable = 3,
	AllocatorUnreachable = 4,
	PermissionDenied = 5,
	Conflict = 6,
	NotFound = 7,
	VerificationFailed = 8,
	TimedOut = 9,
	NeedsFix = 10,
	BudgetExhausted = 11,   // the month's budget is spent: new jobs are refused ([budget] in agent.toml)
};

constexpr int toInt(ExitCode code) { return static_cast<int>(code); }

} // namespace hac
