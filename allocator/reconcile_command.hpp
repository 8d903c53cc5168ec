// `hac-allocator reconcile` (man hac-allocator): the allocator's Slurm-held jobs against Slurm's
// jobcomp record. Exit 0 when they agree, 1 when they differ (or on another failure), 2 on misuse.
#pragma once

#include <string>

#include "config.hpp"

namespace hac::allocator {

struct ReconcileArgs {
	std::string since;           // RFC 3339, or a date; empty: from the beginning
	std::string until;           // empty: now
	std::string jobCompFile;     // empty: [slurm] jobcomp_file
	int allowedGapSeconds = 120;
	bool json = false;
};

int runReconcile(const Config &config, const ReconcileArgs &args);

} // namespace hac::allocator
