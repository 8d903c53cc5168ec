#!/usr/bin/env bats
# The packaged agent under a real systemd, on a minimal VM: the .deb packages of this tree
# (tree_debs) installed with dpkg into a Debian 12 minbase chroot (no procps, so no /bin/kill),
# systemd booted in it as PID 1 of its own pid namespace, and a oneshot unit in it that runs
# tests/system/boot_checks.sh (start, readiness, the first job, watchdog, socket activation,
# reload, permissions, stop), writes each result to a file and powers off. Each test here
# asserts one of those results. Needs root, unshare, debootstrap and the packaging tools, and
# the first time Debian's archive (the one apt uses here, or $HAC_DEBIAN_MIRROR): the chroot is cached as a tarball in
# $HAC_BUILD/chroot-cache, keyed by the packages it holds, so a rerun does not download.

load ../lib/common

# The archive this machine's apt already uses for bookworm (one-line sources.list or deb822
# .sources), so the test reaches only what apt is set up to reach and names no host itself.
host_debian_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^(http|https|file):/) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		# Paragraphs: the URI of one whose Suites name bookworm itself (not -security).
		awk -v RS= '/Suites:[^\n]*bookworm( |\n|$)/ && !/debian-security/ {
			if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { u = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", u); print u; exit } }' "$f"
	done
}

MIRROR=${HAC_DEBIAN_MIRROR:-$(host_debian_mirror | head -n 1)}

# The names in the Depends of the given .deb files: the first of each alternative, no versions.
deb_depends() {
	local deb
	for deb in "$@"; do
		dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g'
	done | grep -v '^$' | sort -u | while read -r name; do real_package "$name"; done | sort -u
}

# The package that stands for NAME: itself, or for a virtual package (libspdlog1.10-fmt9, say)
# the real one that provides it, as debootstrap's --include takes real packages only.
real_package() {
	if [[ -n $(apt-cache show --no-all-versions "$1" 2>/dev/null) ]]; then
		echo "$1"
		return
	fi
	apt-cache showpkg "$1" 2>/dev/null | awk '/^Reverse Provides:/ { f = 1; next } f && NF { print $1; found = 1; exit }
		END { if (!found) print "'"$1"'" }'
}

# Makes $ROOT: a minbase chroot with systemd and what hac needs, from the cache when it has it.
make_root() {
	local include cache
	include=$(deb_depends "$DEBS"/hac_*.deb "$DEBS"/hac-allocator_*.deb | grep -vx 'hac\|hac-allocator' |
		sort -u - <(echo systemd) | paste -sd, -)
	cache=$BUILD/chroot-cache/bookworm-minbase-$(echo "$MIRROR $include" | sha256sum | cut -c1-16).tar
	mkdir -p "$ROOT"
	if [[ -f $cache ]]; then
		tar -C "$ROOT" -xf "$cache" || { echo "cannot unpack $cache: remove it to make a new one"; return 1; }
		return 0
	fi
	[[ -n $MIRROR ]] || { echo "no bookworm archive in /etc/apt's sources: set HAC_DEBIAN_MIRROR to one"; return 1; }
	debootstrap --variant=minbase --include="$include" bookworm "$ROOT" "$MIRROR" >"$T/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$T/debootstrap.log"; echo "debootstrap from $MIRROR failed (log: $T/debootstrap.log)"; return 1; }
	rm -rf "$BUILD/chroot-cache"
	mkdir -p "$BUILD/chroot-cache"
	tar -C "$ROOT" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache" || { echo "cannot write $cache"; return 1; }
}

