// Calls to the allocator and the reading of its replies; errors say which allocator and why.
#include "allocator_link.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <unistd.h>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/json.hpp>

namespace hac {

namespace {

// The allocator's own message for a refusal, or the bare status.
std::string refusal(const HttpResult &r)
{
	Json j = Json::parse(r.body, nullptr, false);
	if (!j.is_discarded() && j.contains("error") && j["error"].is_object())
		return fmt::format("{} ({} {})", j["error"].value("message", ""), r.status, j["error"].value("code", ""));
	return fmt::format("HTTP {}", r.status);
}

// The config's bounds as the HTTP client's (a stall is bounded by the request timeout too).
NetTimeouts netTimeouts(const AllocatorSettings &s)
{
	return NetTimeouts{s.connectTimeoutMs, s.requestTimeoutMs, 1, std::max(1L, s.requestTimeoutMs / 1000)};
}

// The allocator's refusal as the agent's: a refusal of its own (4xx) is passed on with its status;
// a 5xx (perhaps from a gateway in between) is the allocator being unavailable.
[[noreturn]] void refuse(const HttpResult &r, const std::string &url, const std::string &what)
{
	Json j = Json::parse(r.body, nullptr, false);
	std::string code = "allocator_error";
	std::string message = fmt::format("HTTP {}", r.status);
	if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
		code = j["error"].value("code", code);
		message = j["error"].value("message", message);
	}
	Json details = Json::object();
	if (std::string retry = r.header("retry-after"); !retry.empty())
		details["retry_after_seconds"] = std::max(1, std::atoi(retry.c_str()));
	std::string said = fmt::format("the allocator at {} refused {}: {}", url, what, message);
	if (r.status >= 500)
		throw Refusal(Refusal::Unavailable, code, said, details);
	Refusal refusal(Refusal::AllocatorRefused, code, said, details);
	refusal.allocatorStatus = static_cast<int>(r.status);
	throw refusal;
}

} // namespace

AllocatorLink::AllocatorLink(const AllocatorSettings &settings, const std::string &token)
	: client_(settings.url, netTimeouts(settings))
{
	client_.setBearerToken(token);
	client_.setTls({settings.caFile, settings.clientCertFile, settings.clientKeyFile});
}

void AllocatorLink::setTimeouts(const AllocatorSettings &settings)
{
	client_.setTimeouts(netTimeouts(settings));
}

void AllocatorLink::cancel()
{
	client_.cancel();
}

HttpResult AllocatorLink::call(const char *method, const char *endpoint, const std::string &path, const std::string &body,
			       const std::map<std::string, std::string> &headers, long withinMs)
{
	auto start = std::chrono::steady_clock::now();
	auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
	try {
		HttpResult r = client_.request(method, path, body, headers, withinMs);
		if (observer_)
			observer_(method, endpoint, r.status, seconds());
		return r;
	} catch (...) {
		if (observer_)
			observer_(method, endpoint, 0, seconds());
		throw;
	}
}

Registration AllocatorLink::registerAgent(const std::string &agentVersion, int heartbeatSeconds)
{
	char host[256] = {};
	gethostname(host, sizeof(host) - 1);
	Json body{{"agent_version", agentVersion}, {"hostname", host}, {"heartbeat_seconds", heartbeatSeconds}};
	HttpResult r = call("POST", "/v1/agents/register", "/v1/agents/register", body.dump());
	if (r.status == 401 || r.status == 403)
		throw Error(Errc::PermissionDenied,
			    fmt::format("the allocator at {} refused the device token: {}; check the token file "
					"against the one your provider issued", url(), refusal(r)));
	if (r.status != 200)
		throw Error(Errc::Failure, fmt::format("the allocator at {} refused the registration: {}", url(), refusal(r)));
	try {
		Json j = Json::parse(r.body);
		Registration reg;
		reg.account = j.value("account", "");
		j.at("devices").get_to(reg.devices);
		if (j.contains("skus"))
			j.at("skus").get_to(reg.skus);
		reg.maxDevices = j.value("max_devices", 1);
		if (j.contains("allowed_skus"))
			j.at("allowed_skus").get_to(reg.allowedSkus);
		return reg;
	} catch (const Json::exception &e) {
		throw Error(Errc::Failure, fmt::format("the allocator at {} sent a registration this agent cannot read: {}",
							   url(), e.what()));
	}
}

