#!/usr/bin/env bash
# What hac-agent costs the machine: its resident memory (VmRSS) idle, after many jobs and under
# the load of api_load.sh; its CPU time and its threads' wakeups while idle (it must not poll).
#   usage: tests/bench/agent_resources.sh [JOBS] [IDLE_SECONDS]
#   (defaults 100000 and 60, or $HAC_BENCH_JOBS and $HAC_BENCH_IDLE_SECONDS; 20 and 1 quick;
#   HAC_BUILD selects the build)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
jobs=${1:-${HAC_BENCH_JOBS:-$(bench_size 100000 20)}}
idle=${2:-${HAC_BENCH_IDLE_SECONDS:-$(bench_size 60 1)}}
[[ $jobs =~ ^[0-9]+$ && $idle =~ ^[0-9]+$ && $idle -gt 0 ]] || { echo "usage: $0 [JOBS] [IDLE_SECONDS]" >&2; exit 2; }
hz=$(getconf CLK_TCK)

# rss_samples N: N readings of the agent's VmRSS in MiB, 0.2 s apart.
rss_samples() {
	local i
	for ((i = 0; i < $1; i++)); do
		((i == 0)) || sleep 0.2
		awk -v k="$(rss_kib "$AGENT_PID")" 'BEGIN { printf "%.2f\n", k / 1024 }'
	done
}

start_all
sleep 2  # the start's own work (registration, first heartbeat) settles
mapfile -t idle_rss < <(rss_samples 5)
bench_row "agent RSS, idle" MiB "target: 8 MiB" false "$(rss_parts "$AGENT_PID" | jq -c '. + {target_value: 8}')" \
	"${idle_rss[@]}" -- 8
# The same memory with each shared page divided among the processes that map it: what this agent
# adds to the machine, as long as other processes use the same libraries.
pss=$(rss_parts "$AGENT_PID" | jq .pss_mib)
bench_row "agent PSS, idle" MiB "" false '{}' "$pss"

# Idle: no jobs, no callers. The agent re-registers with the allocator every heartbeat_seconds
# (30 by default), which is the only work it should do.
ticks0=$(cpu_ticks "$AGENT_PID") woken0=$(wakeups "$AGENT_PID")
sleep "$idle"
ticks1=$(cpu_ticks "$AGENT_PID") woken1=$(wakeups "$AGENT_PID")
cpu_ms=$(((ticks1 - ticks0) * 1000 / hz))
bench_row "agent CPU time, idle ${idle} s" ms "" false \
	"{\"target_value\": 0, \"seconds\": $idle, \"tick_ms\": $((1000 / hz))}" "$cpu_ms"
# Voluntary + involuntary context switches of all its threads: no baseline, no target, since the
# heartbeat wakes it on purpose; a poll would show as hundreds.
bench_row "agent thread wakeups, idle ${idle} s" wakeups "" false "{\"seconds\": $idle}" "$((woken1 - woken0))"

if ((jobs > 0)); then
	start=$EPOCHREALTIME
	"$BUILD/tests/bench/hac-bench-jobs" churn "$HAC_SOCKET" "$jobs"
	took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	echo "agent_resources.sh: $jobs jobs through the agent took $took s" >&2
	sleep 2
	mapfile -t after_rss < <(rss_samples 5)
	bench_row "agent RSS, after $jobs jobs" MiB "the idle RSS above" false \
		"$(rss_parts "$AGENT_PID" | jq -c ". + {jobs: $jobs, jobs_seconds: $took}")" "${after_rss[@]}" -- "${idle_rss[@]}"
fi

# Under api_load.sh's heaviest load: 256 keep-alive clients (full_load), one thread each in the agent.
full_load
"$BUILD/tests/bench/hac-bench-load" "$HAC_SOCKET" --clients "$LOAD_CLIENTS" "${LOAD_ARGS[@]}" --seconds "$(bench_size 6 3)" --quiet &
load=$!
sleep 2.5
mapfile -t load_rss < <(rss_samples "$(bench_size 15 3)")
parts=$(rss_parts "$AGENT_PID" | jq -c ". + {clients: $LOAD_CLIENTS}")
wait "$load" || { echo "agent_resources.sh: the load generator failed (see above)" >&2; exit 1; }
bench_row "agent RSS, under load ($LOAD_CLIENTS clients)" MiB "the idle RSS above" false "$parts" \
	"${load_rss[@]}" -- "${idle_rss[@]}"
