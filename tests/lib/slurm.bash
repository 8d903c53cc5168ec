# Bats helpers for a real Slurm farm (tests/lib/slurm_cluster.sh) and its slurmrestd, spoken to
# over its Unix socket with curl. Load with: load ../lib/slurm
SLURM_CLUSTER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/slurm_cluster.sh
SLURM_REST=http://slurm/slurm/v0.0.38

# From setup_file: starts the farm in $BATS_FILE_TMPDIR/slurm ($1...: --nodes N --gpus G) and
# exports what slurm_cluster.sh prints (SLURM_CONF, HAC_SLURM_DIR, HAC_SLURMRESTD_SOCKET...).
# Skips every test of the file when it cannot run here (not root, Slurm not installed).
start_slurm_cluster() {
	local out status=0
	out=$("$SLURM_CLUSTER" start "$BATS_FILE_TMPDIR/slurm" "$@" 2>&1) || status=$?
	((status != 77)) || skip "${out##*slurm_cluster.sh: }"
	((status == 0)) || { echo "$out"; return 1; }
	eval "$(grep '^export ' <<<"$out")"
}

# From teardown_file: cancels every job and stops every process of the farm, by pid.
stop_slurm_cluster() {
	[[ -n ${HAC_SLURM_DIR:-} && -e $HAC_SLURM_DIR/slurm.conf ]] || return 0
	"$SLURM_CLUSTER" stop "$HAC_SLURM_DIR"
}

# slurm_rest METHOD PATH [BODY]: one request to slurmrestd; sets REST_STATUS (HTTP status) and
# REST_BODY. A 60 s bound: slurmrestd itself waits up to ~18 s for a slurmctld that is down.
slurm_rest() {
	local method=$1 path=$2 out
	local args=(-s -m 60 --unix-socket "$HAC_SLURMRESTD_SOCKET" -X "$method" -w '\n%{http_code}')
	(($# < 3)) || args+=(-H 'Content-Type: application/json' --data-binary "$3")
	out=$(curl "${args[@]}" "$SLURM_REST$path") || { echo "curl $method $path failed (exit $?)"; return 1; }
	REST_STATUS=${out##*$'\n'}
	REST_BODY=${out%$'\n'*}
}

# The body of a hold job as the allocator will submit it: NAME, GPUs per node, nodes, comment.
# Keys inside "job" are sbatch's option names; "environment" is required and must not be empty.
hold_job_body() {
	jq -nc --arg name "$1" --arg gres "hacgpu:$2" --arg nodes "$3" --arg comment "$4" '{
		script: "#!/bin/sh\nexec sleep infinity\n",
		job: {name: $name, partition: "farm", gres: $gres, nodes: $nodes, ntasks: ($nodes | tonumber),
		      cpus_per_task: 1, comment: $comment, current_working_directory: "/tmp",
		      environment: {PATH: "/bin:/usr/bin"}, standard_output: "/dev/null", standard_error: "/dev/null"}}'
}

# submit_hold NAME GPUS_PER_NODE NODES COMMENT: submits a hold job; sets JOB_ID. Fails unless
# slurmrestd answers 200 with a job_id and no errors.
submit_hold() {
	slurm_rest POST /job/submit "$(hold_job_body "$@")" || return 1
	[[ $REST_STATUS == 200 ]] || { echo "submit of $1: HTTP $REST_STATUS: $REST_BODY"; return 1; }
	JOB_ID=$(jq -er 'select(.errors == []) | .job_id' <<<"$REST_BODY") ||
		{ echo "submit of $1: no job_id, or errors: $REST_BODY"; return 1; }
}

# slurm_job ID: GET /job/ID; prints the job's object (.jobs[0]).
slurm_job() {
	slurm_rest GET "/job/$1" || return 1
	[[ $REST_STATUS == 200 ]] || { echo "GET /job/$1: HTTP $REST_STATUS: $REST_BODY"; return 1; }
	jq -ec '.jobs[0]' <<<"$REST_BODY"
}

# job_field ID FILTER: one field of job ID (jq -r FILTER on the job's object).
job_field() {
	slurm_job "$1" | jq -r "$2"
}

# Cancels every job of the farm and waits until none runs, so the next test finds it empty.
cancel_all_jobs() {
	scancel --partition=farm 2>/dev/null || true
	wait_for '[[ -z $(squeue -h -t pending,running,completing -o %i) ]]' 30
}
