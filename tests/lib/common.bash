# Shared bats helpers: build paths, and real hac-allocator and hac-agent processes in the test's
# temporary directory. Load with: load ../lib/common
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${HAC_BUILD:-$REPO/build}
export PATH="$BUILD/tools/hac-smi:$BUILD/tools/hac-run:$BUILD/tools/hac-resize:$BUILD/tools/hac-usage:$BUILD/tools/hac-update:$BUILD/agent:$BUILD/allocator:$BUILD/node-report:$PATH"
unset HAC_SOCKET HAC_CONFIG HAC_VISIBLE_DEVICE

TEST_TOKEN=hac-test-token-0123456789abcdef

# Waits up to $2 seconds (default 5) for command $1 to succeed.
wait_for() {
	local cmd=$1 limit=${2:-5} i
	for ((i = 0; i < limit * 20; i++)); do
		eval "$cmd" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "timed out waiting for: $cmd" >&2
	return 1
}

# Writes $BATS_TEST_TMPDIR/allocator.toml: one token with one Large.64GB device, a 4x8 GPU farm.
write_allocator_config() {
	cat >"$BATS_TEST_TMPDIR/allocator.toml" <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"

[inventory]
nodes = 4
gpus_per_node = 8
gpu_memory_gib = 16

[[token]]
name = "test"
token = "$TEST_TOKEN"
max_devices = 2
devices = ["Large.64GB"]
EOT
}

# Starts hac-allocator on a free loopback port; sets ALLOCATOR_PID and ALLOCATOR_URL.
start_allocator() {
	[[ -f $BATS_TEST_TMPDIR/allocator.toml ]] || write_allocator_config
	rm -f "$BATS_TEST_TMPDIR/allocator.port"
	hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml" --listen 127.0.0.1:${ALLOCATOR_PORT:-0} \
		--port-file "$BATS_TEST_TMPDIR/allocator.port" "$@" \
		>>"$BATS_TEST_TMPDIR/allocator.log" 2>&1 &
	ALLOCATOR_PID=$!
	wait_for "[[ -s '$BATS_TEST_TMPDIR/allocator.port' ]]" 5
	ALLOCATOR_PORT=$(cat "$BATS_TEST_TMPDIR/allocator.port")
	ALLOCATOR_URL=http://127.0.0.1:$ALLOCATOR_PORT
}

stop_allocator() {
	[[ -n ${ALLOCATOR_PID:-} ]] || return 0
	kill "$ALLOCATOR_PID" 2>/dev/null || true
	wait "$ALLOCATOR_PID" 2>/dev/null || true
	ALLOCATOR_PID=
}

# Writes the agent's config and a 0600 token file pointing at $ALLOCATOR_URL.
write_agent_config() {
	printf '%s\n' "$TEST_TOKEN" >"$BATS_TEST_TMPDIR/token"
	chmod 600 "$BATS_TEST_TMPDIR/token"
	cat >"$BATS_TEST_TMPDIR/agent.toml" <<EOT
socket = "$BATS_TEST_TMPDIR/agent.sock"
database = "$BATS_TEST_TMPDIR/jobs.db"
token_file = "$BATS_TEST_TMPDIR/token"

[allocator]
url = "$ALLOCATOR_URL"
EOT
}

# Starts hac-agent and waits until it answers; sets AGENT_PID and exports HAC_SOCKET.
start_agent() {
	[[ -f $BATS_TEST_TMPDIR/agent.toml ]] || write_agent_config
	export HAC_SOCKET=$BATS_TEST_TMPDIR/agent.sock
	hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" "$@" >>"$BATS_TEST_TMPDIR/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_for "curl -sf --unix-socket '$HAC_SOCKET' http://hac/v1/version" 5
}

stop_agent() {
	[[ -n ${AGENT_PID:-} ]] || return 0
	kill "$AGENT_PID" 2>/dev/null || true
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
}

# Both, in order; call from setup().
start_all() {
	start_allocator
	start_agent
}

# Stops what a test started beside the agent and the allocator (a fault proxy, a flood), whose
# pids it added to EXTRA_PIDS: all told first, then each waited for.
stop_extra_pids() {
	local pid
	# A launcher's children first (hac-run's job), by their parent's pid: never by a pattern such
	# as pkill -f 'sleep 30', which would stop another test's processes on a shared machine.
	for pid in ${EXTRA_PIDS[@]+"${EXTRA_PIDS[@]}"}; do
		pkill -P "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
	done
	for pid in ${EXTRA_PIDS[@]+"${EXTRA_PIDS[@]}"}; do
		wait "$pid" 2>/dev/null || true
	done
	EXTRA_PIDS=()
}

