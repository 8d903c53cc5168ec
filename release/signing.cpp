// EVP_DigestSign/EVP_DigestVerify with Ed25519 (no pre-hash: the key signs the manifest's bytes),
// and the PEM and base64 handling around them.
#include "signing.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/core.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <hac/error.hpp>
#include <hac/json.hpp>

#include "sha256.hpp"

namespace hac::release {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kPublicKeyBytes = 32;
constexpr std::size_t kSignatureBytes = 64;

struct PkeyFree {
	void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
	void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

[[noreturn]] void badSignatureFile(const std::string &what)
{
	throw Error(Errc::VerificationFailed, "the manifest's signature file is not valid: " + what);
}

std::string rawPublicKey(EVP_PKEY *pkey)
{
	std::string raw(kPublicKeyBytes, '\0');
	std::size_t length = raw.size();
	if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char *>(raw.data()), &length) != 1 ||
	    length != kPublicKeyBytes)
		return {};
	return raw;
}

Pkey readPem(const std::string &file, bool isPrivate, std::string &error)
{
	std::FILE *f = std::fopen(file.c_str(), "re");
	if (!f) {
		error = fmt::format("cannot read {}: {}", file, std::strerror(errno));
		return nullptr;
	}
	Pkey key(isPrivate ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr) : PEM_read_PUBKEY(f, nullptr, nullptr, nullptr));
	std::fclose(f);
	if (!key) {
		error = fmt::format("{} is not a PEM {} key", file, isPrivate ? "private" : "public");
		return nullptr;
	}
	if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) {
		error = fmt::format("{} is not an Ed25519 key (make one with 'openssl genpkey -algorithm ed25519')", file);
		return nullptr;
	}
	return key;
}

std::string base64Encode(std::string_view raw)
{
	std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
	int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
				reinterpret_cast<const unsigned char *>(raw.data()), static_cast<int>(raw.size()));
	out.resize(static_cast<std::size_t>(n));
	return out;
}

// Strict: the standard alphabet with padding, no whitespace.
std::optional<std::string> base64Decode(std::string_view text)
{
	if (text.empty() || text.size() % 4 != 0 || text.size() > 4096)
		return std::nullopt;
	std::size_t padding = 0;
	for (std::size_t i = 0; i < text.size(); ++i) {
		char c = text[i];
		if (c == '=') {
			if (i + 2 < text.size())
				return std::nullopt;
			++padding;
		} else if (padding || !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) {
			return std::nullopt;
		}
	}
	std::string out(text.size() / 4 * 3, '\0');
	int n = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(out.data()),
				reinterpret_cast<const unsigned char *>(text.data()), static_cast<int>(text.size()));
	if (n < 0)
		return std::nullopt;
	out.resize(static_cast<std::size_t>(n) - padding);
	return out;
}

bool isKeyId(const std::string &s)
{
	return s.size() == 16 && std::all_of(s.begin(), s.end(), [](char c) {
		return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
	});
}

} // namespace

std::string keyIdOf(std::string_view rawPublicKey)
{
	return sha256Hex(rawPublicKey).substr(0, 16);
}

PublicKey readPublicKey(const std::string &pemFile)
{
	std::string error;
	Pkey key = readPem(pemFile, false, error);
	if (!key)
		throw Error(Errc::VerificationFailed, error);
	std::string raw = rawPublicKey(key.get());
	if (raw.empty())
		throw Error(Errc::VerificationFailed, fmt::format("cannot read the public key in {}", pemFile));
	return PublicKey{keyIdOf(raw), raw, pemFile};
}

std::vector<PublicKey> loadPublicKeys(const std::string &dir, std::vector<std::string> &problems)
{
	std::vector<std::string> files;
	std::error_code ec;
	for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
		if (it->path().extension() == ".pem")
			files.push_back(it->path().string());
	if (ec) {
		problems.push_back(fmt::format("cannot read the key folder {}: {}", dir, ec.message()));
		return {};
	}
	std::sort(files.begin(), files.end());
	std::vector<PublicKey> keys;
	for (const std::string &file : files) {
		try {
			keys.push_back(readPublicKey(file));
		} catch (const Error &e) {
			problems.push_back(e.what());
		}
	}
	return keys;
}

