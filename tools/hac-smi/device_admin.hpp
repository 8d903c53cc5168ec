// `hac-smi device list|add|rm|switch`: the VM's devices as moreh-smi's device commands manage them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/App.hpp>

#include "options.hpp"

namespace hac::smi {

struct DeviceCommand {
	std::string verb;               // list, add, rm, switch; empty: no device command
	std::string sku;                // add
	std::optional<int> index;       // rm, switch
	bool json = false;
	bool yes = false;
	std::vector<std::string> stray; // words after `device` that are no verb
};

// Declares `device` and its verbs on `app`.
void addDeviceCommand(CLI::App &app, DeviceCommand &command);

// Throws hac::Error(Usage) when `device` came without a verb or with one that does not exist,
// naming the verbs.
void checkDeviceCommand(const DeviceCommand &command);

// Runs the device command with hac-smi's own --socket and --json; throws hac::Error.
int runDeviceCommand(DeviceCommand command, const Options &options);

} // namespace hac::smi
