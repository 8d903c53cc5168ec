// hac-bench-fleet: a fleet of hac-agents simulated in one process against a hac-allocator on
// loopback (issue 15). Each agent is a state machine driven from one thread over libcurl's multi
// interface, speaking the allocator API as hac-agent does (agent/allocator_link.cpp):
// register at start and every 30 s +-20% (the heartbeat), jobs arriving as a Poisson process with
// lognormal durations, each job allocate -> hold -> usage record (Idempotency-Key: the job id),
// 503 farm_full honoured through Retry-After, 1% of answers dropped and the request replayed with
// the same key, 0.1% of agents crashing and replaying their outbox after a restart.
//
//   hac-bench-fleet config --agents N [--busy F] [--database PATH] ...   the allocator's config
//   hac-bench-fleet run --url URL --agents N [--compress C] ...          the fleet; rows on stdout
//   hac-bench-fleet check --database DB --billed FILE                    the invariants, afterwards
//
// By default the simulated farm is sized to the load (--busy of it in phase 1). With --farm-nodes K
// the farm is given, as a Slurm farm is, and the load is sized to it: the job interval is chosen so
// that phase 1 keeps K nodes --busy full. `config --slurm unix:PATH` writes the allocator's config
// for the Slurm backend (slurmrestd on that socket, --partition, a short queue_seconds), and
// `check --slurm-checks` also wants every allocation held by a Slurm job of its own and no hold or
// cancel left. The GPU check keys on the placement's node, a name (Slurm's f01..) or a number.
//
// Time is simulated: sim seconds = wall seconds x --compress. A run is bounded in wall time and
// requests (--max-wall, --max-requests) and stops by itself: after phase 1 (jobs sized so the farm
// is --busy full) and phase 2 (--overload x that), no job starts, every job running ends at once,
// and the run waits for the outboxes to empty. `run` writes the bills it was acknowledged
// (--billed FILE: job id and cost, one a line) for `check`, which reads the allocator's database
// once it is stopped. Both exit 1 when an invariant breaks.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include <curl/curl.h>
#include <fmt/core.h>
#include <sqlite3.h>

#include <hac/billing.hpp>
#include <hac/json.hpp>
#include <hac/time.hpp>

#include "../bench_row.hpp"

namespace {

using hac::Json;
using hac::bench::Clock;

// ---------------------------------------------------------------------------------------------
// Options shared by the subcommands.

struct Sizing {
	int agents = 100;
	double jobIntervalS = 600;   // mean time between a job's arrivals at one agent (simulated s)
	double durationMedianS = 60; // lognormal job durations: median and sigma (of the log)
	double durationSigma = 1.0;
	double busy = 0.7;           // phase 1: the farm's expected busy fraction
	int gpusPerNode = 8;
	int farmNodes = 0;           // --farm-nodes: a farm of this size is given (Slurm's), and the
	                             // job interval is sized to it instead of the farm to the load

	double meanDurationS() const { return durationMedianS * std::exp(durationSigma * durationSigma / 2); }
};

// The SKU mix: 7 in 10 agents have a 1-GPU device, 2 a 2-GPU one, 1 a 4-GPU one (the default catalog).
struct SkuChoice {
	const char *name;
	int gpus;
};
SkuChoice skuOf(int agent)
{
	int r = agent % 10;
	if (r < 7)
		return {"Small.16GB", 1};
	if (r < 9)
		return {"Medium.32GB", 2};
	return {"Large.64GB", 4};
}

std::string tokenOf(int agent) { return fmt::format("fleet-agent-token-{:06d}", agent); }
std::string accountOf(int agent) { return fmt::format("agent-{:06d}", agent); }

// GPUs the fleet keeps busy on average (Little's law; each agent runs one job at a time, which
// holds while an agent is busy a small part of the time).
double expectedBusyGpus(const Sizing &s)
{
	double gpus = 0;
	for (int i = 0; i < s.agents; ++i)
		gpus += skuOf(i).gpus;
	return gpus * s.meanDurationS() / s.jobIntervalS;
}

int farmNodes(const Sizing &s)
{
	if (s.farmNodes > 0)
		return s.farmNodes;
	double gpus = expectedBusyGpus(s) / s.busy;
	return std::max(1, static_cast<int>(std::lround(gpus / s.gpusPerNode)));
}

// For a given farm (--farm-nodes): the mean time between a job's arrivals at one agent that keeps
// it --busy full (Little's law again: busy GPUs = the fleet's GPUs x mean duration / interval).
void fitToFarm(Sizing &s)
{
	if (s.farmNodes <= 0)
		return;
	double fleetGpus = 0;
	for (int i = 0; i < s.agents; ++i)
		fleetGpus += skuOf(i).gpus;
	s.jobIntervalS = fleetGpus * s.meanDurationS() / (s.busy * s.farmNodes * s.gpusPerNode);
}

// ---------------------------------------------------------------------------------------------
// The run.

struct RunOptions {
	Sizing sizing;
	std::string url;
	std::string label;
	double compress = 60;
	double phase1S = 1200, phase2S = 600;  // simulated seconds
	double overload = 110.0 / 70.0;        // phase 2's arrival rate against phase 1's
	double dropRate = 0.01, crashRate = 0.001;
	int connections = 32;
	double maxWallS = 0;                   // 0: 3 x the planned wall time + 60 s
	long maxRequests = 0;                  // 0: from the planned load
	std::string billedFile;
	int allocatorPid = 0;
	std::string database;
	unsigned seed = 15;
	int nodes = 0;                         // for the rows
	std::string backend = "simulated";     // the allocator's placement backend, for the rows
};

enum class Kind { Register, Allocate, Usage };
const char *kindName(Kind k) { return k == Kind::Register ? "register" : k == Kind::Allocate ? "allocate" : "usage"; }

enum class JobState { None, Allocating, Waiting, Running, Recording };

struct Agent {
	int id = 0;
	std::string auth;        // "Authorization: Bearer ..."
	std::string hostname;
	std::string deviceId;    // learnt from the registration
	std::string sku;
	int gpus = 0;
	std::int64_t price = 0;
	bool registered = false;
	bool registerInFlight = false;
	bool crashed = false;
	unsigned generation = 0; // bumped on a crash: events and answers of before are ignored
	unsigned arrivals = 0;   // bumped when phase 2 starts: the next arrival drawn at phase 1's rate is dropped
	int pending = 0;         // jobs arrived, not started
	JobState state = JobState::None;
	std::string jobId;
	hac::TimeMs jobStart = 0, jobEnd = 0;
	double jobDurationS = 0;
	std::optional<std::string> outbox; // the usage record not yet acknowledged
	std::int64_t outboxCost = 0;
};

struct Request {
	int agent = 0;
	unsigned generation = 0;
	Kind kind = Kind::Register;
	std::string path;
	std::string body;
	std::string key;                   // Idempotency-Key, or empty
	Clock::time_point queuedAt, sentAt;
	std::string response;
	std::string retryAfter;
	CURL *easy = nullptr;
	curl_slist *headers = nullptr;
	bool replay = false;               // sent again after a dropped answer
	std::int64_t cost = 0;             // Usage: what the simulator bills
};

enum class EventKind { Heartbeat, Arrival, JobEnd, Retry, Crash, Restart, Resend, Overload, Drain };
struct Event {
	Clock::time_point at;
	EventKind kind;
	int agent;
	unsigned generation;
	std::shared_ptr<Request> request;  // Resend
	unsigned arrivals = 0;             // Arrival: the agent's arrival draw it belongs to
	bool operator>(const Event &o) const { return at > o.at; }
};

struct ProcSample {
	double cpuS = 0;
	double rssMib = 0, hwmMib = 0, pssMib = 0;
	int fds = 0;
};

std::optional<ProcSample> sampleProcess(int pid)
{
	if (pid <= 0)
		return std::nullopt;
	ProcSample s;
	{
		std::ifstream stat(fmt::format("/proc/{}/stat", pid));
		std::string text((std::istreambuf_iterator<char>(stat)), {});
		auto close = text.rfind(')');
		if (close == std::string::npos)
			return std::nullopt;
		std::istringstream rest(text.substr(close + 2));
		std::string f;
		std::vector<std::string> fields;
		while (rest >> f)
			fields.push_back(f);
		if (fields.size() < 13)
			return std::nullopt;
		s.cpuS = (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
	}
	auto kib = [](const std::string &file, const char *key) {
		std::ifstream in(file);
		std::string line;
		while (std::getline(in, line))
			if (line.rfind(key, 0) == 0)
				return std::stod(line.substr(std::strlen(key))) / 1024;
		return 0.0;
	};
	s.rssMib = kib(fmt::format("/proc/{}/status", pid), "VmRSS:");
	s.hwmMib = kib(fmt::format("/proc/{}/status", pid), "VmHWM:");
	s.pssMib = kib(fmt::format("/proc/{}/smaps_rollup", pid), "Pss:");
	if (DIR *d = opendir(fmt::format("/proc/{}/fd", pid).c_str())) {
		while (dirent *e = readdir(d))
			if (e->d_name[0] != '.')
				++s.fds;
		closedir(d);
	}
	return s;
}

double fileMib(const std::string &path)
{
	struct stat st {};
	return stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) / (1 << 20) : 0;
}

class Fleet {
public:
	explicit Fleet(const RunOptions &o) : o_(o), rng_(o.seed)
	{
		multi_ = curl_multi_init();
		curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(o.connections));
		curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(o.connections));
		curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(o.connections));
		agents_.resize(static_cast<std::size_t>(o.sizing.agents));
		for (int i = 0; i < o.sizing.agents; ++i) {
			Agent &a = agents_[static_cast<std::size_t>(i)];
			a.id = i;
			a.auth = "Authorization: Bearer " + tokenOf(i);
			a.hostname = fmt::format("fleet-{:06d}", i);
		}
	}
	~Fleet() { curl_multi_cleanup(multi_); }

	int run();

