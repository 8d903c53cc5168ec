#!/usr/bin/env python3
"""A fault proxy on loopback between hac-agent and hac-allocator, for tests/integration/faults.bats.

fault_proxy.py --upstream URL --mode-file FILE --port-file FILE --log FILE [--listeners N] [--requests FILE]
               [--listen-unix PATH]

The upstream is an http:// URL or unix:/PATH (slurmrestd's socket, for slurm_farm.bats). With
--listen-unix the proxy listens on that Unix socket instead of loopback ports (the port file then
holds the path).

Listens on N free loopback ports (written one a line to the port file, in listener order). For
every accepted connection it appends "<unix time, s> <listener index> <mode>" to the log and
then behaves as the mode file says now (read at each accept, so a test switches faults live):

  pass       forward bytes to the upstream allocator and back
  blackhole  accept, read, never answer, keep the connection open
  trickle    read the request, then answer a valid 200 one byte a second
  reset      accept, then close with SO_LINGER 0: the client sees a connection reset
  503        answer 503 with Retry-After: 1 and a JSON error, then close
  refuse     close the listening socket (reopened on the same port when the mode changes)
  delay N    forward the request, read the allocator's whole answer, pass it back N seconds late
  504        forward the request, read the allocator's answer, drop it and answer 504 (a gateway
             that gave up after the allocator acted)
  503 PATH   as 503 for requests whose path starts with PATH; others are forwarded (one request
             per connection), so one kind of request fails while the rest of the link works
  lose PATH  requests whose path starts with PATH are forwarded, and their answer is read and
             dropped: the connection closes with no answer (the upstream acted; the client never
             hears it). Others are forwarded, one request per connection.

With --requests FILE, every request a mode reads (all but pass, reset and refuse) is appended as
"<unix time, s> <listener index> <mode> <METHOD> <path>" once its head is read.
"""
import argparse
import os
import select
import socket
import struct
import threading
import time
from urllib.parse import urlparse

parser = argparse.ArgumentParser()
parser.add_argument("--upstream", required=True)
parser.add_argument("--mode-file", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--listeners", type=int, default=1)
parser.add_argument("--requests")
parser.add_argument("--listen-unix")
args = parser.parse_args()
upstream = urlparse(args.upstream)
log_lock = threading.Lock()


def mode():
    try:
        with open(args.mode_file) as f:
            return f.read().strip() or "pass"
    except OSError:
        return "pass"


def note_request(index, how, head):
    if not args.requests:
        return
    words = head.split(b"\r\n", 1)[0].decode(errors="replace").split(" ")
    with log_lock, open(args.requests, "a") as f:
        f.write(f"{time.time():.6f} {index} {how.replace(' ', '_')} {' '.join(words[:2])}\n")


def read_request(conn, index=0, how=""):
    """Reads one request's head and body (by Content-Length), or whatever comes in 2 s."""
    conn.settimeout(2)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        note_request(index, how, head)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        data = head + b"\r\n\r\n" + body
    except (socket.timeout, OSError):
        pass
    return data


def read_answer(sock):
    """Reads one whole HTTP answer (by Content-Length, else until the upstream closes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while length is None or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def forward_once(conn, index, how):
    """Reads one request, passes it to the upstream and returns the upstream's whole answer."""
    return send_upstream(read_request(conn, index, how))


def send_upstream(request):
    """Sends one whole request to the upstream (with Connection: close) and returns its answer."""
    head, _, body = request.partition(b"\r\n\r\n")
    lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(b"connection:")]
    request = b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + body
    with connect_upstream(30) as up:
        up.sendall(request)
        return read_answer(up)


def connect_upstream(timeout):
    if upstream.scheme == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(upstream.path)
        return s
    return socket.create_connection((upstream.hostname, upstream.port or 80), timeout=timeout)


def request_path(request):
    words = request.split(b"\r\n", 1)[0].split(b" ")
    return words[1].decode(errors="replace") if len(words) > 1 else ""


def pipe(src, dst):
    # A kept-alive connection made while passing must not outlive a switch to a fault: the mode is
    # read before each chunk too, as a request can come sooner than the 0.1 s idle check (the
    # client then opens a new connection, which gets the fault).
    try:
        while True:
            ready, _, _ = select.select([src], [], [], 0.1)
            if mode() != "pass":
                break
            if not ready:
                continue
            chunk = src.recv(65536)
            if not chunk:
                break
            dst.sendall(chunk)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(conn, how, index):
    try:
        if how == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        if how == "blackhole":
            conn.settimeout(None)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            note_request(index, how, data.partition(b"\r\n\r\n")[0])
            while conn.recv(65536):
                pass
            return
        if how.startswith("delay "):
            answer = forward_once(conn, index, how)
            time.sleep(float(how.split()[1]))
            conn.sendall(answer)
            return
        if how == "504":
            forward_once(conn, index, how)
            body = b'<html><body>504 Gateway Time-out</body></html>'
            conn.sendall(b"HTTP/1.1 504 Gateway Time-out\r\nContent-Type: text/html\r\n"
                         b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        if how.startswith("lose "):
            request = read_request(conn, index, how)
            answer = send_upstream(request)
            if not request_path(request).startswith(how.split()[1]):
                conn.sendall(answer)
            return
        if how.startswith("503 "):
            request = read_request(conn, index, how)
            if not request_path(request).startswith(how.split()[1]):
                conn.sendall(send_upstream(request))
                return
            how = "503"
        elif how == "503":
            read_request(conn, index, how)
        if how == "503":
            body = b'{"schema_version":1,"error":{"code":"unavailable","message":"fault proxy: 503 storm"}}'
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
                         b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        if how == "trickle":
            read_request(conn, index, how)
            body = b'{"schema_version":1}'
            answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            for i in range(len(answer)):
                conn.sendall(answer[i:i + 1])
                time.sleep(1)
            return
        up = connect_upstream(5)
        up.settimeout(None)
        conn.settimeout(None)
        threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
        pipe(conn, up)
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def accept_loop(index, listener):
    port = None if args.listen_unix else listener.getsockname()[1]
    while True:
        if mode() == "refuse" and port is not None:
            # A closed port: connections are refused by the kernel, and so cannot be counted.
            listener.close()
            while mode() == "refuse":
                time.sleep(0.05)
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(128)
        listener.settimeout(0.1)
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        how = mode()
        with log_lock, open(args.log, "a") as f:
            f.write(f"{time.time():.6f} {index} {how}\n")
        threading.Thread(target=serve, args=(conn, how, index), daemon=True).start()


listeners = []
if args.listen_unix:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(args.listen_unix)
    s.listen(128)
    listeners.append(s)
for i in range(0 if args.listen_unix else args.listeners):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    listeners.append(s)
with open(args.port_file + ".tmp", "w") as f:
    f.write("".join(f"{s.getsockname() if args.listen_unix else s.getsockname()[1]}\n" for s in listeners))
# Renamed into place, so a test waiting for the file reads every port.
os.rename(args.port_file + ".tmp", args.port_file)
threads = [threading.Thread(target=accept_loop, args=(i, s), daemon=True) for i, s in enumerate(listeners)]
for t in threads:
    t.start()
for t in threads:
    t.join()
