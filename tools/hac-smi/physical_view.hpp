// hac-smi -p: the physical GPUs this VM's running jobs hold (the agent's GET /v1/gpus), as a
// table, JSON or --query CSV.
#pragma once

#include <string>
#include <vector>

#include <hac/json.hpp>
#include <hac/types.hpp>

#include "common/render.hpp"

namespace hac::smi {

// Reads the agent's GET /v1/gpus; throws hac::Error(Failure) when it cannot.
GpuView parseGpuView(const Json &document);

// Keeps the GPUs and errors of device `index`.
void keepDeviceGpus(GpuView &view, int index);

// Timestamp line, one row per GPU (Dev, Location, GPU Util, Mem Util, Mem Usage, Temp, Power,
// Job, Sampled), then a line when no job holds GPUs, one per job whose GPUs are unknown, and
// what "-" and simulated figures mean when the table has them.
std::string renderPhysicalView(const GpuView &view, TimeMs now);

// The --json document: schema_version, gpus, errors, client_version and timestamp.
Json physicalDocument(const GpuView &view, TimeMs now);

const std::vector<QueryField> &physicalQueryFields();
std::string physicalQueryHelp();
// One CSV row per GPU, after the header if `withHeader`.
std::string renderPhysicalQuery(const Query &query, const GpuView &view, TimeMs now, bool withHeader);

} // namespace hac::smi
