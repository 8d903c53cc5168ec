// libcurl easy handles behind HttpClient, one per request in flight, so that a request stalled on
// a dead allocator holds up no other: kept alive between requests to reuse their connections, and
// each driven through a multi handle because only that wait can be woken from another thread
// (curl_multi_wakeup), which is what lets cancel() end every request at once.
#include "http_client.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <curl/curl.h>
#include <fmt/core.h>

#include <hac/error.hpp>

namespace hac {

void applyNetLimits(void *handle, const NetTimeouts &timeouts)
{
	CURL *curl = static_cast<CURL *>(handle);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeouts.connectMs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeouts.totalMs);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, timeouts.lowSpeedBytesPerSecond);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, timeouts.lowSpeedSeconds);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
}

namespace {

size_t onBody(char *data, size_t size, size_t count, void *userdata)
{
	static_cast<std::string *>(userdata)->append(data, size * count);
	return size * count;
}

size_t onHeader(char *data, size_t size, size_t count, void *userdata)
{
	std::string line(data, size * count);
	auto colon = line.find(':');
	if (colon != std::string::npos) {
		std::string name = line.substr(0, colon);
		std::transform(name.begin(), name.end(), name.begin(),
			       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
		std::string value = line.substr(colon + 1);
		auto first = value.find_first_not_of(" \t");
		auto last = value.find_last_not_of(" \t\r\n");
		value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
		(*static_cast<std::map<std::string, std::string> *>(userdata))[name] = value;
	}
	return size * count;
}

} // namespace

std::string HttpResult::header(const std::string &lowerName) const
{
	auto it = headers.find(lowerName);
	return it == headers.end() ? std::string() : it->second;
}

HttpClient::HttpClient(std::string baseUrl, NetTimeouts timeouts)
	: baseUrl_(std::move(baseUrl)), timeouts_(timeouts)
{
	static std::once_flag once;
	std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
	while (!baseUrl_.empty() && baseUrl_.back() == '/')
		baseUrl_.pop_back();
	giveBack(take()); // fails here, not at the first request, when libcurl cannot start
}

HttpClient::~HttpClient()
{
	for (Handles &h : idle_) {
		curl_multi_cleanup(static_cast<CURLM *>(h.multi));
		curl_easy_cleanup(static_cast<CURL *>(h.curl));
	}
}

HttpClient::Handles HttpClient::take()
{
	std::lock_guard lock(mutex_);
	Handles h{nullptr, nullptr};
	if (!idle_.empty()) {
		h = idle_.back();
		idle_.pop_back();
	} else {
		h.curl = curl_easy_init();
		h.multi = h.curl ? curl_multi_init() : nullptr;
		if (!h.curl || !h.multi) {
			curl_easy_cleanup(static_cast<CURL *>(h.curl));
			throw Error(Errc::Failure, "cannot initialise libcurl");
		}
	}
	busy_.push_back(h.multi);
	return h;
}

void HttpClient::giveBack(Handles h)
{
	std::lock_guard lock(mutex_);
	busy_.erase(std::find(busy_.begin(), busy_.end(), h.multi));
	idle_.push_back(h);
}

void HttpClient::setTimeouts(NetTimeouts timeouts)
{
	std::lock_guard lock(timeoutsMutex_);
	timeouts_ = timeouts;
}

void HttpClient::cancel()
{
	cancelled_ = true;
	std::lock_guard lock(mutex_);
	for (void *multi : busy_)
		curl_multi_wakeup(static_cast<CURLM *>(multi));
}

void HttpClient::setTls(TlsSettings tls)
{
	std::lock_guard lock(mutex_);
	tls_ = std::move(tls);
}

void HttpClient::setBearerToken(std::string token)
{
	std::lock_guard lock(mutex_);
	authorization_ = "Authorization: Bearer " + token;
}

void HttpClient::setUnixSocket(std::string path)
{
	std::lock_guard lock(mutex_);
	unixSocket_ = std::move(path);
}

HttpResult HttpClient::request(const std::string &method, const std::string &path, const std::string &body,
			       const std::map<std::string, std::string> &headers, long withinMs)
{
	std::string url = baseUrl_ + path;
	if (cancelled_)
		throw Error(Errc::AllocatorUnreachable, fmt::format("{} {}: cancelled: the process is stopping", method, url));
	NetTimeouts timeouts;
	{
		std::lock_guard timeoutsLock(timeoutsMutex_);
		timeouts = timeouts_;
	}
	if (withinMs > 0) {
		timeouts.connectMs = std::min(timeouts.connectMs, withinMs);
		timeouts.totalMs = std::min(timeouts.totalMs, withinMs);
	}
	Handles handles = take();
	struct GiveBack {
		HttpClient &client;
		Handles handles;
		~GiveBack() { client.giveBack(handles); }
	} giveBack{*this, handles};
	CURL *curl = static_cast<CURL *>(handles.curl);
	CURLM *multi = static_cast<CURLM *>(handles.multi);
	curl_easy_reset(curl);

	HttpResult result;
	curl_slist *list = nullptr;
	TlsSettings tls;
	{
		std::lock_guard lock(mutex_);
		if (!authorization_.empty())
			list = curl_slist_append(list, authorization_.c_str());
		tls = tls_;
	}
	if (!body.empty())
		list = curl_slist_append(list, "Content-Type: application/json");
	list = curl_slist_append(list, "Expect:"); // no 100-continue round trip
	for (const auto &[name, value] : headers)
		list = curl_slist_append(list, fmt::format("{}: {}", name, value).c_str());

	curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
	if (!unixSocket_.empty())
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, unixSocket_.c_str());
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
	if (method == "GET")
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	else if (method == "HEAD")
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	applyNetLimits(curl, timeouts);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
	if (!tls.caFile.empty()) {
		curl_easy_setopt(curl, CURLOPT_CAINFO, tls.caFile.c_str());
		curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);   // only that CA
	}
	if (!tls.certFile.empty()) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.certFile.c_str());
		curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.keyFile.c_str());
	}
	char why[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, why);

	// curl_easy_perform, spelt out: the timeouts above still bound it, and cancel() wakes the poll.
	CURLcode rc = CURLE_FAILED_INIT;
	if (curl_multi_add_handle(multi, curl) == CURLM_OK) {
		int running = 1;
		while (curl_multi_perform(multi, &running) == CURLM_OK && running && !cancelled_)
			if (curl_multi_poll(multi, nullptr, 0, 1000, nullptr) != CURLM_OK)
				break;
		int queued = 0;
		while (CURLMsg *msg = curl_multi_info_read(multi, &queued))
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == curl)
				rc = msg->data.result;
		curl_multi_remove_handle(multi, curl);
	}
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);   // `why` ends with this call
	curl_slist_free_all(list);
	if (cancelled_ && rc != CURLE_OK)
		throw Error(Errc::AllocatorUnreachable, fmt::format("{} {}: cancelled: the process is stopping", method, url));
	if (rc != CURLE_OK) {
		// curl's own detail says which certificate and why ("unable to get local issuer certificate").
		std::string detail = why[0] ? fmt::format("{} ({})", curl_easy_strerror(rc), why) : curl_easy_strerror(rc);
		throw Error(Errc::AllocatorUnreachable, fmt::format("{} {}: {}", method, url, detail));
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
	return result;
}

} // namespace hac
