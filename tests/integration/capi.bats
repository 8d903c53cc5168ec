#!/usr/bin/env bats
# The C API (hac.h, libhac.so.1) from a C program and from Python through ctypes, against a real agent.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() { start_all; }
teardown() { [ -z "${HELD_FD:-}" ] || exec {HELD_FD}>&-; stop_all; }

job_log() {
	sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"
}

# Starts "$@" with its stdin on a pipe held open as fd $HELD_FD (bats owns fd 3), and waits for its first line of output
# (the job id and device); the program ends its job when a line arrives.
start_held() {
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$@" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	HELD_PID=$!
	exec {HELD_FD}>"$BATS_TEST_TMPDIR/in"
	wait_for "[ -s '$BATS_TEST_TMPDIR/out' ]" 5
	read -r JOB_ID JOB_DEVICE <"$BATS_TEST_TMPDIR/out"
}

release_held() {
	echo >&"$HELD_FD"
	exec {HELD_FD}>&-
	HELD_FD=
	wait "$HELD_PID"
}

check_lifecycle() {
	[ "$JOB_DEVICE" = 0 ]
	run hac-smi --json
	[ "$(jq -r '.jobs[0].id' <<<"$output")" = "$JOB_ID" ]
	[ "$(jq -r '.jobs[0].name' <<<"$output")" = "$1" ]
	[ "$(jq -r '.devices[0].memory_used_mib' <<<"$output")" = 3072 ]
	release_held
	[ "$(job_log "SELECT state, end_reason, exit_status, name, memory_used_mib FROM jobs WHERE id = '$JOB_ID'")" = "ended|finished|5|$1|3072" ]
	[ "$(hac-smi --json | jq '.jobs | length')" = 0 ]
}

@test "a C program begins a job, reports its memory and ends it through hac.h" {
	start_held "$BUILD/tests/capi/capi-job" c-plugin 3072 5
	check_lifecycle c-plugin
}

@test "Python loads libhac.so.1 with ctypes and does the same" {
	command -v python3 >/dev/null || skip "python3 is missing"
	start_held python3 "$REPO/tests/capi/job.py" "$BUILD/libhac/libhac.so.1" py-plugin 3072 5
	check_lifecycle py-plugin
}

@test "the C API says why it fails: a busy device with HAC_NO_WAIT, no agent" {
	hac-run -- sleep 30 &
	EXTRA_PIDS+=($!)
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
	run "$BUILD/tests/capi/capi-job" second 1 0 no-wait
	[ "$status" -eq 6 ]
	[[ $output == "hac_job_begin 6 conflict: the device is in use: device 0 is in use by job"* ]]
	stop_extra_pids

	stop_agent
	run "$BUILD/tests/capi/capi-job" none 1 0
	[ "$status" -eq 3 ]
	[[ $output == "hac_job_begin 3 hac-agent unreachable: "*"start it with"* ]]
}

@test "a program that exits without ending its job has it ended by the agent" {
	start_held "$BUILD/tests/capi/capi-job" dies 1 0
	kill -9 "$HELD_PID"
	wait_for "[ \"\$(sqlite3 '$BATS_TEST_TMPDIR/jobs.db' \"SELECT end_reason FROM jobs WHERE id = '$JOB_ID'\")\" = process_died ]" 2
}

@test "libhac.so.1 exports only hac_* and loads nothing beyond libc" {
	run nm -D --defined-only "$BUILD/libhac/libhac.so.1"
	[ "$status" -eq 0 ]
	[[ $output == *"hac_job_begin@@HAC_1"* ]]
	[ -z "$(grep -vE ' (hac_[a-z_]+@@HAC_1(\.1)?|HAC_1(\.1)?)$' <<<"$output")" ]
	run ldd "$BUILD/libhac/libhac.so.1"
	[ -z "$(grep -vE 'linux-vdso|libc\.so|libm\.so|ld-linux' <<<"$output")" ]
}
