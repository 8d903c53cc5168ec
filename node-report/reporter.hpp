// The reporting loop: sample nvidia-smi, push to the allocator, back off while either fails.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <hac/exit_code.hpp>
#include <net/http_client.hpp>

#include "options.hpp"

namespace hac::node_report {

// The back-off after `failures` failed attempts in a row (1, 2, ...): a wait drawn evenly between
// the interval and a ceiling that doubles with each failure (2, 4, 8... intervals), the ceiling
// held at 60 s (or at the interval, when that is longer). Never shorter than the interval.
std::int64_t backoffMs(int failures, int intervalSeconds, std::mt19937_64 &random);

class Reporter {
public:
	// `token` is the node credential: it goes into the Authorization header only.
	Reporter(Options options, std::string token);

	// Reports until stop() or a refusal that retrying cannot mend; with Options::once, one report.
	// Returns the process's exit status (man 8 hac-node-report, EXIT STATUS).
	int run();
	// Ends run() promptly, from any thread (the signal thread): a wait, an nvidia-smi run and a
	// request in flight are all cut short.
	void stop();

private:
	enum class Outcome { Stored, Retry, Refused };
	struct Attempt {
		Outcome outcome = Outcome::Retry;
		ExitCode code = ExitCode::Failure;
		std::string message;       // why it failed, for the log; or what was stored
		std::int64_t retryAfterMs = 0;
		std::size_t gpus = 0;
	};

	Attempt attempt();
	Attempt answer(const HttpResult &result, std::size_t gpus) const;
	void noteWarnings(const std::vector<std::string> &warnings);
	bool waitMs(std::int64_t ms);

	Options options_;
	HttpClient client_;
	std::string path_;
	std::atomic<bool> stopping_{false};
	std::mutex mutex_;
	std::condition_variable wake_;
	std::vector<std::string> lastWarnings_;
};

} // namespace hac::node_report
