#!/usr/bin/env bash
# The agent's local API under load: requests per second and p99 latency of GET /v1/status at 1,
# 16 and 256 concurrent keep-alive clients (hac-bench-load), a few seconds each. Requests per second
# are against the target (10,000 at 16 clients); the p99 latency against the median wall time of
# one nc call sending the same request (a new process, connection and request: the floor of
# smi.sh), measured here in the same run.
#   usage: tests/bench/api_load.sh [SECONDS]   (default 5 per client count; HAC_BUILD selects the build)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=${1:-5}
nc -h 2>&1 | grep -q -- '-N' || skip "nc is not netcat-openbsd (needs -U and -N): install netcat-openbsd"

start_all
request=$BATS_TEST_TMPDIR/status-request
printf 'GET /v1/status HTTP/1.1\r\nHost: hac\r\nConnection: close\r\n\r\n' >"$request"
floor=$("$BUILD/tests/bench/hac-bench-spawn" --calls 100 --stdin "$request" -- nc -U -N "$HAC_SOCKET" | jq .median)

for clients in 1 16 256; do
	target=()
	((clients == 16)) && target=(--target-rps 10000)
	"$BUILD/tests/bench/hac-bench-load" "$HAC_SOCKET" --clients "$clients" --seconds "$seconds" "${target[@]}" \
		--latency-baseline-ms "$floor" --latency-baseline "one nc call, same GET /v1/status (median of 100)" || {
		echo "api_load.sh: hac-bench-load with $clients clients failed (see above)" >&2
		status=1
	}
done
exit "${status:-0}"
