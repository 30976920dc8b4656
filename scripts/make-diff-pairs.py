#!/usr/bin/python3
"""Write pairs of checkpoints for tests/85-diff.bats (`ptfs diff A B`).

Usage: /usr/bin/python3 scripts/make-diff-pairs.py DIR

Each pair is DIR/NAME_a.pt and DIR/NAME_b.pt, written by torch.save from a
small base checkpoint (a state_dict under 'model', 'epoch' 12, 'name',
'lr'); B differs from A by one change:

  same       the same objects saved twice under other file names: the
             archive folder (named after the file) differs, the objects not
  format     the same objects, B in the legacy (pre-1.6) format: other
             storage keys (object ids), another container
  elem       model.fc.weight[1, 2] 5.0 -> 5.5
  dtype      model.fc.bias float32 -> float64, same values
  shape      model.fc.weight 3x4 -> 4x3, same elements
  location   model.fc.bias's storage tagged cuda:1 instead of cpu
  added      a key model.extra.weight added
  removed    the key model.fc.bias removed
  epoch      epoch 12 -> 13
  close      model.fc.weight[0, 1] 1.0 -> 1.000001 (within rtol 1e-05)
  grad       model.fc.weight a Parameter with requires_grad=True
  types      float16, bfloat16, int64, bool and complex64 tensors, one
             element changed in each
  nan        a float32 tensor holding NaN in both, and a NaN that appears
"""

import collections
import copy
import os
import sys

import torch

from torch_tags import location_tags


def base():
    model = collections.OrderedDict()
    model["fc.weight"] = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    model["fc.bias"] = torch.tensor([0.5, -1.0, 2.0])
    model["emb"] = torch.arange(6, dtype=torch.int64)
    return {"model": model, "epoch": 12, "name": "run1", "lr": 0.001}


def typed():
    return collections.OrderedDict([
        ("h", torch.tensor([1.0, 2.0, 3.0], dtype=torch.float16)),
        ("bf", torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16)),
        ("i", torch.tensor([1, -2, 3], dtype=torch.int64)),
        ("b", torch.tensor([True, False, True])),
        ("c", torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64)),
    ])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    def save(name, a, b, tags_b=(), **kw_b):
        torch.save(a, os.path.join(out, name + "_a.pt"))
        with location_tags(tags_b):
            torch.save(b, os.path.join(out, name + "_b.pt"), **kw_b)

    a = base()
    save("same", a, a)
    save("format", a, a, _use_new_zipfile_serialization=False)

    b = copy.deepcopy(a)
    b["model"]["fc.weight"][1, 2] = 5.5
    save("elem", a, b)

    b = copy.deepcopy(a)
    b["model"]["fc.bias"] = b["model"]["fc.bias"].double()
    save("dtype", a, b)

    b = copy.deepcopy(a)
    b["model"]["fc.weight"] = b["model"]["fc.weight"].reshape(4, 3).clone()
    save("shape", a, b)

    b = copy.deepcopy(a)
    save("location", a, b, [(b["model"]["fc.bias"], "cuda:1")])

    b = copy.deepcopy(a)
    b["model"]["extra.weight"] = torch.zeros(2)
    save("added", a, b)

    b = copy.deepcopy(a)
    del b["model"]["fc.bias"]
    save("removed", a, b)

    b = copy.deepcopy(a)
    b["epoch"] = 13
    save("epoch", a, b)

    b = copy.deepcopy(a)
    b["model"]["fc.weight"][0, 1] = 1.000001
    save("close", a, b)

    b = copy.deepcopy(a)
    b["model"]["fc.weight"] = torch.nn.Parameter(b["model"]["fc.weight"])
    save("grad", a, b)

    ta = typed()
    tb = copy.deepcopy(ta)
    tb["h"][1] = 2.5
    tb["bf"][2] = 3.5
    tb["i"][0] = -7
    tb["b"][1] = True
    tb["c"][1] = 3 + 4j
    save("types", ta, tb)

    nan = float("nan")
    ta = {"same_nan": torch.tensor([1.0, nan]), "new_nan": torch.tensor([1.0, 2.0])}
    tb = {"same_nan": torch.tensor([1.0, nan]), "new_nan": torch.tensor([1.0, nan])}
    save("nan", ta, tb)


if __name__ == "__main__":
    main()
