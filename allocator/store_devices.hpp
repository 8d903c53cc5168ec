// The reads and writes of the devices table that Store's other table groups run too (defined in
// store_devices.cpp). Internal to the store: api.cpp sees only store.hpp.
#pragma once

#include <optional>
#include <string>

#include <service/database.hpp>

#include "store.hpp"

namespace hac::allocator {

// The account's device, unless it is unknown or removed.
std::optional<StoredDevice> loadDevice(Database &db, const std::string &account, const std::string &deviceId);

// A new device row with its "added" change, so every device's history starts where the device does.
void insertDevice(Database &db, const StoredDevice &device);

} // namespace hac::allocator
