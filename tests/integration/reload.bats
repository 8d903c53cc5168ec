#!/usr/bin/env bats
# hac-agent reloading its config (SIGHUP) while it serves requests that read the reloadable keys:
# hac-usage (admin_group), hac-smi (status), hac-run (jobs, the allocator link's timeouts and the
# outbox cap). Every request is answered and every reload applied. Run against a build made with
# -Db_sanitize=thread (HAC_BUILD=DIR), it can catch a key read without the config's lock: TSan then
# reports it in the agent's log and makes the agent exit 66, and the test checks both. Likely, not
# sure: a race shows only when a read falls right after a reload's write.

load ../lib/common

setup() { start_all; }

teardown() {
	[[ -z ${CLIENTS_PID:-} ]] || { touch "$BATS_TEST_TMPDIR/stop"; wait "$CLIENTS_PID" ${QUERIES_PIDS:-} 2>/dev/null || true; }
	stop_all
}

# Calls the agent in a loop until $BATS_TEST_TMPDIR/stop exists; each call that fails is a line of
# failures, each round a line of rounds.
clients() {
	local t=$BATS_TEST_TMPDIR
	while [[ ! -e $t/stop ]]; do
		hac-usage --json >/dev/null 2>>"$t/failures.err" || echo "hac-usage exited $?" >>"$t/failures"
		hac-smi --json >/dev/null 2>>"$t/failures.err" || echo "hac-smi exited $?" >>"$t/failures"
		hac-run -- true 2>>"$t/failures.err" || echo "hac-run exited $?" >>"$t/failures"
		echo >>"$t/rounds"
	done
}

# POST /v1/usage/query in a tight loop until $BATS_TEST_TMPDIR/stop exists: three of these make
# a read of admin_group likely in the moment after a reload wrote it.
queries() {
	local body='{"since":"2026-01-01T00:00:00.000Z","until":"2027-01-01T00:00:00.000Z","by":"sku"}'
	while [[ ! -e $BATS_TEST_TMPDIR/stop ]]; do
		curl -s --unix-socket "$HAC_SOCKET" -d "$body" http://hac/v1/usage/query >/dev/null
	done
}

reloads() { grep -c 'config reloaded from' "$BATS_TEST_TMPDIR/agent.log" || true; }

@test "SIGHUP while requests are served: each request answered, each reload applied, no data race" {
	local t=$BATS_TEST_TMPDIR i group
	clients 3>&- &
	CLIENTS_PID=$!
	QUERIES_PIDS=
	for i in 1 2 3; do
		queries 3>&- &
		QUERIES_PIDS+=" $!"
	done
	wait_for "[[ -s '$t/rounds' ]]" 30
	# Twenty reloads, each changing the keys the requests read, each waited for.
	for ((i = 1; i <= 20; i++)); do
		group=reload-group-$((i % 2))
		sed -i '/^admin_group = /d; /^heartbeat_seconds = /d' "$t/agent.toml"
		sed -i "1i admin_group = \"$group\"" "$t/agent.toml"
		sed -i "s|^\\[allocator\\]|&\\nheartbeat_seconds = $((10 + i))|" "$t/agent.toml"
		kill -HUP "$AGENT_PID"
		wait_for "[[ \$(grep -c 'config reloaded from' '$t/agent.log') -ge $i ]]" 30
	done
	rounds_during=$(wc -l <"$t/rounds")
	touch "$t/stop"
	wait "$CLIENTS_PID"
	# shellcheck disable=SC2086
	wait $QUERIES_PIDS
	CLIENTS_PID= QUERIES_PIDS=

	[ "$(reloads)" -eq 20 ]
	grep 'config reloaded from' "$t/agent.log" | tail -n 1 | grep -q "admin_group reload-group-0, .*heartbeat 30 s"
	[[ $rounds_during -ge 1 ]]
	[[ ! -s $t/failures ]] || { cat "$t/failures" "$t/failures.err"; false; }
	# Still serving, then a clean stop: an agent built with ThreadSanitizer exits 66 after a report.
	hac-smi --json | jq -e '.agent_version' >/dev/null
	kill -TERM "$AGENT_PID"
	rc=0
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	[[ $rc -eq 0 ]] || { echo "hac-agent exited $rc"; grep -A 30 'ThreadSanitizer' "$t/agent.log" | head -n 60; false; }
	run grep -c 'WARNING: ThreadSanitizer' "$t/agent.log"
	[ "$output" = 0 ]
}
