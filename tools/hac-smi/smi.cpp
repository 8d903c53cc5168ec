// hac-smi's modes: one GET /v1/status per round (GET /v1/token for -t, GET /v1/gpus for -p),
// rendered as the table, JSON or --query CSV, once or every --loop interval.
#include "smi.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include <fmt/core.h>

#include <hac/agent_client.hpp>
#include <hac/error.hpp>
#include <hac/exit_code.hpp>
#include <hac/time.hpp>

#include "common/loop.hpp"
#include "common/output.hpp"
#include "common/render.hpp"
#include "device_query.hpp"
#include "device_view.hpp"
#include "physical_view.hpp"
#include "server_info.hpp"
#include "status_json.hpp"

namespace hac::smi {

namespace {

// Keeps device `index` and the jobs on it, so every output form of -i agrees.
void keepDevice(Status &status, int index)
{
	auto &devices = status.devices;
	auto it = std::find_if(devices.begin(), devices.end(), [&](const Device &d) { return d.index == index; });
	if (it == devices.end()) {
		std::string known;
		for (const Device &d : devices)
			known += fmt::format("{}{}", known.empty() ? "" : ", ", d.index);
		throw Error(Errc::NotFound,
			    known.empty() ? fmt::format("no device {}: this VM has no devices", index)
					  : fmt::format("no device {}: this VM has device(s) {}", index, known));
	}
	Device kept = *it;
	devices = {kept};
	std::erase_if(status.jobs, [&](const Job &j) { return j.device != index; });
}

// -r: moreh-smi's messages, so scripts written for it keep matching.
int resetDevice(AgentClient &client, const Options &options)
{
	int device = 0;
	if (options.index) {
		device = *options.index;
	} else {
		Status status = client.status();
		auto it = std::find_if(status.devices.begin(), status.devices.end(), [](const Device &d) { return d.current; });
		if (it == status.devices.end())
			throw Error(Errc::NotFound, "Device release failed. (This VM has no device.)");
		device = it->index;
	}
	AgentReply reply = client.call("POST", fmt::format("/v1/devices/{}/reset", device), "{}");
	if (reply.status == 404 && reply.errorCode() == "not_running")
		throw Error(Errc::NotFound, "Device release failed. (Not running job.)");
	if (reply.status >= 400)
		throw Error(errcForStatus(reply.status, reply.errorCode()),
			    fmt::format("Device release failed. ({})", reply.errorMessage()));
	tools::report(options.json, {{"schema_version", 1}, {"device", device}, {"released", true}, {"job", reply.body["job"]}},
		      "Device release success.\n");
	return 0;
}

// One GET /v1/status: the status, and the agent's word on its job log ({"writable","problem"}).
struct Round {
	Status status;
	Json jobLog;
};

Round fetchRound(AgentClient &client)
{
	Json j = client.get("/v1/status");
	try {
		return Round{j.get<Status>(), j.value("job_log", Json())};
	} catch (const Json::exception &e) {
		throw Error(Errc::Failure, std::string("hac-agent sent a status this tool cannot read: ") + e.what());
	}
}

// One round's output; `first` says whether the --query header is still due.
std::string renderRound(const Options &options, const std::optional<Query> &query, const Round &round,
			TimeMs now, bool first)
{
	const Status &status = round.status;
	if (query)
		return renderDeviceQuery(*query, status, now, first && query->wantsHeader());
	if (options.json) {
		Json doc = statusDocument(status, now);
		if (!round.jobLog.is_null())
			doc["job_log"] = round.jobLog;
		return renderJson(doc, options.loopSeconds ? JsonStyle::Line : JsonStyle::Pretty);
	}
	std::string out = renderDeviceView(status, now);
	// Jobs can neither start nor end while the log takes no writes: worth a line of its own.
	if (round.jobLog.is_object() && round.jobLog.value("writable", true) == false)
		out += fmt::format("\njob log not writable: {}\n", sanitizeCell(round.jobLog.value("problem", std::string())));
	return out;
}

// What one round prints, and the exit status it gives.
struct Printed {
	std::string text;
	int code = 0;
};

// -p's request waits for the allocator up to 3 s (the agent's bound, Agent::kGpuViewWait).
constexpr std::chrono::milliseconds kPhysicalTimeout{5000};

// One -p round: with -i, the device is checked first (status 7 for one that does not exist, as
// the device view does). GPUs the agent could not read are status 4, after what it has.
Printed physicalRound(AgentClient &client, const Options &options, const std::optional<Query> &query, bool first)
{
	if (options.index) {
		Status status = client.status();
		keepDevice(status, *options.index);
	}
	GpuView view = parseGpuView(client.get("/v1/gpus"));
	if (options.index)
		keepDeviceGpus(view, *options.index);
	TimeMs now = nowMs();
	int code = view.errors.empty() ? 0 : toInt(ExitCode::AllocatorUnreachable);
	if (query)
		return {renderPhysicalQuery(*query, view, now, first && query->wantsHeader()), code};
	if (options.json)
		return {renderJson(physicalDocument(view, now), options.loopSeconds ? JsonStyle::Line : JsonStyle::Pretty), code};
	return {renderPhysicalView(view, now), code};
}

} // namespace

int run(const Options &options)
{
	if (options.helpQuery) {
		tools::print(options.physical ? physicalQueryHelp() : deviceQueryHelp());
		return 0;
	}
	// Checked before any request, so a typo is a usage error even with no agent running.
	std::optional<Query> query;
	if (!options.query.empty())
		query.emplace(options.query, options.physical ? physicalQueryFields() : deviceQueryFields(),
			      parseCsvFormat(options.format));

	AgentClient client(resolveSocketPath(options.socket));
	if (options.serverVersion) {
		Status status = client.status();
		tools::report(options.json, serverVersionDocument(status), renderServerVersion(status));
		return 0;
	}
	if (options.reset)
		return resetDevice(client, options);
	if (options.token) {
		TokenInfo token = parseTokenInfo(client.get("/v1/token"));
		tools::report(options.json, tokenDocument(token), renderTokenInfo(token));
		return 0;
	}
	if (options.physical)
		client.setTimeout(kPhysicalTimeout);

	const auto oneRound = [&](bool first) -> Printed {
		if (options.physical)
			return physicalRound(client, options, query, first);
		Round r = fetchRound(client);
		if (options.index)
			keepDevice(r.status, *options.index);
		return {renderRound(options, query, r, nowMs(), first), 0};
	};

	if (!options.loopSeconds) {
		Printed out = oneRound(true);
		tools::print(out.text);
		return out.code;
	}

	// The first round fails like a single call; later failures (an agent restarting, say) are
	// reported and the loop goes on, as a monitor should. Its status is that of the last round,
	// or 0 when a signal ended it.
	auto interval = std::chrono::milliseconds(std::llround(*options.loopSeconds * 1000));
	tools::Loop loop(interval, options.count);
	bool first = true;
	int code = 0;
	do {
		try {
			Printed out = oneRound(first);
			if (!first && !options.json && !query)
				out.text.insert(0, "\n");
			tools::print(out.text);
			first = false;
			code = out.code;
		} catch (const Error &e) {
			if (first)
				throw;
			fmt::print(stderr, "hac-smi: {}\n", e.what());
			code = toInt(exitCode(e.code()));
		}
		std::fflush(stdout);
	} while (loop.next());
	return loop.stopped() ? 0 : code;
}

} // namespace hac::smi
