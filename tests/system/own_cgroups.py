#!/usr/bin/env python3
"""Prints the folder of this process's cgroup in each cgroup hierarchy mounted here, one a line.

systemd_boot.bats boots systemd in a cgroup namespace that starts at these folders, so the
slices and scopes it makes are below them; once the boot is over the test removes what is
left there (empty folders). Works for cgroup v2, v1 and the hybrid of both.
"""
import os

paths = {}
for line in open("/proc/self/cgroup"):
    _, controllers, path = line.rstrip("\n").split(":", 2)
    paths[frozenset(controllers.split(",")) - {""}] = path

for line in open("/proc/self/mountinfo"):
    mount, fs = line.split(" - ")
    mount, (fstype, _, options) = mount.split(), fs.split()
    if fstype == "cgroup2":
        key = frozenset()
    elif fstype == "cgroup":
        # A v1 hierarchy: the one whose controllers (or name=) are among the mount's options.
        key = next((k for k in paths if k and k <= set(options.split(","))), None)
    else:
        continue
    path, root = paths.get(key), mount[3]
    if path is not None and (root == "/" or path == root or path.startswith(root + "/")):
        print(os.path.normpath(mount[4] + "/" + (path if root == "/" else path[len(root):])))
