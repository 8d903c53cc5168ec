#!/usr/bin/env bats
# Jobs waiting for a busy device (issue 17): hac-smi shows them (who, since when, their place in
# line) in the table and in --json, and the device goes to them in the order they came.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() { start_all; }

teardown() {
	local pid
	for pid in ${PIDS:-}; do kill "$pid" 2>/dev/null || true; done
	stop_all
}

job_log() { sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"; }

@test "waiting jobs are listed with their user, since when and place in line, and run in that order" {
	mkfifo "$BATS_TEST_TMPDIR/release"
	hac-run --name holder -- sh -c "cat '$BATS_TEST_TMPDIR/release' >/dev/null" 2>/dev/null &
	PIDS=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 10
	hac-run --name second -- true 2>/dev/null &
	PIDS+=" $!"
	wait_for "hac-smi --json | jq -e '[.jobs[] | select(.state == \"waiting\")] | length == 1'" 10
	hac-run --name third -- true 2>/dev/null &
	PIDS+=" $!"
	wait_for "hac-smi --json | jq -e '[.jobs[] | select(.state == \"waiting\")] | length == 2'" 10

	run hac-smi --json
	[ "$status" -eq 0 ]
	jq -e --arg user "$(id -un)" '[.jobs[] | select(.state == "waiting")] as $w
		| $w[0].name == "second" and $w[0].queue_position == 1
		and $w[1].name == "third" and $w[1].queue_position == 2
		and all($w[]; .id == "" and .user == $user and .device == 0 and (.started_at | test("Z$")))' <<<"$output"
	jq -e '.jobs[] | select(.state == "running") | has("queue_position") | not' <<<"$output"
	run hac-smi
	grep -E '^\| +0 \| queue #1 \|.*\| second: true +\|$' <<<"$output"
	grep -E '^\| +0 \| queue #2 \|.*\| third: true +\|$' <<<"$output"

	echo done >"$BATS_TEST_TMPDIR/release"
	wait_for "[ \"\$(sqlite3 '$BATS_TEST_TMPDIR/jobs.db' \"SELECT count(*) FROM jobs WHERE state = 'ended'\")\" = 3 ]" 20
	order=$(job_log "SELECT group_concat(name, ' ') FROM (SELECT name FROM jobs ORDER BY started_at)")
	echo "order: $order"
	[ "$order" = "holder second third" ]
	hac-smi --json | jq -e '.jobs | length == 0'
}
