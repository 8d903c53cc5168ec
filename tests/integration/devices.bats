#!/usr/bin/env bats
# Sizes and devices: hac-resize and `hac-smi device`, through a real agent and allocator.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() { start_all; }
teardown() { stop_all; }

job_log() {
	sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"
}

allocator_get() {
	curl -sf -H "Authorization: Bearer $TEST_TOKEN" "$ALLOCATOR_URL$1"
}

@test "hac-resize 2xlarge changes the size; the job log, hac-smi and the allocator agree" {
	run hac-resize 2xlarge
	[ "$status" -eq 0 ]
	[ "$output" = "Device 0 resized: Large.64GB -> 2xLarge.192GB (12 GPUs, 192 GB)." ]
	[ "$(hac-smi --json | jq -r '.devices[0].sku')" = 2xLarge.192GB ]
	[ "$(allocator_get /v1/devices | jq -r '.devices[0].sku')" = 2xLarge.192GB ]
	[ "$(job_log "SELECT change, old_sku, new_sku, uid FROM device_changes")" = "resize|Large.64GB|2xLarge.192GB|$(id -u)" ]
	run hac-resize 2XLARGE.192gb
	[ "$status" -eq 0 ]
	[ "$output" = "Device 0 is already 2xLarge.192GB: nothing to change." ]
}

