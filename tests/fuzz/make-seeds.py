#!/usr/bin/env python3
"""make-seeds.py - build the seed corpus of each fuzz harness (run by scripts/fuzz.sh).

usage: make-seeds.py OUTDIR SHARED HARNESS...

Seeds come from tests/fixtures/*.pt, SHARED/realworld/*, SHARED/hostile/** (every
file, recursively) and tests/fuzz/seeds/<harness>/*; SHARED may be missing. The
pickle harness also gets the *.pkl members of every zip and the pickles of every
legacy file; the JSON harness the *.json members of every zip. Nothing is ever
unpickled: zip members are listed and read with zipfile (sizes bounded, so a
deflate bomb costs nothing), and legacy streams are split with
pickletools.genops, which decodes opcodes and runs none. Each seed is written
to OUTDIR/seeds-<harness>/<sha1>, so duplicates collapse.
"""
import hashlib
import io
import os
import pickletools
import sys
import zipfile

MAX_SEED = 1 << 20          # libFuzzer's largest sane input
MAX_MEMBER = 4 << 20        # the most we read of one zip member
LEGACY_MAGIC = bytes.fromhex("80028a0a6cfc9c46")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def files_under(d, recursive):
    if not os.path.isdir(d):
        return []
    if not recursive:
        return sorted(os.path.join(d, f) for f in os.listdir(d)
                      if os.path.isfile(os.path.join(d, f)))
    out = []
    for top, dirs, names in os.walk(d):
        dirs.sort()
        out += [os.path.join(top, n) for n in sorted(names)]
    return out


def zip_members(data, suffix):
    """The members of a zip whose names end in suffix, each read with a bound."""
    out = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist()[:1000]:
                if not info.filename.endswith(suffix) or info.file_size > MAX_MEMBER:
                    continue
                try:
                    with zf.open(info) as f:
                        out.append(f.read(MAX_MEMBER))
                except Exception:
                    pass
    except Exception:
        pass
    return out


def legacy_pickles(data):
    """The pickles of a legacy stream, split at each STOP by opcode decoding alone."""
    out = []
    f = io.BytesIO(data)
    try:
        for _ in range(5):
            start = f.tell()
            for op, _arg, _pos in pickletools.genops(f):
                if op.name == "STOP":
                    break
            out.append(data[start:f.tell()])
    except Exception:
        pass
    return out


def main():
    outdir, shared, harnesses = sys.argv[1], sys.argv[2], sys.argv[3:]
    sources = sorted(f for f in files_under(os.path.join(ROOT, "tests", "fixtures"), False)
                     if f.endswith(".pt"))
    sources += files_under(os.path.join(shared, "realworld"), False)
    sources += files_under(os.path.join(shared, "hostile"), True)

    seeds = {h: [] for h in harnesses}
    for path in sources:
        with open(path, "rb") as f:
            data = f.read(MAX_SEED + 1)
        if len(data) > MAX_SEED:
            continue
        for h in ("fuzz_zip", "fuzz_legacy", "fuzz_open", "fuzz_pickle"):
            if h in seeds:
                seeds[h].append(data)
        if "fuzz_pickle" in seeds:
            seeds["fuzz_pickle"] += zip_members(data, ".pkl")
            if data.startswith(LEGACY_MAGIC):
                seeds["fuzz_pickle"] += legacy_pickles(data)
        if "fuzz_json" in seeds:
            seeds["fuzz_json"] += zip_members(data, ".json")

    for h in harnesses:
        seeds[h] += [open(f, "rb").read()
                     for f in files_under(os.path.join(HERE, "seeds", h), False)]
        d = os.path.join(outdir, "seeds-" + h)
        os.makedirs(d, exist_ok=True)
        for data in seeds[h]:
            if not data or len(data) > MAX_SEED:
                continue
            name = hashlib.sha1(data).hexdigest()
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