# Call from teardown(): stops what runs and shows the logs of a failed test.
stop_all() {
	stop_extra_pids
	stop_agent
	stop_allocator
	if [[ -n ${BATS_TEST_COMPLETED:-} ]]; then return 0; fi
	for log in "$BATS_TEST_TMPDIR"/*.log; do
		[[ -f $log ]] && { echo "--- $log"; tail -n 30 "$log"; } >&3
	done
	return 0
}

# tests/lib/fault_proxy.py in front of the running allocator, $1 listeners (default 1), mode $2
# (default pass) in $BATS_TEST_TMPDIR/mode; its pid joins the caller's EXTRA_PIDS, to stop in
# teardown. Sets PROXY_PORTS (one per listener) and PROXY_URL (the first). Connections are logged
# in proxy.attempts, the requests a fault mode read in proxy.requests.
start_proxy() {
	local d=$BATS_TEST_TMPDIR
	echo "${2:-pass}" >"$d/mode"
	python3 "$REPO/tests/lib/fault_proxy.py" --upstream "${ALLOCATOR_URL:-http://127.0.0.1:9}" --mode-file "$d/mode" \
		--port-file "$d/proxy.ports" --log "$d/proxy.attempts" --requests "$d/proxy.requests" \
		--listeners "${1:-1}" >>"$d/proxy.log" 2>&1 3>&- &
	EXTRA_PIDS+=($!)
	wait_for "[ -s '$d/proxy.ports' ]" 10
	mapfile -t PROXY_PORTS <"$d/proxy.ports"
	PROXY_URL=http://127.0.0.1:${PROXY_PORTS[0]}
}

# A figure a test measured, printed in its TAP output as a "# " line: measured, never asserted.
figure() { echo "# $*" >&3; }

# Runs "$@" as the user nobody, with no groups, able to reach the agent's socket; a plain user's
# view for permission tests. Skips the test where that cannot be arranged.
as_nobody() {
	local nobody
	nobody=$(id -u nobody 2>/dev/null) || skip "no user 'nobody'"
	as_uid "$nobody" "" "$@"
}

# Runs "$@" as uid $1 (which need not have a name) with group $1 and the supplementary groups
# $2 (comma-separated gids, or none), able to reach the agent's socket. Skips where it cannot.
as_uid() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
	command -v setpriv >/dev/null || skip "setpriv is missing"
	local uid=$1 groups=$2
	shift 2
	chmod 0666 "$HAC_SOCKET"
	local d=$BATS_TEST_TMPDIR
	while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
	local supplementary=(--clear-groups)
	[[ -z $groups ]] || supplementary=(--groups "$groups")
	setpriv --reuid "$uid" --regid "$uid" "${supplementary[@]}" env PATH="$(other_users_bin):$PATH" "$@"
}

# Prints a folder in the test's temporary directory holding hac's tools, for commands run as
# another user: a build under a private home (CI's /root) is out of their reach. The tools load
# only libc, so a link or a copy runs anywhere. The folders above it must be made traversable.
other_users_bin() {
	local bin=$BATS_TEST_TMPDIR/bin tool
	if [[ ! -d $bin ]]; then
		mkdir -p "$bin"
		chmod 0755 "$bin"
		for tool in hac-smi hac-run hac-resize hac-usage hac-update; do
			[[ -x $BUILD/tools/$tool/$tool ]] || continue
			ln "$BUILD/tools/$tool/$tool" "$bin/" 2>/dev/null || cp "$BUILD/tools/$tool/$tool" "$bin/"
		done
	fi
	echo "$bin"
}

# Fails, listing what it loads, when tool $1 (found on PATH) loads anything but libc, libm, the
# dynamic loader and the vDSO: the tools load libc (and libm) only, so a call costs little more
# than the answer. An allow-list, so a library nobody thought to forbid is caught too.
assert_loads_libc_only() {
	command -v ldd >/dev/null || skip "ldd is not installed"
	local tool=$1 output others
	output=$(ldd "$(command -v "$tool")")
	[[ $output == *libc.so* ]] || { echo "ldd found no libc in $tool:"; echo "$output"; return 1; }
	others=$(grep -vE '^\s*(linux-vdso\.so|libc\.so|libm\.so|/lib[^ ]*/ld-linux)' <<<"$output" || true)
	[[ -z $others ]] || { echo "$tool loads more than libc and libm:"; echo "$others"; return 1; }
}

# Prints a folder holding the Debian packages (packaging/build-deb) of the tree as it is now,
# building them the first time: they are kept in $BUILD/debs/<hash of the files build-deb
# copies, but tests/, which the package build does not read>, so packaging.bats and
# tests/system share one build and a rerun on an unchanged tree builds nothing. Fails, showing
# the end of the build log, when the build fails. Outside a git checkout they are built each
# time, into the file's temporary folder.
tree_debs() {
	local key dir=$BATS_FILE_TMPDIR/debs
	if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
		key=$(cd "$REPO" && git ls-files -z --cached --others --exclude-standard -- . ':(exclude)tests' |
			xargs -0 sha256sum 2>/dev/null | sha256sum | cut -c1-16)
		dir=$BUILD/debs/$key
	fi
	if ! ls "$dir"/hac_*.deb >/dev/null 2>&1; then
		# One tree's packages at a time: older ones go.
		[[ $dir != "$BUILD"/* ]] || rm -rf "$BUILD/debs"
		mkdir -p "$(dirname "$dir")"
		"$REPO/packaging/build-deb" "$dir.tmp" >"$dir.log" 2>&1 ||
			{ tail -n 40 "$dir.log"; echo "packaging/build-deb failed; its log is $dir.log"; return 1; }
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}
