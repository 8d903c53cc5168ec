// Reading a manifest checks every field's type and bounds before anything is used: the bytes come
// from the network and are also fed to a fuzzer.
#include "manifest.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/json.hpp>

#include "version.hpp"

namespace hac::release {

namespace {

[[noreturn]] void bad(const std::string &what)
{
	throw Error(Errc::VerificationFailed, "the release manifest is not valid: " + what);
}

const Json &member(const Json &object, const char *key, const std::string &where)
{
	auto it = object.find(key);
	if (it == object.end() || it->is_null())
		bad(fmt::format("{}{} is missing", where, key));
	return *it;
}

std::string text(const Json &object, const char *key, const std::string &where = {})
{
	const Json &v = member(object, key, where);
	if (!v.is_string())
		bad(fmt::format("{}{} must be a string", where, key));
	return v.get<std::string>();
}

TimeMs timeField(const Json &object, const char *key)
{
	std::string v = text(object, key);
	auto t = parseTime(v);
	if (!t)
		bad(fmt::format("{} must be an RFC 3339 UTC time such as 2026-11-23T17:30:00.000Z", key));
	return *t;
}

bool isSha256(const std::string &s)
{
	return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
		return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
	});
}

Package readPackage(const Json &j, std::size_t index)
{
	std::string where = fmt::format("packages[{}].", index);
	if (!j.is_object())
		bad(fmt::format("packages[{}] must be an object", index));
	Package p;
	p.name = text(j, "name", where);
	if (!isPackageName(p.name))
		bad(fmt::format("{}name is not a package name", where));
	p.version = text(j, "version", where);
	if (!isPackageVersion(p.version))
		bad(fmt::format("{}version is not a package version", where));
	p.file = text(j, "file", where);
	auto wheel = parseWheelFilename(p.file);
	if (!wheel)
		bad(fmt::format("{}file is not the file name of a wheel (NAME-VERSION-PY-ABI-PLATFORM.whl)", where));
	if (normalizeName(wheel->name) != normalizeName(p.name))
		bad(fmt::format("{}file names package '{}', not '{}'", where, wheel->name, p.name));
	const Json &size = member(j, "size", where);
	if (!size.is_number_unsigned() || size.get<std::uint64_t>() == 0 || size.get<std::uint64_t>() > kMaxPackageBytes)
		bad(fmt::format("{}size must be a whole number of bytes from 1 to {}", where, kMaxPackageBytes));
	p.size = size.get<std::uint64_t>();
	p.sha256 = text(j, "sha256", where);
	if (!isSha256(p.sha256))
		bad(fmt::format("{}sha256 must be 64 lower-case hex digits", where));
	return p;
}

// nlohmann_json recurses on nesting when it copies or prints a value; a manifest is three levels
// deep, so anything much deeper is refused before parsing.
bool nestedTooDeep(std::string_view bytes, int limit)
{
	int depth = 0;
	bool inString = false, escaped = false;
	for (char c : bytes) {
		if (inString) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				inString = false;
		} else if (c == '"') {
			inString = true;
		} else if (c == '[' || c == '{') {
			if (++depth > limit)
				return true;
		} else if (c == ']' || c == '}') {
			--depth;
		}
	}
	return false;
}

} // namespace

const Package *Manifest::find(std::string_view name) const
{
	std::string wanted = normalizeName(name);
	for (const Package &p : packages)
		if (normalizeName(p.name) == wanted)
			return &p;
	return nullptr;
}

Manifest parseManifest(std::string_view bytes)
{
	if (bytes.size() > kMaxManifestBytes)
		bad(fmt::format("it is larger than {} bytes", kMaxManifestBytes));
	if (nestedTooDeep(bytes, 16))
		bad("it nests deeper than 16 levels");
	Json j = Json::parse(bytes.begin(), bytes.end(), nullptr, false);
	if (j.is_discarded())
		bad("it is not JSON");
	if (!j.is_object())
		bad("it is not a JSON object");

	const Json &schema = member(j, "schema_version", "");
	if (!schema.is_number_integer())
		bad("schema_version must be an integer");
	if (schema.get<std::int64_t>() != kManifestSchemaVersion)
		bad(fmt::format("schema_version {} is not {}, the one this hac understands; upgrade hac",
				schema.dump(), kManifestSchemaVersion));

	Manifest m;
	m.framework = text(j, "framework");
	if (!isFrameworkVersion(m.framework))
		bad("framework must be a version such as 24.5.0");
	m.createdAt = timeField(j, "created_at");
	m.expiresAt = timeField(j, "expires_at");
	if (m.expiresAt <= m.createdAt)
		bad("expires_at is not after created_at");
	m.minAgentVersion = text(j, "min_agent_version");
	if (!isFrameworkVersion(m.minAgentVersion))
		bad("min_agent_version must be a version such as 0.1.0");

	const Json &packages = member(j, "packages", "");
	if (!packages.is_array() || packages.empty())
		bad("packages must be a list of at least one package");
	if (packages.size() > kMaxPackages)
		bad(fmt::format("packages lists more than {} packages", kMaxPackages));
	for (std::size_t i = 0; i < packages.size(); ++i) {
		Package p = readPackage(packages[i], i);
		for (const Package &other : m.packages) {
			if (normalizeName(other.name) == normalizeName(p.name))
				bad(fmt::format("package '{}' is listed twice", p.name));
			if (other.file == p.file)
				bad(fmt::format("file '{}' is listed twice", p.file));
		}
		m.packages.push_back(std::move(p));
	}
	return m;
}

std::string serializeManifest(const Manifest &m)
{
	Json packages = Json::array();
	for (const Package &p : m.packages)
		packages.push_back({{"name", p.name}, {"version", p.version}, {"file", p.file},
				    {"size", p.size}, {"sha256", p.sha256}});
	Json j = {
		{"schema_version", kManifestSchemaVersion},
		{"framework", m.framework},
		{"created_at", formatTime(m.createdAt)},
		{"expires_at", formatTime(m.expiresAt)},
		{"min_agent_version", m.minAgentVersion},
		{"packages", packages},
	};
	return j.dump(2) + "\n";
}

} // namespace hac::release
