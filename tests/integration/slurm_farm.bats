#!/usr/bin/env bats
# hac-allocator's Slurm placement backend (issue 14) on a real Slurm farm (tests/lib/slurm_cluster.sh:
# 4 fake nodes f01..f04 with hacgpu:8 each, slurmrestd on a Unix socket): allocations as Slurm
# jobs, the queue when the farm is full, releases, a lost answer, Slurm down, the whole path
# from hac-run, and hac-smi -p on Slurm's placement. allocator/README.md, "Run the farm on Slurm",
# describes what these check.

setup_file() {
	load ../lib/common
	load ../lib/slurm
	start_slurm_cluster
}

teardown_file() {
	load ../lib/slurm
	stop_slurm_cluster
}

setup() {
	load ../lib/common
	load ../lib/slurm
	load ../lib/allocator_api
	allocator_test_setup
	wait_for '[[ -z $(sinfo -h -p farm -N -o %t | grep -vxE "idle|mix|alloc") ]]' 60
	SLURMRESTD=unix:$HAC_SLURMRESTD_SOCKET
}

teardown() {
	stop_all
	cancel_all_jobs || true
}

# write_slurm_farm DEVICES [EXTRA_SLURM_KEYS]: the allocator's config on the Slurm backend, one
# token with the given devices (a TOML array of SKUs).
write_slurm_farm() {
	cat >"$BATS_TEST_TMPDIR/allocator.toml" <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"
retry_after_seconds = 1

[placement]
backend = "slurm"

[slurm]
slurmrestd = "$SLURMRESTD"
partition = "farm"
gpus_per_node = 8
${2-}

[[token]]
name = "test"
token = "$TEST_TOKEN"
max_devices = 8
devices = $1
EOT
}

# Slurm's jobs named $1 that are pending or running, one "ID STATE" line each.
slurm_jobs_named() {
	squeue -h -n "$1" -t pending,running,configuring -o '%i %T'
}

# The live Slurm jobs of the farm, counted.
live_slurm_jobs() {
	squeue -h -t pending,running,configuring,completing -o %i | wc -l
}

@test "an allocation is a Slurm job named by the job id that holds its GPUs; a replay makes no second one; its usage cancels it" {
	write_slurm_farm '["Large.64GB"]'
	start_allocator
	register
	local job
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	[[ $(jq '.placement | length' <<<"$BODY") == 4 ]]
	[[ $(jq -r '[.placement[].node] | unique | .[]' <<<"$BODY") =~ ^f0[1-4]$ ]]
	local placement=$BODY

	run squeue -h -n "$job" -o '%T %D %b %k'
	[[ $output == "RUNNING 1 gres:hacgpu:4 account=test device=${DEVICES[0]} sku=Large.64GB" ]]
	# GPU indexes from gres_detail, as scontrol shows them.
	local id
	id=$(squeue -h -n "$job" -o %i)
	run scontrol show job -d "$id"
	[[ $output == *"GRES=hacgpu:4(IDX:"* ]]

	allocate "$job" "${DEVICES[0]}"
	expect 200
	[[ $(jq -c .placement <<<"$BODY") == "$(jq -c .placement <<<"$placement")" ]]
	[[ $(slurm_jobs_named "$job" | wc -l) == 1 ]]

	usage "$job" "${DEVICES[0]}" 2026-12-01T10:00:00Z 2026-12-01T10:01:00Z 4
	expect 201
	wait_for "[[ -z \$(slurm_jobs_named $job) ]]" 10
	grep -q "job $job: Slurm job $id cancelled (released)" "$BATS_TEST_TMPDIR/allocator.log"
}

@test "a SKU over several nodes is split evenly: 3xLarge.288GB (18 GPUs) is 3 nodes x 6, each node:index once" {
	write_slurm_farm '["3xLarge.288GB"]'
	start_allocator
	register
	local job
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	[[ $(jq '.gpus' <<<"$BODY") == 18 ]]
	[[ $(jq -c '[.placement | group_by(.node)[] | length]' <<<"$BODY") == "[6,6,6]" ]]
	[[ $(jq '[.placement[] | "\(.node):\(.gpu)"] | unique | length' <<<"$BODY") == 18 ]]
	run squeue -h -n "$job" -o '%T %D %b'
	[[ $output == "RUNNING 3 gres:hacgpu:6" ]]
}

