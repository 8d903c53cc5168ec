// Capped, resumable GETs over libcurl, for hac-update: release metadata into memory and wheels into
// files, never more bytes than the caller allows.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "http_client.hpp"

namespace hac {

struct FetchResult {
	long status = 0;              // HTTP status; 0 when no answer came
	std::uint64_t startedAt = 0;  // where the body went in the file: the resume offset on a 206, else 0
	std::uint64_t received = 0;   // body bytes written by this request
	bool overLimit = false;       // the answer was, or said it would be, larger than allowed: stopped
	std::string error;            // why the transfer broke off; empty when it completed
	std::string errorBody;        // the body of an answer other than 200/206, at most 64 KiB

	bool complete() const { return error.empty() && !overLimit && (status == 200 || status == 206); }
};

// done and total count from the start of the file; total is 0 while unknown.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

class Downloader {
public:
	// `timeouts` bound every request (docs/ARCHITECTURE.md: connect, stall, total).
	explicit Downloader(NetTimeouts timeouts);
	~Downloader();
	Downloader(const Downloader &) = delete;
	Downloader &operator=(const Downloader &) = delete;

	// GET `url` into `body`, at most `maxBytes` of it. Never throws for the network: the result
	// says what happened.
	FetchResult fetch(const std::string &url, std::string &body, std::uint64_t maxBytes);

	// GET `url` into the file `fd`. With `resumeFrom` > 0 it asks for the rest (Range) and writes
	// from there; a server that sends the whole file instead (200) has the file truncated and
	// rewritten. The file never grows past `maxTotal` bytes: a longer answer is stopped (overLimit).
	FetchResult fetchToFile(const std::string &url, int fd, std::uint64_t resumeFrom, std::uint64_t maxTotal,
				const NetTimeouts &timeouts, const ProgressFn &progress = {});

private:
	NetTimeouts timeouts_;
	void *curl_;   // CURL*, reused so that the requests of one run share a connection
};

// `text` with every byte but RFC 3986's unreserved ones percent-encoded, for a path segment.
std::string urlEncodeSegment(const std::string &text);

} // namespace hac
