#!/usr/bin/env bats
# The allocator's per-GPU view (allocator/API.md): farm nodes report their GPUs' figures with a
# node credential (POST /v1/nodes/{node}/telemetry); a token's own jobs read them joined with
# placement (GET /v1/allocations/{job}/gpus). A real server on a loopback port, spoken to with curl.
bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/allocator_api

NODE_TOKEN=node-credential-0123456789abcdef
OTHER_TOKEN=other-account-token-0123456789ab

setup() {
	allocator_test_setup
	write_allocator_config
	cat >>"$BATS_TEST_TMPDIR/allocator.toml" <<EOT

[[token]]
name = "other"
token = "$OTHER_TOKEN"
devices = ["Small.16GB"]

[[node_token]]
nodes = ["node-0[0-3]"]
token = "$NODE_TOKEN"
EOT
	start_allocator
	register
}
teardown() { stop_all; }

# report NODE BODY: POST /v1/nodes/NODE/telemetry with the node credential (AUTH overrides).
report() {
	AUTH=${AUTH-Bearer $NODE_TOKEN} api POST "/v1/nodes/$1/telemetry" "$2"
}

# Eight GPUs of a node, GPU i at 10*i % and 40+i degrees; GPU 5's figures unknown.
eight_gpus() {
	jq -nc '{gpus: [range(8) | if . == 5 then {index: 5, uuid: null, name: null}
		else {index: ., uuid: "GPU-\(.)", name: "NVIDIA A100-SXM4-80GB", utilization_gpu_pct: (. * 10),
		      utilization_memory_pct: ., memory_used_mib: (1000 * .), memory_total_mib: 81920,
		      temperature_c: (40 + .), power_w: (100.5 + .)} end]}'
}

@test "a held job's GPUs on the simulated farm carry simulated figures, one entry per placed GPU" {
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	placement=$(jq -c '[.placement[] | [.node, .gpu]]' <<<"$BODY")
	api GET "/v1/allocations/$job/gpus"
	expect 200
	[[ $(jq -c '[.gpus[] | [.node, .gpu]]' <<<"$BODY") == "$placement" ]]
	jq -e --arg job "$job" '.job_id == $job and .sku == "Large.64GB" and (.gpus | length) == 4' <<<"$BODY"
	jq -e 'all(.gpus[]; .source == "simulated" and (.utilization_gpu_pct | . >= 0 and . <= 100)
		and .memory_total_mib == 16384 and .memory_used_mib <= .memory_total_mib
		and (.sampled_at | test("Z$")) and (.power_w > 0))' <<<"$BODY"
}

@test "a node's report replaces the simulated figures of its GPUs, [N/A] figures stay null" {
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	node=$(jq -r '.placement[0].node' <<<"$BODY")
	report "$node" "$(eight_gpus | jq -c '. + {sampled_at: "2026-01-02T03:04:05.000Z"}')"
	expect 200
	jq -e --arg node "$node" '.node == $node and .gpus == 8 and (.received_at | test("Z$"))' <<<"$BODY"
	api GET "/v1/allocations/$job/gpus"
	expect 200
	# Every GPU of that node now shows what the node said; GPU 5 has no figures.
	jq -e --arg node "$node" '[.gpus[] | select(.node == $node)] | length > 0 and all(.[];
		.source == "node" and .sampled_at == "2026-01-02T03:04:05.000Z" and
		(if .gpu == 5 then .utilization_gpu_pct == null and .temperature_c == null and .uuid == null
		 else .utilization_gpu_pct == .gpu * 10 and .temperature_c == 40 + .gpu and .uuid == "GPU-\(.gpu)"
		      and .power_w == 100.5 + .gpu and .memory_total_mib == 81920 end))' <<<"$BODY"
}

@test "another account's job, an unknown job and a released job are refused without leaking" {
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	AUTH="Bearer $OTHER_TOKEN" api GET "/v1/allocations/$job/gpus"
	expect 404 unknown_allocation
	api GET "/v1/allocations/$(new_uuid)/gpus"
	expect 404 unknown_allocation
	api GET "/v1/allocations/not-a-job/gpus"
	expect 400 bad_request
	api DELETE "/v1/allocations/$job"
	expect 200
	api GET "/v1/allocations/$job/gpus"
	expect 409 allocation_released
	jq -e '.error.released_at | test("Z$")' <<<"$BODY"
}

