#!/usr/bin/env bats
# Jobs from start to bill, with real processes: hac-run, the agent's job log, the allocator's records.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() { start_all; }
teardown() { stop_all; }

allocator_usage() {
	curl -sf -H "Authorization: Bearer $TEST_TOKEN" "$ALLOCATOR_URL/v1/usage"
}

job_log() {
	sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"
}

@test "hac-run runs the command as a job, exports its id and device, and exits with its code" {
	run hac-run --name unit -- sh -c 'echo "$HAC_JOB_ID $HAC_VISIBLE_DEVICE"; exit 3'
	[ "$status" -eq 3 ]
	read -r id device <<<"$output"
	[ "$device" = 0 ]
	[ "$(job_log "SELECT state, end_reason, exit_status, name, billable FROM jobs WHERE id = '$id'")" = "ended|finished|3|unit|1" ]
	wait_for "allocator_usage | jq -e '.records[] | select(.job_id == \"$id\")'" 5
}

@test "a job killed by a signal ends with 128+signal" {
	run hac-run -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	[ "$(job_log "SELECT exit_status FROM jobs")" = 143 ]
}

@test "a command that does not exist exits 127 and runs no GPU work" {
	run -127 hac-run -- /nonexistent/command
	[ "$status" -eq 127 ]
	[[ $output == *"cannot run '/nonexistent/command'"* ]]
}

@test "hac-smi shows the running job and its memory; the device is busy for --no-wait" {
	hac-run -- sleep 30 &
	EXTRA_PIDS+=($!)
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
	id=$(hac-smi --json | jq -r '.jobs[0].id')
	curl -sf --unix-socket "$HAC_SOCKET" -X POST "http://hac/v1/jobs/$id/memory" -d '{"memory_used_mib":2048}'
	run hac-smi
	[[ $output == *"sleep 30"* ]]
	[[ $output == *"2048 MiB"* ]]
	run hac-run --no-wait -- true
	[ "$status" -eq 6 ]
	[[ $output == *"device 0 is in use by job $id"* ]]
	curl -sf --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/devices/0/reset >/dev/null
	[ "$(job_log "SELECT end_reason FROM jobs WHERE id = '$id'")" = reset ]
	run curl -s --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/devices/0/reset
	[[ $output == *'"code":"not_running"'* ]]
	stop_extra_pids
}

@test "a second job waits for the device, says who holds it, then runs" {
	# The holder runs until the second job has said it waits, however slowly either goes.
	hac-run -- sh -c 'while [ ! -e "$0" ]; do sleep 0.05; done' "$BATS_TEST_TMPDIR/go" &
	holder=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 10
	hac-run -- true >"$BATS_TEST_TMPDIR/second.out" 2>&1 &
	second=$!
	wait_for "grep -q 'is in use by job.*waiting: the job starts by itself' '$BATS_TEST_TMPDIR/second.out'" 30
	touch "$BATS_TEST_TMPDIR/go"
	wait "$holder"
	wait "$second"
	[ "$(job_log "SELECT count(*) FROM jobs WHERE end_reason = 'finished'")" = 2 ]
}

@test "a job whose process is killed with -9 is ended and its GPUs released within a second" {
	sleep 60 &
	pid=$!
	curl -sf --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/jobs -d "{\"pid\":$pid}" >/dev/null
	kill -9 "$pid"
	wait_for "[ \"\$(sqlite3 '$BATS_TEST_TMPDIR/jobs.db' \"SELECT end_reason FROM jobs\")\" = process_died ]" 1
	wait_for "allocator_usage | jq -e '.records[0].end_reason == \"process_died\"'" 2
}

