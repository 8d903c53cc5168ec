#!/usr/bin/env bats
# A real Slurm farm (tests/lib/slurm_cluster.sh: munged, slurmctld, 4 fake slurmd with hacgpu:8
# each, slurmrestd on a Unix socket) and the slurmrestd openapi v0.0.38 calls hac-allocator's
# Slurm backend makes (issue 14), over real HTTP on the Unix socket. These tests pin down the
# JSON shapes and the failure answers the backend reads; allocator/slurm-notes.md explains them.

setup_file() {
	load ../lib/common
	load ../lib/slurm
	local start=$EPOCHREALTIME
	start_slurm_cluster
	# Printed by the first test: how long the farm took to be ready.
	awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", b - a }' >"$BATS_FILE_TMPDIR/start-seconds"
}

teardown_file() {
	load ../lib/slurm
	stop_slurm_cluster
}

setup() {
	load ../lib/common
	load ../lib/slurm
	# Every node answering before a test submits: after slurmctld restarts (or on a loaded machine)
	# a node can be "not responding" for a while, and a job asking for all of them is then refused
	# as "Required node not available" rather than queued.
	wait_for '[[ -z $(sinfo -h -p farm -N -o %t | grep -vxE "idle|mix|alloc") ]]' 60
}

teardown() {
	cancel_all_jobs || true
	[[ -n ${BATS_TEST_COMPLETED:-} ]] && return 0
	local log
	for log in "$HAC_SLURM_DIR"/log/*.log; do
		[[ -s $log ]] && { echo "--- $log"; tail -n 20 "$log"; } >&3
	done
	return 0
}

# wait_state ID STATE [SECONDS]: waits until job ID's job_state is STATE. wait_for counts polls,
# and a poll (curl + jq) takes a while on a loaded machine: the real bound is several times this.
wait_state() {
	wait_for "[[ \$(job_field $1 .job_state) == $2 ]]" "${3:-15}" || {
		echo "job $1 is $(job_field "$1" '.job_state + " (" + .state_reason + ")"'), not $2"
		return 1
	}
}

@test "slurmrestd answers openapi v0.0.38's ping on its Unix socket; the farm listens on loopback only" {
	echo "# farm of $HAC_SLURM_NODES nodes ready in $(cat "$BATS_FILE_TMPDIR/start-seconds") s" >&3
	slurm_rest GET /ping/
	[[ $REST_STATUS == 200 ]]
	[[ $(jq -r .meta.plugin.type <<<"$REST_BODY") == openapi/v0.0.38 ]]
	[[ $(jq -r '.pings[0].ping' <<<"$REST_BODY") == UP ]]
	[[ $(jq -r '.errors | length' <<<"$REST_BODY") == 0 ]]

	# The TCP sockets the farm's processes listen on, by inode, from /proc/net/tcp{,6}.
	local inodes=' ' pid fd link listeners=0 table sl local remote st rest
	for pid in "$HAC_SLURM_DIR"/pids/*; do
		for fd in /proc/"$(cat "$pid")"/fd/*; do
			link=$(readlink "$fd" 2>/dev/null) || continue
			[[ $link == socket:* ]] && inodes+="${link//[^0-9]/} "
		done
	done
	for table in /proc/net/tcp /proc/net/tcp6; do
		while read -r sl local remote st _ _ _ _ _ inode rest; do
			[[ $st == 0A && $inodes == *" $inode "* ]] || continue
			listeners=$((listeners + 1))
			[[ $local == 0100007F:* || $local == 00000000000000000000000001000000:* ]] ||
				{ echo "a farm process listens on $local ($table), beyond loopback"; return 1; }
		done < <(tail -n +2 "$table")
	done
	# slurmctld and one slurmd per node, all on 127.0.0.1.
	((listeners == HAC_SLURM_NODES + 1)) || { echo "expected $((HAC_SLURM_NODES + 1)) listeners, found $listeners"; return 1; }
}

@test "a hold job over 4 nodes runs, named by its id with account and device in its comment; gres_detail gives each node's GPU indexes" {
	submit_hold hac-job-0001 3 4 "account=acme device=dev-1"
	local first=$JOB_ID job
	wait_state "$first" RUNNING
	job=$(slurm_job "$first")
	[[ $(jq -r .name <<<"$job") == hac-job-0001 ]]
	[[ $(jq -r .comment <<<"$job") == "account=acme device=dev-1" ]]
	[[ $(jq -r .nodes <<<"$job") == "f[01-04]" ]]
	[[ $(jq -r .node_count <<<"$job") == 4 ]]
	[[ $(jq -r .tres_per_node <<<"$job") == gres:hacgpu:3 ]]
	# One entry per node, in the order of the node list.
	[[ $(jq -c .gres_detail <<<"$job") == '["hacgpu:3(IDX:0-2)","hacgpu:3(IDX:0-2)","hacgpu:3(IDX:0-2)","hacgpu:3(IDX:0-2)"]' ]]
	(($(jq -r .start_time <<<"$job") > 0))

	# Found by name: GET /jobs/ has no name filter, so the backend scans the list.
	slurm_rest GET /jobs/
	[[ $REST_STATUS == 200 ]]
	[[ $(jq -r '[.jobs[] | select(.name == "hac-job-0001") | .job_id] | join(",")' <<<"$REST_BODY") == "$first" ]]

	# The next job on a node takes the next indexes.
	submit_hold hac-job-0002 5 1 "account=acme device=dev-2"
	local second=$JOB_ID
	wait_state "$second" RUNNING
	[[ $(job_field "$second" '.gres_detail | join(" ")') == "hacgpu:5(IDX:3-7)" ]]

	# squeue and scontrol agree with slurmrestd.
	run squeue -h -j "$first,$second" -o '%i %j %T %D %b' --sort=i
	[[ $status == 0 ]]
	[[ ${lines[0]} == "$first hac-job-0001 RUNNING 4 gres:hacgpu:3" ]]
	[[ ${lines[1]} == "$second hac-job-0002 RUNNING 1 gres:hacgpu:5" ]]
	run scontrol show job -d "$second"
	[[ $output =~ GRES=hacgpu:5\(IDX:3-7\) ]]
}

@test "with the farm full a job pends for Resources; DELETE cancels the holder and the pending job starts" {
	submit_hold hac-job-full 8 4 "account=acme device=dev-1"
	local full=$JOB_ID
	wait_state "$full" RUNNING
	submit_hold hac-job-wait 2 1 "account=acme device=dev-2"
	local queued=$JOB_ID
	wait_for "[[ \$(job_field $queued .state_reason) == Resources ]]" 15
	[[ $(job_field "$queued" .job_state) == PENDING ]]
	[[ $(job_field "$queued" '.nodes + "|" + (.gres_detail | length | tostring) + "|" + (.start_time | tostring)') == "|0|0" ]]
	run squeue -h -j "$queued" -o '%T %r'
	[[ $output == "PENDING Resources" ]]

	slurm_rest DELETE "/job/$full"
	[[ $REST_STATUS == 200 ]]
	[[ $(jq -c .errors <<<"$REST_BODY") == "[]" ]]
	wait_state "$queued" RUNNING
	[[ $(job_field "$queued" '.gres_detail | join(" ")') == "hacgpu:2(IDX:0-1)" ]]
	[[ $(job_field "$full" .job_state) == CANCELLED ]]
	(($(job_field "$full" .end_time) >= $(job_field "$full" .start_time)))
	# squeue no longer lists the cancelled job among the live ones.
	run squeue -h -t pending,running -o %i
	[[ $output == "$queued" ]]
	# Cancelling again is harmless: 200, no error.
	slurm_rest DELETE "/job/$full"
	[[ $REST_STATUS == 200 ]]
	[[ $(jq -c .errors <<<"$REST_BODY") == "[]" ]]
}

@test "a job that can never fit: too many GPUs per node is refused (2014) but leaves a FAILED job of its name; too many nodes pends forever (2015)" {
	slurm_rest POST /job/submit "$(hold_job_body hac-job-huge 9 1 "account=acme device=dev-1")"
	[[ $REST_STATUS == 500 ]]
	[[ $(jq -r '.errors[0].error_code' <<<"$REST_BODY") == 2014 ]]
	[[ $(jq -r '.errors[0].error' <<<"$REST_BODY") == "Requested node configuration is not available" ]]
	# The refusal still leaves a record: a backend that finds jobs by name must skip it.
	slurm_rest GET /jobs/
	[[ $(jq -r '[.jobs[] | select(.name == "hac-job-huge") | .job_state] | join(",")' <<<"$REST_BODY") == FAILED ]]

	slurm_rest POST /job/submit "$(hold_job_body hac-job-wide 1 $((HAC_SLURM_NODES + 1)) "account=acme device=dev-1")"
	[[ $REST_STATUS == 200 ]]
	[[ $(jq -r '.errors[0].error_code' <<<"$REST_BODY") == 2015 ]]
	local wide
	wide=$(jq -r .job_id <<<"$REST_BODY")
	# Its reason is PartitionConfig at submission, PartitionNodeLimit once the scheduler saw it.
	wait_for "[[ \$(job_field $wide .state_reason) =~ ^Partition(Config|NodeLimit)\$ ]]" 10
	[[ $(job_field "$wide" .job_state) == PENDING ]]
}

@test "an unknown job id: GET and DELETE answer 500 with error_number 2017" {
	slurm_rest GET /job/999999
	[[ $REST_STATUS == 500 ]]
	[[ $(jq -r '.errors[0].error_number' <<<"$REST_BODY") == 2017 ]]
	[[ $(jq -c .jobs <<<"$REST_BODY") == "[]" ]]
	slurm_rest DELETE /job/999999
	[[ $REST_STATUS == 500 ]]
	[[ $(jq -r '.errors[0].error_number' <<<"$REST_BODY") == 2017 ]]
}

@test "slurmctld killed with -9: slurmrestd answers 500 (error -1, not 2017); restarted, the job keeps its id, nodes, GPUs and start time" {
	submit_hold hac-job-crash 2 2 "account=acme device=dev-1"
	local id=$JOB_ID before after
	wait_state "$id" RUNNING
	before=$(job_field "$id" '[.job_id, .name, .nodes, .gres_detail, .start_time] | tostring')
	# slurmctld saves its state in the background, a few seconds after a change; a kill before
	# that brings the job back PENDING and places it again (see allocator/slurm-notes.md).
	wait_for "(( \$(stat -c %Y '$HAC_SLURM_DIR/spool/ctld/job_state') > $(job_field "$id" .start_time) ))" 60

	local ctld
	ctld=$(cat "$HAC_SLURM_DIR/pids/slurmctld")
	kill -9 "$ctld"
	wait_for "! [[ -d /proc/$ctld ]] || [[ \$(awk '{print \$3}' /proc/$ctld/stat) == Z ]]" 10
	# Both asked at once: slurmrestd itself takes ~9 s (ping) and ~18 s (job) to give up.
	local t0=$EPOCHREALTIME
	curl -s -m 60 --unix-socket "$HAC_SLURMRESTD_SOCKET" -w '\n%{http_code} %{time_total}' "$SLURM_REST/ping/" >"$BATS_TEST_TMPDIR/ping.out" &
	local ping_pid=$!
	curl -s -m 60 --unix-socket "$HAC_SLURMRESTD_SOCKET" -w '\n%{http_code} %{time_total}' "$SLURM_REST/job/$id" >"$BATS_TEST_TMPDIR/job.out" &
	local job_pid=$!
	wait "$ping_pid" "$job_pid"
	local ping_status job_status
	ping_status=$(tail -n 1 "$BATS_TEST_TMPDIR/ping.out")
	job_status=$(tail -n 1 "$BATS_TEST_TMPDIR/job.out")
	echo "# slurmctld down: GET /ping/ answered ${ping_status% *} in ${ping_status#* } s, GET /job/N ${job_status% *} in ${job_status#* } s" >&3
	[[ ${ping_status% *} == 500 ]]
	[[ ${job_status% *} == 500 ]]
	[[ $(sed '$d' "$BATS_TEST_TMPDIR/job.out" | jq -r '.errors[0].error_number') == -1 ]]
	[[ $(sed '$d' "$BATS_TEST_TMPDIR/job.out" | jq -r '.errors[0].description') == "Unable to find JobId=$id" ]]

	run "$SLURM_CLUSTER" restart "$HAC_SLURM_DIR" slurmctld
	[[ $status == 0 ]]
	wait_state "$id" RUNNING
	after=$(job_field "$id" '[.job_id, .name, .nodes, .gres_detail, .start_time] | tostring')
	[[ $after == "$before" ]]
	run squeue -h -j "$id" -o '%j %T'
	[[ $output == "hac-job-crash RUNNING" ]]
}

@test "hac::slurm::Client (allocator/slurm_client.cpp) against the farm: tests/slurm/slurm_client_test.cpp" {
	local test=$BUILD/tests/slurm/slurm-client-test
	[[ -x $test ]] || skip "$test is not built (it needs doctest: scripts/deps build)"
	run "$test"
	echo "$output"
	[[ $status == 0 ]]
	[[ $output =~ \|\ 0\ failed\ \| ]]
}

@test "hac::slurm::Client with slurmctld killed: each call fails within its 2 s bound, never as an unknown job" {
	local test=$BUILD/tests/slurm/slurm-client-test
	[[ -x $test ]] || skip "$test is not built (it needs doctest: scripts/deps build)"
	submit_hold hac-job-down 1 1 "account=acme device=dev-1"
	local id=$JOB_ID ctld
	wait_state "$id" RUNNING
	ctld=$(cat "$HAC_SLURM_DIR/pids/slurmctld")
	kill -9 "$ctld"
	wait_for "! [[ -d /proc/$ctld ]] || [[ \$(awk '{print \$3}' /proc/$ctld/stat) == Z ]]" 10
	HAC_SLURMCTLD_DOWN=$id run "$test" -tc='*slurmctld is down*'
	local client_status=$status client_output=$output
	run "$SLURM_CLUSTER" restart "$HAC_SLURM_DIR" slurmctld
	[[ $status == 0 ]]
	echo "$client_output"
	[[ $client_status == 0 ]]
	[[ $client_output =~ test\ cases:\ +1\ \|\ +1\ passed\ \|\ 0\ failed ]]
}
