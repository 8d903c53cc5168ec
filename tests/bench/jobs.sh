#!/usr/bin/env bash
# Job start/end through the agent against the allocator's own round trips, and durable job events
# per second against a plain SQLite loop. Prints one JSON object per figure.
#   usage: tests/bench/jobs.sh [JOBS]   (default 1000, 10 quick; HAC_BUILD selects the build)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
jobs=${1:-$(bench_size 1000 10)}

# Two devices: the agent's jobs use device 0, the direct allocator calls device 1.
write_allocator_config
sed -i 's/^devices = .*/devices = ["Large.64GB", "Large.64GB"]/' "$BATS_TEST_TMPDIR/allocator.toml"
start_all
"$BUILD/tests/bench/hac-bench-jobs" round-trip "$HAC_SOCKET" "$BATS_TEST_TMPDIR/agent.toml" "$jobs"
mkdir "$BATS_TEST_TMPDIR/log"
"$BUILD/tests/bench/hac-bench-jobs" log "$BATS_TEST_TMPDIR/log" "$jobs"
