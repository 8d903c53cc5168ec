// pip runs as a child with a clean environment (no PIP_* or PYTHON* settings, no config files), so
// what it does depends on the wheels given and nothing else. The copies of installed packages are
// made by a short script in the environment's own Python: importlib.metadata knows its layout.
#include "installer.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <hac/error.hpp>
#include <hac/time.hpp>
#include <release/sha256.hpp>
#include <release/version.hpp>

#include "paths.hpp"

extern char **environ;

namespace hac::update {

namespace {

namespace fs = std::filesystem;

// argv: NAME OUT_DIR SITE_PACKAGES. Prints the wheel's path. Exit 3: the package has no RECORD.
// Files outside the environment and bytecode are left out; console scripts too, since pip writes
// them again from entry_points.txt.
constexpr const char *kSaveScript = R"PY(
import base64, hashlib, importlib.metadata as md, os, re, sys, sysconfig, zipfile
name, out_dir, site = sys.argv[1], sys.argv[2], sys.argv[3]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
dists = [d for d in md.distributions(path=[site]) if norm(d.metadata["Name"] or "") == name]
if len(dists) != 1:
    print(f"{len(dists)} installed copies of {name}", file=sys.stderr); sys.exit(2)
d = dists[0]
files = d.files
if not files:
    print(f"{name} has no RECORD", file=sys.stderr); sys.exit(3)
info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
escaped = re.sub(r"[^\w\d.]+", "_", d.metadata["Name"])
version = d.version
data = f"{escaped}-{version.replace('-', '_')}.data"
scripts = os.path.normpath(sysconfig.get_path("scripts"))
prefix = os.path.normpath(sys.prefix)
entry = {e.name for e in d.entry_points if e.group in ("console_scripts", "gui_scripts")}
final = os.path.join(out_dir, f"{escaped}-{version.replace('-', '_')}-py3-none-any.whl")
tmp = final + ".tmp"
record = []
def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256=" + base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
    for f in files:
        if "__pycache__" in f.parts or f.suffix == ".pyc":
            continue
        if f.parts[0] == info and f.name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
            continue
        src = os.path.normpath(str(f.locate()))
        if not os.path.isfile(src):
            continue
        if f.parts[0] == "..":
            if os.path.dirname(src) == scripts:
                if f.name in entry:
                    continue
                arc = f"{data}/scripts/{f.name}"
            elif src.startswith(prefix + os.sep):
                arc = f"{data}/data/{os.path.relpath(src, prefix)}"
            else:
                continue
        else:
            arc = str(f)
        z.write(src, arc)
        record.append(f"{arc},{digest(src)},{os.path.getsize(src)}")
    record.append(f"{info}/RECORD,,")
    z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
os.replace(tmp, final)
print(final)
)PY";

// argv: SITE_PACKAGES WHEEL. Removes what installing WHEEL put into site-packages, its .dist-info
// included: for a package a failed pip run left half-written (pip keeps no RECORD of it then, so
// 'pip uninstall' cannot). Paths that would leave site-packages are skipped.
constexpr const char *kRemoveScript = R"PY(
import os, shutil, sys, zipfile
site, wheel = os.path.realpath(sys.argv[1]), sys.argv[2]
inside = lambda p: p.startswith(site + os.sep)
dirs, infos = set(), set()
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        top = name.split("/")[0]
        if top.endswith(".data"):
            continue
        if top.endswith(".dist-info"):
            infos.add(top)
            continue
        path = os.path.realpath(os.path.join(site, name))
        if not inside(path):
            continue
        if os.path.isfile(path) or os.path.islink(path):
            os.remove(path)
        d = os.path.dirname(path)
        while inside(d):
            dirs.add(d)
            d = os.path.dirname(d)
for info in infos:
    path = os.path.realpath(os.path.join(site, info))
    if inside(path):
        shutil.rmtree(path, ignore_errors=True)
for d in sorted(dirs, key=len, reverse=True):
    shutil.rmtree(os.path.join(d, "__pycache__"), ignore_errors=True)
    try:
        os.rmdir(d)
    except OSError:
        pass
)PY";

// The parent's environment without what would steer pip or Python elsewhere.
std::vector<std::string> childEnvironment()
{
	std::vector<std::string> env;
	for (char **e = environ; *e; ++e) {
		std::string_view v(*e);
		if (v.substr(0, 4) == "PIP_" || v.substr(0, 6) == "PYTHON")
			continue;
		env.emplace_back(v);
	}
	env.emplace_back("PIP_CONFIG_FILE=/dev/null");
	env.emplace_back("PIP_NO_INPUT=1");
	env.emplace_back("PIP_DISABLE_PIP_VERSION_CHECK=1");
	env.emplace_back("PYTHONDONTWRITEBYTECODE=1");
	return env;
}

