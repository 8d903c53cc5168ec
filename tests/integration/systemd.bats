#!/usr/bin/env bats
# hac-agent under systemd's protocols, with the test standing in for systemd: its own
# NOTIFY_SOCKET and WATCHDOG_USEC, a socket passed as systemd passes one, SIGHUP and SIGTERM;
# and the units in conf/ checked with systemd's own tools where they are installed.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() {
	start_allocator
	write_agent_config
	NOTIFY=$BATS_TEST_TMPDIR/notify
}

teardown() {
	[[ -z ${NOTIFY_PID:-} ]] || kill "$NOTIFY_PID" 2>/dev/null || true
	[[ -z ${HANG_PID:-} ]] || kill "$HANG_PID" 2>/dev/null || true
	[[ -z ${JOB_PID:-} ]] || { touch "$BATS_TEST_TMPDIR/go"; wait "$JOB_PID" 2>/dev/null || true; }
	stop_all
}

# Listens on $NOTIFY as systemd would; each message becomes a line of notify.out. At READY=1 the
# listener also notes the job log's schema version and whether the API answered.
start_notify() {
	python3 "$REPO/tests/lib/notify_socket.py" "$NOTIFY" --db "$BATS_TEST_TMPDIR/jobs.db" \
		--api "$BATS_TEST_TMPDIR/agent.sock" >"$BATS_TEST_TMPDIR/notify.out" 2>>"$BATS_TEST_TMPDIR/notify.log" 3>&- &
	NOTIFY_PID=$!
	wait_for "[[ -S '$NOTIFY' ]]" 5
}

# Sends a marker after everything the agent sent and waits for it, so notify.out is complete.
flush_notify() {
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"X_TEST=flush", sys.argv[1])' "$NOTIFY"
	wait_for "grep -q X_TEST=flush '$BATS_TEST_TMPDIR/notify.out'" 5
}

# Starts hac-agent with the environment given as arguments (NAME=VALUE...); sets AGENT_PID.
start_agent_env() {
	export HAC_SOCKET=$BATS_TEST_TMPDIR/agent.sock
	env "$@" hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" >>"$BATS_TEST_TMPDIR/agent.log" 2>&1 3>&- &
	AGENT_PID=$!
}

# The sum of user and system CPU time of process $1, in clock ticks.
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

@test "READY=1 comes once, after the job log is open and migrated and the API answers" {
	start_notify
	start_agent_env NOTIFY_SOCKET="$NOTIFY"
	wait_for "grep -q '^[0-9.]* READY=1' '$BATS_TEST_TMPDIR/notify.out'" 10
	wait_for "grep -q ' api ' '$BATS_TEST_TMPDIR/notify.out'" 5
	version=$(sed -n 's/.* at schema version \([0-9]*\);.*/\1/p' "$BATS_TEST_TMPDIR/agent.log")
	[ -n "$version" ]
	grep -q " db user_version=$version tables=[1-9]" "$BATS_TEST_TMPDIR/notify.out"
	grep -q " api status=200" "$BATS_TEST_TMPDIR/notify.out"
	[ "$(grep -c 'READY=1' "$BATS_TEST_TMPDIR/notify.out")" -eq 1 ]
	grep -q 'READY=1 STATUS=serving' "$BATS_TEST_TMPDIR/notify.out"
}

@test "an agent that cannot open its job log never says READY=1" {
	# A job log from a newer hac: the agent refuses it rather than guess.
	sqlite3 "$BATS_TEST_TMPDIR/jobs.db" 'PRAGMA user_version = 9999;'
	start_notify
	start_agent_env NOTIFY_SOCKET="$NOTIFY"
	rc=0
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	[ "$rc" -ne 0 ]
	flush_notify
	run ! grep -q 'READY=1' "$BATS_TEST_TMPDIR/notify.out"
	grep -q 'newer' "$BATS_TEST_TMPDIR/agent.log"
}

