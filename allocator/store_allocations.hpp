// The reads and writes of the allocations and leases tables that Store's other table groups run
// too (defined in store_allocations.cpp). Internal to the store: api.cpp sees only store.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <hac/time.hpp>
#include <service/database.hpp>

namespace hac::allocator {

// The job holding the device: its allocation is neither released nor ended by recorded usage
// (recording usage releases it).
std::optional<std::string> heldBy(Database &db, const std::string &deviceId);

// Gives the job's GPUs back if this account still holds them (its Slurm hold too: dropHold).
void releaseHeld(Database &db, const std::string &account, const std::string &jobId, TimeMs now);

// Moves the job's Slurm hold, if this account has one, to the cancels (store_slurm.cpp); true when
// there was one.
bool dropHold(Database &db, const std::string &jobId, const std::string &account, const std::string &reason,
	      TimeMs now);

} // namespace hac::allocator
