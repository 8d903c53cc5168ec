#!/usr/bin/env bats
# Issue 16, "Billing": a job whose command never ran is never billed, whoever gave up first.
# Real agent, allocator and tests/lib/fault_proxy.py between them; a start is one contract with
# one deadline (agent/API.md, POST /v1/jobs, deadline_ms). Figures are printed as '# ' lines.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() {
	T=$BATS_TEST_TMPDIR
	EXTRA_PIDS=()
}

teardown() {
	[[ -n ${AGENT_PID:-} ]] && kill -CONT "$AGENT_PID" 2>/dev/null
	touch "$T/stop"
	stop_all
}

job_log() { sqlite3 "$T/jobs.db" "$1"; }
allocator_db() { sqlite3 "$T/allocator.db" "$1"; }
seconds() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
allocations_asked() { grep -c ' POST /v1/allocations' "$T/proxy.requests" 2>/dev/null || true; }

# The allocator ($1 devices, default 1), the fault proxy in mode $2 in front of it, and the agent
# talking through the proxy, retrying the allocator at least every $3 seconds (default 1).
start_through_proxy() {
	write_allocator_config
	if [[ ${1:-1} -eq 2 ]]; then
		sed -i 's/^devices = .*/devices = ["Large.64GB", "Large.64GB"]/' "$T/allocator.toml"
	fi
	start_allocator
	start_proxy 1 pass
	ALLOCATOR_URL=$PROXY_URL write_agent_config
	printf 'retry_max_seconds = %s\n' "${3:-1}" >>"$T/agent.toml"
	start_agent
	echo "$2" >"$T/mode"
}

# Waits until every usage record reached the allocator (the proxy passing again).
delivered() {
	echo pass >"$T/mode"
	wait_for '[ "$(job_log "SELECT count(*) FROM outbox")" -eq 0 ]' 60
}

# Asserts that job $1 ended for reason $2, is not billable and costs 0, here and at the allocator,
# and that the allocator no longer lends it GPUs.
assert_not_billed() {
	[ "$(job_log "SELECT end_reason, billable, cost_micro FROM jobs WHERE id = '$1'")" = "$2|0|0" ]
	[ "$(allocator_db "SELECT billable, cost_micro FROM usage WHERE job_id = '$1'")" = "0|0" ]
	[ "$(allocator_db "SELECT count(*) FROM allocations WHERE job_id = '$1' AND released_at IS NULL")" -eq 0 ]
}

@test "billing: an allocator answering 3 s late still starts the job: the command runs, is billed once, exit 0" {
	start_through_proxy 1 "delay 3"
	t0=$(seconds)
	run hac-run -- sh -c 'echo RAN'
	figure "hac-run with the allocation answered 3 s late: exit $status after $(elapsed "$t0" "$(seconds)") s"
	[ "$status" -eq 0 ]
	[ "$output" = RAN ]
	[ "$(job_log "SELECT count(*) FROM jobs")" -eq 1 ]
	[ "$(job_log "SELECT end_reason, billable FROM jobs")" = "finished|1" ]
	delivered
	[ "$(allocator_db "SELECT count(*) FROM usage WHERE billable")" -eq 1 ]
}

@test "billing: an allocator slower than the agent's bound is exit 4 with advice about the allocator; nothing runs, nothing is billed, the GPUs are given back" {
	start_through_proxy 1 "delay 9"
	t0=$(seconds)
	run hac-run -- sh -c "echo RAN >'$T/ran'"
	figure "hac-run with the allocation answered 9 s late (agent bound 5 s): exit $status after $(elapsed "$t0" "$(seconds)") s"
	[ "$status" -eq 4 ]
	[[ $output == *"allocator"*"did not answer"* ]]
	[[ $output != *"systemctl status hac-agent"* ]]
	[ ! -e "$T/ran" ]
	# The proxy passed the request on, so the allocator lent the GPUs: the non-billable record
	# the agent queued gives them back.
	[ "$(allocations_asked)" -ge 1 ]
	id=$(job_log "SELECT id FROM jobs")
	[ -n "$id" ]
	delivered
	assert_not_billed "$id" allocator_failure
	run hac-run -- true
	[ "$status" -eq 0 ]
}

