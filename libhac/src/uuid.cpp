// UUIDs from the kernel's random source (std::random_device reads getrandom on Linux).
#include <hac/uuid.hpp>

#include <array>
#include <cctype>
#include <cstdint>
#include <random>

#include <fmt/core.h>

namespace hac {

std::string newUuid()
{
	std::random_device rd;
	std::array<std::uint8_t, 16> b{};
	for (std::size_t i = 0; i < b.size(); i += 4) {
		std::uint32_t r = rd();
		for (std::size_t k = 0; k < 4; ++k)
			b[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
	}
	b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40); // version 4
	b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
	std::string s;
	for (std::size_t i = 0; i < b.size(); ++i) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s += '-';
		s += fmt::format("{:02x}", b[i]);
	}
	return s;
}

bool isUuid(std::string_view text)
{
	if (text.size() != 36)
		return false;
	for (std::size_t i = 0; i < text.size(); ++i) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i])))
			return false;
	}
	return true;
}

} // namespace hac
