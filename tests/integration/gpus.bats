#!/usr/bin/env bats
# hac-smi -p (issue 18): the physical GPUs of this VM's running jobs, read by the real agent from
# the real allocator on the simulated farm (GET /v1/gpus, GET /v1/allocations/{job}/gpus); the
# device table's Utilization; and an allocator that refuses or hangs, which -p reports and the
# status never waits on.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/allocator_api

setup() {
	allocator_test_setup
	T=$BATS_TEST_TMPDIR
}

teardown() { stop_all; }

# Starts a job on device 0 with hac-run (its pid in EXTRA_PIDS, so teardown stops it) and waits
# until it runs; sets JOB_ID and RUN_PID.
start_job() {
	hac-run --name gpus -- sleep 120 &
	RUN_PID=$!
	EXTRA_PIDS+=("$RUN_PID")
	wait_for "hac-smi --json | jq -e '.jobs[0].state == \"running\"'" 10
	JOB_ID=$(hac-smi --json | jq -r '.jobs[0].id')
}

# The agent behind tests/lib/fault_proxy.py in mode $1, with a connect timeout of 300 ms and a
# request timeout of $2 ms (default 1500).
start_behind_proxy() {
	start_allocator
	start_proxy 1 "$1"
	ALLOCATOR_URL=$PROXY_URL write_agent_config
	printf 'connect_timeout_ms = 300\nrequest_timeout_ms = %s\n' "${2:-1500}" >>"$T/agent.toml"
	start_agent
}

# True when the device's utilization in the status is the rounded mean of the figures -p shows.
utilization_is_mean() {
	local gpus status
	gpus=$(hac-smi -p --json) || return 1
	status=$(hac-smi --json) || return 1
	jq -e --argjson s "$status" '
		[.gpus[].utilization_gpu_pct | numbers] as $u
		| ($u | length) > 0 and $s.devices[0].utilization_pct == (($u | add) / ($u | length) | round)' <<<"$gpus"
}

@test "no job: -p says no GPU is held and exits 0; --json and --query have no rows; Utilization says no job" {
	start_all
	run hac-smi -p
	[ "$status" -eq 0 ]
	[[ $(sed -n 3p <<<"$output") =~ ^\|\ Dev\ \|\ Location\ \|\ GPU\ Util\ \|\ Mem\ Util\ \|\ Mem\ Usage\ \|\ Temp\ \|\ Power\ \|\ Job\ \|\ Sampled\ \|$ ]]
	[ "$(tail -n 1 <<<"$output")" = "No job is running: no physical GPU is held." ]
	run hac-smi -p --json
	[ "$status" -eq 0 ]
	jq -e '.schema_version == 1 and .gpus == [] and .errors == [] and (.timestamp | type) == "string"' <<<"$output"
	run hac-smi -p --query device,location,utilization.gpu
	[ "$status" -eq 0 ]
	[ "$output" = "device, location, utilization.gpu [%]" ]
	# The device table: its Utilization column says why it has no figure.
	run hac-smi
	[ "$status" -eq 0 ]
	grep -E '^\| \* 0 .*\| +no job \|$' <<<"$output"
	hac-smi --json | jq -e '.devices[0].utilization_pct == null'
	# The agent's document as the API gives it.
	curl -sf --unix-socket "$HAC_SOCKET" http://hac/v1/gpus | jq -e '. == {"schema_version": 1, "gpus": [], "errors": []}'
}

