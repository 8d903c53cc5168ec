#!/usr/bin/env python3
"""Hostile clients of the agent's Unix socket, for tests/integration/bad_input.bats.

  flood.py slowloris SOCKET N SECONDS [PROGRESS [EVERY]]
                                        N connections, each sent one header byte every EVERY
                                        seconds (default 1) for SECONDS; after each round,
                                        "ROUND ALIVE" appended to PROGRESS ("" for none)
  flood.py hold SOCKET N SECONDS        N idle connections, held for SECONDS
  flood.py burst SOCKET N PATH          N concurrent GET PATH requests

Each prints one line of JSON: how many connections opened, stayed open, were answered and how.
"""
import json
import socket
import sys
import threading
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s


def open_many(path, n, persist=0.0):
    """Opens up to n connections; with persist, retries refused ones for that many seconds (a
    full listen backlog refuses until the server accepts again)."""
    socks, failed = [], 0
    deadline = time.monotonic() + persist
    while len(socks) < n:
        try:
            socks.append(connect(path))
        except OSError:
            if time.monotonic() >= deadline:
                failed = n - len(socks)
                break
            time.sleep(0.01)
    return socks, failed


def alive(s):
    """Whether the server has not closed s (no EOF or error waiting to be read)."""
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


def slowloris(path, n, seconds, progress=None, every=1):
    socks, failed = open_many(path, n, persist=3.0)
    request = b"GET /v1/status HTTP/1.1\r\nHost: hac\r\nX-Slow: " + b"a" * 10000
    for i in range(max(1, seconds // every)):
        for s in socks:
            try:
                s.send(request[i:i + 1])
            except OSError:
                pass
        time.sleep(every)
        # How many the server still holds, so a test can wait for the state it checks.
        if progress:
            with open(progress, "a") as f:
                f.write(f"{i + 1} {sum(1 for s in socks if alive(s))}\n")
    still = sum(1 for s in socks if alive(s))
    print(json.dumps({"opened": len(socks), "refused": failed, "open_at_end": still}), flush=True)


def hold(path, n, seconds):
    socks, failed = open_many(path, n)
    print(json.dumps({"opened": len(socks), "refused": failed}), flush=True)
    time.sleep(seconds)
    still = sum(1 for s in socks if alive(s))
    print(json.dumps({"open_at_end": still}), flush=True)


def burst(path, n, target):
    results = {}
    lock = threading.Lock()
    start = threading.Barrier(n)

    def one():
        try:
            start.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass
        try:
            s = connect(path)
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: hac\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            key = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "closed"
        except ConnectionRefusedError:
            key = "refused"
        except BlockingIOError:
            key = "refused"
        except OSError as e:
            key = type(e).__name__
        with lock:
            results[key] = results.get(key, 0) + 1

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(results, sort_keys=True), flush=True)


def main():
    mode, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "slowloris":
        slowloris(path, n, int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None,
                  int(sys.argv[6]) if len(sys.argv) > 6 else 1)
    elif mode == "hold":
        hold(path, n, int(sys.argv[4]))
    elif mode == "burst":
        burst(path, n, sys.argv[4])
    else:
        sys.exit(f"flood.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