// Ignores SIGINT and SIGTERM while it lives, so that Ctrl-C stops pip and not its cleanup.
class IgnoreStopSignals {
public:
	IgnoreStopSignals()
	{
		struct sigaction ignore{};
		ignore.sa_handler = SIG_IGN;
		sigaction(SIGINT, &ignore, &oldInt_);
		sigaction(SIGTERM, &ignore, &oldTerm_);
	}
	~IgnoreStopSignals()
	{
		sigaction(SIGINT, &oldInt_, nullptr);
		sigaction(SIGTERM, &oldTerm_, nullptr);
	}

private:
	struct sigaction oldInt_{}, oldTerm_{};
};

} // namespace

std::string envId(const PythonEnv &env)
{
	return release::sha256Hex(env.path).substr(0, 16);
}

Installer::Installer(const PythonEnv &env) : env_(env)
{
	std::string dir = cacheDir() + "/logs";
	makeDirs(dir);
	logFile_ = fmt::format("{}/pip-{}.log", dir, envId(env));
	std::ofstream(logFile_, std::ios::trunc) << fmt::format("# hac-update {} on {}\n", formatTime(nowMs()), env.path);
}

int Installer::run(const std::vector<std::string> &args, const std::string &shown)
{
	// What hac-update said so far comes before the wait, also through a pipe or into a file.
	std::fflush(stdout);
	{
		std::ofstream log(logFile_, std::ios::app);
		log << "$ " << (shown.empty() ? fmt::format("{}", fmt::join(args, " ")) : shown) << "\n";
	}
	int logFd = open(logFile_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
	if (logFd < 0)
		throw Error(Errc::Failure, fmt::format("cannot write {}: {}", logFile_, std::strerror(errno)));
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, logFd, 1);
	posix_spawn_file_actions_adddup2(&actions, logFd, 2);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t defaults;
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

	std::vector<char *> argv;
	for (const std::string &a : args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	std::vector<std::string> envStrings = childEnvironment();
	std::vector<char *> envp;
	for (std::string &e : envStrings)
		envp.push_back(e.data());
	envp.push_back(nullptr);

	IgnoreStopSignals ignore;
	pid_t pid = 0;
	int rc = posix_spawn(&pid, args[0].c_str(), &actions, &attr, argv.data(), envp.data());
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	close(logFd);
	if (rc != 0)
		throw Error(Errc::Failure, fmt::format("cannot run {}: {}", args[0], std::strerror(rc)));
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<SavedPackage> Installer::save(const std::vector<Installed> &installed)
{
	std::string dir = fmt::format("{}/previous/{}", cacheDir(), envId(env_));
	std::error_code ec;
	fs::remove_all(dir, ec);
	makeDirs(dir);
	std::vector<SavedPackage> saved;
	for (const Installed &i : installed) {
		SavedPackage s{i.name, i.version, {}, {}};
		std::string name = release::normalizeName(i.name);
		int rc = run({env_.python, "-I", "-c", kSaveScript, name, dir, env_.sitePackages},
			     fmt::format("{} -I -c <save {} as a wheel> {} {} {}", env_.python, name, name, dir, env_.sitePackages));
		if (rc == 0) {
			// The script's last output line, in the log, is the wheel's path.
			std::ifstream log(logFile_);
			std::string line, last;
			while (std::getline(log, line))
				if (!line.empty())
					last = line;
			if (fs::exists(last, ec))
				s.wheel = last;
		}
		if (s.wheel.empty())
			s.problem = rc == 3 ? fmt::format("{} {} lists no files (no RECORD): it cannot be put back",
							  i.name, i.version)
					    : fmt::format("saving {} {} failed (exit {}; see {})", i.name, i.version, rc, logFile_);
		saved.push_back(std::move(s));
	}
	return saved;
}

int Installer::pipInstall(const std::vector<std::string> &wheels)
{
	std::vector<std::string> args = {env_.python, "-I", "-m", "pip", "install", "--no-deps", "--no-index",
					 "--force-reinstall", "--no-cache-dir"};
	args.insert(args.end(), wheels.begin(), wheels.end());
	return run(args);
}

int Installer::removeWheel(const std::string &wheel)
{
	return run({env_.python, "-I", "-c", kRemoveScript, env_.sitePackages, wheel},
		   fmt::format("{} -I -c <remove the files of a wheel> {} {}", env_.python, env_.sitePackages, wheel));
}

std::string Installer::logTail(std::size_t lines) const
{
	std::ifstream log(logFile_);
	std::deque<std::string> tail;
	for (std::string line; std::getline(log, line);) {
		tail.push_back(line);
		if (tail.size() > lines)
			tail.pop_front();
	}
	std::string out;
	for (const std::string &l : tail)
		out += (out.empty() ? "  " : "\n  ") + l;
	return out;
}

} // namespace hac::update
