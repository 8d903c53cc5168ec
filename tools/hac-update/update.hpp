// hac-update's verbs: --check, --list, the default upgrade, --force and --target.
#pragma once

#include "options.hpp"

namespace hac::update {

// Returns the exit code; throws hac::Error for failures (run_tool.hpp maps them).
int runUpdate(const Options &options);

} // namespace hac::update
