#!/usr/bin/python3
"""Check a checkpoint written by ptfs's `save` against the original.

Usage: /usr/bin/python3 scripts/check-save.py [--full] ORIGINAL SAVED

1. Layout of SAVED (read byte by byte, never unpickled): torch's zip layout,
   every record stored, its data 64-byte aligned behind an 'FB' extra field,
   local headers with sizes 0 and a data descriptor for non-empty records,
   a ZIP64 end record and locator before the end record, records data.pkl,
   byteorder ('little'), data/<key>..., version ('3\\n').
2. The pickle: SAVED's data.pkl has the same opcodes as ORIGINAL's main
   pickle (data.pkl, or the legacy object pickle) except that strings which
   were location tags may hold other valid tags; memo fetches of a string are
   compared by the string they fetch. Legacy originals may lose the None
   view item of their persistent ids. (pickletools.genops only parses.)
3. torch.load(SAVED) with no map_location succeeds on this CPU-only machine
   and equals torch.load(ORIGINAL, map_location='cpu'): same types, keys in
   the same order, torch.equal tensors with equal dtype and requires_grad,
   equal non-tensor values. --full allows weights_only=False for our own
   fixtures only.
Prints one line per problem and "check-save: ok" or "check-save: N problems";
exit status 1 on any problem.
"""
import io
import math
import pickletools
import re
import struct
import sys
import zipfile

import torch

TAG = re.compile(r"^(cpu|meta|mps|[a-z]+(:(0|[1-9][0-9]*))?)$")
problems = []


def bad(msg):
    problems.append(msg)
    print("check-save:", msg)


def check_layout(path):
    data = open(path, "rb").read()
    z = zipfile.ZipFile(path)
    names = [i.filename for i in z.infolist()]
    prefix = names[0].split("/")[0]
    rel = [n[len(prefix) + 1:] for n in names]
    if rel[:2] != ["data.pkl", "byteorder"] or rel[-2:] != ["version", ".data/serialization_id"]:
        bad(f"record order {rel}")
    if any(not (r.startswith("data/") or r in ("data.pkl", "byteorder", "version", ".data/serialization_id")) for r in rel):
        bad(f"unexpected records {rel}")
    if z.read(prefix + "/byteorder") != b"little" or z.read(prefix + "/version") != b"3\n":
        bad("byteorder or version record")
    for info in z.infolist():
        if info.compress_type != 0:
            bad(f"{info.filename}: compressed")
        h = info.header_offset
        sig, ver, flags, method, _t, _d, crc, cs, us, nl, xl = struct.unpack("<IHHHHHIIIHH", data[h:h + 30])
        want_flags = 0x0808 if info.file_size else 0x0800
        if sig != 0x04034B50 or flags != want_flags or method != 0 or (info.file_size and (crc, cs, us) != (0, 0, 0)):
            bad(f"{info.filename}: local header sig={sig:x} flags={flags:x} crc/sizes={crc},{cs},{us}")
        extra = data[h + 30 + nl:h + 30 + nl + xl]
        fb = extra.find(b"FB")
        if fb < 0 or set(extra[fb + 4:]) - {ord("Z")}:
            bad(f"{info.filename}: no FB padding field")
        start = h + 30 + nl + xl
        if start % 64:
            bad(f"{info.filename}: data at {start}, not 64-byte aligned")
        if info.file_size:
            d = data[start + info.compress_size:start + info.compress_size + 4]
            if d != b"PK\x07\x08":
                bad(f"{info.filename}: no data descriptor")
    eocd = data.rfind(b"PK\x05\x06")
    loc = data.rfind(b"PK\x06\x07", 0, eocd)
    z64 = data.rfind(b"PK\x06\x06", 0, loc)
    if not (0 <= z64 < loc < eocd and eocd + 22 == len(data)):
        bad(f"ZIP64 end record {z64}, locator {loc}, end record {eocd} of {len(data)}")
    elif struct.unpack("<Q", data[loc + 8:loc + 16])[0] != z64:
        bad("ZIP64 locator does not point at the ZIP64 end record")
    if z.testzip() is not None:
        bad("CRC mismatch in " + z.testzip())
    return z.read(prefix + "/data.pkl")


