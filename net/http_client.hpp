// HTTP client over libcurl, for the agent's calls to the allocator and hac-update's downloads.
// Kept out of libhac so that the tools that do not need the network do not load libcurl.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace hac {

// Every wait is bounded (docs/ARCHITECTURE.md): connecting, stalling, and the whole request.
struct NetTimeouts {
	long connectMs = 1000;
	long totalMs = 5000;
	long lowSpeedBytesPerSecond = 1;  // slower than this for lowSpeedSeconds aborts the request
	long lowSpeedSeconds = 3;
};

// Applies `timeouts` and the allowed protocols to a CURL easy handle (a CURL*, kept opaque here
// so that users of this header need not include curl.h).
void applyNetLimits(void *curl, const NetTimeouts &timeouts);

struct HttpResult {
	long status = 0;
	std::string body;
	std::map<std::string, std::string> headers;    // names in lower case

	std::string header(const std::string &lowerName) const;
};

// TLS for an https:// URL: whom to trust, and who we are.
struct TlsSettings {
	std::string caFile;       // PEM; set: this CA only, not the system's (pinning the operator's CA)
	std::string certFile;     // PEM client certificate, for a server that asks for one
	std::string keyFile;      // its private key
};

class HttpClient {
public:
	explicit HttpClient(std::string baseUrl, NetTimeouts timeouts = {});
	~HttpClient();
	HttpClient(const HttpClient &) = delete;
	HttpClient &operator=(const HttpClient &) = delete;

	// The bearer token goes into the Authorization header only; it is never logged.
	void setBearerToken(std::string token);
	// Connects to this Unix socket instead of the URL's host (slurmrestd's local socket); the
	// URL still gives the scheme, the Host header and the path. Empty: TCP as the URL says.
	void setUnixSocket(std::string path);
	// New bounds for the requests that start after this call (hac-agent's config reload).
	void setTimeouts(NetTimeouts timeouts);
	// For the requests that start after this call.
	void setTls(TlsSettings tls);
	// Aborts the request in progress at once and makes every later one fail the same way
	// (AllocatorUnreachable, "cancelled"): a stopping process need not wait out a timeout.
	// Thread-safe, and safe to call while another thread is inside request().
	void cancel();
	const std::string &baseUrl() const { return baseUrl_; }

	// Throws hac::Error(AllocatorUnreachable) when no HTTP answer arrives within the bounds, or
	// within `withinMs` when it is above 0 and shorter (a caller's deadline); any HTTP status, 4xx
	// and 5xx included, is returned to the caller. Thread-safe, and requests from several threads
	// run at once, so that one that stalls never delays another beyond its own bound.
	HttpResult request(const std::string &method, const std::string &path, const std::string &body = {},
			   const std::map<std::string, std::string> &headers = {}, long withinMs = 0);

private:
	// A CURL easy handle and the CURLM multi handle that runs it (so that cancel() can wake its
	// wait), kept opaque; idle ones are reused so connections stay open.
	struct Handles {
		void *curl;
		void *multi;
	};
	Handles take();
	void giveBack(Handles handles);

	std::string baseUrl_;
	std::mutex timeoutsMutex_;      // guards timeouts_ only, so setTimeouts() never waits for a request
	NetTimeouts timeouts_;
	std::string authorization_;
	std::string unixSocket_;
	TlsSettings tls_;
	std::atomic<bool> cancelled_{false};
	std::mutex mutex_;              // guards the lists below, never held during a request
	std::vector<Handles> idle_;
	std::vector<void *> busy_;      // the multi handles of the requests in flight, for cancel()
};

} // namespace hac
