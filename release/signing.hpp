// Ed25519 signatures over a manifest's exact bytes (OpenSSL's libcrypto): the public keys a host
// trusts, the signature file served beside each manifest, and signing for hac-release.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hac::release {

// A trusted public key: its id, its 32 raw bytes and the file it came from.
struct PublicKey {
	std::string id;
	std::string raw;
	std::string file;
};

// manifest.sig: {"schema_version":1,"algorithm":"ed25519","key_id":"<16 hex>","signature":"<base64>"}
struct Signature {
	std::string keyId;
	std::string raw;   // 64 bytes
};

// The id of a key: the first 8 bytes of the SHA-256 of its raw public key, as 16 hex digits.
std::string keyIdOf(std::string_view rawPublicKey);

// Reads a PEM public key ("openssl pkey -pubout"); throws hac::Error(VerificationFailed) when the
// file cannot be read or is not an Ed25519 public key.
PublicKey readPublicKey(const std::string &pemFile);

// Every *.pem in `dir`, sorted by file name. A file that is not an Ed25519 public key is skipped
// and described in `problems`; a folder that cannot be read gives no keys and a problem.
std::vector<PublicKey> loadPublicKeys(const std::string &dir, std::vector<std::string> &problems);

// Throws hac::Error(VerificationFailed) naming the field when `text` is not a signature file.
Signature parseSignature(std::string_view text);
std::string serializeSignature(const Signature &signature);

enum class Verdict {
	Valid,
	UnknownKey,   // no key in `keys` has the signature's key id
	BadSignature, // the key is known but the signature does not match the bytes
};

// Checks `signature` over `message` with the key of its id among `keys`; `*used` is set to that key
// when one has the id.
Verdict verifySignature(std::string_view message, const Signature &signature, const std::vector<PublicKey> &keys,
			const PublicKey **used = nullptr);

// An Ed25519 private key, for signing releases.
class SigningKey {
public:
	// Reads a PEM private key ("openssl genpkey -algorithm ed25519"); throws hac::Error(Failure).
	static SigningKey load(const std::string &pemFile);
	~SigningKey();
	SigningKey(SigningKey &&other) noexcept;
	SigningKey &operator=(SigningKey &&) = delete;

	const PublicKey &publicKey() const { return public_; }
	Signature sign(std::string_view message) const;

private:
	SigningKey(void *pkey, PublicKey pub) : pkey_(pkey), public_(std::move(pub)) {}
	void *pkey_;   // EVP_PKEY*
	PublicKey public_;
};

} // namespace hac::release
