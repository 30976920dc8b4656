#!/usr/bin/python3
"""st_check.py - checks a safetensors export of a checkpoint against torch.load.

usage: st_check.py CHECKPOINT INSPECT_TSV EXPORTED [--sharded [--max BYTES]]

EXPORTED is one .safetensors file, or with --sharded a folder written by
`export safetensors DIR --shard-size SIZE`. INSPECT_TSV is ptfs-inspect's
listing of CHECKPOINT (path, kind, type, size, user.pt.key, ...), which
names every tensor and how Python reaches it. Checks, for every file: the
8-byte length, the JSON header byte for byte as safetensors' Rust writer
makes it (tensors by dtype rank descending then name, contiguous offsets,
"__metadata__" first, spaces to a multiple of 8), and that the data ends
the file; then that every tensor of the listing is in the export with
torch.load's bytes, or dropped as tied with metadata naming a kept tensor
whose bytes equal it. With --sharded: shard names, the index's weight_map
and total_size, and (--max) every shard's data within BYTES unless it
holds one tensor. Prints a summary; exits 1 with the reason on failure.

Only for trusted fixtures: torch.load runs the checkpoint's pickle.
"""
import json
import os
import struct
import sys

import torch

RANK = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
        "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2,
        "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8,
        "U64": 8}


def fail(msg):
    print("st_check: " + msg, file=sys.stderr)
    sys.exit(1)


def read_st(path):
    """The header (ordered pairs) and the data bytes of one file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8 or 8 + n > len(raw):
        fail("%s: header length %d" % (path, n))
    text = raw[8:8 + n]
    hdr = json.loads(text, object_pairs_hook=list)
    expect_header(path, hdr, text)
    return {k: dict(v) for k, v in hdr}, raw[8 + n:]


def expect_header(path, pairs, text):
    meta = dict(pairs).get("__metadata__")
    tens = [(k, dict(v)) for k, v in pairs if k != "__metadata__"]
    order = sorted(tens, key=lambda kv: (-RANK.index(kv[1]["dtype"]), kv[0].encode()))
    out = {}
    if meta is not None:
        out["__metadata__"] = dict(sorted(dict(meta).items(), key=lambda kv: kv[0].encode()))
    off = 0
    for k, v in order:
        n = SIZE[v["dtype"]]
        for d in v["shape"]:
            n *= d
        out[k] = {"dtype": v["dtype"], "shape": v["shape"], "data_offsets": [off, off + n]}
        off += n
    want = json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
    want += b" " * ((8 - len(want) % 8) % 8)
    if want != text:
        fail("%s: header differs from the reference's:\n got  %r\n want %r" % (path, text, want))
    return off


def tensor_bytes(t):
    t = t.detach().contiguous().reshape(-1)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def main():
    ckpt, tsv, out = sys.argv[1:4]
    sharded = "--sharded" in sys.argv[4:]
    limit = int(sys.argv[sys.argv.index("--max") + 1]) if "--max" in sys.argv else None
    files = {}
    if sharded:
        names = sorted(f for f in os.listdir(out) if f.endswith(".safetensors"))
        idx_path = os.path.join(out, "model.safetensors.index.json")
        index = None
        if os.path.exists(idx_path):
            with open(idx_path) as f:
                index = json.load(f)
        for nm in names:
            files[nm] = read_st(os.path.join(out, nm))
        if index is not None:
            wm = index["weight_map"]
            total = 0
            for nm, (hdr, data) in files.items():
                for k, v in hdr.items():
                    if k == "__metadata__":
                        continue
                    if wm.get(k) != nm:
                        fail("%s: in %s, index says %s" % (k, nm, wm.get(k)))
                    total += v["data_offsets"][1] - v["data_offsets"][0]
            if total != index["metadata"]["total_size"]:
                fail("total_size %d, tensors %d" % (index["metadata"]["total_size"], total))
            if set(wm.values()) != set(files):
                fail("index names %s, folder has %s" % (sorted(set(wm.values())), sorted(files)))
            n = len(files)
            for i, nm in enumerate(sorted(files)):
                if nm != "model-%05d-of-%05d.safetensors" % (i + 1, n):
                    fail("shard name " + nm)
    else:
        files[os.path.basename(out)] = read_st(out)
    tensors, meta = {}, {}
    for nm, (hdr, data) in files.items():
        meta.update(hdr.get("__metadata__", {}))
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            if k in tensors:
                fail("%s in two files" % k)
            a, b = v["data_offsets"]
            tensors[k] = (v, data[a:b], nm)
        ntens = len([k for k in hdr if k != "__metadata__"])
        if limit is not None and len(data) > limit and ntens > 1:
            fail("%s: %d bytes of data in %d tensors, over %d" % (nm, len(data), ntens, limit))
        if hdr and max([0] + [v["data_offsets"][1] for k, v in hdr.items()
                              if k != "__metadata__"]) != len(data):
            fail("%s: data does not end the file" % nm)
    obj = torch.load(ckpt, map_location="cpu")
    seen = 0
    with open(tsv) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 6 or p[1] != "tensor":
                continue
            name = p[0].replace("/", ".")
            value = eval("obj" + p[4], {"obj": obj})  # keys from ptfs-inspect of a trusted fixture
            if p[5].split(" ")[0].startswith(("complex", "q")):
                continue  # no safetensors dtype: listed as left out
            if name not in tensors:
                kept = meta.get(name)
                if kept not in tensors:
                    fail("%s is neither exported nor tied to an exported tensor" % name)
                continue
            info, data, _ = tensors[name]
            if list(value.shape) != info["shape"]:
                fail("%s: shape %s, torch %s" % (name, info["shape"], list(value.shape)))
            if data != tensor_bytes(value):
                fail("%s: bytes differ from torch.load's" % name)
            seen += 1
    print("ok %d files, %d tensors, %d compared, %d metadata" %
          (len(files), len(tensors), seen, len(meta)))


main()