private:
	// Simulated time: wall time since the start x the compression, from a fixed epoch.
	hac::TimeMs simNow() const
	{
		return kEpoch + static_cast<hac::TimeMs>(std::chrono::duration<double, std::milli>(Clock::now() - start_).count() * o_.compress);
	}
	Clock::time_point wallAfterSim(double simSeconds) const
	{
		return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(simSeconds / o_.compress));
	}
	double simSeconds() const { return std::chrono::duration<double>(Clock::now() - start_).count() * o_.compress; }
	double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
	double exponential(double mean) { return std::exponential_distribution<double>(1 / mean)(rng_); }
	double lognormal()
	{
		return std::lognormal_distribution<double>(std::log(o_.sizing.durationMedianS), o_.sizing.durationSigma)(rng_);
	}
	std::string uuid()
	{
		std::uniform_int_distribution<std::uint64_t> d;
		std::uint64_t hi = d(rng_), lo = d(rng_);
		hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
		lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
		return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
				   lo & 0xffffffffffffULL);
	}

	void schedule(Clock::time_point at, EventKind kind, int agent, std::shared_ptr<Request> r = nullptr)
	{
		events_.push(Event{at, kind, agent, agents_[static_cast<std::size_t>(agent)].generation, std::move(r)});
	}
	void handle(const Event &e);
	void send(Agent &a, Kind kind, const std::string &path, std::string body, std::string key, std::int64_t cost = 0);
	void enqueue(std::shared_ptr<Request> r);
	void dispatch();
	void completed(CURL *easy, CURLcode code);
	void answered(const std::shared_ptr<Request> &r, long status, double ms);
	void startJob(Agent &a);
	void allocate(Agent &a);
	void endJob(Agent &a, hac::TimeMs endedAt, const char *reason, bool billable, bool reconstructed);
	void nextArrival(Agent &a);
	void crash(Agent &a);
	void violation(const std::string &what)
	{
		if (violations_.size() < 20)
			fmt::print(stderr, "hac-bench-fleet: INVARIANT: {}\n", what);
		violations_.push_back(what);
	}
	bool active() const { return !draining_; }
	void report();

	static constexpr hac::TimeMs kEpoch = 1'900'000'000'000; // 2030-03-17: far from the real clock

	RunOptions o_;
	std::mt19937_64 rng_;
	CURLM *multi_ = nullptr;
	std::vector<Agent> agents_;
	std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
	std::deque<std::shared_ptr<Request>> queue_;
	std::unordered_map<CURL *, std::shared_ptr<Request>> inFlight_;
	Clock::time_point start_;
	bool draining_ = false;
	bool overloaded_ = false; // phase 2
	bool stopped_ = false;   // the bounds were hit
	long sent_ = 0;

	// Figures.
	std::map<Kind, std::vector<double>> latency_;
	std::map<Kind, std::vector<std::vector<double>>> windowLatency_;
	std::vector<double> allocationsPerWindow_, usagePerWindow_;
	std::map<std::string, long> errors_;
	long farmFull_ = 0, dropped_ = 0, crashes_ = 0, replays_ = 0, jobs_ = 0, allocations_ = 0, records_ = 0;
	std::vector<double> queueWaitMs_;
	std::vector<std::string> violations_;
	// Idempotency: usage keys answered 201 (created), and each acknowledged bill.
	std::unordered_map<std::string, std::int64_t> billed_;
	std::unordered_map<std::string, int> created201_;
	std::int64_t simulatedTotal_ = 0;
	double windowS_ = 5;
};

