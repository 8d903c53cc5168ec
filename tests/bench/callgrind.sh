#!/usr/bin/env bash
# Instructions executed by one hac-smi --json against a live agent, counted by valgrind's
# callgrind: unlike wall time, stable on a noisy machine, so a regression shows. The baseline is
# the same count for nc sending the same raw request (the floor of smi.sh).
#   usage: tests/bench/callgrind.sh [RUNS]   (default 3 each, 1 quick; HAC_BUILD selects the build)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
runs=${1:-$(bench_size 3 1)}
command -v valgrind >/dev/null || skip "valgrind is not installed (apt-get install valgrind)"
nc -h 2>&1 | grep -q -- '-N' || skip "nc is not netcat-openbsd (needs -U and -N): install netcat-openbsd"

start_all
request=$BATS_TEST_TMPDIR/status-request
printf 'GET /v1/status HTTP/1.1\r\nHost: hac\r\nConnection: close\r\n\r\n' >"$request"

# instructions NAME COMMAND...: runs COMMAND under callgrind (stdin from $stdin) and prints the
# instructions it executed, its "summary:" line (Ir: every instruction, the dynamic loader's too).
instructions() {
	local out=$BATS_TEST_TMPDIR/callgrind.$1 rc=0
	shift
	valgrind --tool=callgrind --callgrind-out-file="$out" "$@" <"$stdin" >/dev/null 2>"$out.log" || rc=$?
	if ((rc != 0)); then
		echo "callgrind.sh: '$*' exited with status $rc under valgrind:" >&2
		tail -n 20 "$out.log" >&2
		return 1
	fi
	local count
	count=$(awk '/^summary:/ { print $2 }' "$out")
	[[ $count =~ ^[0-9]+$ ]] || { echo "callgrind.sh: no instruction count in $out" >&2; return 1; }
	echo "$count"
}

ours=() floor=()
for ((i = 0; i < runs; i++)); do
	stdin=/dev/null
	count=$(instructions "smi.$i" "$BUILD/tools/hac-smi/hac-smi" --json) || exit 1
	ours+=("$count")
	stdin=$request
	count=$(instructions "nc.$i" nc -U -N "$HAC_SOCKET") || exit 1
	floor+=("$count")
done
bench_row "hac-smi --json, instructions (callgrind)" instructions \
	"nc -U -N SOCK < request (same GET /v1/status), instructions" false '{}' "${ours[@]}" -- "${floor[@]}"
