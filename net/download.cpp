// One libcurl easy handle for metadata and files. The body's first byte decides where it goes: a
// 206 must continue exactly where the file ends, a 200 restarts the file, anything else is an
// error body kept for the message.
#include "download.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fmt/core.h>

#include <hac/error.hpp>

namespace hac {

namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

struct Transfer {
	CURL *curl = nullptr;
	int fd = -1;                   // the file, or
	std::string *memory = nullptr; // the string the body goes to
	std::uint64_t resumeFrom = 0;
	std::uint64_t maxTotal = 0;
	const ProgressFn *progress = nullptr;
	std::string contentRange;
	bool started = false;          // the first body byte arrived and the status is known
	bool success = false;          // 200 or 206
	FetchResult result;
};

// "bytes 100-199/200" -> 100.
std::optional<std::uint64_t> contentRangeStart(const std::string &value)
{
	constexpr std::string_view unit = "bytes ";
	if (value.compare(0, unit.size(), unit) != 0)
		return std::nullopt;
	std::uint64_t start = 0;
	const char *begin = value.data() + unit.size(), *end = value.data() + value.size();
	auto [ptr, ec] = std::from_chars(begin, end, start);
	if (ec != std::errc() || ptr == begin)
		return std::nullopt;
	return start;
}

bool writeAll(int fd, const char *data, std::size_t size, std::uint64_t offset)
{
	while (size > 0) {
		ssize_t n = pwrite(fd, data, size, static_cast<off_t>(offset));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		size -= static_cast<std::size_t>(n);
		offset += static_cast<std::uint64_t>(n);
	}
	return true;
}

// Called once, before the first body byte is stored.
bool start(Transfer &t)
{
	t.started = true;
	curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.result.status);
	t.success = t.result.status == 200 || t.result.status == 206;
	if (!t.success)
		return true;
	if (t.result.status == 206) {
		auto from = contentRangeStart(t.contentRange);
		if (!from || *from != t.resumeFrom || t.resumeFrom == 0) {
			t.result.error = fmt::format("the server resumed at '{}', not at byte {}", t.contentRange.substr(0, 64),
						     t.resumeFrom);
			return false;
		}
		t.result.startedAt = t.resumeFrom;
		return true;
	}
	t.result.startedAt = 0;
	if (t.fd >= 0 && t.resumeFrom > 0 && ftruncate(t.fd, 0) != 0) {
		t.result.error = fmt::format("cannot truncate the partial file: {}", std::strerror(errno));
		return false;
	}
	return true;
}

size_t onBody(char *data, size_t size, size_t count, void *userdata)
{
	auto &t = *static_cast<Transfer *>(userdata);
	std::size_t length = size * count;
	if (!t.started && !start(t))
		return 0;
	if (!t.success) {
		std::size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t.result.errorBody.size());
		t.result.errorBody.append(data, std::min(room, length));
		return length;
	}
	std::uint64_t at = t.result.startedAt + t.result.received;
	if (at + length > t.maxTotal) {
		t.result.overLimit = true;
		return 0;
	}
	if (t.memory) {
		t.memory->append(data, length);
	} else if (!writeAll(t.fd, data, length, at)) {
		t.result.error = fmt::format("cannot write the download: {}", std::strerror(errno));
		return 0;
	}
	t.result.received += length;
	return length;
}

size_t onHeader(char *data, size_t size, size_t count, void *userdata)
{
	auto &t = *static_cast<Transfer *>(userdata);
	std::string_view line(data, size * count);
	constexpr std::string_view name = "content-range:";
	if (line.size() > name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0) {
		std::string value(line.substr(name.size()));
		auto first = value.find_first_not_of(" \t");
		auto last = value.find_last_not_of(" \t\r\n");
		t.contentRange = first == std::string::npos ? "" : value.substr(first, last - first + 1);
	}
	return size * count;
}

int onProgress(void *userdata, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t)
{
	auto &t = *static_cast<Transfer *>(userdata);
	if (t.started && t.success && t.progress && *t.progress)
		(*t.progress)(t.result.startedAt + static_cast<std::uint64_t>(now),
			      total > 0 ? t.result.startedAt + static_cast<std::uint64_t>(total) : 0);
	return 0;
}

FetchResult perform(CURL *curl, const std::string &url, Transfer &t, const NetTimeouts &timeouts)
{
	curl_easy_reset(curl);
	t.curl = curl;
	char errorText[CURL_ERROR_SIZE] = "";
	std::string range = t.resumeFrom > 0 ? fmt::format("{}-", t.resumeFrom) : "";
	curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
	curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	if (!range.empty())
		curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	applyNetLimits(curl, timeouts);
	// A Content-Length over the limit is refused before any body arrives.
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t.maxTotal));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errorText);

	CURLcode rc = curl_easy_perform(curl);
	if (!t.started)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.result.status);
	if (rc == CURLE_FILESIZE_EXCEEDED) {
		t.result.overLimit = true;
	} else if (rc != CURLE_OK && !t.result.overLimit && t.result.error.empty()) {
		t.result.error = *errorText ? errorText : curl_easy_strerror(rc);
	}
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
	return t.result;
}

} // namespace

Downloader::Downloader(NetTimeouts timeouts) : timeouts_(timeouts)
{
	static std::once_flag once;
	std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
	curl_ = curl_easy_init();
	if (!curl_)
		throw Error(Errc::Failure, "cannot initialise libcurl");
}

Downloader::~Downloader()
{
	curl_easy_cleanup(static_cast<CURL *>(curl_));
}

FetchResult Downloader::fetch(const std::string &url, std::string &body, std::uint64_t maxBytes)
{
	body.clear();
	Transfer t;
	t.memory = &body;
	t.maxTotal = maxBytes;
	return perform(static_cast<CURL *>(curl_), url, t, timeouts_);
}

FetchResult Downloader::fetchToFile(const std::string &url, int fd, std::uint64_t resumeFrom, std::uint64_t maxTotal,
				    const NetTimeouts &timeouts, const ProgressFn &progress)
{
	Transfer t;
	t.fd = fd;
	t.resumeFrom = resumeFrom;
	t.maxTotal = maxTotal;
	t.progress = &progress;
	return perform(static_cast<CURL *>(curl_), url, t, timeouts);
}

std::string urlEncodeSegment(const std::string &text)
{
	std::string out;
	for (unsigned char c : text) {
		if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			out += static_cast<char>(c);
		else
			out += fmt::format("%{:02X}", c);
	}
	return out;
}

} // namespace hac