void Fleet::send(Agent &a, Kind kind, const std::string &path, std::string body, std::string key, std::int64_t cost)
{
	auto r = std::make_shared<Request>();
	r->agent = a.id;
	r->generation = a.generation;
	r->kind = kind;
	r->path = path;
	r->body = std::move(body);
	r->key = std::move(key);
	r->cost = cost;
	enqueue(r);
}

void Fleet::enqueue(std::shared_ptr<Request> r)
{
	r->queuedAt = Clock::now();
	r->response.clear();
	r->retryAfter.clear();
	queue_.push_back(std::move(r));
}

extern "C" size_t onBody(char *data, size_t size, size_t n, void *user)
{
	static_cast<Request *>(user)->response.append(data, size * n);
	return size * n;
}

extern "C" size_t onHeader(char *data, size_t size, size_t n, void *user)
{
	std::string line(data, size * n);
	if (line.size() > 12 && strncasecmp(line.c_str(), "retry-after:", 12) == 0) {
		std::string v = line.substr(12);
		v.erase(0, v.find_first_not_of(" \t"));
		v.erase(v.find_last_not_of(" \t\r\n") + 1);
		static_cast<Request *>(user)->retryAfter = v;
	}
	return size * n;
}

// Keeps at most --connections requests in flight; the rest wait here (their wait is measured apart
// from their latency, which starts when the request goes out).
void Fleet::dispatch()
{
	while (!queue_.empty() && static_cast<int>(inFlight_.size()) < o_.connections) {
		std::shared_ptr<Request> r = queue_.front();
		queue_.pop_front();
		Agent &a = agents_[static_cast<std::size_t>(r->agent)];
		if (r->generation != a.generation)
			continue; // its agent crashed meanwhile
		CURL *e = curl_easy_init();
		r->easy = e;
		r->headers = curl_slist_append(nullptr, a.auth.c_str());
		r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
		r->headers = curl_slist_append(r->headers, "Expect:");
		if (!r->key.empty())
			r->headers = curl_slist_append(r->headers, ("Idempotency-Key: " + r->key).c_str());
		std::string url = o_.url + r->path;
		curl_easy_setopt(e, CURLOPT_URL, url.c_str());
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body.c_str());
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(r->body.size()));
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, onBody);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, r.get());
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, onHeader);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, r.get());
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_PRIVATE, r.get());
		r->sentAt = Clock::now();
		queueWaitMs_.push_back(std::chrono::duration<double, std::milli>(r->sentAt - r->queuedAt).count());
		inFlight_[e] = r;
		curl_multi_add_handle(multi_, e);
		++sent_;
	}
}

void Fleet::completed(CURL *easy, CURLcode code)
{
	auto it = inFlight_.find(easy);
	if (it == inFlight_.end())
		return;
	std::shared_ptr<Request> r = it->second;
	inFlight_.erase(it);
	long status = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	double ms = std::chrono::duration<double, std::milli>(Clock::now() - r->sentAt).count();
	curl_multi_remove_handle(multi_, easy);
	curl_easy_cleanup(easy);
	curl_slist_free_all(r->headers);
	r->easy = nullptr;
	r->headers = nullptr;
	Agent &a = agents_[static_cast<std::size_t>(r->agent)];
	if (r->generation != a.generation)
		return;
	if (code != CURLE_OK) {
		++errors_[fmt::format("transport:{}", curl_easy_strerror(code))];
		// As the agent's outbox does: the same request, the same key, a moment later.
		schedule(Clock::now() + std::chrono::milliseconds(200), EventKind::Resend, r->agent, r);
		return;
	}
	latency_[r->kind].push_back(ms);
	auto w = static_cast<std::size_t>(std::chrono::duration<double>(Clock::now() - start_).count() / windowS_);
	auto &windows = windowLatency_[r->kind];
	if (windows.size() <= w)
		windows.resize(w + 1);
	windows[w].push_back(ms);
	// 1% of answers are lost on the way: the agent never saw it and asks again with the same key.
	if (uniform(0, 1) < o_.dropRate) {
		++dropped_;
		r->replay = true;
		schedule(Clock::now() + std::chrono::milliseconds(50), EventKind::Resend, r->agent, r);
		return;
	}
	answered(r, status, ms);
}

void Fleet::answered(const std::shared_ptr<Request> &r, long status, double)
{
	Agent &a = agents_[static_cast<std::size_t>(r->agent)];
	Json j = Json::parse(r->response, nullptr, false);
	std::string code;
	if (status >= 400) {
		code = !j.is_discarded() && j.contains("error") ? j["error"].value("code", "?") : fmt::format("http_{}", status);
		if (code == "farm_full")
			++farmFull_;
		else
			++errors_[fmt::format("{} {} {}", kindName(r->kind), status, code)];
	}
	switch (r->kind) {
	case Kind::Register:
		a.registerInFlight = false;
		if (status != 200 || j.is_discarded())
			return;
		if (!a.registered) {
			const Json &devices = j["devices"];
			if (!devices.is_array() || devices.empty()) {
				violation(fmt::format("agent {} registered without a device", a.id));
				return;
			}
			a.deviceId = devices[0].value("id", "");
			a.sku = devices[0].value("sku", "");
			a.gpus = devices[0].value("gpus", 0);
			for (const Json &s : j["skus"])
				if (s.value("name", "") == a.sku)
					a.price = s.value("price_micro_per_gpu_minute", std::int64_t(0));
			a.registered = true;
			// The outbox first, as the agent delivers it on start.
			if (a.outbox)
				send(a, Kind::Usage, "/v1/usage", *a.outbox, a.jobId, a.outboxCost);
			else if (active()) {
				// Start near the steady state: an agent is busy for about this part of the time.
				double busyShare = std::min(0.9, o_.sizing.meanDurationS() / o_.sizing.jobIntervalS);
				if (simSeconds() < 60 && uniform(0, 1) < busyShare)
					++a.pending;
				if (a.pending > 0)
					startJob(a);
			}
		}
		return;
	case Kind::Allocate:
		if (a.state != JobState::Allocating || r->key != a.jobId)
			return;
		if (status == 200 || status == 201) {
			++allocations_;
			if (!j.is_discarded() && !j["released_at"].is_null()) {
				violation(fmt::format("job {}: allocation replay says released before its usage was sent", a.jobId));
			}
			a.state = JobState::Running;
			a.jobStart = simNow();
			if (draining_)
				endJob(a, a.jobStart, "cancelled", true, false);
			else
				schedule(wallAfterSim(a.jobDurationS), EventKind::JobEnd, a.id);
			return;
		}
		if (status == 503 && code == "farm_full") {
			a.state = JobState::Waiting;
			int retry = std::max(1, std::atoi(r->retryAfter.c_str()));
			if (r->retryAfter.empty())
				violation(fmt::format("job {}: 503 farm_full without Retry-After", a.jobId));
			if (draining_) {
				// Given up: nothing was lent, nothing is billed.
				a.state = JobState::None;
				return;
			}
			// Retry-After is the allocator's real seconds, honoured as such (not compressed).
			schedule(Clock::now() + std::chrono::seconds(retry), EventKind::Retry, a.id);
			return;
		}
		// Another refusal: the job cannot start; it is recorded as not billable, as the agent does.
		endJob(a, simNow(), "allocator_failure", false, false);
		return;
	case Kind::Usage:
		if (!a.outbox || r->key != a.jobId)
			return;
		if (status == 200 || status == 201) {
			std::int64_t cost = j.is_discarded() ? -1 : j.value("cost_micro", std::int64_t(-1));
			if (cost != r->cost)
				violation(fmt::format("job {}: the allocator billed {}, the simulator {}", r->key, cost, r->cost));
			if (status == 201 && ++created201_[r->key] > 1)
				violation(fmt::format("job {}: its usage was created twice (201 twice)", r->key));
			auto [it, fresh] = billed_.emplace(r->key, cost);
			if (fresh) {
				simulatedTotal_ += r->cost;
				++records_;
			}
			a.outbox.reset();
			a.state = JobState::None;
			if (!draining_ && a.pending > 0)
				startJob(a);
			return;
		}
		// The record is kept and sent again, as the outbox does.
		schedule(Clock::now() + std::chrono::seconds(1), EventKind::Resend, a.id, r);
		return;
	}
}

