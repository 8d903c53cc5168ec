// The messages end up after the option's name: "--idx: -1 is not a device index: ...".
#include "number_check.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/core.h>

#include <hac/number.hpp>

namespace hac::tools {

namespace {

std::string bound(double v)
{
	return fmt::format("{:g}", v);
}

} // namespace

CLI::Validator wholeNumber(long long min, long long max, const std::string &what)
{
	return CLI::Validator(
		[=](std::string &text) -> std::string {
			// A bound as large as an int is no bound a person needs to read.
			std::string range = max >= std::numeric_limits<int>::max()
				? fmt::format("a whole number, {} or more", min)
				: fmt::format("a whole number from {} to {}", min, max);
			if (!parseInteger(text, min, max))
				return fmt::format("'{}' is not {}: give {}", text, what, range);
			return {};
		},
		"", "");
}

CLI::Validator wholeNumberFrom(long long min, const std::string &what)
{
	return wholeNumber(min, std::numeric_limits<long long>::max(), what);
}

CLI::Validator seconds(double min, double max)
{
	return CLI::Validator(
		[=](std::string &text) -> std::string {
			char *end = nullptr;
			double s = std::strtod(text.c_str(), &end);
			if (text.empty() || *end != '\0' || !std::isfinite(s))
				return fmt::format("'{}' is not a number of seconds: give one such as 5 or 0.5", text);
			if (s < min || s > max)
				return fmt::format("{} seconds is out of range: give {} to {} seconds", text, bound(min), bound(max));
			return {};
		},
		"", "");
}

CLI::Validator nonEmpty(const std::string &what)
{
	return CLI::Validator(
		[=](std::string &text) -> std::string { return text.empty() ? "the value is empty: give " + what : std::string(); }, "",
		"");
}

} // namespace hac::tools
