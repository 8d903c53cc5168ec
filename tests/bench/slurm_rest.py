#!/usr/bin/env python3
"""The timing loop of tests/bench/slurm_rest.sh, in one process so that no process start is counted.

Each round makes one of each, in an order that turns round by round so that a burst of noise falls
on every kind:
  direct     a one-GPU hold job submitted (POST /job/submit) and cancelled (DELETE /job/ID) straight
             over slurmrestd's Unix socket: slurmrestd's own round trip (the job is cancelled while
             still PENDING: Slurm has not placed it yet);
  placed     the same hold job submitted straight, then GET /job/ID until Slurm has placed it
             (RUNNING, its GPUs in gres_detail), cancelled, then GET /job/ID until CANCELLED: what
             the allocator has to wait for, done by hand with 5 ms between an answer and the next poll;
  slurm      POST /v1/allocations (201) + DELETE /v1/allocations/{job} (200) on hac-allocator with
             the Slurm backend, a Small.16GB device (1 GPU, 1 node: the same hold job); then
             GET /job/ID until Slurm says CANCELLED (the allocator's worker cancels it after the
             DELETE has been answered). The Slurm job's id is read from the allocator's database
             between the two requests, outside the timing;
  simulated  the same allocate + release on hac-allocator with the simulated backend;
  sqlite     one durable SQLite commit (WAL, synchronous=FULL, BEGIN IMMEDIATE, one INSERT), as the
             allocator's store makes them, in a file beside the allocators' databases: what a commit
             costs on this disk now.
Every request has a connection of its own (as slurm_rest.sh always measured slurmrestd). At the end,
slurmctld's log gives, per Slurm job of the allocator, the time from the submit's arrival to the
scheduler's "Allocate" (its own clock, ms): the wait for Slurm's scheduler, which a submit + cancel
never has. Prints one JSON object of lists of milliseconds, one entry per measured round.
"""
import argparse
import http.client
import json
import os
import re
import socket
import sqlite3
import sys
import time
import uuid

API = "/slurm/v0.0.38"
LIVE = ("RUNNING", "PENDING", "CONFIGURING", "COMPLETING")


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("slurm", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.path)


def exchange(conn, method, path, body=None, headers=None):
    headers = dict(headers or {})
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    try:
        return answer.status, json.loads(data)
    except ValueError:
        sys.exit(f"{method} {path}: HTTP {answer.status}, not JSON: {data[:200]!r}")


