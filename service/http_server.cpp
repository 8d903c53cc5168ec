// libmicrohttpd behind a handler function: one thread per connection, so a handler may block
// (a job waiting for its device) without stalling other callers; limits bound what a client costs.
#include "http_server.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <vector>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/core.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include <hac/error.hpp>
#include <hac/number.hpp>

namespace hac {

namespace {

// The state of one request while libmicrohttpd feeds it its body.
struct Call {
	Request request;
	bool tooLarge = false;
};

MHD_Result collect(void *cls, MHD_ValueKind, const char *key, const char *value)
{
	auto *map = static_cast<std::map<std::string, std::string> *>(cls);
	std::string name(key ? key : "");
	if (map == nullptr || name.empty())
		return MHD_YES;
	(*map)[name] = value ? value : "";
	return MHD_YES;
}

std::optional<Peer> peerOfFd(int fd)
{
	sockaddr_storage addr{};
	socklen_t len = sizeof(addr);
	if (getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0 || addr.ss_family != AF_UNIX)
		return std::nullopt;
	ucred cred{};
	socklen_t credLen = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credLen) != 0)
		return std::nullopt;
	return Peer{cred.pid, cred.uid, cred.gid};
}

int fdOf(MHD_Connection *connection)
{
	const MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
	return info ? info->connect_fd : -1;
}

std::optional<Peer> peerOf(MHD_Connection *connection)
{
	int fd = fdOf(connection);
	if (fd < 0)
		return std::nullopt;
	return peerOfFd(fd);
}

// A connection as the server tracks it: its descriptor and, on a Unix socket, the caller's uid
// when it is counted against a share.
struct Slot {
	int fd = -1;
	uid_t uid = 0;
	HttpServer::Room room = HttpServer::Room::Refused;
};

// Counts each Unix-socket connection against its uid as it opens. One over a share is shut
// down at once: libmicrohttpd's thread then reads end of file and closes it, before the client
// has sent a byte, so users flooding the socket take at most their share of the slots.
void onConnection(void *cls, MHD_Connection *connection, void **context, MHD_ConnectionNotificationCode code)
{
	auto *server = static_cast<HttpServer *>(cls);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		auto *slot = new Slot{fdOf(connection)};
		*context = slot;
		server->connectionOpened();
		if (slot->fd < 0)
			return;
		server->startDeadline(slot->fd);
		std::optional<Peer> peer = peerOfFd(slot->fd);
		if (!peer)
			return;
		slot->uid = peer->uid;
		slot->room = server->admitUser(*peer);
		if (slot->room == HttpServer::Room::Refused)
			shutdown(slot->fd, SHUT_RDWR);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *context) {
		auto *slot = static_cast<Slot *>(*context);
		server->connectionClosed();
		// Before libmicrohttpd closes the descriptor, so the deadline thread never shuts down
		// a number reused by another connection.
		if (slot->fd >= 0)
			server->clearDeadline(slot->fd);
		if (slot->room != HttpServer::Room::Refused)
			server->releaseUser(slot->uid, slot->room);
		delete slot;
		*context = nullptr;
	}
}

MHD_Result send(MHD_Connection *connection, const Response &r);

// libmicrohttpd owns the descriptor from here and closes it with the response.
MHD_Response *fileResponse(const Response &r)
{
	int fd = open(r.filePath.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return nullptr;
	MHD_Response *response = MHD_create_response_from_fd_at_offset64(r.fileLength, fd, r.fileOffset);
	if (!response)
		close(fd);
	return response;
}

MHD_Result send(MHD_Connection *connection, const Response &r)
{
	MHD_Response *response;
	if (!r.filePath.empty()) {
		response = fileResponse(r);
		if (!response)
			return send(connection, Response::error(404, "not_found", "the file is gone"));
	} else {
		response = MHD_create_response_from_buffer(r.body.size(), const_cast<char *>(r.body.data()),
							   MHD_RESPMEM_MUST_COPY);
	}
	if (!response)
		return MHD_NO;
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.contentType.c_str());
	for (const auto &[name, value] : r.headers)
		MHD_add_response_header(response, name.c_str(), value.c_str());
	MHD_Result ok = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
	MHD_destroy_response(response);
	return ok;
}