void Fleet::startJob(Agent &a)
{
	if (!a.registered || a.crashed || a.state != JobState::None || a.pending == 0)
		return;
	--a.pending;
	++jobs_;
	a.jobId = uuid();
	a.jobDurationS = lognormal();
	a.state = JobState::Allocating;
	allocate(a);
}

void Fleet::allocate(Agent &a)
{
	a.state = JobState::Allocating;
	Json body{{"job_id", a.jobId}, {"device_id", a.deviceId}};
	send(a, Kind::Allocate, "/v1/allocations", body.dump(), a.jobId);
}

// The job's usage record into the outbox, and sent.
void Fleet::endJob(Agent &a, hac::TimeMs endedAt, const char *reason, bool billable, bool reconstructed)
{
	hac::TimeMs startedAt = billable ? a.jobStart : endedAt;
	hac::Charge c = hac::chargeFor(a.gpus, startedAt, endedAt, a.price, billable);
	Json body{{"job_id", a.jobId}, {"device_id", a.deviceId}, {"sku", a.sku}, {"gpus", a.gpus},
		  {"started_at", hac::formatTime(startedAt)}, {"ended_at", hac::formatTime(endedAt)},
		  {"billable", billable}, {"end_reason", reason}, {"reconstructed", reconstructed},
		  {"price_micro_per_gpu_minute", a.price}, {"currency", "USD"}, {"cost_micro", c.costMicro},
		  {"recorded_at", hac::formatTime(endedAt)}};
	a.outbox = body.dump();
	a.outboxCost = c.costMicro;
	a.state = JobState::Recording;
	if (!a.crashed)
		send(a, Kind::Usage, "/v1/usage", *a.outbox, a.jobId, a.outboxCost);
}

void Fleet::nextArrival(Agent &a)
{
	double rate = 1 / o_.sizing.jobIntervalS * (overloaded_ ? o_.overload : 1.0);
	Event e{wallAfterSim(exponential(1 / rate)), EventKind::Arrival, a.id, a.generation, nullptr};
	e.arrivals = a.arrivals;
	events_.push(std::move(e));
}

// The agent's process dies: what it had in flight is lost, its job's process with it. After the
// restart it registers again and delivers its outbox: a record for the job it ran (ended at the
// crash, reconstructed), or a not-billable one for a job whose start it never saw answered.
void Fleet::crash(Agent &a)
{
	++crashes_;
	a.crashed = true;
	++a.generation;
	a.registerInFlight = false;
	hac::TimeMs now = simNow();
	switch (a.state) {
	case JobState::None:
		break;
	case JobState::Allocating:
	case JobState::Waiting:
		endJob(a, now, "not_started", false, false);
		break;
	case JobState::Running:
		endJob(a, now, "agent_restart", true, true);
		break;
	case JobState::Recording:
		break; // its record is in the outbox already
	}
	fmt::print(stderr, "hac-bench-fleet: agent {} crashed at simulated second {:.0f} ({})\n", a.id, simSeconds(),
		   a.outbox ? "a usage record in its outbox" : "nothing in its outbox");
	schedule(wallAfterSim(10), EventKind::Restart, a.id);
}

void Fleet::handle(const Event &e)
{
	if (e.kind == EventKind::Overload) {
		// Phase 2. Each agent's next arrival was drawn at phase 1's rate, often further away than
		// phase 2 lasts (a job every 22 simulated minutes per agent on the 20-node Slurm farm):
		// drawn again at the new rate (arrivals are memoryless), so the farm sees 110% at once.
		overloaded_ = true;
		for (Agent &a : agents_) {
			++a.arrivals;
			if (!a.crashed)
				nextArrival(a);
		}
		return;
	}
	if (e.kind == EventKind::Drain) {
		draining_ = true;
		hac::TimeMs now = simNow();
		for (Agent &a : agents_) {
			a.pending = 0;
			if (a.state == JobState::Running && !a.crashed)
				endJob(a, now, "cancelled", true, false);
			else if (a.state == JobState::Waiting && !a.crashed)
				a.state = JobState::None;
		}
		return;
	}
	Agent &a = agents_[static_cast<std::size_t>(e.agent)];
	if (e.generation != a.generation)
		return;
	switch (e.kind) {
	case EventKind::Heartbeat:
		if (!active() || a.crashed)
			return;
		if (!a.registerInFlight) {
			a.registerInFlight = true;
			Json body{{"agent_version", HAC_VERSION}, {"hostname", a.hostname}};
			send(a, Kind::Register, "/v1/agents/register", body.dump(), "");
		}
		schedule(wallAfterSim(30 * uniform(0.8, 1.2)), EventKind::Heartbeat, a.id);
		return;
	case EventKind::Arrival:
		if (!active() || e.arrivals != a.arrivals)
			return;
		++a.pending;
		startJob(a);
		nextArrival(a);
		return;
	case EventKind::JobEnd:
		if (a.state == JobState::Running)
			endJob(a, a.jobStart + static_cast<hac::TimeMs>(a.jobDurationS * 1000), "finished", true, false);
		return;
	case EventKind::Retry:
		if (a.state == JobState::Waiting && !draining_)
			allocate(a);
		return;
	case EventKind::Crash:
		if (!a.crashed && a.registered)
			crash(a);
		return;
	case EventKind::Restart:
		a.crashed = false;
		a.registered = false;
		a.registerInFlight = true;
		send(a, Kind::Register, "/v1/agents/register",
		     Json{{"agent_version", HAC_VERSION}, {"hostname", a.hostname}}.dump(), "");
		if (active()) {
			schedule(wallAfterSim(30 * uniform(0.8, 1.2)), EventKind::Heartbeat, a.id);
			nextArrival(a);
		}
		return;
	case EventKind::Resend:
		++replays_;
		enqueue(e.request);
		return;
	case EventKind::Overload:
	case EventKind::Drain:
		return;
	}
}

