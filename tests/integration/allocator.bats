#!/usr/bin/env bats
# hac-allocator against allocator/API.md: a real server on a free loopback port, spoken to with curl.
bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/allocator_api

setup() { allocator_test_setup; }
teardown() { stop_all; }

# Runs hac-allocator on a config whose text is on stdin; bounded, so a config wrongly accepted
# fails the test instead of hanging it.
run_with_config() {
	cat >"$BATS_TEST_TMPDIR/bad.toml"
	run timeout 5 hac-allocator --config "$BATS_TEST_TMPDIR/bad.toml" --listen 127.0.0.1:0
}

@test "version answers without a token" {
	start_allocator
	AUTH= api GET /v1/version
	expect 200
	jq -e '.name == "hac-allocator" and .api_version == 1 and (.version | test("^[0-9]+\\.[0-9]+\\.[0-9]+"))' <<<"$BODY"
	run hac-allocator --version
	[[ $status -eq 0 && $output == "hac-allocator "* ]]
}

@test "a request without a token is 401 unauthorized with a clear message" {
	start_allocator
	AUTH= api GET /v1/skus
	expect 401 unauthorized
	jq -e '.error.message | test("Authorization: Bearer")' <<<"$BODY"
	[[ $(header WWW-Authenticate) == Bearer ]]
	AUTH="Basic dXNlcjpwYXNz" api GET /v1/skus
	expect 401 unauthorized
}

@test "an unknown token is 401 unknown_token with a clear message" {
	start_allocator
	AUTH="Bearer not-the-token-0123456789abcdef" api POST /v1/agents/register '{}'
	expect 401 unknown_token
	jq -e '.error.message | test("token")' <<<"$BODY"
}

@test "register returns the config's devices and the catalog" {
	start_allocator
	api POST /v1/agents/register
	expect 200
	jq -e '.account == "test" and .max_devices == 2 and (.allowed_skus | length) == 7 and (.skus | length) == 7' <<<"$BODY"
	jq -e '.devices | length == 1' <<<"$BODY"
	jq -e '.devices[0] | .index == 0 and .sku == "Large.64GB" and .gpus == 4 and .memory_total_mib == 65536
		and .name == "HAC Virtual Accelerator"
		and (.id | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"))' <<<"$BODY"
}

@test "the SKU list has the seven default SKUs with their GPU counts" {
	start_allocator
	api GET /v1/skus
	expect 200
	[[ $(jq -c '[.skus[] | [.name, .gpus]]' <<<"$BODY") == \
		'[["Small.16GB",1],["Medium.32GB",2],["Large.48GB",3],["Large.64GB",4],["xLarge.96GB",6],["2xLarge.192GB",12],["3xLarge.288GB",18]]' ]]
	jq -e 'all(.skus[]; .gpu_memory_gib == 16 and .memory_gib == 16 * .gpus
		and .price_micro_per_gpu_minute > 0 and .currency == "USD")' <<<"$BODY"
}

@test "an allocation lends the SKU's GPUs on one node" {
	start_allocator
	register
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	jq -e --arg job "$job" --arg dev "${DEVICES[0]}" '.job_id == $job and .device_id == $dev and .sku == "Large.64GB"
		and .gpus == 4 and (.placement | length) == 4 and ([.placement[].node] | unique | length) == 1
		and .released_at == null and (.allocated_at | test("Z$"))' <<<"$BODY"
}

@test "placement packs onto the fewest nodes and spans nodes only when it must" {
	write_small_farm '["Small.16GB", "Large.64GB", "Medium.32GB", "xLarge.96GB"]' 2 4
	start_allocator
	register
	small=$(new_uuid) large=$(new_uuid) medium=$(new_uuid) xlarge=$(new_uuid)
	allocate "$small" "${DEVICES[0]}"
	expect 201
	[[ $(jq -c '.placement' <<<"$BODY") == '[{"gpu":0,"node":"node-00"}]' ]]
	# A whole node is still free, so the 4 GPUs go there rather than split over two nodes.
	allocate "$large" "${DEVICES[1]}"
	expect 201
	[[ $(jq -c '[.placement[].node] | unique' <<<"$BODY") == '["node-01"]' ]]
	allocate "$medium" "${DEVICES[2]}"
	expect 201
	[[ $(jq -c '.placement' <<<"$BODY") == '[{"gpu":1,"node":"node-00"},{"gpu":2,"node":"node-00"}]' ]]
	allocate "$xlarge" "${DEVICES[3]}"
	expect 503 farm_full
	api DELETE "/v1/allocations/$large"
	expect 200
	api DELETE "/v1/allocations/$medium"
	expect 200
	# 6 GPUs fit on no node: the emptiest node whole, the rest on the next.
	allocate "$xlarge" "${DEVICES[3]}"
	expect 201
	jq -e '(.placement | length) == 6 and ([.placement[] | select(.node == "node-01")] | length) == 4
		and ([.placement[] | select(.node == "node-00")] | length) == 2' <<<"$BODY"
}

