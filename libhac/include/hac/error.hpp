// The one exception type of libhac: a message for people and the exit code a tool returns for it.
#pragma once

#include <stdexcept>
#include <string>

#include <hac/exit_code.hpp>

namespace hac {

class Error : public std::runtime_error {
public:
	Error(ExitCode code, const std::string &message)
		: std::runtime_error(message), code_(code) {}

	ExitCode code() const { return code_; }

private:
	ExitCode code_;
};

} // namespace hac
