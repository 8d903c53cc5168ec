// The one exception type of libhac: a message for people and the kind of failure, which callers
// act on (an unreachable allocator is retried, a conflict waited out) and programs turn into their
// exit status (hac/exit_code.hpp).
#pragma once

#include <stdexcept>
#include <string>

namespace hac {

// What went wrong, in the library's terms.
enum class Errc {
	Failure,               // anything the kinds below do not name
	Usage,                 // a bad argument or option
	AgentUnreachable,      // hac-agent did not answer on its socket
	AllocatorUnreachable,  // the allocator did not answer
	PermissionDenied,      // the caller may not do this, or a credential was refused
	Conflict,              // the device is busy or being changed
	NotFound,              // no such device, job, user or release
	VerificationFailed,    // a signature or checksum does not match
	TimedOut,              // a bounded wait ran out
	NeedsFix,              // the environment is broken and hac-update --fix can mend it
	BudgetExhausted,       // the month's budget is spent: new jobs are refused
};

class Error : public std::runtime_error {
public:
	Error(Errc code, const std::string &message)
		: std::runtime_error(message), code_(code) {}

	Errc code() const { return code_; }

private:
	Errc code_;
};

} // namespace hac
