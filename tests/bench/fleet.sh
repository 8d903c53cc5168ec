#!/usr/bin/env bash
# A fleet of agents against one hac-allocator (issue 15): hac-bench-fleet (tests/bench/fleet/)
# simulates N agents in one process, speaking the allocator API as hac-agent does (register and a
# heartbeat every 30 s +-20%, Poisson jobs with lognormal durations, allocate -> hold -> usage,
# farm_full honoured through Retry-After, 1% of answers dropped and replayed with the same key,
# 0.1% of agents crashing and replaying their outbox). The simulated farm is sized so that it is
# about 70% busy, then a phase at 110% exercises farm_full. Time is compressed so that every run
# makes about the request rate of 10,000 real agents (N=100 at 100x, 1,000 at 10x, 10,000 at 1x).
# Per N it prints the rows of hac-bench-fleet run (latencies, rates, errors, the allocator's CPU,
# RSS, PSS, database growth and fds), then stops the allocator and checks the invariants on its
# database (hac-bench-fleet check): no GPU lent to two jobs at once, every allocation released and
# billed, the billed total equal to the simulated one, no key billed twice. Exit 1 when one breaks
# (or the allocator did not keep up within the run's bounds).
#   usage: tests/bench/fleet.sh [N...]   (default 100 1000 10000; quick: 50 agents for ~15 s)
# Environment: HAC_FLEET_SIZES (the N to run, as the arguments), HAC_FLEET_CONNECTIONS (32).
# Slurm (N=1,000 on a 20-node fake Slurm) is not run yet: see tests/bench/README.md.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
FLEET=$BUILD/tests/bench/hac-bench-fleet
[[ -x $FLEET ]] || skip "$FLEET is missing: build with -Dtests=enabled (meson setup, ninja)"
[[ -x $BUILD/allocator/hac-allocator ]] || skip "hac-allocator is missing: build first (meson setup, ninja)"
if (($#)); then sizes=("$@"); else read -r -a sizes <<<"${HAC_FLEET_SIZES:-$(bench_size "100 1000 10000" 50)}"; fi

allocator_pid=
cleanup() {
	[[ -z $allocator_pid ]] || { kill "$allocator_pid" 2>/dev/null; wait "$allocator_pid" 2>/dev/null || true; }
	bench_cleanup
}
trap cleanup EXIT

# run_fleet N COMPRESS PHASE1 PHASE2: one simulated fleet against a fresh allocator.
run_fleet() {
	local n=$1 compress=$2 phase1=$3 phase2=$4 dir=$BATS_TEST_TMPDIR/fleet-$1 rc=0
	mkdir -p "$dir"
	"$FLEET" config --agents "$n" --database "$dir/allocator.db" >"$dir/allocator.toml"
	local started=$SECONDS
	"$BUILD/allocator/hac-allocator" --config "$dir/allocator.toml" --listen 127.0.0.1:0 \
		--port-file "$dir/port" >"$dir/allocator.log" 2>&1 &
	allocator_pid=$!
	# Creating the accounts of a large fleet takes a while: one transaction each.
	wait_for "[[ -s '$dir/port' ]] || ! kill -0 $allocator_pid" 600
	[[ -s $dir/port ]] || { tail -n 20 "$dir/allocator.log" >&2; echo "fleet.sh: hac-allocator did not start" >&2; return 1; }
	echo "fleet.sh: N=$n: hac-allocator ready in $((SECONDS - started)) s ($("$FLEET" nodes --agents "$n") nodes x 8 GPUs)" >&2
	"$FLEET" run --url "http://127.0.0.1:$(cat "$dir/port")" --agents "$n" --compress "$compress" \
		--phase1 "$phase1" --phase2 "$phase2" --connections "${HAC_FLEET_CONNECTIONS:-32}" \
		--allocator-pid "$allocator_pid" --database "$dir/allocator.db" --billed "$dir/billed.tsv" \
		--label "fleet N=$n (simulated farm, ${compress}x)" || rc=$?
	kill "$allocator_pid"
	wait "$allocator_pid" 2>/dev/null || true
	allocator_pid=
	"$FLEET" check --database "$dir/allocator.db" --billed "$dir/billed.tsv" || rc=1
	echo "fleet.sh: N=$n: $(grep -c ' -> ' "$dir/allocator.log" || true) requests logged by the allocator" >&2
	return "$rc"
}

status=0
for n in "${sizes[@]}"; do
	if [[ ${HAC_BENCH_QUICK:-0} == 1 ]]; then
		run_fleet "$n" 60 480 240 || status=1       # 12 s wall
	elif ((n <= 100)); then
		run_fleet "$n" 100 1200 600 || status=1     # 18 s wall
	elif ((n <= 1000)); then
		run_fleet "$n" 10 1200 600 || status=1      # 3 min wall
	else
		run_fleet "$n" 1 180 90 || status=1         # 4.5 min wall
	fi
done
exit "$status"
