// What hac-smi does once its command line is parsed.
#pragma once

#include "options.hpp"

namespace hac::smi {

// Prints what `options` ask for and returns the exit code; throws hac::Error.
int run(const Options &options);

} // namespace hac::smi
