#!/usr/bin/python3
"""Write ptfs's small, deterministic test checkpoints.

Usage: /usr/bin/python3 scripts/make-fixtures.py OUTDIR

Needs torch (the tests use Debian's torch 1.13 at /usr/bin/python3).  Every
fixture is a few KB; values come from torch.manual_seed(0) or are fixed, so
the same torch version writes the same tensors (the zip's
.data/serialization_id and the legacy format's storage keys, which are memory
addresses, may still differ between runs).

Besides the NN_*.pt files it writes OUTDIR/MANIFEST.tsv, one line per
fixture:  name <TAB> wo|full|ts <TAB> description.  "wo" means
torch.load(f, map_location='cpu', weights_only=True) loads it; "full" means
only weights_only=False does (floats, bytes, sets, modules, quantized
tensors, pickle protocol 4 are outside torch 1.13's weights-only unpickler);
"ts" marks a TorchScript archive written by torch.jit.save, which torch.load
hands to torch.jit.load whatever weights_only says, and which ptfs cannot
save (.ptfs/control's save refuses TorchScript).
Every fixture is reloaded and checked before the script exits.

Findings with torch 1.13 (what could not be written):
  * complex32 tensors cannot be saved at all ("dtype torch.complex32 is not
    recognized"), in either format, so there is no complex32 fixture.
  * weights_only=True refuses BINFLOAT and BINBYTES, so any checkpoint holding
    a Python float or bytes (optimizer param_groups, 'loss') is "full" only.
"""

import argparse
import collections
import decimal
import fractions
import io
import math
import os
import pickletools
import sys
import types
import warnings
import zipfile

import numpy as np
import torch
import torch.nn as nn

from torch_tags import location_tags

from fixture_types import Opaque, Pair, Point  # scripts/, importable by oracle.py too

warnings.filterwarnings("ignore")

# ---------------------------------------------------------------------------
# helpers


def pickle_text(path):
    """pickletools.dis of the checkpoint's main pickle (ours, so safe)."""
    out = io.StringIO()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            pickletools.dis(z.read(name), out)
    else:
        # legacy: magic, protocol, sys_info, then the object pickle
        with open(path, "rb") as f:
            for _ in range(4):
                pickletools.dis(f, out)
    return out.getvalue()


def rnd(*shape):
    return torch.randn(*shape)


# ---------------------------------------------------------------------------
# fixtures: each function returns (object, description, save kwargs, wo)


def f_dtypes():
    g = torch.Generator().manual_seed(1)
    d = collections.OrderedDict()
    specials = torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -2.5, 65504.0])
    for dt in [torch.float32, torch.float64, torch.float16, torch.bfloat16]:
        name = str(dt).replace("torch.", "")
        d[name] = torch.randn(3, 4, generator=g).to(dt)
        d[name + "_3d"] = torch.randn(2, 3, 5, generator=g).to(dt)
        d[name + "_special"] = specials.to(dt)
    for dt, lo, hi in [
        (torch.uint8, 0, 256),
        (torch.int8, -128, 128),
        (torch.int16, -(2**15), 2**15),
        (torch.int32, -(2**31), 2**31),
        (torch.int64, -(2**63), 2**63 - 1),
    ]:
        name = str(dt).replace("torch.", "")
        d[name] = torch.randint(lo, hi, (3, 4), generator=g, dtype=dt)
        d[name + "_3d"] = torch.randint(lo, hi, (2, 3, 5), generator=g, dtype=dt)
    d["int64_extremes"] = torch.tensor([-(2**63), 2**63 - 1, 0, -1], dtype=torch.int64)
    d["bool"] = torch.randint(0, 2, (3, 4), generator=g).bool()
    d["bool_3d"] = torch.randint(0, 2, (2, 3, 5), generator=g).bool()
    for dt in [torch.complex64, torch.complex128]:
        name = str(dt).replace("torch.", "")
        d[name] = torch.complex(torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)).to(dt)
        d[name + "_3d"] = torch.complex(
            torch.randn(2, 3, 5, generator=g), torch.randn(2, 3, 5, generator=g)
        ).to(dt)
    return d, "every dtype torch 1.13 can save (no complex32), [3,4] and [2,3,5], float specials", {}, True


