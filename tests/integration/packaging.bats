#!/usr/bin/env bats
# The Debian packages: packaging/build-deb builds them (dpkg-buildpackage -b -us -uc) once per
# state of the tree, shared with tests/system (tree_debs in tests/lib/common.bash), lintian finds
# no errors, and each .deb unpacked into a temporary root holds what a VM image needs: binaries,
# units, sysusers.d and tmpfiles.d, man pages, completions, example config, and the C API
# (libhac1, libhac-dev). CI installs the packaging tools (the test set in scripts/lib.sh);
# elsewhere it is skipped, saying why, where debhelper or dpkg-dev is not installed.

load ../lib/common

setup_file() {
	local missing=() tool
	for tool in dpkg-buildpackage dh fakeroot; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	if ((${#missing[@]})); then
		echo "${missing[*]} missing (Debian packages dpkg-dev, debhelper, fakeroot)" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	DEB_DIR=$(tree_debs) || echo "$DEB_DIR" >"$BATS_FILE_TMPDIR/failed"
	export DEB_DIR
}

setup() {
	[[ ! -f $BATS_FILE_TMPDIR/skip ]] || skip "$(cat "$BATS_FILE_TMPDIR/skip")"
	if [[ -f $BATS_FILE_TMPDIR/failed ]]; then
		cat "$BATS_FILE_TMPDIR/failed"
		return 1
	fi
}

# Unpacks package $1 into $BATS_TEST_TMPDIR/$1 and prints that directory.
unpack() {
	local deb
	deb=$(ls "$DEB_DIR/$1"_*.deb)
	dpkg-deb -x "$deb" "$BATS_TEST_TMPDIR/$1"
	echo "$BATS_TEST_TMPDIR/$1"
}

# Fails naming each of the paths (relative to root $1) that is not there.
expect_files() {
	local root=$1 path missing=()
	shift
	for path in "$@"; do
		[[ -e $root/$path ]] || missing+=("$path")
	done
	((${#missing[@]} == 0)) || { printf 'missing: %s\n' "${missing[@]}"; false; }
}

@test "packaging: dpkg-buildpackage builds hac, hac-allocator, hac-node-report, libhac1 and libhac-dev" {
	ls "$DEB_DIR"/hac_*.deb "$DEB_DIR"/hac-allocator_*.deb "$DEB_DIR"/hac-node-report_*.deb \
		"$DEB_DIR"/libhac1_*.deb "$DEB_DIR"/libhac-dev_*.deb
}

@test "packaging: lintian reports no errors" {
	command -v lintian >/dev/null || skip "lintian is missing (Debian package lintian)"
	run lintian --fail-on error --tag-display-limit 0 "$DEB_DIR"/*.changes
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -q '^E:' <<<"$output"
}

@test "packaging: hac holds the tools, the agent, its units, users, directories, man pages, completions and example config" {
	root=$(unpack hac)
	local tool files=()
	for tool in hac-smi hac-run hac-usage hac-resize hac-update; do
		files+=(usr/bin/$tool usr/share/man/man1/$tool.1.gz)
	done
	for tool in hac-smi hac-run hac-usage hac-resize hac-update hac-agent; do
		files+=(usr/share/bash-completion/completions/$tool usr/share/zsh/vendor-completions/_$tool
			usr/share/fish/vendor_completions.d/$tool.fish)
	done
	expect_files "$root" "${files[@]}" usr/sbin/hac-agent \
		lib/systemd/system/hac-agent.service lib/systemd/system/hac-agent.socket \
		usr/lib/sysusers.d/hac.conf usr/lib/tmpfiles.d/hac.conf etc/hac \
		usr/share/man/man8/hac-agent.8.gz usr/share/man/man5/hac-agent.toml.5.gz \
		usr/share/doc/hac/examples/agent.toml usr/share/doc/hac/copyright
	# The allocator is in its own package only.
	[ -z "$(find "$root" -name '*allocator*')" ]
	# The C API is in libhac1 and libhac-dev only.
	[ -z "$(find "$root" -name 'libhac*' -o -name 'hac.h')" ]
	grep -qx 'ExecStart=/usr/sbin/hac-agent' "$root/lib/systemd/system/hac-agent.service"
	grep -qx 'ExecReload=/usr/sbin/hac-agent --reload' "$root/lib/systemd/system/hac-agent.service"
	for tool in hac-smi hac-run hac-usage hac-resize hac-update; do
		"$root/usr/bin/$tool" --version
	done
	"$root/usr/sbin/hac-agent" --version
	# The tools stay light: no libcurl (docs/ARCHITECTURE.md); hac-update is the one that downloads. (A "!"
	# command does not fail a bats test unless it is the last one: hence the if.)
	for tool in hac-smi hac-run hac-resize; do
		if ldd "$root/usr/bin/$tool" | grep libcurl; then
			echo "$tool links libcurl"
			false
		fi
	done
}

@test "packaging: hac's maintainer scripts create the user and directories and enable the units without starting them" {
	dir=$BATS_TEST_TMPDIR/control
	dpkg-deb -e "$(ls "$DEB_DIR"/hac_*.deb)" "$dir"
	# The user first: tmpfiles.d gives it /run/hac and /var/lib/hac.
	users=$(grep -n 'systemd-sysusers.*hac.conf' "$dir/postinst" | cut -d: -f1)
	dirs=$(grep -n 'systemd-tmpfiles.*--create hac.conf' "$dir/postinst" | cut -d: -f1)
	[ -n "$users" ]
	[ -n "$dirs" ]
	[ "$users" -lt "$dirs" ]
	dpkg-deb -f "$(ls "$DEB_DIR"/hac_*.deb)" Depends | grep -q 'systemd-sysusers'
	grep -q 'deb-systemd-helper.*enable.*hac-agent.socket' "$dir/postinst"
	grep -q 'deb-systemd-helper.*enable.*hac-agent.service' "$dir/postinst"
	! grep -q 'deb-systemd-invoke.*start' "$dir/postinst"
}

@test "packaging: hac-allocator holds the server and hac-release, their man pages, completions and example config" {
	root=$(unpack hac-allocator)
	local tool files=()
	for tool in hac-allocator hac-release; do
		files+=(usr/bin/$tool usr/share/man/man1/$tool.1.gz usr/share/bash-completion/completions/$tool
			usr/share/zsh/vendor-completions/_$tool usr/share/fish/vendor_completions.d/$tool.fish)
	done
	expect_files "$root" "${files[@]}" \
		usr/share/doc/hac-allocator/examples/allocator.toml usr/share/doc/hac-allocator/copyright
	"$root/usr/bin/hac-allocator" --version
	"$root/usr/bin/hac-release" --version
}

@test "packaging: hac-node-report holds the reporter, its unit (enabled, not started), man page and completions" {
	root=$(unpack hac-node-report)
	expect_files "$root" usr/sbin/hac-node-report lib/systemd/system/hac-node-report.service \
		usr/share/man/man8/hac-node-report.8.gz usr/share/bash-completion/completions/hac-node-report \
		usr/share/zsh/vendor-completions/_hac-node-report usr/share/fish/vendor_completions.d/hac-node-report.fish
	grep -qx 'ExecStart=/usr/sbin/hac-node-report --token-file %d/node-token $HAC_NODE_REPORT_ARGS' \
		"$root/lib/systemd/system/hac-node-report.service"
	"$root/usr/sbin/hac-node-report" --version
	dir=$BATS_TEST_TMPDIR/control
	dpkg-deb -e "$(ls "$DEB_DIR"/hac-node-report_*.deb)" "$dir"
	grep -q 'deb-systemd-helper.*enable.*hac-node-report.service' "$dir/postinst"
	run grep -c 'deb-systemd-invoke.*start' "$dir/postinst"
	[[ $output == 0 ]]
}

@test "packaging: libhac1 holds libhac.so.1, exporting only hac_* functions; libhac-dev holds hac.h and the link for -lhac" {
	lib=$(unpack libhac1)
	so=$(find "$lib/usr/lib" -name 'libhac.so.1' -type l)
	[ -n "$so" ]
	[ -f "$(dirname "$so")/$(readlink "$so")" ]
	[ -z "$(find "$lib" -name libhac.so -o -name '*.h')" ]
	readelf -d "$so" | grep -q 'SONAME.*\[libhac\.so\.1\]'
	# What a ctypes user can call, and nothing of the C++ inside.
	exported=$(nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }')
	echo "$exported"
	[[ $exported == *hac_job_begin* ]]
	[ -z "$(grep -v '^hac_' <<<"$exported")" ]
	dev=$(unpack libhac-dev)
	expect_files "$dev" usr/include/hac.h
	link=$(find "$dev/usr/lib" -name libhac.so -type l)
	[ "$(readlink "$link")" = libhac.so.1 ]
	dpkg-deb -f "$(ls "$DEB_DIR"/libhac-dev_*.deb)" Depends | grep -q 'libhac1 (= '
}

@test "packaging: the packaged unit still scores 2.0 or lower in systemd-analyze security" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian package systemd)"
	root=$(unpack hac)
	run systemd-analyze security --offline=true "$root/lib/systemd/system/hac-agent.service"
	score=$(sed -n 's/.*Overall exposure level for hac-agent.service: \([0-9.]*\).*/\1/p' <<<"$output")
	[ -n "$score" ]
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
}
