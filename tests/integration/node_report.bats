#!/usr/bin/env bats
# hac-node-report (man 8 hac-node-report) against a real hac-allocator with a [[node_token]]: a
# stand-in nvidia-smi (bash, fixed CSV: 8 GPUs with [N/A] figures, one out of range, one malformed
# line; or hanging, or failing) is run by the reporter, whose report is then read back the way a
# user would, through GET /v1/allocations/{job}/gpus. Only loopback is contacted.
bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/allocator_api

NODE_TOKEN=node-credential-0123456789abcdef
QUERY='--query-gpu=index,uuid,name,utilization.gpu,utilization.memory,memory.used,memory.total,temperature.gpu,power.draw'

setup() {
	allocator_test_setup
	[[ -x $BUILD/node-report/hac-node-report ]] || {
		echo "hac-node-report is not built in $BUILD: run 'ninja -C $BUILD' or set HAC_BUILD" >&2
		return 1
	}
	printf '%s\n' "$NODE_TOKEN" >"$BATS_TEST_TMPDIR/node.token"
	chmod 600 "$BATS_TEST_TMPDIR/node.token"
	write_allocator_config
	cat >>"$BATS_TEST_TMPDIR/allocator.toml" <<EOT

[[node_token]]
nodes = ["node-0[0-3]"]
token_file = "$BATS_TEST_TMPDIR/node.token"
EOT
	start_allocator
	register
	fake_smi good
}

teardown() {
	stop_reporter
	stop_all
}

# Writes the stand-in nvidia-smi to $BATS_TEST_TMPDIR/bin (put first on PATH); it does what
# $BATS_TEST_TMPDIR/smi.mode says at each run (good, hang, fail), so a test switches it live.
# It refuses any other command line than the reporter's query.
fake_smi() {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	echo "$1" >"$BATS_TEST_TMPDIR/smi.mode"
	cat >"$BATS_TEST_TMPDIR/bin/nvidia-smi" <<EOT
#!/bin/bash
d=$BATS_TEST_TMPDIR
echo "\$*" >>"\$d/smi.calls"
if [[ \$# -ne 2 || \$1 != '$QUERY' || \$2 != --format=csv,noheader,nounits ]]; then
	echo "stand-in nvidia-smi: unexpected arguments: \$*" >&2
	exit 2
fi
case \$(cat "\$d/smi.mode") in
good)
	# GPU i: 10*i % busy, i % memory busy, 1000*i MiB used of 81920, 40+i C, 100.5+i W. GPU 1
	# knows nothing, GPU 2's temperature is out of range, GPU 6 has no power reading; then a
	# malformed line.
	cat <<'CSV'
0, GPU-0, NVIDIA A100-SXM4-80GB, 0, 0, 0, 81920, 40, 100.50
1, [N/A], [N/A], [N/A], [Not Supported], [N/A], [N/A], [N/A], [Unknown Error]
2, GPU-2, NVIDIA A100-SXM4-80GB, 20, 2, 2000, 81920, 250, 102.50
3, GPU-3, NVIDIA A100-SXM4-80GB,   30 ,  3 , 3000, 81920, 43, 103.50
4, GPU-4, NVIDIA A100-SXM4-80GB, 40, 4, 4000, 81920, 44, 104.50
5, GPU-5, NVIDIA A100-SXM4-80GB, 50, 5, 5000, 81920, 45, 105.50
6, GPU-6, NVIDIA A100-SXM4-80GB, 60, 6, 6000, 81920, 46, N/A
7, GPU-7, NVIDIA A100-SXM4-80GB, 70, 7, 7000, 81920, 47, 107.50
GPU 8: Unable to determine the device handle for GPU0000:8A:00.0: Unknown Error
CSV
	;;
hang)
	echo \$\$ >"\$d/smi.pid"
	sleep 60 &
	echo \$! >"\$d/smi.child"
	wait
	;;
fail)
	echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."
	exit 9
	;;
esac
EOT
	chmod +x "$BATS_TEST_TMPDIR/bin/nvidia-smi"
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
}