@test "a running job: one row per GPU of its SKU at the allocator's placement, simulated figures; --json, --query, -i, -l" {
	start_all
	start_job
	# The allocator's placement, from a replay of the job's allocation.
	device_id=$(hac-smi --json | jq -r '.devices[0].id')
	api POST /v1/allocations "{\"job_id\":\"$JOB_ID\",\"device_id\":\"$device_id\"}" "Idempotency-Key: $JOB_ID"
	expect 200
	placement=$(jq -r '.placement[] | "\(.node):\(.gpu)"' <<<"$BODY")
	[ "$(wc -l <<<"$placement")" -eq 4 ] # Large.64GB: 4 GPUs

	run hac-smi -p --json
	[ "$status" -eq 0 ]
	jq -e --arg job "$JOB_ID" '.schema_version == 1 and .errors == [] and (.gpus | length) == 4
		and all(.gpus[]; .device == 0 and .job_id == $job and .source == "simulated"
			and (.utilization_gpu_pct | type) == "number" and .utilization_gpu_pct >= 0 and .utilization_gpu_pct <= 100
			and (.sampled_at | type) == "string")' <<<"$output"
	[ "$(jq -r '.gpus[] | "\(.node):\(.gpu)"' <<<"$output")" = "$placement" ]

	run hac-smi -p
	[ "$status" -eq 0 ]
	for location in $placement; do
		grep -E "^\| +0 \| $location +\| +[0-9]+% \|.*\| ${JOB_ID:0:8} \| +[0-9]+ s ago \|$" <<<"$output"
	done
	[[ $output == *"Figures of the simulated farm are made up by the allocator, not measured."* ]]
	[[ $output != *"No job is running"* ]]
	awk -v max=100 'length($0) > max { print "too wide: " $0; bad = 1 } END { exit bad }' <<<"$output"

	run hac-smi -p --query location,job_id,source,utilization.gpu --format csv,noheader,nounits
	[ "$status" -eq 0 ]
	[ "$(cut -d, -f1 <<<"$output")" = "$placement" ]
	[ "$(cut -d, -f2,3 <<<"$output" | sort -u)" = " $JOB_ID, simulated" ]
	[[ $(head -n 1 <<<"$output") =~ ,\ [0-9]+$ ]]
	run hac-smi -p --query node,index,power.draw
	[ "$status" -eq 0 ]
	[ "$(head -n 1 <<<"$output")" = "node, index, power.draw [W]" ]
	[ "$(tail -n +2 <<<"$output" | awk -F', ' '{ print $1 ":" $2 }')" = "$placement" ]

	# -i keeps one device: device 0 has them all, a second device none, a missing one is status 7.
	run hac-smi -p -i 0 --query location --format csv,noheader
	[ "$output" = "$placement" ]
	hac-smi device add small
	run hac-smi -p -i 1 --json
	[ "$status" -eq 0 ]
	jq -e '.gpus == [] and .errors == []' <<<"$output"
	run hac-smi -p -i 5
	[ "$status" -eq 7 ]
	# -l: a row per GPU per round, the header once.
	run hac-smi -p --query location -l 0.2 --count 2
	[ "$status" -eq 0 ]
	[ "$(grep -c . <<<"$output")" -eq 9 ]

	# The device's Utilization is the mean of its job's GPUs.
	wait_for utilization_is_mean 10
	run hac-smi
	grep -E '^\| \* 0 .*\| +[0-9]+% \|$' <<<"$output"

	# The job ends: no GPU is held, the device's Utilization says no job.
	pkill -P "$RUN_PID"
	wait_for "hac-smi --json | jq -e '.jobs == []'" 10
	run hac-smi -p
	[ "$status" -eq 0 ]
	[ "$(tail -n 1 <<<"$output")" = "No job is running: no physical GPU is held." ]
	run hac-smi
	grep -E '^\| \* 0 .*\| +no job \|$' <<<"$output"
}

@test "the link thread reads a running job's GPUs by itself: Utilization without any -p" {
	start_all
	start_job
	# Nobody asks GET /v1/gpus here: the link thread reads the view when the job starts.
	wait_for "hac-smi --json | jq -e '.devices[0].utilization_pct | numbers'" 15
	run hac-smi
	grep -E '^\| \* 0 .*\| +[0-9]+% \|$' <<<"$output"
}

@test "an allocator that refuses a job's GPUs: -p says so for the job and exits 4; Utilization says no telemetry" {
	start_behind_proxy "503 /v1/allocations/"
	start_job
	run hac-smi -p
	[ "$status" -eq 4 ]
	[[ $output == *"GPUs of device 0 (job ${JOB_ID:0:8}) unknown: the allocator at $PROXY_URL refused the job's GPUs"* ]]
	run hac-smi -p --json
	[ "$status" -eq 4 ]
	jq -e --arg job "$JOB_ID" '.gpus == [] and (.errors | length) == 1 and .errors[0].device == 0
		and .errors[0].job_id == $job and (.errors[0].message | length) > 0' <<<"$output"
	run hac-smi
	[ "$status" -eq 0 ]
	grep -E '^\| \* 0 .*\| +no telemetry \|$' <<<"$output"
	hac-smi --json | jq -e '.devices[0].utilization_pct == null and .jobs[0].state == "running"'
}

