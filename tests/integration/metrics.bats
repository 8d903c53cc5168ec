#!/usr/bin/env bats
# Prometheus metrics (issue 18): GET /metrics of hac-agent (its socket, and the loopback TCP
# listener of [metrics] listen) and of hac-allocator pass `promtool check metrics`; a real
# Prometheus (Debian's package) scrapes both, and what its query API answers matches the job log,
# hac-usage and the allocator's records. Prometheus runs in the test's folder, on loopback ports,
# and is stopped by its pid.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/allocator_api

setup() {
	command -v promtool >/dev/null || skip "promtool is missing (Debian package prometheus; scripts/deps test installs it)"
	start_allocator
	write_agent_config
	METRICS_PORT=$(free_port)
	printf '\n[metrics]\nlisten = "127.0.0.1:%s"\n' "$METRICS_PORT" >>"$BATS_TEST_TMPDIR/agent.toml"
}

teardown() {
	stop_job
	stop_all
}

# Stops the background hac-run $JOB_PID and its child, by their pids.
stop_job() {
	[[ -n ${JOB_PID:-} ]] || return 0
	pkill -P "$JOB_PID" 2>/dev/null || true
	kill "$JOB_PID" 2>/dev/null || true
	wait "$JOB_PID" 2>/dev/null || true
	JOB_PID=
}

