// The --json document is built from hac::Status, not passed through from the agent, so its shape
// is hac-smi's contract: an agent that adds fields does not change what hac-smi promises.
#include "status_json.hpp"

namespace hac::smi {

Json statusDocument(const Status &status, TimeMs now)
{
	Json doc = status; // carries schema_version
	doc["client_version"] = HAC_VERSION;
	doc["timestamp"] = formatTime(now);
	return doc;
}

} // namespace hac::smi
