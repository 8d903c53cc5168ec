#!/usr/bin/env bats
# hac-agent's command line: help and version, and the exit code of a bad one.

load ../lib/common

@test "hac-agent --help and --version exit 0; a bad option or value exits 2 and says what was wrong" {
	run hac-agent --help
	[ "$status" -eq 0 ]
	[[ $output == *"--config"* ]]
	run hac-agent --version
	[ "$status" -eq 0 ]
	[[ $output == "hac-agent "* ]]
	run hac-agent --bogus
	[ "$status" -eq 2 ]
	[[ $output == *"--bogus"* ]]
	run hac-agent --log-level loud
	[ "$status" -eq 2 ]
	[[ $output == *"loud"* ]]
}

@test "hac-agent with a config file that does not exist exits 1 naming the file" {
	run hac-agent --config "$BATS_TEST_TMPDIR/missing.toml"
	[ "$status" -eq 1 ]
	[[ $output == *"$BATS_TEST_TMPDIR/missing.toml"* ]]
}
