#!/usr/bin/env python3
# Socket activation as systemd does it (sd_listen_fds(3)), for tests: binds and listens on a Unix
# stream socket, puts it at fd 3, sets LISTEN_FDS=1, LISTEN_PID and LISTEN_FDNAMES, and execs
# the command. Usage: socket_activate.py SOCKET COMMAND [ARGS...]
import os
import socket
import sys

if len(sys.argv) < 3:
    sys.exit("usage: socket_activate.py SOCKET COMMAND [ARGS...]")
path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.bind(path)
os.chmod(path, 0o660)
sock.listen(64)
if sock.fileno() != 3:
    os.dup2(sock.fileno(), 3, inheritable=True)
    sock.close()
else:
    os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="agent.sock")
os.execvp(sys.argv[2], sys.argv[2:])
