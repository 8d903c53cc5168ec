// The reporting loop. A failure is logged when its cause changes, not at every retry, so a node
// whose allocator is away for a day does not fill the journal; --verbose logs every attempt.
#include "reporter.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/exit_code.hpp>
#include <hac/json.hpp>
#include <hac/number.hpp>
#include <hac/time.hpp>

#include "nvidia_csv.hpp"
#include "nvidia_smi.hpp"

namespace hac::node_report {

namespace {

constexpr std::int64_t kBackoffCapMs = 60'000;

template <typename... Args>
void say(fmt::format_string<Args...> format, Args &&...args)
{
	std::string line = "hac-node-report: " + fmt::format(format, std::forward<Args>(args)...) + "\n";
	std::fputs(line.c_str(), stderr);
}

NetTimeouts timeoutsOf(const Options &o)
{
	NetTimeouts t;
	t.totalMs = long(o.timeoutSeconds) * 1000;
	t.connectMs = t.totalMs;
	return t;
}

std::string seconds(std::int64_t ms)
{
	return fmt::format("{:.1f} s", double(ms) / 1000);
}

// "401 unknown_token: the token is not known", from the allocator's error body when it has one.
std::string describe(const HttpResult &r)
{
	Json body = Json::parse(r.body, nullptr, false);
	if (body.is_object() && body.contains("error") && body["error"].is_object()) {
		const Json &e = body["error"];
		std::string code = e.value("code", std::string());
		std::string message = e.value("message", std::string());
		return fmt::format("{} {}{}{}", r.status, code, message.empty() ? "" : ": ", message);
	}
	std::string text = r.body.substr(0, 200);
	std::replace(text.begin(), text.end(), '\n', ' ');
	return text.empty() ? fmt::format("{}", r.status) : fmt::format("{} {}", r.status, text);
}

} // namespace

std::int64_t backoffMs(int failures, int intervalSeconds, std::mt19937_64 &random)
{
	const std::int64_t interval = std::int64_t(intervalSeconds) * 1000;
	const std::int64_t cap = std::max(kBackoffCapMs, interval);
	const std::int64_t ceiling = std::min(cap, interval << std::clamp(failures, 0, 20));
	return std::uniform_int_distribution<std::int64_t>(std::min(interval, ceiling), ceiling)(random);
}

Reporter::Reporter(Options options, std::string token)
	: options_(std::move(options)), client_(options_.allocator, timeoutsOf(options_)),
	  path_("/v1/nodes/" + options_.node + "/telemetry")
{
	client_.setBearerToken(std::move(token));
	if (!options_.caFile.empty())
		client_.setTls(TlsSettings{options_.caFile, {}, {}});
}

void Reporter::stop()
{
	{
		std::lock_guard lock(mutex_);
		stopping_ = true;
	}
	wake_.notify_all();
	client_.cancel();
}

bool Reporter::waitMs(std::int64_t ms)
{
	std::unique_lock lock(mutex_);
	return !wake_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_.load(); });
}

void Reporter::noteWarnings(const std::vector<std::string> &warnings)
{
	// The same warnings as the last sample's are not repeated: a GPU that always says [N/A] or a
	// line that is always malformed is said once, and again only when what is wrong changes.
	if (warnings == lastWarnings_ && !options_.verbose)
		return;
	lastWarnings_ = warnings;
	for (const std::string &w : warnings)
		say("warning: nvidia-smi's output, {}", w);
}

Reporter::Attempt Reporter::answer(const HttpResult &r, std::size_t gpus) const
{
	Attempt a;
	a.gpus = gpus;
	if (r.status == 200 || r.status == 201) {
		a.outcome = Outcome::Stored;
		a.code = ExitCode::Ok;
		return a;
	}
	std::string what = describe(r);
	if (r.status == 401 || r.status == 403) {
		// A credential the allocator refuses stays refused: retrying would only knock on its door.
		a.outcome = Outcome::Refused;
		a.code = ExitCode::PermissionDenied;
		std::string hint = r.status == 401
			? "check --token-file against the token of the allocator's [[node_token]]"
			: fmt::format("the credential must be a [[node_token]] whose nodes match '{}' (not a device "
				      "token); fix the allocator's config or --node", options_.node);
		a.message = fmt::format("the allocator refused the report of node '{}' ({}); {}", options_.node, what, hint);
		return a;
	}
	a.outcome = Outcome::Retry;
	a.code = ExitCode::Failure;
	if (r.status == 429 || r.status == 503)
		if (auto after = parseInteger<std::int64_t>(r.header("retry-after"), 0, 3600))
			a.retryAfterMs = *after * 1000;
	a.message = r.status == 404
		? fmt::format("the allocator answered {} to POST {}: does it know node telemetry (issue 18)?", what, path_)
		: fmt::format("the allocator answered {} to POST {}", what, path_);
	return a;
}