# A TCP port free on loopback now (the kernel's pick, released at once).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The job log's answer to SQL $1.
job_log() { sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"; }

# Starts Prometheus scraping the agent's listener and the allocator every second; its pid joins
# EXTRA_PIDS (stopped in teardown). Sets PROM_URL.
start_prometheus() {
	command -v prometheus >/dev/null || skip "prometheus is missing (Debian package prometheus; scripts/deps test installs it)"
	local d=$BATS_TEST_TMPDIR port
	port=$(free_port)
	cat >"$d/prometheus.yml" <<EOT
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: hac-agent
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
  - job_name: hac-allocator
    static_configs:
      - targets: ['127.0.0.1:$ALLOCATOR_PORT']
EOT
	promtool check config "$d/prometheus.yml" >/dev/null
	prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/prometheus-data" \
		--web.listen-address="127.0.0.1:$port" --log.level=warn >>"$d/prometheus.log" 2>&1 3>&- &
	EXTRA_PIDS+=($!)
	PROM_URL=http://127.0.0.1:$port
	wait_for "curl -sf '$PROM_URL/-/ready'" 60
	wait_for "[ \"\$(promql 'min(up)')\" = 1 ] && [ \"\$(promql 'count(up)')\" = 2 ]" 60
}

# The value of PromQL query $1 (an instant vector of one sample, or a scalar), or nothing.
promql() {
	curl -sf --get --data-urlencode "query=$1" "$PROM_URL/api/v1/query" |
		jq -r '.data.result | if type == "array" then (.[0].value[1] // empty) else .[1] end'
}

# The samples of query $1 as "LABEL_VALUE VALUE" lines, sorted, for a query grouped by one label $2.
promql_by() {
	curl -sf --get --data-urlencode "query=$1" "$PROM_URL/api/v1/query" |
		jq -r --arg l "$2" '.data.result[] | "\(.metric[$l]) \(.value[1])"' | sort
}

# Waits until Prometheus answers query $1 with value $2.
wait_for_prom() {
	wait_for "[ \"\$(promql '$1')\" = '$2' ]" "${3:-30}" || { echo "query '$1' answers '$(promql "$1")', not '$2'"; return 1; }
}

@test "GET /metrics of the agent (socket and TCP listener) and of the allocator pass promtool check metrics" {
	start_agent
	hac-run -- true
	curl -sf --unix-socket "$HAC_SOCKET" http://hac/metrics >"$BATS_TEST_TMPDIR/agent-socket.prom"
	curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >"$BATS_TEST_TMPDIR/agent-tcp.prom"
	curl -sf "$ALLOCATOR_URL/metrics" >"$BATS_TEST_TMPDIR/allocator.prom"
	for f in agent-socket agent-tcp allocator; do
		run promtool check metrics <"$BATS_TEST_TMPDIR/$f.prom"
		[ "$status" -eq 0 ] || { echo "promtool on $f: $output"; false; }
		echo "# $f: $(grep -c '^[a-z]' "$BATS_TEST_TMPDIR/$f.prom") samples, $(grep -c '^# TYPE' "$BATS_TEST_TMPDIR/$f.prom") families" >&3
	done
	# The control: promtool does fail on a metric that breaks the naming rules.
	run promtool check metrics <<<$'# HELP hac_bad_minutes x\n# TYPE hac_bad_minutes counter\nhac_bad_minutes 1'
	[ "$status" -ne 0 ]
	# The content type is the text format's, and the figures are there.
	run curl -sfi "http://127.0.0.1:$METRICS_PORT/metrics"
	[[ $output == *"Content-Type: text/plain; version=0.0.4; charset=utf-8"* ]]
	grep -qx 'hac_agent_jobs_started_total 1' "$BATS_TEST_TMPDIR/agent-tcp.prom"
	grep -qx 'hac_allocator_usage_records_total{sku="Large.64GB"} 1' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -q '^process_resident_memory_bytes [0-9]' "$BATS_TEST_TMPDIR/agent-socket.prom"
	grep -q '^process_open_fds [0-9]' "$BATS_TEST_TMPDIR/allocator.prom"
	# The TCP listener serves /metrics only: no caller identity, so nothing of the API.
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/v1/status"
	[ "$output" = 404 ]
	run curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$METRICS_PORT/metrics"
	[ "$output" = 405 ]
	# Its scrapes are counted like the socket's requests.
	curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep -q '^hac_agent_api_requests_total{method="GET",route="/metrics",code="200"} [1-9]'
}

@test "[metrics] listen: off by default; a non-loopback address is refused at start naming FILE:LINE: metrics.listen" {
	sed -i '/^\[metrics\]/,$d' "$BATS_TEST_TMPDIR/agent.toml"
	start_agent
	# No listener unless asked: nothing listens on the port the other tests use.
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/metrics"
	[ "$output" = 000 ]
	curl -sf --unix-socket "$HAC_SOCKET" http://hac/metrics | grep -q '^hac_agent_build_info{version="'
	stop_agent
	printf '\n[metrics]\nlisten = "0.0.0.0:%s"\n' "$METRICS_PORT" >>"$BATS_TEST_TMPDIR/agent.toml"
	line=$(grep -n '^listen = ' "$BATS_TEST_TMPDIR/agent.toml" | cut -d: -f1)
	run hac-agent --config "$BATS_TEST_TMPDIR/agent.toml"
	[ "$status" -eq 1 ]
	[[ $output == *"$BATS_TEST_TMPDIR/agent.toml:$line: metrics.listen: 0.0.0.0 is not a loopback address"* ]]
}

@test "the allocator counts farm_full answers, requests by route and code, and one placement call per allocation" {
	stop_allocator
	sed -i 's/^nodes = .*/nodes = 1/; s/^gpus_per_node = .*/gpus_per_node = 4/' "$BATS_TEST_TMPDIR/allocator.toml"
	start_allocator
	api GET /v1/devices
	expect 200
	large=$(jq -r '.devices[0].id' <<<"$BODY")
	api POST /v1/devices '{"sku":"Small.16GB"}'
	expect 201
	small=$(jq -r '.device.id' <<<"$BODY")
	# The Large.64GB device's job takes the farm's 4 GPUs; the Small.16GB device's jobs find none.
	job=11111111-1111-4111-8111-111111111111
	api POST /v1/allocations "{\"job_id\":\"$job\",\"device_id\":\"$large\"}" "Idempotency-Key: $job"
	expect 201
	for job in 22222222-2222-4222-8222-222222222222 33333333-3333-4333-8333-333333333333; do
		api POST /v1/allocations "{\"job_id\":\"$job\",\"device_id\":\"$small\"}" "Idempotency-Key: $job"
		expect 503 farm_full
	done
	AUTH= api GET /v1/devices
	expect 401
	curl -sf "$ALLOCATOR_URL/metrics" >"$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_farm_full_total 2' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_requests_total{method="POST",route="/v1/allocations",code="503"} 2' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_requests_total{method="GET",route="/v1/devices",code="401"} 1' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_requests_total{method="POST",route="/v1/allocations",code="201"} 1' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_backend_request_duration_seconds_count{backend="simulated",operation="allocate"} 3' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_backend_errors_total{backend="simulated",operation="allocate"} 0' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_gpus{node="node-00"} 4' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_gpus_held{node="node-00"} 4' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_gpus_free{node="node-00"} 0' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_allocations{state="held"} 1' "$BATS_TEST_TMPDIR/allocator.prom"
	grep -qx 'hac_allocator_queue_length 0' "$BATS_TEST_TMPDIR/allocator.prom"
	# An unknown path is one label value, whatever the path.
	curl -s "$ALLOCATOR_URL/no/such/$RANDOM" >/dev/null
	curl -sf "$ALLOCATOR_URL/metrics" | grep -qx 'hac_allocator_requests_total{method="GET",route="other",code="404"} 1'
	# The scrapes are logged at debug level only; the other requests still are.
	run grep -c 'GET /metrics' "$BATS_TEST_TMPDIR/allocator.log"
	[ "$output" = 0 ]
	grep -q 'POST /v1/allocations -> 503' "$BATS_TEST_TMPDIR/allocator.log"
}

@test "a real Prometheus scrapes both daemons; its figures match the job log, hac-usage and the allocator's records" {
	start_agent
	start_prometheus
	wait_for_prom 'hac_agent_allocator_reachable' 1
	wait_for_prom 'hac_allocator_agents_seen' 1
	wait_for_prom 'sum(hac_allocator_gpus)' 32

	# A job that runs while Prometheus looks: one job running, its 4 GPUs held on both sides.
	hac-run -- sleep 60 3>&- &
	JOB_PID=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 10
	wait_for_prom 'hac_agent_jobs{state="running"}' 1
	wait_for_prom 'sum(hac_agent_gpus_held)' 4
	wait_for_prom 'sum(hac_allocator_gpus_held)' 4
	wait_for_prom 'sum(hac_allocator_gpus_free)' 28
	wait_for_prom 'hac_allocator_allocations{state="held"}' 1
	hac-smi -r >/dev/null
	stop_job

	# Jobs on two devices of two sizes, ending in three ways.
	hac-smi device add small >/dev/null
	hac-run -- true
	hac-run -- sleep 1
	run hac-run -- false
	[ "$status" -eq 1 ]
	run -127 hac-run -- /no/such/program
	[ "$status" -eq 127 ]
	hac-run --device 1 -- true
	hac-run --device 1 -- sleep 1
	wait_for "hac-smi --json | jq -e '.allocator.outbox_size == 0'" 20

	# What the job log holds, and what Prometheus must come to say.
	ended=$(job_log "SELECT count(*) FROM jobs WHERE state = 'ended'")
	[ "$ended" -eq 7 ]
	wait_for_prom 'sum(hac_agent_jobs_ended_total)' "$ended"
	wait_for_prom 'sum(hac_allocator_usage_records_total)' "$ended"
	wait_for_prom 'hac_agent_outbox_records' 0

	# Jobs by end reason, as the job log has them.
	diff <(job_log "SELECT end_reason || ' ' || count(*) FROM jobs WHERE state = 'ended' GROUP BY end_reason" | sort) \
		<(promql_by 'sum by (reason) (hac_agent_jobs_ended_total) > 0' reason)
	# Every one of them started (its command was allowed to run), and each start was a 201.
	[ "$(promql 'hac_agent_jobs_started_total')" = "$ended" ]
	[ "$(promql 'sum(hac_agent_api_requests_total{method="POST",route="/v1/jobs",code="201"})')" = "$ended" ]
	[ "$(promql 'sum(hac_agent_api_request_duration_seconds_count{method="POST",route="/v1/jobs"})')" -ge "$ended" ]

	# Billed GPU time by SKU: the agent's and the allocator's figures are 60 x hac-usage's GPU-minutes.
	hac-usage --json >"$BATS_TEST_TMPDIR/usage.json"
	expected=$(jq -r '.rows[] | "\(.key) \(.gpu_minutes * 60)"' "$BATS_TEST_TMPDIR/usage.json" | sort)
	[ "$(wc -l <<<"$expected")" -eq 2 ]
	[[ $expected == *"Large.64GB "* && $expected == *"Small.16GB "* ]]
	diff <(echo "$expected") <(promql_by 'sum by (sku) (hac_agent_billed_gpu_seconds_total) > 0' sku)
	diff <(echo "$expected") <(promql_by 'sum by (sku) (hac_allocator_billed_gpu_seconds_total) > 0' sku)
	# Usage records by SKU: each ended job's, at the allocator as in the job log.
	diff <(job_log "SELECT sku || ' ' || count(*) FROM jobs WHERE state = 'ended' GROUP BY sku" | sort) \
		<(promql_by 'hac_allocator_usage_records_total > 0' sku)
	[ "$(promql 'sum(hac_allocator_requests_total{method="POST",route="/v1/usage",code="201"})')" = "$ended" ]
	[ "$(promql 'sum(hac_agent_allocator_requests_total{method="POST",endpoint="/v1/usage",code="201"})')" = "$ended" ]
	# GPU-seconds held: GPUs x (end - start) of each job in the job log, within a millisecond's rounding.
	while read -r sku seconds; do
		got=$(promql "sum(hac_agent_held_gpu_seconds_total{sku=\"$sku\"})")
		awk -v a="$seconds" -v b="$got" 'BEGIN { d = a - b; exit !(d < 0.001 && d > -0.001) }' ||
			{ echo "held GPU-seconds of $sku: job log $seconds, Prometheus $got"; false; }
	done < <(job_log "SELECT sku, sum(gpus * (ended_at - started_at)) / 1000.0 FROM jobs WHERE state = 'ended' GROUP BY sku")

	# Nothing held once all ended, and the devices as the agent knows them.
	wait_for_prom 'sum(hac_allocator_gpus_held)' 0
	wait_for_prom 'sum(hac_agent_gpus_held)' 0
	[ "$(promql 'hac_agent_device_gpus{device="0",sku="Large.64GB"}')" = 4 ]
	[ "$(promql 'hac_agent_device_gpus{device="1",sku="Small.16GB"}')" = 1 ]
	[ "$(promql 'hac_allocator_allocations{state="released"}')" = "$ended" ]
	[ "$(promql 'hac_agent_outbox_max_records')" = 10000 ]
	[ "$(promql 'hac_allocator_farm_full_total')" = 0 ]
	[ "$(promql 'sum(hac_allocator_backend_errors_total)')" = 0 ]
	# One placement call per allocation request; a start that found its device still held (the last
	# job's record not yet delivered) asks again, so there may be more requests than jobs.
	calls=$(promql 'hac_allocator_backend_request_duration_seconds_count{backend="simulated",operation="allocate"}')
	[ "$calls" = "$(promql 'sum(hac_allocator_requests_total{method="POST",route="/v1/allocations"})')" ]
	[ "$calls" -ge "$ended" ]
	figure "placement calls: $calls for $ended jobs"
	[ "$(promql 'process_open_fds{job="hac-agent"} > 0')" -gt 0 ]
	[ "$(promql 'count(hac_agent_build_info{version="0.1.0"})')" = 1 ]
	figure "Prometheus: $ended jobs ended ($(promql_by 'sum by (reason) (hac_agent_jobs_ended_total) > 0' reason | tr '\n' ' '))"
	figure "billed GPU-seconds by SKU: $(promql_by 'sum by (sku) (hac_agent_billed_gpu_seconds_total) > 0' sku | tr '\n' ' ')"
	figure "POST /v1/jobs p50 over 1m: $(promql 'histogram_quantile(0.5, sum by (le) (rate(hac_agent_api_request_duration_seconds_bucket{route="/v1/jobs"}[1m])))') s; agent RSS $(promql 'process_resident_memory_bytes{job="hac-agent"}') bytes"

	# The allocator away: the agent says so, and Prometheus sees it down.
	stop_allocator
	hac-run --no-wait -- true || true
	wait_for_prom 'hac_agent_allocator_reachable' 0
	# Prometheus learns it at its own next scrape of the allocator, which may come later.
	wait_for_prom 'up{job="hac-allocator"}' 0
}
