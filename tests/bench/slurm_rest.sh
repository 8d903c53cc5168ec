#!/usr/bin/env bash
# hac-allocator's Slurm placement backend against its floor (issue 14): in one run on one farm
# (tests/lib/slurm_cluster.sh), round by round, (1) slurmrestd's own round trip, a hold job
# submitted (POST /slurm/v0.0.38/job/submit) and cancelled (DELETE /job/ID) straight over its
# Unix socket, and the same job waited for until placed and until CANCELLED; (2) allocate + release
# through hac-allocator on the Slurm backend (POST /v1/allocations, DELETE /v1/allocations/JOB),
# and the time until Slurm says the job is CANCELLED; (3) the same allocate + release through
# hac-allocator on the simulated backend. One python3 process (tests/bench/slurm_rest.py) makes
# every request, one connection each, so that no process start is counted. Also how long the farm
# takes to start. Target: the allocator adds at most 2 ms (median) to slurmrestd's own round trip;
# a last row takes out Slurm's wait for its scheduler, from slurmctld's log (tests/bench/README.md).
#   usage: tests/bench/slurm_rest.sh [ROUNDS]   (default 50, quick 3; needs root and the Slurm packages)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
rounds=${1:-$(bench_size 50 3)}
cluster=$BENCH_DIR/../lib/slurm_cluster.sh
((EUID == 0)) || skip "the Slurm farm needs root"
command -v slurmrestd >/dev/null || skip "Slurm is not installed: install munge slurmctld slurmd slurmrestd slurm-client"
command -v hac-allocator >/dev/null || { echo "no hac-allocator in $BUILD/allocator: build it first" >&2; exit 1; }

farm=$BATS_TEST_TMPDIR/slurm
# The allocators first (stop_all stops EXTRA_PIDS), then the farm, then the folder.
trap 'stop_all; "$cluster" stop "$farm" >&2 || true; bench_cleanup' EXIT
start=$EPOCHREALTIME
"$cluster" start "$farm" >&2
start_s=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
bench_row "Slurm farm start, 4 nodes (munged, slurmctld, 4 slurmd, slurmrestd ready)" s "" false '{}' "$start_s"

# start_bench_allocator NAME BACKEND_TOML: hac-allocator in $BATS_TEST_TMPDIR/NAME with one token
# holding one Small.16GB device (1 GPU, as the direct hold job), on a free loopback port (its
# port in NAME/port). Its pid joins EXTRA_PIDS, stopped by pid on exit.
start_bench_allocator() {
	local dir=$BATS_TEST_TMPDIR/$1
	mkdir -p "$dir"
	cat >"$dir/allocator.toml" <<EOT
database = "$dir/allocator.db"

$2

[[token]]
name = "bench"
token = "$TEST_TOKEN"
max_devices = 1
devices = ["Small.16GB"]
EOT
	hac-allocator --config "$dir/allocator.toml" --listen 127.0.0.1:0 --port-file "$dir/port" \
		>>"$dir/allocator.log" 2>&1 &
	EXTRA_PIDS+=($!)
	wait_for "[[ -s '$dir/port' ]]" 30 || { tail -n 20 "$dir/allocator.log" >&2; return 1; }
}
start_bench_allocator slurm-backend "[placement]
backend = \"slurm\"

[slurm]
slurmrestd = \"unix:$farm/slurmrestd.sock\"
partition = \"farm\"
gpus_per_node = 8"
start_bench_allocator simulated-backend "[inventory]
nodes = 4
gpus_per_node = 8"

# One JSON object of lists of ms, one entry per round (slurm_rest.py says what each is).
times=$(python3 "$BENCH_DIR/slurm_rest.py" --slurmrestd "$farm/slurmrestd.sock" --slurmctld-log "$farm/log/slurmctld.log" \
	--slurm-port "$(cat "$BATS_TEST_TMPDIR/slurm-backend/port")" --slurm-db "$BATS_TEST_TMPDIR/slurm-backend/allocator.db" \
	--simulated-port "$(cat "$BATS_TEST_TMPDIR/simulated-backend/port")" \
	--token "$TEST_TOKEN" --scratch "$BATS_TEST_TMPDIR" --rounds "$rounds")
