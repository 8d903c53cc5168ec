// libFuzzer target: a release manifest and a signature file as any bytes. Parsing either gives a
// checked value or throws hac::Error; what parses survives the round trip serialize -> parse
// unchanged (the bytes hac-release signs are a fixed point).
#include <cstdint>
#include <string>
#include <string_view>

#include <hac/error.hpp>

#include <release/manifest.hpp>
#include <release/signing.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string_view bytes(reinterpret_cast<const char *>(data), size);
	try {
		hac::release::Manifest m = hac::release::parseManifest(bytes);
		std::string once = hac::release::serializeManifest(m);
		hac::release::Manifest again = hac::release::parseManifest(once);
		if (hac::release::serializeManifest(again) != once)
			__builtin_trap(); // the round trip changed the manifest
		if (m.packages.size() > hac::release::kMaxPackages)
			__builtin_trap();
		for (const auto &p : m.packages)
			(void)m.find(p.name);
	} catch (const hac::Error &) {
	}
	try {
		hac::release::Signature s = hac::release::parseSignature(bytes);
		std::string once = hac::release::serializeSignature(s);
		hac::release::Signature again = hac::release::parseSignature(once);
		if (again.keyId != s.keyId || again.raw != s.raw)
			__builtin_trap();
	} catch (const hac::Error &) {
	}
	return 0;
}
