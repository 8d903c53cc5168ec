#!/usr/bin/env bats
# scripts/demo, the README's first command, stays true: it runs against this build and leaves
# nothing behind.

load ../lib/common

@test "scripts/demo shows the devices, a job in the Processes table, its bill and the sizes, then stops cleanly" {
	export TMPDIR=$BATS_TEST_TMPDIR
	run env HAC_BUILD="$BUILD" "$REPO/scripts/demo"
	[ "$status" -eq 0 ]
	[[ $output == *"HAC Virtual Accelerator"* ]]
	[[ $output == *"sh -c sleep 2"* ]]
	[[ $output == *"hac-usage --jobs"*"finished"*"Total: 1 job, 4 GPU-minutes billed"* ]]
	[[ $output == *"2xLarge.192GB"* ]]
	[[ $output == *"stopping hac-agent and hac-allocator"* ]]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep hac-demo)" ]
}
