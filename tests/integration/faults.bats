#!/usr/bin/env bats
# Faults around the agent (issue 8): the outbox cap with the allocator down, storage errors on the
# job log (strace fault injection on the real binary), network faults between agent and allocator
# (tests/lib/fault_proxy.py), and kills or I/O errors during a job log migration. Figures that the
# report needs (times, back-off gaps, spread) are printed as '# ' lines on fd 3.

load ../lib/common

setup() {
	T=$BATS_TEST_TMPDIR
	EXTRA_PIDS=()
}

teardown() {
	touch "$T/stop"
	stop_all
}

job_log() { sqlite3 "$T/jobs.db" "$1"; }
outbox() { job_log "SELECT count(*) FROM outbox"; }
status_json() { curl -s --unix-socket "$HAC_SOCKET" http://hac/v1/status; }
seconds() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

# The allocator with two devices for the token: a long job holds device 1 while others start on 0.
start_allocator_two_devices() {
	write_allocator_config
	sed -i 's/^devices = .*/devices = ["Large.64GB", "Large.64GB"]/' "$T/allocator.toml"
	start_allocator
}

# A job on device 1 that runs until $T/$1.end exists; its id lands in $T/$1.id, hac-run's output in $T/$1.out.
long_job() {
	hac-run --device 1 -- sh -c 'echo "$HAC_JOB_ID" >"$0.id"; while [ ! -e "$0.end" ] && [ ! -e "$1/stop" ]; do sleep 0.05; done' \
		"$T/$1" "$T" >"$T/$1.out" 2>&1 3>&- &
	LONG_PID=$!
	EXTRA_PIDS+=("$LONG_PID")
	wait_for "[ -s '$T/$1.id' ]" 10
}

@test "outbox: with the allocator down it warns at half the cap, refuses new jobs at it, and keeps every completion" {
	start_allocator_two_devices
	write_agent_config
	printf 'retry_max_seconds = 1\n\n[outbox]\nmax_records = 4\n' >>"$T/agent.toml"
	start_agent
	[ "$(status_json | jq .allocator.outbox_max)" -eq 4 ]
	long_job long
	stop_allocator

	# Each start the allocator cannot answer queues a non-billable record (its delivery releases
	# any allocation made), so the outbox grows by one per refused start.
	for i in 1 2 3 4; do
		run hac-run --no-wait -- true
		[ "$status" -eq 4 ]
	done
	[ "$(outbox)" -eq 4 ]
	[ "$(status_json | jq .allocator.outbox_size)" -eq 4 ]
	wait_for "grep -q 'half or more of its cap' '$T/agent.log'"
	[ "$(grep -c 'half or more of its cap' "$T/agent.log")" -eq 1 ]

	# At the cap: a clear refusal, and nothing is queued or recorded for it.
	jobs_before=$(job_log "SELECT count(*) FROM jobs")
	run hac-run --no-wait -- true
	[ "$status" -ne 0 ]
	[[ $output == *"max_records"* ]]
	run curl -s -w '\n%{http_code}' --unix-socket "$HAC_SOCKET" -X POST -d "{\"pid\":$$}" http://hac/v1/jobs
	[ "${lines[1]}" = 503 ]
	[ "$(jq -r .error.code <<<"${lines[0]}")" = outbox_full ]
	[ "$(jq -r .error.outbox_max <<<"${lines[0]}")" = 4 ]
	[ "$(outbox)" -eq 4 ]
	[ "$(job_log "SELECT count(*) FROM jobs")" -eq "$jobs_before" ]

	# A job that was running still ends, past the cap; its record is kept.
	long_id=$(cat "$T/long.id")
	touch "$T/long.end"
	wait "$LONG_PID"
	[ "$(job_log "SELECT state FROM jobs WHERE id = '$long_id'")" = ended ]
	[ "$(outbox)" -eq 5 ]

	# The allocator back: everything is delivered, the warning clears, jobs start again.
	start_allocator
	wait_for '[ "$(outbox)" -eq 0 ]' 30
	[ "$(sqlite3 "$T/allocator.db" "SELECT count(*) FROM usage WHERE job_id = '$long_id'")" -eq 1 ]
	wait_for "grep -q 'back below half' '$T/agent.log'"
	run hac-run --no-wait -- true
	[ "$status" -eq 0 ]
}

# Attaches strace to the running agent, failing syscall $1 with errno $2; sets STRACE_PID.
inject() {
	strace -f -qq -p "$AGENT_PID" -o "$T/strace.$1.log" -e trace="$1" -e inject="$1:error=$2" 2>>"$T/strace.err" 3>&- &
	STRACE_PID=$!
	EXTRA_PIDS+=("$STRACE_PID")
	wait_for "! grep -L 'TracerPid:[[:space:]]*[1-9]' /proc/$AGENT_PID/task/*/status | grep -q ." 5 ||
		skip "strace cannot attach to the agent (ptrace not permitted here): $(cat "$T/strace.err")"
}

@test "storage: EIO on fdatasync and ENOSPC on pwrite64 fail a job's start and finish, without a retry loop; the next job works" {
	command -v strace >/dev/null || skip "strace is missing (scripts/deps test installs it)"
	start_allocator_two_devices
	start_agent
	run hac-run --no-wait -- true
	[ "$status" -eq 0 ]
	# SQLite in WAL mode with synchronous=FULL writes the WAL with pwrite64 and syncs it with
	# fdatasync (strace of sqlite3 on this system); a failed fsync is an I/O error, a failed write
	# on a full disk is ENOSPC.
	for fault in fdatasync:EIO pwrite64:ENOSPC; do
		syscall=${fault%%:*} errno=${fault#*:}
		long_job "long-$syscall"
		long_id=$(cat "$T/long-$syscall.id")
		inject "$syscall" "$errno"

		before=$(job_log "SELECT count(*) FROM jobs")
		t0=$(seconds)
		run timeout 60 hac-run --no-wait -- true
		figure "$fault: job start refused with exit $status after $(elapsed "$t0" "$(seconds)") s: ${output##*$'\n'}"
		[ "$status" -ne 0 ]
		[ "$status" -ne 124 ]
		[[ $output == *"disk I/O error"* || $output == *"full"* ]]
		[[ $output != *"hac-run: ok"* ]]

		touch "$T/long-$syscall.end"
		wait "$LONG_PID" || true
		figure "$fault: job finish: $(tr '\n' ' ' <"$T/long-$syscall.out")"
		grep -q "could not report the end of job $long_id" "$T/long-$syscall.out"

		# The end is retried at the heartbeat (every 5 s), not in a loop: count what the agent
		# tried over 3 s.
		grep -c . "$T/strace.$syscall.log" >"$T/calls.before" || true
		sleep 3
		calls=$(($(grep -c . "$T/strace.$syscall.log") - $(cat "$T/calls.before")))
		retries=$(grep -c "cannot record the end of job $long_id" "$T/agent.log" || true)
		figure "$fault: over 3 s of failing disk: $calls $syscall call(s), $retries logged retry(ies) of the end"
		[ "$calls" -le 20 ]
		[ "$retries" -le 3 ]
		[ "$(job_log "SELECT state FROM jobs WHERE id = '$long_id'")" = running ]

		# The disk is back: the end is recorded at the next retry, and a new job works.
		kill "$STRACE_PID"
		wait "$STRACE_PID" 2>/dev/null || true
		t0=$(seconds)
		wait_for "[ \"\$(job_log \"SELECT state FROM jobs WHERE id = '$long_id'\")\" = ended ]" 20
		figure "$fault: end recorded $(elapsed "$t0" "$(seconds)") s after the disk recovered"
		run hac-run --no-wait -- true
		[ "$status" -eq 0 ]
		[ "$(job_log "SELECT count(*) FROM jobs")" -gt "$before" ]
		[ "$(job_log "PRAGMA integrity_check")" = ok ]
	done
}

# The agent behind the proxy with short timeouts: connect 300 ms, request 1500 ms.
start_agent_behind_proxy() {
	ALLOCATOR_URL=$PROXY_URL write_agent_config
	printf 'connect_timeout_ms = 300\nrequest_timeout_ms = 1500\nheartbeat_seconds = 1\nretry_max_seconds = %s\n' \
		"${1:-2}" >>"$T/agent.toml"
	start_agent
}

@test "network: refused, blackholed, trickled, reset and 503 allocators: every call ends, reads answer from the last known state" {
	start_allocator
	start_proxy 1 pass
	start_agent_behind_proxy 2
	wait_for '[ "$(status_json | jq .allocator.reachable)" = true ]' 10
	for mode in refuse blackhole trickle reset 503; do
		echo "$mode" >"$T/mode"
		# The proxy drops a kept-alive connection within 100 ms of a switch: let it.
		sleep 0.5
		# The bound is connect + request timeout (1.8 s) plus slack; timeout(1) only guards a hang.
		t0=$(seconds)
		run timeout 60 hac-run --no-wait -- true
		took=$(elapsed "$t0" "$(seconds)")
		figure "$mode: hac-run start ended with exit $status after $took s: ${output##*$'\n'}"
		[ "$status" -ne 0 ]
		[ "$status" -ne 124 ]
		t0=$(seconds)
		run timeout 30 hac-smi --json
		[ "$status" -eq 0 ]
		[ "$(jq '.devices | length' <<<"$output")" -ge 1 ]
		figure "$mode: hac-smi answered from the last known state in $(elapsed "$t0" "$(seconds)") s"
		echo pass >"$T/mode"
		wait_for '[ "$(status_json | jq .allocator.reachable)" = true ]' 30
	done
	run hac-run --no-wait -- true
	[ "$status" -eq 0 ]
}

# Prints the gaps (s) between the attempts logged at listener $1 of the proxy.
gaps() {
	awk -v l="$1" '$2 == l { if (n++) printf "%.3f\n", $1 - prev; prev = $1 }' "$T/proxy.attempts"
}

@test "network: retries to a resetting allocator back off" {
	start_proxy 1 reset
	start_agent_behind_proxy 8
	# Nine attempts: about 24 s, the gaps drawn below 1, 2, 4 and then 8 s.
	wait_for "[ \$(grep -c . '$T/proxy.attempts') -ge 9 ]" 180
	mapfile -t g < <(gaps 0 | head -n 8)
	figure "gaps between the first 9 attempts (s): ${g[*]}"
	python3 - "${g[@]}" <<'EOF'
import sys
g = [float(x) for x in sys.argv[1:]]
assert len(g) == 8, g
# Not a retry loop: a load can only lengthen a gap, never shorten it below the floor.
assert min(g) >= 0.09, f"a gap below the 100 ms floor: {g}"
# Full jitter draws gap k (k = 1, 2, ...) uniformly between 0.1 s and min(8, 2^(k-1)) s. Were the
# ceiling stuck at 1 s, no gap would pass 1.2 s but by a stall of the machine; growing, the seven
# after the first all stay below 1.2 s with probability (1.1/1.9)(1.1/3.9)(1.1/7.9)^5 < 1e-5.
assert max(g[1:]) > 1.2, f"the gaps do not grow: {g}"
EOF
}

@test "network: 20 agents started together against a resetting allocator do not retry in lockstep" {
	start_proxy 20 reset
	local i pids=()
	printf '%s\n' "$TEST_TOKEN" >"$T/token"
	chmod 600 "$T/token"
	for i in $(seq 0 19); do
		mkdir -p "$T/a$i"
		cat >"$T/a$i/agent.toml" <<EOT
socket = "$T/a$i/agent.sock"
database = "$T/a$i/jobs.db"
token_file = "$T/token"

[allocator]
url = "http://127.0.0.1:${PROXY_PORTS[$i]}"
connect_timeout_ms = 300
request_timeout_ms = 1500
retry_max_seconds = 4
EOT
	done
	for i in $(seq 0 19); do
		hac-agent --config "$T/a$i/agent.toml" >>"$T/a$i/agent.log" 2>&1 3>&- &
		EXTRA_PIDS+=($!)
	done
	wait_for "[ \$(awk '{print \$2}' '$T/proxy.attempts' | sort | uniq -c | awk '\$1 >= 4' | wc -l) -eq 20 ]" 60
	python3 - "$T/proxy.attempts" >"$T/spread" <<'EOF'
import sys
times = {}
for line in open(sys.argv[1]):
    t, listener, _ = line.split()
    times.setdefault(int(listener), []).append(float(t))
first = [v[0] for v in times.values()]
print(f"starts spread {max(first) - min(first):.3f} s across 20 agents")
# The gap before attempt k + 1 is drawn uniformly between 0.1 s and a ceiling of 1, 2, then 4 s:
# scaled to its range, each of the 60 gaps is uniform on [0, 1] and independent of when its agent
# started. Lockstep (the same gap for every agent) puts them all at one point, give or take the
# machine's delays. At least 5 of 60 in the lowest third and 5 in the highest: with full jitter
# each count falls short with probability below 6e-6.
scaled = []
for k, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0)):
    after = [v[k] - v[k - 1] for v in times.values()]
    print(f"gap before attempt {k + 1}: min {min(after):.3f} max {max(after):.3f} s (drawn in 0.1-{ceiling:.0f} s)")
    scaled += [(a - 0.1) / (ceiling - 0.1) for a in after]
low = sum(1 for u in scaled if u < 1 / 3)
high = sum(1 for u in scaled if u > 2 / 3)
print(f"of {len(scaled)} gaps scaled to their range: {low} in the lowest third, {high} in the highest")
assert low >= 5 and high >= 5, f"the gaps are not spread over their range: {sorted(scaled)}"
EOF
	while read -r line; do figure "$line"; done <"$T/spread"
}

