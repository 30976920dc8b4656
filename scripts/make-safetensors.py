#!/usr/bin/python3
"""make-safetensors.py - safetensors fixtures for tests/24-safetensors.bats.

    /usr/bin/python3 scripts/make-safetensors.py OUTDIR

There is no safetensors package here, so this holds a small writer of the
format (format.md 6.1): an 8-byte little-endian header length N, N bytes of
JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{str: str}} padded with spaces to a multiple of 8, then the tensors' bytes
one after the other in the order given (little-endian, C order). write_st()
is the writer; everything else makes fixtures with it:

  sd.pt / sd.safetensors     one state_dict, torch.save and safetensors
  wide.safetensors, wide.expect/NAME   dtypes torch 1.13 lacks (F8_*, U16..U64),
                             written from raw bytes, with the bytes expected
  f4.safetensors             a 4-bit tensor (refused by name)
  bad-*.safetensors          malformed headers; bad.expect lists each file and
                             the message ptfs must give (a grep -F pattern)
  four/one.pt, four/model.safetensors, four/bin/ (pytorch_model-0000K-of-00002.bin
                             + index), four/st/ (model-0000K-of-00002.safetensors
                             + index): one model saved four ways
  pattern/                   safetensors shards without an index
  shard-missing/, shard-extra/, shard-lacks/, shard-escape/, shard-abs/:
                             broken sets (their messages are in bad.expect)
"""
import collections
import json
import os
import struct
import sys

import torch

ST_DTYPE = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
    torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
    torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
    torch.complex64: "C64",
}


