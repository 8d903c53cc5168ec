#!/usr/bin/env bats
# Every benchmark of tests/bench in its quick mode (HAC_BENCH_QUICK=1: a few calls, jobs or
# seconds), against the build under test: it runs to the end and prints the rows scripts/bench
# tabulates, each well formed (tests/bench/README.md), so a benchmark that no longer runs on the
# current code shows here rather than on the day someone measures. No figure is judged: the
# numbers of a debug build on a shared machine say nothing.

load ../lib/common

# bench NAME ROWS: runs tests/bench/NAME.sh quick and checks that it printed ROWS rows, each a
# JSON object with the fields scripts/bench reads. Skips, with the benchmark's reason, on exit 77.
bench() {
	local name=$1 rows=$2 out=$BATS_TEST_TMPDIR/$1.out err=$BATS_TEST_TMPDIR/$1.err rc=0
	HAC_BENCH_QUICK=1 HAC_BUILD=$BUILD timeout -k 10 600 bash "$REPO/tests/bench/$name.sh" >"$out" 2>"$err" </dev/null || rc=$?
	if ((rc == 77)); then
		skip "$(sed -n 's/^skipped: //p' "$err" | tail -n 1)"
	fi
	if ((rc != 0)); then
		echo "tests/bench/$name.sh exited with status $rc; its stderr:"
		tail -n 40 "$err"
		return 1
	fi
	# Lines that are not rows are the benchmark talking (scripts/bench shows them as such); a line
	# that looks like a row must be one.
	local found=0 line
	while IFS= read -r line; do
		[[ $line == '{'* ]] || continue
		jq -e '
			(.bench | type == "string" and length > 0) and (.unit | type == "string" and length > 0)
			and ([.median, .p10, .p90] | all(type == "number")) and .p10 <= .median and .median <= .p90
			and (.n | type == "number" and . >= 1) and (.baseline | type == "string")
			and (.baseline_median | type == "number") and (.ratio == null or (.ratio | type == "number"))
			and (.higher_is_better | type == "boolean")' <<<"$line" >/dev/null ||
			{ echo "tests/bench/$name.sh printed a malformed row: $line"; return 1; }
		found=$((found + 1))
	done <"$out"
	[[ $found -eq $rows ]] || { echo "tests/bench/$name.sh printed $found rows, not $rows:"; cat "$out"; return 1; }
}

@test "smi.sh: hac-smi --json against nc, 1 and 64 callers" {
	bench smi 2
}

@test "api_load.sh: the local API at 1, 16 and 256 clients, the 256 over two users" {
	bench api_load 6
	if [[ $(id -u) == 0 ]] && id -u nobody >/dev/null 2>&1; then
		jq -se 'map(select(.clients == 256)) | length == 2 and all(.uids == 2 and .closed == 0)' "$BATS_TEST_TMPDIR/api_load.out"
	fi
}

@test "agent_resources.sh: RSS idle, after jobs and under load; CPU and wakeups idle" {
	bench agent_resources 6
}

@test "jobs.sh: job start and end through the agent, durable job events" {
	bench jobs 4
}

@test "callgrind.sh: instructions of hac-smi --json" {
	bench callgrind 1
}

@test "usage.sh: hac-usage reports against sqlite3" {
	bench usage 8
}

@test "update_check.sh: hac-update --check against a Python start" {
	bench update_check 3
}

@test "slurm_rest.sh: slurmrestd's round trip against allocate + release through the Slurm and simulated backends" {
	bench slurm_rest 8
	# The allocator's rounds ran against the same farm: every row of the allocator has its rounds.
	jq -se 'map(select(.bench | startswith("hac-allocator"))) | length == 4 and all(.n == 3)' "$BATS_TEST_TMPDIR/slurm_rest.out"
}

@test "fleet.sh: a simulated fleet against the allocator, its invariants checked" {
	bench fleet 11
}

@test "fleet_slurm.sh: the fleet on the allocator's Slurm backend, Slurm drained, its invariants checked" {
	bench fleet_slurm 14
	# Nothing of the fleet left in Slurm, and the load ran on the Slurm backend.
	jq -se 'map(select(.bench | endswith("after the drain"))) | length == 1 and .[0].median == 0' "$BATS_TEST_TMPDIR/fleet_slurm.out"
	jq -se 'map(select(.backend == "slurm")) | length == 14' "$BATS_TEST_TMPDIR/fleet_slurm.out"
}
