// JSON mapping of the domain types (nlohmann_json), the one wire format of the agent and the allocator.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include <hac/types.hpp>

namespace hac {

using Json = nlohmann::json;

void to_json(Json &j, const Sku &s);
void from_json(const Json &j, Sku &s);
void to_json(Json &j, const Device &d);
void from_json(const Json &j, Device &d);
void to_json(Json &j, const Job &job);
void from_json(const Json &j, Job &job);
void to_json(Json &j, const UsageRecord &u);
void from_json(const Json &j, UsageRecord &u);
void to_json(Json &j, const AllocatorStatus &a);
void from_json(const Json &j, AllocatorStatus &a);
void to_json(Json &j, const Status &s);
void from_json(const Json &j, Status &s);
void to_json(Json &j, const PhysicalGpu &g);
void from_json(const Json &j, PhysicalGpu &g);
void to_json(Json &j, const GpuViewError &e);
void from_json(const Json &j, GpuViewError &e);
// {"gpus":[...],"errors":[...]} (no schema_version: the caller adds it to its document).
void to_json(Json &j, const GpuView &v);
void from_json(const Json &j, GpuView &v);

// {"error":{"code":"device_busy","message":"..."}}: the error body of both APIs.
Json errorBody(const std::string &code, const std::string &message);

// Parses `text`, throwing hac::Error(Failure) that names `what` when it is not JSON of the expected shape.
Json parseJson(const std::string &text, const std::string &what);

} // namespace hac
