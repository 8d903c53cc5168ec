// Routes and answers of the allocator API. Input is checked field by field so a bad request gets
// a 400 naming the field; the store decides, this file maps its outcomes to HTTP.
#include "api.hpp"

#include <algorithm>
#include <chrono>
#include <cctype>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <hac/billing.hpp>
#include <hac/json.hpp>
#include <hac/time.hpp>
#include <hac/uuid.hpp>
#include <service/api_error.hpp>
#include <service/request_fields.hpp>
#include <service/router.hpp>

namespace hac::allocator {

namespace {

ApiError badRequest(const std::string &message)
{
	return {400, "bad_request", message};
}

std::string lower(std::string s)
{
	for (char &c : s)
		c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
	return s;
}

std::string trim(const std::string &s)
{
	auto begin = s.find_first_not_of(" \t\r\n");
	if (begin == std::string::npos)
		return {};
	return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// Compares in constant time (OpenSSL's CRYPTO_memcmp, which a compiler cannot turn into an early
// exit), so answer times say nothing of how much of a token matched.
bool sameSecret(const std::string &a, const std::string &b)
{
	return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

// A token's SHA-256: the key tokens are found by. Finding the digest in a map takes a time that
// depends on the digest, which says nothing an attacker can use about any token.
std::string Api::tokenDigest(const std::string &token)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int size = 0;
	if (EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr) != 1)
		throw std::runtime_error("SHA-256 failed");
	return std::string(reinterpret_cast<const char *>(digest), size);
}

Api::Api(const Config &config, Store &store, SlurmFarm *farm)
	: config_(config), store_(store), farm_(farm), releases_(config.releases), metrics_(config)
{
	for (const TokenConfig &t : config_.tokens)
		tokensByDigest_.emplace(tokenDigest(t.token), &t);
	for (const NodeTokenConfig &t : config_.nodeTokens)
		nodeTokensByDigest_.emplace(tokenDigest(t.token), &t);
}

namespace {

// The allocator's kinds of field, read as both daemons read fields (service/request_fields.hpp).
std::optional<std::string> optionalString(const Json &j, const char *key)
{
	if (!hasField(j, key))
		return std::nullopt;
	return field<std::string>(j, key, "a string");
}

// An empty string is as good as none.
std::string requiredString(const Json &j, const char *key)
{
	std::string v = field<std::string>(j, key, "a string");
	if (v.empty())
		throw badRequest(fmt::format("the field '{}' is empty; it must be a string", key));
	return v;
}

std::string requiredUuid(const Json &j, const char *key)
{
	std::string v = requiredString(j, key);
	if (!isUuid(v))
		throw badRequest(fmt::format("the field '{}' must be a UUID, not '{}'", key, printable(v)));
	return lower(v);
}

int requiredInt(const Json &j, const char *key, int min, int max)
{
	std::string range = fmt::format("a whole number from {} to {}", min, max);
	auto v = field<std::int64_t>(j, key, range.c_str());
	if (v < min || v > max)
		throw badRequest(fmt::format("the field '{}' must be {}", key, range));
	return static_cast<int>(v);
}

constexpr const char *kTimeExample = "2026-11-23T17:30:00.000Z";

TimeMs requiredTime(const Json &j, const char *key)
{
	std::string v = requiredString(j, key);
	auto t = parseTime(v);
	if (!t)
		throw badRequest(fmt::format("the field '{}' must be an RFC 3339 UTC time such as {}", key, kTimeExample));
	return *t;
}

// Keyed requests carry their job id as Idempotency-Key (API.md, "Idempotency").
void checkIdempotencyKey(const Request &req, const std::string &jobId)
{
	std::string key = lower(trim(req.header("idempotency-key")));
	if (key.empty())
		throw badRequest("the Idempotency-Key header is missing; send the job_id in it");
	if (key != jobId)
		throw badRequest(fmt::format("the Idempotency-Key header ({}) must equal the body's job_id ({})",
					     printable(key), jobId));
}

Json allocationJson(const Allocation &a)
{
	Json placement = Json::array();
	for (const PlacedGpu &g : a.placement)
		placement.push_back({{"node", g.node}, {"gpu", g.gpu}});
	return Json{
		{"job_id", a.jobId},
		{"device_id", a.deviceId},
		{"sku", a.sku},
		{"gpus", a.gpus},
		{"placement", placement},
		{"allocated_at", formatTime(a.allocatedAt)},
		{"released_at", a.releasedAt ? Json(formatTime(*a.releasedAt)) : Json(nullptr)},
	};
}

// The device id of a path segment: a UUID, in lower case.
std::string deviceIdIn(const std::string &segment)
{
	std::string id = lower(segment);
	if (!isUuid(id))
		throw badRequest(fmt::format("'{}' in the path is not a device id (a UUID); GET /v1/devices lists them",
					     printable(segment)));
	return id;
}

} // namespace

Response Api::handle(const Request &request) const
{
	auto start = std::chrono::steady_clock::now();
	std::string account = "-";
	const char *pattern = "other";
	Response response;
	try {
		response = route(request, account, pattern);
	} catch (const ApiError &e) {
		response = e.response();
	} catch (const Json::exception &e) {
		response = Response::error(400, "bad_request", fmt::format("the request body has the wrong shape: {}", e.what()));
	} catch (const std::exception &e) {
		spdlog::error("{} {}: {}", printable(request.method, 16), printable(request.path, 200), e.what());
		response = Response::error(500, "internal", fmt::format("the allocator failed: {}", e.what()));
	}
	metrics_.request(request.method, pattern, response.status,
			 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
	// The path and the account name only: never a header, the token lives in one. A scrape of
	// /metrics (every few seconds) only at debug level.
	spdlog::log(request.path == "/metrics" && response.status == 200 ? spdlog::level::debug : spdlog::level::info,
		    "{} {} -> {} (account {})", printable(request.method, 16), printable(request.path, 200),
		    response.status, account);
	return response;
}

Response Api::route(const Request &req, std::string &account, const char *&pattern) const
{
	// Signed content, verified by the client: no token, as the tools that fetch it have none.
	if (Releases::owns(req.path)) {
		pattern = "/v1/releases";
		requireMethod(req, "GET");
		return releases_.handle(req);
	}
	// What a route answers: `token` says whether it needs the caller's device token (then `caller`
	// is the account it names, else null).
	struct Endpoint {
		bool token;
		Response (*answer)(const Api &api, const Request &req, const std::vector<std::string> &params,
				   const TokenConfig *caller);
	};
	using P = const std::vector<std::string> &;
	static const std::vector<Route<Endpoint>> routes = {
		{"GET", "/v1/version", {false, [](const Api &api, const Request &, P, const TokenConfig *) { return api.version(); }}},
		// No token, as /v1/version: the figures name no account, token or job (allocator/API.md).
		{"GET", "/metrics", {false, [](const Api &api, const Request &, P, const TokenConfig *) {
			Response r;
			api.metrics_.setNodesReporting(static_cast<double>(api.telemetry_.nodesSince(nowMs() - 60'000)));
			r.body = api.metrics_.render(api.store_);
			r.contentType = metrics::kContentType;
			return r;
		}}},
		{"GET", "/v1/skus", {true, [](const Api &api, const Request &, P, const TokenConfig *) { return api.skus(); }}},
		{"POST", "/v1/agents/register", {true, [](const Api &api, const Request &r, P, const TokenConfig *c) {
			return api.registerAgent(r, *c);
		}}},
		{"POST", "/v1/allocations", {true, [](const Api &api, const Request &r, P, const TokenConfig *c) {
			return api.allocate(r, *c);
		}}},
		{"DELETE", "/v1/allocations/{}", {true, [](const Api &api, const Request &, P p, const TokenConfig *c) {
			return api.release(p[0], *c);
		}}},
		{"GET", "/v1/allocations/{}/gpus", {true, [](const Api &api, const Request &, P p, const TokenConfig *c) {
			return api.allocationGpus(p[0], *c);
		}}},
		// A farm node's credential, not a device token: checked by reportTelemetry for its node.
		{"POST", "/v1/nodes/{}/telemetry", {false, [](const Api &api, const Request &r, P p, const TokenConfig *) {
			return api.reportTelemetry(r, p[0]);
		}}},
		{"GET", "/v1/devices", {true, [](const Api &api, const Request &, P, const TokenConfig *c) {
			return api.listDevices(*c);
		}}},
		{"POST", "/v1/devices", {true, [](const Api &api, const Request &r, P, const TokenConfig *c) {
			return api.addDevice(r, *c);
		}}},
		{"PATCH", "/v1/devices/{}", {true, [](const Api &api, const Request &r, P p, const TokenConfig *c) {
			return api.resizeDevice(r, deviceIdIn(p[0]), *c);
		}}},
		{"DELETE", "/v1/devices/{}", {true, [](const Api &api, const Request &, P p, const TokenConfig *c) {
			return api.removeDevice(deviceIdIn(p[0]), *c);
		}}},
		{"GET", "/v1/usage", {true, [](const Api &api, const Request &r, P, const TokenConfig *c) {
			return api.listUsage(r, *c);
		}}},
		{"POST", "/v1/usage", {true, [](const Api &api, const Request &r, P, const TokenConfig *c) {
			return api.recordUsage(r, *c);
		}}},
	};
	std::vector<std::string> params;
	const Endpoint &endpoint = findRoute(routes, req, params, "allocator/API.md", &pattern);
	const TokenConfig *caller = nullptr;
	if (endpoint.token) {
		caller = &authenticate(req);
		account = caller->name;
	}
	return endpoint.answer(*this, req, params, caller);
}

namespace {

// The token of 'Authorization: Bearer <token>', or a 401 saying what is wrong with the header;
// `kind` names the credential expected ("device token", "node token").
std::string bearerToken(const Request &req, const char *kind)
{
	std::string header = trim(req.header("authorization"));
	if (header.empty())
		throw ApiError{401, "unauthorized", fmt::format("the Authorization header is missing; send 'Authorization: Bearer <{}>'", kind)}
			.withHeader("WWW-Authenticate", "Bearer");
	if (header.size() < 7 || lower(header.substr(0, 7)) != "bearer ")
		throw ApiError{401, "unauthorized", fmt::format("the Authorization header is not 'Bearer <{}>'", kind)}
			.withHeader("WWW-Authenticate", "Bearer");
	return trim(header.substr(7));
}

// Found by its digest, then compared in constant time; one lookup whatever the number of tokens
// (a fleet's allocator knows thousands).
template <typename T>
const T *findToken(const std::unordered_map<std::string, const T *> &byDigest, const std::string &digest,
		   const std::string &token)
{
	auto it = byDigest.find(digest);
	return it != byDigest.end() && sameSecret(it->second->token, token) ? it->second : nullptr;
}

} // namespace

const TokenConfig &Api::authenticate(const Request &req) const
{
	std::string token = bearerToken(req, "device token");
	std::string digest = tokenDigest(token);
	if (const TokenConfig *found = findToken(tokensByDigest_, digest, token))
		return *found;
	if (findToken(nodeTokensByDigest_, digest, token))
		throw ApiError{403, "not_a_device_token", "this is a farm node's credential ([[node_token]]); it can only "
			       "report telemetry (POST /v1/nodes/{node}/telemetry)"};
	throw ApiError{401, "unknown_token", "this allocator does not know the device token; check the agent's "
		       "token file against the allocator's [[token]] list"}
		.withHeader("WWW-Authenticate", "Bearer");
}

void Api::authenticateNode(const Request &req, const std::string &node) const
{
	std::string token = bearerToken(req, "node token");
	std::string digest = tokenDigest(token);
	const NodeTokenConfig *found = findToken(nodeTokensByDigest_, digest, token);
	if (!found && findToken(tokensByDigest_, digest, token))
		throw ApiError{403, "not_a_node_credential", "a device token cannot report a node's figures; give "
			       "hac-node-report a credential of the allocator's [[node_token]] list"};
	if (!found)
		throw ApiError{401, "unknown_token", "this allocator does not know the node credential; check "
			       "hac-node-report's --token-file against the allocator's [[node_token]] list"}
			.withHeader("WWW-Authenticate", "Bearer");
	if (!found->allows(node))
		throw ApiError{403, "node_not_allowed",
			       fmt::format("this credential may not report for node '{}'; its [[node_token]] allows {}",
					   node, fmt::join(found->nodes, ", "))};
}

Response Api::version() const
{
	return Response::json(200, {{"name", "hac-allocator"}, {"version", HAC_VERSION}, {"api_version", kApiVersion}});
}

Response Api::registerAgent(const Request &req, const TokenConfig &caller) const
{
	Json body = requestBody(req.body, true);
	std::string agentVersion = optionalString(body, "agent_version").value_or("");
	std::string hostname = optionalString(body, "hostname").value_or("");
	store_.noteAgent(caller.name, hostname, agentVersion);
	metrics_.agentSeen(caller.name, hostname,
			   hasField(body, "heartbeat_seconds") ? requiredInt(body, "heartbeat_seconds", 1, 86400) : 30);

	Json devices = Json::array();
	for (const StoredDevice &sd : store_.devices(caller.name))
		devices.push_back(deviceJson(sd));
	return Response::json(200, {
		{"account", caller.name},
		{"devices", devices},
		{"max_devices", caller.maxDevices},
		{"allowed_skus", caller.allowedSkus},
		{"skus", config_.catalog.skus()},
	});
}

Response Api::skus() const
{
	return Response::json(200, {{"skus", config_.catalog.skus()}});
}

// A device's size follows its SKU as the catalog has it now.
Json Api::deviceJson(const StoredDevice &sd) const
{
	Device d;
	d.index = sd.index;
	d.id = sd.id;
	d.name = config_.deviceName;
	d.sku = sd.sku;
	if (const Sku *sku = config_.catalog.find(sd.sku)) {
		d.gpus = sku->gpus;
		d.memoryTotalMib = sku->memoryMib();
	}
	Json j = d;
	// Memory in use, utilization and the current device are the agent's to know, not ours.
	j.erase("memory_used_mib");
	j.erase("utilization_pct");
	j.erase("current");
	return j;
}

// The body's "sku", which must name a SKU of the catalog.
const Sku &Api::catalogSku(const Json &body) const
{
	std::string name = requiredString(body, "sku");
	const Sku *sku = config_.catalog.find(name);
	if (!sku)
		throw ApiError{400, "unknown_sku",
			       fmt::format("'{}' is not a SKU of the catalog; it has {}", printable(name),
					   fmt::join(config_.catalog.names(), ", "))};
	return *sku;
}

namespace {

bool mayUse(const TokenConfig &caller, const std::string &sku)
{
	return std::find(caller.allowedSkus.begin(), caller.allowedSkus.end(), sku) != caller.allowedSkus.end();
}

ApiError skuNotAllowed(const TokenConfig &caller, const std::string &sku)
{
	return {403, "sku_not_allowed",
		fmt::format("this token may not use SKU '{}'; it may use {}. The allocator's operator sets them "
			    "(allowed_skus of the token)", sku, fmt::join(caller.allowedSkus, ", "))};
}

ApiError unknownDevice(const std::string &deviceId)
{
	return {404, "unknown_device",
		fmt::format("device {} is not one of this token's devices; GET /v1/devices lists them", deviceId)};
}

ApiError deviceBusy(const std::string &deviceId, const std::string &job, const char *what)
{
	return {409, "device_busy",
		fmt::format("device {} is in use by job {} and cannot be {} while the job holds it; wait for it to "
			    "end or release it with DELETE /v1/allocations/{}", deviceId, job, what, job)};
}

} // namespace

Response Api::listDevices(const TokenConfig &caller) const
{
	Json devices = Json::array();
	for (const StoredDevice &sd : store_.devices(caller.name))
		devices.push_back(deviceJson(sd));
	return Response::json(200, {
		{"devices", devices},
		{"max_devices", caller.maxDevices},
		{"allowed_skus", caller.allowedSkus},
	});
}

Response Api::addDevice(const Request &req, const TokenConfig &caller) const
{
	Json body = requestBody(req.body, false);
	const Sku &sku = catalogSku(body);
	if (!mayUse(caller, sku.name))
		throw skuNotAllowed(caller, sku.name);
	AddDeviceResult r = store_.addDevice(caller.name, sku.name, caller.maxDevices);
	if (r.kind == AddDeviceResult::Kind::Limit)
		throw ApiError{409, "device_limit",
			       fmt::format("this token may have at most {} device(s); remove one with 'hac-smi device rm N' "
					   "or ask the operator to raise max_devices", caller.maxDevices)};
	return Response::json(201, {{"device", deviceJson(r.device)}, {"added_at", formatTime(r.device.createdAt)}});
}

Response Api::resizeDevice(const Request &req, const std::string &deviceId, const TokenConfig &caller) const
{
	Json body = requestBody(req.body, false);
	const Sku &sku = catalogSku(body);
	ResizeResult r = store_.resizeDevice(caller.name, deviceId, sku.name, mayUse(caller, sku.name));
	using Kind = ResizeResult::Kind;
	switch (r.kind) {
	case Kind::Resized:
	case Kind::Unchanged:
		return Response::json(200, {
			{"device", deviceJson(r.device)},
			{"previous_sku", r.previousSku},
			{"changed_at", formatTime(r.changedAt)},
			{"changed", r.kind == Kind::Resized},
		});
	case Kind::UnknownDevice:
		throw unknownDevice(deviceId);
	case Kind::NotAllowed:
		throw skuNotAllowed(caller, sku.name);
	case Kind::DeviceBusy:
		throw deviceBusy(deviceId, r.busyJob, "resized");
	}
	throw std::logic_error("unhandled resize outcome");
}

Response Api::removeDevice(const std::string &deviceId, const TokenConfig &caller) const
{
	RemoveResult r = store_.removeDevice(caller.name, deviceId);
	using Kind = RemoveResult::Kind;
	switch (r.kind) {
	case Kind::Removed:
		return Response::json(200, {{"device", deviceJson(r.device)}, {"removed_at", formatTime(r.removedAt)}});
	case Kind::UnknownDevice:
		throw unknownDevice(deviceId);
	case Kind::DeviceBusy:
		throw deviceBusy(deviceId, r.busyJob, "removed");
	}
	throw std::logic_error("unhandled removal outcome");
}

Response Api::allocate(const Request &req, const TokenConfig &caller) const
{
	Json body = requestBody(req.body, false);
	std::string jobId = requiredUuid(body, "job_id");
	std::string deviceId = lower(requiredString(body, "device_id"));
	checkIdempotencyKey(req, jobId);

	AllocateResult r;
	{
		auto call = metrics_.timeBackend(farm_ ? "slurm" : "simulated", "allocate");
		r = farm_ ? farm_->allocate(caller.name, jobId, deviceId, config_.catalog)
			  : store_.allocate(caller.name, jobId, deviceId, config_.catalog, config_.inventory);
		if (r.kind != AllocateResult::Kind::PlacementDown)
			call.ok();
	}
	using Kind = AllocateResult::Kind;
	switch (r.kind) {
	case Kind::Created:
		return Response::json(201, allocationJson(r.allocation));
	case Kind::Replayed:
		return Response::json(200, allocationJson(r.allocation));
	case Kind::Conflict:
		throw ApiError{409, "idempotency_conflict",
			       fmt::format("{}; a new job needs a new job_id", r.detail)};
	case Kind::UnknownDevice:
		throw ApiError{404, "unknown_device",
			       fmt::format("device {} is not one of this token's devices; POST /v1/agents/register "
					   "lists them", printable(deviceId))};
	case Kind::UnknownSku:
		throw ApiError{500, "internal",
			       fmt::format("the device's SKU '{}' is missing from the allocator's catalog; the operator "
					   "must add it back to the [[sku]] list", r.detail)};
	case Kind::DeviceBusy:
		throw ApiError{409, "device_busy",
			       fmt::format("device {} is in use by job {}; wait for it to end or release it with "
					   "DELETE /v1/allocations/{}", deviceId, r.detail, r.detail)};
	case Kind::FarmFull: {
		metrics_.farmFull();
		int retry = config_.retryAfterSeconds;
		std::string why = !r.detail.empty() ? r.detail
			: r.neededGpus > r.totalGpus ? fmt::format("the farm has only {} GPUs in all", r.totalGpus)
			: fmt::format("{} of {} are free", r.freeGpus, r.totalGpus);
		throw ApiError{503, "farm_full",
			       fmt::format("no room in the farm: job {} needs {} GPUs and {}; retry in {} s", jobId,
					   r.neededGpus, why, retry)}
			.withHeader("Retry-After", std::to_string(retry));
	}
	case Kind::NeverFits:
		throw ApiError{409, "farm_too_small",
			       fmt::format("no room in the farm, ever: job {} needs {} GPUs; {}; resize the device to a "
					   "smaller SKU or ask the operator", jobId, r.neededGpus, r.detail)};
	case Kind::PlacementDown: {
		int retry = config_.retryAfterSeconds;
		throw ApiError{503, "placement_unavailable",
			       fmt::format("the farm's scheduler did not answer: {}; nothing was lent; retry in {} s",
					   r.detail, retry)}
			.withHeader("Retry-After", std::to_string(retry));
	}
	}
	throw std::logic_error("unhandled allocation outcome");
}

Response Api::release(const std::string &rawJobId, const TokenConfig &caller) const
{
	std::string jobId = lower(rawJobId);
	if (!isUuid(jobId))
		throw badRequest(fmt::format("'{}' in the path is not a job id (a UUID)", printable(rawJobId)));
	ReleaseResult r;
	{
		// On Slurm the cancel itself follows, made by SlurmFarm's thread.
		auto call = metrics_.timeBackend(farm_ ? "slurm" : "simulated", "release");
		r = store_.release(caller.name, jobId);
		call.ok();
	}
	if (farm_)
		farm_->wake();
	if (!r.found)
		throw ApiError{404, "unknown_allocation",
			       fmt::format("there is no allocation for job {} under this token", jobId)};
	return Response::json(200, {{"job_id", jobId}, {"released_at", formatTime(r.releasedAt)}});
}

Response Api::reportTelemetry(const Request &req, const std::string &node) const
{
	if (!validNodeName(node))
		throw badRequest(fmt::format("'{}' in the path is not a node name (1 to 64 of A-Z a-z 0-9 . - _)",
					     printable(node)));
	authenticateNode(req, node);
	NodeReport report = parseNodeReport(requestBody(req.body, false), nowMs());
	Json answer{{"node", node}, {"gpus", report.gpus.size()}, {"received_at", formatTime(report.receivedAt)}};
	telemetry_.report(node, std::move(report));
	return Response::json(200, answer);
}

Response Api::allocationGpus(const std::string &rawJobId, const TokenConfig &caller) const
{
	std::string jobId = lower(rawJobId);
	if (!isUuid(jobId))
		throw badRequest(fmt::format("'{}' in the path is not a job id (a UUID)", printable(rawJobId)));
	std::optional<Allocation> a = store_.allocation(jobId);
	// Another account's job is answered as no job at all: its existence is not ours to tell.
	if (!a || a->account != caller.name)
		throw ApiError{404, "unknown_allocation",
			       fmt::format("there is no allocation for job {} under this token", jobId)};
	if (a->releasedAt)
		throw ApiError{409, "allocation_released",
			       fmt::format("job {}'s GPUs were given back at {}", jobId, formatTime(*a->releasedAt)),
			       {{"released_at", formatTime(*a->releasedAt)}}};
	const Sku *sku = config_.catalog.find(a->sku);
	TimeMs now = nowMs();
	Json gpus = Json::array();
	for (const PlacedGpu &g : a->placement) {
		std::optional<PhysicalGpu> known = telemetry_.gpu(g.node, g.gpu);
		// Nobody reports the simulated farm's GPUs: it makes its own figures, marked as such.
		if (!known && !farm_)
			known = simulatedGpu(jobId, g, sku ? std::int64_t{sku->gpuMemoryGib} * 1024 : 0, now);
		PhysicalGpu gpu = known.value_or(PhysicalGpu{});
		gpu.node = g.node;
		gpu.gpu = g.gpu;
		// The device and the job are the agent's to add (agent/API.md, GET /v1/gpus).
		Json j = gpu;
		j.erase("device");
		j.erase("job_id");
		gpus.push_back(std::move(j));
	}
	return Response::json(200, {{"job_id", jobId}, {"sku", a->sku}, {"gpus", gpus}});
}

namespace {

// The stored record with the currency of its SKU, which the store leaves to the catalog.
Json usageJson(UsageRecord u, const Catalog &catalog)
{
	if (const Sku *sku = catalog.find(u.sku))
		u.currency = sku->currency;
	return Json(u);
}

} // namespace

Response Api::recordUsage(const Request &req, const TokenConfig &caller) const
{
	Json body = requestBody(req.body, false);
	UsageRecord u;
	u.jobId = requiredUuid(body, "job_id");
	u.deviceId = lower(requiredString(body, "device_id"));
	u.sku = requiredString(body, "sku");
	u.gpus = requiredInt(body, "gpus", 0, 1 << 20);
	u.startedAt = requiredTime(body, "started_at");
	u.endedAt = requiredTime(body, "ended_at");
	if (u.endedAt < u.startedAt)
		throw badRequest("the field 'ended_at' is before 'started_at'");
	u.billable = field<bool>(body, "billable", "true or false", true);
	u.endReason = optionalString(body, "end_reason").value_or("");
	u.reconstructed = field<bool>(body, "reconstructed", "true or false", false);
	checkIdempotencyKey(req, u.jobId);

	RecordResult r = store_.recordUsage(caller.name, u, config_.catalog);
	if (farm_ && r.kind == RecordResult::Kind::Created)
		farm_->wake();   // the record released the job's hold: cancel it now
	using Kind = RecordResult::Kind;
	if (r.kind == Kind::Created)
		metrics_.usageRecorded(r.record.sku, r.record.billable ? billedMinutes(r.record.startedAt, r.record.endedAt) *
								       r.record.gpus : 0);
	switch (r.kind) {
	case Kind::Created:
	case Kind::Replayed:
		return Response::json(r.kind == Kind::Created ? 201 : 200,
				      {{"job_id", r.record.jobId},
				       {"recorded_at", formatTime(r.record.recordedAt.value_or(0))},
				       {"cost_micro", r.record.costMicro}});
	case Kind::Conflict:
		throw ApiError{409, "idempotency_conflict",
			       fmt::format("usage of job {} is already recorded with other values: {}", u.jobId, r.detail)};
	case Kind::UnknownDevice:
		throw ApiError{404, "unknown_device",
			       fmt::format("device {} has never been one of this token's devices", printable(u.deviceId))};
	case Kind::UnknownSku:
		throw badRequest(fmt::format("the field 'sku': '{}' is not in the catalog; GET /v1/skus lists it",
					     printable(r.detail)));
	}
	throw std::logic_error("unhandled usage outcome");
}

Response Api::listUsage(const Request &req, const TokenConfig &caller) const
{
	std::optional<TimeMs> bounds[2];
	const char *names[2] = {"since", "until"};
	for (const auto &[name, value] : req.query) {
		auto it = std::find(std::begin(names), std::end(names), name);
		if (it == std::end(names))
			throw badRequest(fmt::format("unknown query parameter '{}'; use since and until",
						     printable(name)));
		auto t = parseTime(value);
		if (!t)
			throw badRequest(fmt::format("query parameter '{}' is not an RFC 3339 UTC time such as {}", name,
						     kTimeExample));
		bounds[it - std::begin(names)] = t;
	}
	Json records = Json::array();
	for (const UsageRecord &u : store_.usage(caller.name, bounds[0], bounds[1]))
		records.push_back(usageJson(u, config_.catalog));
	return Response::json(200, {{"records", records}});
}

} // namespace hac::allocator
