#!/usr/bin/env python3
"""Write a minimal torch-style zip checkpoint around a given pickle, without torch.

Usage: tests/mkzip.py OUT.pt PICKLE_EXPR
PICKLE_EXPR is a Python expression evaluated here (trusted test input) that
yields either bytes (used as data.pkl verbatim) or a plain object (pickled
with protocol 2). The archive holds archive/data.pkl and archive/version,
stored, like torch.save's layout minus the 64-byte padding (torch accepts it).
"""
import pickle
import sys
import zipfile


def main():
    out, expr = sys.argv[1], sys.argv[2]
    obj = eval(expr, {"__builtins__": __builtins__})
    data = obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=2)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/version", "3\n")


if __name__ == "__main__":
    main()
