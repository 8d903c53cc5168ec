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
# slurm:N runs N agents against the allocator on its Slurm backend, on a fake Slurm farm started
# here (tests/lib/slurm_cluster.sh: 20 nodes x 8 GPUs, one slurmd each, slurmrestd on a Unix socket
# in the bench's folder), with the load sized to that farm (70% busy, then 110%) and time compressed
# 4x by default (Slurm places a job in ~0.7 s, its scheduler passes ~1 s apart: a job's hold must
# stay long beside that). After the run it also waits (bounded) until Slurm has no job of the fleet
# left, checks that the allocator kept no hold or cancel, and compares with Slurm's own record
# (hac-allocator reconcile). Needs root and the Slurm packages: skipped (exit 77) otherwise when it
# is the only run asked for. tests/bench/fleet_slurm.sh is `fleet.sh slurm:1000` for scripts/bench.
#   usage: tests/bench/fleet.sh [N | slurm:N ...]   (default 100 1000 10000; quick: 50 agents for
#          ~15 s; slurm quick: 50 agents on 4 nodes, 30 s)
# Environment: HAC_FLEET_SIZES (the runs, as the arguments), HAC_FLEET_CONNECTIONS (32),
# HAC_FLEET_SLURM (N: adds slurm:N), HAC_FLEET_SLURM_NODES (20), HAC_FLEET_SLURM_COMPRESS (4),
# HAC_FLEET_SLURM_PHASES ("600 300" simulated s).
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
FLEET=$BUILD/tests/bench/hac-bench-fleet
[[ -x $FLEET ]] || skip "$FLEET is missing: build with -Dtests=enabled (meson setup, ninja)"
[[ -x $BUILD/allocator/hac-allocator ]] || skip "hac-allocator is missing: build first (meson setup, ninja)"
if (($#)); then sizes=("$@"); else read -r -a sizes <<<"${HAC_FLEET_SIZES:-$(bench_size "100 1000 10000" 50)}"; fi
[[ -z ${HAC_FLEET_SLURM:-} ]] || sizes+=("slurm:$HAC_FLEET_SLURM")
cluster=$BENCH_DIR/../lib/slurm_cluster.sh

# Why a Slurm run cannot be made here, or nothing.
slurm_missing() {
	if ((EUID != 0)); then
		echo "the Slurm farm needs root"
	elif ! command -v slurmrestd >/dev/null || ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null; then
		echo "Slurm is not installed: install munge slurmctld slurmd slurmrestd slurm-client"
	fi
}
only_slurm=1
for n in "${sizes[@]}"; do [[ $n == slurm:* ]] || only_slurm=0; done
if ((only_slurm)) && why=$(slurm_missing) && [[ -n $why ]]; then skip "$why"; fi

allocator_pid='' farm=''
cleanup() {
	[[ -z $allocator_pid ]] || { kill "$allocator_pid" 2>/dev/null; wait "$allocator_pid" 2>/dev/null || true; }
	[[ -z $farm ]] || "$cluster" stop "$farm" >&2 || true
	bench_cleanup
}
trap cleanup EXIT

# start_allocator DIR: hac-allocator on DIR/allocator.toml, on a free loopback port (DIR/port).
start_allocator() {
	local dir=$1 started=$SECONDS
	"$BUILD/allocator/hac-allocator" --config "$dir/allocator.toml" --listen 127.0.0.1:0 \
		--port-file "$dir/port" >"$dir/allocator.log" 2>&1 &
	allocator_pid=$!
	# Creating the accounts of a large fleet takes a while: one transaction each.
	wait_for "[[ -s '$dir/port' ]] || ! kill -0 $allocator_pid" 600
	[[ -s $dir/port ]] || { tail -n 20 "$dir/allocator.log" >&2; echo "fleet.sh: hac-allocator did not start" >&2; return 1; }
	echo "fleet.sh: hac-allocator ready in $((SECONDS - started)) s" >&2
}

stop_allocator_pid() {
	kill "$allocator_pid"
	wait "$allocator_pid" 2>/dev/null || true
	allocator_pid=
}

# run_fleet N COMPRESS PHASE1 PHASE2: one simulated fleet against a fresh allocator.
run_fleet() {
	local n=$1 compress=$2 phase1=$3 phase2=$4 dir=$BATS_TEST_TMPDIR/fleet-$1 rc=0
	mkdir -p "$dir"
	"$FLEET" config --agents "$n" --database "$dir/allocator.db" >"$dir/allocator.toml"
	echo "fleet.sh: N=$n: $("$FLEET" nodes --agents "$n") nodes x 8 GPUs" >&2
	start_allocator "$dir" || return 1
	"$FLEET" run --url "http://127.0.0.1:$(cat "$dir/port")" --agents "$n" --compress "$compress" \
		--phase1 "$phase1" --phase2 "$phase2" --connections "${HAC_FLEET_CONNECTIONS:-32}" \
		--allocator-pid "$allocator_pid" --database "$dir/allocator.db" --billed "$dir/billed.tsv" \
		--label "fleet N=$n (simulated farm, ${compress}x)" || rc=$?
	stop_allocator_pid
	"$FLEET" check --database "$dir/allocator.db" --billed "$dir/billed.tsv" || rc=1
	echo "fleet.sh: N=$n: $(grep -c ' -> ' "$dir/allocator.log" || true) requests logged by the allocator" >&2
	return "$rc"
}

# The CPU ticks of the Slurm farm's daemons (slurmctld, slurmrestd, every slurmd; not the
# slurmstepd of each job, which detach), as a JSON object by part.
slurm_ticks() {
	local part t
	for part in "$farm"/pids/*; do
		[[ $(basename "$part") == munged ]] && continue
		t=$(cpu_ticks "$(cat "$part")" 2>/dev/null) || continue
		echo "$(basename "$part") $t"
	done | jq -Rsc 'split("\n") | map(select(length > 0) | split(" ") | {(.[0]): (.[1] | tonumber)}) | add // {}'
}

# Slurm's jobs, all states (pending, running, completing), as "ID STATE" lines; fails when
# squeue does, so that no answer is not taken for no job.
slurm_jobs() { SLURM_CONF=$farm/slurm.conf squeue -h -o '%i %T'; }

# run_fleet_slurm N: N agents against the allocator on its Slurm backend, on a farm started here.
run_fleet_slurm() {
	local n=$1 dir=$BATS_TEST_TMPDIR/fleet-slurm-$1 rc=0 why nodes compress phase1 phase2 label
	if why=$(slurm_missing) && [[ -n $why ]]; then
		echo "fleet.sh: slurm:$n skipped: $why" >&2
		return 0
	fi
	nodes=${HAC_FLEET_SLURM_NODES:-$(bench_size 20 4)}
	compress=${HAC_FLEET_SLURM_COMPRESS:-4}
	read -r phase1 phase2 <<<"${HAC_FLEET_SLURM_PHASES:-$(bench_size "600 300" "80 40")}"
	mkdir -p "$dir"
	farm=$BATS_TEST_TMPDIR/slurm
	local t0=$EPOCHREALTIME start_s
	"$cluster" start "$farm" --nodes "$nodes" --gpus 8 >&2 || { echo "fleet.sh: the Slurm farm did not start" >&2; return 1; }
	start_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	echo "fleet.sh: slurm:$n: a Slurm farm of $nodes nodes x 8 GPUs started in $start_s s ($farm)" >&2
	# The time compression: Slurm places a hold job on its scheduler's next pass (~0.7 s after the
	# submit, passes ~1 s apart) and cancels in ~0.1 s, so a job's wall-clock hold (its simulated
	# duration / C) must stay long beside that, or Slurm holds GPUs noticeably longer than the
	# simulation thinks and the farm is busier than planned. At 4x the mean job holds 25 s of wall
	# time, about 30x the placement's wait; 20 nodes at 70% then make ~3 allocations a wall second.
	echo "fleet.sh: slurm:$n: ${compress}x compression, $phase1 + $phase2 simulated s ($(((phase1 + phase2) / compress)) s wall)," \
		"mean job $(awk -v c="$compress" 'BEGIN { printf "%.0f", 99 / c }') s of wall time" >&2
	"$FLEET" config --agents "$n" --farm-nodes "$nodes" --database "$dir/allocator.db" \
		--slurm "unix:$farm/slurmrestd.sock" --partition farm --jobcomp "$farm/log/jobcomp.txt" >"$dir/allocator.toml"
	start_allocator "$dir" || return 1
	label="fleet N=$n (Slurm, $nodes nodes, ${compress}x)"
	local ticks0 ticks1 wall0=$EPOCHREALTIME wall_s
	ticks0=$(slurm_ticks)
	"$FLEET" run --url "http://127.0.0.1:$(cat "$dir/port")" --agents "$n" --farm-nodes "$nodes" --backend slurm \
		--compress "$compress" --phase1 "$phase1" --phase2 "$phase2" --connections "${HAC_FLEET_CONNECTIONS:-32}" \
		--allocator-pid "$allocator_pid" --database "$dir/allocator.db" --billed "$dir/billed.tsv" \
		--label "$label" || rc=$?
	ticks1=$(slurm_ticks)
	wall_s=$(awk -v a="$wall0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

	# Slurm's side, the allocator still running: its cancels drain, and the holds queued when the
	# fleet stopped asking expire (queue_seconds, 15 s here). Then nothing of the fleet is left in
	# Slurm, not even completing (a cancel soon after a job's start may wait for KillWait, 30 s).
	local t1=$SECONDS left drain_s live
	wait_for "jobs=\$(slurm_jobs) && [[ -z \$jobs ]]" 120 || true
	drain_s=$((SECONDS - t1))
	jobs=$(slurm_jobs) || { echo "fleet.sh: slurm:$n: squeue failed" >&2; rc=1; }
	left=$(grep -c . <<<"$jobs" || true)
	live=$(grep -Ec ' (PENDING|RUNNING)$' <<<"$jobs" || true)
	echo "fleet.sh: slurm:$n: Slurm had no job of the fleet left after $drain_s s" \
		"$( ((left)) && echo "- NOT SO: $left left, $live of them pending or running: $(head -n 5 <<<"$jobs" | paste -sd, -)")" >&2
	((live == 0)) || rc=1
	stop_allocator_pid
	"$FLEET" check --database "$dir/allocator.db" --billed "$dir/billed.tsv" --slurm-checks || rc=1

	# Slurm's own record against the allocator's (hac-allocator reconcile). The usage records carry
	# the simulated clock (2030, compressed), so the window reaches past it and the start and end
	# comparisons do not apply; what must hold: every allocation a Slurm job that ran with its
	# node count. A hold job Slurm started for a job nobody asked for again (queued at the end,
	# then expired) is Slurm's "missing_in_allocator", which is what it was.
	local report kinds bad
	report=$("$BUILD/allocator/hac-allocator" reconcile --config "$dir/allocator.toml" --until 2100-01-01 --json 2>"$dir/reconcile.err") || true
	if ! kinds=$(jq -c '[.differences[].kind] | group_by(.) | map({(.[0]): length}) | add // {}' <<<"$report" 2>/dev/null); then
		echo "fleet.sh: slurm:$n: hac-allocator reconcile failed: $(tail -n 3 "$dir/reconcile.err")" >&2
		rc=1 kinds='{}'
	fi
	bad=$(jq '(.missing_in_slurm // 0) + (.nodes // 0)' <<<"$kinds")
	echo "fleet.sh: slurm:$n: reconcile compared $(jq '.compared' <<<"$report" 2>/dev/null) jobs: differences by kind $kinds" >&2
	((bad == 0)) || { echo "fleet.sh: slurm:$n: the allocator lent GPUs Slurm did not hold as such: $bad" >&2; rc=1; }

	# Rows of the Slurm side.
	local cpu per simmin
	cpu=$(jq -n --argjson a "$ticks0" --argjson b "$ticks1" --argjson hz "$(getconf CLK_TCK)" \
		'[$b | to_entries[] | {key, value: ((.value - ($a[.key] // 0)) / $hz)}] | from_entries')
	simmin=$(awk -v p1="$phase1" -v p2="$phase2" 'BEGIN { print (p1 + p2) / 60 }')
	per=$(jq -n --argjson c "$cpu" --argjson n "$n" --argjson m "$simmin" '[$c[]] | add / ($n / 1000) / $m')
	local common submitted
	submitted=$(grep -c 'submitted (' "$dir/allocator.log" || true)
	common=$(jq -nc --argjson n "$n" --argjson nodes "$nodes" --argjson c "$compress" '{agents: $n, nodes: $nodes, compress: $c, backend: "slurm"}')
	bench_row "$label: Slurm farm start ($nodes slurmd, slurmctld, slurmrestd ready)" s "" false "$common" "$start_s"
	bench_row "$label: Slurm's CPU-s (slurmctld, slurmrestd, slurmd) per 1,000 agents per simulated minute" s "" false \
		"$(jq -c --argjson c "$cpu" --argjson w "$wall_s" --argjson s "$submitted" '. + {cpu_s_by_part: ($c | with_entries(select(.key | test("slurmd-") | not))),
			slurmd_cpu_s: ([$c | to_entries[] | select(.key | test("slurmd-")) | .value] | add),
			cpu_s: ([$c[]] | add), run_wall_s: $w, slurm_jobs_submitted: $s,
			cpu_ms_per_slurm_job: (if $s > 0 then ([$c[]] | add) * 1000 / $s else null end)}' <<<"$common")" "$per"
	bench_row "$label: Slurm jobs left pending or running after the drain" jobs "" false \
		"$(jq -c --argjson l "$left" --argjson d "$drain_s" --argjson k "$kinds" \
			'. + {target_value: 0, drain_s: $d, left_any_state: $l, reconcile_differences: $k}' <<<"$common")" "$live"
	"$cluster" stop "$farm" >&2 || true
	farm=
	return "$rc"
}

status=0
for n in "${sizes[@]}"; do
	if [[ $n == slurm:* ]]; then
		run_fleet_slurm "${n#slurm:}" || status=1
	elif [[ ${HAC_BENCH_QUICK:-0} == 1 ]]; then
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
