// A small HTTP/1.1 server over libmicrohttpd, for hac-agent (Unix socket) and hac-allocator (TCP).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>

#include <hac/json.hpp>

struct MHD_Daemon;
struct MHD_Connection;

namespace hac {

// The caller of a Unix-socket request, as the kernel reports it (SO_PEERCRED).
struct Peer {
	pid_t pid = 0;
	uid_t uid = 0;
	gid_t gid = 0;
};

struct Request {
	std::string method;
	std::string path;                              // without the query
	std::map<std::string, std::string> query;
	std::map<std::string, std::string> headers;    // names in lower case
	std::string body;
	std::optional<Peer> peer;                      // set on Unix sockets only

	std::string header(const std::string &lowerName) const;
};

struct Response {
	int status = 200;
	std::string body;
	std::string contentType = "application/json";
	std::map<std::string, std::string> headers;
	// When set, the body is `fileLength` bytes of this file from `fileOffset`, sent from the file
	// (sendfile) instead of `body`; a file that cannot be opened by then is answered 404.
	std::string filePath;
	std::uint64_t fileOffset = 0;
	std::uint64_t fileLength = 0;

	static Response json(int status, const Json &body);
	static Response error(int status, const std::string &code, const std::string &message);
	static Response file(int status, std::string path, std::uint64_t offset, std::uint64_t length,
			     std::string contentType = "application/octet-stream");
};

using Handler = std::function<Response(const Request &)>;

struct ServerLimits {
	std::size_t maxBodyBytes = 1 << 20;    // larger bodies get 413
	unsigned connectionLimit = 256;        // beyond it new connections are refused
	// On a Unix socket, what one uid may hold of connectionLimit: one user's slowloris (a byte a
	// second keeps a connection from ever being idle) cannot lock the others out.
	unsigned perUserConnectionLimit = 192;
	// Of connectionLimit, what all uids together may hold beyond this is kept for root and the
	// callers `privileged` names: however many users gang up, an administrator gets in.
	unsigned reservedConnections = 32;
	unsigned idleTimeoutSeconds = 10;      // idle or slow (slowloris) connections are closed
	// A request's headers and body must all arrive within this, counted from the connection's
	// start or its previous answer: a byte every few seconds resets the idle timeout, not this.
	unsigned requestDeadlineSeconds = 30;
	std::size_t threadStackBytes = 256 << 10;
};

// HTTPS on a TCP listener (hac-allocator's [tls]): the server's certificate chain and key, and,
// to ask every client for a certificate, the CA that must have signed it. PEM text, not paths.
struct ServerTls {
	std::string certPem;
	std::string keyPem;
	std::string clientCaPem;   // empty: no client certificate asked for

	bool enabled() const { return !certPem.empty(); }
};

class HttpServer {
public:
	// Serves on `listenFd`, a bound and listening socket (Unix or TCP) that the server then owns.
	// `privileged` says whether a Unix-socket caller may use the reserved connections (root
	// always may); it is asked only for a connection beyond the others' share.
	HttpServer(int listenFd, Handler handler, ServerLimits limits = {},
		   std::function<bool(const Peer &)> privileged = {}, const ServerTls &tls = {});
	~HttpServer();
	HttpServer(const HttpServer &) = delete;
	HttpServer &operator=(const HttpServer &) = delete;

	// Called by libmicrohttpd's threads; public only for its C callbacks.
	Response handle(const Request &request) const;
	// With a client CA: whether the connection's client sent a certificate it signed.
	bool clientVerified(MHD_Connection *connection) const;
	const ServerLimits &limits() const { return limits_; }
	// Where a Unix-socket connection of `peer` is counted: in the room all uids share (each up
	// to perUserConnectionLimit), else in the reserved room for root and the privileged, else
	// nowhere (refused). Each admitted one is released when it closes.
	enum class Room { Refused, Shared, Reserved };
	Room admitUser(const Peer &peer);
	void releaseUser(uid_t uid, Room room);
	// The request deadline of connection `fd`: started (again) when it opens or was answered,
	// cleared while its handler runs, dropped when it closes.
	void startDeadline(int fd);
	void clearDeadline(int fd);
	// Connections open now (counted as they open and close), and those refused since the start
	// by the per-uid share or the reserve (admitUser); for the daemons' metrics.
	void connectionOpened() { ++open_; }
	void connectionClosed() { --open_; }
	unsigned openConnections() const { return open_; }
	std::uint64_t refusedConnections() const { return refused_; }

private:
	void enforceDeadlines();

	Handler handler_;
	ServerLimits limits_;
	std::function<bool(const Peer &)> privileged_;
	ServerTls tls_;
	std::mutex usersMutex_;
	std::map<uid_t, unsigned> connectionsByUid_;
	unsigned shared_ = 0;                  // connections in the shared room
	unsigned reserved_ = 0;                // connections in the reserved room
	std::mutex deadlinesMutex_;
	std::condition_variable deadlineSet_;
	std::map<int, std::chrono::steady_clock::time_point> deadlines_;
	bool stopping_ = false;
	std::atomic<unsigned> open_{0};
	std::atomic<std::uint64_t> refused_{0};
	std::thread deadlineThread_;           // shuts down connections past their deadline
	MHD_Daemon *daemon_ = nullptr;
};

// Binds and listens on a Unix socket path (replacing a stale socket file) with the given mode.
int listenUnix(const std::string &path, unsigned mode);
// Binds and listens on host:port over TCP; port 0 picks a free one, see boundPort().
int listenTcp(const std::string &host, int port);
int boundPort(int fd);

} // namespace hac
