// An answer other than success, thrown from deep in a daemon's handler and turned into a response
// once, by that daemon's API file: both daemons answer errors in the same shape (README,
// "Errors"): {"error": {"code", "message", ...details}}.
#pragma once

#include <map>
#include <stdexcept>
#include <string>

#include <hac/json.hpp>
#include <service/http_server.hpp>

namespace hac {

struct ApiError : std::runtime_error {
	ApiError(int status, std::string code, const std::string &message, Json details = Json::object())
		: std::runtime_error(message), status(status), code(std::move(code)), details(std::move(details)) {}

	// The same error with a header, e.g. WWW-Authenticate with a 401 or Retry-After with a 503.
	ApiError withHeader(const std::string &name, const std::string &value) const
	{
		ApiError e = *this;
		e.headers[name] = value;
		return e;
	}
	Response response() const;

	int status;
	std::string code;
	Json details;                               // merged into the error object, e.g. who holds a busy device
	std::map<std::string, std::string> headers;
};

} // namespace hac