@test "farm full: 503 farm_full with Retry-After, the Slurm job stays queued; freed, the first in line gets the GPUs, not a later one" {
	write_slurm_farm '["3xLarge.288GB", "3xLarge.288GB", "3xLarge.288GB"]'
	start_allocator
	register
	local first second third
	first=$(new_uuid) second=$(new_uuid) third=$(new_uuid)
	allocate "$first" "${DEVICES[0]}"
	expect 201
	allocate "$second" "${DEVICES[1]}"
	expect 503 farm_full
	[[ $(header Retry-After) == 1 ]]
	[[ $(jq -r .error.message <<<"$BODY") == *"waits in the queue (PENDING Resources)"* ]]
	[[ $(slurm_jobs_named "$second" | cut -d' ' -f2) == PENDING ]]
	allocate "$third" "${DEVICES[2]}"
	expect 503 farm_full
	# Asked again, the second keeps its one Slurm job.
	allocate "$second" "${DEVICES[1]}"
	expect 503 farm_full
	[[ $(slurm_jobs_named "$second" | wc -l) == 1 ]]

	api DELETE "/v1/allocations/$first"
	expect 200
	wait_for "[[ \$(slurm_jobs_named $second | cut -d' ' -f2) == RUNNING ]]" 15
	allocate "$third" "${DEVICES[2]}"
	expect 503 farm_full
	allocate "$second" "${DEVICES[1]}"
	expect 201
	[[ $(jq '.placement | length' <<<"$BODY") == 18 ]]
}

@test "a queued job keeps its place while asked for, and is cancelled once nobody asks within queue_seconds; DELETE of a queued job cancels it at once" {
	write_slurm_farm '["3xLarge.288GB", "3xLarge.288GB", "3xLarge.288GB"]' 'queue_seconds = 4'
	start_allocator
	register
	local first second third
	first=$(new_uuid) second=$(new_uuid) third=$(new_uuid)
	allocate "$first" "${DEVICES[0]}"
	expect 201
	allocate "$second" "${DEVICES[1]}"
	expect 503 farm_full
	allocate "$third" "${DEVICES[2]}"
	expect 503 farm_full
	[[ -n $(slurm_jobs_named "$third") ]]
	api DELETE "/v1/allocations/$third"
	expect 200
	wait_for "[[ -z \$(slurm_jobs_named $third) ]]" 5
	# Asked for again and again, it keeps its place past queue_seconds...
	local i
	for i in 1 2 3 4 5 6; do
		sleep 1
		allocate "$second" "${DEVICES[1]}"
		expect 503 farm_full
	done
	[[ $(slurm_jobs_named "$second" | cut -d' ' -f2) == PENDING ]]
	# ...and not asked for again, it is gone within queue_seconds and the sweep's second.
	wait_for "[[ -z \$(slurm_jobs_named $second) ]]" 10
	grep -q "queued Slurm job(s) not asked for within 4 s" "$BATS_TEST_TMPDIR/allocator.log"
	# The holding job is not touched by either.
	[[ $(slurm_jobs_named "$first" | cut -d' ' -f2) == RUNNING ]]
}

@test "a SKU larger than the partition can ever hold: 409 farm_too_small, and no Slurm job is left queued" {
	write_slurm_farm '["Huge"]'
	cat >>"$BATS_TEST_TMPDIR/allocator.toml" <<EOT

[[sku]]
name = "Huge"
gpus = 40

[[sku]]
name = "Small.16GB"
gpus = 1
EOT
	start_allocator
	register
	local job
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 409 farm_too_small
	[[ $(jq -r .error.message <<<"$BODY") == *"needs 40 GPUs"* ]]
	wait_for "[[ \$(live_slurm_jobs) == 0 ]]" 10
}

@test "a SKU that cannot be split evenly over nodes is refused when the config is loaded" {
	write_slurm_farm '["Odd"]'
	cat >>"$BATS_TEST_TMPDIR/allocator.toml" <<EOT

[[sku]]
name = "Odd"
gpus = 9
EOT
	run hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml"
	[[ $status == 1 ]]
	[[ $output == *"allocator.toml:"*": slurm: SKU 'Odd' has 9 GPUs, which cannot be split evenly over nodes of 8 (2 nodes with 4.5 each); give it 8 or 10 GPUs"* ]]
}

