// libFuzzer target: the allocator's and the agent's JSON documents as any bytes, read into the
// domain types (Device, Sku, Job, UsageRecord, Status) as allocator_link.cpp and the tools read
// them. What reads has the round trip property: to_json(from_json(x)) reads back to the same JSON.
#include <cstdint>
#include <string>
#include <vector>

#include <hac/error.hpp>
#include <hac/json.hpp>

namespace {

template <typename T>
void roundTrip(const hac::Json &j)
{
	T value;
	try {
		value = j.get<T>();
	} catch (const hac::Json::exception &) {
		return;
	} catch (const hac::Error &) {
		return;
	}
	hac::Json once = value;
	T again;
	try {
		again = once.get<T>();
	} catch (...) {
		__builtin_trap(); // what we wrote we cannot read
	}
	hac::Json twice = again;
	if (twice != once)
		__builtin_trap(); // the round trip changed the document
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	hac::Json j = hac::Json::parse(data, data + size, nullptr, false);
	if (j.is_discarded())
		return 0;
	roundTrip<hac::Device>(j);
	roundTrip<hac::Sku>(j);
	roundTrip<hac::Job>(j);
	roundTrip<hac::UsageRecord>(j);
	roundTrip<hac::AllocatorStatus>(j);
	roundTrip<hac::Status>(j);
	// The shapes of the allocator's replies: {"devices": [...]}, {"device": {...}}, {"records": [...]}.
	if (j.is_object()) {
		if (auto it = j.find("devices"); it != j.end())
			roundTrip<std::vector<hac::Device>>(*it);
		if (auto it = j.find("skus"); it != j.end())
			roundTrip<std::vector<hac::Sku>>(*it);
		if (auto it = j.find("device"); it != j.end())
			roundTrip<hac::Device>(*it);
		if (auto it = j.find("records"); it != j.end())
			roundTrip<std::vector<hac::UsageRecord>>(*it);
	}
	return 0;
}
