# shellcheck shell=bash
# Shared by the benchmark scripts: a temporary directory with a real hac-allocator and hac-agent,
# started by the same helpers the bats tests use. Source it; it cleans up on exit.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BATS_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/hac-bench.XXXXXX")
export BATS_TEST_COMPLETED=1  # stop_all prints the logs only for a failed bats test
skip() { echo "skipped: $*" >&2; exit 77; }
# shellcheck source=../lib/common.bash
source "$BENCH_DIR/../lib/common.bash"

# bench_size FULL QUICK: how many calls, jobs or seconds a benchmark measures: FULL, or QUICK when
# HAC_BENCH_QUICK=1 (scripts/bench --quick, and the test suite's smoke run of tests/bench/smoke.bats:
# each benchmark in seconds, its rows checked for their form, never for speed).
bench_size() {
	if [[ ${HAC_BENCH_QUICK:-0} == 1 ]]; then echo "$2"; else echo "$1"; fi
}

# full_load: sets LOAD_CLIENTS and LOAD_ARGS (for hac-bench-load) to the agent's full connection
# load, 256. The agent lets one uid hold 192 of its 256 connections, all uids together 224, and
# keeps the last 32 for root and the admin group (ServerLimits in service/http_server.hpp):
# so root holds 224 (7 of every 8 clients: its share and the reserve) and nobody 32, which takes
# root; without root the load is one uid's share, 192 clients, and stderr says so.
full_load() {
	local nobody d
	if [[ $(id -u) == 0 ]] && nobody=$(id -u nobody 2>/dev/null); then
		chmod 0666 "$HAC_SOCKET"
		d=$(dirname "$HAC_SOCKET")
		while [[ $d != / ]]; do chmod o+x "$d"; d=$(dirname "$d"); done
		LOAD_CLIENTS=256 LOAD_ARGS=(--uids "$(id -u),$(id -u),$(id -u),$(id -u),$(id -u),$(id -u),$(id -u),$nobody")
	else
		echo "not root (or no user nobody): the full load is one uid's share of the agent's connections, 192 clients, not 256" >&2
		LOAD_CLIENTS=192 LOAD_ARGS=()
	fi
}

bench_cleanup() {
	stop_all
	rm -rf "$BATS_TEST_TMPDIR"
}
trap bench_cleanup EXIT

# bench_row BENCH UNIT BASELINE HIGHER_IS_BETTER EXTRA VALUE... [-- BASELINE_VALUE...]: prints the
# row a benchmark program prints (tests/bench/bench_row.hpp) for figures measured in the shell.
# EXTRA is a JSON object merged in (targets: "target_value", "target_ratio"; or {}). Quantiles are
# the nearest rank below, as in bench_row.hpp; with no baseline values the ratio is null.
bench_row() {
	local bench=$1 unit=$2 baseline=$3 higher=$4 extra=$5 values=() base=()
	shift 5
	while (($#)) && [[ $1 != -- ]]; do values+=("$1"); shift; done
	(($#)) && shift
	base=("$@")
	jq -nc --arg bench "$bench" --arg unit "$unit" --arg baseline "$baseline" --argjson higher "$higher" \
		--argjson extra "$extra" \
		--argjson v "[$(IFS=,; echo "${values[*]}")]" --argjson b "[$(IFS=,; echo "${base[*]}")]" '
		def q($p): if length == 0 then 0 else sort | .[($p * (length - 1)) | floor] end;
		($v | q(0.5)) as $m | ($b | q(0.5)) as $bm
		| {bench: $bench, unit: $unit, median: $m, p10: ($v | q(0.1)), p90: ($v | q(0.9)), n: ($v | length),
		   baseline: $baseline, baseline_median: $bm, ratio: (if $bm > 0 then $m / $bm else null end),
		   higher_is_better: $higher} + $extra'
}

# The resident memory of process $1 in KiB (VmRSS).
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# What the RSS of process $1 is made of, as JSON fields in MiB: anonymous memory (heap, stacks)
# and file pages (mostly shared libraries, shared with other processes), and the PSS, which
# divides shared pages among the processes mapping them.
rss_parts() {
	{ cat "/proc/$1/status"; cat "/proc/$1/smaps_rollup" 2>/dev/null; } | awk '
		/^RssAnon:/ { anon = $2 } /^RssFile:/ { file = $2 } /^Pss:/ { pss = $2 }
		END { printf "{\"rss_anon_mib\": %.2f, \"rss_file_mib\": %.2f, \"pss_mib\": %.2f}\n", anon / 1024, file / 1024, pss / 1024 }'
}

# The CPU time process $1 (all its threads) has used, in clock ticks: utime + stime of
# /proc/PID/stat, counted after the command name, which may hold spaces.
cpu_ticks() {
	local stat
	stat=$(<"/proc/$1/stat")
	stat=${stat##*) }
	# After the name: state is field 3 of stat(5), utime 14 and stime 15, so 12 and 13 here.
	awk '{ print $12 + $13 }' <<<"$stat"
}

# Context switches of every thread of process $1 since it started: each one is a thread going
# to sleep or being woken, so an idle process that does not poll adds none.
wakeups() {
	cat "/proc/$1"/task/*/status 2>/dev/null |
		awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}