@test "a pid the caller does not own, or that is not its child, is refused" {
	# root may register any process: the rule is checked as a plain user (nobody, when run as root).
	plain() { if [ "$(id -u)" -eq 0 ]; then as_nobody "$@"; else "$@"; fi; }
	register() { plain curl -s --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/jobs -d "{\"pid\":$1}"; }
	run register 1
	[[ $output == *'"code":"not_your_process"'* ]]
	# The caller's own user, but started by another process than the caller.
	pidfile=$BATS_TEST_TMPDIR/other.pid
	install -m 0666 /dev/null "$pidfile"
	plain sh -c 'echo $$ >"$1"; exec sleep 30' sh "$pidfile" 3>&- &
	wait_for "[ -s '$pidfile' ]" 10
	other=$(cat "$pidfile")
	[ "$(stat -c %u "/proc/$other")" = "$(plain id -u)" ]
	run register "$other"
	kill "$other"
	[[ $output == *'"code":"not_your_process"'* ]]
	# The control: the caller's own process is accepted, so the refusals above are the rule's.
	run plain sh -c 'exec curl -s --unix-socket "$1" -X POST http://hac/v1/jobs -d "{\"pid\":$$}"' sh "$HAC_SOCKET"
	[[ $output == *'"job"'* ]]
	[ "$(job_log 'SELECT count(*) FROM jobs')" = 1 ]
}

@test "hac-smi -r releases the job on the device, says so as moreh-smi does, and fails when none runs" {
	hac-run -- sleep 30 &
	EXTRA_PIDS+=($!)
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
	id=$(hac-smi --json | jq -r '.jobs[0].id')
	run hac-smi -r
	[ "$status" -eq 0 ]
	[ "$output" = "Device release success." ]
	[ "$(job_log "SELECT end_reason, billable FROM jobs WHERE id = '$id'")" = "reset|1" ]
	wait_for "allocator_usage | jq -e '.records[] | select(.job_id == \"$id\" and .end_reason == \"reset\")'" 5
	run hac-smi --reset
	[ "$status" -eq 7 ]
	[ "$output" = "hac-smi: Device release failed. (Not running job.)" ]
	run hac-smi -r -i 3
	[ "$status" -eq 7 ]
	[[ $output == *"no device 3"* ]]
	run hac-smi -r --loop 1
	[ "$status" -eq 2 ]
	stop_extra_pids
}

@test "hac-smi -r on another user's job needs root or hac-admin: exit 5, the job runs on" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to start a job another user cannot reset"
	hac-run -- sleep 30 &
	EXTRA_PIDS+=($!)
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
	run as_nobody hac-smi -r
	[ "$status" -eq 5 ]
	[[ $output == *"Device release failed."*"hac-admin"* ]]
	[ "$(hac-smi --json | jq '.jobs | length')" = 1 ]
	stop_extra_pids
}

@test "killing the agent with -9 while a job runs: on restart the live job is kept, a gone one reconstructed" {
	sleep 60 &
	live=$!
	curl -sf --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/jobs -d "{\"pid\":$live}" >/dev/null
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	start_agent
	run hac-smi --json
	[ "$(jq -r '.jobs[0].pid' <<<"$output")" = "$live" ]
	kill -9 "$live"
	# A job whose process died while the agent was down is closed at its last heartbeat.
	sleep 60 &
	pid=$!
	curl -sf --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/jobs -d "{\"pid\":$pid,\"wait\":true}" >/dev/null
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
	kill -9 "$pid"
	start_agent
	[ "$(job_log "SELECT end_reason, reconstructed FROM jobs WHERE pid = $pid")" = "process_died|1" ]
	[ "$(job_log 'PRAGMA integrity_check')" = ok ]
}

@test "starting a job with the allocator down fails with exit 4 and runs nothing" {
	stop_allocator
	run hac-run -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 4 ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "usage records made while the allocator is down are delivered when it returns, none twice" {
	for i in 1 2; do
		hac-run -- sleep 1 &
		wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
		stop_allocator
		wait_for "hac-smi --json | jq -e '.jobs | length == 0'" 5
		[ "$(job_log 'SELECT count(*) FROM outbox')" -ge 1 ]
		start_allocator
	done

	wait_for "[ \"\$(sqlite3 '$BATS_TEST_TMPDIR/jobs.db' 'SELECT count(*) FROM outbox')\" = 0 ]" 10
	local=$(job_log "SELECT id FROM jobs WHERE billable = 1 ORDER BY id")
	remote=$(allocator_usage | jq -r '.records[] | select(.billable) | .job_id' | sort)
	[ "$local" = "$remote" ]
	[ "$(allocator_usage | jq '[.records[].job_id] | length == (unique | length)')" = true ]
}
