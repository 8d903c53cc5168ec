#!/usr/bin/env bats
# The --json promise on failure (issue 17): every tool prints a JSON error object on stdout with
# the documented exit status; and numbers on the command line are refused in words a person reads.

bats_require_minimum_version 1.5.0
load ../lib/common

teardown() {
	[[ -z ${JOB_PID:-} ]] || kill "$JOB_PID" 2>/dev/null || true
	stop_all
}

# assert_json_error CODE STATUS: $output (stdout only) is one error document for exit STATUS.
assert_json_error() {
	jq -e --arg code "$1" --argjson status "$2" \
		'.schema_version == 1 and .error.code == $code and .error.exit_status == $status
		 and (.error.message | type == "string" and length > 0)' <<<"$output"
}

@test "--json with no agent: exit 3 and an agent_unreachable object on stdout, from every tool" {
	export HAC_SOCKET=$BATS_TEST_TMPDIR/no-agent.sock
	run --separate-stderr hac-smi --json
	[ "$status" -eq 3 ]
	assert_json_error agent_unreachable 3
	[[ $stderr == "hac-smi: "* ]]
	run --separate-stderr hac-resize --json 2xlarge
	[ "$status" -eq 3 ]
	assert_json_error agent_unreachable 3
	run --separate-stderr hac-usage --json
	[ "$status" -eq 3 ]
	assert_json_error agent_unreachable 3
	run --separate-stderr hac-usage --format json
	[ "$status" -eq 3 ]
	assert_json_error agent_unreachable 3
	run --separate-stderr hac-smi device list --json
	[ "$status" -eq 3 ]
	assert_json_error agent_unreachable 3
	# Without --json stdout stays empty.
	run --separate-stderr hac-smi
	[ "$status" -eq 3 ]
	[ -z "$output" ]
}

@test "--json: a usage error, a job to release that is not there, and a busy device" {
	start_all
	run --separate-stderr hac-smi --json --bogus
	[ "$status" -eq 2 ]
	assert_json_error usage 2
	run --separate-stderr hac-smi -r --json
	[ "$status" -eq 7 ]
	assert_json_error not_found 7
	[[ $(jq -r .error.message <<<"$output") == *"Not running job"* ]]
	hac-run -- sleep 30 &
	JOB_PID=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 10
	run --separate-stderr hac-resize --json 2xlarge
	[ "$status" -eq 6 ]
	assert_json_error conflict 6
	run --separate-stderr hac-usage --json --since yesterday-ish
	[ "$status" -eq 2 ]
	assert_json_error usage 2
}

@test "hac-update --json: a failure before any document is one error object" {
	run --separate-stderr hac-update --json --check --target not-a-version
	[ "$status" -eq 2 ]
	assert_json_error usage 2
	[ "$(jq -s length <<<"$output")" = 1 ]
}

@test "negative and non-numeric values are refused in words, without CLI11's 300-digit bounds" {
	for cmd in "hac-smi -i -1" "hac-resize -d -1 small" "hac-run -d -1 -- true"; do
		run $cmd
		[ "$status" -eq 2 ]
		[[ $output == *"'-1' is not a device index: give a whole number"* ]]
		[[ $output != *1797693134862315708145* ]]
	done
	run hac-resize --wait=abc small
	[ "$status" -eq 2 ]
	[[ $output == *"'abc' is not a number of seconds"* ]]
	[[ $output != *"not in range"* ]]
	run hac-smi -l 0
	[ "$status" -eq 2 ]
	[[ $output == *"0 seconds is out of range: give 0.1 to 86400 seconds"* ]]
	[[ $output != *0.100000* ]]
	run hac-smi -l 1 --count 0
	[ "$status" -eq 2 ]
	[[ $output == *"'0' is not a number of rounds"* ]]
}

@test "--query with an empty field list is a usage error" {
	run hac-smi --query ""
	[ "$status" -eq 2 ]
	[[ $output == *"--query"*"empty"*"at least one field"* ]]
}
