#!/usr/bin/env bats
# The device token never leaves the agent: with a unique canary token and debug logging, every
# verb (and its errors) runs, and the canary is searched for in every output, log, database file
# and process environment reachable. Its only homes are the token file and the allocator's config.
# And a crashing agent writes no core dump (PR_SET_DUMPABLE=0), which would hold the token.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() {
	TEST_TOKEN=hac-canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	OUT=$BATS_TEST_TMPDIR/outputs.txt
	: >"$OUT"
}

teardown() {
	[ -z "${JOB_PID:-}" ] || { kill "$JOB_PID" 2>/dev/null; wait "$JOB_PID" 2>/dev/null; } || true
	stop_all
}

# v STATUS COMMAND...: runs COMMAND, keeping its stdout, stderr and exit status in $OUT; fails
# unless it exits with STATUS, so each verb (and each error) ran as meant and the search below
# covers what it says.
v() {
	local want=$1 rc=0 line
	shift
	# The command line as run, but for a canary this test itself passes (as a client header).
	line="$*"
	line=${line//$TEST_TOKEN/<canary>}
	echo "\$ $line" >>"$OUT"
	"$@" >>"$OUT" 2>&1 </dev/null || rc=$?
	echo "exit $rc" >>"$OUT"
	[ "$rc" -eq "$want" ] || { echo "'$line' exited $rc, not $want"; return 1; }
}

# Every place the canary must not be: fails naming each one it is in.
assert_canary_nowhere() {
	local found=() f pid
	for f in "$BATS_TEST_TMPDIR"/*; do
		case ${f##*/} in
		token | allocator.toml) continue ;; # its legitimate homes
		esac
		[ -f "$f" ] || continue
		grep -qaF "$TEST_TOKEN" "$f" && { found+=("$f"); grep -naF "$TEST_TOKEN" "$f" | head -n 3 | cut -c1-300; }
	done
	for pid in "$@"; do
		for f in /proc/"$pid"/{environ,cmdline}; do
			[ -r "$f" ] && grep -qaF "$TEST_TOKEN" "$f" && found+=("$f")
		done
	done
	if ((${#found[@]})); then
		printf 'the canary token is in: %s\n' "${found[@]}"
		return 1
	fi
}

@test "with debug logging, the canary token is in no output, log, database file or environment" {
	start_allocator
	write_agent_config
	sed -i '1i log_level = "debug"' "$BATS_TEST_TMPDIR/agent.toml"
	# The metrics listener too: its figures are searched like every other output.
	metrics_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf '\n[metrics]\nlisten = "127.0.0.1:%s"\n' "$metrics_port" >>"$BATS_TEST_TMPDIR/agent.toml"
	start_agent
	# A job that stays, so its process can be searched too.
	hac-run -- sleep 32 >/dev/null 2>&1 &
	JOB_PID=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
	job_pid=$(pgrep -f 'sleep 32' | head -n 1)
	v 0 hac-smi
	v 0 hac-smi --json
	v 0 hac-smi -s
	v 0 hac-smi -t
	v 0 hac-smi -t --json
	v 0 hac-smi -v
	v 0 hac-smi --query index,name,memory.total --format csv
	v 0 hac-smi --help-query
	v 0 hac-smi -l 0.1 --count 2
	v 7 hac-smi -r -i 7
	v 0 hac-smi -r
	v 2 hac-smi --bogus
	v 0 hac-smi device list --json
	v 0 hac-smi device add small
	v 7 hac-smi device add nonsense
	v 0 hac-smi device switch 1
	v 0 hac-smi device switch 0
	v 0 hac-smi device rm -y 1
	v 7 hac-smi device rm -y 9
	v 0 hac-run -- true
	v 1 hac-run -- false
	v 127 hac-run -- /no/such/program
	v 7 hac-run --device 9 -- true
	v 0 hac-resize --list --json
	v 0 hac-resize xlarge
	v 7 hac-resize huge
	v 6 hac-resize large
	v 0 hac-usage
	v 0 hac-usage --jobs --json
	v 0 hac-usage --all-users --by user --format csv
	v 0 hac-usage --reconcile
	v 2 hac-usage --since yesterday-ish
	for path in version status devices token jobs usage nothing; do
		v 0 curl -s --unix-socket "$HAC_SOCKET" "http://hac/v1/$path"
	done
	v 0 curl -s --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/jobs -d '{"pid":"x"}'
	v 0 curl -s --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/jobs -d 'not json'
	v 0 curl -s --unix-socket "$HAC_SOCKET" -H "Authorization: Bearer $TEST_TOKEN" http://hac/v1/status
	# Metrics of both daemons, after all the verbs above (and again after the token is refused,
	# below): on the agent's socket, its TCP listener and the allocator, even asked with the token.
	v 0 curl -sf --unix-socket "$HAC_SOCKET" http://hac/metrics
	v 0 curl -sf "http://127.0.0.1:$metrics_port/metrics"
	v 0 curl -sf "$ALLOCATOR_URL/metrics"
	v 0 curl -sf -H "Authorization: Bearer $TEST_TOKEN" "$ALLOCATOR_URL/metrics"
	# A reload, and the allocator refusing the token: both log about the token.
	kill -HUP "$AGENT_PID"
	wait_for "grep -q 'config reloaded' '$BATS_TEST_TMPDIR/agent.log'" 10
	v 0 hac-smi
	stop_allocator
	v 0 hac-smi
	v 4 hac-run --no-wait -- true
	v 4 hac-resize medium
	sed -i "s/^token = .*/token = \"another-token-entirely\"/" "$BATS_TEST_TMPDIR/allocator.toml"
	start_allocator
	v 0 hac-smi -s
	v 4 hac-resize medium
	v 0 curl -sf --unix-socket "$HAC_SOCKET" http://hac/metrics
	v 0 curl -sf "http://127.0.0.1:$metrics_port/metrics"
	v 0 curl -sf "$ALLOCATOR_URL/metrics"
	# The searched outputs hold the metrics: the search below covers them.
	grep -q '^hac_agent_jobs_started_total [1-9]' "$OUT"
	grep -q '^hac_allocator_usage_records_total{sku="Large.64GB"} [1-9]' "$OUT"
	grep -q '^hac_agent_allocator_requests_total{.*code="none"} [1-9]' "$OUT"
	sqlite3 "$BATS_TEST_TMPDIR/jobs.db" 'PRAGMA wal_checkpoint(PASSIVE)' >/dev/null || true
	# Debug logging was on: each kind of request the tools made is in the log.
	for request in 'GET /v1/status' 'GET /v1/token' 'POST /v1/jobs' 'GET /v1/devices'; do
		grep -q "debug: $request from pid" "$BATS_TEST_TMPDIR/agent.log" || { echo "no debug line for $request"; false; }
	done
	echo "outputs: $(wc -l <"$OUT") lines, agent log: $(wc -l <"$BATS_TEST_TMPDIR/agent.log") lines, $(grep -c 'debug: ' "$BATS_TEST_TMPDIR/agent.log") of them debug" >&3
	assert_canary_nowhere "$AGENT_PID" "$job_pid" "$$"
	# The search itself works: it finds the canary where the test plants it, in a file among
	# the others and in a process's environment.
	printf 'planted %s here\n' "$TEST_TOKEN" >"$BATS_TEST_TMPDIR/planted.log"
	env HAC_PLANTED="$TEST_TOKEN" sleep 33 3>&- &
	planted=$!
	run assert_canary_nowhere "$AGENT_PID" "$planted"
	kill "$planted"
	[ "$status" -eq 1 ]
	[[ $output == *"$BATS_TEST_TMPDIR/planted.log"* ]]
	[[ $output == *"/proc/$planted/environ"* ]]
}

@test "a token file the agent refuses (mode 0644) is named in the error, its content is not" {
	start_allocator
	write_agent_config
	chmod 644 "$BATS_TEST_TMPDIR/token"
	run hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" --log-level debug
	[ "$status" -ne 0 ]
	[[ $output == *"$BATS_TEST_TMPDIR/token"* ]]
	[[ $output != *"$TEST_TOKEN"* ]]
	assert_canary_nowhere
}

@test "the agent is not dumpable: SIGSEGV writes no core file where a dumpable process writes one" {
	pattern=$(cat /proc/sys/kernel/core_pattern)
	[[ $pattern != \|* ]] || skip "core_pattern pipes cores to a handler this test cannot look into: $pattern"
	[[ $pattern != /* ]] || skip "core_pattern writes cores to a fixed folder: $pattern"
	start_allocator
	write_agent_config
	dir=$BATS_TEST_TMPDIR/cores
	mkdir -p "$dir"
	# The control: a plain process in the same folder with the same limit does leave a core.
	(cd "$dir" && ulimit -c unlimited && exec sleep 30) &
	control=$!
	sleep 0.2
	kill -SEGV "$control"
	wait "$control" || true
	control_cores=$(find "$dir" -type f -name 'core*' | wc -l)
	[ "$control_cores" -gt 0 ] || skip "this system writes no core dump even for a dumpable process (core_pattern '$pattern')"
	rm -f "$dir"/core*
	export HAC_SOCKET=$BATS_TEST_TMPDIR/agent.sock
	(cd "$dir" && ulimit -c unlimited && exec hac-agent --config "$BATS_TEST_TMPDIR/agent.toml") >>"$BATS_TEST_TMPDIR/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_for "curl -sf --unix-socket '$HAC_SOCKET' http://hac/v1/version" 5
	[ "$(awk '/^Max core file size/ {print $5}' /proc/$AGENT_PID/limits)" = unlimited ]
	kill -SEGV "$AGENT_PID"
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	[ "${rc:-0}" -eq $((128 + 11)) ]
	sleep 0.5
	run find "$dir" -type f -name 'core*'
	[ -z "$output" ]
}
