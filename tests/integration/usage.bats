#!/usr/bin/env bats
# hac-usage end to end: real jobs through hac-run, hac-agent and hac-allocator; job logs seeded with
# sqlite3 for goldens and for a total worked out by hand; --reconcile; who may see whose usage.

load ../lib/common

GOLDEN=$REPO/tests/integration/golden

# Days are local: a zone off UTC, with summer time ending inside the goldens' period.
setup() { export TZ=Europe/Berlin; }
teardown() { stop_all; }

# seed_job_log SQL: a job log at schema version 1 (from before jobs carried their bill) holding
# the jobs SQL inserts; the agent migrates and bills them when it starts, as on a VM whose agent
# is upgraded. Times in SQL via ms('2026-10-24 08:00:00'), UTC.
seed_job_log() {
	{
		cat "$REPO/agent/migrations/v1.sql"
		echo "PRAGMA user_version = 1;"
		sed "s/ms(\('[^']*'\))/(strftime('%s', \1) * 1000)/g" <<<"$1"
	} | sqlite3 "$BATS_TEST_TMPDIR/jobs.db"
}

job_log() { sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"; }
allocator_db() { sqlite3 "$BATS_TEST_TMPDIR/allocator.db" "$1"; }
outbox_empty() { [ "$(job_log 'SELECT count(*) FROM outbox')" = 0 ]; }

# golden NAME COMMAND...: the command's output, the user's name and uid made placeholders, must
# equal tests/integration/golden/NAME. HAC_UPDATE_GOLDEN=1 writes it instead (then review the diff).
golden() {
	local name=$1
	shift
	run "$@"
	[ "$status" -eq 0 ]
	local out
	out=$(sed -e "s/\"user\": \"$(id -un)\"/\"user\": \"@USER@\"/; s/\"uid\": $(id -u),/\"uid\": \"@UID@\",/; s/^\([0-9a-f-]*\),$(id -un),/\1,@USER@,/" <<<"$output")
	if [[ -n ${HAC_UPDATE_GOLDEN:-} ]]; then
		printf '%s\n' "$out" >"$GOLDEN/$name"
	fi
	diff -u "$GOLDEN/$name" <(printf '%s\n' "$out")
}

# Eight jobs around the end of summer time (October 25) and of October, in Europe/Berlin:
# the edges of the billing rule, a job across local midnight and one across the month's end (both
# counted wholly where they started), one on the device resized to Small.16GB at another price,
# one not billable, one reconstructed, one after local midnight that is still the day before in UTC.
seed_goldens() {
	local uid
	uid=$(id -u)
	seed_job_log "
INSERT INTO jobs (id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, pid, pid_start,
		  command, name, state, started_at, heartbeat_at, ended_at, exit_status, end_reason, billable, reconstructed)
VALUES
('00000000-0000-4000-8000-000000000001', 0, 'dev-0', 'Large.64GB', 4, 20000, 'USD', $uid, 101, 0, 'train', 'edge-59s', 'ended',
 ms('2026-10-24 08:00:00'), 0, ms('2026-10-24 08:00:59'), 0, 'finished', 1, 0),
('00000000-0000-4000-8000-000000000002', 0, 'dev-0', 'Large.64GB', 4, 20000, 'USD', $uid, 102, 0, 'train', 'edge-60s', 'ended',
 ms('2026-10-24 09:00:00'), 0, ms('2026-10-24 09:01:00'), 0, 'finished', 1, 0),
('00000000-0000-4000-8000-000000000003', 0, 'dev-0', 'Large.64GB', 4, 20000, 'USD', $uid, 103, 0, 'train', 'edge-61s', 'ended',
 ms('2026-10-24 10:00:00'), 0, ms('2026-10-24 10:01:01'), 0, 'finished', 1, 0),
('00000000-0000-4000-8000-000000000004', 0, 'dev-0', 'Large.64GB', 4, 20000, 'USD', $uid, 104, 0, 'train', 'midnight', 'ended',
 ms('2026-10-25 22:59:30'), 0, ms('2026-10-25 23:01:00'), 0, 'finished', 1, 0),
('00000000-0000-4000-8000-000000000005', 0, 'dev-0', 'Large.64GB', 4, 20000, 'USD', $uid, 105, 0, 'train', 'month-end', 'ended',
 ms('2026-10-31 22:58:00'), 0, ms('2026-10-31 23:03:00'), 0, 'finished', 1, 0),
('00000000-0000-4000-8000-000000000006', 0, 'dev-0', 'Small.16GB', 1, 30000, 'USD', $uid, 106, 0, 'train', 'resized', 'ended',
 ms('2026-11-01 09:00:00'), 0, ms('2026-11-01 09:10:00'), 0, 'finished', 1, 0),
('00000000-0000-4000-8000-000000000007', 0, 'dev-0', 'Small.16GB', 1, 30000, 'USD', $uid, 107, 0, 'train', 'failed', 'ended',
 ms('2026-11-01 10:00:00'), 0, ms('2026-11-01 10:00:05'), NULL, 'allocator_failure', 0, 0),
('00000000-0000-4000-8000-000000000008', 0, 'dev-0', 'Small.16GB', 1, 30000, 'USD', $uid, 108, 0, 'train', 'reconstructed', 'ended',
 ms('2026-11-01 23:30:00'), 0, ms('2026-11-01 23:32:30'), NULL, 'process_died', 1, 1);
"
}

@test "goldens: by SKU, by day, by month and per job, as CSV and JSON, in local time" {
	seed_goldens
	start_all
	local period=(--since 2026-10-24 --until 2026-11-03)
	golden usage-by-sku.csv hac-usage "${period[@]}" --format csv
	golden usage-by-day.csv hac-usage "${period[@]}" --by day --format csv
	golden usage-jobs.csv hac-usage "${period[@]}" --jobs --format csv
	golden usage-by-month.json bash -c "hac-usage ${period[*]} --by month --json | jq 'del(.as_of, .allocator)'"
	golden usage-jobs.json bash -c "hac-usage ${period[*]} --jobs --json | jq 'del(.as_of, .allocator)'"
	# Every view of the same jobs comes to the same total.
	run hac-usage "${period[@]}"
	[[ $output == *"| Total      |    8 |          57 | 1.27 USD |"* ]]
	[[ $output == *"1 job not billable, shown at no cost: its command never ran"* ]]
	for by in day week month sku; do
		[ "$(hac-usage "${period[@]}" --by $by --json | jq -c '.totals')" = \
			"$(hac-usage "${period[@]}" --json | jq -c '.totals')" ]
	done
	[ "$(hac-usage "${period[@]}" --jobs --json | jq '[.jobs[].cost_micro] | add')" = 1270000 ]
}

@test "a job log of 10,000 jobs bills the total worked out by hand" {
	# A job a minute from Monday, January 5, 2026, 00:00 UTC; 4 GPUs at 0.02 USD a GPU-minute; lasting
	# in turn 0 s, 59 s, 60 s, 61 s and 119.999 s, so 0, 1, 1, 2 and 2 minutes: 6 minutes per 5 jobs,
	# 12,000 in all. Every 100th job (the 119.999 s kind) is not billable: 100 x 2 minutes off.
	# Billed: (12,000 - 200) x 4 = 47,200 GPU-minutes, x 0.02 USD = 944.00 USD.
	seed_job_log "
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
INSERT INTO jobs (id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, pid, pid_start,
		  command, state, started_at, heartbeat_at, ended_at, end_reason, billable)
SELECT printf('%08x-0000-4000-8000-000000000000', i), 0, 'dev-0', 'Large.64GB', 4, 20000, 'USD', $(id -u), 100, 0,
       'train', 'ended', ms('2026-01-05 00:00:00') + i * 60000, 0,
       ms('2026-01-05 00:00:00') + i * 60000 + CASE i % 5 WHEN 0 THEN 0 WHEN 1 THEN 59000 WHEN 2 THEN 60000
                                                          WHEN 3 THEN 61000 ELSE 119999 END,
       CASE WHEN i % 100 = 99 THEN 'allocator_failure' ELSE 'finished' END, CASE WHEN i % 100 = 99 THEN 0 ELSE 1 END
FROM n;
"
	start_all
	local period=(--since 2026-01-05T00:00Z --until 2026-01-12T00:00Z)
	run hac-usage "${period[@]}" --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '.totals' <<<"$output")" = \
		'[{"cost_micro":944000000,"currency":"USD","gpu_minutes":47200,"jobs":10000,"key":"total","non_billable_jobs":100,"period_end":null,"period_start":null,"running_jobs":0,"uid":null}]' ]
	run hac-usage "${period[@]}"
	[[ $output == *"| Total      | 10000 |       47200 | 944.00 USD |"* ]]
	# The same through the periods (one ISO week, local), and job by job.
	[ "$(hac-usage "${period[@]}" --by week --json | jq -c '[.rows[] | [.period, .jobs, .cost_micro]]')" = '[["2026-W02",10000,944000000]]' ]
	[ "$(hac-usage "${period[@]}" --jobs --json | jq '[.jobs[].cost_micro] | add')" = 944000000 ]
	# And the sum sqlite3 gets from the bills the agent stored.
	[ "$(job_log 'SELECT sum(cost_micro), sum(billable * gpu_minutes) FROM jobs')" = "944000000|47200" ]
}