# Starts hac-node-report in the background with "$@" after the allocator and the token; its pid is
# REPORTER_PID and its output goes to reporter.log.
start_reporter() {
	hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" "$@" \
		>>"$BATS_TEST_TMPDIR/reporter.log" 2>&1 &
	REPORTER_PID=$!
}

stop_reporter() {
	[[ -n ${REPORTER_PID:-} ]] || return 0
	kill "$REPORTER_PID" 2>/dev/null || true
	wait "$REPORTER_PID" 2>/dev/null || true
	REPORTER_PID=
}

# Process $1 no longer runs (gone, or a zombie nobody has reaped yet).
gone() {
	[[ ! -e /proc/$1 ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]
}

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Allocates a Large.64GB job; sets JOB and NODE (where its first GPU is).
allocate_job() {
	JOB=$(new_uuid)
	allocate "$JOB" "${DEVICES[0]}"
	expect 201
	NODE=$(jq -r '.placement[0].node' <<<"$BODY")
}

# The job's GPUs on $NODE, as GET /v1/allocations/$JOB/gpus answers them.
node_gpus() {
	api GET "/v1/allocations/$JOB/gpus"
	expect 200
	jq -c --arg node "$NODE" '[.gpus[] | select(.node == $node)]' <<<"$BODY"
}

@test "node-report: --once reports nvidia-smi's GPUs; the job's GPUs show them, [N/A] and out-of-range figures as null" {
	allocate_job
	before=$(date -u +%Y-%m-%dT%H:%M:%S)
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node "$NODE" --once
	echo "$output"
	[[ $status == 0 ]]
	[[ $output == *"reported 8 GPU(s) of node '$NODE'"* ]]
	[[ $output == *"line 9: 1 fields instead of 9"*"line skipped"* ]]
	[[ $output == *"line 3: field temperature.gpu: 250 is outside -50..200; sent as unknown"* ]]
	# It ran the query of the issue, once.
	[[ $(cat "$BATS_TEST_TMPDIR/smi.calls") == "$QUERY --format=csv,noheader,nounits" ]]
	gpus=$(node_gpus)
	echo "$gpus"
	jq -e 'length > 0 and all(.[]; .source == "node")' <<<"$gpus"
	jq -e 'all(.[]; if .gpu == 1 then .uuid == null and .name == null and .utilization_gpu_pct == null
			and .utilization_memory_pct == null and .memory_used_mib == null and .power_w == null
			and .temperature_c == null
		else .uuid == "GPU-\(.gpu)" and .name == "NVIDIA A100-SXM4-80GB" and .utilization_gpu_pct == 10 * .gpu
			and .utilization_memory_pct == .gpu and .memory_used_mib == 1000 * .gpu
			and .memory_total_mib == 81920
			and .temperature_c == (if .gpu == 2 then null else 40 + .gpu end)
			and .power_w == (if .gpu == 6 then null else 100.5 + .gpu end) end)' <<<"$gpus"
	# sampled_at is when nvidia-smi ran: now, to the second.
	jq -e --arg before "$before" 'all(.[]; .sampled_at >= $before and (.sampled_at | test("^[0-9-]+T[0-9:]+\\.[0-9]{3}Z$")))' <<<"$gpus"
	# The [N/A] GPU and the out-of-range one are among the job's (the farm places on GPUs 0-3 first).
	jq -e '[.[].gpu] | index(1) != null and index(2) != null' <<<"$gpus"
}

@test "node-report: the loop reports every --interval, and the allocator sees each new figure" {
	allocate_job
	start_reporter --node "$NODE" --interval 1
	wait_for "grep -q 'reported 8 GPU' '$BATS_TEST_TMPDIR/reporter.log'" 10
	sed -i 's/^0, GPU-0, NVIDIA A100-SXM4-80GB, 0,/0, GPU-0, NVIDIA A100-SXM4-80GB, 99,/' "$BATS_TEST_TMPDIR/bin/nvidia-smi"
	wait_for "[[ \$(curl -s -H 'Authorization: Bearer $TEST_TOKEN' '$ALLOCATOR_URL/v1/allocations/$JOB/gpus' |
		jq -r --arg node '$NODE' '.gpus[] | select(.node == \$node and .gpu == 0) | .utilization_gpu_pct') == 99 ]]" 10
	# Each run is a report: at least three in about three seconds, and the log says it once.
	sleep 2
	[[ $(grep -c "POST /v1/nodes/$NODE/telemetry" "$BATS_TEST_TMPDIR/allocator.log") -ge 3 ]]
	[[ $(grep -c "reported 8 GPU" "$BATS_TEST_TMPDIR/reporter.log") == 1 ]]
	[[ $(grep -c "line 9:" "$BATS_TEST_TMPDIR/reporter.log") == 1 ]]   # the same warning, said once
}

