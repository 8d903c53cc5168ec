#!/usr/bin/env bash
# hac-usage on a job log of 1,000,000 jobs (a busy year), each report against the same aggregate
# query run by the sqlite3 command-line tool on the same file, in the same run: the monthly
# summary (last month per SKU, as the default shows this month), --by month and --by day for the
# year. Prints a row for each: the wall times of hac-usage against sqlite3's, and the mean CPU time
# (hac-usage with the agent's share, or sqlite3) in ms; the aim is a wall time within 1.5x of
# sqlite3's and under 200 ms. On a machine busy with other work the wall times grow, the CPU times
# do not. Checks too that both give the same totals (exit 1 if not). Needs a build (HAC_BUILD,
# default build/), sqlite3, jq and curl; exits 77 (skipped) without them.
#   tests/bench/usage.sh [JOBS] [ROUNDS]   (default 1,000,000 and 7; 1,000 and 1 quick)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
JOBS=${1:-$(bench_size 1000000 1000)}
ROUNDS=${2:-$(bench_size 7 1)}
for tool in "$BUILD/agent/hac-agent" "$BUILD/tools/hac-usage/hac-usage"; do
	[[ -x $tool ]] || skip "$tool is missing: build first (meson setup, ninja)"
done
for tool in sqlite3 jq curl; do
	command -v $tool >/dev/null || skip "$tool is missing (apt-get install $tool)"
done

# Days, weeks and months in UTC, so the sqlite3 query can draw the same periods with arithmetic.
export TZ=UTC
dir=$BATS_TEST_TMPDIR
agent_pid=
cleanup() {
	[[ -z $agent_pid ]] || { kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null || true; }
	bench_cleanup
}
trap cleanup EXIT

# An agent whose allocator is not there: reports never wait on it.
printf 'hac-bench-token-0123456789abcdef\n' >"$dir/token"
chmod 600 "$dir/token"
cat >"$dir/agent.toml" <<EOT
socket = "$dir/agent.sock"
database = "$dir/jobs.db"
token_file = "$dir/token"
[allocator]
url = "http://127.0.0.1:9"
connect_timeout_ms = 100
EOT
export HAC_SOCKET=$dir/agent.sock
start_agent() {
	"$BUILD/agent/hac-agent" --config "$dir/agent.toml" >>"$dir/agent.log" 2>&1 &
	agent_pid=$!
	# Long enough for the migration of a million jobs on a slow machine.
	for _ in $(seq 1200); do
		curl -sf --unix-socket "$HAC_SOCKET" http://hac/v1/version >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "usage.sh: hac-agent did not start; its log:" >&2
	cat "$dir/agent.log" >&2
	exit 1
}

now_ms=$(($(date +%s) * 1000))
day_ms=86400000
today=$((now_ms / day_ms * day_ms))
year_start=$((today - 365 * day_ms))
tomorrow=$((today + day_ms))
this_month=$(date +%Y-%m-01)
last_month=$(date -d "$this_month -1 month" +%Y-%m-01)
uid=$(id -u)

# A job log at schema version 1, filled with one INSERT ... SELECT over a recursive CTE: a job
# every 31.5 s for a year, 1 s to 2 h each, three SKUs, one in 97 not billable. None runs: a
# running job's bill grows while the two are timed. The agent then migrates it, which bills every
# job (migrations/v3.sql), as on a VM whose agent is upgraded.
t0=$(date +%s%N)
sqlite3 "$dir/jobs.db" >/dev/null <<EOT
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
$(cat "$REPO/agent/migrations/v1.sql")
PRAGMA user_version = 1;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $JOBS - 1),
s(i, started) AS (SELECT i, $year_start + i * (365 * $day_ms / $JOBS) FROM n)
INSERT INTO jobs (id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, pid, pid_start,
		  command, state, started_at, heartbeat_at, ended_at, end_reason, billable)