def slurmctld_times(log):
    """{job: submit time}, {job: placement time} from slurmctld's log, in seconds of its clock:
    "[2026-12-02T05:24:39.881] _slurm_rpc_submit_batch_job: JobId=7 ..." and "[...] sched: Allocate
    JobId=7 NodeList=..." (or the backfill scheduler's "Started JobId=7")."""
    submitted, allocated = {}, {}
    stamp = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})\] (.*)$")
    with open(log, errors="replace") as f:
        for line in f:
            m = stamp.match(line)
            if not m:
                continue
            at = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000
            if (j := re.search(r"_slurm_rpc_submit_batch_job: JobId=(\d+)", m.group(3))):
                submitted.setdefault(int(j.group(1)), at)
            elif (j := re.search(r"(?:sched: Allocate|Started) JobId=(\d+)", m.group(3))):
                allocated.setdefault(int(j.group(1)), at)
    return submitted, allocated


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--slurmrestd", required=True, help="slurmrestd's Unix socket")
    p.add_argument("--slurmctld-log", required=True, help="slurmctld's log, for its scheduler's times")
    p.add_argument("--slurm-port", type=int, required=True, help="hac-allocator on the Slurm backend")
    p.add_argument("--slurm-db", required=True, help="that allocator's database (read for the Slurm job id)")
    p.add_argument("--simulated-port", type=int, required=True, help="hac-allocator on the simulated backend")
    p.add_argument("--token", required=True)
    p.add_argument("--scratch", required=True, help="a folder for the SQLite commit probe")
    p.add_argument("--rounds", type=int, required=True)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()

    def rest(method, path, body=None):
        return exchange(UnixConnection(a.slurmrestd), method, API + path, body)

    def rest_ok(method, path, body=None):
        status, data = rest(method, path, body)
        if status != 200 or data.get("errors"):
            sys.exit(f"slurmrestd {method} {path}: HTTP {status}: {data.get('errors')}")
        return data

    def api(port, method, path, body=None, key=None):
        headers = {"Authorization": "Bearer " + a.token}
        if key:
            headers["Idempotency-Key"] = key
        return exchange(http.client.HTTPConnection("127.0.0.1", port, timeout=60), method, path, body, headers)

    def expect(what, status, data, want):
        if status != want:
            sys.exit(f"{what}: HTTP {status}, not {want}: {json.dumps(data)[:300]}")

    def device_of(port):
        status, data = api(port, "POST", "/v1/agents/register", b'{"agent_version":"bench","hostname":"bench"}')
        expect(f"register on port {port}", status, data, 200)
        return data["devices"][0]["id"]

    def submit_body(i):
        return json.dumps({"script": "#!/bin/sh\nexec sleep infinity\n",
            "job": {"name": f"hac-bench-{i:04d}", "partition": "farm", "gres": "hacgpu:1", "nodes": "1",
                    "ntasks": 1, "cpus_per_task": 1, "comment": "account=bench device=bench",
                    "current_working_directory": "/tmp", "environment": {"PATH": "/bin:/usr/bin"},
                    "standard_output": "/dev/null", "standard_error": "/dev/null"}}).encode()

    def job_state(job):
        """(job_state, nodes with GPUs placed) of Slurm job `job`; None once slurmctld forgot it.
        A GET changes nothing, so one whose connection slurmrestd dropped is asked again (it does
        drop one now and then under a stream of polls: "_handle_poll_event: ... connection invalid")."""
        for attempt in range(3):
            try:
                status, data = rest("GET", f"/job/{job}")
                break
            except (ConnectionError, http.client.HTTPException) as e:
                if attempt == 2:
                    sys.exit(f"GET /job/{job}: {e!r}, three times")
                time.sleep(0.05)
        errors = data.get("errors") or []
        if status == 200 and not errors:
            j = data["jobs"][0]
            return j["job_state"], len(j.get("gres_detail") or [])
        if any(e.get("error_number") == 2017 or e.get("error_code") == 2017 for e in errors):
            return None
        sys.exit(f"GET /job/{job}: HTTP {status}: {errors}")

    def wait_until(job, done, what):
        """Polls Slurm job `job` (5 ms between an answer and the next request) until done(state,
        gpus); returns when the answer that said so came, the polls made and how long the first took."""
        deadline = time.perf_counter() + 60
        polls, first = 0, None
        while True:
            g0 = time.perf_counter()
            state = job_state(job)
            g1 = time.perf_counter()
            polls += 1
            first = first if first is not None else g1 - g0
            if state is None or done(*state):
                return g1, polls, first
            if state[0] not in LIVE:
                sys.exit(f"Slurm job {job} ({what}) is {state[0]}")
            if g1 > deadline:
                sys.exit(f"Slurm job {job} ({what}): still {state[0]} after 60 s")
            time.sleep(0.005)

    slurm_device = device_of(a.slurm_port)
    simulated_device = device_of(a.simulated_port)
    holds = sqlite3.connect(f"file:{a.slurm_db}?mode=ro", uri=True, isolation_level=None)
    probe = sqlite3.connect(os.path.join(a.scratch, "commit-probe.db"), isolation_level=None)
    probe.execute("PRAGMA journal_mode=WAL")
    probe.execute("PRAGMA synchronous=FULL")
    probe.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, job TEXT, at INTEGER)")

    out = {k: [] for k in ("rt", "submit", "cancel",
                           "placed_rt", "placed_wait", "placed_cancel_to_gone",
                           "slurm_rt", "slurm_allocate", "slurm_release", "slurm_gone", "slurm_release_to_gone",
                           "slurm_polls", "get_job", "slurm_sched_wait", "slurm_net",
                           "sim_rt", "sim_allocate", "sim_release", "sqlite_commit")}
    slurm_jobs = []  # (Slurm job id, allocate + release in ms) of each measured allocator round
    keep = False
    n = 0

    def direct():
        nonlocal n
        n += 1
        t0 = time.perf_counter()
        job = rest_ok("POST", "/job/submit", submit_body(n))["job_id"]
        t1 = time.perf_counter()
        rest_ok("DELETE", f"/job/{job}")
        t2 = time.perf_counter()
        if keep:
            out["rt"].append((t2 - t0) * 1000)
            out["submit"].append((t1 - t0) * 1000)
            out["cancel"].append((t2 - t1) * 1000)

    def placed():
        nonlocal n
        n += 1
        t0 = time.perf_counter()
        job = rest_ok("POST", "/job/submit", submit_body(n))["job_id"]
        t1, _, _ = wait_until(job, lambda state, gpus: state == "RUNNING" and gpus > 0, "until placed")
        t2 = time.perf_counter()
        rest_ok("DELETE", f"/job/{job}")
        t3, _, _ = wait_until(job, lambda state, gpus: state == "CANCELLED", "until cancelled")
        if keep:
            out["placed_rt"].append((t3 - t0) * 1000)
            out["placed_wait"].append((t1 - t0) * 1000)
            out["placed_cancel_to_gone"].append((t3 - t2) * 1000)

    def allocate_release(port, device, what):
        job = str(uuid.uuid4())
        body = json.dumps({"job_id": job, "device_id": device}).encode()
        t0 = time.perf_counter()
        status, data = api(port, "POST", "/v1/allocations", body, key=job)
        t1 = time.perf_counter()
        expect(f"{what}: POST /v1/allocations", status, data, 201)
        slurm_id = None
        if what == "slurm":  # not timed: which Slurm job holds it, from the allocator's own table
            rows = holds.execute("SELECT slurm_job_id FROM slurm_holds WHERE job_id = ?", (job,)).fetchall()
            if len(rows) != 1 or not rows[0][0]:
                sys.exit(f"slurm: no Slurm job recorded for job {job} in {a.slurm_db}")
            slurm_id = rows[0][0]
        t2 = time.perf_counter()
        status, data = api(port, "DELETE", f"/v1/allocations/{job}")
        t3 = time.perf_counter()
        expect(f"{what}: DELETE /v1/allocations/{job}", status, data, 200)
        if slurm_id is not None:
            gone, polls, first_get = wait_until(slurm_id, lambda state, gpus: state == "CANCELLED", f"job {job}")
        if not keep:
            return
        key = "slurm" if what == "slurm" else "sim"
        out[f"{key}_allocate"].append((t1 - t0) * 1000)
        out[f"{key}_release"].append((t3 - t2) * 1000)
        out[f"{key}_rt"].append((t1 - t0 + t3 - t2) * 1000)
        if slurm_id is not None:
            out["slurm_gone"].append((t1 - t0 + gone - t2) * 1000)
            out["slurm_release_to_gone"].append((gone - t2) * 1000)
            out["slurm_polls"].append(polls)
            out["get_job"].append(first_get * 1000)
            slurm_jobs.append((slurm_id, (t1 - t0 + t3 - t2) * 1000))

    def commit():
        t0 = time.perf_counter()
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("INSERT INTO t(job, at) VALUES (?, ?)", (str(uuid.uuid4()), time.time_ns()))
        probe.execute("COMMIT")
        t1 = time.perf_counter()
        if keep:
            out["sqlite_commit"].append((t1 - t0) * 1000)

    kinds = [direct, placed, lambda: allocate_release(a.slurm_port, slurm_device, "slurm"),
             lambda: allocate_release(a.simulated_port, simulated_device, "simulated"), commit]
    for i in range(-a.warmup, a.rounds):
        keep = i >= 0
        for k in range(len(kinds)):
            kinds[(i + k) % len(kinds)]()

    submitted, allocated = slurmctld_times(a.slurmctld_log)
    for job, rt in slurm_jobs:
        if job not in submitted or job not in allocated:
            sys.exit(f"{a.slurmctld_log}: no submit or no Allocate line for Slurm job {job}")
        wait = (allocated[job] - submitted[job]) * 1000
        out["slurm_sched_wait"].append(wait)
        out["slurm_net"].append(rt - wait)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
