// Unit tests of config loading: values, defaults, and errors that name file, line and key.
#include <doctest/doctest.h>

#include <hac/error.hpp>
#include <service/config.hpp>

using namespace hac;

namespace {

std::string errorOf(const std::string &text, void (*read)(ConfigSection &))
{
	try {
		ConfigFile f = ConfigFile::parse(text, "/etc/hac/agent.toml");
		read(f.root());
	} catch (const Error &e) {
		return e.what();
	}
	return "";
}

} // namespace

TEST_CASE("values are read, with defaults for what is absent")
{
	ConfigFile f = ConfigFile::parse("socket = \"/tmp/s\"\n[allocator]\nurl = \"http://x\"\ntimeout = 5\n", "a.toml");
	ConfigSection &root = f.root();
	CHECK(root.string("socket", "") == "/tmp/s");
	CHECK(root.string("database", "/var/lib/hac/jobs.db") == "/var/lib/hac/jobs.db");
	auto allocator = root.table("allocator");
	REQUIRE(allocator);
	CHECK(allocator->string("url", "") == "http://x");
	CHECK(allocator->integer("timeout", 1, 0, 10) == 5);
	CHECK(allocator->boolean("tls", true));
	CHECK_NOTHROW(allocator->finish());
	CHECK_NOTHROW(root.finish());
}

TEST_CASE("a wrong type names the file, line and key")
{
	std::string e = errorOf("\n\n[allocator]\nurl = 7\n", [](ConfigSection &root) { root.table("allocator")->string("url"); });
	CHECK(e == "/etc/hac/agent.toml:4: allocator.url: expected a string, found an integer");
}

TEST_CASE("an out-of-range integer says the range")
{
	std::string e = errorOf("port = 70000\n", [](ConfigSection &root) { root.integer("port", 1, 65535); });
	CHECK(e == "/etc/hac/agent.toml:1: port: 70000 is out of range; use 1 to 65535");
}

TEST_CASE("a misspelt key is an error, not a silently ignored setting")
{
	std::string e = errorOf("socket = \"/s\"\nsokcet = \"/t\"\n", [](ConfigSection &root) {
		root.string("socket");
		root.finish();
	});
	CHECK(e == "/etc/hac/agent.toml:2: sokcet: unknown key; check its spelling against the documentation");
}

TEST_CASE("a syntax error names line and column")
{
	std::string e = errorOf("a = 1\nb = = 2\n", [](ConfigSection &) {});
	CHECK(e.rfind("/etc/hac/agent.toml:2:", 0) == 0);
}

TEST_CASE("arrays of tables and string arrays")
{
	ConfigFile f = ConfigFile::parse("[[token]]\nname = \"a\"\nskus = [\"S\", \"M\"]\n[[token]]\nname = \"b\"\nskus = [1]\n", "x.toml");
	auto tokens = f.root().tables("token");
	REQUIRE(tokens.size() == 2);
	CHECK(tokens[0].string("name", "") == "a");
	CHECK(tokens[0].strings("skus")->size() == 2);
	try {
		tokens[1].strings("skus");
		FAIL("no exception");
	} catch (const Error &e) {
		CHECK(std::string(e.what()) == "x.toml:6: token[1].skus: expected an array of strings, found an integer in it");
	}
}

TEST_CASE("a missing file is a clear error")
{
	try {
		ConfigFile::load("/nonexistent/agent.toml");
		FAIL("no exception");
	} catch (const Error &e) {
		CHECK(std::string(e.what()) == "/nonexistent/agent.toml: cannot read the config file: No such file or directory");
	}
}