SELECT printf('%08x-0000-4000-8000-%012x', i, i), 0, 'bench-device',
       CASE i % 3 WHEN 0 THEN 'Large.64GB' WHEN 1 THEN 'Small.16GB' ELSE '2xLarge.192GB' END,
       CASE i % 3 WHEN 0 THEN 4 WHEN 1 THEN 1 ELSE 12 END, 20000, 'USD', $uid, 100, 0, 'python3 train.py',
       'ended', started, started, started + 1000 + (i * 7919) % 7200000,
       CASE WHEN i % 97 = 0 THEN 'allocator_failure' ELSE 'finished' END,
       CASE WHEN i % 97 = 0 THEN 0 ELSE 1 END
FROM s;
COMMIT;
EOT
seed_ms=$((($(date +%s%N) - t0) / 1000000))
t0=$(date +%s%N)
start_agent
migrate_ms=$((($(date +%s%N) - t0) / 1000000))

# The aggregate of each report as the agent runs it (agent/usage_log.cpp), for the sqlite3 tool.
sums="count(*), sum(NOT j.billable), sum(j.billable * j.gpu_minutes), sum(j.cost_micro)"
ended="j.cost_micro IS NOT NULL AND (:uid IS NULL OR j.uid = :uid)"
params=".parameter set :uid $uid
.parameter set :currency \"'USD'\""
sku_sql() {
	cat <<EOT
$params
SELECT j.sku, $sums FROM jobs j INDEXED BY jobs_usage WHERE j.currency = :currency AND j.started_at >= $1 AND j.started_at < $2 AND $ended GROUP BY j.sku ORDER BY j.sku;
EOT
}
# $1 $2: since, until; $3: a SELECT of the boundaries (b) in order.
period_sql() {
	cat <<EOT
$params
CREATE TEMP TABLE usage_periods (i INTEGER PRIMARY KEY, begins INTEGER NOT NULL, ends INTEGER NOT NULL);
WITH RECURSIVE b(t) AS ($3) INSERT INTO usage_periods (begins, ends) SELECT t, lead FROM (SELECT t, lead(t, 1, $2) OVER (ORDER BY t) AS lead FROM b) WHERE t < $2;
SELECT p.i, p.begins, p.ends, $sums FROM temp.usage_periods p CROSS JOIN jobs j INDEXED BY jobs_usage ON j.currency = :currency AND j.started_at >= p.begins AND j.started_at < p.ends WHERE $ended GROUP BY p.i ORDER BY p.i;
EOT
}
# For scale: the year by day with each job's bill worked out by the query, from the columns the
# job log had before v3 stored the bill (the same rule in SQL as migrations/v3.sql).
raw_sql() {
	local minutes="CASE WHEN j.ended_at > j.started_at AND j.gpus > 0 THEN j.gpus * ((j.ended_at - j.started_at + 59999) / 60000) ELSE 0 END"
	cat <<EOT
$params
CREATE TEMP TABLE usage_periods (i INTEGER PRIMARY KEY, begins INTEGER NOT NULL, ends INTEGER NOT NULL);
WITH RECURSIVE b(t) AS ($3) INSERT INTO usage_periods (begins, ends) SELECT t, lead FROM (SELECT t, lead(t, 1, $2) OVER (ORDER BY t) AS lead FROM b) WHERE t < $2;
SELECT p.i, count(*), sum(NOT j.billable), sum(j.billable * ($minutes)), sum(CASE WHEN j.billable AND j.price_micro_per_gpu_minute > 0 THEN ($minutes) * j.price_micro_per_gpu_minute ELSE 0 END) FROM temp.usage_periods p CROSS JOIN jobs j INDEXED BY jobs_by_start ON j.started_at >= p.begins AND j.started_at < p.ends WHERE j.state = 'ended' AND (:uid IS NULL OR j.uid = :uid) GROUP BY p.i;
EOT
}
days="SELECT $year_start UNION ALL SELECT t + $day_ms FROM b WHERE t + $day_ms < $tomorrow"
months="SELECT $year_start UNION ALL SELECT CAST(strftime('%s', date(t / 1000, 'unixepoch', 'start of month', '+1 month')) AS INTEGER) * 1000 FROM b WHERE t < $tomorrow"

