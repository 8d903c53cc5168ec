// libcurl easy handle behind HttpClient: kept alive between requests to reuse the connection.
#include "http_client.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <curl/curl.h>
#include <fmt/core.h>

#include <hac/error.hpp>

namespace hac {

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
	curl_ = curl_easy_init();
	if (!curl_)
		throw Error(ExitCode::Failure, "cannot initialise libcurl");
}

HttpClient::~HttpClient()
{
	curl_easy_cleanup(static_cast<CURL *>(curl_));
}

void HttpClient::setBearerToken(std::string token)
{
	std::lock_guard lock(mutex_);
	authorization_ = "Authorization: Bearer " + token;
}

HttpResult HttpClient::request(const std::string &method, const std::string &path, const std::string &body,
			       const std::map<std::string, std::string> &headers)
{
	std::lock_guard lock(mutex_);
	CURL *curl = static_cast<CURL *>(curl_);
	curl_easy_reset(curl);

	HttpResult result;
	std::string url = baseUrl_ + path;
	curl_slist *list = nullptr;
	if (!authorization_.empty())
		list = curl_slist_append(list, authorization_.c_str());
	if (!body.empty())
		list = curl_slist_append(list, "Content-Type: application/json");
	list = curl_slist_append(list, "Expect:"); // no 100-continue round trip
	for (const auto &[name, value] : headers)
		list = curl_slist_append(list, fmt::format("{}: {}", name, value).c_str());

	curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
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
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeouts_.connectMs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeouts_.totalMs);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, timeouts_.lowSpeedBytesPerSecond);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, timeouts_.lowSpeedSeconds);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);

	CURLcode rc = curl_easy_perform(curl);
	curl_slist_free_all(list);
	if (rc != CURLE_OK) {
		throw Error(ExitCode::AllocatorUnreachable, fmt::format("{} {}: {}", method, url, curl_easy_strerror(rc)));
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
	return result;
}

} // namespace hac
