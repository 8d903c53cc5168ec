#!/usr/bin/env bats
# The release side: hac-release makes and signs releases, hac-allocator serves them (allocator/API.md,
# "Releases"), checked with curl and the openssl command.

load ../lib/common

setup() {
	RELEASES=$BATS_TEST_TMPDIR/releases
	WHEELS=$BATS_TEST_TMPDIR/wheels
	mkdir -p "$RELEASES" "$WHEELS/24.5.0" "$WHEELS/24.6.0" "$BATS_TEST_TMPDIR/keys"
	# hac-release does not open the wheels: any bytes under a wheel's name will do here.
	head -c 3000 /dev/urandom >"$WHEELS/24.5.0/torch-2.1.0+hac24.5.0-py3-none-any.whl"
	head -c 2000 /dev/urandom >"$WHEELS/24.6.0/torch-2.2.0+hac24.6.0-py3-none-any.whl"
	KEY=$BATS_TEST_TMPDIR/release.key
	openssl genpkey -algorithm ed25519 -out "$KEY" 2>/dev/null
	openssl pkey -in "$KEY" -pubout -out "$BATS_TEST_TMPDIR/keys/release.pem"
}

teardown() { stop_all; }

release() {
	hac-release --key "$KEY" --releases "$RELEASES" "$@"
}

serve_releases() {
	write_allocator_config
	printf '\n[releases]\ndir = "%s"\n%s' "$RELEASES" "${1:-}" >>"$BATS_TEST_TMPDIR/allocator.toml"
	start_allocator
}

@test "hac-release writes a manifest and a signature that the openssl command verifies" {
	run release --framework 24.5.0 --wheels "$WHEELS/24.5.0" --min-agent-version 0.1.0 --expires-in-days 30
	[ "$status" -eq 0 ]
	[[ $output == "release 24.5.0 made: 1 package(s), signed by key "* ]]
	local dir=$RELEASES/24.5.0 wheel=$WHEELS/24.5.0/torch-2.1.0+hac24.5.0-py3-none-any.whl
	cmp "$wheel" "$dir/torch-2.1.0+hac24.5.0-py3-none-any.whl"
	jq -e --arg sha "$(sha256sum "$wheel" | cut -c1-64)" '
		.schema_version == 1 and .framework == "24.5.0" and .min_agent_version == "0.1.0" and
		.packages == [{"name": "torch", "version": "2.1.0+hac24.5.0",
			       "file": "torch-2.1.0+hac24.5.0-py3-none-any.whl", "size": 3000, "sha256": $sha}]' \
		"$dir/manifest.json"
	jq -r .signature "$dir/manifest.sig" | base64 -d >"$BATS_TEST_TMPDIR/sig.bin"
	openssl pkeyutl -verify -pubin -inkey "$BATS_TEST_TMPDIR/keys/release.pem" -rawin -in "$dir/manifest.json" \
		-sigfile "$BATS_TEST_TMPDIR/sig.bin"
	local id
	id=$(openssl pkey -pubin -in "$BATS_TEST_TMPDIR/keys/release.pem" -outform DER | tail -c 32 | sha256sum | cut -c1-16)
	[ "$(jq -r .key_id "$dir/manifest.sig")" = "$id" ]
	[[ $output == *"signed by key $id"* ]]
	# 30 days from now, to the day.
	local expires
	expires=$(date -u -d "$(jq -r .expires_at "$dir/manifest.json")" +%s)
	(( expires - $(date +%s) > 29 * 86400 && expires - $(date +%s) <= 30 * 86400 ))
}

@test "hac-release refuses what hac-update would refuse, and a release that exists without --replace" {
	release --framework 24.5.0 --wheels "$WHEELS/24.5.0" >/dev/null
	run release --framework 24.5.0 --wheels "$WHEELS/24.5.0"
	[ "$status" -eq 6 ]
	[[ $output == *"release 24.5.0 exists"*"--replace"* ]]
	local before
	before=$(jq -r .expires_at "$RELEASES/24.5.0/manifest.json")
	run release --framework 24.5.0 --wheels "$WHEELS/24.5.0" --replace --expires-at 2099-01-01T00:00:00.000Z
	[ "$status" -eq 0 ]
	[[ $output == "release 24.5.0 signed again"* ]]
	[ "$(jq -r .expires_at "$RELEASES/24.5.0/manifest.json")" = 2099-01-01T00:00:00.000Z ]
	[ "$(ls -A "$RELEASES")" = 24.5.0 ]

	run release --framework 24.6.0 --wheels "$WHEELS/24.5.0"
	[ "$status" -eq 2 ]
	[[ $output == *"is built for framework 24.5.0 (+hac24.5.0), not 24.6.0"* ]]
	run release --framework 24.6.0-rc1 --wheels "$WHEELS/24.6.0"
	[ "$status" -eq 2 ]
	run release --framework 24.6.0 --wheels "$BATS_TEST_TMPDIR/keys"
	[ "$status" -eq 2 ]
	[[ $output == *"holds no .whl file"* ]]
	run release --framework 24.6.0 --wheels "$WHEELS/24.6.0" --expires-at 2020-01-01T00:00:00.000Z
	[ "$status" -eq 2 ]
	[[ $output == *"is not in the future"* ]]
	run hac-release --key "$BATS_TEST_TMPDIR/keys/release.pem" --framework 24.6.0 --wheels "$WHEELS/24.6.0" \
		--releases "$RELEASES"
	[ "$status" -eq 1 ]
	[[ $output == *"is not a PEM private key"* ]]
	touch "$WHEELS/24.6.0/not a wheel.whl"
	run release --framework 24.6.0 --wheels "$WHEELS/24.6.0"
	[ "$status" -eq 2 ]
	[[ $output == *"not a wheel.whl is not named as a wheel"* ]]
	[ "$(ls -A "$RELEASES")" = 24.5.0 ]
}