MHD_Result onRequest(void *cls, MHD_Connection *connection, const char *url, const char *method,
		     const char *, const char *uploadData, size_t *uploadDataSize, void **state)
{
	auto *server = static_cast<HttpServer *>(cls);
	auto *call = static_cast<Call *>(*state);
	if (!call) {
		call = new Call;
		*state = call;
		Request &req = call->request;
		req.method = method;
		req.path = url;
		MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect, &req.query);
		std::map<std::string, std::string> raw;
		MHD_get_connection_values(connection, MHD_HEADER_KIND, collect, &raw);
		for (auto &[name, value] : raw) {
			std::string lower = name;
			for (char &c : lower)
				c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
			req.headers[lower] = value;
		}
		req.peer = peerOf(connection);
		if (!server->clientVerified(connection))
			return send(connection, Response::error(401, "client_certificate_required",
				"this server asks for a client certificate signed by its client CA; give the agent "
				"[allocator] client_cert_file and client_key_file"));
		// Refuse a declared oversized body before reading any of it: answered now, as a client
		// declaring 64 MiB may never send them (the connection is closed after the answer).
		// A length that is not a number is libmicrohttpd's to refuse, as it reads the body by it.
		std::uint64_t declared = parseInteger<std::uint64_t>(req.header("content-length")).value_or(0);
		if (declared > server->limits().maxBodyBytes) {
			call->tooLarge = true;
			return send(connection, Response::error(413, "body_too_large",
				fmt::format("the request body is larger than {} bytes", server->limits().maxBodyBytes)));
		}
		// Once, at its size: appending chunk by chunk would double the buffer up to twice that.
		req.body.reserve(static_cast<std::size_t>(declared));
		return MHD_YES;
	}
	if (*uploadDataSize > 0) {
		if (!call->tooLarge) {
			if (call->request.body.size() + *uploadDataSize > server->limits().maxBodyBytes) {
				call->tooLarge = true;
				call->request.body.clear();
			} else {
				call->request.body.append(uploadData, *uploadDataSize);
			}
		}
		*uploadDataSize = 0;
		return MHD_YES;
	}
	if (call->tooLarge)
		return send(connection, Response::error(413, "body_too_large",
			fmt::format("the request body is larger than {} bytes", server->limits().maxBodyBytes)));
	// The request is all in: the handler may take its time (a job waiting for its device).
	if (int fd = fdOf(connection); fd >= 0)
		server->clearDeadline(fd);
	return send(connection, server->handle(call->request));
}

void onCompleted(void *cls, MHD_Connection *connection, void **state, MHD_RequestTerminationCode code)
{
	delete static_cast<Call *>(*state);
	*state = nullptr;
	// Answered: the next request on this connection has its own deadline. Any other ending
	// closes the connection.
	if (int fd = fdOf(connection); fd >= 0 && code == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		static_cast<HttpServer *>(cls)->startDeadline(fd);
}

} // namespace

std::string Request::header(const std::string &lowerName) const
{
	auto it = headers.find(lowerName);
	return it == headers.end() ? std::string() : it->second;
}

Response Response::json(int status, const Json &body)
{
	Response r;
	r.status = status;
	// Replace, not throw: a reply may echo text a caller sent, which need not be valid UTF-8.
	r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
	return r;
}

Response Response::error(int status, const std::string &code, const std::string &message)
{
	return json(status, errorBody(code, message));
}

Response Response::file(int status, std::string path, std::uint64_t offset, std::uint64_t length,
			std::string contentType)
{
	Response r;
	r.status = status;
	r.contentType = std::move(contentType);
	r.filePath = std::move(path);
	r.fileOffset = offset;
	r.fileLength = length;
	return r;
}

