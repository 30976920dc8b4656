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

  /usr/bin/python3 scripts/make-big.py PATH --views MIB
      one float32 storage of MIB MiB (a square matrix a, MIB a multiple of 4
      and 4 * n * n bytes) and views of it that share it: contiguous (a
      itself), transpose (a.t()), permute (a as 4-D, permute(3, 1, 2, 0)),
      slice2 (a[:, ::2]), slice2rows (a[::2]), expand (a[:1].expand(n, n)).
      Element i holds the int32 i (as float32 bits), so every byte is known.

All write torch's zip format with torch.save (the whole checkpoint is held in
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


def views(mib):
    n = int((mib * 2**20 // 4) ** 0.5)
    if n * n * 4 != mib * 2**20 or n % 1024:
        sys.exit("make-big: --views needs MIB with 4 * n * n bytes, n a multiple of 1024")
    a = torch.arange(n * n, dtype=torch.int32).view(torch.float32).view(n, n)
    return collections.OrderedDict([
        ("contiguous", a),
        ("transpose", a.t()),
        ("permute", a.view(n // 128, 32, 4, n).permute(3, 1, 2, 0)),
        ("slice2", a[:, ::2]),
        ("slice2rows", a[::2]),
        ("expand", a[:1].expand(n, n)),
    ])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--gib", type=float, help="total size in GiB")
    g.add_argument("--small", type=int, metavar="K", help="write K tiny tensors")
    g.add_argument("--views", type=int, metavar="MIB", help="one MIB MiB storage and views of it")
    ap.add_argument("--tensors", type=int, default=4, metavar="K", help="tensors in --gib mode")
    ap.add_argument("--group", type=int, default=1, metavar="G",
                    help="--gib mode: keys layer{i//G}.sub{i%%G}.weight (default 1: layer{i}.weight)")
    ap.add_argument("--bump", type=int, metavar="I",
                    help="--gib mode: the last element of tensor I is i + 2, not i + 1")
    a = ap.parse_args()
    t0 = time.time()
    if a.views is not None:
        obj = views(a.views)
    elif a.small is not None:
        obj = small(a.small)
    else:
        obj = big(a.gib, a.tensors, a.group, a.bump)
    torch.save(obj, a.path)
    print(f"{a.path}: {len(obj)} tensors, {os.path.getsize(a.path)} bytes, "
          f"{time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
