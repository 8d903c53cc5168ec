// The one way hac reads an integer from text: digits only (a '-' first for a signed type), the
// whole text, within bounds. No leading blanks or '+', no "12abc", no silent wrap-around, and no
// exception: the caller says what was wrong in its own words.
#pragma once

#include <charconv>
#include <concepts>
#include <limits>
#include <optional>
#include <string_view>

namespace hac {

template <std::integral T>
std::optional<T> parseInteger(std::string_view text, T min = std::numeric_limits<T>::min(),
			      T max = std::numeric_limits<T>::max())
{
	T value{};
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
		return std::nullopt;
	return value;
}

} // namespace hac
