#include "address.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>

namespace hac {

std::string urlHost(const std::string &url)
{
	auto start = url.find("://");
	start = start == std::string::npos ? 0 : start + 3;
	auto at = url.find('@', start);
	auto slash = url.find('/', start);
	if (at != std::string::npos && (slash == std::string::npos || at < slash))
		start = at + 1;
	if (start < url.size() && url[start] == '[')
		return url.substr(start + 1, url.find(']', start) - start - 1);
	auto end = url.find_first_of(":/?#", start);
	std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
	std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
	return host;
}

bool isLoopbackHost(const std::string &host)
{
	if (host == "localhost" || host == "::1")
		return true;
	in_addr addr{};
	return inet_pton(AF_INET, host.c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

} // namespace hac
