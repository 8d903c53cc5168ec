// Exit codes shared by every hac program (README.md, "Exit codes"), and the C API's return codes
// (hac.h); scripts depend on them. A failure's kind (hac::Errc) maps to one.
#pragma once

#include <hac/error.hpp>

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

constexpr ExitCode exitCode(Errc kind)
{
	switch (kind) {
	case Errc::Failure: return ExitCode::Failure;
	case Errc::Usage: return ExitCode::Usage;
	case Errc::AgentUnreachable: return ExitCode::AgentUnreachable;
	case Errc::AllocatorUnreachable: return ExitCode::AllocatorUnreachable;
	case Errc::PermissionDenied: return ExitCode::PermissionDenied;
	case Errc::Conflict: return ExitCode::Conflict;
	case Errc::NotFound: return ExitCode::NotFound;
	case Errc::VerificationFailed: return ExitCode::VerificationFailed;
	case Errc::TimedOut: return ExitCode::TimedOut;
	case Errc::NeedsFix: return ExitCode::NeedsFix;
	case Errc::BudgetExhausted: return ExitCode::BudgetExhausted;
	}
	return ExitCode::Failure;
}

constexpr int toInt(ExitCode code) { return static_cast<int>(code); }

} // namespace hac
