// std::tolower in the "C" locale, which the tools never change: ASCII only, so a UTF-8 byte is
// never taken for a letter.
#include "text_case.hpp"

#include <algorithm>
#include <cctype>

namespace hac::tools {

std::string lower(std::string_view text)
{
	std::string out(text);
	std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
	return out;
}

} // namespace hac::tools
