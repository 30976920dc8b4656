#!/usr/bin/python3
"""Write pairs of checkpoints that differ in one known way, for comparing.

Usage: /usr/bin/python3 scripts/make-pairs.py OUTDIR

Writes OUTDIR/base.pt and, for each NAME below, OUTDIR/NAME.pt, which is
base.pt's objects with one change (tests/22-compare.bats, tests of
`ptfs diff`):

  same        the same objects saved again under another name (the zip's
              folder name, serialization id and storage keys differ)
  element     one element of w changed (w[1, 2] += 1)
  close       every element of w moved by 1e-7 (within torch.allclose)
  dtype       w as float64
  shape       w as 4x3 (the same elements)
  location    b's storage tagged cuda:1 instead of cpu
  added       a new key 'extra'
  removed     the key 'b' gone
  epoch       epoch 3 -> 4
"""

import collections
import os
import sys

import torch


def base():
    torch.manual_seed(0)
    return collections.OrderedDict([
        ("w", torch.randn(3, 4)),
        ("b", torch.arange(4, dtype=torch.int64)),
        ("layer", collections.OrderedDict([("bias", torch.zeros(2))])),
        ("epoch", 3),
    ])


def save(obj, path, tags=None):
    """torch.save, with the storages of the tensors in tags tagged as given."""
    orig = torch.serialization.location_tag
    by_ptr = {t.storage().data_ptr(): tag for t, tag in (tags or {}).items()}
    torch.serialization.location_tag = lambda s: by_ptr.get(s.data_ptr()) or orig(s)
    try:
        torch.save(obj, path)
    finally:
        torch.serialization.location_tag = orig


def main(out):
    os.makedirs(out, exist_ok=True)
    save(base(), os.path.join(out, "base.pt"))
    changes = {}
    d = base(); changes["same"] = (d, None)
    d = base(); d["w"][1, 2] += 1; changes["element"] = (d, None)
    d = base(); d["w"] += 1e-7; changes["close"] = (d, None)
    d = base(); d["w"] = d["w"].double(); changes["dtype"] = (d, None)
    d = base(); d["w"] = d["w"].reshape(4, 3).clone(); changes["shape"] = (d, None)
    d = base(); changes["location"] = (d, {d["b"]: "cuda:1"})
    d = base(); d["extra"] = torch.ones(1); changes["added"] = (d, None)
    d = base(); del d["b"]; changes["removed"] = (d, None)
    d = base(); d["epoch"] = 4; changes["epoch"] = (d, None)
    for name, (obj, tags) in changes.items():
        save(obj, os.path.join(out, name + ".pt"), tags)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
