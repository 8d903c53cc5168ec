// A small HTTP/1.1 server over libmicrohttpd, for hac-agent (Unix socket) and hac-allocator (TCP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>

#include <hac/json.hpp>

struct MHD_Daemon;

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
	unsigned idleTimeoutSeconds = 10;      // idle or slow (slowloris) connections are closed
	std::size_t threadStackBytes = 256 << 10;
};

class HttpServer {
public:
	// Serves on `listenFd`, a bound and listening socket (Unix or TCP) that the server then owns.
	HttpServer(int listenFd, Handler handler, ServerLimits limits = {});
	~HttpServer();
	HttpServer(const HttpServer &) = delete;
	HttpServer &operator=(const HttpServer &) = delete;

	// Called by libmicrohttpd's threads; public only for its C callbacks.
	Response handle(const Request &request) const;
	const ServerLimits &limits() const { return limits_; }
	// Counts a connection of `uid`; false when that passes perUserConnectionLimit (it is counted
	// anyway, and released with the others when it closes).
	bool admitUser(uid_t uid);
	void releaseUser(uid_t uid);

private:
	Handler handler_;
	ServerLimits limits_;
	std::mutex usersMutex_;
	std::map<uid_t, unsigned> connectionsByUid_;
	MHD_Daemon *daemon_ = nullptr;
};

// Binds and listens on a Unix socket path (replacing a stale socket file) with the given mode.
int listenUnix(const std::string &path, unsigned mode);
// Binds and listens on host:port over TCP; port 0 picks a free one, see boundPort().
int listenTcp(const std::string &host, int port);
int boundPort(int fd);

} // namespace hac
