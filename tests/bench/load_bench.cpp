// hac-bench-load: requests per second and latency of one GET against the agent's Unix socket,
// from C keep-alive HTTP/1.1 connections each with one request in flight, for a few seconds.
//   hac-bench-load SOCKET [--clients C] [--seconds S] [--path P] [--window-ms W]
//                  [--target-rps R] [--latency-baseline-ms X --latency-baseline TEXT] [--quiet]
//                  [--uids UID,...]
// One thread drives every connection through epoll, so the load generator costs at most one core
// whatever C is. The run is cut into windows of W ms: a row's median, p10 and p90 are over windows
// (requests per second in each; the p99 latency in each). Prints two JSON rows, or none with --quiet
// (a load to measure the agent under, see agent_resources.sh). With --uids (as root) connection i
// is opened as the i-th uid of the list, round robin: the agent lets one uid hold only a share of
// its connections (ServerLimits::perUserConnectionLimit), and the kernel tells it who connected.
#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <set>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include <fmt/core.h>

#include "bench_row.hpp"

namespace {

using hac::bench::Clock;

struct Connection {
	int fd = -1;
	std::string in;
	Clock::time_point sentAt;
};

struct Options {
	std::string socket;
	int clients = 1;
	double seconds = 5;
	std::string path = "/v1/status";
	int windowMs = 250;
	std::optional<double> targetRps;
	std::optional<double> latencyBaselineMs;
	std::string latencyBaseline;
	bool quiet = false;
	std::vector<uid_t> uids;
};

int connectUnix(const std::string &path)
{
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (path.size() >= sizeof(addr.sun_path))
		throw std::runtime_error("socket path too long: " + path);
	std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		throw std::runtime_error(fmt::format("cannot connect to {}: {}", path, std::strerror(err)));
	}
	return fd;
}

// The length of the first complete response in `in`, 0 while it is incomplete; its status in
// `status`. Only Content-Length bodies: libmicrohttpd sends one for a buffer response.
std::size_t responseLength(std::string_view in, int &status)
{
	std::size_t end = in.find("\r\n\r\n");
	if (end == std::string_view::npos)
		return 0;
	if (in.size() < 12 || in.substr(0, 5) != "HTTP/")
		throw std::runtime_error("the agent sent something that is not an HTTP response");
	status = std::atoi(std::string(in.substr(9, 3)).c_str());
	std::size_t length = 0;
	bool found = false;
	for (std::size_t line = in.find("\r\n") + 2; line < end;) {
		std::size_t next = in.find("\r\n", line);
		std::string header(in.substr(line, next - line));
		for (char &c : header)
			c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
		if (header.rfind("content-length:", 0) == 0) {
			length = std::strtoull(header.c_str() + 15, nullptr, 10);
			found = true;
		}
		line = next + 2;
	}
	if (!found)
		throw std::runtime_error("the agent sent a response without Content-Length");
	return in.size() >= end + 4 + length ? end + 4 + length : 0;
}

