# shellcheck shell=bash
# Shared by scripts/deps, scripts/demo and scripts/test: the Debian packages hac needs, their
# installation, and the build. Sourced, not run; the caller sets `set -euo pipefail`.

# The repository root, whatever directory the caller was started from.
HAC_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The build directory: $HAC_BUILD (tests/lib/common.bash reads the same variable) or build/.
# Made absolute against the caller's directory, and exported, so bats tests see the same one.
HAC_BUILD=${HAC_BUILD:-$HAC_REPO/build}
[[ $HAC_BUILD == /* ]] || HAC_BUILD=$PWD/$HAC_BUILD
export HAC_BUILD

# What the build needs. cmake is here because meson finds doctest through doctest's CMake config
# (dependency('doctest', method: 'cmake')); libssl-dev gives libcrypto; scdoc builds the man pages.
HAC_BUILD_PACKAGES=(
	g++ meson ninja-build pkg-config cmake scdoc
	libcli11-dev libfmt-dev libspdlog-dev nlohmann-json3-dev libsqlite3-dev
	libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libboost-dev libtomlplusplus-dev doctest-dev
)
# What the demo needs besides the build: curl asks the agent whether it is up.
HAC_DEMO_PACKAGES=(curl)
# What the bats suites run: real processes, JSON checked with jq, raw HTTP with nc, the SQLite
# shell for the job log, python3-venv for hac-update's environments, ps/pkill and setsid/flock, the
# openssl command for the release keys the hac-update tests make, and systemd for systemd-analyze,
# systemd-sysusers and systemd-tmpfiles, which check conf/; strace injects disk faults into the real
# agent (tests/integration/faults.bats); clang and its libFuzzer runtime build the fuzz targets whose
# seed corpus the fuzz suite replays (tests/fuzz); zsh and fish parse the completions and run the
# fish one (tests/cli/docs.bats), which skip without them. munge, slurmctld, slurmd, slurmrestd and
# slurm-client make the real Slurm farm (tests/lib/slurm_cluster.sh) that the Slurm placement
# backend is tested against (issue 14); the script runs its own daemons in a temporary folder,
# on their own ports and sockets, whatever the system's services do. valgrind, for the bench suite's quick run of
# tests/bench/callgrind.sh. prometheus (Prometheus 2.42 and promtool) scrapes both daemons' GET
# /metrics in tests/integration/metrics.bats, from a temporary folder on loopback ports (its service
# is not used).
HAC_SLURM_PACKAGES=(munge slurmctld slurmd slurmrestd slurm-client)
HAC_TEST_PACKAGES=(bats jq curl sqlite3 netcat-openbsd python3 python3-venv procps util-linux openssl systemd
	strace clang libclang-rt-14-dev zsh fish "${HAC_SLURM_PACKAGES[@]}" valgrind prometheus)
# Part of the test set: what packaging/build-deb and tests/integration/packaging.bats need
# (about 140 packages with lintian's dependencies), and debootstrap, with which tests/system
# makes the Debian 12 minbase chroot it boots the packaged agent in.
HAC_PACKAGE_PACKAGES=(dpkg-dev debhelper fakeroot lintian debootstrap)
# What scripts/bench runs besides the build: jq reads and writes the rows, nc is the floor the
# tools are measured against, valgrind counts instructions, the sqlite3 shell and python3 are
# the baselines of hac-usage and hac-update --check, procps and coreutils' timeout the rest; the
# Slurm packages make the farm slurm_rest.sh measures the Slurm backend on.
HAC_BENCH_PACKAGES=(jq curl netcat-openbsd valgrind sqlite3 python3 procps "${HAC_SLURM_PACKAGES[@]}")

hac_say() { printf '==> %s\n' "$*" >&2; }
hac_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Prints, one a line, those of the named packages that are not installed.
hac_missing_packages() {
	local -A installed=()
	local name status pkg
	# One dpkg-query for all: a package dpkg never heard of is simply not listed (and dpkg-query
	# exits 1), one removed but not purged is listed with a status other than "installed".
	while read -r name status; do
		[[ $status == installed ]] && installed[$name]=1
	done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)
	for pkg in "$@"; do
		[[ -n ${installed[$pkg]:-} ]] || printf '%s\n' "$pkg"
	done
}

# Installs those of the named packages that are missing. As root it runs apt-get (update once,
# only when something is missing); otherwise it says what to run and fails.
hac_install_packages() {
	local missing
	command -v dpkg-query >/dev/null || hac_die "dpkg-query not found: hac's scripts need Debian 12 (bookworm)"
	mapfile -t missing < <(hac_missing_packages "$@")
	((${#missing[@]} == 0)) && return 0
	if ((EUID != 0)); then
		{
			echo "error: these Debian packages are missing: ${missing[*]}"
			echo "Install them as root, then run this again:"
			echo "  sudo apt-get update && sudo apt-get install --no-install-recommends -y ${missing[*]}"
		} >&2
		exit 1
	fi
	local start=$SECONDS
	hac_say "installing ${#missing[@]} missing Debian packages: ${missing[*]}"
	# noninteractive and </dev/null: CI has no terminal, and no package may stop to ask.
	# No recommends: only what the build and the tests use, and a faster install.
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q update </dev/null || hac_die "apt-get update failed: check the network and /etc/apt/sources.list"
	apt-get -q install -y --no-install-recommends "${missing[@]}" </dev/null ||
		hac_die "apt-get install failed for: ${missing[*]}"
	hac_say "installed in $((SECONDS - start)) s"
}

# $1: build (the build only), demo (build + demo), test (build + every suite, the Debian
# packages' build and check among them) or bench (build + the benchmarks).
hac_deps() {
	case ${1:-test} in
	build) hac_install_packages "${HAC_BUILD_PACKAGES[@]}" ;;
	demo) hac_install_packages "${HAC_BUILD_PACKAGES[@]}" "${HAC_DEMO_PACKAGES[@]}" ;;
	demo-slurm) hac_install_packages "${HAC_BUILD_PACKAGES[@]}" "${HAC_DEMO_PACKAGES[@]}" "${HAC_SLURM_PACKAGES[@]}" ;;
	test) hac_install_packages "${HAC_BUILD_PACKAGES[@]}" "${HAC_TEST_PACKAGES[@]}" "${HAC_PACKAGE_PACKAGES[@]}" ;;
	bench) hac_install_packages "${HAC_BUILD_PACKAGES[@]}" "${HAC_BENCH_PACKAGES[@]}" ;;
	*) hac_die "hac_deps: unknown set '$1'" ;;
	esac
}

# Configures (or reconfigures) and builds $HAC_BUILD. Reconfiguring every time costs a few
# seconds but picks up packages installed since the last setup; tests=enabled makes a missing
# doctest an error here instead of a unit suite that silently was not built. Arguments are added
# to meson setup (scripts/bench: --buildtype=release).
hac_build() {
	local setup=(meson setup "$HAC_BUILD" "$HAC_REPO" -Dtests=enabled "$@") start=$SECONDS
	if [[ -f $HAC_BUILD/meson-private/coredata.dat ]]; then
		setup+=(--reconfigure)
	fi
	hac_say "configuring $HAC_BUILD"
	"${setup[@]}" || hac_die "meson setup failed: see $HAC_BUILD/meson-logs/meson-log.txt (or remove $HAC_BUILD and try again)"
	hac_say "building $HAC_BUILD"
	# HAC_BUILD_JOBS: parallel compile jobs (ninja -j), for a machine shared with others.
	ninja -C "$HAC_BUILD" ${HAC_BUILD_JOBS:+-j "$HAC_BUILD_JOBS"} || hac_die "the build failed (see the compiler messages above)"
	hac_say "built in $((SECONDS - start)) s"
}