int Fleet::run()
{
	const auto &s = o_.sizing;
	const double plannedWall = (o_.phase1S + o_.phase2S) / o_.compress;
	const double maxWall = o_.maxWallS > 0 ? o_.maxWallS : plannedWall * 3 + 60;
	const double simTotal = o_.phase1S + o_.phase2S;
	const long maxRequests = o_.maxRequests > 0
		? o_.maxRequests
		: static_cast<long>(s.agents * (simTotal / 24 + simTotal / s.jobIntervalS * o_.overload * 8) + 10000);
	fmt::print(stderr, "hac-bench-fleet: {} agents, {}x compression, {:.0f}+{:.0f} simulated s ({:.0f} s wall), "
		   "bounds {:.0f} s and {} requests, {} connections\n", s.agents, o_.compress, o_.phase1S, o_.phase2S,
		   plannedWall, maxWall, maxRequests, o_.connections);
	fmt::print(stderr, "hac-bench-fleet: {} backend, {} nodes x {} GPUs; a job every {:.0f} simulated s per agent "
		   "(mean {:.0f} s, {:.2f} wall s), {:.1f} GPUs busy on average in phase 1 ({:.0f}%), {:.2f} jobs/wall s\n",
		   o_.backend, o_.nodes, s.gpusPerNode, s.jobIntervalS, s.meanDurationS(), s.meanDurationS() / o_.compress,
		   expectedBusyGpus(s), 100 * expectedBusyGpus(s) / (o_.nodes * s.gpusPerNode),
		   s.agents / s.jobIntervalS * o_.compress);

	start_ = Clock::now();
	// Registrations spread over the first heartbeat period; arrivals from then on.
	for (Agent &a : agents_) {
		schedule(wallAfterSim(uniform(0, 30)), EventKind::Heartbeat, a.id);
		schedule(wallAfterSim(uniform(0, 30) + exponential(s.jobIntervalS)), EventKind::Arrival, a.id);
	}
	events_.push(Event{wallAfterSim(o_.phase1S), EventKind::Overload, 0, 0, nullptr});
	int crashes = std::max(1, static_cast<int>(std::lround(s.agents * o_.crashRate)));
	for (int i = 0; i < crashes; ++i)
		schedule(wallAfterSim(uniform(0.1, 0.9) * simTotal), EventKind::Crash,
			 std::uniform_int_distribution<int>(0, s.agents - 1)(rng_));
	events_.push(Event{wallAfterSim(simTotal), EventKind::Drain, 0, 0, nullptr});

	auto sample0 = sampleProcess(o_.allocatorPid);
	double db0 = fileMib(o_.database) + fileMib(o_.database + "-wal");
	double walPeak = 0, rssPeak = 0, pssPeak = 0;
	int fdsPeak = 0;
	std::optional<ProcSample> sampleEnd;
	auto nextSample = Clock::now();
	auto drainAt = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(plannedWall));
	long allocationsSeen = 0, recordsSeen = 0;
	auto nextWindow = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(windowS_));

	while (true) {
		auto now = Clock::now();
		while (!events_.empty() && events_.top().at <= now) {
			Event e = events_.top();
			events_.pop();
			handle(e);
		}
		dispatch();
		int running = 0;
		curl_multi_perform(multi_, &running);
		int left = 0;
		while (CURLMsg *m = curl_multi_info_read(multi_, &left))
			if (m->msg == CURLMSG_DONE)
				completed(m->easy_handle, m->data.result);
		dispatch();

		now = Clock::now();
		if (now >= nextWindow) {
			if (now < drainAt) {
				allocationsPerWindow_.push_back(static_cast<double>(allocations_ - allocationsSeen) / windowS_);
				usagePerWindow_.push_back(static_cast<double>(records_ - recordsSeen) / windowS_);
			}
			allocationsSeen = allocations_;
			recordsSeen = records_;
			nextWindow += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(windowS_));
		}
		if (now >= nextSample) {
			if (auto p = sampleProcess(o_.allocatorPid)) {
				rssPeak = std::max(rssPeak, p->rssMib);
				pssPeak = std::max(pssPeak, p->pssMib);
				fdsPeak = std::max(fdsPeak, p->fds);
				if (now <= drainAt)
					sampleEnd = p;
			}
			walPeak = std::max(walPeak, fileMib(o_.database + "-wal"));
			nextSample = now + std::chrono::seconds(1);
		}
		bool busy = !queue_.empty() || !inFlight_.empty();
		bool outboxes = std::any_of(agents_.begin(), agents_.end(), [](const Agent &a) { return a.outbox.has_value(); });
		bool allocating = std::any_of(agents_.begin(), agents_.end(), [](const Agent &a) {
			return a.state == JobState::Allocating || a.state == JobState::Running;
		});
		if (draining_ && !busy && !outboxes && !allocating) {
			// Crashed agents still to restart keep the run going (their outbox counts above).
			break;
		}
		double elapsed = std::chrono::duration<double>(now - start_).count();
		if (elapsed > maxWall || sent_ > maxRequests) {
			fmt::print(stderr, "hac-bench-fleet: stopped at the bound ({:.0f} s, {} requests): the allocator "
				   "did not keep up\n", elapsed, sent_);
			stopped_ = true;
			break;
		}
		// Wait for the sockets, or the next event, whichever first (at most 50 ms).
		int timeoutMs = 50;
		if (!events_.empty()) {
			auto until = std::chrono::duration_cast<std::chrono::milliseconds>(events_.top().at - Clock::now()).count();
			timeoutMs = static_cast<int>(std::clamp<long>(until, 0, 50));
		}
		if (!queue_.empty() && static_cast<int>(inFlight_.size()) < o_.connections)
			timeoutMs = 0;
		curl_multi_poll(multi_, nullptr, 0, timeoutMs, nullptr);
	}
	double wall = std::chrono::duration<double>(Clock::now() - start_).count();
	for (auto &[easy, r] : inFlight_) {
		curl_multi_remove_handle(multi_, easy);
		curl_easy_cleanup(easy);
		curl_slist_free_all(r->headers);
	}
	inFlight_.clear();

	// Bills acknowledged, for `check` against the database.
	if (!o_.billedFile.empty()) {
		std::ofstream out(o_.billedFile);
		for (const auto &[job, cost] : billed_)
			out << job << '\t' << cost << '\n';
	}

	// Rows.
	std::string what = o_.label.empty() ? fmt::format("fleet N={}", s.agents) : o_.label;
	Json common{{"agents", s.agents}, {"compress", o_.compress}, {"nodes", o_.nodes}, {"backend", o_.backend},
		    {"job_interval_s", s.jobIntervalS},
		    {"simulated_s", simTotal}, {"wall_s", wall}, {"jobs", jobs_}, {"allocations", allocations_},
		    {"usage_records", records_}, {"requests", sent_}};
	auto latencyRow = [&](Kind k, const std::string &name, std::optional<double> target) {
		std::vector<double> p99;
		for (const auto &w : windowLatency_[k])
			if (!w.empty())
				p99.push_back(hac::bench::quantile(w, 0.99));
		const auto &all = latency_[k];
		hac::bench::RowExtras x;
		x.targetValue = target;
		x.fields = common;
		x.fields.update(Json{{"p50_ms", hac::bench::quantile(all, 0.5)}, {"p99_ms", hac::bench::quantile(all, 0.99)},
				     {"p999_ms", hac::bench::quantile(all, 0.999)}, {"max_ms", hac::bench::quantile(all, 1.0)},
				     {"requests", all.size()}, {"window_s", windowS_}});
		hac::bench::row(fmt::format("{}: {} latency p99 (per {:.0f} s window)", what, name, windowS_), "ms", p99,
				target ? "target: p99 < 20 ms (issue 15)" : "", target ? std::vector<double>{*target} : std::vector<double>{},
				false, x);
	};
	// The 20 ms aim is the simulated backend's; on Slurm an allocation waits for its scheduler.
	latencyRow(Kind::Allocate, "allocate", o_.backend == "slurm" ? std::nullopt : std::optional<double>(20.0));
	latencyRow(Kind::Usage, "usage record", std::nullopt);
	latencyRow(Kind::Register, "register (heartbeat)", std::nullopt);
	{
		hac::bench::RowExtras x;
		x.fields = common;
		hac::bench::row(what + ": allocations/s", "1/s", allocationsPerWindow_, "", {}, true, x);
		hac::bench::row(what + ": usage records/s", "1/s", usagePerWindow_, "", {}, true, x);
	}
	long errorCount = 0;
	Json byCode = Json::object();
	for (const auto &[code, n] : errors_) {
		errorCount += n;
		byCode[code] = n;
	}
	{
		hac::bench::RowExtras x;
		x.fields = common;
		x.targetValue = 0;
		x.fields.update(Json{{"by_code", byCode}, {"farm_full", farmFull_}, {"dropped_answers", dropped_},
				     {"replays", replays_}, {"crashes", crashes_}, {"queue_wait_p99_ms", hac::bench::quantile(queueWaitMs_, 0.99)}});
		hac::bench::row(what + ": errors other than farm_full", "errors", {static_cast<double>(errorCount)}, "", {}, false, x);
	}
	if (sample0 && sampleEnd) {
		hac::bench::RowExtras x;
		x.fields = common;
		double cpu = sampleEnd->cpuS - sample0->cpuS;
		double simMinutes = std::min(wall, plannedWall) * o_.compress / 60;
		x.fields.update(Json{{"cpu_s", cpu}, {"simulated_minutes", simMinutes}});
		hac::bench::row(what + ": allocator CPU-s per 1,000 agents per simulated minute", "s",
				{cpu / (s.agents / 1000.0) / simMinutes}, "", {}, false, x);
		x.fields = common;
		x.fields.update(Json{{"vmhwm_mib", sampleEnd->hwmMib}, {"rss_start_mib", sample0->rssMib}});
		hac::bench::row(what + ": allocator peak RSS", "MiB", {rssPeak}, "", {}, false, x);
		x.fields = common;
		hac::bench::row(what + ": allocator peak PSS", "MiB", {pssPeak}, "", {}, false, x);
		x.fields = common;
		double dbEnd = fileMib(o_.database) + fileMib(o_.database + "-wal");
		x.fields.update(Json{{"db_mib", fileMib(o_.database)}, {"wal_mib", fileMib(o_.database + "-wal")},
				     {"wal_peak_mib", walPeak}, {"start_mib", db0}});
		hac::bench::row(what + ": database + WAL growth", "MiB", {dbEnd - db0}, "", {}, false, x);
		x.fields = common;
		x.fields.update(Json{{"fds_start", sample0->fds}});
		hac::bench::row(what + ": allocator peak open fds", "fds", {static_cast<double>(fdsPeak)}, "", {}, false, x);
	}
	fmt::print(stderr, "hac-bench-fleet: {} jobs, {} allocations, {} usage records (simulated total {} micro), {} "
		   "farm_full, {} dropped answers, {} crashes, {} errors {}, {:.1f} s wall\n", jobs_, allocations_, records_,
		   simulatedTotal_, farmFull_, dropped_, crashes_, errorCount, byCode.dump(), wall);
	if (stopped_)
		violation("the run hit its bound before every outbox was delivered");
	return violations_.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// The invariants, on the allocator's database once it is stopped.