@test "jobs run with hac-run are billed by the rule and agree with the allocator's records" {
	start_all
	hac-run --name first -- true
	hac-run --name second -- sleep 1.2
	run hac-usage --json
	[ "$status" -eq 0 ]
	# Two jobs under a minute each: one started minute, 4 GPUs, 0.02 USD a GPU-minute.
	[ "$(jq -c '.totals[0] | [.jobs, .gpu_minutes, .cost_micro]' <<<"$output")" = '[2,8,160000]' ]
	[ "$(jq -r '.user' <<<"$output")" = "$(id -un)" ]
	run hac-usage --jobs --format csv
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[1]} == *",first,ended,"*",Large.64GB,4,4,0.08,USD,true,finished,false,0" ]]
	[[ ${lines[2]} == *",second,ended,"*",Large.64GB,4,4,0.08,USD,true,finished,false,0" ]]
	wait_for outbox_empty 10
	run hac-usage --reconcile
	[ "$status" -eq 0 ]
	[[ $output == *"2 jobs compared, 0 differ"* ]]
	[[ $output == *"agree on every job"* ]]
}

@test "a running job counts up to now and says so" {
	start_all
	hac-run --name long -- sleep 30 >"$BATS_TEST_TMPDIR/run.out" 2>&1 &
	local launcher=$!
	wait_for "hac-smi --json | jq -e '.jobs[0].state == \"running\"'" 5
	run hac-usage
	[ "$status" -eq 0 ]
	[[ $output == *"1 job still runs: counted up to now"* ]]
	run hac-usage --jobs --json
	jq -e '.jobs[0].state == "running" and .jobs[0].ended_at == null and .jobs[0].cost_micro == 80000
		and .totals[0].running_jobs == 1' <<<"$output"
	# hac-run passes the signal on to its command, and the job ends with it.
	kill "$launcher"
	wait "$launcher" || true
	run hac-usage --json
	jq -e '.totals[0].running_jobs == 0 and .totals[0].jobs == 1' <<<"$output"
}

