// The agent's side of the allocator API (allocator/API.md): the only place the token is sent.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <hac/types.hpp>

#include "agent_config.hpp"
#include "http_client.hpp"

namespace hac {

struct Registration {
	std::string account;
	std::vector<Device> devices;
	std::vector<Sku> skus;
	int maxDevices = 1;
	std::vector<std::string> allowedSkus;
};

class AllocatorLink {
public:
	AllocatorLink(const AllocatorSettings &settings, const std::string &token);

	// Throws hac::Error: AllocatorUnreachable when no answer came, PermissionDenied when the
	// allocator does not know the token, Failure for any other refusal or a reply it cannot read.
	Registration registerAgent(const std::string &agentVersion);
	// GET /v1/version: the allocator's version string.
	std::string version();

	const std::string &url() const { return client_.baseUrl(); }

private:
	HttpClient client_;
};

} // namespace hac
