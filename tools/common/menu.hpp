// Interactive choices on a terminal, as moreh-switch-model asks them: a numbered selection and a
// yes/no question. Tools ask only when stdin is a terminal; scripts get a usage error instead.
#pragma once

#include <optional>
#include <string>

namespace hac::tools {

// stdin and stdout are both terminals.
bool interactive();

// Asks "Selection (1-N, q, Q): " until it gets a number in range (returned) or q, Q or end of
// input (nullopt).
std::optional<int> askSelection(int count);

// Asks "QUESTION [y/N] "; only y or yes (any case) is yes.
bool confirm(const std::string &question);

} // namespace hac::tools
