#!/usr/bin/env bats
# hac-allocator's device verbs of allocator/API.md (list, add, resize, remove) and their limits,
# against a real server spoken to with curl, including a resize racing an allocation.
bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/allocator_api

setup() { allocator_test_setup; }
teardown() { stop_all; }

OTHER_TOKEN=other-token-0123456789abcdef

# devices_config DEVICES [MAX_DEVICES [ALLOWED_SKUS]]: the test token with the given devices (a TOML
# array), max_devices (none: the default) and allowed_skus (none: the whole catalog), and a second
# token "other" with one Small.16GB device; a farm of 4 x 8 GPUs.
devices_config() {
	cat >"$BATS_TEST_TMPDIR/allocator.toml" <<EOT
database = "$BATS_TEST_TMPDIR/allocator.db"

[inventory]
nodes = 4
gpus_per_node = 8

[[token]]
name = "test"
token = "$TEST_TOKEN"
devices = $1
${2:+max_devices = $2}
${3:+allowed_skus = $3}

[[token]]
name = "other"
token = "$OTHER_TOKEN"
devices = ["Small.16GB"]
EOT
}

add_device() {
	api POST /v1/devices "{\"sku\":\"$1\"}"
}

resize() {
	api PATCH "/v1/devices/$1" "{\"sku\":\"$2\"}"
}

# The SKU of device $1 as GET /v1/devices lists it; empty when it is not listed.
sku_of() {
	api GET /v1/devices
	expect 200
	jq -r --arg id "$1" '.devices[] | select(.id == $id) | .sku' <<<"$BODY"
}

TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

@test "GET /v1/devices lists the token's devices by index, with max_devices and allowed_skus" {
	devices_config '["Large.64GB", "Small.16GB"]' 3 '["Small.16GB", "Large.64GB", "2xLarge.192GB"]'
	start_allocator
	api GET /v1/devices
	expect 200
	jq -e '.max_devices == 3 and .allowed_skus == ["Small.16GB", "Large.64GB", "2xLarge.192GB"]' <<<"$BODY"
	jq -e '[.devices[].index] == [0, 1] and [.devices[].sku] == ["Large.64GB", "Small.16GB"]
		and [.devices[].gpus] == [4, 1] and [.devices[].memory_total_mib] == [65536, 16384]
		and all(.devices[]; .name == "HAC Virtual Accelerator" and (.id | test("^[0-9a-f-]{36}$")))' <<<"$BODY"
	listed=$(jq -c '.devices' <<<"$BODY")
	# register tells the same.
	api POST /v1/agents/register
	expect 200
	[[ $(jq -c '.devices' <<<"$BODY") == "$listed" ]]
	jq -e '.max_devices == 3 and .allowed_skus == ["Small.16GB", "Large.64GB", "2xLarge.192GB"]' <<<"$BODY"
	# Each token sees its own devices only.
	AUTH="Bearer $OTHER_TOKEN" api GET /v1/devices
	expect 200
	jq -e '[.devices[].sku] == ["Small.16GB"] and .max_devices == 1 and (.allowed_skus | length) == 7' <<<"$BODY"
	AUTH= api GET /v1/devices
	expect 401 unauthorized
	api PUT /v1/devices
	expect 405 method_not_allowed
	[[ $(header Allow) == GET,POST ]]
}

@test "max_devices defaults to 1: a second device is 409 device_limit" {
	devices_config '["Large.64GB"]'
	start_allocator
	api GET /v1/devices
	jq -e '.max_devices == 1' <<<"$BODY"
	add_device Small.16GB
	expect 409 device_limit
	[[ $(jq -r '.error.message' <<<"$BODY") == "this token may have at most 1 device(s); remove one with 'hac-smi device rm N' or ask the operator to raise max_devices" ]]
}

