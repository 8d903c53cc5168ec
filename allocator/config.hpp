// hac-allocator's settings: the TOML config file (README.md lists its keys), validated as a whole.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog.hpp"
#include "releases.hpp"

namespace hac::allocator {

// One device token and the account it stands for.
struct TokenConfig {
	std::string name;                      // the account; devices are stored under it
	std::string token;
	int maxDevices = 1;
	std::vector<std::string> allowedSkus;  // every SKU of the catalog unless the config narrows it
	std::vector<std::string> devices;      // SKUs of the devices created when the account is new
};

struct ListenAddress {
	std::string host = "127.0.0.1";
	int port = 7070;
};

struct Config {
	ListenAddress listen;
	std::string database = "/var/lib/hac/allocator.db";
	std::string deviceName = "HAC Virtual Accelerator";
	int retryAfterSeconds = 5;
	Inventory inventory;
	Catalog catalog;
	std::vector<TokenConfig> tokens;
	ReleasesConfig releases;
};

// Throws hac::Error(Failure) naming FILE:LINE: KEY for anything wrong, unknown keys included.
// Relative paths in the file are relative to the file's folder.
Config loadConfig(const std::string &file);

// "HOST:PORT" with an IPv4 host and a port 0-65535; empty when malformed.
std::optional<ListenAddress> parseListen(std::string_view text);

} // namespace hac::allocator
