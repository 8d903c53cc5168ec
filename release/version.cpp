// Framework versions compare number by number; package versions are only checked for their
// characters here, since the manifest states them exactly and they are compared as written.
#include "version.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace hac::release {

namespace {

bool isAlnum(char c)
{
	return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

std::vector<std::string_view> split(std::string_view text, char sep)
{
	std::vector<std::string_view> parts;
	std::size_t start = 0;
	for (;;) {
		std::size_t end = text.find(sep, start);
		parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
		if (end == std::string_view::npos)
			return parts;
		start = end + 1;
	}
}

} // namespace

std::optional<std::vector<long>> parseDotted(std::string_view text)
{
	if (text.empty() || text.size() > 80)
		return std::nullopt;
	std::vector<long> numbers;
	for (std::string_view part : split(text, '.')) {
		if (part.empty() || part.size() > 9 || numbers.size() == 8 ||
		    !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
			return std::nullopt;
		long value = 0;
		auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
		if (ec != std::errc() || end != part.data() + part.size())
			return std::nullopt;
		numbers.push_back(value);
	}
	return numbers;
}

bool isFrameworkVersion(std::string_view text)
{
	return parseDotted(text).has_value();
}

int compareVersions(std::string_view a, std::string_view b)
{
	auto x = parseDotted(a), y = parseDotted(b);
	if (!x || !y)
		throw std::invalid_argument("not a dotted version: " + std::string(!x ? a : b));
	std::size_t n = std::max(x->size(), y->size());
	for (std::size_t i = 0; i < n; ++i) {
		long p = i < x->size() ? (*x)[i] : 0, q = i < y->size() ? (*y)[i] : 0;
		if (p != q)
			return p < q ? -1 : 1;
	}
	return 0;
}

std::string normalizeName(std::string_view name)
{
	std::string out;
	bool inRun = false;
	for (char c : name) {
		if (c == '-' || c == '_' || c == '.') {
			if (!inRun)
				out += '-';
			inRun = true;
			continue;
		}
		inRun = false;
		out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
	}
	return out;
}

bool isPackageName(std::string_view name)
{
	if (name.empty() || name.size() > 128 || !isAlnum(name.front()) || !isAlnum(name.back()))
		return false;
	return std::all_of(name.begin(), name.end(), [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool isPackageVersion(std::string_view version)
{
	if (version.empty() || version.size() > 128)
		return false;
	if (!std::isdigit(static_cast<unsigned char>(version.front())) && version.front() != 'v')
		return false;
	return std::all_of(version.begin(), version.end(), [](char c) {
		return isAlnum(c) || c == '.' || c == '+' || c == '!' || c == '-' || c == '_';
	});
}

std::string frameworkOfVersion(std::string_view version)
{
	auto plus = version.find('+');
	if (plus == std::string_view::npos)
		return {};
	std::string_view local = version.substr(plus + 1);
	if (local.size() < 4 || local.substr(0, 3) != "hac")
		return {};
	local.remove_prefix(3);
	return isFrameworkVersion(local) ? std::string(local) : std::string();
}

bool isPlainFileName(std::string_view name)
{
	if (name.empty() || name.size() > 255 || name.front() == '.')
		return false;
	return std::none_of(name.begin(), name.end(), [](char c) { return c == '/' || c == '\0'; });
}

std::optional<WheelName> parseWheelFilename(std::string_view file)
{
	constexpr std::string_view suffix = ".whl";
	if (!isPlainFileName(file) || file.size() <= suffix.size() || file.substr(file.size() - suffix.size()) != suffix)
		return std::nullopt;
	auto parts = split(file.substr(0, file.size() - suffix.size()), '-');
	// name-version[-build]-python-abi-platform
	if (parts.size() != 5 && parts.size() != 6)
		return std::nullopt;
	WheelName w{std::string(parts[0]), std::string(parts[1])};
	if (!isPackageName(w.name) || !isPackageVersion(w.version))
		return std::nullopt;
	for (std::size_t i = 2; i < parts.size(); ++i)
		if (parts[i].empty())
			return std::nullopt;
	return w;
}

} // namespace hac::release
