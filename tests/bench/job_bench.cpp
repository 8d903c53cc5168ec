// hac-bench-jobs: the agent's cost per job, each figure against a baseline measured in the same run.
//   round-trip SOCKET AGENT_TOML N: N jobs through the agent's API (begin + finish), interleaved
//     with the same allocator calls made directly (allocate + usage record), so both see the
//     same noise; the difference of the medians is what the agent adds. Each job starts once
//     the one before is settled at the allocator (below), so it measures a start on a free device.
//   churn SOCKET N: N jobs begun and ended through the agent's API as fast as it takes them, one
//     after another on device 0; prints no figure, only its progress on stderr: a load to measure
//     the agent after (tests/bench/agent_resources.sh).
//   log DIR N: N jobs written through JobLog (3 durable events each: insert, running, end with
//     its outbox row) against a plain SQLite loop with the same settings and statements' shape.
// Prints one JSON object per figure (the format scripts/bench tabulates).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <sqlite3.h>
#include <unistd.h>

#include <hac/agent_client.hpp>
#include <hac/billing.hpp>
#include <hac/job_client.hpp>
#include <hac/json.hpp>
#include <hac/time.hpp>
#include <hac/uuid.hpp>

#include "agent_config.hpp"
#include "allocator_link.hpp"
#include "job_log.hpp"
#include "job_table.hpp"
#include "token.hpp"
#include "bench_row.hpp"

namespace {

using hac::bench::Clock;
using hac::bench::msSince;
using hac::bench::row;

// A job's usage record reaches the allocator from the agent's outbox, on the agent's link thread,
// after the job has ended; until then the allocator holds device 0 for it and refuses the next
// job there. Waited for outside the timing, with a bound.
void waitForOutbox(hac::AgentClient &agent)
{
	const auto deadline = Clock::now() + std::chrono::seconds(60);
	while (agent.status().allocator.outboxSize.value_or(0) > 0) {
		if (Clock::now() > deadline)
			throw std::runtime_error("the agent's outbox still holds usage records after 60 s: is the allocator up?");
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
}

int roundTrip(const std::string &socket, const std::string &agentToml, int n)
{
	hac::AgentConfig config = hac::loadAgentConfig(agentToml);
	hac::AllocatorLink link(config.allocator, hac::loadToken(config).value);
	hac::AgentClient agent(socket);
	std::string deviceId = agent.status().devices.at(1).id;  // the agent's jobs use device 0

	std::vector<double> agentStart, agentEnd, allocStart, allocEnd;
	for (int i = 0; i < n; ++i) {
		waitForOutbox(agent);
		std::string id = hac::newUuid();
		auto t = Clock::now();
		hac::Allocation a = link.allocate(id, deviceId);
		allocStart.push_back(msSince(t));
		hac::JobRow usage;
		usage.job.id = id;
		usage.deviceId = deviceId;
		usage.job.sku = a.sku;
		usage.job.gpus = a.gpus;
		usage.job.startedAt = hac::nowMs();
		usage.job.billable = false;  // a benchmark's allocations cost nothing
		usage.job.endReason = "finished";
		t = Clock::now();
		link.recordUsage(id, hac::usageBody(usage));
		allocEnd.push_back(msSince(t));

		hac::JobRequest request;
		request.pid = static_cast<int>(getpid());
		request.device = 0;
		request.noWait = true;
		t = Clock::now();
		hac::Job job = hac::beginJob(agent, request, [](const std::string &) {});
		agentStart.push_back(msSince(t));
		t = Clock::now();
		hac::endJob(agent, job.id, 0);
		agentEnd.push_back(msSince(t));
	}
	row("job start through the agent", "ms", agentStart, "the allocator's allocate round trip", allocStart);
	row("job end through the agent", "ms", agentEnd, "the allocator's usage-record round trip", allocEnd);
	std::vector<double> added;
	for (int i = 0; i < n; ++i)
		added.push_back(agentStart[i] - allocStart[i]);
	row("start overhead beyond the allocator", "ms", added, "the allocator's allocate round trip", allocStart);
	return 0;
}

int churn(const std::string &socket, int n)
{
	hac::AgentClient agent(socket);
	hac::JobRequest request;
	request.pid = static_cast<int>(getpid());
	request.device = 0;
	request.name = "bench-churn";
	// A job may find the device still held at the allocator by the one before, until the agent's
	// outbox has delivered that one's usage record; beginJob then waits, as hac-run would.
	int waited = 0;
	auto t = Clock::now();
	std::vector<double> ms;
	for (int i = 1; i <= n; ++i) {
		auto one = Clock::now();
		hac::Job job = hac::beginJob(agent, request, [&](const std::string &) { ++waited; });
		hac::endJob(agent, job.id, 0);
		ms.push_back(msSince(one));
		if (i % 10000 == 0 || i == n)
			std::fprintf(stderr, "hac-bench-jobs: %d of %d jobs in %.1f s (%d waited for the device; "
				     "per job: median %.2f ms, p99 %.2f ms, max %.0f ms)\n", i, n, msSince(t) / 1000, waited,
				     hac::bench::quantile(ms, 0.5), hac::bench::quantile(ms, 0.99), hac::bench::quantile(ms, 1));
	}
	return 0;
}

void exec(sqlite3 *db, const char *sql)
{
	char *error = nullptr;
	if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
		std::string message = error ? error : "?";
		sqlite3_free(error);
		throw std::runtime_error(message);
	}
}

// The baseline: the same durable events with the same settings, in the least code SQLite allows.
double plainLoopSeconds(const std::string &path, int n)
{
	sqlite3 *db = nullptr;
	sqlite3_open(path.c_str(), &db);
	exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		 "CREATE TABLE jobs (id TEXT PRIMARY KEY, state TEXT, started_at INTEGER, ended_at INTEGER,"
		 " exit_status INTEGER, end_reason TEXT);"
		 "CREATE TABLE outbox (job_id TEXT PRIMARY KEY, body TEXT, next_attempt_at INTEGER);");
	sqlite3_stmt *insert, *running, *end, *queue;
	sqlite3_prepare_v2(db, "INSERT INTO jobs (id, state, started_at) VALUES (?1, 'starting', ?2)", -1, &insert, nullptr);
	sqlite3_prepare_v2(db, "UPDATE jobs SET state = 'running', started_at = ?2 WHERE id = ?1", -1, &running, nullptr);
	sqlite3_prepare_v2(db, "UPDATE jobs SET state = 'ended', ended_at = ?2, exit_status = 0, end_reason = 'finished' WHERE id = ?1", -1, &end, nullptr);
	sqlite3_prepare_v2(db, "INSERT INTO outbox (job_id, body, next_attempt_at) VALUES (?1, ?3, ?2)", -1, &queue, nullptr);
	const std::string body(200, 'x');
	auto step = [&](sqlite3_stmt *s, const std::string &id) {
		sqlite3_bind_text(s, 1, id.c_str(), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, hac::nowMs());
		if (sqlite3_bind_parameter_count(s) >= 3)
			sqlite3_bind_text(s, 3, body.c_str(), -1, SQLITE_STATIC);
		sqlite3_step(s);
		sqlite3_reset(s);
	};
	auto t = Clock::now();
	for (int i = 0; i < n; ++i) {
		std::string id = hac::newUuid();
		exec(db, "BEGIN IMMEDIATE");
		step(insert, id);
		exec(db, "COMMIT; BEGIN IMMEDIATE");
		step(running, id);
		exec(db, "COMMIT; BEGIN IMMEDIATE");
		step(end, id);
		step(queue, id);
		exec(db, "COMMIT");
	}
	double seconds = msSince(t) / 1000;
	for (sqlite3_stmt *s : {insert, running, end, queue})
		sqlite3_finalize(s);
	sqlite3_close(db);
	return seconds;
}