def main_pickle(path):
    if zipfile.is_zipfile(path):
        z = zipfile.ZipFile(path)
        return z.read(z.namelist()[0].split("/")[0] + "/data.pkl"), False
    f = io.BytesIO(open(path, "rb").read())
    for _ in range(3):  # magic, protocol version, sys_info
        for op, arg, pos in pickletools.genops(f):
            pass
    start = f.tell()
    for op, arg, pos in pickletools.genops(f):
        pass
    return f.getvalue()[start:f.tell()], True


def ops(pk):
    memo, out, last = {}, [], None
    for op, arg, pos in pickletools.genops(pk):
        n = op.name
        if n in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            memo[arg if n != "MEMOIZE" else len(memo)] = last
            last = None
            continue
        if n == "FRAME":
            continue
        if n in ("GET", "BINGET", "LONG_BINGET") and isinstance(memo.get(arg), str):
            item = ("STR", memo[arg])
        elif n in ("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "UNICODE"):
            item = ("STR", arg)
        else:
            item = (n, arg)
        last = item[1] if item[0] == "STR" else None
        out.append(item)
    return out


def check_pickle(orig, saved, legacy):
    a, b = ops(orig), ops(saved)
    if legacy:
        a = [x for x in a if x[0] != "NONE"]
        b = [x for x in b if x[0] != "NONE"]
    if len(a) != len(b):
        bad(f"pickle: {len(a)} opcodes in the original, {len(b)} saved")
        return
    changed = 0
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y or repr(x) == repr(y):  # repr: nan == nan
            continue
        if x[0] == y[0] == "STR" and TAG.match(x[1]) and TAG.match(y[1]):
            changed += 1
            continue
        bad(f"pickle: opcode {i}: {x} became {y}")
    print(f"check-save: pickle: {len(b)} opcodes, {changed} location strings rewritten")


def same(a, b, path="obj"):
    if type(a) is not type(b):
        bad(f"{path}: type {type(a).__name__} vs {type(b).__name__}")
    elif isinstance(a, torch.Tensor):
        if a.dtype != b.dtype or a.shape != b.shape or a.requires_grad != b.requires_grad:
            bad(f"{path}: {a.dtype} {tuple(a.shape)} {a.requires_grad} vs {b.dtype} {tuple(b.shape)} {b.requires_grad}")
        elif a.is_quantized:
            if not torch.equal(a.int_repr(), b.int_repr()):
                bad(f"{path}: quantized values differ")
        elif not torch.equal(a, b) and not (a.is_floating_point() and torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(), b.nan_to_num())):
            bad(f"{path}: values differ")
    elif isinstance(a, dict):
        if list(a.keys()) != list(b.keys()):
            bad(f"{path}: keys {list(a)[:5]}... vs {list(b)[:5]}...")
        for k in a:
            if k in b:
                same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        if len(a) != len(b):
            bad(f"{path}: length {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, torch.nn.Module):
        same(a.state_dict(), b.state_dict(), path + ".state_dict()")
    elif type(a).__name__ == "ndarray":  # numpy, imported by the load when a checkpoint holds it
        if a.dtype != b.dtype or a.shape != b.shape:
            bad(f"{path}: {a.dtype} {a.shape} vs {b.dtype} {b.shape}")
        else:
            for i, (x, y) in enumerate(zip(a.flat, b.flat)):
                same(x, y, f"{path}.flat[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        if not math.isnan(b):
            bad(f"{path}: nan vs {b!r}")
    elif a != b:
        bad(f"{path}: {a!r} vs {b!r}")


def main(argv):
    full = "--full" in argv
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    orig, saved = args
    saved_pk = check_layout(saved)
    orig_pk, legacy = main_pickle(orig)
    check_pickle(orig_pk, saved_pk, legacy)
    try:
        b = torch.load(saved, weights_only=True)
        a = torch.load(orig, map_location="cpu", weights_only=True)
    except Exception as e:
        if not full:
            bad(f"weights_only load failed: {type(e).__name__}: {e}")
            a = b = None
        else:
            b = torch.load(saved)
            a = torch.load(orig, map_location="cpu")
    if a is not None or b is not None:
        same(a, b)
    print(f"check-save: {'ok' if not problems else str(len(problems)) + ' problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