Allocation AllocatorLink::allocate(const std::string &jobId, const std::string &deviceId, long withinMs)
{
	Json body{{"job_id", jobId}, {"device_id", deviceId}};
	HttpResult r = call("POST", "/v1/allocations", "/v1/allocations", body.dump(), {{"Idempotency-Key", jobId}}, withinMs);
	if (r.status != 200 && r.status != 201)
		refuse(r, url(), "the allocation");
	Json j = Json::parse(r.body, nullptr, false);
	if (j.is_discarded() || !j.is_object() || !j.contains("gpus"))
		throw Refusal(Refusal::AllocatorBroken, "allocator_error",
			      fmt::format("the allocator at {} sent an allocation this agent cannot read", url()));
	return Allocation{j.value("sku", ""), j.value("gpus", 0)};
}

void AllocatorLink::recordUsage(const std::string &jobId, const std::string &body)
{
	HttpResult r = call("POST", "/v1/usage", "/v1/usage", body, {{"Idempotency-Key", jobId}});
	if (r.status != 200 && r.status != 201)
		refuse(r, url(), "the usage record");
}

Device AllocatorLink::deviceCall(const char *method, const char *endpoint, const std::string &path, const Json &body,
				 const std::string &what)
{
	HttpResult r = call(method, endpoint, path, body.is_null() ? std::string() : body.dump());
	if (r.status != 200 && r.status != 201)
		refuse(r, url(), what);
	try {
		return Json::parse(r.body).at("device").get<Device>();
	} catch (const Json::exception &) {
		throw Refusal(Refusal::AllocatorBroken, "allocator_error",
			      fmt::format("the allocator at {} answered {} with a device this agent cannot read", url(), what));
	}
}

Device AllocatorLink::addDevice(const std::string &sku)
{
	return deviceCall("POST", "/v1/devices", "/v1/devices", Json{{"sku", sku}}, "to add a device");
}

Device AllocatorLink::resizeDevice(const std::string &deviceId, const std::string &sku)
{
	return deviceCall("PATCH", "/v1/devices/{}", "/v1/devices/" + deviceId, Json{{"sku", sku}}, "the size change");
}

Device AllocatorLink::removeDevice(const std::string &deviceId)
{
	return deviceCall("DELETE", "/v1/devices/{}", "/v1/devices/" + deviceId, Json(), "to remove the device");
}

std::vector<UsageRecord> AllocatorLink::usage(TimeMs since)
{
	HttpResult r = call("GET", "/v1/usage", "/v1/usage?since=" + formatTime(since));
	if (r.status != 200)
		refuse(r, url(), "the usage list");
	try {
		return Json::parse(r.body).at("records").get<std::vector<UsageRecord>>();
	} catch (const Json::exception &e) {
		throw Refusal(Refusal::AllocatorBroken, "allocator_error",
			      fmt::format("the allocator at {} sent usage records this agent cannot read: {}", url(), e.what()));
	}
}

std::vector<PhysicalGpu> AllocatorLink::allocationGpus(const std::string &jobId, long withinMs)
{
	HttpResult r = call("GET", "/v1/allocations/{}/gpus", "/v1/allocations/" + jobId + "/gpus", {}, {}, withinMs);
	if (r.status != 200)
		refuse(r, url(), "the job's GPUs");
	try {
		return Json::parse(r.body).at("gpus").get<std::vector<PhysicalGpu>>();
	} catch (const Json::exception &e) {
		throw Refusal(Refusal::AllocatorBroken, "allocator_error",
			      fmt::format("the allocator at {} sent GPUs this agent cannot read: {}", url(), e.what()));
	}
}

std::string AllocatorLink::version()
{
	HttpResult r = call("GET", "/v1/version", "/v1/version");
	if (r.status != 200)
		throw Error(Errc::Failure, fmt::format("the allocator at {} refused GET /v1/version: {}", url(), refusal(r)));
	Json j = Json::parse(r.body, nullptr, false);
	if (j.is_discarded() || !j.is_object())
		throw Error(Errc::Failure, fmt::format("the allocator at {} sent a version that is not JSON", url()));
	return j.value("version", "");
}

} // namespace hac
