// Interactive choices on a terminal, as moreh-switch-model asks them: a numbered selection and a
// yes/no question. Tools ask only when stdin is a terminal; scripts get a usage error instead.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace hac::tools {

// stdin and stdout are both terminals.
bool interactive();

// Asks "Selection (1-N, q, Q): " until it gets a number in range (returned) or q, Q or end of
// input (nullopt).
std::optional<int> askSelection(int count);

// Asks "Device (0, 2, q, Q): " until it gets one of `indexes` (returned) or q, Q or end of input
// (nullopt): devices are chosen by their own index, never by a position in a list.
std::optional<int> askDevice(const std::vector<int> &indexes);

// Writes "PROMPT " to `out` and reads the answer: only y or yes (y, Y, yes, Yes, YES) is yes; end
// of input is no. The prompt carries its own "[y/N]" or "(y/n, default: n)", as the tool's man
// page shows it. `out` is stderr when stdout is for a JSON document.
bool confirm(const std::string &prompt, std::FILE *out = stdout);

} // namespace hac::tools
