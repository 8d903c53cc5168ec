#!/usr/bin/env bats
# The cost guard with real processes: time limits (hac-run --time, [jobs] in agent.toml, the C
# API), the agent ending jobs at their deadline (also across a restart), and monthly budgets
# ([budget]): warnings said once, refusal with exit 11, on_exhausted = "stop", SIGHUP lifting a
# refusal, hac-usage --budget and hac-smi's header. Prices: the test allocator's 0.02 USD per
# GPU-minute, so a job on its Large.64GB device (4 GPUs) costs 0.08 USD per started minute.

bats_require_minimum_version 1.5.0
load ../lib/common

setup() {
	start_allocator
	write_agent_config
}
teardown() {
	# hac-run passes the SIGTERM on to its command.
	[ -z "${BG_PIDS:-}" ] || kill $BG_PIDS 2>/dev/null || true
	stop_all
}

job_log() {
	sqlite3 "$BATS_TEST_TMPDIR/jobs.db" "$1"
}

allocator_usage() {
	curl -sf -H "Authorization: Bearer $TEST_TOKEN" "$ALLOCATOR_URL/v1/usage"
}

# Appends TOML to the agent's config.
agent_config() {
	cat >>"$BATS_TEST_TMPDIR/agent.toml"
}

now_ms() {
	date +%s%3N
}