def f_quantized():
    x = torch.linspace(-1.0, 1.0, 12).reshape(3, 4)
    d = {
        "qint8": torch.quantize_per_tensor(x, 0.01, 3, torch.qint8),
        "quint8": torch.quantize_per_tensor(x, 0.01, 128, torch.quint8),
        "qint32": torch.quantize_per_tensor(x, 0.001, -5, torch.qint32),
        "qint8_per_channel": torch.quantize_per_channel(
            x, torch.tensor([0.01, 0.02, 0.03], dtype=torch.float64),
            torch.tensor([0, 1, -1]), 0, torch.qint8),
        "qint8_t": torch.quantize_per_tensor(x, 0.01, 3, torch.qint8).t(),
    }
    return d, "quantized tensors (qint8 quint8 qint32, per-tensor and per-channel, a transpose)", {}, False


def f_scalars_empty():
    d = {
        "f32": torch.tensor(3.5),
        "f64": torch.tensor(-0.1, dtype=torch.float64),
        "i64": torch.tensor(-7),
        "bool": torch.tensor(True),
        "f16": torch.tensor(1.5, dtype=torch.float16),
        "bf16": torch.tensor(1.5, dtype=torch.bfloat16),
        "c64": torch.tensor(1 + 2j, dtype=torch.complex64),
        "empty": torch.empty(0),
        "empty_2x0": torch.empty(2, 0),
        "empty_0x3_i64": torch.empty(0, 3, dtype=torch.int64),
        "empty_bool": torch.empty(0, dtype=torch.bool),
        "one": torch.ones(1, 1, 1),
    }
    return d, "0-dim tensors and empty tensors ([0], [2,0], [0,3])", {}, True


def f_views():
    base = torch.arange(24.0).reshape(4, 6)
    flat = torch.arange(100, 120, dtype=torch.int32)
    d = {
        "base": base,
        "t": base.t(),
        "rows": base[1:3],
        "step": base[::2],
        "colstep": base[:, 1::3],
        "offset_t": base[1:, 2:].t(),
        "elem": base[2, 3],
        "expand": torch.arange(3.0).expand(4, 3),
        "expand_col": torch.arange(4.0).reshape(4, 1).expand(4, 5),
        "flat": flat,
        "flat_offset": flat[5:],
        "flat_offset_step": flat[3:15:4],
        "alone_offset": torch.arange(10, dtype=torch.int64)[5:],
        "alone_t": torch.arange(6.0, dtype=torch.float64).reshape(2, 3).t(),
    }
    return d, "views sharing storages: transpose, slices, step slices, stride-0 expand, offsets", {}, True


def f_tied():
    w = rnd(3, 4)
    b = rnd(3)
    d = collections.OrderedDict([("enc.w", w), ("dec.w", w), ("enc.b", b), ("lst", [w, b, w])])
    return d, "tied weights: one tensor object under several keys (enc.w, dec.w, lst/0, lst/2)", {}, True


def f_shared_views():
    s = torch.arange(12, dtype=torch.float32)
    d = {"first": s[:6].reshape(2, 3), "second": s[6:].reshape(3, 2), "mid": s[3:9]}
    return d, "three different views of one storage (base not saved)", {}, True


def f_params():
    d = {
        "p": nn.Parameter(rnd(2, 3)),
        "q": nn.Parameter(rnd(3), requires_grad=False),
        "r": rnd(2).requires_grad_(True),
        "s": rnd(2),
    }
    return d, "nn.Parameter with and without requires_grad, a plain tensor with requires_grad", {}, True


def _small_model():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def f_optimizer():
    model = _small_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(5, 4)
    for _ in range(2):
        opt.zero_grad()
        model(x).pow(2).sum().backward()
        opt.step()
    d = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 12,
        "loss": 0.25,
        "name": "run-1",
        "flags": [True, None, 3.5],
        "big": 2**70,
    }
    return d, "training checkpoint: model state_dict + Adam state (int keys, param_groups), scalars", {}, False


def f_whole_model():
    return _small_model(), "whole nn.Sequential(Linear, ReLU, Linear) pickled with torch.save(model)", {}, False


def f_protocol4():
    d = {"w": rnd(2, 3), "b": rnd(3), "n": 7}
    return d, "small state dict saved with pickle_protocol=4", {"pickle_protocol": 4}, False


def f_legacy():
    base = rnd(3, 4)
    d = collections.OrderedDict([
        ("w", base), ("w_t", base.t()), ("row", base[1]), ("tied", base),
        ("i", torch.arange(5)), ("i_tail", torch.arange(5)[2:]),
    ])
    return d, "legacy (non-zip) format: views, shared storage, tied", {"_use_new_zipfile_serialization": False}, True


