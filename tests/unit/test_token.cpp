// Unit tests of reading the device token: only a private regular file of the agent's user.
#include <doctest/doctest.h>

#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <hac/error.hpp>
#include <net/address.hpp>

#include "agent_config.hpp"
#include "temp_dir.hpp"
#include "token.hpp"

using namespace hac;

namespace {

AgentConfig configWithToken(const TempDir &dir, const std::string &content, mode_t mode)
{
	std::ofstream(dir.file("token")) << content;
	chmod(dir.file("token").c_str(), mode);
	AgentConfig config;
	config.tokenFile = dir.file("token");
	return config;
}

std::string refusal(const AgentConfig &config)
{
	try {
		loadToken(config);
	} catch (const Error &e) {
		return e.what();
	}
	return "";
}

} // namespace

TEST_CASE("a 0600 token is read and trimmed; only its fingerprint is shown")
{
	unsetenv("CREDENTIALS_DIRECTORY");
	TempDir dir;
	Token t = loadToken(configWithToken(dir, "  s3cret-token\n", 0600));
	CHECK(t.value == "s3cret-token");
	CHECK(t.fingerprint.rfind("SHA256:", 0) == 0);
	CHECK(t.fingerprint.size() == 7 + 32);
	CHECK(t.fingerprint.find("s3cret") == std::string::npos);
	CHECK(tokenFingerprint("a") != tokenFingerprint("b"));
}

TEST_CASE("a token readable by others is refused with the chmod that fixes it")
{
	TempDir dir;
	std::string e = refusal(configWithToken(dir, "t", 0644));
	CHECK(e.find("readable by group or others (mode 0644); run 'chmod 600") != std::string::npos);
	CHECK(refusal(configWithToken(dir, "t", 0640)).find("mode 0640") != std::string::npos);
}

TEST_CASE("a symlinked, empty or many-word token is refused")
{
	TempDir dir;
	AgentConfig config = configWithToken(dir, "t", 0600);
	symlink(dir.file("token").c_str(), dir.file("link").c_str());
	config.tokenFile = dir.file("link");
	CHECK(refusal(config).find("symbolic link") != std::string::npos);
	CHECK(refusal(configWithToken(dir, "\n \n", 0600)).find("is empty") != std::string::npos);
	CHECK(refusal(configWithToken(dir, "one two", 0600)).find("more than one word") != std::string::npos);
	config.tokenFile = dir.file("missing");
	CHECK(refusal(config).find("no device token at") != std::string::npos);
}

TEST_CASE("the systemd credential wins over the configured file")
{
	TempDir dir;
	AgentConfig config = configWithToken(dir, "from-file", 0600);
	std::filesystem::create_directory(dir.path / "creds");
	std::ofstream(dir.file("creds/token")) << "from-credential";
	chmod(dir.file("creds/token").c_str(), 0400);
	setenv("CREDENTIALS_DIRECTORY", dir.file("creds").c_str(), 1);
	CHECK(loadToken(config).value == "from-credential");
	unsetenv("CREDENTIALS_DIRECTORY");
}

TEST_CASE("a credential readable through systemd's ACL (mode 0440) is accepted; the same token_file is not")
{
	TempDir dir;
	AgentConfig config = configWithToken(dir, "from-file", 0440);
	CHECK(refusal(config).find("readable by group or others") != std::string::npos);
	std::filesystem::create_directory(dir.path / "creds");
	std::ofstream(dir.file("creds/token")) << "from-credential";
	chmod(dir.file("creds/token").c_str(), 0440);
	setenv("CREDENTIALS_DIRECTORY", dir.file("creds").c_str(), 1);
	CHECK(loadToken(config).value == "from-credential");
	unsetenv("CREDENTIALS_DIRECTORY");
}

TEST_CASE("the allocator's URL: its host, and whether plain HTTP to it stays on this machine")
{
	CHECK(hac::urlHost("http://127.0.0.1:7070/v1") == "127.0.0.1");
	CHECK(hac::urlHost("https://Allocator.Example:443") == "allocator.example");
	CHECK(hac::urlHost("http://user@10.0.0.5/") == "10.0.0.5");
	CHECK(hac::urlHost("http://[::1]:7070") == "::1");
	CHECK(hac::urlHost("http://localhost") == "localhost");
	CHECK(hac::isLoopbackHost("127.0.0.1"));
	CHECK(hac::isLoopbackHost("127.255.0.9"));
	CHECK(hac::isLoopbackHost("localhost"));
	CHECK(hac::isLoopbackHost("::1"));
	CHECK_FALSE(hac::isLoopbackHost("128.0.0.1"));
	CHECK_FALSE(hac::isLoopbackHost("10.0.0.5"));
	CHECK_FALSE(hac::isLoopbackHost("127.0.0.1.example"));
	CHECK_FALSE(hac::isLoopbackHost("localhost.example"));
	CHECK_FALSE(hac::isLoopbackHost(""));
}
