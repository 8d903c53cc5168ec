#!/usr/bin/env bash
# slurmrestd's own round trip, the floor under hac-allocator's Slurm backend (issue 14): a hold
# job submitted (POST /slurm/v0.0.38/job/submit) and cancelled (DELETE /job/ID) straight over
# slurmrestd's Unix socket, one connection per request, from one python3 process so that no
# process start is counted. Also how long the farm (tests/lib/slurm_cluster.sh) takes to start.
#   usage: tests/bench/slurm_rest.sh [ROUNDS]   (default 50; needs root and the Slurm packages)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"
rounds=${1:-50}
cluster=$BENCH_DIR/../lib/slurm_cluster.sh
((EUID == 0)) || skip "the Slurm farm needs root"
command -v slurmrestd >/dev/null || skip "Slurm is not installed: install munge slurmctld slurmd slurmrestd slurm-client"

farm=$BATS_TEST_TMPDIR/slurm
trap '"$cluster" stop "$farm" >&2 || true; bench_cleanup' EXIT
start=$EPOCHREALTIME
"$cluster" start "$farm" >&2
start_s=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
bench_row "Slurm farm start, 4 nodes (munged, slurmctld, 4 slurmd, slurmrestd ready)" s "" false '{}' "$start_s"

# One JSON object: each round trip in ms, and its submit and cancel halves.
times=$(python3 - "$farm/slurmrestd.sock" "$rounds" <<'EOF'
import http.client, json, socket, sys, time

sock_path, rounds = sys.argv[1], int(sys.argv[2])

class UnixConnection(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("slurm", timeout=30)
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(sock_path)

def call(method, path, body=None):
    conn = UnixConnection()
    headers = {"Content-Type": "application/json"} if body else {}
    conn.request(method, "/slurm/v0.0.38" + path, body=body, headers=headers)
    answer = conn.getresponse()
    data = json.loads(answer.read())
    conn.close()
    if answer.status != 200 or data.get("errors"):
        sys.exit(f"{method} {path}: HTTP {answer.status}: {data.get('errors')}")
    return data

def submit(i):
    return json.dumps({"script": "#!/bin/sh\nexec sleep infinity\n",
        "job": {"name": f"hac-bench-{i:04d}", "partition": "farm", "gres": "hacgpu:1", "nodes": "1",
                "ntasks": 1, "cpus_per_task": 1, "comment": "account=bench device=bench",
                "current_working_directory": "/tmp", "environment": {"PATH": "/bin:/usr/bin"},
                "standard_output": "/dev/null", "standard_error": "/dev/null"}})

rt, sub, can = [], [], []
for i in range(-3, rounds):  # 3 warm-up rounds
    t0 = time.perf_counter()
    job = call("POST", "/job/submit", submit(i + 3))["job_id"]
    t1 = time.perf_counter()
    call("DELETE", f"/job/{job}")
    t2 = time.perf_counter()
    if i >= 0:
        rt.append((t2 - t0) * 1000); sub.append((t1 - t0) * 1000); can.append((t2 - t1) * 1000)
print(json.dumps({"rt": rt, "submit": sub, "cancel": can}))
EOF
)
extra=$(jq -c 'def q($p): sort | .[($p * (length - 1)) | floor];
	{p99: (.rt | q(0.99)), submit_median: (.submit | q(0.5)), cancel_median: (.cancel | q(0.5))}' <<<"$times")
mapfile -t values < <(jq -r '.rt[] | . * 1000 | round / 1000' <<<"$times")
bench_row "slurmrestd submit + cancel of a hold job, direct (1 GPU, 1 node)" ms "" false "$extra" "${values[@]}"