@test "an allocator that hangs: -p ends within its bound with the job's error, exit 4; the status answers meanwhile" {
	# A request timeout above GET /v1/gpus's 3 s: the agent waits those 3 s for the GPUs.
	start_behind_proxy pass 4000
	start_job
	echo blackhole >"$T/mode"
	# The proxy drops a kept-alive connection within 100 ms of a switch, and the agent reuses a
	# view younger than 1 s instead of asking: let both pass.
	sleep 1.2
	t0=$(date +%s%N)
	{
		rc=0
		hac-smi -p >"$T/p.out" 2>&1 || rc=$?
		echo "$rc" >"$T/p.rc"
	} &
	EXTRA_PIDS+=($!)
	wait_for "grep -q 'GET /v1/allocations/$JOB_ID/gpus' '$T/proxy.requests'" 5
	# GET /v1/gpus waits on the allocator; the status does not (hac-smi's own timeout is 2 s).
	t1=$(date +%s%N)
	run hac-smi --json
	figure "status answered in $(((($(date +%s%N) - t1) / 1000000))) ms while GET /v1/gpus waited"
	[ "$status" -eq 0 ]
	jq -e --arg job "$JOB_ID" '.jobs[0].id == $job' <<<"$output"
	[ ! -s "$T/p.rc" ]
	wait_for "[ -s '$T/p.rc' ]" 10
	took=$((($(date +%s%N) - t0) / 1000000))
	figure "hac-smi -p ended after $took ms: $(tail -n 1 "$T/p.out")"
	[ "$(cat "$T/p.rc")" -eq 4 ]
	grep -F "GPUs of device 0 (job ${JOB_ID:0:8}) unknown: " "$T/p.out"
	# The agent gives the allocator 3 s, hac-smi waits up to 5 s for the agent.
	((took >= 3000 && took < 5000))
}

@test "figures a node reports: -p shows them as the node's with their age; the device's Utilization is their mean" {
	local node_token=hac-node-token-0123456789abcdef
	write_allocator_config
	printf '\n[[node_token]]\nnodes = ["node-*"]\ntoken = "%s"\n' "$node_token" >>"$T/allocator.toml"
	start_all
	start_job
	# Large.64GB on an empty farm: its 4 GPUs on one node.
	node=$(hac-smi -p --json | jq -r '.gpus[0].node')
	[ "$(hac-smi -p --json | jq -r '[.gpus[].node] | unique | length')" -eq 1 ]
	sampled=$(date -u -d '5 seconds ago' +%Y-%m-%dT%H:%M:%S.000Z)
	body=$(jq -n --arg t "$sampled" '{sampled_at: $t, gpus: [range(8) | {index: ., uuid: "GPU-\(.)",
		name: "NVIDIA A100-SXM4-80GB", utilization_gpu_pct: (10 * .), utilization_memory_pct: ., memory_used_mib: 1000,
		memory_total_mib: 81920, temperature_c: 40, power_w: 100.5}]}')
	curl -sf -H "Authorization: Bearer $node_token" -H 'Content-Type: application/json' --data-binary "$body" \
		"$ALLOCATOR_URL/v1/nodes/$node/telemetry"
	# GET /v1/gpus reuses a view younger than a second.
	wait_for "hac-smi -p --json | jq -e 'all(.gpus[]; .source == \"node\")'" 5
	run hac-smi -p --json
	[ "$status" -eq 0 ]
	jq -e --arg t "$sampled" 'all(.gpus[]; .utilization_gpu_pct == 10 * .gpu and .uuid == "GPU-\(.gpu)"
		and .power_w == 100.5 and .temperature_c == 40 and .sampled_at == $t)' <<<"$output"
	run hac-smi -p
	[ "$status" -eq 0 ]
	[ "$(grep -cE "^\| +0 \| $node:[0-7] +\| +[0-9]+% \| +[0-7]% \| 1000 / 81920 MiB \| +40C \| +101W \| .* [0-9]+ s ago \|$" <<<"$output")" -eq 4 ]
	[[ $output != *"simulated farm"* ]]
	wait_for utilization_is_mean 15
}
