// hac-smi --query: the device fields it offers and their CSV rows.
#pragma once

#include <string>
#include <vector>

#include <hac/types.hpp>

#include "common/render.hpp"

namespace hac::smi {

const std::vector<QueryField> &deviceQueryFields();

// The text of --help-query.
std::string deviceQueryHelp();

// One CSV row per device, after the header if `withHeader`.
std::string renderDeviceQuery(const Query &query, const Status &status, TimeMs now, bool withHeader);

} // namespace hac::smi
