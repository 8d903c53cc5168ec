// Durations: integer seconds, each form checked whole (no trailing text, no field out of range).
#include <hac/duration.hpp>

#include <cctype>

#include <fmt/core.h>

namespace hac {

namespace {

constexpr std::int64_t kMaxSeconds = 366LL * 24 * 3600;

// Digits from `pos`, at most 9 of them; nothing when there are none.
std::optional<std::int64_t> digits(std::string_view text, std::size_t &pos)
{
	std::size_t start = pos;
	std::int64_t n = 0;
	while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) && pos - start < 9)
		n = n * 10 + (text[pos++] - '0');
	if (pos == start || (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))))
		return std::nullopt;
	return n;
}

// "[D-]H:MM:SS": hours below 24 after a day count, minutes and seconds below 60.
std::optional<std::int64_t> clock(std::string_view text)
{
	std::size_t pos = 0;
	std::int64_t days = 0;
	if (auto dash = text.find('-'); dash != std::string_view::npos) {
		auto d = digits(text, pos);
		if (!d || pos != dash)
			return std::nullopt;
		days = *d;
		++pos;
	}
	std::int64_t parts[3];
	for (int i = 0; i < 3; ++i) {
		if (i > 0 && (pos >= text.size() || text[pos++] != ':'))
			return std::nullopt;
		std::size_t start = pos;
		auto n = digits(text, pos);
		if (!n || (i > 0 && pos - start != 2))
			return std::nullopt;
		parts[i] = *n;
	}
	if (pos != text.size() || parts[1] > 59 || parts[2] > 59 || (text.find('-') != std::string_view::npos && parts[0] > 23))
		return std::nullopt;
	return days * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2];
}

// "1h30m": numbers each followed by a unit, d h m s, each unit once and in that order.
std::optional<std::int64_t> units(std::string_view text)
{
	static constexpr std::string_view kUnits = "dhms";
	static constexpr std::int64_t kSeconds[] = {86400, 3600, 60, 1};
	std::size_t pos = 0;
	std::size_t nextUnit = 0;
	std::int64_t total = 0;
	while (pos < text.size()) {
		auto n = digits(text, pos);
		if (!n || pos >= text.size())
			return std::nullopt;
		auto unit = kUnits.find(text[pos++]);
		if (unit == std::string_view::npos || unit < nextUnit)
			return std::nullopt;
		nextUnit = unit + 1;
		total += *n * kSeconds[unit];
		if (total > kMaxSeconds)
			return std::nullopt;
	}
	return total;
}

} // namespace

std::optional<std::int64_t> parseDuration(std::string_view text)
{
	if (text.empty())
		return std::nullopt;
	auto seconds = text.find(':') != std::string_view::npos ? clock(text) : units(text);
	if (!seconds || *seconds <= 0 || *seconds > kMaxSeconds)
		return std::nullopt;
	return seconds;
}

std::string formatDuration(std::int64_t seconds)
{
	if (seconds < 0)
		seconds = 0;
	std::int64_t days = seconds / 86400, rest = seconds % 86400;
	if (days > 0)
		return fmt::format("{}-{:02}:{:02}:{:02}", days, rest / 3600, rest / 60 % 60, rest % 60);
	return fmt::format("{}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60);
}

} // namespace hac