@test "a lost answer to the submit: the retry finds the Slurm job by its name, and one hac job stays one Slurm job" {
	# A fault proxy on a Unix socket between the allocator and slurmrestd drops the answer of
	# POST /job/submit once: Slurm has the job, the allocator never hears its id.
	local d=$BATS_TEST_TMPDIR
	echo "lose /slurm/v0.0.38/job/submit" >"$d/mode"
	python3 "$REPO/tests/lib/fault_proxy.py" --upstream "unix:$HAC_SLURMRESTD_SOCKET" --listen-unix "$d/proxy.sock" \
		--mode-file "$d/mode" --port-file "$d/proxy.ports" --log "$d/proxy.attempts" \
		--requests "$d/proxy.requests" >>"$d/proxy.log" 2>&1 3>&- &
	EXTRA_PIDS+=($!)
	wait_for "[ -S '$d/proxy.sock' ]" 10
	SLURMRESTD=unix:$d/proxy.sock
	write_slurm_farm '["Large.64GB"]'
	start_allocator
	register
	local job
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 503 placement_unavailable
	grep -q "lose_/slurm/v0.0.38/job/submit POST /slurm/v0.0.38/job/submit" "$d/proxy.requests"
	wait_for "[[ -n \$(slurm_jobs_named $job) ]]" 5
	# From now on every request is passed on, one per connection, and logged.
	echo "lose /none" >"$d/mode"
	allocate "$job" "${DEVICES[0]}"
	expect 201
	[[ $(slurm_jobs_named "$job" | wc -l) == 1 ]]
	[[ $(grep -c "POST /slurm/v0.0.38/job/submit" "$d/proxy.requests") == 1 ]]
}

@test "slurmrestd down: allocations answer 503 placement_unavailable within the bound; reads work; a release's cancel waits and is made when it is back" {
	write_slurm_farm '["Large.64GB", "Large.64GB"]' 'timeout_ms = 2000'
	start_allocator
	register
	local first second
	first=$(new_uuid) second=$(new_uuid)
	allocate "$first" "${DEVICES[0]}"
	expect 201
	local rest
	rest=$(cat "$HAC_SLURM_DIR/pids/slurmrestd")
	kill "$rest"
	wait_for "! [[ -d /proc/$rest ]]" 10

	local t0=$EPOCHREALTIME
	allocate "$second" "${DEVICES[1]}"
	local took
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	figure "slurmrestd down: POST /v1/allocations answered $HTTP in $took s"
	expect 503 placement_unavailable
	[[ $(header Retry-After) == 1 ]]
	[[ $(jq -r .error.message <<<"$BODY") == *"$HAC_SLURMRESTD_SOCKET"* ]]
	api GET /v1/devices
	expect 200
	api GET /v1/skus
	expect 200

	# The first job ends: its record is stored, its cancel is kept for when Slurm is back.
	usage "$first" "${DEVICES[0]}" 2026-12-01T10:00:00Z 2026-12-01T10:01:00Z 4
	expect 201
	wait_for "grep -q 'cancelling its Slurm job failed (attempt 1)' '$BATS_TEST_TMPDIR/allocator.log'" 10
	[[ $(slurm_jobs_named "$first" | cut -d' ' -f2) == RUNNING ]]
	# A restart of the allocator loses no cancel: it is in the database.
	stop_allocator
	[[ $(sqlite3 "$BATS_TEST_TMPDIR/allocator.db" 'SELECT count(*) FROM slurm_cancels') == 1 ]]
	start_allocator
	run "$SLURM_CLUSTER" restart "$HAC_SLURM_DIR" slurmrestd
	[[ $status == 0 ]]
	wait_for "[[ -z \$(slurm_jobs_named $first) ]]" 70
	[[ $(sqlite3 "$BATS_TEST_TMPDIR/allocator.db" 'SELECT count(*) FROM slurm_cancels') == 0 ]]
	allocate "$second" "${DEVICES[1]}"
	expect 201
}

@test "slurmctld killed with -9 mid-run: 503 placement_unavailable within the bound, never 'gone'; restarted, nothing lost, lent twice or billed twice" {
	write_slurm_farm '["Large.64GB", "Large.64GB"]' 'timeout_ms = 2000'
	start_allocator
	register
	local first second
	first=$(new_uuid) second=$(new_uuid)
	allocate "$first" "${DEVICES[0]}"
	expect 201
	local id
	id=$(squeue -h -n "$first" -o %i)
	# slurmctld saves its state a few seconds after a change (slurm_cluster.bats shows why).
	wait_for "(( \$(stat -c %Y '$HAC_SLURM_DIR/spool/ctld/job_state') > $(job_field "$id" .start_time) ))" 60
	local ctld
	ctld=$(cat "$HAC_SLURM_DIR/pids/slurmctld")
	kill -9 "$ctld"
	wait_for "! [[ -d /proc/$ctld ]] || [[ \$(awk '{print \$3}' /proc/$ctld/stat) == Z ]]" 10

	local t0=$EPOCHREALTIME took
	allocate "$second" "${DEVICES[1]}"
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	figure "slurmctld down: POST /v1/allocations answered $HTTP in $took s"
	expect 503 placement_unavailable
	# The replay of a held job is answered from the allocator's own record.
	allocate "$first" "${DEVICES[0]}"
	expect 200
	usage "$first" "${DEVICES[0]}" 2026-12-01T10:00:00Z 2026-12-01T10:01:00Z 4
	expect 201
	usage "$first" "${DEVICES[0]}" 2026-12-01T10:00:00Z 2026-12-01T10:01:00Z 4
	expect 200

	run "$SLURM_CLUSTER" restart "$HAC_SLURM_DIR" slurmctld
	[[ $status == 0 ]]
	wait_for "[[ -z \$(slurm_jobs_named $first) ]]" 70
	allocate "$second" "${DEVICES[1]}"
	expect 201
	[[ $(slurm_jobs_named "$second" | wc -l) == 1 ]]
	# One usage record, billed once.
	[[ $(sqlite3 "$BATS_TEST_TMPDIR/allocator.db" "SELECT count(*), sum(cost_micro) FROM usage") == "1|80000" ]]
}