def f_cuda_tags():
    d = collections.OrderedDict([
        ("fc1.weight", rnd(3, 4)), ("fc1.bias", rnd(3)),
        ("fc2.weight", rnd(2, 3)), ("fc2.bias", rnd(2)),
    ])
    tags = [(d["fc1.weight"], "cuda:1"), (d["fc1.bias"], "cuda:1"),
            (d["fc2.weight"], "cuda:0"), (d["fc2.bias"], "cuda:2")]
    return d, "location tags cuda:1 cuda:1 cuda:0 cuda:2 (load with map_location='cpu')", {"_tags": tags}, True


def f_legacy_cuda():
    d = {"w": rnd(2, 2), "b": rnd(2)}
    tags = [(d["w"], "cuda:0"), (d["b"], "cuda:0")]
    return d, "legacy format, all storages tagged cuda:0", {
        "_tags": tags, "_use_new_zipfile_serialization": False}, True


def f_awkward_keys():
    n = iter(range(100))

    def t():
        return torch.full((2,), float(next(n)))

    d = {
        "a": t(), "a.b": t(), "": t(), ".": t(), "..": t(), "x/y": t(),
        "with\x00nul": t(), ".ptfs": t(), "k" * 300: t(), "ünï.cödé": t(),
        3: t(), (1, "a"): t(), "x..y": t(), "%": t(),
        "a.c": t(), ".lead": t(), "trail.": t(), "-1": t(), -1: t(),
        "%2e": t(), "sub": {"": t(), "a": t(), "a.b": t()},
    }
    return d, "awkward keys: collisions, empty parts, '/', NUL, '.', '..', .ptfs, 300 chars, unicode, int/tuple keys", {}, True


def f_values_wo():
    d = {
        "int": 3, "neg": -12345, "zero": 0, "huge": 2**100, "neg_huge": -(2**70),
        "true": True, "false": False, "none": None,
        "str": "hello\nworld", "empty_str": "", "unicode": "ünï ✓",
        "list": [1, 2, 3], "tuple": (4, 5), "empty_list": [], "empty_dict": {},
        "nested": {"a": {"b": {"c": 1, "d": "x"}}, "l": [[1, 2], {"k": 3}]},
        "tensor": torch.tensor([1, 2, 3]),
    }
    return d, "non-tensor values that weights_only accepts: ints, bools, None, str, list, tuple, nested", {}, True


def f_values_full():
    d = {
        "float": 0.1, "tiny": 1e-300, "inf": math.inf, "ninf": -math.inf, "nan": math.nan,
        "negzero": -0.0, "float_int": 2.0, "big_float": 1e300,
        "int": -3, "huge": 2**200,
        "bytes": b"\x00\x01\xffabc", "empty_bytes": b"", "bytearray": bytearray(b"xyz"),
        "set": {3, 1, 2}, "frozenset": frozenset({7}), "tuple": (1, 2.5, "s"),
        "nested": {"f": [0.5, {"g": 1e-5}]},
        "tensor": torch.tensor([1.5]),
    }
    return d, "non-tensor values: floats (0.1 1e-300 inf -inf nan), bytes, bytearray, set, frozenset", {}, False


def f_demo():
    w = torch.arange(12, dtype=torch.float32).view(3, 4)
    b = torch.tensor([0.5, -0.5, 1.5])
    d = collections.OrderedDict([("layer1.weight", w), ("layer1.bias", b), ("epoch", 12)])
    return d, "the demo sample: layer1.weight (3x4 float32 0..11) and layer1.bias on cuda:1, epoch 12", {
        "_tags": [(w, "cuda:1"), (b, "cuda:1")]}, True


def f_shared_containers():
    cfg = {"depth": 3, "w": torch.arange(4, dtype=torch.int64)}
    d = {"cfg1": cfg, "cfg2": cfg, "both": [cfg, cfg]}
    return d, "one dict referenced four times (the pickle memo shares it): links, not copies", {}, True


def f_objects():
    d = {
        "complex": 1 + 2j, "complex_neg": complex(-1.5, -0.0), "imag": 2j,
        "complex_big": complex(1e16, 0.1),
        "dev_cuda": torch.device("cuda:0"), "dev_cpu": torch.device("cpu"),
        "size": torch.Size([3, 4]), "size1": torch.Size([5]), "size0": torch.Size([]),
        "dtype": torch.float16,
        "slice": slice(1, 2, None), "slice_str": slice(None, "a", -3),
        "range": range(0, 10), "range_step": range(5, -10, -2),
        "decimal": decimal.Decimal("1.10"), "decimal_exp": decimal.Decimal("-1E+7"),
        "fraction": fractions.Fraction(1, 3), "fraction_neg": fractions.Fraction(-7, 2),
        "namespace": argparse.Namespace(lr=0.1, name="x"),
        "simple": types.SimpleNamespace(a=1, b=[1, 2]),
        "point": Point(1, 2.5),
        "pair": Pair(3, "x"),
        "opaque": Opaque(5),
        "w": torch.ones(2),
    }
    return d, "objects: complex, torch.device/Size/dtype, slice, range, Decimal, Fraction, Namespace, SimpleNamespace, dataclass, namedtuples, a non-dict state", {}, False


