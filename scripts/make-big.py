#!/usr/bin/python3
"""Write large or many-tensor checkpoints for ptfs benchmarks.

Usage:
  /usr/bin/python3 scripts/make-big.py PATH --gib N [--tensors K] [--group G]
      about N GiB (N may be fractional) of float32 in K 1-D tensors (default 4),
      keys layer{i}.weight; tensor i is filled with the value i + 1.  With
      --group G (G > 1) the keys are layer{i//G}.sub{i%G}.weight instead, so a
      many-tensor checkpoint has K/G folders at its root, not K.  With
      --bump I the last element of tensor I is i + 2 instead (one element
      changed, for `ptfs diff` benchmarks).
  /usr/bin/python3 scripts/make-big.py PATH --small K
      K tensors of 16 float32 each, keys layer{i//10}.sub{i%10}.weight,
      tensor i holding i*16 .. i*16+15.

Both write torch's zip format with torch.save (the whole checkpoint is held in
memory while saving).  Values are cheap to make (fill_/arange, not random) and
easy to check: byte 0 of tensor i is float(i + 1) in --gib mode.
"""

import argparse
import collections
import os
import sys
import time

import torch


def big(gib, k, group=1, bump=None):
    n = int(gib * 2**30) // 4 // k
    if n < 1:
        sys.exit("make-big: --gib too small for that many tensors")
    d = collections.OrderedDict()
    for i in range(k):
        key = f"layer{i}.weight" if group <= 1 else f"layer{i // group}.sub{i % group}.weight"
        d[key] = torch.empty(n, dtype=torch.float32).fill_(i + 1)
        if i == bump:
            d[key][-1] = i + 2
    return d


def small(k):
    flat = torch.arange(k * 16, dtype=torch.float32)
    # clone: each tensor gets its own storage, like a real state dict
    return collections.OrderedDict(
        (f"layer{i // 10}.sub{i % 10}.weight", flat[i * 16:(i + 1) * 16].clone()) for i in range(k))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--gib", type=float, help="total size in GiB")
    g.add_argument("--small", type=int, metavar="K", help="write K tiny tensors")
    ap.add_argument("--tensors", type=int, default=4, metavar="K", help="tensors in --gib mode")
    ap.add_argument("--group", type=int, default=1, metavar="G",
                    help="--gib mode: keys layer{i//G}.sub{i%%G}.weight (default 1: layer{i}.weight)")
    ap.add_argument("--bump", type=int, metavar="I",
                    help="--gib mode: the last element of tensor I is i + 2, not i + 1")
    a = ap.parse_args()
    t0 = time.time()
    obj = small(a.small) if a.small is not None else big(a.gib, a.tensors, a.group, a.bump)
    torch.save(obj, a.path)
    print(f"{a.path}: {len(obj)} tensors, {os.path.getsize(a.path)} bytes, "
          f"{time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
