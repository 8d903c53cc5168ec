// `hac-smi device list|add|rm|switch`: the VM's devices as moreh-smi's device commands manage them.
#pragma once

#include <optional>
#include <string>

#include <CLI/App.hpp>

namespace hac::smi {

struct DeviceCommand {
	std::string verb;               // list, add, rm, switch; empty: no device command
	std::string sku;                // add
	std::optional<int> index;       // rm, switch
	bool json = false;
	bool yes = false;
};

// Declares `device` and its verbs on `app`; `socket` is hac-smi's --socket.
void addDeviceCommand(CLI::App &app, DeviceCommand &command);

// Runs the device command; throws hac::Error.
int runDeviceCommand(const DeviceCommand &command, const std::string &socket);

} // namespace hac::smi
