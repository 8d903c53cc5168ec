// Names a user types are matched in any case: "2XLARGE" is 2xLarge.192GB, and a job ID prefix may
// be typed as hac-smi shows it or in capitals.
#pragma once

#include <string>
#include <string_view>

namespace hac::tools {

// `text` with ASCII letters in lower case; other bytes (UTF-8 included) as they are.
std::string lower(std::string_view text);

} // namespace hac::tools