@test "GET /v1/releases needs no token; without [releases] it lists nothing" {
	start_allocator
	run curl -sf "$ALLOCATOR_URL/v1/releases"
	[ "$status" -eq 0 ]
	[ "$output" = '{"latest":null,"pinned":null,"releases":[]}' ]
	run curl -s "$ALLOCATOR_URL/v1/releases/24.5.0/manifest.json"
	[[ $output == *'"code":"unknown_release"'* ]]
}

@test "the list, the pinned release, manifests and signatures" {
	release --framework 24.6.0 --wheels "$WHEELS/24.6.0" >/dev/null
	release --framework 24.5.0 --wheels "$WHEELS/24.5.0" >/dev/null
	mkdir "$RELEASES/24.7.0" "$RELEASES/notes"   # no manifest, not a version: not listed
	serve_releases
	run curl -sf "$ALLOCATOR_URL/v1/releases"
	echo "$output" | jq -e '.pinned == "24.6.0" and .latest == "24.6.0" and
		[.releases[].framework] == ["24.5.0", "24.6.0"] and
		.releases[0].manifest == "/v1/releases/24.5.0/manifest.json" and
		.releases[0].signature == "/v1/releases/24.5.0/manifest.sig" and
		.releases[0].files == "/v1/releases/24.5.0/files/"'
	curl -sf "$ALLOCATOR_URL/v1/releases/24.5.0/manifest.json" | cmp - "$RELEASES/24.5.0/manifest.json"
	curl -sf "$ALLOCATOR_URL/v1/releases/24.5.0/manifest.sig" | cmp - "$RELEASES/24.5.0/manifest.sig"
	stop_allocator
	rm "$BATS_TEST_TMPDIR/allocator.toml"
	serve_releases 'pinned = "24.5.0"'
	[ "$(curl -sf "$ALLOCATOR_URL/v1/releases" | jq -r '.pinned + " " + .latest')" = "24.5.0 24.6.0" ]
}

@test "files: whole, resumed with Range (206), past the end (416); nothing outside a release" {
	release --framework 24.5.0 --wheels "$WHEELS/24.5.0" >/dev/null
	serve_releases
	local url=$ALLOCATOR_URL/v1/releases/24.5.0/files/torch-2.1.0%2Bhac24.5.0-py3-none-any.whl
	local wheel=$WHEELS/24.5.0/torch-2.1.0+hac24.5.0-py3-none-any.whl
	curl -sf "$url" | cmp - "$wheel"
	run curl -s -D "$BATS_TEST_TMPDIR/headers" -o "$BATS_TEST_TMPDIR/rest" -H 'Range: bytes=1000-' "$url"
	grep -q '^HTTP/1.1 206' "$BATS_TEST_TMPDIR/headers"
	grep -qi '^Content-Range: bytes 1000-2999/3000' "$BATS_TEST_TMPDIR/headers"
	tail -c 2000 "$wheel" | cmp - "$BATS_TEST_TMPDIR/rest"
	run curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=3000-' "$url"
	[ "$output" = 416 ]
	run curl -s "$ALLOCATOR_URL/v1/releases/24.5.0/files/nothing.whl"
	[[ $output == *'"code":"unknown_release"'* ]]
	run curl -s -o /dev/null -w '%{http_code}' "$ALLOCATOR_URL/v1/releases/24.5.0/files/..%2F..%2Fallocator.toml"
	[ "$output" = 404 ]
	run curl -s -o /dev/null -w '%{http_code}' "$ALLOCATOR_URL/v1/releases/..%2F..%2F/manifest.json"
	[ "$output" = 404 ]
	run curl -s -o /dev/null -w '%{http_code}' -X POST "$ALLOCATOR_URL/v1/releases"
	[ "$output" = 405 ]
}

@test "the [releases] config: a missing folder or a bad pinned version is refused at start" {
	write_allocator_config
	cp "$BATS_TEST_TMPDIR/allocator.toml" "$BATS_TEST_TMPDIR/base.toml"
	printf '\n[releases]\ndir = "nowhere"\n' >>"$BATS_TEST_TMPDIR/allocator.toml"
	run hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml" --listen 127.0.0.1:0
	[ "$status" -eq 1 ]
	[[ $output == *"allocator.toml:"*"releases.dir"*"is not a folder"* ]]
	cp "$BATS_TEST_TMPDIR/base.toml" "$BATS_TEST_TMPDIR/allocator.toml"
	printf '\n[releases]\ndir = "releases"\npinned = "latest"\n' >>"$BATS_TEST_TMPDIR/allocator.toml"
	run hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml" --listen 127.0.0.1:0
	[ "$status" -eq 1 ]
	[[ $output == *"releases.pinned"*"'latest' is not a release version"* ]]
}
