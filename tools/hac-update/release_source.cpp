// The manifest path names the release, and the signed bytes name it again: they must agree, or a
// validly signed old manifest could be served under a new version's name.
#include "release_source.hpp"

#include <fmt/format.h>

#include <hac/error.hpp>
#include <hac/json.hpp>
#include <release/version.hpp>

namespace hac::update {

namespace {

// Metadata is small and local: short bounds, so an unreachable allocator fails in seconds.
NetTimeouts metadataTimeouts()
{
	NetTimeouts t;
	t.connectMs = 3000;
	t.totalMs = 15000;
	t.lowSpeedBytesPerSecond = 1;
	t.lowSpeedSeconds = 5;
	return t;
}

std::string printable(const std::string &s, std::size_t max = 200)
{
	std::string out;
	for (char c : s.substr(0, max))
		out += c >= 0x20 && c < 0x7f ? c : '?';
	return out;
}

std::string serverMessage(const FetchResult &r)
{
	Json body = Json::parse(r.errorBody, nullptr, false);
	if (body.is_object() && body.contains("error") && body["error"].is_object() && body["error"].contains("message") &&
	    body["error"]["message"].is_string())
		return printable(body["error"]["message"].get<std::string>());
	return fmt::format("HTTP {}", r.status);
}

} // namespace

ReleaseSource::ReleaseSource(std::string allocatorUrl, std::string keysDir)
	: url_(std::move(allocatorUrl)), keysDir_(std::move(keysDir)), downloader_(metadataTimeouts())
{
	while (!url_.empty() && url_.back() == '/')
		url_.pop_back();
	keys_ = release::loadPublicKeys(keysDir_, keyProblems_);
	if (keys_.empty())
		throw Error(Errc::VerificationFailed,
			    fmt::format("no release signing key is trusted: {} holds no Ed25519 public key (*.pem){}. Install "
					"the operator's key there, or give --keys DIR; nothing was changed", keysDir_,
					keyProblems_.empty() ? "" : fmt::format(" ({})", fmt::join(keyProblems_, "; "))));
}

std::string ReleaseSource::get(const std::string &path, const std::string &what, std::uint64_t maxBytes)
{
	std::string body;
	FetchResult r = downloader_.fetch(url_ + path, body, maxBytes);
	if (!r.error.empty() && r.status == 0)
		throw Error(Errc::AllocatorUnreachable,
			    fmt::format("cannot reach the allocator at {} for {}: {}. Check that it runs and that this "
					"VM reaches it, or give --allocator URL", url_, what, r.error));
	if (r.overLimit)
		throw Error(Errc::VerificationFailed,
			    fmt::format("the allocator's {} is larger than {} bytes: refused", what, maxBytes));
	if (!r.error.empty())
		throw Error(Errc::AllocatorUnreachable,
			    fmt::format("the allocator at {} broke off sending {}: {}; try again", url_, what, r.error));
	if (r.status == 404)
		throw Error(Errc::NotFound, fmt::format("the allocator at {} has no {}: {}", url_, what, serverMessage(r)));
	if (r.status != 200)
		throw Error(r.status >= 500 ? Errc::AllocatorUnreachable : Errc::Failure,
			    fmt::format("the allocator at {} answered {} for {}: {}", url_, r.status, what, serverMessage(r)));
	return body;
}

ReleaseIndex ReleaseSource::index()
{
	std::string body = get("/v1/releases", "list of releases", 1 << 20);
	Json j = Json::parse(body, nullptr, false);
	if (!j.is_object() || !j.contains("releases") || !j["releases"].is_array())
		throw Error(Errc::Failure, fmt::format("the allocator at {} sent a list of releases that is not "
							   "{{\"releases\":[...]}}: is it a hac allocator?", url_));
	ReleaseIndex index;
	for (const Json &r : j["releases"]) {
		if (r.is_object() && r.contains("framework") && r["framework"].is_string() &&
		    release::isFrameworkVersion(r["framework"].get<std::string>()))
			index.frameworks.push_back(r["framework"].get<std::string>());
	}
	std::sort(index.frameworks.begin(), index.frameworks.end(),
		  [](const std::string &a, const std::string &b) { return release::compareVersions(a, b) < 0; });
	if (!index.frameworks.empty())
		index.latest = index.frameworks.back();
	if (j.contains("pinned") && j["pinned"].is_string() && release::isFrameworkVersion(j["pinned"].get<std::string>()))
		index.pinned = j["pinned"].get<std::string>();
	return index;
}

VerifiedRelease ReleaseSource::fetch(const std::string &framework)
{
	std::string base = fmt::format("/v1/releases/{}/", urlEncodeSegment(framework));
	std::string what = fmt::format("release {}", framework);
	std::string bytes = get(base + "manifest.json", what, release::kMaxManifestBytes);
	std::string sigText = get(base + "manifest.sig", fmt::format("signature of release {}", framework), 64 * 1024);

	release::Signature signature = release::parseSignature(sigText);
	const release::PublicKey *key = nullptr;
	switch (release::verifySignature(bytes, signature, keys_, &key)) {
	case release::Verdict::UnknownKey: {
		std::vector<std::string> ids;
		for (const release::PublicKey &k : keys_)
			ids.push_back(k.id);
		throw Error(Errc::VerificationFailed,
			    fmt::format("release {}'s manifest is signed by key {}, which is not trusted here ({} holds "
					"keys {}): install the operator's public key there or give --keys DIR; nothing "
					"was changed", framework, signature.keyId, keysDir_, fmt::join(ids, ", ")));
	}
	case release::Verdict::BadSignature:
		throw Error(Errc::VerificationFailed,
			    fmt::format("the signature of release {}'s manifest does not match its bytes (key {}, {}): the "
					"manifest was altered or damaged on the way; nothing was changed", framework,
					signature.keyId, key->file));
	case release::Verdict::Valid:
		break;
	}
	VerifiedRelease v;
	v.manifest = release::parseManifest(bytes);
	v.keyId = key->id;
	v.keyFile = key->file;
	if (v.manifest.framework != framework)
		throw Error(Errc::VerificationFailed,
			    fmt::format("the allocator serves the signed manifest of framework {} as release {}: refused; "
					"nothing was changed", v.manifest.framework, framework));
	return v;
}

std::string ReleaseSource::fileUrl(const std::string &framework, const std::string &file) const
{
	return fmt::format("{}/v1/releases/{}/files/{}", url_, urlEncodeSegment(framework), urlEncodeSegment(file));
}

} // namespace hac::update
