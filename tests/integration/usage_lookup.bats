#!/usr/bin/env bats
# hac-usage as a sacct user expects it (issue 17): jobs looked up by ID prefix, filtered by name
# and end reason, and the --jobs table with each job's name and exit status.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() {
	start_all
	hac-run --name alpha -- true
	hac-run --name beta -- sh -c 'exit 3' || true
	BETA=$(hac-usage --jobs --json | jq -r '.jobs[] | select(.name == "beta") | .job_id')
	[[ -n $BETA ]]
}

teardown() { stop_all; }

job_log() { sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"; }

@test "the --jobs table shows each job's name and exit status, and so do CSV and JSON" {
	run hac-usage --jobs
	[ "$status" -eq 0 ]
	[[ $output == *"| Name "* && $output == *"| Exit |"* ]]
	grep -E "^\| ${BETA:0:8} .*\| beta +\|.*\| finished +\| +3 \|$" <<<"$output"
	hac-usage --jobs --json | jq -e '[.jobs[] | {name, exit_status}] == [{"name":"alpha","exit_status":0},{"name":"beta","exit_status":3}]'
	[ "$(hac-usage --jobs --format csv | head -1 | tr ',' '\n' | tail -1)" = exit_status ]
	hac-usage --jobs --format csv | grep -E "^$BETA,.*,beta,.*,3$"
}

@test "--jobs ID-PREFIX shows that job, in any case and from any month; an unknown one is status 7" {
	run hac-usage --jobs "${BETA:0:8}"
	[ "$status" -eq 0 ]
	[[ $output == *beta* && $output != *alpha* ]]
	[[ $output == *"Total: 1 job,"* ]]
	hac-usage --jobs "${BETA:0:8}" --json | jq -e '(.jobs | length) == 1 and .totals[0].jobs == 1'
	hac-usage --jobs "$(tr a-f A-F <<<"${BETA:0:8}")" --json | jq -e '.jobs[0].name == "beta"'
	# Moved to a long-gone month: this month's report no longer has it, a lookup by ID still does.
	job_log "UPDATE jobs SET started_at = started_at - 86400000 * 100, ended_at = ended_at - 86400000 * 100 WHERE id = '$BETA'"
	[ "$(hac-usage --jobs --json | jq '[.jobs[] | select(.name == "beta")] | length')" = 0 ]
	hac-usage --jobs "${BETA:0:8}" --json | jq -e '.jobs[0].name == "beta"'
	run hac-usage --jobs ffffffff
	[ "$status" -eq 7 ]
	[[ $output == *"has an ID starting with 'ffffffff'"* ]]
	run hac-usage "${BETA:0:8}"
	[ "$status" -eq 2 ]
}

@test "--name and --reason filter the jobs, and the totals count only those shown" {
	hac-usage --jobs --name alpha --json | jq -e '[.jobs[].name] == ["alpha"] and .totals[0].jobs == 1'
	hac-usage --jobs --reason finished --json | jq -e '(.jobs | length) == 2'
	run hac-usage --jobs --reason reset
	[ "$status" -eq 0 ]
	[[ $output == *"No jobs started in this period."* ]]
	run hac-usage --name alpha
	[ "$status" -eq 2 ]
}