int check(const std::string &database, const std::string &billedFile, bool slurm)
{
	sqlite3 *db = nullptr;
	if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
		throw std::runtime_error(fmt::format("cannot open {}: {}", database, sqlite3_errmsg(db)));
	std::vector<std::string> broken;
	auto each = [&](const char *sql, const std::function<void(sqlite3_stmt *)> &row) {
		sqlite3_stmt *st = nullptr;
		if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
			throw std::runtime_error(fmt::format("{}: {}", sql, sqlite3_errmsg(db)));
		while (sqlite3_step(st) == SQLITE_ROW)
			row(st);
		sqlite3_finalize(st);
	};
	auto text = [](sqlite3_stmt *st, int c) {
		const unsigned char *t = sqlite3_column_text(st, c);
		return t ? std::string(reinterpret_cast<const char *>(t)) : std::string();
	};

	// 1. No GPU lent to two jobs at once: per GPU, the allocations' [allocated_at, released_at) apart.
	struct Span {
		std::int64_t from, to;
		std::string job;
	};
	std::map<std::pair<std::string, int>, std::vector<Span>> perGpu;
	long allocations = 0, unreleased = 0, unbilled = 0;
	each("SELECT a.job_id, a.placement, a.allocated_at, a.released_at, u.job_id IS NOT NULL "
	     "FROM allocations a LEFT JOIN usage u ON u.job_id = a.job_id", [&](sqlite3_stmt *st) {
		++allocations;
		std::string job = text(st, 0);
		std::int64_t from = sqlite3_column_int64(st, 2);
		bool released = sqlite3_column_type(st, 3) != SQLITE_NULL;
		std::int64_t to = released ? sqlite3_column_int64(st, 3) : std::numeric_limits<std::int64_t>::max();
		if (!released)
			++unreleased;
		if (!sqlite3_column_int(st, 4))
			++unbilled;
		for (const Json &g : Json::parse(text(st, 1))) {
			const Json &node = g.at(0);
			std::string name = node.is_string() ? node.get<std::string>() : std::to_string(node.get<int>());
			perGpu[{name, g.at(1).get<int>()}].push_back({from, to, job});
		}
	});
	long overlaps = 0;
	for (auto &[gpu, spans] : perGpu) {
		std::sort(spans.begin(), spans.end(), [](const Span &a, const Span &b) { return a.from < b.from; });
		for (std::size_t i = 1; i < spans.size(); ++i)
			if (spans[i].from < spans[i - 1].to) {
				if (++overlaps <= 5)
					broken.push_back(fmt::format("GPU {}:{} lent to jobs {} and {} at once", gpu.first, gpu.second,
								     spans[i - 1].job, spans[i].job));
			}
	}
	if (overlaps)
		broken.push_back(fmt::format("{} overlapping loans in all", overlaps));
	long leases = 0;
	each("SELECT count(*) FROM leases", [&](sqlite3_stmt *st) { leases = sqlite3_column_int64(st, 0); });
	// 2. Every allocation released or billed (the simulator only ever releases by billing).
	if (unreleased || leases)
		broken.push_back(fmt::format("{} allocations never released, {} GPUs still leased", unreleased, leases));
	if (unbilled)
		broken.push_back(fmt::format("{} allocations without a usage record", unbilled));
	// 3. The billed total equals the simulated one, job by job; 4. no key billed twice.
	std::map<std::string, std::int64_t> expected;
	std::int64_t expectedTotal = 0;
	{
		std::ifstream in(billedFile);
		if (!in)
			throw std::runtime_error("cannot read " + billedFile);
		std::string job;
		std::int64_t cost = 0;
		while (in >> job >> cost) {
			expected[job] = cost;
			expectedTotal += cost;
		}
	}
	std::int64_t total = 0;
	long rows = 0, distinct = 0, differ = 0, unknown = 0;
	each("SELECT count(*), count(DISTINCT job_id) FROM usage", [&](sqlite3_stmt *st) {
		rows = sqlite3_column_int64(st, 0);
		distinct = sqlite3_column_int64(st, 1);
	});
	each("SELECT job_id, cost_micro FROM usage", [&](sqlite3_stmt *st) {
		std::string job = text(st, 0);
		std::int64_t cost = sqlite3_column_int64(st, 1);
		total += cost;
		auto it = expected.find(job);
		if (it == expected.end())
			++unknown;
		else if (it->second != cost)
			++differ;
	});
	if (rows != distinct)
		broken.push_back(fmt::format("{} usage rows for {} job ids: a key billed twice", rows, distinct));
	if (total != expectedTotal)
		broken.push_back(fmt::format("the allocator billed {} micro in all, the simulation {}", total, expectedTotal));
	if (rows != static_cast<long>(expected.size()) || differ || unknown)
		broken.push_back(fmt::format("{} usage rows, {} bills acknowledged to the simulator; {} differ, {} unknown to it",
					     rows, expected.size(), differ, unknown));
	// 5. On Slurm: every allocation held by a Slurm job of its own, and nothing left to the
	// backend once the run has drained: no hold (a queued job nobody asks for is dropped after
	// queue_seconds) and no cancel still to make.
	if (slurm) {
		long withoutJob = 0, sharedJobs = 0, holds = 0, cancels = 0;
		each("SELECT count(*) - count(slurm_job_id), count(slurm_job_id) - count(DISTINCT slurm_job_id) FROM allocations",
		     [&](sqlite3_stmt *st) {
			     withoutJob = sqlite3_column_int64(st, 0);
			     sharedJobs = sqlite3_column_int64(st, 1);
		     });
		each("SELECT (SELECT count(*) FROM slurm_holds), (SELECT count(*) FROM slurm_cancels)", [&](sqlite3_stmt *st) {
			holds = sqlite3_column_int64(st, 0);
			cancels = sqlite3_column_int64(st, 1);
		});
		if (withoutJob || sharedJobs)
			broken.push_back(fmt::format("{} allocations without a Slurm job, {} sharing one", withoutJob, sharedJobs));
		if (holds || cancels)
			broken.push_back(fmt::format("{} Slurm holds and {} cancels left in the allocator's database", holds, cancels));
	}
	sqlite3_close(db);
	fmt::print(stderr, "hac-bench-fleet check: {} allocations on {} GPUs{}, {} usage rows, billed {} micro (simulated {}): {}\n",
		   allocations, perGpu.size(), slurm ? " (Slurm's node:index)" : "", rows, total, expectedTotal,
		   broken.empty() ? "every invariant holds" : "BROKEN");
	for (const auto &b : broken)
		fmt::print(stderr, "hac-bench-fleet check: INVARIANT: {}\n", b);
	return broken.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------

// The Slurm backend's keys (allocator/README.md, "Run the farm on Slurm"); url empty: the simulated farm.
struct SlurmKeys {
	std::string url;           // slurmrestd: unix:/PATH
	std::string partition = "farm";
	int queueSeconds = 15;     // a queued hold nobody asks for again is cancelled after this
	std::string jobcomp;       // Slurm's jobcomp/filetxt record, for hac-allocator reconcile
};

void writeConfig(const Sizing &s, const std::string &database, int nodes, int retryAfter, const SlurmKeys &slurm)
{
	fmt::print("# hac-bench-fleet config: {} agents, one device each; {} nodes x {} GPUs, {:.0f}% busy "
		   "({:.1f} GPUs busy on average, a job every {:.0f} s per agent)\n", s.agents, nodes, s.gpusPerNode,
		   100 * expectedBusyGpus(s) / (nodes * s.gpusPerNode), expectedBusyGpus(s), s.jobIntervalS);
	if (!database.empty())
		fmt::print("database = \"{}\"\n", database);
	fmt::print("retry_after_seconds = {}\n", retryAfter);
	if (slurm.url.empty()) {
		fmt::print("\n[inventory]\nnodes = {}\ngpus_per_node = {}\n", nodes, s.gpusPerNode);
	} else {
		// The farm is Slurm's (its nodes and GPUs are slurm.conf's): the allocator is told the
		// partition and the GPUs per node, by which it splits a SKU over nodes.
		fmt::print("\n[placement]\nbackend = \"slurm\"\n\n[slurm]\nslurmrestd = \"{}\"\npartition = \"{}\"\n"
			   "gpus_per_node = {}\nqueue_seconds = {}\n", slurm.url, slurm.partition, s.gpusPerNode,
			   slurm.queueSeconds);
		if (!slurm.jobcomp.empty())
			fmt::print("jobcomp_file = \"{}\"\n", slurm.jobcomp);
	}
	for (int i = 0; i < s.agents; ++i)
		fmt::print("\n[[token]]\nname = \"{}\"\ntoken = \"{}\"\ndevices = [\"{}\"]\n", accountOf(i), tokenOf(i), skuOf(i).name);
}

const char *kUsage =
	"usage: hac-bench-fleet config --agents N [--busy F] [--database PATH] [--retry-after S] [SIZING]\n"
	"                       [--slurm unix:PATH [--partition P] [--queue-seconds S] [--jobcomp FILE]]\n"
	"       hac-bench-fleet nodes --agents N [--busy F] [SIZING]\n"
	"       hac-bench-fleet run --url URL --agents N [--compress C] [--phase1 S] [--phase2 S] [--overload X]\n"
	"                       [--drop F] [--crash F] [--connections K] [--max-wall S] [--max-requests R]\n"
	"                       [--billed FILE] [--allocator-pid PID] [--database PATH] [--label TEXT]\n"
	"                       [--nodes N] [--backend NAME] [--seed S] [SIZING]\n"
	"       hac-bench-fleet check --database DB --billed FILE [--slurm-checks]\n"
	"SIZING: --job-interval S (mean simulated s between jobs at one agent, 600) --duration-median S (60)\n"
	"        --duration-sigma X (1.0) --gpus-per-node G (8)\n"
	"        --farm-nodes K: the farm has K nodes (Slurm's); the job interval is sized so that phase 1\n"
	"        keeps it --busy full, instead of the farm sized to the load\n";

} // namespace