def f_numpy():
    d = {
        "f64": np.arange(6, dtype=np.float64).reshape(2, 3) / 4,
        "i32_fortran": np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4)),
        "be_i4": np.arange(5).astype(">i4"),
        "be_f8_fortran": np.asfortranarray(np.arange(6).reshape(3, 2).astype(">f8")),
        "be_c8": np.array([1 + 2j, -3j], dtype=">c8"),
        "bool": np.array([True, False, True]),
        "u8": np.arange(250, 256, dtype=np.uint8),
        "f16": np.array([0.1, 65504, -0.0], dtype=np.float16),
        "c128": np.array([1 + 2j, 0.5 - 1j]),
        "zero_d": np.array(3.5),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "strs": np.array(["ab", "c\u00e9"]),
        "be_strs": np.array(["xy"], dtype=">U2"),
        "bytes": np.array([b"ab", b"c"]),
        "objects": np.array([1, "a", None], dtype=object),
        "objects2d": np.array([[1, "a"], [None, 2.5]], dtype=object),
        "rng": np.random.RandomState(0).get_state(),
        "shared": [np.arange(3, dtype=np.int16)] * 2,
        "s_f64": np.float64(1.5), "s_i64": np.int64(3), "s_f32": np.float32(0.1),
        "s_f32_small": np.float32(1e-4), "s_f32_big": np.float32(123456789.0),
        "s_f16": np.float16(65504), "s_f16_third": np.float16(1 / 3), "s_bool": np.bool_(True),
        "s_u8": np.uint8(200), "s_i8": np.int8(-3), "s_u64": np.uint64(2**64 - 1),
        "s_c64": np.complex64(1 + 2j), "s_c128": np.complex128(0.5 - 1j),
        "s_str": np.array(["it's \u00e9"])[0], "s_bytes": np.bytes_(b"a\x00b"),
        "dtype": np.dtype("float32"), "dtype_bool": np.dtype(bool),
        "t": torch.ones(2),
    }
    return d, "numpy arrays (C, Fortran, big-endian, 0-d, empty, str, bytes, object, np.random state) and scalars", {}, False
def f_ctrl_keys():
    """Issue 12 part 4: keys whose characters repr() escapes never become names as they are."""
    n = iter(range(100))

    def t():
        return torch.full((2,), float(next(n)))

    d = collections.OrderedDict([
        ("nl\nkey", t()), ("tab\tkey", t()), ("ctl\x01", t()), ("del\x7f", t()),
        ("a.b\nc", t()), ("c1\x85", t()), ("ls\u2028", t()), ("zw\u200b", t()),
        ("plain.ok", t()), ("in\nner", {"x": t(), "y.z": 5}), ("cr\r", "v\nal"),
    ])
    return d, "keys with characters repr() escapes: newline, tab, \\x01, DEL, C1, U+2028, U+200B, dotted", {}, True


class _Seq(nn.Module):
    """Sequential children 0, 1, 2 (one a BatchNorm1d with buffers), nested Sequentials."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.BatchNorm1d(2))
        self.deep = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 1))))
        self.register_buffer("steps", torch.tensor([7]))
        self.scale = nn.Parameter(torch.ones(2))

    def forward(self, x):
        return self.deep(self.proj(x) * self.scale)


class _Lists(nn.Module):
    """ModuleList and ModuleDict children (keys '0', 'b-c'), names that are not identifiers, names a script module shadows."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.Tanh())])
        self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b-c": nn.Linear(2, 1), "0": nn.Linear(2, 1)})
        self.register_buffer("x-y", torch.arange(3, dtype=torch.int32))
        self.register_parameter("p-q", nn.Parameter(torch.full((2,), 0.5)))
        self.inner = _Seq()
        # names RecursiveScriptModule shadows: m.graph, m.code, m.save are its own
        self.graph = nn.Linear(2, 2)
        self.register_buffer("code", torch.tensor([1.5]))
        self.save = 3

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        x = self.graph(x) * self.code + self.save
        return self.heads["a"](x) + self.heads["b-c"](x) + self.heads["0"](x)


