#!/usr/bin/env bats
# hac-agent's socket file and command line (issue 17): the file it bound is removed when it stops
# on SIGTERM, the one systemd passed is left to systemd; a bad option says "hac-agent:" first.

load ../lib/common

setup() {
	start_allocator
	write_agent_config
}

teardown() { stop_all; }

@test "SIGTERM: the agent removes the socket file it bound" {
	start_agent
	[ -S "$BATS_TEST_TMPDIR/agent.sock" ]
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	AGENT_PID=
	[ ! -e "$BATS_TEST_TMPDIR/agent.sock" ]
	grep -q stopped "$BATS_TEST_TMPDIR/agent.log"
}

@test "SIGTERM under socket activation: the socket file stays, it is systemd's" {
	activated=$BATS_TEST_TMPDIR/activated.sock
	python3 "$REPO/tests/lib/socket_activate.py" "$activated" \
		hac-agent --config "$BATS_TEST_TMPDIR/agent.toml" >>"$BATS_TEST_TMPDIR/agent.log" 2>&1 3>&- &
	AGENT_PID=$!
	wait_for "curl -sf --unix-socket '$activated' http://hac/v1/version" 10
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	AGENT_PID=
	[ -S "$activated" ]
}

@test "a bad option: 'hac-agent:' first, as the tools say it, and status 2" {
	run hac-agent --bogus
	[ "$status" -eq 2 ]
	[[ ${lines[0]} == "hac-agent: "*"--bogus"* ]]
	[[ $output == *"Run 'hac-agent --help'"* ]]
}
