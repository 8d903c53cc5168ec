// hac-node-report's settings, from its command line, and their checks before anything connects.
#pragma once

#include <string>

namespace hac::node_report {

struct Options {
	std::string allocator;              // http(s)://HOST[:PORT][/PREFIX], no trailing '/'
	std::string tokenFile;
	std::string node;                   // empty: the short host name
	int intervalSeconds = 5;
	std::string nvidiaSmi = "nvidia-smi";
	std::string caFile;
	int timeoutSeconds = 5;
	bool once = false;
	bool verbose = false;
};

// 1 to 64 characters of [A-Za-z0-9._-]: what the allocator accepts in /v1/nodes/{node}.
bool validNodeName(const std::string &name);

// Fills in the defaults and refuses what cannot work, with hac::Error(Usage): a URL that is not
// http:// or https://, plain http:// to a host that is not loopback (the token would cross the
// network in clear; nothing is contacted), a node name the allocator would refuse, a --ca-file that
// cannot be read.
void checkOptions(Options &options);

} // namespace hac::node_report
