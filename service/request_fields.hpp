// Reading a request body, the same way in both daemons: a JSON object, and its fields of the
// expected types, each wrong one a 400 naming it. A header, so tests/fuzz can drive it alone.
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
// body of both APIs is an object of a few fields, at most a level or two deep.
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

// The body as a JSON object: an empty one is an empty object where `emptyIsObject` (a request
// whose fields are all optional), else a 400, as is anything but a JSON object.
inline Json requestBody(const std::string &text, bool emptyIsObject = true)
{
	if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
		if (emptyIsObject)
			return Json::object();
		throw ApiError(400, "bad_request", "the request body is empty; send a JSON object");
	}
	checkBodyShape(text);
	Json j = Json::parse(text, nullptr, false);
	if (j.is_discarded())
		throw ApiError(400, "bad_request", "the request body is not valid JSON; send a JSON object");
	if (!j.is_object())
		throw ApiError(400, "bad_request", "the request body is not a JSON object");
	return j;
}

// Whether the body has the field, other than null (a null field counts as absent).
inline bool hasField(const Json &body, const char *name)
{
	auto it = body.find(name);
	return it != body.end() && !it->is_null();
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
