// An error for a caller of an API: the HTTP status, a stable code, a message and details.
#pragma once

#include <stdexcept>
#include <string>

#include <hac/json.hpp>

namespace hac {

struct ApiError : std::runtime_error {
	ApiError(int status, std::string code, const std::string &message, Json details = Json::object())
		: std::runtime_error(message), status(status), code(std::move(code)), details(std::move(details)) {}

	int status;
	std::string code;
	Json details;          // merged into the error object, e.g. who holds a busy device
};

} // namespace hac
