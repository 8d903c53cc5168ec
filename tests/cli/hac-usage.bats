#!/usr/bin/env bats
# hac-usage's command line: bad input is a usage error (exit 2) before any request, an agent that
# is not there is exit 3, --help states the billing rule; the tool loads no network libraries.

load ../lib/common

setup() {
	export HAC_SOCKET=$BATS_TEST_TMPDIR/no-agent.sock
}

@test "--help states the billing rule, how jobs fall into periods, and the exit codes" {
	run hac-usage --help
	[ "$status" -eq 0 ]
	[[ $output == *"each started minute counted whole"* ]]
	[[ $output == *"counts wholly in the period it started in"* ]]
	[[ $output == *"running job counts up to now"* ]]
	[[ $output == *"1 --reconcile found differences"* ]]
	for option in --since --until --by --jobs --user --all-users --format --json --reconcile --socket; do
		[[ $output == *"$option"* ]]
	done
}

@test "a time that is not one is exit 2, naming the option and the forms it takes" {
	run hac-usage --since yesterday
	[ "$status" -eq 2 ]
	[[ $output == *"--since 'yesterday' is not a time: give a date (2026-11-01)"*"(30m, 24h, 7d, 2w)"* ]]
	run hac-usage --until 2026-02-30
	[ "$status" -eq 2 ]
	[[ $output == *"not a date of the calendar"* ]]
	run hac-usage --since 2026-11-05 --until 2026-11-01
	[ "$status" -eq 2 ]
	[[ $output == *"--since (2026-11-0"*") must be before --until"* ]]
	run hac-usage --since 7y
	[ "$status" -eq 2 ]
}

@test "options that do not go together are exit 2" {
	for args in "--by year" "--format xml" "--json --format csv" "--jobs --by day" "--reconcile --jobs" \
		"--user root --all-users" "--reconcile --by sku" "--bogus"; do
		run hac-usage $args
		[ "$status" -eq 2 ] || { echo "hac-usage $args: status $status: $output"; false; }
		[[ $output == *"Usage: hac-usage"* ]]
	done
}

@test "without an agent: exit 3 and how to start it" {
	run hac-usage
	[ "$status" -eq 3 ]
	[[ $output == *"hac-agent is not running"*"systemctl start hac-agent"* ]]
}

@test "hac-usage loads libc only: no libcurl, no libstdc++.so" {
	assert_loads_libc_only hac-usage
}