@test "billing: a gateway answering 504 after the allocator acted is exit 4, not billed, and the GPUs are given back" {
	start_through_proxy 1 504
	run hac-run -- sh -c "echo RAN >'$T/ran'"
	[ "$status" -eq 4 ]
	[[ $output == *"allocator"* ]]
	[ ! -e "$T/ran" ]
	[ "$(allocator_db "SELECT count(*) FROM allocations")" -eq 1 ]
	id=$(job_log "SELECT id FROM jobs")
	[ -n "$id" ]
	delivered
	assert_not_billed "$id" allocator_failure
}

@test "billing: a 503 storm is exit 4 with advice about the allocator, and nothing runs" {
	start_through_proxy 1 503
	run hac-run -- sh -c "echo RAN >'$T/ran'"
	[ "$status" -eq 4 ]
	[[ $output == *"503 storm"*"check the allocator"* ]]
	[ ! -e "$T/ran" ]
	[ "$(job_log "SELECT count(*) FROM jobs WHERE billable")" -eq 0 ]
}

@test "billing: a start while the last job's usage record waits out a back-off sends the record first: the device is not refused as busy" {
	# The allocator lends a device until the record of the job that used it arrives. A record
	# refused three times waits 2 to 4 s before its next try; a start meanwhile must not find the
	# device busy there (before the fix: exit 9 for --no-wait, and a waiting job lost its place).
	start_through_proxy 1 pass 60
	mkfifo "$T/release"
	hac-run --name holder -- sh -c "cat '$T/release' >/dev/null" 2>/dev/null &
	EXTRA_PIDS+=($!)
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 10
	echo "503 /v1/usage" >"$T/mode"
	echo done >"$T/release"
	wait_for '[ "$(grep -c " 503_/v1/usage POST /v1/usage" "$T/proxy.requests")" -ge 3 ]' 30
	echo pass >"$T/mode"
	[ "$(job_log "SELECT count(*) FROM outbox")" -eq 1 ]
	run hac-run --no-wait --name next -- echo RAN
	[ "$status" -eq 0 ]
	[ "$output" = RAN ]
	delivered
	[ "$(allocator_db "SELECT group_concat(billable, ' ') FROM usage")" = "1 1" ]
	[ "$(allocator_db "SELECT count(*) FROM allocations WHERE released_at IS NULL")" -eq 0 ]
}

@test "billing: a caller that gave up first (the agent stopped past the start's deadline) is never billed, though its process lives on" {
	start_through_proxy 1 "delay 1"
	# A program registering itself, as the C API does, that waits 1.5 s for the answer, then
	# goes on without the accelerator (and lives on until told to stop).
	python3 - "$HAC_SOCKET" "$T" >"$T/client.out" 2>&1 3>&- <<'EOF' &
import json, os, socket, sys, time
sock_path, d = sys.argv[1], sys.argv[2]
body = json.dumps({"pid": os.getpid(), "deadline_ms": 1500, "command": "gives up after 1.5 s"}).encode()
s = socket.socket(socket.AF_UNIX)
s.settimeout(1.5)
s.connect(sock_path)
s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: hac\r\nConnection: close\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
try:
    print(s.recv(65536).decode().split("\r\n")[0])
except socket.timeout:
    print("gave up")
open(d + "/client.done", "w").close()
while not os.path.exists(d + "/stop") and not os.path.exists(d + "/client.end"):
    time.sleep(0.05)
EOF
	client=$!
	EXTRA_PIDS+=("$client")
	wait_for '[ "$(allocations_asked)" -ge 1 ]' 10
	kill -STOP "$AGENT_PID"
	wait_for "[ -e '$T/client.done' ]" 10
	sleep 1 # the allocator's answer arrives while the agent is stopped
	kill -CONT "$AGENT_PID"
	[ "$(cat "$T/client.out")" = "gave up" ]
	wait_for '[ "$(job_log "SELECT count(*) FROM jobs WHERE state = '\''ended'\''")" -eq 1 ]' 15
	kill -0 "$client"
	id=$(job_log "SELECT id FROM jobs")
	reason=$(job_log "SELECT end_reason FROM jobs")
	figure "start answered after the caller's 1.5 s deadline: ended $reason while the caller's process lives"
	[[ $reason == not_started || $reason == allocator_failure ]]
	delivered
	assert_not_billed "$id" "$reason"
	touch "$T/client.end"
}

