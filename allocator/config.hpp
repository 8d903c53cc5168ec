// hac-allocator's settings: the TOML config file (README.md lists its keys), validated as a whole.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <service/http_server.hpp>

#include "catalog.hpp"
#include "releases.hpp"
#include "slurm_client.hpp"

namespace hac::allocator {

// One device token and the account it stands for.
struct TokenConfig {
	std::string name;                      // the account; devices are stored under it
	std::string token;
	int maxDevices = 1;
	std::vector<std::string> allowedSkus;  // every SKU of the catalog unless the config narrows it
	std::vector<std::string> devices;      // SKUs of the devices created when the account is new
};

// A farm node's credential ([[node_token]]): it may report the figures of the nodes whose names
// match one of `nodes` (shell patterns).
struct NodeTokenConfig {
	std::string token;
	std::vector<std::string> nodes;

	bool allows(const std::string &node) const;
};

struct ListenAddress {
	std::string host = "127.0.0.1";
	int port = 7070;
};

// Who decides which GPUs a job gets: our own simulated farm ([inventory]), or a Slurm cluster.
enum class Backend { Simulated, Slurm };

// [slurm]: the cluster behind backend = "slurm" (README.md, "Run the farm on Slurm").
struct SlurmConfig {
	slurm::Endpoint endpoint;      // slurmrestd, the JWT and user for a remote one, the GRES, the bounds
	std::string partition;         // empty: the cluster's default partition
	int gpusPerNode = 8;           // GRES count of each node; a SKU is split evenly over nodes
	int queueSeconds = 60;         // a queued job nobody asks about again within this is cancelled
	std::string jobCompFile;       // Slurm's jobcomp/filetxt record, for `hac-allocator reconcile`
};

// How many nodes a SKU of `gpus` GPUs is spread over, and how many GPUs on each: as few nodes as
// can hold it, evenly. Empty when no even split exists (9 GPUs on nodes of 8).
struct NodeSplit {
	int nodes = 0;
	int gpusPerNode = 0;
};
std::optional<NodeSplit> splitOverNodes(int gpus, int gpusPerNode);

struct Config {
	ListenAddress listen;
	std::string database = "/var/lib/hac/allocator.db";
	std::string deviceName = "HAC Virtual Accelerator";
	int retryAfterSeconds = 5;
	Backend backend = Backend::Simulated;
	Inventory inventory;           // the simulated farm
	SlurmConfig slurm;             // backend = "slurm"
	Catalog catalog;
	std::vector<TokenConfig> tokens;
	std::vector<NodeTokenConfig> nodeTokens;
	ReleasesConfig releases;
	ServerTls tls;                 // [tls]: HTTPS when given; plain HTTP (loopback development) otherwise
};

// Throws hac::Error(Failure) naming FILE:LINE: KEY for anything wrong, unknown keys included.
// Relative paths in the file are relative to the file's folder.
Config loadConfig(const std::string &file);

// "HOST:PORT" with an IPv4 host and a port 0-65535; empty when malformed.
std::optional<ListenAddress> parseListen(std::string_view text);

} // namespace hac::allocator
