// hac-release: make and sign a framework release from a folder of wheels, for the allocator to serve.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <hac/error.hpp>
#include <hac/exit_code.hpp>

#include "release_maker.hpp"

namespace {

constexpr const char *kUsage =
	"Usage: hac-release --key KEY.pem --framework VERSION --wheels DIR --releases DIR\n"
	"                   [--min-agent-version VERSION] [--expires-in-days N | --expires-at TIME] [--replace]\n"
	"Run 'hac-release --help' for more.\n";

} // namespace

int main(int argc, char **argv)
{
	using namespace hac;
	allocator::ReleaseRequest req;
	req.minAgentVersion = HAC_VERSION;
	int days = 90;
	std::string expiresAt;
	CLI::App app{"hac-release: make and sign a framework release from a folder of wheels.\n"
		     "Writes RELEASES/VERSION/{manifest.json,manifest.sig,*.whl}, which hac-allocator serves\n"
		     "(its [releases] dir). Make a key pair with:\n"
		     "  openssl genpkey -algorithm ed25519 -out release.key\n"
		     "  openssl pkey -in release.key -pubout -out /etc/hac/keys/release.pem   (on every VM)\n"
		     "Exit codes: 0 done, 1 failure, 2 usage error, 6 the release exists (use --replace).",
		     "hac-release"};
	app.add_option("--key", req.keyFile, "Ed25519 private key (PEM) to sign with")->required()->type_name("FILE");
	app.add_option("--framework", req.framework, "the framework version, e.g. 24.5.0")->required()->type_name("VERSION");
	app.add_option("--wheels", req.wheelsDir, "folder whose *.whl files make the release")->required()->type_name("DIR");
	app.add_option("--releases", req.releasesDir, "the allocator's releases folder")->required()->type_name("DIR");
	app.add_option("--min-agent-version", req.minAgentVersion,
		       "the oldest hac-agent the release supports (default: this hac's version)")
		->type_name("VERSION");
	auto *in = app.add_option("--expires-in-days", days, "days until the manifest expires (default 90)")
			   ->type_name("N")
			   ->check(CLI::Range(1, 3650));
	app.add_option("--expires-at", expiresAt, "expiry time, RFC 3339 UTC (2026-11-23T17:30:00.000Z)")
		->type_name("TIME")
		->excludes(in);
	app.add_flag("--replace", req.replace, "sign an existing release again (e.g. with a new expiry)");
	app.set_version_flag("-v,--version", std::string("hac-release ") + HAC_VERSION);
	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForVersion &e) {
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		std::fprintf(stderr, "hac-release: %s\n%s", e.what(), kUsage);
		return toInt(ExitCode::Usage);
	}

	try {
		if (!expiresAt.empty()) {
			auto t = parseTime(expiresAt);
			if (!t)
				throw Error(Errc::Usage, fmt::format("--expires-at '{}' is not an RFC 3339 UTC time such as "
									 "2026-11-23T17:30:00.000Z", expiresAt));
			req.expiresAt = *t;
		} else {
			req.expiresAt = nowMs() + TimeMs(days) * 24 * 3600 * 1000;
		}
		allocator::MadeRelease made = allocator::makeRelease(req);
		for (const std::string &w : made.warnings)
			fmt::print(stderr, "hac-release: warning: {}\n", w);
		fmt::print("release {} {}: {} package(s), signed by key {}, expires {}\n", made.manifest.framework,
			   made.replaced ? "signed again" : "made", made.manifest.packages.size(), made.keyId,
			   formatTime(made.manifest.expiresAt));
		for (const release::Package &p : made.manifest.packages)
			fmt::print("  {} {}  {} bytes  sha256 {}\n", p.name, p.version, p.size, p.sha256);
		fmt::print("in {}\n", made.dir);
		return 0;
	} catch (const Error &e) {
		std::fprintf(stderr, "hac-release: %s\n", e.what());
		if (e.code() == Errc::Usage)
			std::fputs(kUsage, stderr);
		return toInt(exitCode(e.code()));
	} catch (const std::exception &e) {
		std::fprintf(stderr, "hac-release: %s\n", e.what());
		return toInt(ExitCode::Failure);
	}
}