@test "a full farm is 503 farm_full with Retry-After, and room returns on release" {
	write_small_farm '["Large.64GB", "Small.16GB"]' 1 4
	start_allocator
	register
	first=$(new_uuid) second=$(new_uuid)
	allocate "$first" "${DEVICES[0]}"
	expect 201
	allocate "$second" "${DEVICES[1]}"
	expect 503 farm_full
	[[ $(header Retry-After) == 2 ]]
	jq -e '.error.message | test("0 of 4")' <<<"$BODY"
	api DELETE "/v1/allocations/$first"
	expect 200
	allocate "$second" "${DEVICES[1]}"
	expect 201
}

@test "the same Idempotency-Key and body replay the stored allocation; another body conflicts" {
	write_small_farm '["Large.64GB", "Small.16GB"]' 4 8
	start_allocator
	register
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	first=$BODY
	allocate "$job" "${DEVICES[0]}"
	expect 200
	[[ $BODY == "$first" ]]
	allocate "$job" "${DEVICES[1]}"
	expect 409 idempotency_conflict
	# The conflicting request took nothing: the other device is still free.
	allocate "$(new_uuid)" "${DEVICES[1]}"
	expect 201
}

@test "an allocation needs an Idempotency-Key equal to its job_id" {
	start_allocator
	register
	job=$(new_uuid)
	api POST /v1/allocations "{\"job_id\":\"$job\",\"device_id\":\"${DEVICES[0]}\"}"
	expect 400 bad_request
	jq -e '.error.message | test("Idempotency-Key")' <<<"$BODY"
	api POST /v1/allocations "{\"job_id\":\"$job\",\"device_id\":\"${DEVICES[0]}\"}" "Idempotency-Key: $(new_uuid)"
	expect 400 bad_request
}

@test "a second job on a held device is 409 device_busy naming the holder" {
	start_allocator
	register
	holder=$(new_uuid)
	allocate "$holder" "${DEVICES[0]}"
	expect 201
	allocate "$(new_uuid)" "${DEVICES[0]}"
	expect 409 device_busy
	jq -e --arg job "$holder" '.error.message | contains($job)' <<<"$BODY"
}

@test "release frees the device and answers the same when repeated" {
	start_allocator
	register
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	api DELETE "/v1/allocations/$job"
	expect 200
	first=$BODY
	jq -e --arg job "$job" '.job_id == $job and (.released_at | test("Z$"))' <<<"$BODY"
	api DELETE "/v1/allocations/$job"
	expect 200
	[[ $BODY == "$first" ]]
	allocate "$(new_uuid)" "${DEVICES[0]}"
	expect 201
	api DELETE "/v1/allocations/$(new_uuid)"
	expect 404 unknown_allocation
	api DELETE /v1/allocations/not-a-uuid
	expect 400 bad_request
}

