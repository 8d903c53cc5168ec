#!/usr/bin/env bats
# hac-smi against a real hac-allocator and hac-agent: the table, --json, --query, exit codes, loops
# and reads while the allocator is down.

load ../lib/common
bats_require_minimum_version 1.5.0

setup() {
	start_all
}

teardown() {
	stop_all
}

@test "the table shows the device, its model and total memory, and the current device" {
	run hac-smi
	[ "$status" -eq 0 ]
	# The timestamp line, like "Mon Nov 23 17:30:00 2026".
	[[ ${lines[0]} =~ ^[A-Z][a-z]{2}\ [A-Z][a-z]{2}\ [\ 0-9][0-9]\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ [0-9]{4}$ ]]
	[[ $output == *"Client Version: "*"Server Version: "* ]]
	for column in Device Name Model "Memory Usage" "Total Memory"; do
		[[ $output == *"$column"* ]]
	done
	row=$(grep -F 'Large.64GB' <<<"$output")
	[[ $row =~ ^\|\ \*\ 0\  ]]
	[[ $row == *"65536 MiB"* ]]
	[[ $output == *"Processes:"* ]]
	[[ $output != *unreachable* ]]
}

@test "every line of the table is as wide as the others" {
	run hac-smi
	[ "$status" -eq 0 ]
	table=$(grep -E '^[+|]' <<<"$output")
	# A whole table (borders, headers, the device's row), not an empty one.
	[ "$(wc -l <<<"$table")" -ge 6 ]
	grep -q 'Large.64GB' <<<"$table"
	# The header box and the device table; then the Processes table, on its own.
	widths=$(sed -n '/^Processes:/q; p' <<<"$output" | grep -E '^[+|]' | awk '{ print length($0) }' | sort -u)
	[ "$(wc -l <<<"$widths")" -eq 1 ]
	widths=$(sed -n '/^Processes:/,$p' <<<"$output" | grep -E '^[+|]' | awk '{ print length($0) }' | sort -u)
	[ "$(wc -l <<<"$widths")" -eq 1 ]
}

@test "--json carries schema_version and typed fields" {
	run hac-smi --json
	[ "$status" -eq 0 ]
	jq -e '.schema_version == 1' <<<"$output"
	jq -e '.devices[0].sku == "Large.64GB"' <<<"$output"
	jq -e '.devices[0].index == 0 and .devices[0].current == true' <<<"$output"
	jq -e '(.devices[0].memory_total_mib | type) == "number" and .devices[0].memory_total_mib == 65536' <<<"$output"
	jq -e '(.devices[0].gpus | type) == "number"' <<<"$output"
	jq -e '(.jobs | type) == "array" and (.allocator.reachable | type) == "boolean"' <<<"$output"
	jq -e '(.agent_version | type) == "string" and (.client_version | type) == "string"' <<<"$output"
	jq -e '.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' <<<"$output"
}

@test "--query prints nvidia-smi style CSV" {
	run hac-smi --query index,sku,memory.total --format csv,noheader,nounits
	[ "$status" -eq 0 ]
	[ "$output" = "0, Large.64GB, 65536" ]

	run hac-smi --query index,sku,memory.total,current --format csv
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "index, sku, memory.total [MiB], current" ]
	[ "${lines[1]}" = "0, Large.64GB, 65536 MiB, Yes" ]
}

@test "--query shows [N/A] for memory.used while no job runs" {
	run hac-smi --query memory.used,utilization --format csv,noheader
	[ "$status" -eq 0 ]
	[ "$output" = "[N/A], [N/A]" ]
}

@test "--query with an unknown field exits 2 naming it and the valid ones" {
	run hac-smi --query index,bogus.field
	[ "$status" -eq 2 ]
	[[ $output == *"bogus.field"* ]]
	[[ $output == *"memory.total"* ]]
}

@test "--help-query lists the fields" {
	run hac-smi --help-query
	[ "$status" -eq 0 ]
	[[ $output == *"memory.total [MiB]"* ]]
	[[ $output == *"[N/A]"* ]]
}

@test "-p --help-query lists -p's own fields; a device field or a clashing option is a usage error" {
	run hac-smi -p --help-query
	[ "$status" -eq 0 ]
	for field in device job_id location node index uuid name utilization.gpu "utilization.memory [%]" \
		"memory.used [MiB]" memory.total temperature.gpu "power.draw [W]" sampled_at source; do
		[[ $output == *"  $field "* ]]
	done
	[[ $output != *"  sku "* ]]
	run hac-smi -p --query location,sku
	[ "$status" -eq 2 ]
	[[ $output == *"unknown --query field 'sku'"*"valid fields: timestamp, device, job_id, location"* ]]
	for clash in -s -t -r; do
		run hac-smi -p "$clash"
		[ "$status" -eq 2 ]
	done
	run hac-smi -p --json --query device
	[ "$status" -eq 2 ]
}