# A v1 job log with the fixture's rows and $1 more ended jobs, so migrating takes a while.
seed_v1() {
	sqlite3 "$T/seed.db" <"$REPO/tests/fixtures/job_log_v1.sql"
	sqlite3 "$T/seed.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO jobs SELECT printf('seed-%08d', i), device, device_id, sku, gpus, price_micro_per_gpu_minute,
			currency, uid, pid, pid_start, command, name, state, started_at + i * 1000, heartbeat_at + i * 1000,
			ended_at + i * 1000 + i % 600000, memory_used_mib, exit_status, end_reason, billable, reconstructed
		FROM n, (SELECT * FROM jobs LIMIT 1)"
	SEED_JOBS=$(sqlite3 "$T/seed.db" "SELECT count(*) FROM jobs")
}

# The job log is at exactly one schema version, with all of that version and none of the next.
check_whole_version() {
	local db=$1 v tables cols limits
	v=$(sqlite3 "$db" "PRAGMA user_version")
	[ "$(sqlite3 "$db" "PRAGMA integrity_check")" = ok ] || { echo "integrity_check failed at v$v" >&2; return 1; }
	[ "$(sqlite3 "$db" "SELECT count(*) FROM jobs")" -eq "$SEED_JOBS" ] || { echo "jobs lost at v$v" >&2; return 1; }
	tables=$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE name = 'device_changes'")
	cols=$(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('jobs') WHERE name IN ('gpu_minutes', 'cost_micro')")
	limits=$(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('jobs') WHERE name IN ('time_limit_seconds', 'deadline_at')")
	case $v in
	1) [ "$tables" -eq 0 ] && [ "$cols" -eq 0 ] ;;
	2) [ "$tables" -eq 1 ] && [ "$cols" -eq 0 ] ;;
	3 | 4 | 5) [ "$tables" -eq 1 ] && [ "$cols" -eq 2 ] && [ "$limits" -eq $((v == 5 ? 2 : 0)) ] &&
		[ "$(sqlite3 "$db" "SELECT count(*) FROM jobs WHERE state = 'ended' AND gpu_minutes IS NULL")" -eq 0 ] &&
		[ "$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE name = 'jobs' AND sql LIKE '%exec_failed%'")" -eq $((v >= 4 ? 1 : 0)) ] ;;
	*) false ;;
	esac || { echo "v$v is not whole: device_changes $tables, bill columns $cols" >&2; return 1; }
	echo "$v"
}

