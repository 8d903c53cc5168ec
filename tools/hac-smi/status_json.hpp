// hac-smi --json: the agent's status as hac-smi's own document.
#pragma once

#include <hac/json.hpp>
#include <hac/types.hpp>

namespace hac::smi {

// The status with "schema_version", "client_version" and "timestamp" (RFC 3339 UTC).
Json statusDocument(const Status &status, TimeMs now);

} // namespace hac::smi
