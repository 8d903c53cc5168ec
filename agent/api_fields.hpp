// Reading a local API request body: a JSON object, and its fields of the expected types, each
// wrong one a 400 naming it. Apart from api.cpp so tests/fuzz can drive it without an agent.
#pragma once

#include <optional>
#include <string>

#include <fmt/core.h>

#include <hac/json.hpp>

#include "api_error.hpp"

namespace hac {

// An empty body is an empty object; anything but a JSON object is a 400.
inline Json requestBody(const std::string &text)
{
	if (text.empty())
		return Json::object();
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
	try {
		return it->get<T>();
	} catch (const Json::exception &) {
		throw ApiError(400, "bad_request", fmt::format("the field '{}' must be {}", name, type));
	}
}

} // namespace hac
