// Unit tests of release signatures: sign and verify with keys made here, unknown keys, altered
// bytes, malformed signature files and key folders.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <hac/error.hpp>
#include <release/sha256.hpp>
#include <release/signing.hpp>

#include "temp_dir.hpp"

using namespace hac;
using namespace hac::release;

namespace {

// Writes a new Ed25519 key pair as NAME.key (private) and keys/NAME.pem (public) under `dir`.
void makeKeyPair(const TempDir &dir, const std::string &name)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
	REQUIRE(pkey);
	std::filesystem::create_directories(dir.path / "keys");
	std::FILE *priv = std::fopen(dir.file(name + ".key").c_str(), "w");
	std::FILE *pub = std::fopen(dir.file("keys/" + name + ".pem").c_str(), "w");
	REQUIRE(priv);
	REQUIRE(pub);
	CHECK(PEM_write_PrivateKey(priv, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1);
	CHECK(PEM_write_PUBKEY(pub, pkey) == 1);
	std::fclose(priv);
	std::fclose(pub);
	EVP_PKEY_free(pkey);
}

void write(const std::string &file, const std::string &text)
{
	std::ofstream(file) << text;
}

} // namespace

TEST_CASE("sha256 of bytes and of a file")
{
	CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	TempDir dir;
	write(dir.file("f"), "abc");
	CHECK(sha256File(dir.file("f")) == sha256Hex("abc"));
	CHECK_THROWS_AS(sha256File(dir.file("missing")), Error);
}

TEST_CASE("a signature made with a key verifies with its public key, and nothing else does")
{
	TempDir dir;
	makeKeyPair(dir, "release");
	SigningKey key = SigningKey::load(dir.file("release.key"));
	std::vector<std::string> problems;
	std::vector<PublicKey> keys = loadPublicKeys(dir.file("keys"), problems);
	CHECK(problems.empty());
	REQUIRE(keys.size() == 1);
	CHECK(keys[0].id == key.publicKey().id);
	CHECK(keys[0].id.size() == 16);

	std::string message = "{\"framework\":\"24.5.0\"}\n";
	Signature sig = parseSignature(serializeSignature(key.sign(message)));
	const PublicKey *used = nullptr;
	CHECK(verifySignature(message, sig, keys, &used) == Verdict::Valid);
	CHECK(used == &keys[0]);

	std::string altered = message;
	altered[3] = 'F';
	CHECK(verifySignature(altered, sig, keys) == Verdict::BadSignature);
	Signature flipped = sig;
	flipped.raw[10] = static_cast<char>(flipped.raw[10] ^ 1);
	CHECK(verifySignature(message, flipped, keys) == Verdict::BadSignature);

	TempDir other;
	makeKeyPair(other, "stranger");
	SigningKey stranger = SigningKey::load(other.file("stranger.key"));
	CHECK(verifySignature(message, stranger.sign(message), keys) == Verdict::UnknownKey);
}

TEST_CASE("key folders: bad files are skipped and described")
{
	TempDir dir;
	makeKeyPair(dir, "good");
	write(dir.file("keys/broken.pem"), "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n");
	write(dir.file("keys/README"), "not a key, not a .pem: ignored");
	// An RSA key is a real key of the wrong kind.
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
	REQUIRE(rsa);
	std::FILE *f = std::fopen(dir.file("keys/rsa.pem").c_str(), "w");
	PEM_write_PUBKEY(f, rsa);
	std::fclose(f);
	EVP_PKEY_free(rsa);

	std::vector<std::string> problems;
	std::vector<PublicKey> keys = loadPublicKeys(dir.file("keys"), problems);
	CHECK(keys.size() == 1);
	REQUIRE(problems.size() == 2);
	CHECK(problems[0].find("broken.pem is not a PEM public key") != std::string::npos);
	CHECK(problems[1].find("rsa.pem is not an Ed25519 key") != std::string::npos);

	problems.clear();
	CHECK(loadPublicKeys(dir.file("nowhere"), problems).empty());
	REQUIRE(problems.size() == 1);
	CHECK(problems[0].find("cannot read the key folder") != std::string::npos);
}

TEST_CASE("malformed signature files are refused with the field named")
{
	auto refusal = [](const std::string &text) -> std::string {
		try {
			parseSignature(text);
		} catch (const Error &e) {
			CHECK(e.code() == Errc::VerificationFailed);
			return e.what();
		}
		return "";
	};
	std::string sig64(86, 'A');
	std::string good = R"({"schema_version":1,"algorithm":"ed25519","key_id":"0123456789abcdef","signature":")" + sig64 + "==\"}";
	CHECK(refusal(good) == "");
	CHECK(refusal("not json").find("not a JSON object") != std::string::npos);
	CHECK(refusal(R"({"schema_version":2})").find("schema_version") != std::string::npos);
	CHECK(refusal(R"({"schema_version":1,"algorithm":"rsa"})").find("algorithm") != std::string::npos);
	CHECK(refusal(R"({"schema_version":1,"algorithm":"ed25519","key_id":"XYZ","signature":""})").find("key_id") !=
	      std::string::npos);
	CHECK(refusal(R"({"schema_version":1,"algorithm":"ed25519","key_id":"0123456789abcdef","signature":"AAAA"})")
		      .find("64 bytes") != std::string::npos);
	CHECK(refusal(R"({"schema_version":1,"algorithm":"ed25519","key_id":"0123456789abcdef","signature":"A=AA"})")
		      .find("64 bytes") != std::string::npos);
}

TEST_CASE("a private key file that is not Ed25519 is refused")
{
	TempDir dir;
	write(dir.file("k"), "nothing");
	CHECK_THROWS_WITH_AS(SigningKey::load(dir.file("k")), doctest::Contains("not a PEM private key"), Error);
	CHECK_THROWS_WITH_AS(SigningKey::load(dir.file("missing")), doctest::Contains("cannot read"), Error);
}