@test "only a node credential may report, and only for the nodes its patterns allow" {
	AUTH= report node-01 "$(eight_gpus)"
	expect 401 unauthorized
	AUTH="Bearer not-a-known-credential-0123456789" report node-01 "$(eight_gpus)"
	expect 401 unknown_token
	jq -e '.error.message | test("node_token")' <<<"$BODY"
	AUTH="Bearer $TEST_TOKEN" report node-01 "$(eight_gpus)"
	expect 403 not_a_node_credential
	report node-07 "$(eight_gpus)"
	expect 403 node_not_allowed
	jq -e '.error.message | test("node-07") and test("node-0\\[0-3\\]")' <<<"$BODY"
	# The node credential is no device token either.
	AUTH="Bearer $NODE_TOKEN" api GET /v1/devices
	expect 403 not_a_device_token
	report 'node-01;rm' "$(eight_gpus)"
	expect 400 bad_request
}

@test "a malformed report is refused naming the field, and the node's last good report stays" {
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	node=$(jq -r '.placement[0].node' <<<"$BODY")
	report "$node" "$(eight_gpus)"
	expect 200
	report "$node" '{"gpus":[{"index":0,"power_w":-3}]}'
	expect 400 bad_request
	jq -e '.error.message | test("gpus\\[0\\]\\.power_w")' <<<"$BODY"
	report "$node" '{"gpus":[{"index":0,"utilization_gpu_pct":101}]}'
	expect 400 bad_request
	jq -e '.error.message | test("gpus\\[0\\]\\.utilization_gpu_pct")' <<<"$BODY"
	report "$node" '{"gpus":[{"index":1},{"index":1}]}'
	expect 400 bad_request
	report "$node" '{"gpus":[{"uuid":"GPU-1"}]}'
	expect 400 bad_request
	report "$node" "$(jq -nc '{gpus: [range(33) | {index: .}]}')"
	expect 400 bad_request
	report "$node" '{"gpus":"eight"}'
	expect 400 bad_request
	report "$node" "{\"sampled_at\":\"$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%S.000Z)\",\"gpus\":[]}"
	expect 400 bad_request
	jq -e '.error.message | test("clock")' <<<"$BODY"
	api GET "/v1/allocations/$job/gpus"
	jq -e --arg node "$node" '[.gpus[] | select(.node == $node)] | all(.[]; .source == "node")' <<<"$BODY"
}

@test "the figures are kept in memory: a restarted allocator shows simulated ones until the node reports again" {
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	node=$(jq -r '.placement[0].node' <<<"$BODY")
	report "$node" "$(eight_gpus)"
	stop_allocator
	ALLOCATOR_PORT=$ALLOCATOR_PORT start_allocator
	api GET "/v1/allocations/$job/gpus"
	expect 200
	jq -e 'all(.gpus[]; .source == "simulated")' <<<"$BODY"
}

@test "the nodes reporting show on /metrics, and the node credential never does" {
	report node-02 "$(eight_gpus)"
	expect 200
	AUTH= api GET /metrics
	expect 200
	grep -qx 'hac_allocator_nodes_reporting 1' <<<"$BODY"
	grep -q 'hac_allocator_requests_total{method="POST",route="/v1/nodes/{}/telemetry",code="200"} 1' <<<"$BODY"
	run grep -c "$NODE_TOKEN" <<<"$BODY"
	[[ $output == 0 ]]
}

@test "a [[node_token]] that repeats a device token, or lists no nodes, is refused at start" {
	bad=$BATS_TEST_TMPDIR/bad.toml
	printf '[[token]]\nname = "test"\ntoken = "%s"\ndevices = ["Small.16GB"]\n' "$TEST_TOKEN" >"$bad"
	cp "$bad" "$bad.base"
	printf '[[node_token]]\nnodes = ["*"]\ntoken = "%s"\n' "$TEST_TOKEN" >>"$bad"
	run timeout 5 hac-allocator --config "$bad" --listen 127.0.0.1:0
	[[ $status -ne 0 && $output == *"node_token[0].token: the same token is already given to account 'test'"* ]]
	{ cat "$bad.base"; printf '[[node_token]]\ntoken = "%s"\n' "$NODE_TOKEN"; } >"$bad"
	run timeout 5 hac-allocator --config "$bad" --listen 127.0.0.1:0
	[[ $status -ne 0 && $output == *"node_token[0].nodes: missing"* ]]
}