def f_script_seq():
    return (torch.jit.script(_Seq()), "TorchScript (torch.jit.save): Sequential children 0 1 2, nested, parameters, buffers",
            {"_script": True}, True)


def f_script_lists():
    return (torch.jit.script(_Lists()),
            "TorchScript (torch.jit.save): ModuleList, ModuleDict ('0', 'b-c'), buffer and parameter named x-y, p-q; graph, code, save",
            {"_script": True}, True)


FIXTURES = [
    ("01_dtypes.pt", f_dtypes),
    ("02_quantized.pt", f_quantized),
    ("03_scalars_empty.pt", f_scalars_empty),
    ("04_views.pt", f_views),
    ("05_tied.pt", f_tied),
    ("06_shared_views.pt", f_shared_views),
    ("07_params.pt", f_params),
    ("08_optimizer.pt", f_optimizer),
    ("09_whole_model.pt", f_whole_model),
    ("10_protocol4.pt", f_protocol4),
    ("11_legacy.pt", f_legacy),
    ("12_cuda_tags.pt", f_cuda_tags),
    ("13_legacy_cuda.pt", f_legacy_cuda),
    ("14_awkward_keys.pt", f_awkward_keys),
    ("15_values_wo.pt", f_values_wo),
    ("16_values_full.pt", f_values_full),
    ("17_demo.pt", f_demo),
    ("18_shared_containers.pt", f_shared_containers),
    ("19_objects.pt", f_objects),
    ("20_numpy.pt", f_numpy),
    ("30_ctrl_keys.pt", f_ctrl_keys),
    ("31_script_seq.pt", f_script_seq),
    ("32_script_lists.pt", f_script_lists),
]


# ---------------------------------------------------------------------------
# checks


def same(a, b):
    """Deep equality of two loaded objects (tensors by bytes and metadata)."""
    if isinstance(a, torch.Tensor):
        if not isinstance(b, torch.Tensor) or type(a) is not type(b):
            return False
        if a.dtype != b.dtype or a.shape != b.shape or a.requires_grad != b.requires_grad:
            return False
        if a.is_quantized:
            return torch.equal(a.int_repr(), b.int_repr())
        ab = a.detach().contiguous().reshape(-1).view(torch.uint8)
        bb = b.detach().contiguous().reshape(-1).view(torch.uint8)
        return torch.equal(ab, bb)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict):
        return (type(a) is type(b) and list(a) == list(b)
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b)))
    if isinstance(a, np.ndarray):
        # byte order aside (numpy may load a big-endian array as native)
        if (type(a) is not type(b) or a.dtype.newbyteorder("=") != b.dtype.newbyteorder("=")
                or a.shape != b.shape):
            return False
        return all(same(x, y) for x, y in zip(a.flat, b.flat))
    if isinstance(a, nn.Module):
        return type(a) is type(b) and same(a.state_dict(), b.state_dict())
    return type(a) is type(b) and a == b


def check(path, obj, wo, tags):
    full = torch.load(path, map_location="cpu")
    assert same(obj, full), f"{path}: full load differs"
    if wo:
        got = torch.load(path, map_location="cpu", weights_only=True)
        assert same(obj, got), f"{path}: weights_only load differs"
    else:
        try:
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            pass
        else:
            raise AssertionError(f"{path}: marked full but weights_only loads it")
    if tags:
        text = pickle_text(path)
        for tag in set(tag for _, tag in tags):
            assert repr(tag) in text, f"{path}: tag {tag} not in pickle"


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = []
    total = 0
    for name, fn in FIXTURES:
        torch.manual_seed(0)
        obj, desc, kwargs, wo = fn()
        tags = kwargs.pop("_tags", None)
        path = os.path.join(out, name)
        script = kwargs.pop("_script", False)
        if script:
            torch.jit.save(obj, path)
        else:
            with location_tags(tags or []):
                torch.save(obj, path, **kwargs)
        check(path, obj, wo, tags)
        size = os.path.getsize(path)
        total += size
        flag = "ts" if script else "wo" if wo else "full"
        manifest.append(f"{name}\t{flag}\t{desc}\n")
        print(f"{name:24} {flag:4} {size:7d}  {desc}")
    with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
        f.writelines(manifest)
    print(f"{len(manifest)} fixtures, {total} bytes")


if __name__ == "__main__":
    main(sys.argv)