def raw(t):
    """The bytes of a tensor, little-endian, C order (bf16 through int16)."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    if t.dtype == torch.complex64:
        t = torch.view_as_real(t)
    return t.numpy().tobytes()


def write_st(path, entries, metadata=None, header_override=None, pad=True):
    """entries: [(name, dtype string, shape list, bytes)]; writes the file."""
    header, data, pos = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, shape, b in entries:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [pos, pos + len(b)]}
        data += b
        pos += len(b)
    text = header_override if header_override is not None else json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def st_entries(sd):
    return [(k, ST_DTYPE[v.dtype], list(v.shape), raw(v)) for k, v in sd.items()]


def state_dict():
    g = torch.Generator().manual_seed(7)
    sd = collections.OrderedDict()
    sd["layer1.0.weight"] = torch.randn(3, 4, generator=g)
    sd["layer1.0.bias"] = torch.randn(3, generator=g).half()
    sd["emb.weight"] = torch.randn(5, 2, generator=g).bfloat16()
    sd["flags"] = torch.tensor([True, False, True, True])
    sd["steps"] = torch.arange(4, dtype=torch.int64).reshape(2, 2)
    sd["i32"] = torch.tensor([1, -2, 3], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 7], dtype=torch.int16)
    sd["i8"] = torch.tensor([-5, 6], dtype=torch.int8)
    sd["u8"] = torch.tensor([250, 1], dtype=torch.uint8)
    sd["f64"] = torch.randn(2, 3, generator=g).double()
    sd["c64"] = torch.randn(2, dtype=torch.complex64, generator=g)
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["a.b.c.deep"] = torch.ones(2)
    return sd


def model_dict():
    g = torch.Generator().manual_seed(11)
    sd = collections.OrderedDict()
    for i in range(4):
        sd["layers.%d.weight" % i] = torch.randn(8, 8, generator=g)
        sd["layers.%d.bias" % i] = torch.randn(8, generator=g)
    sd["head.weight"] = torch.randn(2, 8, generator=g).bfloat16()
    return sd


def split(sd):
    keys = list(sd)
    half = len(keys) // 2
    return [collections.OrderedDict((k, sd[k]) for k in keys[:half]),
            collections.OrderedDict((k, sd[k]) for k in keys[half:])]


def write_index(path, names_parts, total):
    wm = {}
    for name, part in names_parts:
        for k in part:
            wm[k] = name
    with open(path, "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f)


def main(out):
    os.makedirs(out, exist_ok=True)
    sd = state_dict()
    torch.save(sd, os.path.join(out, "sd.pt"))
    write_st(os.path.join(out, "sd.safetensors"), st_entries(sd), {"format": "pt", "note": "a \"q\""})

    # dtypes torch 1.13 cannot make: raw bytes, with what ptfs must show
    os.makedirs(os.path.join(out, "wide.expect"), exist_ok=True)
    wide = [("f8a", "F8_E4M3", [4], bytes([0x38, 0x40, 0xb8, 0x7e])),
            ("f8b", "F8_E5M2", [2, 2], bytes([0x3c, 0x40, 0xbc, 0x7b])),
            ("f8c", "F8_E8M0", [2], bytes([127, 128])),
            ("f8d", "F8_E4M3FNUZ", [1], bytes([0x40])),
            ("f8e", "F8_E5M2FNUZ", [1], bytes([0x40])),
            ("u16", "U16", [2], struct.pack("<2H", 65535, 1)),
            ("u32", "U32", [2], struct.pack("<2I", 4000000000, 2)),
            ("u64", "U64", [1], struct.pack("<Q", 2 ** 64 - 1))]
    write_st(os.path.join(out, "wide.safetensors"), wide)
    for name, dt, shape, b in wide:
        with open(os.path.join(out, "wide.expect", name), "wb") as f:
            f.write(b)
    write_st(os.path.join(out, "f4.safetensors"), [("x", "F4", [4], b"\x12\x34")])

    # malformed headers, each with the message ptfs gives
    bad = []

    def case(name, msg, entries=(), **kw):
        write_st(os.path.join(out, "bad-%s.safetensors" % name), list(entries), **kw)
        bad.append((os.path.join(out, "bad-%s.safetensors" % name), msg))

    f32 = ("w", "F32", [2], b"\0" * 8)
    case("notjson", "header: JSON: offset", header_override=b"{not json}")
    case("array", "header: not a JSON object (does not start with '{')", header_override=b"[1, 2]")
    case("dup", "duplicate key 'w'",
         header_override=b'{"w": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]},'
                         b' "w": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}')
    case("dtype", "tensor 'w': unknown dtype 'F17'", [("w", "F17", [2], b"\0" * 8)])
    case("size", "tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12",
         [("w", "F32", [3], b"\0" * 8)])
    case("past", "invalid offset: data_offsets end at 16, past the 8 bytes of data",
         header_override=b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}',
         entries=[("pad", "U8", [8], b"\0" * 8)])
    case("overlap", "tensor 'b': invalid offset: data_offsets [0, 8] overlap 'a'",
         header_override=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
                         b' "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}',
         entries=[("pad", "U8", [16], b"\0" * 16)])
    case("gap", "tensor 'b': invalid offset: data_offsets begin at 12, leaving a gap after byte 8",
         header_override=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
                         b' "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}',
         entries=[("pad", "U8", [16], b"\0" * 16)])
    case("tail", "incomplete buffer: the tensors cover 8 of the 16 bytes of data",
         header_override=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}',
         entries=[("pad", "U8", [16], b"\0" * 16)])
    case("huge", "tensor 'w': shape overflows 64 bits",
         [("w", "F32", [2 ** 40, 2 ** 40], b"")])
    case("negdim", "tensor 'w': shape item 0 is not a non-negative integer",
         [("w", "F32", [-1], b"")])
    case("meta", "__metadata__ 'n' is int, not a string", [f32], metadata={"n": 1})
    case("notobj", "tensor 'w': entry is list, not an object",
         header_override=b'{"w": [1]}')
    with open(os.path.join(out, "bad-biglen.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 200000000) + b"{}")
    bad.append((os.path.join(out, "bad-biglen.safetensors"),
                "safetensors: header too large: 200000000 bytes (at most 100000000)"))
    with open(os.path.join(out, "bad-len.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 1000) + b"{}      ")
    bad.append((os.path.join(out, "bad-len.safetensors"),
                "safetensors: invalid header length 1000: the file has 8 bytes after it"))

    # one model four ways
    four = os.path.join(out, "four")
    os.makedirs(os.path.join(four, "bin"), exist_ok=True)
    os.makedirs(os.path.join(four, "st"), exist_ok=True)
    md = model_dict()
    total = sum(t.numel() * t.element_size() for t in md.values())
    torch.save(md, os.path.join(four, "one.pt"))
    write_st(os.path.join(four, "model.safetensors"), st_entries(md), {"format": "pt"})
    parts = split(md)
    names = []
    for i, part in enumerate(parts):
        n = "pytorch_model-%05d-of-%05d.bin" % (i + 1, len(parts))
        torch.save(part, os.path.join(four, "bin", n))
        names.append((n, part))
    write_index(os.path.join(four, "bin", "pytorch_model.bin.index.json"), names, total)
    names = []
    for i, part in enumerate(parts):
        n = "model-%05d-of-%05d.safetensors" % (i + 1, len(parts))
        write_st(os.path.join(four, "st", n), st_entries(part), {"format": "pt"})
        names.append((n, part))
    write_index(os.path.join(four, "st", "model.safetensors.index.json"), names, total)

    # shards without an index
    pat = os.path.join(out, "pattern")
    os.makedirs(pat, exist_ok=True)
    for i, part in enumerate(parts):
        write_st(os.path.join(pat, "model-%05d-of-%05d.safetensors" % (i + 1, len(parts))),
                 st_entries(part))

    # broken sets
    def broken(name, msg, index, files):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        for fn, part in files:
            write_st(os.path.join(d, fn), st_entries(part))
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": index}, f)
        bad.append((os.path.join(d, "model.safetensors.index.json"), msg))

    a, b = parts
    wm = {k: "s1.safetensors" for k in a}
    wm.update({k: "s2.safetensors" for k in b})
    broken("shard-missing",
           "model.safetensors.index.json: shard 's2.safetensors': No such file or directory",
           wm, [("s1.safetensors", a)])
    extra = collections.OrderedDict(a)
    extra["stray"] = torch.zeros(1)
    broken("shard-extra",
           "model.safetensors.index.json: shard 's1.safetensors' holds 'stray', which the index does not name",
           wm, [("s1.safetensors", extra), ("s2.safetensors", b)])
    lacks = collections.OrderedDict(list(a.items())[1:])
    broken("shard-lacks",
           "model.safetensors.index.json: the index puts '%s' in shard 's1.safetensors', which does not hold it" % list(a)[0],
           wm, [("s1.safetensors", lacks), ("s2.safetensors", b)])
    broken("shard-escape",
           "model.safetensors.index.json: shard '../x.safetensors': a '..' part leaves the index's folder",
           {"w": "../x.safetensors"}, [])
    broken("shard-abs",
           "model.safetensors.index.json: shard '/etc/passwd': not a relative file name",
           {"w": "/etc/passwd"}, [])

    with open(os.path.join(out, "bad.expect"), "w") as f:
        for p, m in bad:
            f.write("%s\t%s\n" % (p, m))


if __name__ == "__main__":
    main(sys.argv[1])
