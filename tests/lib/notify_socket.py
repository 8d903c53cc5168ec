#!/usr/bin/env python3
# Stands in for systemd's $NOTIFY_SOCKET in tests: binds a Unix datagram socket and writes one
# line per message to stdout, "SECONDS FIELD FIELD...", SECONDS on the monotonic clock.
#
# With --db PATH, a READY=1 also writes "db user_version=N tables=N" read from the job log at
# that moment, and with --api SOCKET "api status=N" from GET /v1/version, so a test can tell
# that the agent was serving from a migrated database when it said it was ready.
import argparse
import os
import socket
import sqlite3
import sys
import time


def db_state(path):
    try:
        db = sqlite3.connect(path, timeout=2)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        db.close()
        return f"db user_version={version} tables={tables}"
    except sqlite3.Error as e:
        return f"db error={str(e).replace(' ', '_')}"


def api_state(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(path)
            s.sendall(b"GET /v1/version HTTP/1.1\r\nHost: hac\r\nConnection: close\r\n\r\n")
            status = s.recv(64).split(b" ")[1].decode()
            return f"api status={status}"
    except (OSError, IndexError) as e:
        return f"api error={type(e).__name__}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--db")
    parser.add_argument("--api")
    args = parser.parse_args()
    if os.path.exists(args.path):
        os.unlink(args.path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(args.path)
    while True:
        message = sock.recv(4096).decode(errors="replace")
        fields = " ".join(message.split("\n"))
        print(f"{time.monotonic():.3f} {fields}", flush=True)
        if "READY=1" in message.split("\n"):
            if args.db:
                print(f"{time.monotonic():.3f} {db_state(args.db)}", flush=True)
            if args.api:
                print(f"{time.monotonic():.3f} {api_state(args.api)}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