Reporter::Attempt Reporter::attempt()
{
	Attempt a;
	const long timeoutMs = long(options_.timeoutSeconds) * 1000;
	SmiOutput smi;
	try {
		smi = runNvidiaSmi(options_.nvidiaSmi, timeoutMs, stopping_);
	} catch (const Error &e) {
		a.code = exitCode(e.code());
		a.message = e.what();
		return a;
	}
	ParsedCsv parsed = parseNvidiaCsv(smi.text);
	noteWarnings(parsed.warnings);
	if (parsed.gpus.empty() && parsed.lines > 0) {
		// Pushing "no GPUs" would wipe the node's figures at the allocator for what is a fault here.
		a.message = fmt::format("none of the {} line(s) nvidia-smi printed could be read (see the warnings); "
					"nothing reported", parsed.lines);
		return a;
	}
	Json gpus = Json::array();
	for (const GpuSample &g : parsed.gpus)
		gpus.push_back(toJson(g));
	Json body = {{"sampled_at", formatTime(smi.startedAt)}, {"gpus", gpus}};
	try {
		return answer(client_.request("POST", path_, body.dump()), parsed.gpus.size());
	} catch (const Error &e) {
		a.code = ExitCode::AllocatorUnreachable;
		a.message = fmt::format("the allocator did not answer: {}", e.what());
		return a;
	}
}

int Reporter::run()
{
	using Clock = std::chrono::steady_clock;
	std::mt19937_64 random(std::random_device{}());
	const std::int64_t intervalMs = std::int64_t(options_.intervalSeconds) * 1000;
	int failures = 0;
	bool reported = false;
	std::string lastProblem;
	if (options_.verbose)
		say("reporting node '{}' to {} every {} s (nvidia-smi: {}, timeout {} s)", options_.node,
		    options_.allocator, options_.intervalSeconds, options_.nvidiaSmi, options_.timeoutSeconds);
	while (!stopping_) {
		const auto started = Clock::now();
		Attempt a = attempt();
		if (stopping_)
			break;
		std::int64_t delayMs = intervalMs;
		switch (a.outcome) {
		case Outcome::Stored:
			if (failures > 0)
				say("reporting again: {} GPU(s) of node '{}' stored after {} failed attempt(s)", a.gpus,
				    options_.node, failures);
			else if (!reported || options_.verbose)
				say("reported {} GPU(s) of node '{}' to {}", a.gpus, options_.node, options_.allocator);
			reported = true;
			failures = 0;
			lastProblem.clear();
			break;
		case Outcome::Refused:
			say("error: {}", a.message);
			return toInt(a.code);
		case Outcome::Retry:
			if (options_.once) {
				say("error: {}", a.message);
				return toInt(a.code);
			}
			++failures;
			delayMs = std::max(backoffMs(failures, options_.intervalSeconds, random),
					   std::min(a.retryAfterMs, std::max(kBackoffCapMs, intervalMs)));
			if (a.message != lastProblem)
				say("warning: {}; retrying with back-off (at most {} s apart; said again only when the "
				    "cause changes)", a.message, std::max(kBackoffCapMs, intervalMs) / 1000);
			if (options_.verbose)
				say("attempt {} failed; next in {}", failures, seconds(delayMs));
			lastProblem = a.message;
			break;
		}
		if (options_.once)
			return toInt(ExitCode::Ok);
		auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
		if (!waitMs(std::max<std::int64_t>(0, delayMs - spent)))
			break;
	}
	if (options_.once)
		return toInt(ExitCode::Failure);   // stopped before its one report was made
	say("stopping");
	return toInt(ExitCode::Ok);
}

} // namespace hac::node_report