@test "node-report: a credential the allocator refuses (401, 403) ends it with exit 5 and the reason, without retrying" {
	allocate_job
	printf 'not-a-known-credential-0123456789\n' >"$BATS_TEST_TMPDIR/wrong.token"
	chmod 600 "$BATS_TEST_TMPDIR/wrong.token"
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/wrong.token" --node "$NODE" --once
	echo "$output"
	[[ $status == 5 && $output == *"401 unknown_token"*"--token-file"* ]]
	# A device token is no node credential.
	printf '%s\n' "$TEST_TOKEN" >"$BATS_TEST_TMPDIR/device.token"
	chmod 600 "$BATS_TEST_TMPDIR/device.token"
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/device.token" --node "$NODE" --once
	[[ $status == 5 && $output == *"403 not_a_node_credential"* ]]
	# A node the credential may not report for: the loop ends too, after one request.
	run timeout 20 hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" \
		--node node-07 --interval 1
	echo "$output"
	[[ $status == 5 && $output == *"node 'node-07'"*"403 node_not_allowed"*"node-0[0-3]"* ]]
	[[ $(grep -c "POST /v1/nodes/node-07/telemetry" "$BATS_TEST_TMPDIR/allocator.log") == 1 ]]
	# Without --node it reports as the short host name, which this credential does not allow.
	host=$(hostname -s)
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --once
	[[ $status == 5 && $output == *"node '$host'"* ]]
	# Nothing was stored for the job's node.
	jq -e 'all(.[]; .source == "simulated")' <<<"$(node_gpus)"
	# The token never shows.
	[[ $(grep -c -e "$NODE_TOKEN" -e "not-a-known-credential" "$BATS_TEST_TMPDIR/allocator.log") == 0 ]]
}

@test "node-report: a hanging nvidia-smi is killed at --timeout with its children; a failing one is named" {
	fake_smi hang
	start=$(now_ms)
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node node-00 \
		--timeout 1 --once
	took=$(($(now_ms) - start))
	echo "$output (${took} ms)"
	[[ $status == 9 && $output == *"did not finish within 1 s; killed it"* ]]
	((took < 3000))
	wait_for "gone $(cat "$BATS_TEST_TMPDIR/smi.pid") && gone $(cat "$BATS_TEST_TMPDIR/smi.child")" 2
	fake_smi fail
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node node-00 --once
	echo "$output"
	[[ $status == 1 && $output == *"nvidia-smi exited with status 9: NVIDIA-SMI has failed because it couldn't communicate"* ]]
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node node-00 \
		--nvidia-smi "$BATS_TEST_TMPDIR/no-such-smi" --once
	[[ $status == 1 && $output == *"cannot run $BATS_TEST_TMPDIR/no-such-smi: no such file"* ]]
	# Nothing reached the allocator.
	[[ $(grep -c "POST /v1/nodes/" "$BATS_TEST_TMPDIR/allocator.log") == 0 ]]
}

@test "node-report: nvidia-smi failing in the loop is logged once, backed off, and reporting resumes when it works" {
	fake_smi fail
	start_reporter --node node-00 --interval 1 --verbose
	wait_for "[[ \$(grep -c 'attempt .* failed; next in' '$BATS_TEST_TMPDIR/reporter.log') -ge 2 ]]" 15
	[[ $(grep -c "warning: .*nvidia-smi exited with status 9" "$BATS_TEST_TMPDIR/reporter.log") == 1 ]]
	echo good >"$BATS_TEST_TMPDIR/smi.mode"
	wait_for "grep -q 'reporting again: 8 GPU(s)' '$BATS_TEST_TMPDIR/reporter.log'" 20
}

