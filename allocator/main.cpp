// hac-allocator: options and signals; the server itself is the allocator library (api, store, config).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <pthread.h>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>
#include <hac/exit_code.hpp>
#include <net/address.hpp>
#include <service/http_server.hpp>

#include "api.hpp"
#include "config.hpp"
#include "reconcile_command.hpp"
#include "store.hpp"

namespace {

using namespace hac;
using namespace hac::allocator;

constexpr const char *kUsage =
	"Usage: hac-allocator --config FILE [--listen HOST:PORT] [--database PATH] [--port-file PATH] "
	"[--log-level LEVEL]\n"
	"       hac-allocator reconcile --config FILE [--since WHEN] [--until WHEN] [--max-gap SECONDS] "
	"[--jobcomp FILE] [--json]\n"
	"Run 'hac-allocator --help' for more.\n";

struct Options {
	std::string config;
	std::string listen;
	std::string database;
	std::string portFile;
	std::string logLevel = "info";
};

// Tests and scripts wait for the file, so it appears whole or not at all.
void writePortFile(const std::string &path, int port)
{
	std::string tmp = path + ".tmp";
	{
		std::ofstream out(tmp, std::ios::trunc);
		out << port << '\n';
		out.flush();
		if (!out)
			throw Error(Errc::Failure, fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
	}
	if (std::rename(tmp.c_str(), path.c_str()) != 0)
		throw Error(Errc::Failure, fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(errno)));
}

// Accounts new to the database get the config's devices; known ones keep what the database holds.
void seedAccounts(const Config &config, Store &store)
{
	for (const TokenConfig &t : config.tokens) {
		if (store.seedAccount(t.name, t.devices)) {
			spdlog::info("account {}: created with {} device(s)", t.name, t.devices.size());
			continue;
		}
		std::vector<std::string> stored;
		for (const StoredDevice &d : store.devices(t.name))
			stored.push_back(d.sku);
		if (stored != t.devices)
			spdlog::warn("account {}: the database holds devices [{}]; the config's devices [{}] only apply "
				     "to a new account", t.name, fmt::join(stored, ", "), fmt::join(t.devices, ", "));
	}
	for (const StoredDevice &d : store.allDevices())
		if (!config.catalog.find(d.sku))
			throw Error(Errc::Failure,
				    fmt::format("account {} has device {} of SKU '{}', which the catalog no longer lists; "
						"add it back to the [[sku]] tables", d.account, d.index, d.sku));
}

int run(const Options &opt)
{
	sigset_t stopSignals;
	sigemptyset(&stopSignals);
	sigaddset(&stopSignals, SIGTERM);
	sigaddset(&stopSignals, SIGINT);
	// Blocked before any thread starts, so every thread inherits the mask and sigwait() below
	// is the only place these signals arrive.
	pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
	std::signal(SIGPIPE, SIG_IGN);

	Config config = loadConfig(opt.config);
	if (!opt.listen.empty()) {
		auto listen = parseListen(opt.listen);
		if (!listen)
			throw Error(Errc::Usage, fmt::format("--listen '{}' is not HOST:PORT with an IPv4 host, e.g. "
								 "127.0.0.1:7070", opt.listen));
		config.listen = *listen;
	}
	if (!opt.database.empty())
		config.database = opt.database;

	Store store(config.database);
	seedAccounts(config, store);
	std::unique_ptr<SlurmFarm> farm;
	if (config.backend == Backend::Slurm)
		farm = std::make_unique<SlurmFarm>(config.slurm, store);
	Api api(config, store, farm.get());
	int fd = listenTcp(config.listen.host, config.listen.port);
	int port = boundPort(fd);
	HttpServer server(fd, [&api](const Request &request) { return api.handle(request); }, {}, {}, config.tls);
	if (!opt.portFile.empty())
		writePortFile(opt.portFile, port);
	std::string farmText = farm ? fmt::format("Slurm at {}, partition {}, {}:{} per node", config.slurm.endpoint.url,
						  config.slurm.partition.empty() ? "(default)" : config.slurm.partition,
						  config.slurm.endpoint.gres, config.slurm.gpusPerNode)
				    : fmt::format("simulated farm of {} nodes x {} GPUs", config.inventory.nodes,
						  config.inventory.gpusPerNode);
	spdlog::info("hac-allocator {} listening on {}://{}:{} ({} account(s), {}, database {})", HAC_VERSION,
		     config.tls.enabled() ? "https" : "http", config.listen.host, port, config.tokens.size(), farmText,
		     config.database);
	if (!config.tls.enabled() && !isLoopbackHost(config.listen.host))
		spdlog::warn("serving plain HTTP on {}: device tokens would cross the network in clear; give [tls] "
			     "cert_file and key_file (agents refuse http:// to anything but loopback)", config.listen.host);

	int sig = 0;
	sigwait(&stopSignals, &sig);
	spdlog::info("stopping on {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	if (!opt.portFile.empty())
		unlink(opt.portFile.c_str());
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	Options opt;
	CLI::App app{"hac-allocator: the reference HAC allocator server (allocator/API.md).", "hac-allocator"};
	app.add_option("-c,--config", opt.config, "config file (TOML); allocator/README.md lists its keys")
		->type_name("FILE");
	app.add_option("--listen", opt.listen, "HOST:PORT to serve on, overriding the config; port 0 picks a free one")
		->type_name("HOST:PORT");
	app.add_option("--database", opt.database, "SQLite database, overriding the config")->type_name("PATH");
	app.add_option("--port-file", opt.portFile, "write the port served on to PATH once listening")
		->type_name("PATH");
	app.add_option("--log-level", opt.logLevel, "trace, debug, info, warn, error or off (default info)")
		->type_name("LEVEL")
		->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
	app.set_version_flag("-v,--version", std::string("hac-allocator ") + HAC_VERSION);
	ReconcileArgs reconcileArgs;
	CLI::App *reconcile = app.add_subcommand(
		"reconcile", "compare the allocations Slurm held with Slurm's own record (jobcomp/filetxt) and list "
			     "the differences; exit 1 when there are any");
	// --config, --database and --log-level may come after the subcommand's name too.
	reconcile->fallthrough();
	reconcile->add_option("--since", reconcileArgs.since, "jobs that ended at or after WHEN (RFC 3339 UTC, or a date)")
		->type_name("WHEN");
	reconcile->add_option("--until", reconcileArgs.until, "jobs that ended before WHEN (default: now)")->type_name("WHEN");
	reconcile->add_option("--max-gap", reconcileArgs.allowedGapSeconds,
			      "seconds a hold may start before or end after the job it held (default 120)")
		->type_name("SECONDS")
		->check(CLI::Range(0, 86400));
	reconcile->add_option("--jobcomp", reconcileArgs.jobCompFile, "Slurm's jobcomp file, overriding [slurm] jobcomp_file")
		->type_name("FILE");
	reconcile->add_flag("--json", reconcileArgs.json, "print the comparison as JSON");
	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForVersion &e) {
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		std::fprintf(stderr, "hac-allocator: %s\n%s", e.what(), kUsage);
		return toInt(ExitCode::Usage);
	}
	if (opt.config.empty()) {
		std::fprintf(stderr, "hac-allocator: --config FILE is required: the tokens and devices to serve come "
				     "from it (see conf/allocator.toml.example)\n%s", kUsage);
		return toInt(ExitCode::Usage);
	}

	auto logger = spdlog::stderr_logger_mt("hac-allocator");
	logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
	spdlog::set_default_logger(logger);
	spdlog::set_level(spdlog::level::from_str(opt.logLevel));

	try {
		if (reconcile->parsed()) {
			spdlog::set_level(spdlog::level::warn);   // its output is the report, not the store's log
			Config config = loadConfig(opt.config);
			if (!opt.database.empty())
				config.database = opt.database;
			return runReconcile(config, reconcileArgs);
		}
		return run(opt);
	} catch (const Error &e) {
		std::fprintf(stderr, "hac-allocator: %s\n", e.what());
		if (e.code() == Errc::Usage)
			std::fputs(kUsage, stderr);
		return toInt(exitCode(e.code()));
	} catch (const std::exception &e) {
		std::fprintf(stderr, "hac-allocator: %s\n", e.what());
		return toInt(ExitCode::Failure);
	}
}