@test "POST /v1/devices adds devices up to max_devices, then 409 device_limit" {
	devices_config '["Large.64GB"]' 3
	start_allocator
	add_device Small.16GB
	expect 201
	jq -e --arg re "$TIME_RE" '.device.index == 1 and .device.sku == "Small.16GB" and .device.gpus == 1
		and .device.memory_total_mib == 16384 and .device.name == "HAC Virtual Accelerator"
		and (.device.id | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"))
		and (.added_at | test($re))' <<<"$BODY"
	first=$(jq -r '.device.id' <<<"$BODY")
	add_device 2xLarge.192GB
	expect 201
	jq -e --arg first "$first" '.device.index == 2 and .device.gpus == 12 and .device.memory_total_mib == 196608
		and .device.id != $first' <<<"$BODY"
	add_device Small.16GB
	expect 409 device_limit
	jq -e '.error.message | contains("at most 3 device(s)") and contains("hac-smi device rm")
		and contains("max_devices")' <<<"$BODY"
	api GET /v1/devices
	jq -e '[.devices[].index] == [0, 1, 2] and [.devices[].sku] == ["Large.64GB", "Small.16GB", "2xLarge.192GB"]' <<<"$BODY"
	# The new device takes allocations at its SKU.
	job=$(new_uuid)
	allocate "$job" "$first"
	expect 201
	jq -e '.sku == "Small.16GB" and .gpus == 1' <<<"$BODY"
}

@test "removing then adding reuses the lowest free index; the other devices keep theirs" {
	devices_config '["Small.16GB", "Medium.32GB", "Large.48GB", "Large.64GB"]' 4
	start_allocator
	register
	api DELETE "/v1/devices/${DEVICES[2]}"
	expect 200
	api DELETE "/v1/devices/${DEVICES[0]}"
	expect 200
	api GET /v1/devices
	jq -e --arg b "${DEVICES[1]}" --arg d "${DEVICES[3]}" '[.devices[] | [.index, .id]] == [[1, $b], [3, $d]]' <<<"$BODY"
	add_device xLarge.96GB
	expect 201
	jq -e '.device.index == 0' <<<"$BODY"
	new0=$(jq -r '.device.id' <<<"$BODY")
	[[ $new0 != "${DEVICES[0]}" ]]
	add_device Small.16GB
	expect 201
	jq -e '.device.index == 2' <<<"$BODY"
	add_device Small.16GB
	expect 409 device_limit
	api GET /v1/devices
	jq -e --arg a "$new0" --arg b "${DEVICES[1]}" --arg d "${DEVICES[3]}" '[.devices[].index] == [0, 1, 2, 3]
		and .devices[0].id == $a and .devices[1].id == $b and .devices[3].id == $d
		and [.devices[].sku] == ["xLarge.96GB", "Medium.32GB", "Small.16GB", "Large.64GB"]' <<<"$BODY"
}

@test "POST /v1/devices: a missing or bad sku is 400, an unknown one 400 unknown_sku, a forbidden one 403" {
	devices_config '["Small.16GB"]' 4 '["Small.16GB", "Large.64GB"]'
	start_allocator
	api POST /v1/devices '{}'
	expect 400 bad_request
	jq -e '.error.message | test("sku")' <<<"$BODY"
	api POST /v1/devices '{"sku":42}'
	expect 400 bad_request
	jq -e '.error.message | test("sku.*string")' <<<"$BODY"
	api POST /v1/devices '{"sku":""}'
	expect 400 bad_request
	api POST /v1/devices
	expect 400 bad_request
	api POST /v1/devices '{"sku":'
	expect 400 bad_request
	add_device Huge.1TB
	expect 400 unknown_sku
	jq -e '.error.message | contains("Huge.1TB") and contains("Small.16GB, Medium.32GB, Large.48GB, Large.64GB, xLarge.96GB, 2xLarge.192GB, 3xLarge.288GB")' <<<"$BODY"
	# Names are exact: the short names are the tools' to resolve.
	add_device large.64gb
	expect 400 unknown_sku
	add_device 2xLarge.192GB
	expect 403 sku_not_allowed
	jq -e '.error.message | contains("2xLarge.192GB") and contains("Small.16GB, Large.64GB") and contains("operator")' <<<"$BODY"
	# Nothing was added by any of these.
	api GET /v1/devices
	jq -e '.devices | length == 1' <<<"$BODY"
	add_device Large.64GB
	expect 201
}

@test "PATCH /v1/devices/{id} resizes: GPUs and memory follow the SKU, and allocations take the new one" {
	devices_config '["Large.64GB"]' 2
	start_allocator
	register
	dev=${DEVICES[0]}
	resize "$dev" 2xLarge.192GB
	expect 200
	jq -e --arg dev "$dev" --arg re "$TIME_RE" '.previous_sku == "Large.64GB" and .changed == true
		and (.changed_at | test($re))
		and .device == {"index":0,"id":$dev,"name":"HAC Virtual Accelerator","sku":"2xLarge.192GB","gpus":12,"memory_total_mib":196608}' <<<"$BODY"
	changed_at=$(jq -r '.changed_at' <<<"$BODY")
	[[ $(sku_of "$dev") == 2xLarge.192GB ]]
	api POST /v1/agents/register
	jq -e '.devices[0].sku == "2xLarge.192GB" and .devices[0].gpus == 12' <<<"$BODY"
	# The same SKU again changes nothing and says since when the device has it.
	resize "$dev" 2xLarge.192GB
	expect 200
	jq -e --arg at "$changed_at" '.previous_sku == "2xLarge.192GB" and .changed == false and .changed_at == $at
		and .device.sku == "2xLarge.192GB"' <<<"$BODY"
	# Ids are matched without regard to case.
	resize "${dev^^}" Medium.32GB
	expect 200
	jq -e --arg dev "$dev" '.device.id == $dev and .device.sku == "Medium.32GB" and .previous_sku == "2xLarge.192GB"' <<<"$BODY"
	job=$(new_uuid)
	allocate "$job" "$dev"
	expect 201
	jq -e '.sku == "Medium.32GB" and .gpus == 2 and (.placement | length) == 2' <<<"$BODY"
}

@test "PATCH /v1/devices/{id}: unknown device 404, unknown SKU 400, forbidden SKU 403, bad body 400" {
	devices_config '["Large.64GB"]' 2 '["Small.16GB", "Large.64GB"]'
	start_allocator
	register
	dev=${DEVICES[0]}
	resize "$(new_uuid)" Small.16GB
	expect 404 unknown_device
	jq -e '.error.message | test("GET /v1/devices")' <<<"$BODY"
	# Another token's device is as unknown as no device.
	AUTH="Bearer $OTHER_TOKEN" resize "$dev" Small.16GB
	expect 404 unknown_device
	resize "$dev" Huge.1TB
	expect 400 unknown_sku
	jq -e '.error.message | contains("Huge.1TB") and contains("3xLarge.288GB")' <<<"$BODY"
	resize "$dev" 2xLarge.192GB
	expect 403 sku_not_allowed
	jq -e '.error.message | contains("Small.16GB, Large.64GB") and contains("operator")' <<<"$BODY"
	api PATCH "/v1/devices/$dev" '{"size":"Small.16GB"}'
	expect 400 bad_request
	jq -e '.error.message | test("sku")' <<<"$BODY"
	api PATCH "/v1/devices/$dev" '"Small.16GB"'
	expect 400 bad_request
	api PATCH /v1/devices/not-a-uuid '{"sku":"Small.16GB"}'
	expect 400 bad_request
	api GET "/v1/devices/$dev"
	expect 405 method_not_allowed
	[[ $(header Allow) == PATCH,DELETE ]]
	api PATCH "/v1/devices/$dev/more" '{"sku":"Small.16GB"}'
	expect 404 not_found
	[[ $(sku_of "$dev") == Large.64GB ]]
}

@test "a resize while an allocation is held is 409 device_busy naming the job; after release it works" {
	devices_config '["Large.64GB"]' 2
	start_allocator
	register
	dev=${DEVICES[0]}
	job=$(new_uuid)
	allocate "$job" "$dev"
	expect 201
	resize "$dev" 2xLarge.192GB
	expect 409 device_busy
	jq -e --arg job "$job" '.error.message | contains($job) and contains("resized")' <<<"$BODY"
	[[ $(sku_of "$dev") == Large.64GB ]]
	# Asking for the SKU it has is no change, so the job is no obstacle.
	resize "$dev" Large.64GB
	expect 200
	jq -e '.changed == false' <<<"$BODY"
	api DELETE "/v1/allocations/$job"
	expect 200
	resize "$dev" 2xLarge.192GB
	expect 200
	jq -e '.changed == true and .device.gpus == 12' <<<"$BODY"

	# Recorded usage ends the hold as well.
	job=$(new_uuid)
	allocate "$job" "$dev"
	expect 201
	resize "$dev" Large.64GB
	expect 409 device_busy
	usage "$job" "$dev" 2026-01-01T00:00:00.000Z 2026-01-01T00:01:00.000Z 12 finished 2xLarge.192GB
	expect 201
	resize "$dev" Large.64GB
	expect 200
}

@test "DELETE /v1/devices/{id} removes a device: not listed, no allocations, but its usage still records" {
	devices_config '["Large.64GB", "Small.16GB"]' 2
	start_allocator
	register
	dev=${DEVICES[0]}
	past=$(new_uuid)
	allocate "$past" "$dev"
	expect 201
	api DELETE "/v1/allocations/$past"
	expect 200
	api DELETE "/v1/devices/$dev"
	expect 200
	jq -e --arg dev "$dev" --arg re "$TIME_RE" '.device.id == $dev and .device.index == 0 and .device.sku == "Large.64GB"
		and .device.gpus == 4 and (.removed_at | test($re))' <<<"$BODY"
	api GET /v1/devices
	jq -e --arg other "${DEVICES[1]}" '[.devices[].id] == [$other]' <<<"$BODY"
	api POST /v1/agents/register
	jq -e '[.devices[].index] == [1]' <<<"$BODY"
	allocate "$(new_uuid)" "$dev"
	expect 404 unknown_device
	resize "$dev" Small.16GB
	expect 404 unknown_device
	api DELETE "/v1/devices/$dev"
	expect 404 unknown_device
	api DELETE "/v1/devices/$(new_uuid)"
	expect 404 unknown_device
	AUTH="Bearer $OTHER_TOKEN" api DELETE "/v1/devices/${DEVICES[1]}"
	expect 404 unknown_device
	# The usage of a job that ran on it still arrives and is billed.
	usage "$past" "$dev" 2026-01-01T00:00:00.000Z 2026-01-01T00:10:00.000Z
	expect 201
	jq -e '.cost_micro == 800000' <<<"$BODY"
	api GET /v1/usage
	jq -e --arg dev "$dev" '.records | length == 1 and .[0].device_id == $dev' <<<"$BODY"
}

@test "removing a device while an allocation is held is 409 device_busy naming the job" {
	devices_config '["Large.64GB"]' 2
	start_allocator
	register
	job=$(new_uuid)
	allocate "$job" "${DEVICES[0]}"
	expect 201
	api DELETE "/v1/devices/${DEVICES[0]}"
	expect 409 device_busy
	jq -e --arg job "$job" '.error.message | contains($job) and contains("removed")' <<<"$BODY"
	[[ $(sku_of "${DEVICES[0]}") == Large.64GB ]]
	api DELETE "/v1/allocations/$job"
	expect 200
	api DELETE "/v1/devices/${DEVICES[0]}"
	expect 200
}

@test "added, resized and removed devices survive a restart" {
	devices_config '["Large.64GB", "Small.16GB"]' 3
	start_allocator
	register
	resize "${DEVICES[0]}" xLarge.96GB
	expect 200
	api DELETE "/v1/devices/${DEVICES[1]}"
	expect 200
	add_device Medium.32GB
	expect 201
	add_device Small.16GB
	expect 201
	api GET /v1/devices
	before=$(jq -c '.devices' <<<"$BODY")
	stop_allocator
	start_allocator
	api GET /v1/devices
	[[ $(jq -c '.devices' <<<"$BODY") == "$before" ]]
	jq -e '[.devices[] | [.index, .sku]] == [[0, "xLarge.96GB"], [1, "Medium.32GB"], [2, "Small.16GB"]]' <<<"$BODY"
}

# Both requests go out together; whichever the allocator takes first, the other must see it: either
# the resize is refused because of this very job, or the job is lent the new SKU. Never a job of a
# SKU the device no longer has, never a device resized under a held job.
@test "a resize racing an allocation on one device: exactly one order wins each of 20 rounds" {
	devices_config '["Large.64GB"]' 2
	start_allocator
	register
	dev=${DEVICES[0]}
	local auth=(-H "Authorization: Bearer $TEST_TOKEN" -H 'Content-Type: application/json')
	local dir=$BATS_TEST_TMPDIR resize_first=0 allocation_first=0
	for round in $(seq 1 20); do
		before=$(sku_of "$dev")
		if [[ $before == Large.64GB ]]; then target=2xLarge.192GB; else target=Large.64GB; fi
		job=$(new_uuid)
		curl -sS -o "$dir/patch.json" -w '%{http_code}' -X PATCH "${auth[@]}" \
			--data-binary "{\"sku\":\"$target\"}" "$ALLOCATOR_URL/v1/devices/$dev" >"$dir/patch.status" &
		patch_pid=$!
		curl -sS -o "$dir/alloc.json" -w '%{http_code}' -X POST "${auth[@]}" -H "Idempotency-Key: $job" \
			--data-binary "{\"job_id\":\"$job\",\"device_id\":\"$dev\"}" "$ALLOCATOR_URL/v1/allocations" \
			>"$dir/alloc.status" &
		alloc_pid=$!
		wait "$patch_pid"
		wait "$alloc_pid"
		patch_status=$(cat "$dir/patch.status") alloc_status=$(cat "$dir/alloc.status")
		echo "round $round: $before -> $target: PATCH $patch_status $(cat "$dir/patch.json"); POST $alloc_status $(cat "$dir/alloc.json")"
		# A resize never stands in an allocation's way, so the job always gets its GPUs.
		[[ $alloc_status == 201 ]]
		alloc_sku=$(jq -r '.sku' "$dir/alloc.json")
		alloc_gpus=$(jq -r '.gpus' "$dir/alloc.json")
		after=$(sku_of "$dev")
		if [[ $patch_status == 200 ]]; then
			# The resize came first: the job was lent the new size.
			jq -e '.changed == true' "$dir/patch.json"
			[[ $after == "$target" && $alloc_sku == "$target" ]]
			((resize_first += 1))
		else
			# The allocation came first: the resize was refused because of this very job.
			[[ $patch_status == 409 ]]
			jq -e --arg job "$job" '.error.code == "device_busy" and (.error.message | contains($job))' "$dir/patch.json"
			[[ $after == "$before" && $alloc_sku == "$before" ]]
			((allocation_first += 1))
		fi
		[[ $alloc_gpus == "$(if [[ $alloc_sku == Large.64GB ]]; then echo 4; else echo 12; fi)" ]]
		api DELETE "/v1/allocations/$job"
		expect 200
	done
	echo "# resize first: $resize_first, allocation first: $allocation_first" >&3
	((resize_first + allocation_first == 20))
}