@test "node-report: an allocator that is down: back-off messages, then it reports once the allocator is up" {
	port=$ALLOCATOR_PORT
	stop_allocator
	start_reporter --node node-00 --interval 1 --timeout 2 --verbose
	wait_for "[[ \$(grep -c 'attempt .* failed; next in' '$BATS_TEST_TMPDIR/reporter.log') -ge 2 ]]" 15
	cat "$BATS_TEST_TMPDIR/reporter.log"
	# The cause is said once, with what is wrong; each retry waits longer than the interval.
	[[ $(grep -c "warning: the allocator did not answer: POST $ALLOCATOR_URL/v1/nodes/node-00/telemetry" \
		"$BATS_TEST_TMPDIR/reporter.log") == 1 ]]
	grep -q "Couldn't connect to server" "$BATS_TEST_TMPDIR/reporter.log"
	ALLOCATOR_PORT=$port start_allocator
	wait_for "grep -q 'reporting again: 8 GPU(s) of node .node-00. stored after' '$BATS_TEST_TMPDIR/reporter.log'" 20
	allocate_job
	[[ $NODE == node-00 ]]
	jq -e 'length > 0 and all(.[]; .source == "node")' <<<"$(node_gpus)"
}

@test "node-report: 5xx answers are retried, no answer within --timeout is exit 4" {
	start_proxy 1 503
	run hac-node-report --allocator "$PROXY_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node node-00 --once
	echo "$output"
	[[ $status == 1 && $output == *"the allocator answered 503 unavailable: fault proxy: 503 storm"* ]]
	echo blackhole >"$BATS_TEST_TMPDIR/mode"
	start=$(now_ms)
	run hac-node-report --allocator "$PROXY_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node node-00 \
		--timeout 1 --once
	took=$(($(now_ms) - start))
	echo "$output (${took} ms)"
	[[ $status == 4 && $output == *"the allocator did not answer"* ]]
	((took < 3000))
	echo 503 >"$BATS_TEST_TMPDIR/mode"
	ALLOCATOR_URL=$PROXY_URL start_reporter --node node-00 --interval 1 --verbose
	wait_for "[[ \$(grep -c 'attempt .* failed; next in' '$BATS_TEST_TMPDIR/reporter.log') -ge 2 ]]" 15
	echo pass >"$BATS_TEST_TMPDIR/mode"
	wait_for "grep -q 'reporting again: 8 GPU(s)' '$BATS_TEST_TMPDIR/reporter.log'" 20
}

@test "node-report: SIGTERM ends it within a second, in its wait, in a hung nvidia-smi and in a request" {
	local phase
	for phase in wait smi request; do
		rm -f "$BATS_TEST_TMPDIR/reporter.log"
		case $phase in
		wait)
			fake_smi good
			start_reporter --node node-00 --interval 60
			wait_for "grep -q 'reported 8 GPU' '$BATS_TEST_TMPDIR/reporter.log'" 10
			;;
		smi)
			fake_smi hang
			rm -f "$BATS_TEST_TMPDIR/smi.child"
			start_reporter --node node-00 --timeout 60
			wait_for "[[ -s '$BATS_TEST_TMPDIR/smi.child' ]]" 10
			;;
		request)
			fake_smi good
			start_proxy 1 blackhole
			ALLOCATOR_URL=$PROXY_URL start_reporter --node node-00 --timeout 60
			wait_for "grep -q 'POST /v1/nodes/node-00/telemetry' '$BATS_TEST_TMPDIR/proxy.requests'" 10
			;;
		esac
		start=$(now_ms)
		kill -TERM "$REPORTER_PID"
		rc=0
		wait "$REPORTER_PID" || rc=$?
		took=$(($(now_ms) - start))
		REPORTER_PID=
		echo "$phase: exit $rc in $took ms"
		[[ $rc == 0 ]]
		((took < 1000))
		grep -q "stopping" "$BATS_TEST_TMPDIR/reporter.log"
	done
	# The hung nvidia-smi's child went with it.
	wait_for "gone $(cat "$BATS_TEST_TMPDIR/smi.child")" 2
}