@test "each job is billed at the size it ran at" {
	hac-run -- true
	hac-resize --json xlarge | jq -e '.changed and .previous_sku == "Large.64GB" and .device.sku == "xLarge.96GB"'
	hac-run -- true
	[ "$(job_log "SELECT sku || ' ' || gpus FROM jobs ORDER BY started_at")" = "Large.64GB 4
xLarge.96GB 6" ]
	wait_for "allocator_get /v1/usage | jq -e '.records | length == 2'" 5
	[ "$(allocator_get /v1/usage | jq -r '.records[] | "\(.sku) \(.gpus)"')" = "Large.64GB 4
xLarge.96GB 6" ]
}

@test "an ambiguous size exits 6 listing the candidates; an unknown one exits 7 listing the catalog" {
	run hac-resize large
	[ "$status" -eq 6 ]
	[ "$output" = "hac-resize: 'large' is ambiguous: it fits Large.48GB, Large.64GB; give the full name" ]
	run hac-resize huge
	[ "$status" -eq 7 ]
	[[ $output == "hac-resize: no size 'huge'; the sizes are: Small.16GB, Medium.32GB, Large.48GB, Large.64GB, "* ]]
	run hac-resize --device 5 small
	[ "$status" -eq 7 ]
	[[ $output == *"no device 5"* ]]
	[ "$(job_log "SELECT count(*) FROM device_changes")" = 0 ]
}

@test "--list shows every size with GPUs, memory and price, the current one marked; --json too" {
	run hac-resize --list
	[ "$status" -eq 0 ]
	[[ $output == *"Price/min"* ]]
	grep -E '^\| \* +\| +4 \| Large\.64GB +\| +4 \| +64 GB \|' <<<"$output"
	[ "$(hac-resize --list --json | jq -r '.skus[] | select(.current) | .name')" = Large.64GB ]
	[ "$(hac-resize --list --json | jq '.skus | length')" = 7 ]
}

@test "no size and no terminal: exit 2 with the usage line" {
	run hac-resize </dev/null
	[ "$status" -eq 2 ]
	[[ $output == *"no SIZE given, and stdin is not a terminal"* ]]
	run hac-resize --bogus
	[ "$status" -eq 2 ]
	[[ $output == *"Usage: hac-resize [SIZE]"* ]]
}

@test "while a job runs: exit 6 naming the job; --wait waits for it, --wait=SECONDS gives up with 9" {
	hac-run -- sleep 30 &
	EXTRA_PIDS+=($!)
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
	read -r id pid < <(hac-smi --json | jq -r '.jobs[0] | "\(.id) \(.pid)"')
	run hac-resize 2xlarge
	[ "$status" -eq 6 ]
	[ "$output" = "hac-resize: The size cannot be changed while the accelerator is in use (job $id, pid $pid: sleep 30)" ]
	run hac-resize --wait=1 2xlarge
	[ "$status" -eq 9 ]
	[[ $output == *"gave up waiting after 1 s"* ]]
	( sleep 1; kill "$pid" ) &
	run hac-resize --wait 2xlarge
	[ "$status" -eq 0 ]
	[[ $output == *"in use"*"waiting for it to end"*"Large.64GB -> 2xLarge.192GB"* ]]
}

@test "with the allocator down: exit 4 at once, nothing recorded" {
	stop_allocator
	run timeout 10 hac-resize 2xlarge
	[ "$status" -eq 4 ]
	[[ $output == *"allocator"* ]]
	[ "$(job_log "SELECT count(*) FROM device_changes")" = 0 ]
	[ "$(hac-smi --json | jq -r '.devices[0].sku')" = Large.64GB ]
}

@test "a user outside hac-admin gets exit 5, told which group grants it" {
	run as_nobody hac-resize 2xlarge
	[ "$status" -eq 5 ]
	[[ $output == *"needs root or membership in group hac-admin"* ]]
	run as_nobody hac-smi device add small
	[ "$status" -eq 5 ]
}

@test "a resize racing a job start: one wins, the other says why, and the log agrees with the allocator" {
	for round in $(seq 10); do
		sku=$([ $((round % 2)) = 0 ] && echo medium || echo xlarge)
		hac-run --no-wait -- sleep 0.3 >"$BATS_TEST_TMPDIR/job.out" 2>&1 &
		job=$!
		hac-resize "$sku" >"$BATS_TEST_TMPDIR/resize.out" 2>&1 && resized=0 || resized=$?
		wait "$job" && ran=0 || ran=$?
		# Never both refused; a refusal is the clear one.
		if [ "$resized" != 0 ]; then
			[ "$resized" = 6 ]
			grep -q "in use (job" "$BATS_TEST_TMPDIR/resize.out"
		fi
		if [ "$ran" != 0 ]; then
			[ "$ran" = 6 ]
			grep -q "is being changed (resize to" "$BATS_TEST_TMPDIR/job.out"
		fi
		[[ $resized == 0 || $ran == 0 ]]
	done
	# Every job ran at the size the allocator lent it.
	wait_for "[ \"\$(allocator_get /v1/usage | jq '.records | length')\" = \"\$(sqlite3 '$BATS_TEST_TMPDIR/jobs.db' 'SELECT count(*) FROM jobs')\" ]" 5
	diff <(job_log "SELECT id || ' ' || sku || ' ' || gpus FROM jobs ORDER BY id") \
		<(allocator_get /v1/usage | jq -r '.records[] | "\(.job_id) \(.sku) \(.gpus)"' | sort)
}

@test "hac-smi device list, add, switch and rm; the limit and a busy device are refused" {
	[ "$(hac-smi --json device list | jq ".skus | length")" = 7 ]
	run hac-smi device list
	[ "$status" -eq 0 ]
	[[ $output == *"This VM has 1 of at most 2 device(s)."* ]]
	run hac-smi device add 2xlarge
	[ "$status" -eq 0 ]
	[ "$output" = "Device 1 added: 2xLarge.192GB (12 GPUs, 192 GB)." ]
	run hac-smi device add small
	[ "$status" -eq 6 ]
	[[ $output == *"at most 2 device(s)"* ]]
	run hac-smi device switch 1
	[ "$output" = "Current device: 1, 2xLarge.192GB (12 GPUs, 192 GB)." ]
	hac-smi | grep -E '^\| \* 1 '
	[ "$(hac-run -- sh -c 'echo $HAC_VISIBLE_DEVICE')" = 1 ]
	[ "$(HAC_VISIBLE_DEVICE=0 hac-run -- sh -c 'echo $HAC_VISIBLE_DEVICE')" = 0 ]
	hac-run -- sleep 30 &
	EXTRA_PIDS+=($!)
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 5
	run hac-smi device rm 1
	[ "$status" -eq 6 ]
	[[ $output == *"Device 1 cannot be removed while the accelerator is in use"* ]]
	stop_extra_pids
	wait_for "hac-smi --json | jq -e '.jobs | length == 0'" 5
	run hac-smi device rm 1
	[ "$status" -eq 0 ]
	[ "$output" = "Device 1 removed." ]
	[ "$(hac-smi --json | jq -r '[.devices[] | "\(.index) \(.current)"] | join(",")')" = "0 true" ]
	[ "$(job_log "SELECT group_concat(change) FROM device_changes")" = "add,switch,remove" ]
	run hac-smi device rm </dev/null
	[ "$status" -eq 2 ]
}

@test "a SKU the token may not use: exit 5" {
	stop_all
	write_allocator_config
	printf 'allowed_skus = ["Large.64GB", "Small.16GB"]\n' >>"$BATS_TEST_TMPDIR/allocator.toml"
	start_all
	run hac-resize 2xlarge
	[ "$status" -eq 5 ]
	[[ $output == *"Small.16GB"* ]]
	run hac-resize small
	[ "$status" -eq 0 ]
}

@test "the menu on a terminal: sizes numbered, the current one marked, a choice resizes, q quits" {
	command -v script >/dev/null || skip "script (bsdutils) is missing"
	run bash -c "printf '7\nq\n' | script -qec 'hac-resize' /dev/null"
	[ "$status" -eq 0 ]
	[[ $output == *"Selection (1-7, q, Q):"* ]]
	[[ $output == *"Device 0 resized: Large.64GB -> 3xLarge.288GB"* ]]
	[ "$(hac-smi --json | jq -r '.devices[0].sku')" = 3xLarge.288GB ]
	grep -E '\| \* +\| +7 \| 3xLarge' <<<"$output"
}