@test "usage is recorded once: a replay returns the same record, other values conflict" {
	start_allocator
	register
	job=$(new_uuid)
	usage "$job" "${DEVICES[0]}" 2026-01-01T00:00:00.000Z 2026-01-01T00:10:00.000Z
	expect 201
	first=$BODY
	# 4 GPUs for 10 minutes at the default price.
	jq -e --arg job "$job" '.job_id == $job and .cost_micro == 800000 and (.recorded_at | test("Z$"))' <<<"$BODY"
	usage "$job" "${DEVICES[0]}" 2026-01-01T00:00:00.000Z 2026-01-01T00:10:00.000Z
	expect 200
	[[ $BODY == "$first" ]]
	usage "$job" "${DEVICES[0]}" 2026-01-01T00:00:00.000Z 2026-01-01T00:20:00.000Z
	expect 409 idempotency_conflict
	jq -e '.error.message | test("ended_at \\(recorded 2026-01-01T00:10:00.000Z, sent 2026-01-01T00:20:00.000Z\\)")' <<<"$BODY"
	api GET /v1/usage
	expect 200
	jq -e --arg job "$job" '(.records | length) == 1 and .records[0].job_id == $job
		and .records[0].ended_at == "2026-01-01T00:10:00.000Z" and .records[0].recorded_at != null' <<<"$BODY"
}

@test "recording usage releases the job's allocation" {
	start_allocator
	register
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	usage "$job" "${DEVICES[0]}" 2026-01-01T00:00:00.000Z 2026-01-01T00:01:00.000Z
	expect 201
	allocate "$(new_uuid)" "${DEVICES[0]}"
	expect 201
	# A replay of the ended job's allocation shows it released rather than lending GPUs again.
	allocate "$job" "${DEVICES[0]}"
	expect 200
	jq -e '.released_at != null' <<<"$BODY"
}

@test "the usage list filters by ended_at in [since, until)" {
	start_allocator
	register
	for hour in 01 02 03; do
		usage "$(new_uuid)" "${DEVICES[0]}" "2026-01-01T00:00:00.000Z" "2026-01-01T$hour:00:00.000Z"
		expect 201
	done
	api GET /v1/usage
	[[ $(jq '.records | length' <<<"$BODY") == 3 ]]
	api GET "/v1/usage?since=2026-01-01T02:00:00.000Z"
	expect 200
	[[ $(jq -c '[.records[].ended_at]' <<<"$BODY") == '["2026-01-01T02:00:00.000Z","2026-01-01T03:00:00.000Z"]' ]]
	api GET "/v1/usage?until=2026-01-01T02:00:00Z"
	[[ $(jq -c '[.records[].ended_at]' <<<"$BODY") == '["2026-01-01T01:00:00.000Z"]' ]]
	api GET "/v1/usage?since=2026-01-01T01:30:00Z&until=2026-01-01T03:00:00Z"
	[[ $(jq -c '[.records[].ended_at]' <<<"$BODY") == '["2026-01-01T02:00:00.000Z"]' ]]
	api GET "/v1/usage?since=yesterday"
	expect 400 bad_request
	jq -e '.error.message | test("since")' <<<"$BODY"
	api GET "/v1/usage?until=2026-13-01T00:00:00Z"
	expect 400 bad_request
	jq -e '.error.message | test("until")' <<<"$BODY"
}

@test "another token sees neither the devices nor the usage of the first" {
	cat >"$BATS_TEST_TMPDIR/allocator.toml" <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"

[[token]]
name = "test"
token = "$TEST_TOKEN"
devices = ["Large.64GB"]

[[token]]
name = "other"
token = "other-token-0123456789abcdef"
allowed_skus = ["Small.16GB"]
devices = ["Small.16GB"]
EOT
	start_allocator
	register
	usage "$(new_uuid)" "${DEVICES[0]}" 2026-01-01T00:00:00.000Z 2026-01-01T00:01:00.000Z
	expect 201
	AUTH="Bearer other-token-0123456789abcdef" api POST /v1/agents/register
	jq -e '.account == "other" and .allowed_skus == ["Small.16GB"] and .devices[0].sku == "Small.16GB"' <<<"$BODY"
	AUTH="Bearer other-token-0123456789abcdef" allocate "$(new_uuid)" "${DEVICES[0]}"
	expect 404 unknown_device
	AUTH="Bearer other-token-0123456789abcdef" api GET /v1/usage
	[[ $(jq '.records | length' <<<"$BODY") == 0 ]]
}

