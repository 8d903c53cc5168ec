// Reading a local API request body: a JSON object, and its fields of the expected types, each
// wrong one a 400 naming it. Apart from api.cpp so tests/fuzz can drive it without an agent.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/core.h>

#include <hac/json.hpp>
#include <service/api_error.hpp>

namespace hac {

// What a request body may hold before it is parsed. nlohmann builds the whole tree before anyone
// looks at it, ~80 bytes per level or value: a 1 MiB body of "[[[[" cost ~78 MB at once. Every
// body of this API is an object of a few scalar fields, one level deep.
constexpr int kMaxBodyDepth = 8;
constexpr std::size_t kMaxBodyValues = 1024;

// Counts the nesting and the values of a JSON text without building anything: a 400 for one
// beyond the bounds above. The parser then builds at most kMaxBodyValues values.
inline void checkBodyShape(const std::string &text)
{
	int depth = 0;
	std::size_t values = 1;
	bool inString = false;
	for (std::size_t i = 0; i < text.size(); ++i) {
		char c = text[i];
		if (inString) {
			if (c == '\\')
				++i;
			else if (c == '"')
				inString = false;
			continue;
		}
		if (c == '"')
			inString = true;
		else if (c == '[' || c == '{') {
			if (++depth > kMaxBodyDepth)
				throw ApiError(400, "bad_request", fmt::format("the request body nests deeper than {} levels", kMaxBodyDepth));
		} else if (c == ']' || c == '}')
			--depth;
		else if (c == ',' || c == ':') {
			if (++values > kMaxBodyValues)
				throw ApiError(400, "bad_request", fmt::format("the request body holds more than {} values", kMaxBodyValues));
		}
	}
}

// An empty body is an empty object; anything but a JSON object is a 400.
inline Json requestBody(const std::string &text)
{
	if (text.empty())
		return Json::object();
	checkBodyShape(text);
	Json j = Json::parse(text, nullptr, false);
	if (j.is_discarded() || !j.is_object())
		throw ApiError(400, "bad_request", "the request body is not a JSON object");
	return j;
}

// A field of the body, of the expected type, or a 400 naming it. Fields nobody reads are ignored.
template <typename T>
T field(const Json &body, const char *name, const char *type, std::optional<T> fallback = std::nullopt)
{
	auto it = body.find(name);
	if (it == body.end() || it->is_null()) {
		if (fallback)
			return *fallback;
		throw ApiError(400, "bad_request", fmt::format("the field '{}' is missing; it must be {}", name, type));
	}
	auto wrong = [&] { return ApiError(400, "bad_request", fmt::format("the field '{}' must be {}", name, type)); };
	// nlohmann converts 1.5 to 1 and 1e300 or 2^64 to whatever the cast gives (INT_MIN here, and
	// undefined behaviour): a number must be a whole one that fits.
	if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
		if (it->is_number_unsigned()) {
			auto n = it->get<std::uint64_t>();
			if (n > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
				throw wrong();
			return static_cast<T>(n);
		}
		if (!it->is_number_integer())
			throw wrong();
		auto n = it->get<std::int64_t>();
		if (!std::in_range<T>(n))
			throw wrong();
		return static_cast<T>(n);
	}
	try {
		return it->get<T>();
	} catch (const Json::exception &) {
		throw wrong();
	}
}

} // namespace hac
