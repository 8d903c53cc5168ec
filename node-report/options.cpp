// The checks of hac-node-report's options: all made before the first connection.
#include "options.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <net/address.hpp>

namespace hac::node_report {

bool validNodeName(const std::string &name)
{
	return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		       c == '_' || c == '-';
	});
}

void checkOptions(Options &o)
{
	while (!o.allocator.empty() && o.allocator.back() == '/')
		o.allocator.pop_back();
	bool plain = o.allocator.rfind("http://", 0) == 0;
	if (!plain && o.allocator.rfind("https://", 0) != 0)
		throw Error(Errc::Usage, fmt::format("--allocator '{}' is not an http:// or https:// URL", o.allocator));
	std::string host = urlHost(o.allocator);
	if (host.empty())
		throw Error(Errc::Usage, fmt::format("--allocator '{}' names no host", o.allocator));
	if (plain && !isLoopbackHost(host))
		throw Error(Errc::Usage,
			    fmt::format("refusing plain http:// to {}: the node credential would cross the network "
					"in clear; use https:// (with --ca-file for your CA), or http:// on loopback only", host));
	if (!o.caFile.empty() && !std::ifstream(o.caFile))
		throw Error(Errc::Usage, fmt::format("cannot read --ca-file {}: {}", o.caFile, std::strerror(errno)));

	if (o.node.empty()) {
		char name[256] = {};
		if (gethostname(name, sizeof name - 1) != 0)
			throw Error(Errc::Usage, fmt::format("cannot read the host name ({}); give --node", std::strerror(errno)));
		o.node = name;
		o.node = o.node.substr(0, o.node.find('.'));
		if (!validNodeName(o.node))
			throw Error(Errc::Usage, fmt::format("the host name '{}' is not a node name the allocator accepts "
								 "(1 to 64 of A-Z a-z 0-9 . _ -); give --node", o.node));
	} else if (!validNodeName(o.node)) {
		throw Error(Errc::Usage, fmt::format("--node '{}' is not a node name the allocator accepts: 1 to 64 "
							 "characters of A-Z a-z 0-9 . _ -", o.node));
	}
}

} // namespace hac::node_report