@test "node-report: a token file open to others, or empty, is refused before anything is sent" {
	chmod 644 "$BATS_TEST_TMPDIR/node.token"
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node node-00 --once
	echo "$output"
	[[ $status == 5 && $output == *"refusing the token file $BATS_TEST_TMPDIR/node.token: it is open to group or others (mode 0644); run 'chmod 600"* ]]
	[[ $output != *"$NODE_TOKEN"* ]]
	: >"$BATS_TEST_TMPDIR/empty.token"
	chmod 600 "$BATS_TEST_TMPDIR/empty.token"
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/empty.token" --node node-00 --once
	[[ $status == 2 && $output == *"the token file $BATS_TEST_TMPDIR/empty.token is empty"* ]]
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/missing.token" --node node-00 --once
	[[ $status == 2 && $output == *"cannot read the token file $BATS_TEST_TMPDIR/missing.token: No such file"* ]]
	[[ $(grep -c "POST /v1/nodes/" "$BATS_TEST_TMPDIR/allocator.log") == 0 ]]
	[[ ! -e $BATS_TEST_TMPDIR/smi.calls ]]
}

@test "node-report: http:// to a non-loopback address is refused without connecting; bad options are usage errors" {
	command -v strace >/dev/null || skip "strace is missing (Debian package strace)"
	local url
	for url in http://10.1.2.3 http://10.1.2.3:7070/ http://allocator.example:7070 'http://[2001:db8::1]:7070'; do
		run strace -f -e trace=connect -o "$BATS_TEST_TMPDIR/strace.out" \
			timeout 5 hac-node-report --allocator "$url" --token-file "$BATS_TEST_TMPDIR/node.token" --node node-00
		echo "$output"
		[[ $status == 2 && $output == *"refusing plain http:// to "*"use https://"* ]]
		[[ -z $(grep -v 'sa_family=AF_UNIX' "$BATS_TEST_TMPDIR/strace.out" | grep 'connect(') ]]
	done
	run hac-node-report --allocator ftp://127.0.0.1 --token-file "$BATS_TEST_TMPDIR/node.token" --once
	[[ $status == 2 && $output == *"is not an http:// or https:// URL"* ]]
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --node 'node/00' --once
	[[ $status == 2 && $output == *"--node 'node/00' is not a node name"* ]]
	run hac-node-report --allocator "$ALLOCATOR_URL" --token-file "$BATS_TEST_TMPDIR/node.token" --interval 0
	[[ $status == 2 ]]
	run hac-node-report --token-file "$BATS_TEST_TMPDIR/node.token"
	[[ $status == 2 && $output == *"--allocator is required"* ]]
	run hac-node-report --version
	[[ $status == 0 && $output == "hac-node-report "* ]]
	[[ ! -e $BATS_TEST_TMPDIR/smi.calls ]]
}

@test "node-report: conf/hac-node-report.service passes systemd-analyze verify and scores 2.0 or lower" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian package systemd)"
	units=$BATS_TEST_TMPDIR/units
	mkdir -p "$units"
	# verify wants ExecStart= to exist: point it at the build's reporter.
	binary=$(realpath "$BUILD/node-report/hac-node-report")
	sed "s|^ExecStart=/usr/sbin/hac-node-report|ExecStart=$binary|" \
		"$REPO/conf/hac-node-report.service" >"$units/hac-node-report.service"
	run systemd-analyze verify --man=no "$units/hac-node-report.service"
	echo "$output"
	[[ $status == 0 && -z $output ]]
	run systemd-analyze security --offline=true "$REPO/conf/hac-node-report.service"
	score=$(sed -n 's/.*Overall exposure level for hac-node-report.service: \([0-9.]*\).*/\1/p' <<<"$output")
	figure "exposure $score"
	[[ -n $score ]]
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
	# The credential reaches it through systemd, and the exits that a restart cannot mend stay down.
	for line in Type=simple DynamicUser=yes 'LoadCredential=node-token:/etc/hac/node.token' \
		'RestartPreventExitStatus=2 5' 'ConditionPathExists=/etc/hac/node-report.env'; do
		grep -qx "$line" "$REPO/conf/hac-node-report.service" || { echo "missing: $line"; false; }
	done
	grep -q -- '--token-file %d/node-token' "$REPO/conf/hac-node-report.service"
}