@test "-i selects one device; an unknown index exits 7" {
	run hac-smi -i 0 --query index --format csv,noheader
	[ "$status" -eq 0 ]
	[ "$output" = "0" ]

	run hac-smi -i 9
	[ "$status" -eq 7 ]
	[[ $output == "hac-smi: "*"no device 9"* ]]
}

@test "a bad option exits 2 with the usage line on stderr" {
	run --separate-stderr hac-smi --bogus
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ $stderr == "hac-smi: "*"--bogus"* ]]
	[[ $stderr == *"Usage: hac-smi"* ]]
}

@test "-s shows the versions of hac-smi, the agent and the allocator" {
	run hac-smi -s
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^hac-smi\ +[0-9] ]]
	[[ ${lines[1]} =~ ^hac-agent\ +[0-9] ]]
	[[ ${lines[2]} =~ ^allocator\ +[0-9] ]]
}

@test "-t shows the token's fingerprint and never the token" {
	run hac-smi -t
	[ "$status" -eq 0 ]
	[[ $output == *"SHA256:"* ]]
	[[ $output != *"$TEST_TOKEN"* ]]

	run hac-smi -t --json
	[ "$status" -eq 0 ]
	jq -e '.schema_version == 1 and (.fingerprint | startswith("SHA256:"))' <<<"$output"
	[[ $output != *"$TEST_TOKEN"* ]]
}

@test "--loop with --count and --json prints one JSON object per line" {
	run hac-smi --loop 0.2 --count 3 --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	for line in "${lines[@]}"; do
		jq -e '.schema_version == 1 and .devices[0].sku == "Large.64GB"' <<<"$line"
	done
}

@test "--loop ends with status 0 on SIGINT and SIGTERM" {
	local out=$BATS_TEST_TMPDIR/loop.out pidfile=$BATS_TEST_TMPDIR/loop.pid rcfile=$BATS_TEST_TMPDIR/loop.rc
	for signal in INT TERM; do
		rm -f "$out" "$pidfile" "$rcfile"
		# The status goes through a file: bash's own `wait` loses track of the child under bats.
		(
			bash -c 'echo $$ >"$1"; exec hac-smi --loop 0.2 --json' _ "$pidfile" >"$out" 2>&1
			echo $? >"$rcfile"
		) &
		wait_for "[[ -s '$out' ]]" 3
		kill -s "$signal" "$(cat "$pidfile")"
		wait_for "[[ -s '$rcfile' ]]" 3
		[ "$(cat "$rcfile")" -eq 0 ]
		while read -r line; do jq -e .schema_version <<<"$line"; done <"$out"
	done
}

@test "with the allocator stopped, hac-smi still shows the table and says so" {
	# The agent notices at its next heartbeat (30 s by default): restart it with a 1 s one.
	# [allocator] is the last table of the agent.toml common.bash writes.
	stop_agent
	echo "heartbeat_seconds = 1" >>"$BATS_TEST_TMPDIR/agent.toml"
	start_agent
	stop_allocator
	wait_for "hac-smi | grep -q unreachable" 10
	run hac-smi
	[ "$status" -eq 0 ]
	[[ $output == *"Large.64GB"*"65536 MiB"* ]]
	[[ $output == *"allocator unreachable"*": showing the last known state"* ]]
	run hac-smi --json
	[ "$status" -eq 0 ]
	jq -e '.allocator.reachable == false and .devices[0].sku == "Large.64GB"' <<<"$output"
}

# These need no agent: they stop the one setup() started, so nothing answers.

@test "no agent: exit 3, not a hang, with a message saying how to start it" {
	stop_agent
	stop_allocator
	export HAC_SOCKET=$BATS_TEST_TMPDIR/missing.sock
	# timeout(1) only tells a hang (exit 124) from an answer; how fast is tests/bench's business.
	start=$(date +%s%N)
	run timeout 30 hac-smi
	echo "# answered in $((($(date +%s%N) - start) / 1000000)) ms" >&3
	[ "$status" -eq 3 ]
	[[ $output == "hac-smi: "*"hac-agent"* ]]
	[[ $output == *"start it with"* ]]

	run hac-smi --json --socket "$BATS_TEST_TMPDIR/also-missing.sock"
	[ "$status" -eq 3 ]
	[[ $output == *"also-missing.sock"* ]]
}

@test "-v and --help work with no agent" {
	stop_agent
	stop_allocator
	export HAC_SOCKET=$BATS_TEST_TMPDIR/missing.sock
	run hac-smi -v
	[ "$status" -eq 0 ]
	[[ $output =~ ^hac-smi\ [0-9]+\.[0-9]+ ]]
	run hac-smi --help
	[ "$status" -eq 0 ]
	[[ $output == *"Usage: hac-smi"* ]]
	[[ $output == *"--query"* ]]
}

@test "hac-smi loads libc and libm only: no libcurl, spdlog, toml++, libfmt or libstdc++" {
	assert_loads_libc_only hac-smi
}
