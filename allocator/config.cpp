// Reads allocator.toml through libhac's ConfigFile and checks what one key cannot check alone:
// devices against the catalog, allowed SKUs and max_devices, tokens against each other.
#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fnmatch.h>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <sys/stat.h>

#include <fmt/format.h>

#include <hac/error.hpp>
#include <release/version.hpp>
#include <service/config.hpp>

namespace hac::allocator {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMinTokenLength = 16;

std::string resolve(const fs::path &base, const std::string &path)
{
	fs::path p(path);
	return p.is_relative() ? (base / p).lexically_normal().string() : path;
}

bool validName(const std::string &name)
{
	return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
		return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
	});
}

Inventory readInventory(const ConfigSection &root)
{
	Inventory inv;
	if (auto sec = root.table("inventory")) {
		inv.nodes = static_cast<int>(sec->integer("nodes", inv.nodes, 1, 4096));
		inv.gpusPerNode = static_cast<int>(sec->integer("gpus_per_node", inv.gpusPerNode, 1, 64));
		inv.gpuMemoryGib = static_cast<int>(sec->integer("gpu_memory_gib", inv.gpuMemoryGib, 1, 1024));
		sec->finish();
	}
	return inv;
}

Backend readBackend(const ConfigSection &root)
{
	auto sec = root.table("placement");
	if (!sec)
		return Backend::Simulated;
	std::string name = sec->string("backend", "simulated");
	sec->finish();
	if (name == "simulated")
		return Backend::Simulated;
	if (name == "slurm")
		return Backend::Slurm;
	sec->fail("backend", fmt::format("'{}' is not a placement backend; use \"simulated\" or \"slurm\"", name));
}

// The whole file that `key` names; a failure names the key.
std::string readFileText(const ConfigSection &sec, std::string_view key, const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		sec.fail(key, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
	std::ostringstream text;
	text << in.rdbuf();
	return text.str();
}

// A device token, a JWT or a private key: read from a file that only its owner can read.
std::string readSecretFile(const ConfigSection &sec, std::string_view key, const std::string &path)
{
	struct stat st{};
	if (stat(path.c_str(), &st) != 0)
		sec.fail(key, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		sec.fail(key, fmt::format("{} is open to group or others; run 'chmod 600 {}'", path, path));
	std::string secret = readFileText(sec, key, path);
	while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back())))
		secret.pop_back();
	return secret;
}