int run(const Options &o)
{
	const std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: hac\r\n\r\n", o.path);
	int epoll = epoll_create1(EPOLL_CLOEXEC);
	std::vector<Connection> connections(static_cast<std::size_t>(o.clients));
	// The agent reads the connecting process's effective uid (SO_PEERCRED) as connect() sets it,
	// and the socket's permissions are checked against the effective uid, gid and groups: so each
	// connection is opened as the user with its own group and none of root's.
	const uid_t self = geteuid();
	const gid_t selfGroup = getegid();
	if (!o.uids.empty() && setgroups(0, nullptr) != 0)
		throw std::runtime_error(fmt::format("--uids needs root: {}", std::strerror(errno)));
	for (std::size_t i = 0; i < connections.size(); ++i) {
		if (!o.uids.empty()) {
			uid_t uid = o.uids[i % o.uids.size()];
			const passwd *user = getpwuid(uid);
			if (!user)
				throw std::runtime_error(fmt::format("--uids: no user has uid {}", uid));
			if (setegid(user->pw_gid) != 0 || seteuid(uid) != 0)
				throw std::runtime_error(fmt::format("cannot act as uid {}: {}", uid, std::strerror(errno)));
		}
		connections[i].fd = connectUnix(o.socket);
		if (!o.uids.empty() && (seteuid(self) != 0 || setegid(selfGroup) != 0))
			throw std::runtime_error(fmt::format("cannot become uid {} again: {}", self, std::strerror(errno)));
		epoll_event ev{};
		ev.events = EPOLLIN;
		ev.data.u64 = i;
		epoll_ctl(epoll, EPOLL_CTL_ADD, connections[i].fd, &ev);
	}

	// A warm-up second that does not count, then the measured windows.
	const auto warmUp = std::chrono::seconds(1);
	const auto window = std::chrono::milliseconds(o.windowMs);
	const auto start = Clock::now(), measureFrom = start + warmUp;
	const auto stopAt = measureFrom + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
	const std::size_t windows = static_cast<std::size_t>(std::max(1.0, o.seconds * 1000 / o.windowMs));
	std::vector<std::vector<double>> latencies(windows);
	std::vector<double> all;
	long closed = 0, errors = 0, requests = 0;
	int alive = o.clients;

	// The request is a few dozen bytes and each connection has one in flight, so the socket's
	// buffer always takes it whole; a short write is an error rather than a state to track.
	auto send = [&](Connection &c) {
		c.sentAt = Clock::now();
		ssize_t n = ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
		return n == static_cast<ssize_t>(request.size());
	};
	auto drop = [&](Connection &c) {
		epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
		close(c.fd);
		c.fd = -1;
		++closed;
		--alive;
	};

	for (Connection &c : connections)
		if (!send(c))
			drop(c);
	std::vector<epoll_event> events(connections.size());
	char buffer[65536];
	while (alive > 0 && Clock::now() < stopAt) {
		int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
		if (ready < 0 && errno != EINTR)
			throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
		for (int e = 0; e < ready; ++e) {
			Connection &c = connections[events[e].data.u64];
			if (c.fd < 0)
				continue;
			if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			ssize_t n = recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
			if (n <= 0) {
				if (n < 0 && errno == EAGAIN)
					continue;
				drop(c);  // the agent closed it: refused beyond its limit, or timed it out
				continue;
			}
			c.in.append(buffer, static_cast<std::size_t>(n));
			int status = 0;
			std::size_t length = responseLength(c.in, status);
			if (length == 0)
				continue;
			auto now = Clock::now();
			c.in.erase(0, length);
			if (status != 200)
				++errors;
			if (now >= measureFrom && now < stopAt) {
				double ms = std::chrono::duration<double, std::milli>(now - c.sentAt).count();
				std::size_t w = std::min(windows - 1, static_cast<std::size_t>((now - measureFrom) / window));
				latencies[w].push_back(ms);
				all.push_back(ms);
				++requests;
			}
			if (!send(c))
				drop(c);
		}
	}
	for (Connection &c : connections)
		if (c.fd >= 0)
			close(c.fd);
	close(epoll);

	if (closed)
		fmt::print(stderr, "hac-bench-load: the agent closed {} of {} connections (refused beyond its connection limit?)\n",
			   closed, o.clients);
	if (errors)
		fmt::print(stderr, "hac-bench-load: {} responses were not 200 OK\n", errors);
	if (o.quiet)
		return closed || errors ? 1 : 0;

	std::vector<double> rps, p99;
	for (const auto &w : latencies) {
		rps.push_back(static_cast<double>(w.size()) * 1000 / o.windowMs);
		if (!w.empty())
			p99.push_back(hac::bench::quantile(w, 0.99));
	}
	hac::Json fields{{"clients", o.clients}, {"uids", std::max<std::size_t>(1, std::set<uid_t>(o.uids.begin(), o.uids.end()).size())}, {"seconds", o.seconds}, {"requests", requests}, {"closed", closed},
			 {"errors", errors}, {"p50_ms", hac::bench::quantile(all, 0.5)},
			 {"p99_ms", hac::bench::quantile(all, 0.99)}, {"max_ms", hac::bench::quantile(all, 1.0)}};
	std::string what = fmt::format("API GET {}, {} client{}", o.path, o.clients, o.clients == 1 ? "" : "s");
	hac::bench::RowExtras throughput;
	throughput.targetValue = o.targetRps;
	throughput.fields = fields;
	hac::bench::row(what + ": requests/s", "req/s", rps, "target: 10,000 req/s at 16 clients", {10000}, true,
			throughput);
	hac::bench::RowExtras latency;
	latency.fields = fields;
	std::vector<double> base;
	if (o.latencyBaselineMs)
		base.push_back(*o.latencyBaselineMs);
	hac::bench::row(what + ": p99 latency", "ms", p99, o.latencyBaseline, base, false, latency);
	return closed || errors ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
	try {
		Options o;
		int i = 1;
		auto value = [&](const char *option) -> std::string {
			if (i + 1 >= argc)
				throw std::invalid_argument(fmt::format("{} needs a value", option));
			return argv[++i];
		};
		for (; i < argc; ++i) {
			std::string a = argv[i];
			if (a == "--clients")
				o.clients = std::stoi(value("--clients"));
			else if (a == "--seconds")
				o.seconds = std::stod(value("--seconds"));
			else if (a == "--path")
				o.path = value("--path");
			else if (a == "--window-ms")
				o.windowMs = std::stoi(value("--window-ms"));
			else if (a == "--target-rps")
				o.targetRps = std::stod(value("--target-rps"));
			else if (a == "--latency-baseline-ms")
				o.latencyBaselineMs = std::stod(value("--latency-baseline-ms"));
			else if (a == "--latency-baseline")
				o.latencyBaseline = value("--latency-baseline");
			else if (a == "--quiet")
				o.quiet = true;
			else if (a == "--uids") {
				std::string list = value("--uids");
				for (std::size_t at = 0; at <= list.size();) {
					std::size_t comma = std::min(list.find(',', at), list.size());
					o.uids.push_back(static_cast<uid_t>(std::stoul(list.substr(at, comma - at))));
					at = comma + 1;
				}
			}
			else if (o.socket.empty() && a.rfind("--", 0) != 0)
				o.socket = a;
			else
				throw std::invalid_argument("unknown argument " + a);
		}
		if (o.socket.empty() || o.clients < 1 || o.seconds <= 0 || o.windowMs < 1)
			throw std::invalid_argument("usage: hac-bench-load SOCKET [--clients C] [--seconds S] [--path P] "
						    "[--window-ms W] [--target-rps R] [--latency-baseline-ms X "
						    "--latency-baseline TEXT] [--quiet] [--uids UID,...]");
		return run(o);
	} catch (const std::exception &e) {
		fmt::print(stderr, "hac-bench-load: {}\n", e.what());
		return 2;
	}
}
