# bats helpers for speaking the allocator API (allocator/API.md) with curl and jq, against the
# hac-allocator that start_allocator runs. Load after common: load ../lib/allocator_api

# setup() of the allocator suites: skips without curl or jq, fails when the allocator is not built.
allocator_test_setup() {
	command -v curl >/dev/null || skip "curl is not installed"
	command -v jq >/dev/null || skip "jq is not installed"
	if [[ ! -x $BUILD/allocator/hac-allocator ]]; then
		echo "hac-allocator is not built in $BUILD: run 'ninja -C $BUILD' or set HAC_BUILD" >&2
		return 1
	fi
}

# api METHOD PATH [BODY [HEADER...]]: calls the allocator with the test token (AUTH overrides the
# Authorization header's value; AUTH= sends none). Sets HTTP to the status and BODY to the body;
# the response headers are in $BATS_TEST_TMPDIR/headers.
api() {
	local method=$1 path=$2 body=${3-}
	shift 2
	(($#)) && shift
	local auth=${AUTH-Bearer $TEST_TOKEN}
	local args=(-sS -X "$method" -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/headers" -w '%{http_code}')
	[[ -n $auth ]] && args+=(-H "Authorization: $auth")
	[[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	local h
	for h in "$@"; do args+=(-H "$h"); done
	HTTP=$(curl "${args[@]}" "$ALLOCATOR_URL$path")
	BODY=$(cat "$BATS_TEST_TMPDIR/body")
}

# Fails the test showing the answer unless the status is $1 (and the error code $2, if given).
expect() {
	if [[ $HTTP != "$1" ]] || { [[ -n ${2-} ]] && [[ $(jq -r '.error.code' <<<"$BODY") != "$2" ]]; }; then
		echo "expected $1 ${2-}, got $HTTP: $BODY" >&2
		return 1
	fi
}

header() {
	grep -i "^$1:" "$BATS_TEST_TMPDIR/headers" | cut -d: -f2- | tr -d ' \r'
}

new_uuid() {
	cat /proc/sys/kernel/random/uuid
}

# Registers and sets DEVICES to the device ids, in index order.
register() {
	api POST /v1/agents/register '{"agent_version":"0.1.0","hostname":"vm-1"}'
	expect 200
	mapfile -t DEVICES < <(jq -r '.devices[].id' <<<"$BODY")
}

allocate() {
	api POST /v1/allocations "{\"job_id\":\"$1\",\"device_id\":\"$2\"}" "Idempotency-Key: $1"
}

# usage JOB DEVICE STARTED ENDED [GPUS [END_REASON [SKU]]]
usage() {
	local body
	body=$(jq -nc --arg job "$1" --arg dev "$2" --arg s "$3" --arg e "$4" --argjson gpus "${5:-4}" \
		--arg reason "${6:-finished}" --arg sku "${7:-Large.64GB}" \
		'{job_id:$job, device_id:$dev, sku:$sku, gpus:$gpus, started_at:$s, ended_at:$e,
		  billable:true, end_reason:$reason, reconstructed:false}')
	api POST /v1/usage "$body" "Idempotency-Key: $1"
}

# A config of one token with the given devices on a farm of $2 nodes x $3 GPUs.
write_small_farm() {
	cat >"$BATS_TEST_TMPDIR/allocator.toml" <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"
retry_after_seconds = 2

[inventory]
nodes = $2
gpus_per_node = $3

[[token]]
name = "test"
token = "$TEST_TOKEN"
max_devices = 8
devices = $1
EOT
}