@test "migration: kill -9 or an fdatasync EIO during a v1 migration leaves v1 to v5 whole; the next start migrates" {
	seed_v1 200000
	ALLOCATOR_URL=http://127.0.0.1:9 write_agent_config
	local seen=() delay v
	# kill -9 at growing moments after the start, on a fresh copy each time.
	for delay in 0.05 0.2 0.5 1.0 1.5 2.0 3.0; do
		rm -f "$T"/jobs.db*
		cp "$T/seed.db" "$T/jobs.db"
		hac-agent --config "$T/agent.toml" >>"$T/agent.log" 2>&1 3>&- &
		local pid=$!
		sleep "$delay"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		v=$(check_whole_version "$T/jobs.db")
		seen+=("kill at ${delay}s: v$v")
	done
	# An I/O error on the Nth fdatasync: the commit of a step fails, the agent stops with a message.
	if command -v strace >/dev/null; then
		# About 10 fdatasyncs in all on this system: the first few open the log and turn on WAL,
		# about the 5th commits v2 and the 8th v3.
		for n in 2 5 8; do
			rm -f "$T"/jobs.db* "$T/agent.sock"
			cp "$T/seed.db" "$T/jobs.db"
			strace -f -qq -o /dev/null -e trace=fdatasync -e inject=fdatasync:error=EIO:when=$n \
				hac-agent --config "$T/agent.toml" >"$T/eio.$n.out" 2>&1 3>&- &
			local tracer=$!
			EXTRA_PIDS+=("$tracer")
			wait_for "! kill -0 $tracer 2>/dev/null || curl -sf --unix-socket '$T/agent.sock' http://hac/v1/version" 60
			if kill -0 "$tracer" 2>/dev/null; then
				# The failed sync came after the last step's commit (a checkpoint): the agent
				# serves, and must then be at the new version.
				kill "$(ps -o pid= --ppid "$tracer")" 2>/dev/null || true
				wait "$tracer" || true
				v=$(check_whole_version "$T/jobs.db")
				[ "$v" -eq 5 ]
				seen+=("EIO on fdatasync #$n: served at v$v")
			else
				wait "$tracer" && status=0 || status=$?
				[ "$status" -ne 0 ]
				grep -q "disk I/O error" "$T/eio.$n.out"
				v=$(check_whole_version "$T/jobs.db")
				seen+=("EIO on fdatasync #$n: exit $status, v$v")
			fi
		done
	fi
	figure "migration faults: ${seen[*]}"
	# The last copy, whatever it holds, migrates on the next start.
	start_agent
	[ "$(job_log "PRAGMA user_version")" -eq 5 ]
	[ "$(check_whole_version "$T/jobs.db")" -eq 5 ]
	[ "$(job_log "SELECT count(*) FROM outbox")" -ge 1 ]
	command -v strace >/dev/null || skip "strace is missing: the kill -9 half ran, the EIO half did not (scripts/deps test installs strace)"
}

@test "network: an agent that has not reached the allocator yet makes hac-run wait for its first registration, or exit 4 with the allocator's error" {
	start_allocator
	start_proxy 1 reset
	start_agent_behind_proxy 8
	# No device known and the allocator still down: exit 4 with its error, nothing run.
	run hac-run -- touch "$T/ran"
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"knows no devices yet"* ]]
	[[ $output == *"$PROXY_URL"* ]]
	[[ ! -e $T/ran ]]
	# Three failed contacts: the link's next retry is up to 4 s away. The allocator answers
	# now, and a job started at once runs (systemctl start hac-agent && hac-run ...).
	wait_for '[ "$(wc -l <"$T/proxy.attempts")" -ge 3 ]' 30
	echo pass >"$T/mode"
	run hac-run -- touch "$T/ran"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ -e $T/ran ]]
}