HttpServer::HttpServer(int listenFd, Handler handler, ServerLimits limits, std::function<bool(const Peer &)> privileged,
		       const ServerTls &tls)
	: handler_(std::move(handler)), limits_(limits), privileged_(std::move(privileged)), tls_(tls)
{
	// libmicrohttpd takes these strings by pointer: they live in tls_, as long as the server.
	std::vector<MHD_OptionItem> tlsOptions;
	if (tls_.enabled()) {
		tlsOptions.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char *>(tls_.certPem.c_str())});
		tlsOptions.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char *>(tls_.keyPem.c_str())});
		if (!tls_.clientCaPem.empty())
			tlsOptions.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char *>(tls_.clientCaPem.c_str())});
	}
	tlsOptions.push_back({MHD_OPTION_END, 0, nullptr});
	deadlineThread_ = std::thread([this] { enforceDeadlines(); });
	daemon_ = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			(tls.enabled() ? MHD_USE_TLS : 0),
		0, nullptr, nullptr, &onRequest, this,
		MHD_OPTION_ARRAY, tlsOptions.data(),
		MHD_OPTION_LISTEN_SOCKET, listenFd,
		MHD_OPTION_CONNECTION_LIMIT, limits_.connectionLimit,
		MHD_OPTION_CONNECTION_TIMEOUT, limits_.idleTimeoutSeconds,
		MHD_OPTION_THREAD_STACK_SIZE, limits_.threadStackBytes,
		MHD_OPTION_NOTIFY_COMPLETED, &onCompleted, this,
		MHD_OPTION_NOTIFY_CONNECTION, &onConnection, this,
		MHD_OPTION_END);
	if (!daemon_) {
		close(listenFd);
		{
			std::lock_guard lock(deadlinesMutex_);
			stopping_ = true;
		}
		deadlineSet_.notify_all();
		deadlineThread_.join();
		throw Error(Errc::Failure, tls.enabled()
			? "cannot start the HTTPS server: libmicrohttpd refused the certificate, the key or the client CA "
			  "(are they PEM, and does the key match the certificate?)"
			: "cannot start the HTTP server (libmicrohttpd refused the listening socket)");
	}
}

bool HttpServer::clientVerified(MHD_Connection *connection) const
{
	if (tls_.clientCaPem.empty())
		return true;
	// libmicrohttpd asks for the certificate and GnuTLS checks it against the trusted CA, but a
	// client that sends none is let through: whether one came, and was good, is ours to see.
	const MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return false;
	auto session = static_cast<gnutls_session_t>(info->tls_session);
	unsigned int count = 0;
	unsigned int status = 0;
	return gnutls_certificate_get_peers(session, &count) != nullptr && count > 0 &&
	       gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
}

HttpServer::~HttpServer()
{
	MHD_stop_daemon(daemon_);
	{
		std::lock_guard lock(deadlinesMutex_);
		stopping_ = true;
	}
	deadlineSet_.notify_all();
	deadlineThread_.join();
}

HttpServer::Room HttpServer::admitUser(const Peer &peer)
{
	unsigned reserved = std::min(limits_.reservedConnections, limits_.connectionLimit);
	{
		std::lock_guard lock(usersMutex_);
		auto mine = connectionsByUid_.find(peer.uid);
		unsigned held = mine == connectionsByUid_.end() ? 0 : mine->second;
		if (held < limits_.perUserConnectionLimit && shared_ < limits_.connectionLimit - reserved) {
			++connectionsByUid_[peer.uid];
			++shared_;
			return Room::Shared;
		}
		if (reserved_ >= reserved) {
			++refused_;
			return Room::Refused;
		}
	}
	// Asked only here, beyond a share, as it reads /proc and the group database.
	if (peer.uid != 0 && !(privileged_ && privileged_(peer))) {
		++refused_;
		return Room::Refused;
	}
	std::lock_guard lock(usersMutex_);
	if (reserved_ >= reserved) {
		++refused_;
		return Room::Refused;
	}
	++reserved_;
	return Room::Reserved;
}