# jq over $times with q (a quantile, nearest rank below as in bench_row), med and p99 (rounded to
# the microsecond) defined.
# shellcheck disable=SC2016 # jq's variables, not the shell's
calc() {
	jq "${@:2}" 'def q($p): sort | .[($p * (length - 1)) | floor]; def r: . * 1000 | round / 1000;
		def med: q(0.5) | r; def p99: q(0.99) | r; '"$1" <<<"$times"
}
# list KEY [MINUS]: the values of one list less MINUS, one a line.
list() { calc ".$1[] - ${2:-0} | r" -r; }
direct_median=$(calc '.rt | med')

direct_name="slurmrestd submit + cancel of a hold job, direct (1 GPU, 1 node)"
mapfile -t direct < <(list rt)
bench_row "$direct_name" ms "" false \
	"$(calc '{p99: (.rt | p99), submit_median: (.submit | med), cancel_median: (.cancel | med)}' -c)" "${direct[@]}"

placed_name="slurmrestd submit, wait until placed, cancel, wait until CANCELLED, direct (polled)"
mapfile -t placed < <(list placed_rt)
bench_row "$placed_name" ms "" false \
	"$(calc '{p99: (.placed_rt | p99), until_placed_median: (.placed_wait | med),
		cancel_until_cancelled_median: (.placed_cancel_to_gone | med)}' -c)" "${placed[@]}"

mapfile -t v < <(list slurm_rt)
bench_row "hac-allocator, Slurm backend: allocate + release (POST 201 + DELETE 200, 1 GPU)" ms "$direct_name" false \
	"$(calc '{p99: (.slurm_rt | p99), allocate_median: (.slurm_allocate | med), allocate_p99: (.slurm_allocate | p99),
		release_median: (.slurm_release | med), release_p99: (.slurm_release | p99),
		slurm_scheduler_wait_median: (.slurm_sched_wait | med)}' -c)" "${v[@]}" -- "${direct[@]}"
mapfile -t v < <(list slurm_gone)
bench_row "hac-allocator, Slurm backend: allocate + release until Slurm says CANCELLED" ms "$placed_name" false \
	"$(calc '{p99: (.slurm_gone | p99), release_until_cancelled_median: (.slurm_release_to_gone | med),
		release_until_cancelled_p99: (.slurm_release_to_gone | p99), polls_median: (.slurm_polls | q(0.5)),
		get_job_median: (.get_job | med)}' -c)" "${v[@]}" -- "${placed[@]}"
mapfile -t v < <(list sim_rt)
bench_row "hac-allocator, simulated backend: allocate + release (POST 201 + DELETE 200, 1 GPU)" ms "" false \
	"$(calc '{p99: (.sim_rt | p99), allocate_median: (.sim_allocate | med), release_median: (.sim_release | med)}' -c)" \
	"${v[@]}"

# The target: each round's allocate + release less the median of the direct round trips, so that
# the row's median is the difference of the medians and its spread the allocator's.
mapfile -t v < <(list slurm_rt "$direct_median")
bench_row "hac-allocator's Slurm backend over slurmrestd's own round trip (difference of medians)" ms "target: 2 ms" false \
	"$(calc '{target_value: 2, p99: ([.slurm_rt[] - (.rt | q(0.5))] | p99),
		slurm_over_simulated: ((.slurm_rt | q(0.5)) - (.sim_rt | q(0.5)) | r),
		sqlite_commit_median: (.sqlite_commit | med), sqlite_commit_p90: (.sqlite_commit | q(0.9) | r)}' -c)" \
	"${v[@]}" -- 2
# The same without the time Slurm's scheduler took to place the job (slurmctld's log: from the
# submit to "Allocate"), which the allocator must wait for and a submit + cancel never does.
mapfile -t v < <(list slurm_net "$direct_median")
bench_row "the same, less Slurm's wait for its scheduler (slurmctld's log, per job)" ms "target: 2 ms" false \
	"$(calc '{target_value: 2, p99: ([.slurm_net[] - (.rt | q(0.5))] | p99),
		slurm_scheduler_wait_median: (.slurm_sched_wait | med), slurm_scheduler_wait_p90: (.slurm_sched_wait | q(0.9) | r)}' -c)" \
	"${v[@]}" -- 2