# CPU time in tenths of ms used so far by this shell's children and by the agent: on a machine
# shared with other work, wall time tells how long a report took, CPU time how much work it was.
cpu_tenths() {
	times >"$dir/times" # a builtin: it must run in this shell, not in a subshell
	local children agent
	children=$(sed -n 2p "$dir/times" | awk '{ for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 600000 + a[2] * 10000 } }
		END { printf "%.0f", t }')
	agent=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 10000 / hz }' "/proc/$agent_pid/stat")
	echo $((children + agent))
}
# measure COMMAND...: runs it ROUNDS times; sets WALLS (each wall time, in ms) and CPU (the mean
# CPU time of it and the agent, in ms).
measure() {
	local i t0 c0
	WALLS=()
	cpu_tenths >"$dir/c0"
	for ((i = 0; i < ROUNDS; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null
		WALLS+=("$(tenths $((($(date +%s%N) - t0) / 100000)))")
	done
	cpu_tenths >"$dir/c1"
	CPU=$(tenths $((($(cat "$dir/c1") - $(cat "$dir/c0")) / ROUNDS)))
}
sqlite3_script() { sqlite3 "$dir/jobs.db" <<<"$1"; }
tenths() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }

since_year=$(date -d "@$((year_start / 1000))" +%F)
until_year=$(date -d "@$((tomorrow / 1000))" +%F)
failures=0
# report NAME SQL HAC_USAGE_ARGS...: runs both once to compare their totals, then times both.
report() {
	local name=$1 sql=$2
	shift 2
	local ours theirs
	ours=$("$BUILD/tools/hac-usage/hac-usage" "$@" --json | jq -c '.totals[0] | [.jobs, .gpu_minutes, .cost_micro]')
	theirs=$(sqlite3 "$dir/jobs.db" <<<"$sql" | awk -F'|' '{ n = NF; jobs += $(n-3); gm += $(n-1); cost += $n } END { printf "[%.0f,%.0f,%.0f]", jobs, gm, cost }')
	if [[ $ours != "$theirs" ]]; then
		echo "$name: hac-usage says $ours (jobs, GPU-minutes, cost), sqlite3 says $theirs" >&2
		failures=$((failures + 1))
	fi
	# hac-usage is timed before and after sqlite3, and the second count kept, so that both run
	# with the job log in the page cache.
	local s=() sc
	measure "$BUILD/tools/hac-usage/hac-usage" "$@"
	measure sqlite3_script "$sql"
	s=("${WALLS[@]}") sc=$CPU
	measure "$BUILD/tools/hac-usage/hac-usage" "$@"
	bench_row "hac-usage $name, $JOBS jobs: wall time" ms "sqlite3 on the same job log, same aggregate" false \
		'{"target_ratio": 1.5}' "${WALLS[@]}" -- "${s[@]}"
	bench_row "hac-usage $name, $JOBS jobs: CPU time (with the agent's)" ms \
		"sqlite3 on the same job log, same aggregate, CPU time" false '{}' "$CPU" -- "$sc"
}

echo "usage.sh: job log of $JOBS jobs over a year, $(du -m "$dir/jobs.db" | cut -f1) MB; seeded at schema v1 in $seed_ms ms" >&2
bench_row "hac-agent start: migrate and bill a job log of $JOBS jobs" ms "" false '{}' "$migrate_ms"
report "monthly summary, by SKU" "$(sku_sql "$(($(date -d "$last_month" +%s) * 1000))" "$(($(date -d "$this_month" +%s) * 1000))")" \
	--since "$last_month" --until "$this_month"
report "--by month, a year" "$(period_sql "$year_start" "$tomorrow" "$months")" --by month --since "$since_year" --until "$until_year"
report "--by day, a year" "$(period_sql "$year_start" "$tomorrow" "$days")" --by day --since "$since_year" --until "$until_year"
# For scale: what the report would cost without the bills the job log stores.
measure sqlite3_script "$(raw_sql "$year_start" "$tomorrow" "$days")"
bench_row "sqlite3 --by day, a year, $JOBS jobs, each bill worked out from the raw columns" ms "" false '{}' "${WALLS[@]}"
((failures == 0)) || { echo "usage.sh: $failures report(s) disagree with sqlite3" >&2; exit 1; }