int main(int argc, char **argv)
{
	try {
		if (argc < 2)
			throw std::invalid_argument(kUsage);
		std::string command = argv[1];
		RunOptions o;
		int retryAfter = 1;
		SlurmKeys slurmKeys;
		bool slurmChecks = false;
		for (int i = 2; i < argc; ++i) {
			std::string a = argv[i];
			auto value = [&]() -> std::string {
				if (i + 1 >= argc)
					throw std::invalid_argument(a + " needs a value");
				return argv[++i];
			};
			if (a == "--agents") o.sizing.agents = std::stoi(value());
			else if (a == "--busy") o.sizing.busy = std::stod(value());
			else if (a == "--job-interval") o.sizing.jobIntervalS = std::stod(value());
			else if (a == "--duration-median") o.sizing.durationMedianS = std::stod(value());
			else if (a == "--duration-sigma") o.sizing.durationSigma = std::stod(value());
			else if (a == "--gpus-per-node") o.sizing.gpusPerNode = std::stoi(value());
			else if (a == "--farm-nodes") o.sizing.farmNodes = std::stoi(value());
			else if (a == "--slurm") slurmKeys.url = value();
			else if (a == "--partition") slurmKeys.partition = value();
			else if (a == "--queue-seconds") slurmKeys.queueSeconds = std::stoi(value());
			else if (a == "--jobcomp") slurmKeys.jobcomp = value();
			else if (a == "--slurm-checks") slurmChecks = true;
			else if (a == "--backend") o.backend = value();
			else if (a == "--database") o.database = value();
			else if (a == "--retry-after") retryAfter = std::stoi(value());
			else if (a == "--url") o.url = value();
			else if (a == "--compress") o.compress = std::stod(value());
			else if (a == "--phase1") o.phase1S = std::stod(value());
			else if (a == "--phase2") o.phase2S = std::stod(value());
			else if (a == "--overload") o.overload = std::stod(value());
			else if (a == "--drop") o.dropRate = std::stod(value());
			else if (a == "--crash") o.crashRate = std::stod(value());
			else if (a == "--connections") o.connections = std::stoi(value());
			else if (a == "--max-wall") o.maxWallS = std::stod(value());
			else if (a == "--max-requests") o.maxRequests = std::stol(value());
			else if (a == "--billed") o.billedFile = value();
			else if (a == "--allocator-pid") o.allocatorPid = std::stoi(value());
			else if (a == "--label") o.label = value();
			else if (a == "--nodes") o.nodes = std::stoi(value());
			else if (a == "--seed") o.seed = static_cast<unsigned>(std::stoul(value()));
			else throw std::invalid_argument("unknown argument " + a + "\n" + kUsage);
		}
		if (o.sizing.agents < 1 || o.sizing.busy <= 0 || o.compress <= 0 || o.connections < 1 || o.sizing.farmNodes < 0)
			throw std::invalid_argument(kUsage);
		if (!slurmKeys.url.empty() && slurmKeys.url.rfind("unix:/", 0) != 0)
			throw std::invalid_argument("--slurm must be slurmrestd's Unix socket (unix:/PATH): loopback only");
		fitToFarm(o.sizing);
		if (command == "config") {
			writeConfig(o.sizing, o.database, farmNodes(o.sizing), retryAfter, slurmKeys);
			return 0;
		}
		if (command == "nodes") {
			fmt::print("{}\n", farmNodes(o.sizing));
			return 0;
		}
		if (command == "check") {
			if (o.database.empty() || o.billedFile.empty())
				throw std::invalid_argument(kUsage);
			return check(o.database, o.billedFile, slurmChecks);
		}
		if (command != "run" || o.url.empty())
			throw std::invalid_argument(kUsage);
		if (o.url.rfind("http://127.", 0) != 0 && o.url.rfind("http://localhost", 0) != 0)
			throw std::invalid_argument("--url must be on loopback (http://127.x.x.x:PORT)");
		if (o.nodes == 0)
			o.nodes = farmNodes(o.sizing);
		std::signal(SIGPIPE, SIG_IGN);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		int rc = Fleet(o).run();
		curl_global_cleanup();
		return rc;
	} catch (const std::exception &e) {
		fmt::print(stderr, "hac-bench-fleet: {}\n", e.what());
		return 2;
	}
}