# The packages, the configs (token, agent pointing at an allocator on a free loopback port that
# boot_checks.sh starts later), and the checks unit as the target the boot goes to.
prepare_root() {
	local port
	cp "$DEBS"/hac_*.deb "$DEBS"/hac-allocator_*.deb "$ROOT/tmp/"
	chroot "$ROOT" sh -c 'dpkg -i /tmp/*.deb' >"$T/dpkg.log" 2>&1 ||
		{ tail -n 20 "$T/dpkg.log"; echo "dpkg -i in the chroot failed (log: $T/dpkg.log)"; return 1; }
	rm "$ROOT"/tmp/*.deb
	[[ -x $ROOT/usr/sbin/hac-agent && -x $ROOT/usr/bin/hac-allocator ]] || { echo "the packages did not install"; return 1; }
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$ROOT/hac-boot"
	echo "$port" >"$ROOT/hac-boot/port"
	cp "$REPO/tests/system/boot_checks.sh" "$ROOT/hac-boot/checks"
	printf '%s\n' "$TEST_TOKEN" >"$ROOT/etc/hac/token"
	chmod 600 "$ROOT/etc/hac/token"
	printf '[allocator]\nurl = "http://127.0.0.1:%s"\n' "$port" >"$ROOT/etc/hac/agent.toml"
	cat >"$ROOT/etc/hac/allocator.toml" <<EOT
database = "/var/lib/hac-allocator.db"

[[token]]
name = "boot"
token = "$TEST_TOKEN"
devices = ["Large.64GB"]
EOT
	# Not a first boot (systemd-firstboot would ask on the console), and no gettys.
	chroot "$ROOT" systemd-machine-id-setup >/dev/null
	cat >"$ROOT/etc/systemd/system/hac-boot-checks.service" <<'EOT'
[Unit]
Description=hac boot checks (tests/system/systemd_boot.bats)
SuccessAction=poweroff
FailureAction=poweroff

[Service]
Type=oneshot
ExecStart=/hac-boot/checks
TimeoutStartSec=240
EOT
	cat >"$ROOT/etc/systemd/system/hac-boot.target" <<'EOT'
[Unit]
Description=hac boot checks: basic.target and the checks, no gettys
Requires=basic.target hac-boot-checks.service
After=basic.target
EOT
}

setup_file() {
	T=$BATS_FILE_TMPDIR
	ROOT=$T/root
	export T ROOT
	local missing=() tool
	for tool in unshare chroot debootstrap dpkg-buildpackage dh fakeroot; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	if ((EUID != 0)); then
		echo "needs root (mounts, a pid namespace, chroot)" >"$T/skip"
	elif ((${#missing[@]})); then
		echo "${missing[*]} missing (Debian packages util-linux, coreutils, debootstrap, dpkg-dev, debhelper, fakeroot)" >"$T/skip"
	fi
	[[ ! -f $T/skip ]] || return 0
	# What fails here is said by every test.
	if build_and_boot >"$T/failed" 2>&1; then rm "$T/failed"; fi
}

build_and_boot() {
	DEBS=$(tree_debs) || { echo "$DEBS"; return 1; }
	make_root || return 1
	prepare_root || return 1
	boot
}

# Boots systemd in $ROOT as the issue describes (a pid, mount, uts, ipc and cgroup namespace;
# the chroot bound onto itself; /dev, /dev/pts and /sys bound; proc and tmpfs mounted) and waits
# up to 5 minutes for it to power off; a boot that hangs is killed by pid. Not with container=
# set, as systemd-nspawn does: systemd 252 then gives the agent a credentials folder it cannot
# read (LoadCredential=, "Permission denied"), which no VM does.
boot() {
	local pid i cgroups dir
	mapfile -t cgroups < <(python3 "$REPO/tests/system/own_cgroups.py")
	unshare --pid --fork --mount --uts --ipc --cgroup -- sh -c '
		set -e
		mount --make-rprivate /
		mount --bind "$0" "$0"
		mount --bind /dev "$0/dev"
		mount --bind /dev/pts "$0/dev/pts"
		mount --bind /sys "$0/sys"
		mount -t proc proc "$0/proc"
		mount -t tmpfs tmpfs "$0/run"
		mount -t tmpfs tmpfs "$0/tmp"
		exec chroot "$0" /usr/bin/env -i /lib/systemd/systemd --system --unit=hac-boot.target
	' "$ROOT" >"$T/boot.log" 2>&1 </dev/null &
	pid=$!
	for ((i = 0; i < 3000; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		# The namespace's PID 1 (unshare's child): killing it ends every process in it.
		kill -KILL $(cat "/proc/$pid/task/$pid/children") "$pid" 2>/dev/null || true
		wait "$pid" || true
		tail -n 30 "$T/boot.log"
		echo "the boot did not power off within 5 minutes: killed (boot log: $T/boot.log)"
		return 1
	fi
	wait "$pid" || true
	# What systemd leaves of its cgroups once all its processes are gone: empty folders.
	for dir in "${cgroups[@]}"; do
		find "$dir/init.scope" "$dir/system.slice" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	[[ -f $ROOT/hac-boot/results/done ]] || {
		tail -n 30 "$T/boot.log"
		echo "the checks did not finish (boot log: $T/boot.log)"
		return 1
	}
}

setup() {
	[[ ! -f $T/skip ]] || skip "$(cat "$T/skip")"
	if [[ -f $T/failed ]]; then
		cat "$T/failed"
		return 1
	fi
}

# Shows what check $1 ran and said, and fails unless it passed.
assert_check() {
	local result=$ROOT/hac-boot/results/$1
	[[ -f $result ]] || { echo "check $1 did not run"; return 1; }
	cat "$result.log"
	[[ $(cat "$result") == ok ]]
}

@test "systemd boot: the packaged agent starts on the socket systemd holds and says READY=1 (Type=notify)" {
	assert_check start
}

@test "systemd boot: a job started right after the allocator comes up waits for the agent's first registration" {
	assert_check first_job
}

@test "systemd boot: the watchdog is 30 s as packaged, and the agent's pings keep a 2 s one from firing" {
	assert_check watchdog
}

@test "systemd boot: after systemctl stop, a tool connecting to the socket starts the agent again" {
	assert_check socket_activation
}

@test "systemd boot: systemctl reload works without /bin/kill; a config that does not load fails it and the agent runs on" {
	assert_check reload
}

@test "systemd boot: group hac may use the tools and run jobs; others get exit 5; neither reads the token or the job log" {
	assert_check permissions
}

@test "systemd boot: systemctl stop ends the agent cleanly, the socket stays; the system powers off" {
	assert_check stop
	[[ -f $ROOT/hac-boot/results/done ]]
}