Signature parseSignature(std::string_view text)
{
	if (text.size() > 64 * 1024)
		badSignatureFile("it is larger than 64 KiB");
	Json j = Json::parse(text.begin(), text.end(), nullptr, false);
	if (j.is_discarded() || !j.is_object())
		badSignatureFile("it is not a JSON object");
	auto str = [&](const char *key) {
		auto it = j.find(key);
		if (it == j.end() || !it->is_string())
			badSignatureFile(fmt::format("{} is missing or not a string", key));
		return it->get<std::string>();
	};
	auto schema = j.find("schema_version");
	if (schema == j.end() || !schema->is_number_integer() || schema->get<std::int64_t>() != 1)
		badSignatureFile("schema_version is not 1");
	if (str("algorithm") != "ed25519")
		badSignatureFile("algorithm is not ed25519");
	Signature s;
	s.keyId = str("key_id");
	if (!isKeyId(s.keyId))
		badSignatureFile("key_id is not 16 lower-case hex digits");
	auto raw = base64Decode(str("signature"));
	if (!raw || raw->size() != kSignatureBytes)
		badSignatureFile(fmt::format("signature is not {} bytes in base64", kSignatureBytes));
	s.raw = *raw;
	return s;
}

std::string serializeSignature(const Signature &signature)
{
	Json j = {{"schema_version", 1}, {"algorithm", "ed25519"}, {"key_id", signature.keyId},
		  {"signature", base64Encode(signature.raw)}};
	return j.dump(2) + "\n";
}

Verdict verifySignature(std::string_view message, const Signature &signature, const std::vector<PublicKey> &keys,
			const PublicKey **used)
{
	auto key = std::find_if(keys.begin(), keys.end(), [&](const PublicKey &k) { return k.id == signature.keyId; });
	if (key == keys.end())
		return Verdict::UnknownKey;
	if (used)
		*used = &*key;
	Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
					      reinterpret_cast<const unsigned char *>(key->raw.data()), key->raw.size()));
	MdCtx ctx(EVP_MD_CTX_new());
	if (!pkey || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1)
		throw Error(Errc::Failure, "OpenSSL cannot set up an Ed25519 verification");
	int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char *>(signature.raw.data()),
				  signature.raw.size(), reinterpret_cast<const unsigned char *>(message.data()),
				  message.size());
	return ok == 1 ? Verdict::Valid : Verdict::BadSignature;
}

SigningKey SigningKey::load(const std::string &pemFile)
{
	std::string error;
	Pkey key = readPem(pemFile, true, error);
	if (!key)
		throw Error(Errc::Failure, error);
	std::string raw = rawPublicKey(key.get());
	if (raw.empty())
		throw Error(Errc::Failure, fmt::format("cannot derive the public key of {}", pemFile));
	return SigningKey(key.release(), PublicKey{keyIdOf(raw), raw, pemFile});
}

SigningKey::SigningKey(SigningKey &&other) noexcept : pkey_(other.pkey_), public_(std::move(other.public_))
{
	other.pkey_ = nullptr;
}

SigningKey::~SigningKey()
{
	EVP_PKEY_free(static_cast<EVP_PKEY *>(pkey_));
}

Signature SigningKey::sign(std::string_view message) const
{
	MdCtx ctx(EVP_MD_CTX_new());
	std::string raw(kSignatureBytes, '\0');
	std::size_t length = raw.size();
	if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, static_cast<EVP_PKEY *>(pkey_)) != 1 ||
	    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char *>(raw.data()), &length,
			   reinterpret_cast<const unsigned char *>(message.data()), message.size()) != 1 ||
	    length != kSignatureBytes)
		throw Error(Errc::Failure, "OpenSSL cannot sign with the Ed25519 key");
	return Signature{public_.id, raw};
}

} // namespace hac::release