@test "bad requests are 400 naming the field, never a crash" {
	start_allocator
	register
	job=$(new_uuid)
	api POST /v1/allocations '{"job_id":' "Idempotency-Key: $job"
	expect 400 bad_request
	jq -e '.error.message | test("not valid JSON")' <<<"$BODY"
	api POST /v1/allocations '[1,2]' "Idempotency-Key: $job"
	expect 400 bad_request
	api POST /v1/allocations "{\"device_id\":\"${DEVICES[0]}\"}" "Idempotency-Key: $job"
	expect 400 bad_request
	jq -e '.error.message | test("job_id")' <<<"$BODY"
	api POST /v1/allocations "{\"job_id\":42,\"device_id\":\"${DEVICES[0]}\"}" "Idempotency-Key: $job"
	expect 400 bad_request
	jq -e '.error.message | test("job_id.*string")' <<<"$BODY"
	allocate "$job" "$(new_uuid)"
	expect 404 unknown_device
	api POST /v1/usage "{\"job_id\":\"$job\",\"device_id\":\"${DEVICES[0]}\",\"sku\":\"Large.64GB\",\"gpus\":\"4\"}" \
		"Idempotency-Key: $job"
	expect 400 bad_request
	jq -e '.error.message | test("gpus")' <<<"$BODY"
	usage "$job" "${DEVICES[0]}" 2026-01-01T00:00:00.000Z "next tuesday"
	expect 400 bad_request
	jq -e '.error.message | test("ended_at")' <<<"$BODY"
	usage "$job" "${DEVICES[0]}" 2026-01-01T00:10:00.000Z 2026-01-01T00:00:00.000Z
	expect 400 bad_request
	api POST /v1/agents/register '{"hostname":7}'
	expect 400 bad_request
	jq -e '.error.message | test("hostname")' <<<"$BODY"
	api GET /v1/nothing-here
	expect 404 not_found
	api PUT /v1/skus
	expect 405 method_not_allowed
	[[ $(header Allow) == GET ]]
	# Still alive and well.
	AUTH= api GET /v1/version
	expect 200
}

@test "config: an unknown key is an error naming file:line and the key" {
	run_with_config <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"
listn = "127.0.0.1:7070"

[[token]]
name = "test"
token = "$TEST_TOKEN"
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:2: listn: unknown key"* ]]

	run_with_config <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"

[inventory]
node = 3

[[token]]
name = "test"
token = "$TEST_TOKEN"
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:4: inventory.node: unknown key"* ]]
}

@test "config: the placement backend and [slurm] are checked when loaded, each error naming file:line and the key" {
	local token="[[token]]
name = \"test\"
token = \"$TEST_TOKEN\""
	run_with_config <<EOT
[placement]
backend = "kubernetes"
$token
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:2: placement.backend: 'kubernetes' is not a placement backend; use \"simulated\" or \"slurm\""* ]]

	run_with_config <<EOT
[placement]
backend = "slurm"
$token
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"slurm: missing; backend = \"slurm\" needs a [slurm] table"* ]]

	run_with_config <<EOT
[placement]
backend = "slurm"
[slurm]
slurmrestd = "https://slurm.example:6820"
user = "hac"
$token
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml: slurm.token_file: missing; an http(s):// slurmrestd needs a JWT"* ]]

	printf 'eyJhbGciOi.jwt\n' >"$BATS_TEST_TMPDIR/jwt"
	chmod 644 "$BATS_TEST_TMPDIR/jwt"
	run_with_config <<EOT
[placement]
backend = "slurm"
[slurm]
slurmrestd = "https://slurm.example:6820"
user = "hac"
token_file = "jwt"
$token
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:6: slurm.token_file: $BATS_TEST_TMPDIR/jwt is open to group or others; run 'chmod 600"* ]]

	run_with_config <<EOT
[slurm]
slurmrestd = "unix:/run/slurmrestd.sock"
token_file = "jwt"
$token
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:3: slurm.token_file: slurmrestd on a Unix socket knows the caller from the socket"* ]]

	run_with_config <<EOT
[placement]
backend = "slurm"
[slurm]
slurmrestd = "unix:/run/slurmrestd.sock"
gpus_per_node = 5
$token
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:3: slurm: SKU '3xLarge.288GB' has 18 GPUs, which cannot be split evenly over nodes of 5 (4 nodes with 4.5 each); give it 16 or 20 GPUs, or change gpus_per_node"* ]]
}

