#!/usr/bin/env bash
# The agent's local API under load: requests per second and p99 latency of GET /v1/status at 1,
# 16 and 256 concurrent keep-alive clients (hac-bench-load), a few seconds each; the 256 spread over
# two users, as the agent lets one uid hold only 192 connections (full_load in lib.sh). Requests per second
# are against the target (10,000 at 16 clients); the p99 latency against the median wall time of
# one nc call sending the same request (a new process, connection and request: the floor of
# smi.sh), measured here in the same run.
#   usage: tests/bench/api_load.sh [SECONDS]   (default 5 per client count, 0.5 quick; HAC_BUILD selects the build)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=${1:-$(bench_size 5 0.5)}
nc -h 2>&1 | grep -q -- '-N' || skip "nc is not netcat-openbsd (needs -U and -N): install netcat-openbsd"

start_all
request=$BATS_TEST_TMPDIR/status-request
printf 'GET /v1/status HTTP/1.1\r\nHost: hac\r\nConnection: close\r\n\r\n' >"$request"
calls=$(bench_size 100 5)
floor=$("$BUILD/tests/bench/hac-bench-spawn" --calls "$calls" --stdin "$request" -- nc -U -N "$HAC_SOCKET" | jq .median)

full_load
for clients in 1 16 "$LOAD_CLIENTS"; do
	args=()
	((clients == 16)) && args=(--target-rps 10000)
	((clients == LOAD_CLIENTS)) && args=("${LOAD_ARGS[@]}")
	"$BUILD/tests/bench/hac-bench-load" "$HAC_SOCKET" --clients "$clients" --seconds "$seconds" "${args[@]}" \
		--latency-baseline-ms "$floor" --latency-baseline "one nc call, same GET /v1/status (median of $calls)" || {
		echo "api_load.sh: hac-bench-load with $clients clients failed (see above)" >&2
		status=1
	}
done
exit "${status:-0}"
