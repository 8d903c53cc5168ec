// The agent's side of the allocator API (allocator/API.md): the only place the token is sent.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <hac/json.hpp>
#include <hac/types.hpp>
#include <net/http_client.hpp>

#include "agent_config.hpp"
#include "refusal.hpp"

namespace hac {

struct Registration {
	std::string account;
	std::vector<Device> devices;
	std::vector<Sku> skus;
	int maxDevices = 1;
	std::vector<std::string> allowedSkus;
};

struct Allocation {
	std::string sku;
	int gpus = 0;
};

class AllocatorLink {
public:
	AllocatorLink(const AllocatorSettings &settings, const std::string &token);

	// Throws hac::Error: AllocatorUnreachable when no answer came, PermissionDenied when the
	// allocator does not know the token, Failure for any other refusal or a reply it cannot read.
	// `heartbeatSeconds` tells the allocator how often to expect the agent (its agents-seen figure).
	Registration registerAgent(const std::string &agentVersion, int heartbeatSeconds);
	// GET /v1/version: the allocator's version string.
	std::string version();

	// POST /v1/allocations keyed by the job's UUID. Throws Refusal with the allocator's status
	// and code (503 farm_full with details.retry_after_seconds, 409 device_busy, ...), or
	// hac::Error(AllocatorUnreachable), also when no answer came within `withinMs` (the start's
	// caller's deadline), if that is shorter than the configured bounds.
	Allocation allocate(const std::string &jobId, const std::string &deviceId, long withinMs = 0);

	// POST /v1/usage keyed by the job's UUID; returns when the allocator has stored it (201, or
	// 200 for a replay). Throws as allocate() does.
	void recordUsage(const std::string &jobId, const std::string &body);

	// Device administration: POST /v1/devices, PATCH and DELETE /v1/devices/{id}. Each returns
	// the device as the allocator now has it; refusals throw Refusal as allocate() does.
	Device addDevice(const std::string &sku);
	Device resizeDevice(const std::string &deviceId, const std::string &sku);
	Device removeDevice(const std::string &deviceId);
	// GET /v1/usage?since=: this token's records whose ended_at is at or after `since`. Throws
	// as allocate() does.
	std::vector<UsageRecord> usage(TimeMs since);
	// GET /v1/allocations/{job}/gpus: the GPUs the job holds, in placement order, with their
	// nodes' last figures (device and jobId left for the caller). Throws as allocate() does (404
	// unknown_allocation, 409 allocation_released, ...), also when no answer came within `withinMs`.
	std::vector<PhysicalGpu> allocationGpus(const std::string &jobId, long withinMs = 0);

	const std::string &url() const { return client_.baseUrl(); }
	// The connect and request timeouts of `settings`, for the requests that start from now on.
	void setTimeouts(const AllocatorSettings &settings);
	// Ends the request in flight and refuses later ones (AllocatorUnreachable): for stopping.
	void cancel();

	// Hears of each request once it ends: its method, its endpoint (the path as allocator/API.md
	// writes it, "{}" for an id), the HTTP status (0: no answer) and its duration in seconds.
	// Set before the first request.
	using RequestObserver = std::function<void(const char *method, const char *endpoint, long status, double seconds)>;
	void setObserver(RequestObserver observer) { observer_ = std::move(observer); }

private:
	// client_.request(), told to the observer.
	HttpResult call(const char *method, const char *endpoint, const std::string &path, const std::string &body = {},
			const std::map<std::string, std::string> &headers = {}, long withinMs = 0);
	Device deviceCall(const char *method, const char *endpoint, const std::string &path, const Json &body,
			  const std::string &what);

	HttpClient client_;
	RequestObserver observer_;
};

} // namespace hac
