#!/usr/bin/python3
"""The predict flow of docs/predict.md: weights from a ptfs mount, no torch.load.

    predict-example.py save CKPT             a small model (Linear, ReLU, Linear), its
                                             state_dict saved to CKPT with every storage
                                             tagged cuda:0, as torch.save writes it on a GPU
    predict-example.py predict MOUNT [CKPT]  the same model with its weights read from the
                                             mounted CKPT (numpy.memmap and torch.from_file),
                                             run on a fixed input; with CKPT, the output is
                                             compared with the model that torch.load(CKPT,
                                             map_location='cpu') gives; exit 1 if they differ

Needs torch and numpy (Debian's python3-torch), not a GPU.
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn


def make_model():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def save(ckpt):
    torch.manual_seed(0)
    model = make_model()
    # torch.save asks torch.serialization.location_tag where each storage lives; on a
    # machine without a GPU we answer "cuda:0" for it, so the file is what a GPU run saves
    orig = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save(model.state_dict(), ckpt)
    finally:
        torch.serialization.location_tag = orig


def as_numpy(path):
    """A mounted tensor file as a numpy array, its dtype and shape from ptfs's xattrs."""
    dtype = os.getxattr(path, "user.pt.dtype").decode()    # "float32"
    shape = json.loads(os.getxattr(path, "user.pt.shape"))  # [8, 4]
    return np.memmap(path, dtype=dtype, mode="c", shape=tuple(shape))


def as_torch(path):
    """A mounted tensor file as a torch tensor, read by torch itself."""
    dtype = getattr(torch, os.getxattr(path, "user.pt.dtype").decode())
    shape = json.loads(os.getxattr(path, "user.pt.shape"))
    numel = int(np.prod(shape, dtype=np.int64))
    return torch.from_file(path, shared=False, size=numel, dtype=dtype).view(shape)


def load_from_mount(model, mount):
    """Every entry of the model's state_dict, from the file named by its key (`0.weight` is
    MOUNT/0/weight): the weights through numpy, the biases through torch.from_file."""
    state = {}
    for key in model.state_dict():
        path = os.path.join(mount, *key.split("."))
        if key.endswith("weight"):
            state[key] = torch.from_numpy(as_numpy(path))
        else:
            state[key] = as_torch(path)
    model.load_state_dict(state)
    return model


def predict(mount, ckpt=None):
    x = torch.linspace(-1, 1, 8).view(2, 4)
    model = load_from_mount(make_model(), mount).eval()
    with torch.no_grad():
        y = model(x)
    print("prediction:", [[round(v, 4) for v in row] for row in y.tolist()])
    if ckpt is None:
        return 0
    ref = make_model()
    ref.load_state_dict(torch.load(ckpt, map_location="cpu"))
    with torch.no_grad():
        want = ref.eval()(x)
    if torch.equal(y, want):
        print("equal to torch.load's model")
        return 0
    print("differs from torch.load's model:", want.tolist())
    return 1


def main(argv):
    if len(argv) == 2 and argv[0] == "save":
        save(argv[1])
        return 0
    if len(argv) in (2, 3) and argv[0] == "predict":
        return predict(*argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
