#!/usr/bin/env bats
# What a moreh-smi or nvidia-smi user expects of hac-smi and hac-resize (issue 17): moreh's own
# device verbs, the header box, the Processes table with and without jobs, a device menu numbered
# by device index, "did you mean" for names, how long ago the allocator answered, and device
# changes with the allocator down.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() { start_all; }

teardown() {
	local pid
	for pid in ${JOB_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
	stop_all
}

@test "moreh-smi's forms: device --add SIZE, --switch N, --rm N act as add, switch and rm" {
	run hac-smi device --add small
	[ "$status" -eq 0 ]
	[ "$output" = "Device 1 added: Small.16GB (1 GPU, 16 GB)." ]
	run hac-smi device --switch 1
	[ "$status" -eq 0 ]
	[ "$output" = "Current device: 1, Small.16GB (1 GPU, 16 GB)." ]
	[ "$(hac-smi --json | jq -r '.devices[] | select(.current) | .index')" = 1 ]
	run hac-smi device --rm 1 --json
	[ "$status" -eq 0 ]
	jq -e '.device.index == 1' <<<"$output"
	[ "$(hac-smi --json | jq '.devices | length')" = 1 ]
	run hac-smi device --add small --rm 0
	[ "$status" -eq 2 ]
}

@test "a wrong or missing device verb is a usage error naming the verbs and the nearest one" {
	run hac-smi device bogus
	[ "$status" -eq 2 ]
	[[ $output == *"'hac-smi device bogus': no such verb"*"list, add [SIZE], rm [N] and switch [N]"*"--add SIZE"* ]]
	[[ $output != *"A subcommand is required"* ]]
	run hac-smi device swich 1
	[ "$status" -eq 2 ]
	[[ $output == *"did you mean 'switch'?"* ]]
	run hac-smi device
	[ "$status" -eq 2 ]
	[[ $output == *"needs a verb"*"list, add [SIZE], rm [N] and switch [N]"* ]]
	[ "$(hac-smi --json | jq '.devices | length')" = 1 ]
}

@test "the header box names the tool and its version, the client's and the server's" {
	run hac-smi
	[ "$status" -eq 0 ]
	version=$(hac-smi --version | awk '{ print $2 }')
	header=$(sed -n 3p <<<"$output")
	[[ $header =~ ^\|\ hac-smi\ $version\ +Client\ Version:\ $version\ +Server\ Version:\ $version\ \|$ ]]
	# The box is as wide as the device table under it.
	widths=$(sed -n '/^Processes:/q; p' <<<"$output" | grep -E '^[+|]' | awk '{ print length($0) }' | sort -u)
	[ "$(wc -l <<<"$widths")" -eq 1 ]
}

@test "with no job the Processes table keeps its header and has no rows, as moreh-smi's" {
	run hac-smi
	[ "$status" -eq 0 ]
	[[ $output != *"No jobs are running"* ]]
	processes=$(sed -n '/^Processes:/,$p' <<<"$output")
	[ "$(wc -l <<<"$processes")" -eq 4 ]
	[[ $(sed -n 3p <<<"$processes") =~ ^\|\ Device\ \|\ Job\ ID\ \|\ User\ +\|\ PID\ \|\ Elapsed\ \|\ Memory\ Usage\ \|\ Process\ +\|$ ]]
}

@test "a job's row shows user, elapsed time and name within 100 columns; job and device memory agree" {
	hac-run --name "a-rather-long-job-name-for-the-table" -- sh -c 'sleep 30' "$(printf 'x%.0s' {1..80})" &
	JOB_PIDS=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 10
	run hac-smi
	[ "$status" -eq 0 ]
	row=$(grep -F "$(hac-smi --json | jq -r '.jobs[0].id[:8]')" <<<"$output")
	[[ $row == *"| $(id -un | cut -c1-5)"* ]]
	[[ $row =~ \|\ +[0-9]{2}:[0-9]{2}\ \| ]]
	[[ $row == *"a-rather-long-job-name"* ]]
	[[ $row =~ \|\ +0\ MiB\ \| ]]
	awk -v max=100 'length($0) > max { print "too wide: " $0; bad = 1 } END { exit bad }' <<<"$output"
	# The device row and the job row say the same, and so does --json.
	grep -E '^\| \* 0 .*\| +0 MiB \|' <<<"$output"
	hac-smi --json | jq -e '.jobs[0].memory_used_mib == 0 and .devices[0].memory_used_mib == 0'
	# The whole name and command are in --json.
	hac-smi --json | jq -e '.jobs[0].name == "a-rather-long-job-name-for-the-table"'
}

@test "the Utilization column says 'no job' while no job runs on the device" {
	run hac-smi
	[ "$status" -eq 0 ]
	[[ $(grep -F '| Device' <<<"$output" | head -n 1) == *"| Utilization |" ]]
	grep -E '^\| \* 0 .*\| +no job \|$' <<<"$output"
	hac-smi --json | jq -e '.devices[0].utilization_pct == null'
}

@test "the device menu is numbered by device index: typing 1 chooses device 1" {
	command -v script >/dev/null || skip "script (bsdutils) is missing"
	hac-smi device add small
	run bash -c "printf '7\n1\n' | script -qec 'hac-smi device switch' /dev/null"
	[ "$status" -eq 0 ]
	[[ $output == *"Device (0, 1, q, Q):"* ]]
	[[ $output == *"'7' is not a device of this VM"* ]]
	[[ $output == *"Current device: 1, Small.16GB"* ]]
	[ "$(hac-smi --json | jq -r '.devices[] | select(.current) | .index')" = 1 ]
}

@test "a mistyped size or --query field gets the nearest name" {
	run hac-resize Small.64GB
	[ "$status" -eq 7 ]
	[[ $output == *"no size 'Small.64GB' (did you mean 'Small.16GB'?)"* ]]
	run hac-resize 2xlrage
	[ "$status" -eq 7 ]
	[[ $output == *"(did you mean '2xLarge.192GB'?)"* ]]
	run hac-smi device add smal
	[ "$status" -eq 7 ]
	[[ $output == *"(did you mean 'Small.16GB'?)"* ]]
	run hac-smi --query index,memory.totl
	[ "$status" -eq 2 ]
	[[ $output == *"unknown --query field 'memory.totl' (did you mean 'memory.total'?)"* ]]
	# A wild guess gets the list, not a wrong hint.
	run hac-resize banana
	[ "$status" -eq 7 ]
	[[ $output != *"did you mean"* ]]
	[[ $output == *"the sizes are: Small.16GB"* ]]
}

@test "hac-smi says how long ago the allocator last answered, before and after the agent notices it is gone" {
	run hac-smi
	[[ $output == *"Allocator: last answered "*" ago."* ]]
	stop_allocator
	# The agent has not noticed yet: the age is what lets a user judge.
	run hac-smi
	[[ $output == *"last answered "*" ago"* ]]
	run timeout 20 hac-resize 2xlarge
	[ "$status" -eq 4 ]
	run hac-smi
	[[ $output == *"allocator unreachable since "*", last answered "*" ago: showing the last known state"* ]]
}

@test "with the allocator down, device switch works (it is local) and device add quotes its own request" {
	hac-smi device add small
	stop_allocator
	# A resize first, so the agent's last error is a PATCH of the resize.
	run timeout 20 hac-resize 2xlarge
	[ "$status" -eq 4 ]
	run timeout 20 hac-smi device add medium
	[ "$status" -eq 4 ]
	[[ $output == *"Adding a device of size Medium.32GB (POST /v1/devices) needs the allocator"* ]]
	[[ $output != *PATCH* ]]
	run timeout 20 hac-smi device switch 1
	[ "$status" -eq 0 ]
	[ "$output" = "Current device: 1, Small.16GB (1 GPU, 16 GB)." ]
	run timeout 20 hac-smi device rm 1 -y
	[ "$status" -eq 4 ]
	[[ $output == *"Removing device 1 needs the allocator"* ]]
}