@test "watchdog: WATCHDOG=1 at about half of WATCHDOG_USEC, and no busy loop between pings" {
	start_notify
	start_agent_env NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=400000
	wait_for "grep -q 'READY=1' '$BATS_TEST_TMPDIR/notify.out'" 10
	ticks=$(cpu_ticks "$AGENT_PID") start=$EPOCHREALTIME
	# Ten pings: about 2 s at one per 200 ms; the bound only catches a loop that stops pinging.
	wait_for "[ \$(grep -c ' WATCHDOG=1' '$BATS_TEST_TMPDIR/notify.out') -ge 10 ]" 60
	ticks=$(($(cpu_ticks "$AGENT_PID") - ticks))
	window_ms=$(((${EPOCHREALTIME/[.,]/} - ${start/[.,]/}) / 1000))
	flush_notify
	median=$(awk '/ WATCHDOG=1/ { if (n++) printf "%.3f\n", $1 - prev; prev = $1 }' "$BATS_TEST_TMPDIR/notify.out" |
		sort -n | awk '{ g[NR] = $1 } END { print g[int((NR + 1) / 2)] }')
	echo "# a ping every $median s (median); $ticks CPU ticks in $window_ms ms" >&3
	grep -q 'pinging every 200 ms' "$BATS_TEST_TMPDIR/agent.log"
	# A loop that pings without waiting: a load can only make the gaps longer, not shorter.
	awk -v m="$median" 'BEGIN { exit !(m >= 0.1) }'
	# A spinning loop uses a core (100 ticks a second) unless the machine starves it; an idle
	# agent about none. The bound is a tenth of a core.
	[ "$ticks" -le $((5 + window_ms / 100)) ]
}

@test "watchdog: no pings when WATCHDOG_PID names another process, or without WATCHDOG_USEC" {
	start_notify
	start_agent_env NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=200000 WATCHDOG_PID=1
	wait_for "grep -q 'READY=1' '$BATS_TEST_TMPDIR/notify.out'" 10
	sleep 1
	stop_agent
	start_agent_env NOTIFY_SOCKET="$NOTIFY"
	wait_for "[ \$(grep -c 'READY=1' '$BATS_TEST_TMPDIR/notify.out') -eq 2 ]" 10
	sleep 1
	flush_notify
	run ! grep -q 'WATCHDOG=1' "$BATS_TEST_TMPDIR/notify.out"
	run ! grep -q 'watchdog' "$BATS_TEST_TMPDIR/agent.log"
}

@test "socket activation: the agent serves on the socket it was passed, not the one in its config" {
	activated=$BATS_TEST_TMPDIR/activated.sock
	python3 "$REPO/tests/lib/socket_activate.py" "$activated" \
		hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" >>"$BATS_TEST_TMPDIR/agent.log" 2>&1 3>&- &
	AGENT_PID=$!
	wait_for "curl -sf --unix-socket '$activated' http://hac/v1/version" 10
	run hac-smi --socket "$activated" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.devices[0].sku' <<<"$output")" = Large.64GB ]
	[ ! -e "$BATS_TEST_TMPDIR/agent.sock" ]
	grep -q 'serving the local API on the socket passed by systemd' "$BATS_TEST_TMPDIR/agent.log"
}

