// Random (version 4) UUIDs for jobs and devices, and the check that a text is one.
#pragma once

#include <string>
#include <string_view>

namespace hac {

std::string newUuid();
// 8-4-4-4-12 hex digits, either case.
bool isUuid(std::string_view text);

} // namespace hac
