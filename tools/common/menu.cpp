// Interactive choices, read a line at a time from stdin.
#include "menu.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <unistd.h>

#include <fmt/core.h>

#include <hac/number.hpp>

namespace hac::tools {

namespace {

std::optional<std::string> readLine()
{
	std::string line;
	if (!std::getline(std::cin, line))
		return std::nullopt;
	auto first = line.find_first_not_of(" \t\r");
	auto last = line.find_last_not_of(" \t\r");
	return first == std::string::npos ? std::string() : line.substr(first, last - first + 1);
}

} // namespace

bool interactive()
{
	return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

std::optional<int> askSelection(int count)
{
	for (;;) {
		fmt::print("Selection (1-{}, q, Q): ", count);
		std::fflush(stdout);
		auto line = readLine();
		if (!line || *line == "q" || *line == "Q") {
			if (!line)
				fmt::print("\n");
			return std::nullopt;
		}
		if (auto n = parseInteger(*line, 1, count))
			return *n;
		fmt::print("'{}' is not a choice: type a number from 1 to {}, or q to quit.\n", *line, count);
	}
}

std::optional<int> askDevice(const std::vector<int> &indexes)
{
	std::string list;
	for (int i : indexes)
		list += fmt::format("{}, ", i);
	for (;;) {
		fmt::print("Device ({}q, Q): ", list);
		std::fflush(stdout);
		auto line = readLine();
		if (!line || *line == "q" || *line == "Q") {
			if (!line)
				fmt::print("\n");
			return std::nullopt;
		}
		if (auto n = parseInteger<int>(*line); n && std::find(indexes.begin(), indexes.end(), *n) != indexes.end())
			return *n;
		fmt::print("'{}' is not a device of this VM: type one of {}or q to quit.\n", *line, list);
	}
}

bool confirm(const std::string &prompt, std::FILE *out)
{
	fmt::print(out, "{} ", prompt);
	std::fflush(out);
	auto line = readLine();
	if (!line) {
		fmt::print(out, "\n");
		return false;
	}
	return *line == "y" || *line == "Y" || *line == "yes" || *line == "Yes" || *line == "YES";
}

} // namespace hac::tools