@test "hac-run --time: the agent ends the job at its limit with SIGTERM, billed once and reconciled" {
	agent_config <<<$'[jobs]\nkill_grace = "20s"'
	start_agent
	run hac-run --time 2s --name limited -- sleep 601
	[ "$status" -eq 143 ]
	[[ $output == *"reached its time limit of 0:00:02: the agent stopped it"* ]]
	[ "$(job_log "SELECT count(*) FROM jobs")" = 1 ]
	row=$(job_log "SELECT id, end_reason, exit_status, time_limit_seconds, deadline_at - started_at,
		ended_at >= deadline_at, cost_micro = gpu_minutes * 20000, gpu_minutes > 0 FROM jobs")
	id=${row%%|*}
	[ "${row#*|}" = "time_limit|143|2|2000|1|1|1" ]
	grep -q "job $id .* reached its time limit of 0:00:02: sent SIGTERM" "$BATS_TEST_TMPDIR/agent.log"
	# One usage record at the allocator, with the same reason and cost as the job log.
	wait_for "allocator_usage | jq -e '[.records[] | select(.job_id == \"$id\")] | length == 1'" 10
	allocator_usage | jq -e --argjson cost "$(job_log "SELECT cost_micro FROM jobs")" \
		".records[] | select(.job_id == \"$id\") | .end_reason == \"time_limit\" and .cost_micro == \$cost"
	run hac-usage --jobs --format csv
	[[ $output == *",time_limit,"* ]]
	wait_for "[ \"\$(job_log 'SELECT count(*) FROM outbox')\" = 0 ]" 10
	run hac-usage --reconcile
	[ "$status" -eq 0 ]
}

@test "a job that ignores SIGTERM is killed after [jobs] kill_grace" {
	agent_config <<<$'[jobs]\nkill_grace = "1s"'
	start_agent
	run hac-run --time 1s -- sh -c 'trap "" TERM; sleep 602'
	[ "$status" -eq 137 ]
	[ "$(job_log "SELECT end_reason FROM jobs")" = time_limit ]
	grep -q "still runs 1000 ms after SIGTERM: sending SIGKILL" "$BATS_TEST_TMPDIR/agent.log"
	run pgrep -f "sleep 602"
	[ "$status" -eq 1 ]
}

@test "default and maximum time limits: a request above the max is refused and never runs; hac-smi shows time left" {
	agent_config <<<$'[jobs]\ndefault_time_limit = "30m"\nmax_time_limit = "1h"'
	start_agent
	run hac-run --time 2h -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 2 ]
	[[ $output == *"the time limit 2:00:00 is above this VM's maximum of 1:00:00 ([jobs] max_time_limit in agent.toml)"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	run hac-run --time 90 -- true
	[ "$status" -eq 2 ]
	[[ $output == *"'90' is not a duration"* ]]
	[ "$(job_log "SELECT count(*) FROM jobs")" = 0 ]

	hac-run -- sleep 603 &
	BG_PIDS=$!
	wait_for "hac-smi --json | jq -e '.jobs | length == 1'" 10
	hac-smi --json | jq -e '.jobs[0].time_limit_seconds == 1800 and (.jobs[0].deadline | type) == "string"'
	run hac-smi
	[[ $output == *"Time Left"* ]]
	[[ $output =~ 0:(29:[0-5][0-9]|30:00) ]]
	curl -sf --unix-socket "$HAC_SOCKET" -X POST http://hac/v1/devices/0/reset >/dev/null
	hac-run --time 1:00:00 -- true
	[ "$(job_log "SELECT time_limit_seconds FROM jobs ORDER BY started_at DESC LIMIT 1")" = 3600 ]
}

@test "an agent restarted after a job's deadline ends it at once, dated at its deadline" {
	agent_config <<<$'[jobs]\nkill_grace = "20s"'
	start_agent
	hac-run --time 3s -- sleep 604 2>"$BATS_TEST_TMPDIR/run.err" &
	BG_PIDS=$!
	wait_for "[ \"\$(job_log \"SELECT state FROM jobs\")\" = running ]" 10
	deadline=$(job_log "SELECT deadline_at FROM jobs")
	stop_agent
	wait_for "[ \$(now_ms) -gt $((deadline + 1000)) ]" 10
	pgrep -f "sleep 604" >/dev/null # the job outlived the agent
	start_agent
	wait_for "[ \"\$(job_log \"SELECT state FROM jobs\")\" = ended ]" 10
	[ "$(job_log "SELECT end_reason, ended_at = deadline_at, reconstructed FROM jobs")" = "time_limit|1|0" ]
	wait_for "! pgrep -f 'sleep 604'" 10
	run wait "$BG_PIDS"
	[ "$status" -eq 143 ]
	BG_PIDS=
	# The agent ends the job before it serves again, so hac-run may find the socket not yet open.
	grep -qE "reached its time limit|could not report the end of job" "$BATS_TEST_TMPDIR/run.err"
	grep -q "passed its time limit while the agent was down: ended at its deadline" "$BATS_TEST_TMPDIR/agent.log"
	id=$(job_log "SELECT id FROM jobs")
	wait_for "allocator_usage | jq -e '[.records[] | select(.job_id == \"$id\")] | length == 1'" 10
	ended=$(job_log "SELECT ended_at FROM jobs")
	[ "$(allocator_usage | jq -r ".records[] | select(.job_id == \"$id\") | .ended_at")" = \
		"$(date -u -d "@$((ended / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((ended % 1000)))Z" ]
}

@test "an agent restarted shortly before a job's deadline still ends it at its limit" {
	start_agent
	hac-run --time 10s -- sleep 605 &
	BG_PIDS=$!
	wait_for "[ \"\$(job_log \"SELECT state FROM jobs\")\" = running ]" 10
	stop_agent
	start_agent
	grep -q "still runs: watching it again" "$BATS_TEST_TMPDIR/agent.log"
	wait_for "[ \"\$(job_log \"SELECT state FROM jobs\")\" = ended ]" 20
	[ "$(job_log "SELECT end_reason, ended_at >= deadline_at FROM jobs")" = "time_limit|1" ]
	run wait "$BG_PIDS"
	[ "$status" -eq 143 ]
	BG_PIDS=
	[ "$(job_log "SELECT count(*) FROM jobs")" = 1 ]
}

@test "the C API's hac_job_begin_with_limit gives the job a deadline the agent keeps" {
	start_agent
	run python3 - "$BUILD/libhac/libhac.so.1" <<'EOF'
import ctypes, sys, time
lib = ctypes.CDLL(sys.argv[1])
lib.hac_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.hac_job_begin_with_limit.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint,
                                         ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)]
lib.hac_job_deadline_ms.argtypes = [ctypes.c_void_p]
lib.hac_job_deadline_ms.restype = ctypes.c_int64
lib.hac_last_error.restype = ctypes.c_char_p
client, job = ctypes.c_void_p(), ctypes.c_void_p()
assert lib.hac_open(None, ctypes.byref(client)) == 0
rc = lib.hac_job_begin_with_limit(client, -1, b"capi", 0, 2, ctypes.byref(job))
if rc != 0:
    print("begin", rc, lib.hac_last_error().decode())
    sys.exit(rc)
print("deadline", lib.hac_job_deadline_ms(job), flush=True)
time.sleep(60)  # the agent's SIGTERM ends this
print("not stopped")
EOF
	[ "$status" -eq 143 ]
	[[ $output == "deadline "* ]]
	[[ $output != *"not stopped"* ]]
	[ "${output#deadline }" = "$(job_log "SELECT deadline_at FROM jobs")" ]
	wait_for "[ \"\$(job_log \"SELECT end_reason FROM jobs\")\" = time_limit ]" 10
}

@test "budget: each threshold said once, new jobs refused at 100% with exit 11 (not root's), SIGHUP lifts it" {
	command -v setpriv >/dev/null || skip "setpriv is missing"
	agent_config <<<$'[budget]\nmonthly_limit = "0.10"'
	start_agent
	as_nobody hac-run -- true               # one started minute: 0.08 of 0.10, 80%
	run --separate-stderr as_nobody hac-run -- true
	[ "$status" -eq 0 ]
	[[ $stderr == "hac-run: this VM's budget for "????-??" (UTC) is 80% spent: 0.08 of 0.10 USD" ]]
	run --separate-stderr as_nobody hac-run -- touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 11 ]
	[[ $stderr == *"new jobs are refused: this VM's budget for "*" (UTC) is spent: 0.16 of 0.10 USD ([budget] monthly_limit in agent.toml)"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	run --separate-stderr hac-run -- true    # root is exempt, and told once
	[ "$status" -eq 0 ]
	[[ $stderr == *"is 160% spent"*"(you may still start jobs as root or a member of the admin group)"* ]]
	run --separate-stderr hac-run -- true
	[ -z "$stderr" ]
	wait_for "grep -q 'crossed 100%' '$BATS_TEST_TMPDIR/agent.log'" 15
	[ "$(grep -c "the VM's budget for .* crossed 100%" "$BATS_TEST_TMPDIR/agent.log")" = 1 ]

	run hac-usage --budget --json
	[ "$status" -eq 0 ]
	jq -e '.budget.vm | .limit_micro == 100000 and .spent_micro == 320000 and .remaining_micro == 0
		and .exhausted and .threshold == 100' <<<"$output"
	run hac-usage --budget
	[[ $output == *"This VM's budget is spent: new jobs are refused"* ]]
	run hac-smi
	[[ $output == *"VM this month (UTC): 0.32 of 0.10 USD (320%): spent, new jobs refused"* ]]

	sed -i 's/monthly_limit = "0.10"/monthly_limit = "100"/' "$BATS_TEST_TMPDIR/agent.toml"
	kill -HUP "$AGENT_PID"
	wait_for "as_nobody hac-run -- true" 10
	hac-usage --budget --json | jq -e '.budget.vm.limit_micro == 100000000 and (.budget.vm.exhausted | not)'
}

@test "budget: on_exhausted = \"stop\" ends a running job with reason budget, billed once" {
	command -v setpriv >/dev/null || skip "setpriv is missing"
	agent_config <<<$'[jobs]\nkill_grace = "20s"\n[budget]\nmonthly_limit = "0.05"\non_exhausted = "stop"'
	start_agent
	as_nobody hac-run -- sleep 606 2>"$BATS_TEST_TMPDIR/run.err" &
	BG_PIDS=$!
	wait_for "[ \"\$(job_log \"SELECT state FROM jobs\")\" = ended ]" 20
	run wait "$BG_PIDS"
	[ "$status" -eq 143 ]
	BG_PIDS=
	[ "$(job_log "SELECT end_reason, count(*) FROM jobs")" = "budget|1" ]
	grep -q "was stopped: the month's budget is spent" "$BATS_TEST_TMPDIR/run.err"
	grep -q "is stopped because the month's budget is spent" "$BATS_TEST_TMPDIR/agent.log"
	id=$(job_log "SELECT id FROM jobs")
	wait_for "allocator_usage | jq -e '[.records[] | select(.job_id == \"$id\" and .end_reason == \"budget\")] | length == 1'" 10
	run as_nobody hac-run -- true
	[ "$status" -eq 11 ]
}

@test "budget: a user's own limit refuses that user only; hac-usage --budget shows both budgets" {
	command -v setpriv >/dev/null || skip "setpriv is missing"
	agent_config <<<$'[budget]\n[[budget.user]]\nname = "nobody"\nmonthly_limit = "0.01"'
	start_agent
	as_nobody hac-run -- true
	run --separate-stderr as_nobody hac-run -- true
	[ "$status" -eq 11 ]
	[[ $stderr == *"new jobs are refused: your budget for "*" is spent: 0.08 of 0.01 USD ([[budget.user]] name = \"nobody\""* ]]
	hac-run -- true
	run as_nobody hac-usage --budget --json
	jq -e '.budget.user == "nobody" and .budget.user_budget.spent_micro == 80000 and .budget.user_budget.exhausted
		and .budget.vm.limit_micro == null and .budget.vm.spent_micro == 160000' <<<"$output"
	run as_nobody hac-usage --budget
	[[ $output == *"you (nobody)"* ]]
	[[ $output == *"Your budget is spent"* ]]
	run as_nobody hac-usage --budget --format csv
	[[ ${lines[2]} == "user:nobody,"*",USD,0.01,0.08,0.00,800,"*",100,true" ]]
}

@test "without a budget the month's cost is still shown; --budget takes no report options" {
	start_agent
	hac-run -- true
	run hac-usage --budget --json
	jq -e '.schema_version == 1 and .budget.vm.limit_micro == null and .budget.vm.spent_micro == 80000
		and .budget.currency == "USD" and (.budget.month_start | endswith("-01T00:00:00.000Z"))' <<<"$output"
	run hac-smi
	[[ $output == *"VM this month (UTC): 0.08 USD, no budget"* ]]
	run hac-usage --budget --jobs
	[ "$status" -eq 2 ]
	run hac-usage --budget --since 7d
	[ "$status" -eq 2 ]
}
