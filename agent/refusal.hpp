// Why the agent refuses what a caller asked, in the agent's own terms. The domain (JobTable,
// Agent's devices, start terms, usage and budget) throws it; agent/api.cpp alone turns it into an
// HTTP answer, so no other file of the agent knows an HTTP status.
#pragma once

#include <stdexcept>
#include <string>

#include <hac/json.hpp>

namespace hac {

struct Refusal : std::runtime_error {
	// Unscoped, so that a throw reads Refusal(Refusal::NotFound, ...).
	enum Kind {
		BadInput,          // what was asked is malformed or beyond a bound
		NotAllowed,        // the caller may not do this: not privileged, not its job or process
		NotFound,          // no such job, device, process, user or size
		Busy,              // the device is in use, promised, or being changed
		Unavailable,       // the allocator cannot be reached, the agent is stopping, the outbox is full
		TimedOut,          // a job's start ran out of its time
		BudgetExhausted,   // the month's budget is spent
		AllocatorRefused,  // the allocator said no (a 4xx of its own, or farm_full): `allocatorStatus`
		AllocatorBroken,   // the allocator sent what this agent cannot read
	};

	Refusal(Kind kind, std::string code, const std::string &message, Json details = Json::object())
		: std::runtime_error(message), kind(kind), code(std::move(code)), details(std::move(details)) {}

	Kind kind;
	std::string code;        // the error code callers see ("device_busy")
	Json details;            // merged into the error object, e.g. who holds a busy device
	int allocatorStatus = 0; // AllocatorRefused: the allocator's HTTP status, passed on
};

} // namespace hac