@test "socket activation: an fd 3 that is not a listening socket is refused with a clear error" {
	run sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec hac-agent --config "$1" 3</dev/null' sh "$BATS_TEST_TMPDIR/agent.toml"
	[ "$status" -eq 1 ]
	[[ $output == *"fd 3 is not a listening stream socket"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/agent.sock" ]
}

@test "SIGHUP applies a good config and says what needs a restart; a bad one is refused and the old stays" {
	start_notify
	start_agent_env NOTIFY_SOCKET="$NOTIFY"
	wait_for "curl -sf --unix-socket '$HAC_SOCKET' http://hac/v1/version" 10
	hac-smi >/dev/null
	run ! grep -q 'debug:' "$BATS_TEST_TMPDIR/agent.log"

	# log_level takes effect at once; socket only at the next start.
	sed -i "1i log_level = \"debug\"" "$BATS_TEST_TMPDIR/agent.toml"
	sed -i "s|^socket = .*|socket = \"$BATS_TEST_TMPDIR/other.sock\"|" "$BATS_TEST_TMPDIR/agent.toml"
	sed -i 's|^\[allocator\]|&\nheartbeat_seconds = 7|' "$BATS_TEST_TMPDIR/agent.toml"
	kill -HUP "$AGENT_PID"
	wait_for "grep -q 'config reloaded' '$BATS_TEST_TMPDIR/agent.log'" 5
	grep -q 'config reloaded from .*log_level debug.*heartbeat 7 s' "$BATS_TEST_TMPDIR/agent.log"
	grep -q "socket changed from $BATS_TEST_TMPDIR/agent.sock to $BATS_TEST_TMPDIR/other.sock, which takes effect only when hac-agent restarts" \
		"$BATS_TEST_TMPDIR/agent.log"
	hac-smi >/dev/null
	grep -q 'debug: GET /v1/status from pid' "$BATS_TEST_TMPDIR/agent.log"
	[ ! -e "$BATS_TEST_TMPDIR/other.sock" ]

	# A value out of range, then a file that is not TOML: each refused, naming the error.
	sed -i 's|^log_level = .*|log_level = "loud"|' "$BATS_TEST_TMPDIR/agent.toml"
	kill -HUP "$AGENT_PID"
	wait_for "grep -q 'config reload refused' '$BATS_TEST_TMPDIR/agent.log'" 5
	grep -q "config reload refused: .*agent.toml:1: log_level: expected one of debug, info, warning, error; the running config stays" \
		"$BATS_TEST_TMPDIR/agent.log"
	echo 'this is [not toml' >"$BATS_TEST_TMPDIR/agent.toml"
	kill -HUP "$AGENT_PID"
	wait_for "[ \$(grep -c 'config reload refused' '$BATS_TEST_TMPDIR/agent.log') -eq 2 ]" 5
	grep 'config reload refused' "$BATS_TEST_TMPDIR/agent.log" | tail -n 1 | grep -q 'agent.toml'

	# Still serving, still at debug, on the old socket.
	before=$(grep -c 'debug: GET' "$BATS_TEST_TMPDIR/agent.log")
	run hac-smi --json
	[ "$status" -eq 0 ]
	[ "$(grep -c 'debug: GET' "$BATS_TEST_TMPDIR/agent.log")" -gt "$before" ]

	# systemd hears RELOADING=1 and READY=1 for each, and the refusal in STATUS.
	flush_notify
	[ "$(grep -c 'RELOADING=1' "$BATS_TEST_TMPDIR/notify.out")" -eq 3 ]
	[ "$(grep -c 'READY=1' "$BATS_TEST_TMPDIR/notify.out")" -eq 4 ]
	grep 'READY=1' "$BATS_TEST_TMPDIR/notify.out" | tail -n 1 | grep -q 'STATUS=serving; the last config reload was refused'
}

@test "SIGTERM stops the agent; a running job keeps running, stays open in the job log and is watched again" {
	start_notify
	start_agent_env NOTIFY_SOCKET="$NOTIFY"
	wait_for "curl -sf --unix-socket '$HAC_SOCKET' http://hac/v1/version" 10
	hac-run --name survivor -- sh -c "while [ ! -e '$BATS_TEST_TMPDIR/go' ]; do sleep 0.1; done" \
		>>"$BATS_TEST_TMPDIR/hac-run.log" 2>&1 3>&- &
	JOB_PID=$!
	wait_for "hac-smi --json | jq -e '.jobs[0].state == \"running\"'" 10

	start=$EPOCHREALTIME
	kill -TERM "$AGENT_PID"
	rc=0
	wait "$AGENT_PID" || rc=$?
	stop_us=$((${EPOCHREALTIME/[.,]/} - ${start/[.,]/}))
	AGENT_PID=
	echo "# stopped in $((stop_us / 1000)) ms with a job running" >&3
	[ "$rc" -eq 0 ]
	flush_notify
	grep -q 'STOPPING=1' "$BATS_TEST_TMPDIR/notify.out"

	# The job's process was not touched, and its row is open and whole.
	kill -0 "$JOB_PID"
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT state FROM jobs WHERE name = 'survivor'")" = running ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" 'PRAGMA integrity_check')" = ok ]

	start_agent_env
	wait_for "grep -q 'still runs: watching it again' '$BATS_TEST_TMPDIR/agent.log'" 10
	touch "$BATS_TEST_TMPDIR/go"
	rc=0
	wait "$JOB_PID" || rc=$?
	JOB_PID=
	[ "$rc" -eq 0 ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "SELECT state, end_reason, exit_status FROM jobs WHERE name = 'survivor'")" = "ended|finished|0" ]
}

@test "SIGTERM does not wait for an allocator that does not answer" {
	# A port that refuses connections until 'listen' appears, then accepts and never replies.
	python3 -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
    print("accepted", flush=True)
' "$BATS_TEST_TMPDIR/hang.port" "$BATS_TEST_TMPDIR/listen" >"$BATS_TEST_TMPDIR/hang.out" 2>&1 3>&- &
	HANG_PID=$!
	wait_for "[[ -s '$BATS_TEST_TMPDIR/hang.port' ]]" 5
	cat >>"$BATS_TEST_TMPDIR/agent.toml" <<EOT
request_timeout_ms = 120000
retry_max_seconds = 1
EOT
	sed -i "s|^url = .*|url = \"http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/hang.port")\"|" "$BATS_TEST_TMPDIR/agent.toml"
	export HAC_SOCKET=$BATS_TEST_TMPDIR/agent.sock
	# The agent's exit status lands in agent.rc, so the test can wait for it with a bound.
	(
		hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" >>"$BATS_TEST_TMPDIR/agent.log" 2>&1 &
		echo $! >"$BATS_TEST_TMPDIR/agent.pid"
		rc=0
		wait $! || rc=$?
		echo "$rc" >"$BATS_TEST_TMPDIR/agent.rc"
	) 3>&- &
	wait_for "curl -sf --unix-socket '$HAC_SOCKET' http://hac/v1/version" 10
	touch "$BATS_TEST_TMPDIR/listen"
	# The agent retries within a second and then waits on the silent allocator.
	wait_for "grep -q accepted '$BATS_TEST_TMPDIR/hang.out'" 10
	start=$EPOCHREALTIME
	kill -TERM "$(cat "$BATS_TEST_TMPDIR/agent.pid")"
	# Far below the 120 s request timeout: only a stop that waited it out fails here.
	wait_for "[[ -s '$BATS_TEST_TMPDIR/agent.rc' ]]" 60
	echo "# stopped in $(((${EPOCHREALTIME/[.,]/} - ${start/[.,]/}) / 1000)) ms during a call to a silent allocator" >&3
	[ "$(cat "$BATS_TEST_TMPDIR/agent.rc")" -eq 0 ]
}