double jobLogSeconds(const std::string &path, int n)
{
	hac::LogFile logFile(path);
	hac::JobLog log(logFile);
	const std::string body(200, 'x');
	auto t = Clock::now();
	for (int i = 0; i < n; ++i) {
		hac::JobRow row;
		row.job.id = hac::newUuid();
		row.job.sku = "Large.64GB";
		row.job.gpus = 4;
		row.job.pid = 1;
		row.job.command = "bench";
		row.job.state = "starting";
		row.job.startedAt = row.heartbeatAt = hac::nowMs();
		row.deviceId = "bench-device";
		log.insertStarting(row);
		log.markRunning(row.job.id, hac::nowMs());
		row.job.state = "ended";
		row.job.endedAt = hac::nowMs();
		row.job.exitStatus = 0;
		row.job.endReason = "finished";
		log.endJob(row.job, hac::chargeFor(row.job.gpus, row.job.startedAt, *row.job.endedAt, 5000, true), body);
	}
	return msSince(t) / 1000;
}

int logBench(const std::string &dir, int n)
{
	// Alternated, three rounds each, so a burst of the machine's noise hits both.
	std::vector<double> ours, plain;
	for (int round = 0; round < 3; ++round) {
		std::string suffix = std::to_string(round);
		plain.push_back(3.0 * n / plainLoopSeconds(dir + "/plain" + suffix + ".db", n));
		ours.push_back(3.0 * n / jobLogSeconds(dir + "/jobs" + suffix + ".db", n));
	}
	row("durable job events per second (JobLog)", "events/s", ours,
	    "a plain SQLite loop, same settings (WAL, synchronous=FULL, BEGIN IMMEDIATE)", plain, true);
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	try {
		std::string mode = argc > 1 ? argv[1] : "";
		if (mode == "round-trip" && argc == 5)
			return roundTrip(argv[2], argv[3], std::stoi(argv[4]));
		if (mode == "churn" && argc == 4)
			return churn(argv[2], std::stoi(argv[3]));
		if (mode == "log" && argc == 4)
			return logBench(argv[2], std::stoi(argv[3]));
		std::fprintf(stderr, "usage: hac-bench-jobs round-trip SOCKET AGENT_TOML N | churn SOCKET N | log DIR N\n");
		return 2;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "hac-bench-jobs: %s\n", e.what());
		return 1;
	}
}
