// hac-smi's view for people: the moreh-smi layout of devices and jobs.
#pragma once

#include <string>

#include <hac/types.hpp>

namespace hac::smi {

// Timestamp line, version box, device table, a note when the allocator is unreachable, processes.
std::string renderDeviceView(const Status &status, TimeMs now);

} // namespace hac::smi
