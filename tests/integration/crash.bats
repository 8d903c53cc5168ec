#!/usr/bin/env bats
# The agent killed with -9 at random moments while jobs start, finish and are queried: nothing it
# acknowledged is lost, the job log stays intact, and open jobs are reconciled on each restart.

load ../lib/common

setup() { start_all; }
teardown() {
	touch "$BATS_TEST_TMPDIR/stop"
	[ -z "${STREAM_PIDS:-}" ] || wait $STREAM_PIDS 2>/dev/null || true
	stop_all
}

job_log() {
	sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"
}

# Runs short jobs one after another until $BATS_TEST_TMPDIR/stop exists. A job's start was
# acknowledged when its command ran (the command records $HAC_JOB_ID in `started`); its end was
# acknowledged when hac-run exits 0 without saying it could not report the end (`finished`).
job_stream() {
	local t=$BATS_TEST_TMPDIR id err
	while [ ! -e "$t/stop" ]; do
		err=$(hac-run -- sh -c 'echo "$HAC_JOB_ID" >>"$0/started"; sleep 0.0$((RANDOM % 10))' "$t" 2>&1 >/dev/null) || continue
		id=$(tail -n 1 "$t/started")
		[[ $err == *"could not report the end"* ]] || echo "$id" >>"$t/finished"
	done
}

query_stream() {
	while [ ! -e "$BATS_TEST_TMPDIR/stop" ]; do
		hac-smi --json >/dev/null 2>&1 || sleep 0.01
	done
}

@test "50 random kill -9s of the agent lose no acknowledged job; integrity_check stays ok" {
	: >"$BATS_TEST_TMPDIR/started"
	: >"$BATS_TEST_TMPDIR/finished"
	job_stream &
	STREAM_PIDS=$!
	query_stream &
	STREAM_PIDS+=" $!"
	for round in $(seq 50); do
		# Each agent acknowledges a job before its kill, which comes at a random moment after:
		# 50 rounds are 50 kills among running jobs, however slow the machine.
		acked=$(grep -c . "$BATS_TEST_TMPDIR/started" || true)
		wait_for "[ \$(grep -c . '$BATS_TEST_TMPDIR/started') -gt $acked ]" 30
		sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
		kill -9 "$AGENT_PID"
		wait "$AGENT_PID" 2>/dev/null || true
		AGENT_PID=
		[ "$(job_log 'PRAGMA integrity_check')" = ok ] || { echo "round $round: integrity_check failed"; false; }
		start_agent
	done
	touch "$BATS_TEST_TMPDIR/stop"
	wait $STREAM_PIDS
	STREAM_PIDS=

	started=$(sort -u "$BATS_TEST_TMPDIR/started" | grep -c .)
	finished=$(sort -u "$BATS_TEST_TMPDIR/finished" | grep -c .)
	echo "# $started jobs acknowledged, $finished ends acknowledged" >&3
	[ "$started" -ge 50 ]
	# Every acknowledged start is in the log; every acknowledged end is recorded as finished.
	while read -r id; do
		[ "$(job_log "SELECT count(*) FROM jobs WHERE id = '$id'")" = 1 ] || { echo "job $id lost"; false; }
	done < <(sort -u "$BATS_TEST_TMPDIR/started")
	while read -r id; do
		[ "$(job_log "SELECT state || ' ' || end_reason FROM jobs WHERE id = '$id'")" = "ended finished" ] ||
			{ echo "job $id: end acknowledged but not recorded"; false; }
	done < <(sort -u "$BATS_TEST_TMPDIR/finished")
	# Every process is gone: once the agent has looked, no job is open.
	wait_for "[ \"\$(sqlite3 '$BATS_TEST_TMPDIR/jobs.db' \"SELECT count(*) FROM jobs WHERE state != 'ended'\")\" = 0 ]" 5
	[ "$(job_log 'PRAGMA integrity_check')" = ok ]
	# What makes an acknowledged commit durable: the job log is in WAL mode (synchronous=FULL is
	# per connection; faults.bats shows each commit syncs: an EIO on fdatasync refuses a start).
	[ "$(job_log 'PRAGMA journal_mode')" = wal ]
	# And the allocator ends up with each ended job exactly once.
	ended=$(job_log "SELECT count(*) FROM jobs")
	wait_for "[ \"\$(curl -sf -H 'Authorization: Bearer $TEST_TOKEN' '$ALLOCATOR_URL/v1/usage' | jq '.records | length')\" = $ended ]" 30
	[ "$(curl -sf -H "Authorization: Bearer $TEST_TOKEN" "$ALLOCATOR_URL/v1/usage" | jq '[.records[].job_id] | unique | length')" = "$ended" ]
}
