// libFuzzer target: a local API request body as any bytes, read as the agent's routes read it
// (service/request_fields.hpp, parseUsageQuery). Every bad body is an ApiError 400 or a
// hac::Error, never a crash or another exception type.
#include <cstdint>
#include <string>

#include <hac/error.hpp>
#include <hac/usage.hpp>
#include <service/request_fields.hpp>

namespace {

template <typename T>
void tryField(const hac::Json &body, const char *name, std::optional<T> fallback = std::nullopt)
{
	try {
		(void)hac::field<T>(body, name, "a value", fallback);
	} catch (const hac::ApiError &e) {
		if (e.status != 400)
			__builtin_trap();
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string text(reinterpret_cast<const char *>(data), size);
	hac::Json body;
	try {
		body = hac::requestBody(text);
	} catch (const hac::ApiError &e) {
		if (e.status != 400)
			__builtin_trap();
		return 0;
	}
	// POST /v1/jobs, /v1/jobs/{id}/memory, /v1/jobs/{id}/finish, /v1/devices, /v1/devices/{i}/resize.
	tryField<int>(body, "pid");
	tryField<int>(body, "device");
	tryField<std::string>(body, "name", std::string());
	tryField<std::string>(body, "command", std::string());
	tryField<bool>(body, "wait", false);
	tryField<int>(body, "wait_ms", 30000);
	tryField<std::int64_t>(body, "memory_used_mib");
	tryField<int>(body, "exit_status", 0);
	tryField<std::string>(body, "sku");
	// POST /v1/usage.
	try {
		(void)hac::parseUsageQuery(body);
	} catch (const hac::ApiError &e) {
		if (e.status != 400)
			__builtin_trap();
	} catch (const hac::Error &) {
	}
	return 0;
}