void HttpServer::releaseUser(uid_t uid, Room room)
{
	std::lock_guard lock(usersMutex_);
	if (room == Room::Reserved) {
		--reserved_;
		return;
	}
	--shared_;
	auto it = connectionsByUid_.find(uid);
	if (it != connectionsByUid_.end() && --it->second == 0)
		connectionsByUid_.erase(it);
}

void HttpServer::startDeadline(int fd)
{
	{
		std::lock_guard lock(deadlinesMutex_);
		deadlines_[fd] = std::chrono::steady_clock::now() + std::chrono::seconds(limits_.requestDeadlineSeconds);
	}
	deadlineSet_.notify_all();
}

void HttpServer::clearDeadline(int fd)
{
	std::lock_guard lock(deadlinesMutex_);
	deadlines_.erase(fd);
}

// Sleeps until the earliest deadline (not at all while there is none). A connection past it is
// shut down, not closed: libmicrohttpd's thread then reads end of file and closes it as usual.
void HttpServer::enforceDeadlines()
{
	std::unique_lock lock(deadlinesMutex_);
	while (!stopping_) {
		auto now = std::chrono::steady_clock::now();
		auto earliest = std::chrono::steady_clock::time_point::max();
		for (auto it = deadlines_.begin(); it != deadlines_.end();) {
			if (it->second <= now) {
				shutdown(it->first, SHUT_RDWR);
				it = deadlines_.erase(it);
			} else {
				earliest = std::min(earliest, it->second);
				++it;
			}
		}
		if (earliest == std::chrono::steady_clock::time_point::max())
			deadlineSet_.wait(lock);
		else
			deadlineSet_.wait_until(lock, earliest);
	}
}

Response HttpServer::handle(const Request &request) const
{
	try {
		return handler_(request);
	} catch (const Json::exception &e) {
		return Response::error(400, "bad_request", std::string("malformed request body: ") + e.what());
	} catch (const std::exception &e) {
		return Response::error(500, "internal", e.what());
	}
}

int listenUnix(const std::string &path, unsigned mode)
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (path.size() >= sizeof(addr.sun_path))
		throw Error(Errc::Failure, fmt::format("socket path {} is longer than {} bytes", path, sizeof(addr.sun_path) - 1));
	std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		throw Error(Errc::Failure, fmt::format("cannot create a Unix socket: {}", std::strerror(errno)));
	// A socket file left by a process that died is stale; a live one answers connect().
	struct stat st{};
	if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0) {
			close(fd);
			throw Error(Errc::Conflict, fmt::format("{} is in use by a running hac-agent", path));
		}
		unlink(path.c_str());
	}
	mode_t old = umask(0777 & ~mode);
	int rc = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
	int err = errno;
	umask(old);
	if (rc != 0 || listen(fd, 128) != 0) {
		if (rc == 0)
			err = errno;
		close(fd);
		throw Error(Errc::Failure, fmt::format("cannot listen on {}: {}", path, std::strerror(err)));
	}
	chmod(path.c_str(), mode);
	return fd;
}

int listenTcp(const std::string &host, int port)
{
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(static_cast<uint16_t>(port));
	if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
		throw Error(Errc::Usage, fmt::format("'{}' is not an IPv4 address", host));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		throw Error(Errc::Failure, fmt::format("cannot create a TCP socket: {}", std::strerror(errno)));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 || listen(fd, 128) != 0) {
		int err = errno;
		close(fd);
		throw Error(Errc::Failure, fmt::format("cannot listen on {}:{}: {}", host, port, std::strerror(err)));
	}
	return fd;
}

int boundPort(int fd)
{
	sockaddr_in addr{};
	socklen_t len = sizeof(addr);
	if (getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
		return -1;
	return ntohs(addr.sin_port);
}

} // namespace hac
