#!/usr/bin/env bash
# hac-smi --json's wall time against the floor of one small process sending the same raw request
# (nc -U -N SOCK < request, Debian's netcat-openbsd): one caller at a time, then 64 at once.
#   usage: tests/bench/smi.sh [CALLS]   (default 200 each, 5 quick; HAC_BUILD selects the build)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
calls=${1:-$(bench_size 200 5)}
command -v nc >/dev/null || skip "nc is missing: install netcat-openbsd"
# Only OpenBSD's netcat knows -U (Unix socket) and -N (shut down the writing side at end of input).
nc -h 2>&1 | grep -q -- '-N' || skip "nc is not netcat-openbsd (needs -U and -N): install netcat-openbsd"

start_all
# What hac-smi sends (libhac/src/agent_client.cpp): HTTP/1.1, Host hac, Connection close.
request=$BATS_TEST_TMPDIR/status-request
printf 'GET /v1/status HTTP/1.1\r\nHost: hac\r\nConnection: close\r\n\r\n' >"$request"
nc -U -N "$HAC_SOCKET" <"$request" | head -n 1 | grep -q '^HTTP/1.1 200' ||
	{ echo "nc did not get 200 OK for GET /v1/status from the agent" >&2; exit 1; }
smi=$BUILD/tools/hac-smi/hac-smi
"$smi" --json >/dev/null

for callers in 1 64; do
	"$BUILD/tests/bench/hac-bench-spawn" --calls "$calls" --callers "$callers" \
		--name "hac-smi --json, $callers caller$( ((callers > 1)) && echo 's at once')" \
		--baseline "nc -U -N SOCK < request (same GET /v1/status)" --baseline-stdin "$request" \
		--target-ratio 2 -- "$smi" --json --vs nc -U -N "$HAC_SOCKET"
done
