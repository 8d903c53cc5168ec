// Unit tests of the release manifest: what parses, what each malformed field is refused for, and
// that serializing and parsing agree.
#include <doctest/doctest.h>

#include <string>

#include <hac/error.hpp>
#include <hac/json.hpp>
#include <release/manifest.hpp>

using namespace hac;
using namespace hac::release;

namespace {

const std::string kSha(64, 'a');

Json validJson()
{
	return Json{
		{"schema_version", 1},
		{"framework", "24.5.0"},
		{"created_at", "2026-01-01T00:00:00.000Z"},
		{"expires_at", "2026-04-01T00:00:00.000Z"},
		{"min_agent_version", "0.1.0"},
		{"packages", {{{"name", "torch"}, {"version", "2.1.0+hac24.5.0"},
			       {"file", "torch-2.1.0+hac24.5.0-py3-none-any.whl"}, {"size", 1234}, {"sha256", kSha}}}},
	};
}

// The message a manifest is refused with, or "" when it parses.
std::string refusal(const std::string &bytes)
{
	try {
		parseManifest(bytes);
	} catch (const Error &e) {
		CHECK(e.code() == Errc::VerificationFailed);
		return e.what();
	}
	return "";
}

std::string refusalOf(const Json &j)
{
	return refusal(j.dump());
}

} // namespace

TEST_CASE("a valid manifest parses")
{
	Manifest m = parseManifest(validJson().dump());
	CHECK(m.framework == "24.5.0");
	CHECK(m.minAgentVersion == "0.1.0");
	CHECK(formatTime(m.expiresAt) == "2026-04-01T00:00:00.000Z");
	REQUIRE(m.packages.size() == 1);
	CHECK(m.packages[0].name == "torch");
	CHECK(m.packages[0].size == 1234);
	CHECK(m.find("Torch") == &m.packages[0]);
	CHECK(m.find("numpy") == nullptr);
	CHECK_FALSE(m.expired(m.expiresAt - 1));
	CHECK(m.expired(m.expiresAt));
}

TEST_CASE("fields it does not know are ignored")
{
	Json j = validJson();
	j["notes"] = "later versions add fields";
	j["packages"][0]["extra"] = {1, 2};
	CHECK(refusalOf(j) == "");
}

TEST_CASE("serialize and parse agree, byte for byte")
{
	Manifest m = parseManifest(validJson().dump());
	std::string bytes = serializeManifest(m);
	CHECK(bytes.back() == '\n');
	CHECK(serializeManifest(parseManifest(bytes)) == bytes);
}

TEST_CASE("each malformed field is named")
{
	CHECK(refusal(std::string()).find("not JSON") != std::string::npos);
	CHECK(refusal(std::string("[1]")).find("not a JSON object") != std::string::npos);
	CHECK(refusal(std::string(2000, '[')).find("deeper") != std::string::npos);
	CHECK(refusal(std::string(kMaxManifestBytes + 1, ' ')).find("larger") != std::string::npos);

	auto with = [](const char *key, Json value) {
		Json j = validJson();
		j[key] = std::move(value);
		return refusalOf(j);
	};
	auto withPackage = [](const char *key, Json value) {
		Json j = validJson();
		j["packages"][0][key] = std::move(value);
		return refusalOf(j);
	};
	CHECK(with("schema_version", 2).find("schema_version 2") != std::string::npos);
	CHECK(with("schema_version", "1").find("schema_version must be an integer") != std::string::npos);
	CHECK(with("framework", "24.5.0-rc1").find("framework") != std::string::npos);
	CHECK(with("framework", nullptr).find("framework is missing") != std::string::npos);
	CHECK(with("expires_at", "2025-01-01T00:00:00.000Z").find("not after created_at") != std::string::npos);
	CHECK(with("created_at", "yesterday").find("created_at must be") != std::string::npos);
	CHECK(with("min_agent_version", 1).find("min_agent_version must be a string") != std::string::npos);
	CHECK(with("packages", Json::array()).find("at least one") != std::string::npos);
	CHECK(with("packages", "torch").find("at least one") != std::string::npos);

	CHECK(withPackage("name", "../torch").find("packages[0].name") != std::string::npos);
	CHECK(withPackage("version", "2 1").find("packages[0].version") != std::string::npos);
	CHECK(withPackage("file", "../torch-2.1.0-py3-none-any.whl").find("packages[0].file") != std::string::npos);
	CHECK(withPackage("file", "torch-2.1.0.tar.gz").find("packages[0].file") != std::string::npos);
	CHECK(withPackage("file", "numpy-1.0-py3-none-any.whl").find("names package 'numpy'") != std::string::npos);
	CHECK(withPackage("size", 0).find("packages[0].size") != std::string::npos);
	CHECK(withPackage("size", -5).find("packages[0].size") != std::string::npos);
	CHECK(withPackage("size", 1.5).find("packages[0].size") != std::string::npos);
	CHECK(withPackage("size", kMaxPackageBytes + 1).find("packages[0].size") != std::string::npos);
	CHECK(withPackage("sha256", std::string(64, 'A')).find("packages[0].sha256") != std::string::npos);
	CHECK(withPackage("sha256", std::string(63, 'a')).find("packages[0].sha256") != std::string::npos);
}

TEST_CASE("a package listed twice is refused")
{
	Json j = validJson();
	Json again = j["packages"][0];
	again["name"] = "Torch";
	again["file"] = "Torch-2.1.0+hac24.5.0-py3-none-any.whl";
	j["packages"].push_back(again);
	CHECK(refusalOf(j).find("listed twice") != std::string::npos);
}