@test "conf/hac-agent.service: systemd-analyze security scores it 2.0 or lower" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian package systemd)"
	run systemd-analyze security --offline=true "$REPO/conf/hac-agent.service"
	score=$(sed -n 's/.*Overall exposure level for hac-agent.service: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "# exposure $score" >&3
	[ -n "$score" ]
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
}

@test "conf/ units pass systemd-analyze verify; socket 0660 group hac in a 0755 directory, state 0700" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian package systemd)"
	units=$BATS_TEST_TMPDIR/units
	mkdir -p "$units"
	# verify wants ExecStart= and ExecReload= to exist: point them at the build's agent.
	sed "s|^\(Exec[A-Za-z]*\)=/usr/sbin/hac-agent|\1=$(realpath "$(command -v hac-agent)")|" "$REPO/conf/hac-agent.service" >"$units/hac-agent.service"
	cp "$REPO/conf/hac-agent.socket" "$units/"
	run systemd-analyze verify --man=no "$units/hac-agent.service" "$units/hac-agent.socket"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	unit=$REPO/conf/hac-agent.service
	for line in Type=notify WatchdogSec=30s User=hac LoadCredential=token:/etc/hac/token StateDirectory=hac \
		StateDirectoryMode=0700 RuntimeDirectory=hac RuntimeDirectoryMode=0755; do
		grep -qx "$line" "$unit" || { echo "missing in hac-agent.service: $line"; false; }
	done
	for line in ListenStream=/run/hac/agent.sock SocketGroup=hac SocketMode=0660 DirectoryMode=0755; do
		grep -qx "$line" "$REPO/conf/hac-agent.socket" || { echo "missing in hac-agent.socket: $line"; false; }
	done
}

