#!/usr/bin/env bats
# scripts/demo, the README's first command, stays true: it runs against this build and leaves
# nothing behind.

load ../lib/common

@test "scripts/demo shows the devices, a job in the Processes table, its bill and the sizes, then stops cleanly" {
	export TMPDIR=$BATS_TEST_TMPDIR
	run env HAC_BUILD="$BUILD" "$REPO/scripts/demo"
	[ "$status" -eq 0 ]
	[[ $output == *"HAC Virtual Accelerator"* ]]
	[[ $output == *"sh -c sleep 3"* ]]
	# The job's physical GPUs, on the simulated farm's nodes, with its made-up figures.
	[[ $output == *'$ hac-smi -p'*Location*"node-0"*"simulated"* ]]
	[[ $output == *"hac-usage --jobs"*"finished"*"Total: 1 job, 4 GPU-minutes billed"* ]]
	[[ $output == *"2xLarge.192GB"* ]]
	[[ $output == *"stopping hac-agent and hac-allocator"* ]]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep hac-demo)" ]
}

@test "scripts/demo --slurm runs the job on a real Slurm farm: squeue shows it, reconcile agrees, nothing is left running" {
	((EUID == 0)) || skip "the Slurm farm needs root"
	command -v slurmctld >/dev/null || skip "Slurm is not installed (scripts/lib.sh's HAC_SLURM_PACKAGES)"
	export TMPDIR=$BATS_TEST_TMPDIR
	run env HAC_BUILD="$BUILD" "$REPO/scripts/demo" --slurm
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *'$ hac-smi -p'*Location*" f0"*"squeue -o"*"RUNNING 1 gres:hacgpu:4 f0"* ]]
	[[ $output == *"Total: 1 job, 4 GPU-minutes billed"* ]]
	[[ $output == *"1 Slurm-held job(s) compared with"*"they agree."* ]]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep hac-demo)" ]
	# Every daemon of its farm was stopped: none still has its folder in its command line.
	[ -z "$(pgrep -af "$BATS_TEST_TMPDIR/hac-demo" || true)" ]
}