@test "config: an unknown SKU is an error naming file:line" {
	run_with_config <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"

[[token]]
name = "test"
token = "$TEST_TOKEN"
devices = ["Huge.1TB"]
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:6: token[0].devices: unknown SKU 'Huge.1TB'"* ]]

	run_with_config <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"

[[token]]
name = "test"
token = "$TEST_TOKEN"
allowed_skus = ["Small.16GB", "Tiny.1GB"]
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:6: token[0].allowed_skus: unknown SKU 'Tiny.1GB'"* ]]
}

@test "config: duplicate tokens, too many devices and no token are errors" {
	run_with_config <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"

[[token]]
name = "a"
token = "$TEST_TOKEN"

[[token]]
name = "b"
token = "$TEST_TOKEN"
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:9: token[1].token: the same token is already given to account 'a'"* ]]

	run_with_config <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"

[[token]]
name = "test"
token = "$TEST_TOKEN"
max_devices = 1
devices = ["Small.16GB", "Small.16GB"]
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"bad.toml:7: token[0].devices: 2 devices exceed max_devices = 1"* ]]

	run_with_config <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"
EOT
	[[ $status -eq 1 ]]
	[[ $output == *"no [[token]] is configured"* ]]
}

@test "a bad option exits 2 with a usage line" {
	run hac-allocator --no-such-option
	[[ $status -eq 2 ]]
	[[ $output == *"Usage: hac-allocator"* ]]
	run hac-allocator
	[[ $status -eq 2 ]]
	[[ $output == *"--config"* && $output == *"Usage: hac-allocator"* ]]
	write_allocator_config
	run timeout 5 hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml" --listen localhost
	[[ $status -eq 2 ]]
	[[ $output == *"--listen"* ]]
	run hac-allocator --log-level loud
	[[ $status -eq 2 ]]
}

@test "a restart keeps the devices and their UUIDs" {
	start_allocator
	register
	before=$(jq -c '.devices' <<<"$BODY")
	stop_allocator
	start_allocator
	register
	[[ $(jq -c '.devices' <<<"$BODY") == "$before" ]]
}

@test "an allocation held across a restart still holds its GPUs" {
	write_small_farm '["Large.64GB", "Small.16GB"]' 1 4
	start_allocator
	register
	allocate "$(new_uuid)" "${DEVICES[0]}"
	expect 201
	stop_allocator
	start_allocator
	allocate "$(new_uuid)" "${DEVICES[1]}"
	expect 503 farm_full
}

@test "SIGTERM stops the server cleanly" {
	start_allocator
	kill -TERM "$ALLOCATOR_PID"
	rc=0
	wait "$ALLOCATOR_PID" || rc=$?
	ALLOCATOR_PID=
	[[ $rc -eq 0 ]]
	[[ ! -e $BATS_TEST_TMPDIR/allocator.port ]]
	grep -q "stopping on SIGTERM" "$BATS_TEST_TMPDIR/allocator.log"
}

@test "the token never appears in the log" {
	start_allocator
	register
	AUTH="Bearer wrong-token-0123456789abcdef" api GET /v1/skus
	allocate "$(new_uuid)" "${DEVICES[0]}"
	stop_allocator
	[[ -s $BATS_TEST_TMPDIR/allocator.log ]]
	! grep -F -e "$TEST_TOKEN" -e wrong-token-0123456789abcdef "$BATS_TEST_TMPDIR/allocator.log"
}

@test "a database written by a newer hac-allocator is refused" {
	command -v sqlite3 >/dev/null || skip "the sqlite3 command is not installed"
	start_allocator
	stop_allocator
	sqlite3 "$BATS_TEST_TMPDIR/allocator.db" 'PRAGMA user_version = 99'
	run timeout 5 hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml" --listen 127.0.0.1:0
	[[ $status -eq 1 ]]
	[[ $output == *"schema version 99"* ]]
}

@test "the example config in conf/ is accepted" {
	cp "$REPO/conf/allocator.toml.example" "$BATS_TEST_TMPDIR/allocator.toml"
	start_allocator --database "$BATS_TEST_TMPDIR/example.db"
	AUTH="Bearer demo-token-0123456789abcdef" api POST /v1/agents/register
	expect 200
	jq -e '.account == "demo" and .devices[0].sku == "Large.64GB"' <<<"$BODY"
}
