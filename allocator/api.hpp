// The allocator API of API.md: routes a request to the store and answers it, errors included.
#pragma once

#include <string>
#include <unordered_map>

#include <service/http_server.hpp>

#include "config.hpp"
#include "metrics.hpp"
#include "releases.hpp"
#include "slurm_farm.hpp"
#include "store.hpp"
#include "telemetry.hpp"

namespace hac::allocator {

constexpr int kApiVersion = 1;

class Api {
public:
	// Borrows them for its lifetime. `farm`: the Slurm backend, null for the simulated one.
	Api(const Config &config, Store &store, SlurmFarm *farm = nullptr);

	// Never throws: every failure becomes an error response, and each request is logged.
	Response handle(const Request &request) const;
	// The metrics GET /metrics shows; a placement backend reports its calls through it
	// (AllocatorMetrics::backendCall).
	AllocatorMetrics &metrics() const { return metrics_; }

private:
	Response route(const Request &request, std::string &account, const char *&pattern) const;
	const TokenConfig &authenticate(const Request &request) const;
	void authenticateNode(const Request &request, const std::string &node) const;
	static std::string tokenDigest(const std::string &token);

	Response version() const;
	Response registerAgent(const Request &request, const TokenConfig &caller) const;
	Response skus() const;
	Json deviceJson(const StoredDevice &device) const;
	const Sku &catalogSku(const Json &body) const;
	Response listDevices(const TokenConfig &caller) const;
	Response addDevice(const Request &request, const TokenConfig &caller) const;
	Response resizeDevice(const Request &request, const std::string &deviceId, const TokenConfig &caller) const;
	Response removeDevice(const std::string &deviceId, const TokenConfig &caller) const;
	Response allocate(const Request &request, const TokenConfig &caller) const;
	Response release(const std::string &jobId, const TokenConfig &caller) const;
	Response recordUsage(const Request &request, const TokenConfig &caller) const;
	Response listUsage(const Request &request, const TokenConfig &caller) const;
	Response reportTelemetry(const Request &request, const std::string &node) const;
	Response allocationGpus(const std::string &jobId, const TokenConfig &caller) const;

	const Config &config_;
	Store &store_;
	SlurmFarm *farm_;
	std::unordered_map<std::string, const TokenConfig *> tokensByDigest_;   // SHA-256 of each token
	std::unordered_map<std::string, const NodeTokenConfig *> nodeTokensByDigest_;
	Releases releases_;
	mutable AllocatorMetrics metrics_;
	mutable Telemetry telemetry_;
};

} // namespace hac::allocator
