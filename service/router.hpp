// One way for both daemons to route a request: a table of method, path pattern and handler, in
// which "{}" matches one path segment. A path that exists for other methods is 405 with Allow
// naming them; a path that does not exist is 404 pointing at the daemon's API.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <service/http_server.hpp>

namespace hac {

template <class Handler>
struct Route {
	const char *method;
	const char *pattern;
	Handler handler;
};

// Untrusted text for a message or the log: printable ASCII, cut at `max`, so that an echo can
// neither break the JSON (invalid UTF-8 after a cut) nor forge log lines.
std::string printable(std::string_view s, std::size_t max = 64);

namespace detail {
std::vector<std::string> pathSegments(std::string_view path);
bool matchPath(const char *pattern, const std::vector<std::string> &parts, std::vector<std::string> &params);
// Throws ApiError 405 (when `allowed`, the path's methods, is not empty) or 404.
[[noreturn]] void noRoute(const Request &request, const std::string &allowed, const char *apiDoc);
} // namespace detail

// Throws ApiError 405 unless `request` uses `method`, for a path a daemon serves outside its table
// (e.g. a file tree).
void requireMethod(const Request &request, const char *method);

// The handler of the route `request` takes, with the path's "{}" segments in `params` and, when
// `pattern` is given, the route's pattern in it (a label for metrics); throws ApiError 405 or 404
// (naming `apiDoc`, e.g. "agent/API.md") when there is none.
template <class Handler>
const Handler &findRoute(const std::vector<Route<Handler>> &routes, const Request &request,
			 std::vector<std::string> &params, const char *apiDoc, const char **pattern = nullptr)
{
	std::vector<std::string> parts = detail::pathSegments(request.path);
	std::string allowed;
	for (const Route<Handler> &route : routes) {
		if (!detail::matchPath(route.pattern, parts, params))
			continue;
		if (request.method == route.method) {
			if (pattern)
				*pattern = route.pattern;
			return route.handler;
		}
		allowed += (allowed.empty() ? "" : ", ") + std::string(route.method);
	}
	detail::noRoute(request, allowed, apiDoc);
}

} // namespace hac