@test "the whole path: while hac-run -- sleep 3 runs, squeue shows its Slurm job with its GPUs; after, it is gone and the bill matches Slurm's record" {
	write_slurm_farm '["Large.64GB"]'
	start_allocator
	start_agent
	hac-run -- sleep 3 >"$BATS_TEST_TMPDIR/run.out" 2>&1 &
	local run_pid=$!
	EXTRA_PIDS+=($run_pid)
	wait_for "[[ -n \$(squeue -h -t running -o %j) ]]" 10
	local job id
	job=$(squeue -h -t running -o %j)
	id=$(squeue -h -n "$job" -o %i)
	run squeue -h -j "$id" -o '%T %b'
	[[ $output == "RUNNING gres:hacgpu:4" ]]
	run hac-smi
	[[ $output == *"${job:0:8}"* ]]
	wait "$run_pid"
	wait_for "[[ -z \$(slurm_jobs_named $job) ]]" 15

	# The agent's bill, the allocator's record and Slurm's own record of the hold job.
	run hac-usage --json
	[[ $status == 0 ]]
	local rec
	rec=$(sqlite3 -json "$BATS_TEST_TMPDIR/allocator.db" "SELECT gpus, started_at, ended_at, billable FROM usage WHERE job_id = '$job'")
	[[ $(jq '.[0].gpus' <<<"$rec") == 4 ]]
	[[ $(jq '.[0].billable' <<<"$rec") == 1 ]]
	local slurm_start slurm_end
	slurm_start=$(job_field "$id" .start_time)
	slurm_end=$(job_field "$id" .end_time)
	# Slurm times the hold (allocation to cancel), the agent the process: the hold contains the run.
	local started ended
	started=$(jq '.[0].started_at / 1000 | floor' <<<"$rec")
	ended=$(jq '.[0].ended_at / 1000 | floor' <<<"$rec")
	figure "Slurm hold $slurm_start..$slurm_end, agent's job $started..$ended"
	((slurm_start <= started && ended <= slurm_end + 1))
	((ended - started >= 3))
}