@test "sysusers.d and tmpfiles.d make user hac, groups hac and hac-admin, /run/hac 0755 and /var/lib/hac 0700" {
	command -v systemd-sysusers >/dev/null || skip "systemd-sysusers is missing (Debian package systemd)"
	root=$BATS_TEST_TMPDIR/root
	mkdir -p "$root/etc" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
	cp "$REPO/conf/hac.sysusers.conf" "$root/usr/lib/sysusers.d/hac.conf"
	cp "$REPO/conf/hac.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/hac.conf"
	systemd-sysusers --root="$root"
	uid=$(awk -F: '$1 == "hac" { print $3 }' "$root/etc/passwd")
	gid=$(awk -F: '$1 == "hac" { print $3 }' "$root/etc/group")
	[ -n "$uid" ]
	[ -n "$gid" ]
	grep -q '^hac-admin:' "$root/etc/group"
	systemd-tmpfiles --root="$root" --create
	[ "$(stat -c '%a %u %g' "$root/run/hac")" = "755 $uid $gid" ]
	[ "$(stat -c '%a %u %g' "$root/var/lib/hac")" = "700 $uid $gid" ]
}

@test "hac-agent --reload (the unit's ExecReload=) signals the agent in \$MAINPID; a bad config fails it and signals nothing" {
	start_notify
	start_agent_env NOTIFY_SOCKET="$NOTIFY"
	wait_for "curl -sf --unix-socket '$HAC_SOCKET' http://hac/v1/version" 10
	run hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" --reload
	[ "$status" -eq 2 ]
	[[ $output == *'$MAINPID'* ]]

	sed -i 's|^\[allocator\]|&\nheartbeat_seconds = 7|' "$BATS_TEST_TMPDIR/agent.toml"
	MAINPID=$AGENT_PID run hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" --reload
	[ "$status" -eq 0 ]
	wait_for "grep -q 'config reloaded from .*heartbeat 7 s' '$BATS_TEST_TMPDIR/agent.log'" 5

	# Refused before the agent hears of it: systemctl reload fails, saying why.
	sed -i "1i log_level = \"loud\"" "$BATS_TEST_TMPDIR/agent.toml"
	MAINPID=$AGENT_PID run hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" --reload
	[ "$status" -eq 1 ]
	[[ $output == "hac-agent: config reload refused: "*"agent.toml:1: log_level: expected one of"*"the running config stays" ]]

	sed -i '1d; s|^heartbeat_seconds = 7|heartbeat_seconds = 9|' "$BATS_TEST_TMPDIR/agent.toml"
	MAINPID=$AGENT_PID run hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" --reload
	[ "$status" -eq 0 ]
	wait_for "grep -q 'config reloaded from .*heartbeat 9 s' '$BATS_TEST_TMPDIR/agent.log'" 5
	# Two reloads reached the agent, none refused by it.
	flush_notify
	[ "$(grep -c 'RELOADING=1' "$BATS_TEST_TMPDIR/notify.out")" -eq 2 ]
	[[ $(grep -c 'config reload refused' "$BATS_TEST_TMPDIR/agent.log") -eq 0 ]]
}