SlurmConfig readSlurm(const ConfigSection &root, const fs::path &base)
{
	SlurmConfig c;
	auto sec = root.table("slurm");
	if (!sec)
		root.fail("slurm", "missing; backend = \"slurm\" needs a [slurm] table with at least slurmrestd = "
				   "\"unix:/PATH\" (allocator/README.md, \"Run the farm on Slurm\")");
	auto url = sec->string("slurmrestd");
	if (!url || url->empty())
		sec->fail("slurmrestd", "missing; give \"unix:/PATH\" of slurmrestd's socket, or its http(s):// URL");
	bool unixSocket = url->rfind("unix:", 0) == 0;
	if (unixSocket) {
		std::string path = url->substr(5);
		if (path.empty())
			sec->fail("slurmrestd", "\"unix:\" needs the socket's path, e.g. \"unix:/run/slurmrestd.sock\"");
		c.endpoint.url = "unix:" + resolve(base, path);
	} else if (url->rfind("http://", 0) == 0 || url->rfind("https://", 0) == 0) {
		c.endpoint.url = *url;
	} else {
		sec->fail("slurmrestd", fmt::format("'{}' is neither unix:/PATH nor an http:// or https:// URL", *url));
	}
	auto tokenFile = sec->string("token_file");
	auto user = sec->string("user");
	if (unixSocket && (tokenFile || user))
		sec->fail(tokenFile ? "token_file" : "user",
			  "slurmrestd on a Unix socket knows the caller from the socket; give a JWT only for an "
			  "http(s):// slurmrestd");
	if (!unixSocket) {
		if (!tokenFile)
			sec->fail("token_file", "missing; an http(s):// slurmrestd needs a JWT ('scontrol token'), in a 0600 file");
		if (!user || user->empty())
			sec->fail("user", "missing; give the Slurm user the JWT was made for");
		c.endpoint.token = readSecretFile(*sec, "token_file", resolve(base, *tokenFile));
		if (c.endpoint.token.empty())
			sec->fail("token_file", "the file is empty; put the JWT from 'scontrol token' in it");
		c.endpoint.userName = *user;
	}
	c.partition = sec->string("partition", "");
	c.endpoint.gres = sec->string("gres", c.endpoint.gres);
	if (!validName(c.endpoint.gres))
		sec->fail("gres", fmt::format("'{}' is not a GRES name such as \"hacgpu\"", c.endpoint.gres));
	c.gpusPerNode = static_cast<int>(sec->integer("gpus_per_node", c.gpusPerNode, 1, 1024));
	c.endpoint.timeouts.connectMs = sec->integer("connect_timeout_ms", c.endpoint.timeouts.connectMs, 10, 60'000);
	c.endpoint.timeouts.totalMs = sec->integer("timeout_ms", c.endpoint.timeouts.totalMs, 100, 60'000);
	c.queueSeconds = static_cast<int>(sec->integer("queue_seconds", c.queueSeconds, 1, 86'400));
	if (auto file = sec->string("jobcomp_file"))
		c.jobCompFile = resolve(base, *file);
	sec->finish();
	return c;
}

// Every SKU must split evenly over Slurm's nodes (one --gres count for every node of the job).
void checkSplits(const ConfigSection &root, const Catalog &catalog, int gpusPerNode)
{
	for (const Sku &s : catalog.skus())
		if (!splitOverNodes(s.gpus, gpusPerNode)) {
			int nodes = (s.gpus + gpusPerNode - 1) / gpusPerNode;
			int fewer = nodes * (s.gpus / nodes), more = fewer + nodes;
			root.fail("slurm", fmt::format("SKU '{}' has {} GPUs, which cannot be split evenly over nodes of {} "
						       "({} nodes with {:.3g} each); give it {} or {} GPUs, or change "
						       "gpus_per_node", s.name, s.gpus, gpusPerNode, nodes,
						       double(s.gpus) / nodes, fewer, more));
		}
}

Catalog readCatalog(const ConfigSection &root, const Inventory &inv)
{
	std::vector<ConfigSection> sections = root.tables("sku");
	if (sections.empty())
		return Catalog::defaults(inv.gpuMemoryGib, kDefaultPriceMicroPerGpuMinute);
	std::vector<Sku> skus;
	for (const ConfigSection &sec : sections) {
		Sku s;
		auto name = sec.string("name");
		if (!name)
			sec.fail("name", "missing; every [[sku]] needs a name such as \"Large.64GB\"");
		if (!validName(*name))
			sec.fail("name", fmt::format("'{}' is not a SKU name; use letters, digits, '.', '-' and '_'", *name));
		for (const Sku &other : skus)
			if (other.name == *name)
				sec.fail("name", fmt::format("SKU '{}' is defined twice", *name));
		s.name = *name;
		auto gpus = sec.integer("gpus", 1, 1024);
		if (!gpus)
			sec.fail("gpus", "missing; give the number of GPUs this SKU lends");
		s.gpus = static_cast<int>(*gpus);
		s.gpuMemoryGib = inv.gpuMemoryGib;
		s.priceMicroPerGpuMinute = sec.integer("price_micro_per_gpu_minute", kDefaultPriceMicroPerGpuMinute,
						       0, 1'000'000'000);
		sec.finish();
		skus.push_back(std::move(s));
	}
	return Catalog(std::move(skus));
}


// A table's token = "..." or token_file = "PATH": long, printable, and given to nobody else, device
// or node.
std::string readTokenSecret(const ConfigSection &sec, const fs::path &base, const std::vector<TokenConfig> &tokens,
			    const std::vector<NodeTokenConfig> &nodeTokens)
{
	auto inline_ = sec.string("token");
	auto file = sec.string("token_file");
	if (inline_ && file)
		sec.fail("token_file", "give either token or token_file, not both");
	if (!inline_ && !file)
		sec.fail({}, "needs token = \"...\" or token_file = \"PATH\"");
	const char *key = inline_ ? "token" : "token_file";
	std::string token = inline_ ? *inline_ : readSecretFile(sec, "token_file", resolve(base, *file));
	if (token.size() < kMinTokenLength)
		sec.fail(key, fmt::format("the token is shorter than {} characters; use a long random one "
					  "(e.g. 'openssl rand -hex 16')", kMinTokenLength));
	if (std::any_of(token.begin(), token.end(), [](char c) { return c <= ' ' || c == 0x7f; }))
		sec.fail(key, "the token contains spaces or control characters");
	for (const TokenConfig &other : tokens)
		if (other.token == token)
			sec.fail(key, fmt::format("the same token is already given to account '{}'", other.name));
	for (const NodeTokenConfig &other : nodeTokens)
		if (other.token == token)
			sec.fail(key, "the same token is already given to a [[node_token]]");
	return token;
}

// `inv`: the simulated farm every device's SKU must fit in; null for Slurm, whose partition the
// allocator learns only when it submits.
TokenConfig readToken(const ConfigSection &sec, const fs::path &base, const Catalog &catalog,
		      const Inventory *inv, const std::vector<TokenConfig> &earlier)
{
	TokenConfig t;
	auto name = sec.string("name");
	if (!name)
		sec.fail("name", "missing; every [[token]] needs the name of its account");
	if (!validName(*name))
		sec.fail("name", fmt::format("'{}' is not an account name; use letters, digits, '.', '-' and '_'", *name));
	for (const TokenConfig &other : earlier)
		if (other.name == *name)
			sec.fail("name", fmt::format("account '{}' is named by two [[token]] tables", *name));
	t.name = *name;

	t.token = readTokenSecret(sec, base, earlier, {});

	t.maxDevices = static_cast<int>(sec.integer("max_devices", 1, 1, 64));

	if (auto allowed = sec.strings("allowed_skus")) {
		for (const std::string &s : *allowed) {
			if (!catalog.find(s))
				sec.fail("allowed_skus", fmt::format("unknown SKU '{}'; the catalog has {}", s,
								     fmt::join(catalog.names(), ", ")));
			if (std::find(t.allowedSkus.begin(), t.allowedSkus.end(), s) != t.allowedSkus.end())
				sec.fail("allowed_skus", fmt::format("SKU '{}' is listed twice", s));
			t.allowedSkus.push_back(s);
		}
	} else {
		t.allowedSkus = catalog.names();
	}

	if (auto devices = sec.strings("devices")) {
		for (const std::string &s : *devices) {
			const Sku *sku = catalog.find(s);
			if (!sku)
				sec.fail("devices", fmt::format("unknown SKU '{}'; the catalog has {}", s,
								fmt::join(catalog.names(), ", ")));
			if (std::find(t.allowedSkus.begin(), t.allowedSkus.end(), s) == t.allowedSkus.end())
				sec.fail("devices", fmt::format("SKU '{}' is not in this token's allowed_skus", s));
			if (inv && sku->gpus > inv->totalGpus())
				sec.fail("devices", fmt::format("SKU '{}' needs {} GPUs but the [inventory] has only {}",
								s, sku->gpus, inv->totalGpus()));
		}
		if (static_cast<int>(devices->size()) > t.maxDevices)
			sec.fail("devices", fmt::format("{} devices exceed max_devices = {}", devices->size(), t.maxDevices));
		t.devices = *devices;
	}
	sec.finish();
	return t;
}

// [[node_token]]: a farm node's credential for POST /v1/nodes/{node}/telemetry, and the nodes it
// may report for. Distinct from every device token: a VM's token cannot forge a node's figures.
NodeTokenConfig readNodeToken(const ConfigSection &sec, const fs::path &base, const std::vector<TokenConfig> &tokens,
			      const std::vector<NodeTokenConfig> &earlier)
{
	NodeTokenConfig t;
	t.token = readTokenSecret(sec, base, tokens, earlier);
	auto nodes = sec.strings("nodes");
	if (!nodes || nodes->empty())
		sec.fail("nodes", "missing; list the node names (shell patterns such as \"gpu-*\") this credential reports for");
	for (const std::string &n : *nodes)
		if (n.empty() || n.size() > 64)
			sec.fail("nodes", fmt::format("'{}' is not a node name pattern (1 to 64 characters)", n));
	t.nodes = *nodes;
	sec.finish();
	return t;
}

// [tls]: the certificate chain and key the allocator serves HTTPS with, and optionally the CA
// whose client certificates it requires. Read here, so that a bad file names its key and line.
ServerTls readTls(const ConfigSection &root, const fs::path &base)
{
	ServerTls tls;
	auto sec = root.table("tls");
	if (!sec)
		return tls;
	auto pem = [&](std::string_view key, bool secret) -> std::string {
		auto file = sec->string(key);
		if (!file || file->empty())
			return {};
		std::string path = resolve(base, *file);
		std::string text = secret ? readSecretFile(*sec, key, path) : readFileText(*sec, key, path);
		if (text.find("-----BEGIN ") == std::string::npos)
			sec->fail(key, fmt::format("{} is not PEM (no -----BEGIN line)", path));
		return text;
	};
	tls.certPem = pem("cert_file", false);
	tls.keyPem = pem("key_file", true);
	tls.clientCaPem = pem("client_ca_file", false);
	if (tls.certPem.empty())
		sec->fail("cert_file", "missing; [tls] needs the server's certificate chain (PEM)");
	if (tls.keyPem.empty())
		sec->fail("key_file", "missing; [tls] needs the certificate's private key (PEM, a 0600 file)");
	sec->finish();
	return tls;
}

ReleasesConfig readReleases(const ConfigSection &root, const fs::path &base)
{
	ReleasesConfig r;
	auto sec = root.table("releases");
	if (!sec)
		return r;
	auto dir = sec->string("dir");
	if (!dir || dir->empty())
		sec->fail("dir", "missing; give the folder that hac-release writes releases into");
	r.dir = resolve(base, *dir);
	std::error_code ec;
	if (!fs::is_directory(r.dir, ec))
		sec->fail("dir", fmt::format("{} is not a folder; create it (hac-release fills it)", r.dir));
	if (auto pinned = sec->string("pinned")) {
		if (!release::isFrameworkVersion(*pinned))
			sec->fail("pinned", fmt::format("'{}' is not a release version such as \"24.5.0\"", *pinned));
		r.pinned = *pinned;
	}
	sec->finish();
	return r;
}

} // namespace

std::optional<NodeSplit> splitOverNodes(int gpus, int gpusPerNode)
{
	if (gpus <= 0 || gpusPerNode <= 0)
		return std::nullopt;
	int nodes = (gpus + gpusPerNode - 1) / gpusPerNode;
	if (gpus % nodes != 0)
		return std::nullopt;
	return NodeSplit{nodes, gpus / nodes};
}

bool NodeTokenConfig::allows(const std::string &node) const
{
	return std::any_of(nodes.begin(), nodes.end(),
			   [&](const std::string &pattern) { return fnmatch(pattern.c_str(), node.c_str(), 0) == 0; });
}

std::optional<ListenAddress> parseListen(std::string_view text)
{
	auto colon = text.rfind(':');
	if (colon == std::string_view::npos || colon == 0)
		return std::nullopt;
	ListenAddress a;
	a.host = std::string(text.substr(0, colon));
	std::string_view port = text.substr(colon + 1);
	auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
	if (port.empty() || ec != std::errc() || end != port.data() + port.size() || a.port < 0 || a.port > 65535)
		return std::nullopt;
	int octets = 0;
	for (std::size_t i = 0, start = 0; i <= a.host.size(); ++i) {
		if (i < a.host.size() && a.host[i] != '.') {
			if (!std::isdigit(static_cast<unsigned char>(a.host[i])))
				return std::nullopt;
			continue;
		}
		int value = -1;
		std::string_view part(a.host.data() + start, i - start);
		auto r = std::from_chars(part.data(), part.data() + part.size(), value);
		if (part.empty() || part.size() > 3 || r.ec != std::errc() || value > 255)
			return std::nullopt;
		++octets;
		start = i + 1;
	}
	if (octets != 4)
		return std::nullopt;
	return a;
}

Config loadConfig(const std::string &file)
{
	ConfigFile cf = ConfigFile::load(file);
	const ConfigSection &root = cf.root();
	fs::path base = fs::path(file).parent_path();
	Config c;

	if (auto listen = root.string("listen")) {
		auto a = parseListen(*listen);
		if (!a)
			root.fail("listen", fmt::format("'{}' is not HOST:PORT with an IPv4 host, e.g. \"127.0.0.1:7070\"", *listen));
		c.listen = *a;
	}
	if (auto db = root.string("database")) {
		if (db->empty())
			root.fail("database", "is empty; give the path of the SQLite database");
		c.database = resolve(base, *db);
	}
	c.deviceName = root.string("device_name", c.deviceName);
	if (c.deviceName.empty())
		root.fail("device_name", "is empty; give the product name devices show");
	c.retryAfterSeconds = static_cast<int>(root.integer("retry_after_seconds", c.retryAfterSeconds, 1, 3600));
	c.backend = readBackend(root);
	c.inventory = readInventory(root);
	// A [slurm] table is checked even while the simulated backend is chosen, so that switching
	// backend = "slurm" on later finds no surprise.
	if (c.backend == Backend::Slurm || root.table("slurm"))
		c.slurm = readSlurm(root, base);
	c.catalog = readCatalog(root, c.inventory);
	if (c.backend == Backend::Slurm)
		checkSplits(root, c.catalog, c.slurm.gpusPerNode);
	const Inventory *simulated = c.backend == Backend::Simulated ? &c.inventory : nullptr;
	for (const ConfigSection &sec : root.tables("token"))
		c.tokens.push_back(readToken(sec, base, c.catalog, simulated, c.tokens));
	for (const ConfigSection &sec : root.tables("node_token"))
		c.nodeTokens.push_back(readNodeToken(sec, base, c.tokens, c.nodeTokens));
	c.releases = readReleases(root, base);
	c.tls = readTls(root, base);
	root.finish();
	if (c.tokens.empty())
		throw Error(Errc::Failure, fmt::format("{}: no [[token]] is configured; add one with name, token "
							   "and devices (see conf/allocator.toml.example)", file));
	return c;
}

} // namespace hac::allocator