@test "billing: back-to-back starts during a blackholed allocator ask it at once, not one behind the other, and each is exit 4" {
	start_through_proxy 2 blackhole
	t0=$(seconds)
	hac-run --device 0 -- sh -c "echo RAN >'$T/ran0'" >"$T/run0.out" 2>&1 3>&- &
	run0=$!
	hac-run --device 1 -- sh -c "echo RAN >'$T/ran1'" >"$T/run1.out" 2>&1 3>&- &
	run1=$!
	EXTRA_PIDS+=("$run0" "$run1")
	# Both allocations reach the allocator while both jobs still start: the second does not wait
	# for the first's timeout (nor for the agent's own retries of the allocator).
	wait_for '[ "$(allocations_asked)" -ge 2 ]' 20
	[ "$(job_log "SELECT group_concat(state) FROM jobs")" = "starting,starting" ]
	wait "$run0" && s0=0 || s0=$?
	t1=$(seconds)
	wait "$run1" && s1=0 || s1=$?
	t2=$(seconds)
	figure "two starts into a blackhole (agent bound 5 s): exit $s0 after $(elapsed "$t0" "$t1") s, exit $s1 after $(elapsed "$t0" "$t2") s"
	[ "$s0" -eq 4 ]
	[ "$s1" -eq 4 ]
	[ ! -e "$T/ran0" ] && [ ! -e "$T/ran1" ]
	[ "$(job_log "SELECT group_concat(end_reason || ':' || billable) FROM jobs")" = "allocator_failure:0,allocator_failure:0" ]
}

@test "billing: a command that cannot be executed (127, 126) ends exec_failed, not billable, and hac-usage says so" {
	start_allocator
	start_agent
	run -127 hac-run -- /nonexistent
	[ "$status" -eq 127 ]
	[[ $output == *"cannot run '/nonexistent'"* ]]
	run -126 hac-run -- /etc/passwd
	[ "$status" -eq 126 ]
	[ "$(job_log "SELECT group_concat(end_reason || ':' || billable || ':' || cost_micro || ':' || exit_status)
		FROM (SELECT * FROM jobs ORDER BY started_at)")" = "exec_failed:0:0:127,exec_failed:0:0:126" ]
	# A command that ran and exited 127 itself is billed like any other.
	run -127 hac-run -- sh -c 'exit 127'
	[ "$status" -eq 127 ]
	[ "$(job_log "SELECT end_reason || ':' || billable FROM jobs ORDER BY started_at DESC LIMIT 1")" = "finished:1" ]
	# The word of a launcher is not taken for a command that runs: the job's process has exec'd.
	hac-run -- sh -c "echo \"\$HAC_JOB_ID\" >'$T/id'; exec sleep 30" 3>&- &
	EXTRA_PIDS+=($!)
	wait_for "[ -s '$T/id' ] && [ \"\$(job_log \"SELECT state FROM jobs WHERE id = '\$(cat $T/id)'\")\" = running ]" 10
	wait_for "[ \"\$(readlink /proc/\$(job_log \"SELECT pid FROM jobs WHERE id = '\$(cat $T/id)'\")/exe)\" != '$(command -v hac-run)' ]" 10
	id=$(cat "$T/id")
	curl -sf --unix-socket "$HAC_SOCKET" -X POST -d '{"exit_status":127,"exec_failed":true}' "http://hac/v1/jobs/$id/finish" >/dev/null
	[ "$(job_log "SELECT end_reason || ':' || billable FROM jobs WHERE id = '$id'")" = "finished:1" ]
	grep -q "ran another program since it was registered" "$T/agent.log"

	wait_for '[ "$(job_log "SELECT count(*) FROM outbox")" -eq 0 ]' 30
	[ "$(allocator_db "SELECT group_concat(billable) FROM usage WHERE end_reason = 'exec_failed'")" = "0,0" ]
	run hac-usage --jobs
	[ "$status" -eq 0 ]
	[ "$(grep -c 'exec_failed' <<<"$output")" -eq 2 ]
	[[ $output == *"2 jobs not billable, shown at no cost: their command never ran"* ]]
	run hac-usage --jobs --json
	[ "$(jq '[.jobs[] | select(.end_reason == "exec_failed" and .billable == false and .cost_micro == 0)] | length' <<<"$output")" -eq 2 ]
}