@test "hac-smi -p on Slurm: Location is Slurm's node:index; a node that runs hac-node-report shows its figures, the others '-'" {
	write_slurm_farm '["3xLarge.288GB"]'
	printf 'node-credential-0123456789abcdef\n' >"$BATS_TEST_TMPDIR/node.token"
	chmod 600 "$BATS_TEST_TMPDIR/node.token"
	printf '\n[[node_token]]\nnodes = ["f0*"]\ntoken_file = "%s"\n' "$BATS_TEST_TMPDIR/node.token" \
		>>"$BATS_TEST_TMPDIR/allocator.toml"
	start_allocator
	start_agent
	hac-run -- sleep 600 >"$BATS_TEST_TMPDIR/run.out" 2>&1 &
	EXTRA_PIDS+=($!)
	wait_for "[[ -n \$(squeue -h -t running -o %j) ]]" 10
	local job placement first
	job=$(squeue -h -t running -o %j)
	# 18 GPUs as 3 nodes x 6, in the allocator's placement order: f02:0 f02:1 ... as hac-smi shows them.
	placement=$(sqlite3 "$BATS_TEST_TMPDIR/allocator.db" \
		"SELECT group_concat(value ->> 0 || ':' || (value ->> 1), ' ') FROM allocations, json_each(placement) WHERE job_id = '$job'")
	first=${placement%%:*}
	figure "placement: $placement"

	# A stand-in nvidia-smi on the first node: GPU i at 10 + i % busy.
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/nvidia-smi" <<'EOT'
#!/bin/bash
for i in 0 1 2 3 4 5 6 7; do echo "$i, GPU-$i, NVIDIA A100-SXM4-80GB, $((10 + i)), 5, 2048, 81920, 41, 250.00"; done
EOT
	chmod +x "$BATS_TEST_TMPDIR/bin/nvidia-smi"
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node "$first" \
		--nvidia-smi "$BATS_TEST_TMPDIR/bin/nvidia-smi" --once
	[[ $status == 0 ]]

	# The agent reuses a view of the job's GPUs for a second: the report shows at the next one.
	wait_for "hac-smi -p --query=source --format=csv,noheader | grep -q node" 10
	run hac-smi -p --query=location,utilization.gpu,source --format=csv,noheader,nounits
	[[ $status == 0 ]]
	[[ $(cut -d, -f1 <<<"$output" | tr -d ' ' | paste -sd' ') == "$placement" ]]
	local line loc util source reported=0 unknown=0
	while IFS=, read -r loc util source; do
		loc=${loc// /} util=${util// /} source=${source// /}
		if [[ ${loc%%:*} == "$first" ]]; then
			[[ $util == $((10 + ${loc##*:})) && $source == node ]]
			reported=$((reported + 1))
		else
			[[ $util == "[N/A]" && $source == "[N/A]" ]]
			unknown=$((unknown + 1))
		fi
	done <<<"$output"
	((reported == 6 && unknown == 12))

	# The table: Slurm's node names, and '-' for what no node reported.
	run hac-smi -p
	[[ $status == 0 && $output == *Location* && $output == *"$first:0"* ]]
	# The device's Utilization is the mean over the GPUs with a figure: 10..15 on the first node.
	wait_for "hac-smi --json | jq -e '.devices[0].utilization_pct == 13'" 15
}

@test "hac-allocator reconcile: clean against Slurm's jobcomp record, then exit 1 naming a doctored start and a deleted bill" {
	write_slurm_farm '["Large.64GB", "Large.64GB"]' "jobcomp_file = \"$HAC_SLURM_DIR/log/jobcomp.txt\""
	sleep 1   # Slurm's times are seconds: nothing of an earlier test ends within this one's window
	local since
	since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	start_allocator
	register
	local first second t0
	first=$(new_uuid) second=$(new_uuid)
	t0=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
	allocate "$first" "${DEVICES[0]}"
	expect 201
	allocate "$second" "${DEVICES[1]}"
	expect 201
	sleep 2
	usage "$first" "${DEVICES[0]}" "$t0" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" 4
	expect 201
	usage "$second" "${DEVICES[1]}" "$t0" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" 4
	expect 201
	wait_for "[[ \$(grep -c 'Name=\($first\|$second\) ' '$HAC_SLURM_DIR/log/jobcomp.txt') == 2 ]]" 15

	run hac-allocator reconcile --config "$BATS_TEST_TMPDIR/allocator.toml" --since "$since"
	echo "$output"
	[[ $status == 0 ]]
	[[ $output == "2 Slurm-held job(s) compared with $HAC_SLURM_DIR/log/jobcomp.txt: they agree." ]]

	# The first job's bill says it started ten minutes before its hold; the second's is gone.
	sqlite3 "$BATS_TEST_TMPDIR/allocator.db" "UPDATE usage SET started_at = started_at - 600000 WHERE job_id = '$first';
		DELETE FROM usage WHERE job_id = '$second'"
	run hac-allocator reconcile --config "$BATS_TEST_TMPDIR/allocator.toml" --since "$since" --json
	echo "$output"
	[[ $status == 1 ]]
	[[ $(jq -r '.compared' <<<"$output") == 2 ]]
	[[ $(jq -r --arg j "$first" '.differences[] | select(.job_id == $j) | .kind' <<<"$output") == start ]]
	[[ $(jq -r --arg j "$second" '.differences[] | select(.job_id == $j) | .kind' <<<"$output") == missing_in_allocator ]]
	run hac-allocator reconcile --config "$BATS_TEST_TMPDIR/allocator.toml" --since "$since"
	[[ $status == 1 ]]
	[[ ${lines[0]} == "2 Slurm-held job(s) compared with $HAC_SLURM_DIR/log/jobcomp.txt: 2 difference(s)." ]]
	[[ $output == *"$first"*" start "*"more than the 120 s allowed"* ]]

	run hac-allocator reconcile --config "$BATS_TEST_TMPDIR/allocator.toml" --since tomorrow
	[[ $status == 2 ]]
	[[ $output == *"--since 'tomorrow' is not a time"* ]]
}
