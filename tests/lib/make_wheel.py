#!/usr/bin/env python3
"""Builds a tiny pure-Python wheel for the hac-update tests: a real zip with METADATA, WHEEL and a
RECORD of sha256 hashes, as pip expects.

make_wheel.py OUTDIR NAME VERSION [--pad BYTES] [--escape]
  --pad BYTES  add a data file of that many pseudo-random bytes (a download worth resuming)
  --escape     add a file whose path leaves site-packages: pip refuses it in the middle of its install
"""
import argparse
import base64
import hashlib
import os
import random
import re
import zipfile


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("name")
    parser.add_argument("version")
    parser.add_argument("--pad", type=int, default=0)
    parser.add_argument("--escape", action="store_true")
    args = parser.parse_args()

    dist = re.sub(r"[^\w\d.]+", "_", args.name)
    module = dist.lower()
    info = f"{dist}-{args.version}.dist-info"
    files = {
        f"{module}/__init__.py": f'__version__ = "{args.version}"\nHAC_BUILD = {"+hac" in args.version}\n'.encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {args.name}\nVersion: {args.version}\n"
                            f"Summary: a stand-in for the hac-update tests\n\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: hac-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if args.pad:
        rng = random.Random(f"{args.name}-{args.version}")
        files[f"{module}/blob.bin"] = bytes(rng.getrandbits(8) for _ in range(args.pad))
    if args.escape:
        files["../../../escaped.txt"] = b"outside\n"
    record = [record_line(path, data) for path, data in files.items()]
    record.append(f"{info}/RECORD,,")
    os.makedirs(args.outdir, exist_ok=True)
    wheel = os.path.join(args.outdir, f"{dist}-{args.version}-py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            z.writestr(path, data)
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    print(wheel)


if __name__ == "__main__":
    main()
