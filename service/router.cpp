#include <service/router.hpp>

#include <fmt/core.h>

#include <service/api_error.hpp>

namespace hac {

std::string printable(std::string_view s, std::size_t max)
{
	std::string out;
	for (char c : s.substr(0, max))
		out += c >= 0x20 && c < 0x7f ? c : '?';
	return s.size() > max ? out + "..." : out;
}

namespace detail {

// Splits "/v1/jobs/x/finish" into its segments.
std::vector<std::string> pathSegments(std::string_view path)
{
	std::vector<std::string> out;
	std::size_t start = 1;
	while (start <= path.size()) {
		std::size_t end = path.find('/', start);
		if (end == std::string_view::npos)
			end = path.size();
		out.emplace_back(path.substr(start, end - start));
		start = end + 1;
	}
	return out;
}

bool matchPath(const char *pattern, const std::vector<std::string> &parts, std::vector<std::string> &params)
{
	std::vector<std::string> want = pathSegments(pattern);
	if (want.size() != parts.size())
		return false;
	params.clear();
	for (std::size_t i = 0; i < want.size(); ++i) {
		if (want[i] == "{}") {
			if (parts[i].empty())
				return false;
			params.push_back(parts[i]);
		} else if (want[i] != parts[i]) {
			return false;
		}
	}
	return true;
}

void noRoute(const Request &request, const std::string &allowed, const char *apiDoc)
{
	if (!allowed.empty())
		throw ApiError(405, "method_not_allowed",
			       fmt::format("{} is not allowed on {}; use {}", printable(request.method, 16),
					   printable(request.path, 200), allowed))
			.withHeader("Allow", allowed);
	throw ApiError(404, "not_found", fmt::format("no such endpoint: {} (see {})", printable(request.path, 200), apiDoc));
}

} // namespace detail

void requireMethod(const Request &request, const char *method)
{
	if (request.method != method)
		detail::noRoute(request, method, "");
}

} // namespace hac