@test "--reconcile lists jobs missing on either side or differing, exits 1; with the allocator down, 4" {
	start_all
	for name in one two three; do hac-run --name $name -- true; done
	wait_for outbox_empty 10
	one=$(job_log "SELECT id FROM jobs WHERE name = 'one'")
	two=$(job_log "SELECT id FROM jobs WHERE name = 'two'")
	three=$(job_log "SELECT id FROM jobs WHERE name = 'three'")
	allocator_db "DELETE FROM usage WHERE job_id = '$one'"
	allocator_db "UPDATE usage SET cost_micro = cost_micro + 20000 WHERE job_id = '$two'"
	job_log "DELETE FROM jobs WHERE id = '$three'"

	run hac-usage --reconcile --format csv
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ ${lines[0]} == "job_id,start,kind,field,job_log,allocator" ]]
	[[ $output == *"$one,"*",missing_at_allocator,,0.08,"* ]]
	[[ $output == *"$two,"*",differs,cost_micro,80000,100000"* ]]
	# The record of a job this log never had is a difference too, whose ever it was (issue 16).
	[[ $output == *"$three,"*",missing_in_job_log,,,"* ]]
	run hac-usage --reconcile
	[ "$status" -eq 1 ]
	[[ $output == *"3 differ"* ]]
	[[ $output == *"missing at the allocator"* ]]
	[[ $output == *"1 record of the allocator belong"*"job log removed or replaced"* ]]
	run hac-usage --reconcile --all-users --json
	[ "$status" -eq 1 ]
	jq -e --arg three "$three" '.reconcile.compared == 3 and (.reconcile.differences | length) == 3
		and (.reconcile.differences[] | select(.job_id == $three) | .kind == "missing_in_job_log" and .job_log == null)' <<<"$output"

	stop_allocator
	run hac-usage --reconcile
	[ "$status" -eq 4 ]
	[[ $output == *"the allocator at $ALLOCATOR_URL does not answer"*"try again when it is back"* ]]
	# Everything else still answers from the job log, and says the prices may be stale.
	run hac-usage
	[ "$status" -eq 0 ]
	[[ $output == *"| Total      |    2 |"* ]]
	[[ $output == *"the allocator is unreachable since"*"prices may be stale"* ]]
	run hac-usage --json
	jq -e '.prices_may_be_stale == true' <<<"$output"
}

@test "another user's usage or everyone's needs root or the admin group: exit 5" {
	start_all
	hac-run -- true
	if [ "$(id -u)" -ne 0 ]; then
		run hac-usage --all-users
		[ "$status" -eq 5 ]
		[[ $output == *"only root or a member of group 'hac-admin'"* ]]
		return
	fi
	run as_nobody hac-usage --all-users
	[ "$status" -eq 5 ]
	[[ $output == *"only root or a member of group 'hac-admin' may see the usage of all users"* ]]
	run as_nobody hac-usage --user root
	[ "$status" -eq 5 ]
	run as_nobody hac-usage --user no-such-user-here
	[ "$status" -eq 7 ]
	run as_nobody hac-usage --user nobody
	[ "$status" -eq 0 ]
	[[ $output == *"Usage of nobody"*"No jobs started in this period."* ]]
	# root sees everyone's, and the job run above is root's.
	run hac-usage --all-users --by user --format csv
	[ "$status" -eq 0 ]
	[[ ${lines[1]} == "root,1,0,0,4,0.08,USD" ]]
}
