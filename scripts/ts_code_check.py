#!/usr/bin/python3
"""ts_code_check.py - .ptfs/code of a mounted TorchScript archive against its zip.

usage: ts_code_check.py ARCHIVE MOUNTPOINT

Every zip member PREFIX/code/REST must be the file MOUNTPOINT/.ptfs/code/REST
byte for byte (read with zipfile: stored and deflated alike), and the folder
must hold no other file. Reads the members as bytes only: nothing is
unpickled, so it is safe on any archive. Prints "ok N files"; exits 1 with
the reason otherwise.
"""
import os
import sys
import zipfile


def main():
    archive, mnt = sys.argv[1:3]
    root = os.path.join(mnt, ".ptfs", "code")
    want = {}
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            parts = info.filename.split("/", 2)
            if len(parts) == 3 and parts[1] == "code" and parts[2] and not info.is_dir():
                want[parts[2]] = z.read(info)
    got = set()
    for d, _, files in os.walk(root):
        for f in files:
            got.add(os.path.relpath(os.path.join(d, f), root))
    if got != set(want):
        print("ts_code_check: files differ: only in the mount %s, only in the archive %s" %
              (sorted(got - set(want)), sorted(set(want) - got)), file=sys.stderr)
        sys.exit(1)
    for rel, data in want.items():
        with open(os.path.join(root, rel), "rb") as f:
            mine = f.read()
        if mine != data or os.path.getsize(os.path.join(root, rel)) != len(data):
            print("ts_code_check: %s differs from its record" % rel, file=sys.stderr)
            sys.exit(1)
    print("ok %d files" % len(want))


main()
