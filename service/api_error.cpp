#include <service/api_error.hpp>

namespace hac {

Response ApiError::response() const
{
	Json body = errorBody(code, what());
	body["error"].update(details);
	Response r = Response::json(status, body);
	r.headers = headers;
	return r;
}

} // namespace hac
