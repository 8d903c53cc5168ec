// Checks of numeric options that say in words what is wrong: CLI11's own range checks print
// bounds such as "0.000000 to 1797693134862315708145..." that no one can read.
#pragma once

#include <string>

#include <CLI/App.hpp>

namespace hac::tools {

// A whole number from `min` to `max`; `what` names it in the message ("a device index").
CLI::Validator wholeNumber(long long min, long long max, const std::string &what);
// A whole number from `min` up.
CLI::Validator wholeNumberFrom(long long min, const std::string &what);
// A number of seconds from `min` to `max`, fractions allowed.
CLI::Validator seconds(double min, double max);
// Any text but the empty one; `what` says what it should hold ("at least one field").
CLI::Validator nonEmpty(const std::string &what);

} // namespace hac::tools
