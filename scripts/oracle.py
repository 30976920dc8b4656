#!/usr/bin/python3
"""Check a mounted ptfs tree against what torch.load makes of the checkpoint.

Usage: /usr/bin/python3 scripts/oracle.py [--full] [--dirs] [--hashes] MOUNTPOINT CHECKPOINT

Loads CHECKPOINT with torch.load(map_location='cpu', weights_only=True).
--full falls back to weights_only=False when that fails: use it only for our
own fixtures, never for a file you do not trust. A TorchScript archive (a
zip with constants.pkl) is loaded with torch.jit.load(map_location='cpu'),
as torch.load itself would; every key of its tree is then followed on the
RecursiveScriptModule, a TorchScript object's user.pt.type is its
TorchScript class (m._c._type().qualified_name()), and the tensors that must
be reached are its parameters and buffers, module by module.

Then, for every regular file under MOUNTPOINT (the root's .ptfs/ skipped), it
reads user.pt.key, follows that access path in the loaded object (parsed
here, never eval()'d: a sequence of [<python literal>] subscripts, .name
attribute accesses and .__getattr__(<str literal>) calls) and compares:

  tensors   content == bytes of t.contiguous() (int_repr() for quantized),
            st_size, with --hashes user.pt.sha256 == hashlib.sha256 of
            those bytes, user.pt.dtype, user.pt.shape, user.pt.requires_grad,
            user.pt.type; and, when present, user.pt.stride,
            user.pt.storage_offset, user.pt.saved_location (the tag the file
            holds, recorded through a map_location callable that keeps every
            storage on the CPU), and user.pt.storage (files with one storage
            key must share one storage in torch, and the other way round).
  arrays    numpy arrays (but object arrays, which are directories): content
            == the elements row-major and little-endian, st_size,
            user.pt.dtype (numpy's dtype.name), user.pt.shape, user.pt.type.
  scalars   int/float/bool/None, complex, numpy scalars and dtypes,
            torch.device/dtype/Size, slice, range, Decimal, Fraction:
            repr(v) + '\\n'; str: UTF-8 + '\\n'; bytes/bytearray: the raw
            bytes; user.pt.type.

Every tensor reachable in the loaded object (through dicts, lists, tuples,
sets and modules' _parameters/_buffers/_modules) must be the target of at
least one file's key (identity by id()); those that are not are mismatches.
With --map-location=EXPR, the checkpoint is loaded with map_location=EXPR
(trusted test input, evaluated here: 'cpu', {'cuda:1': 'cuda:0'},
torch.device('cpu'), lambda s, l: s) while torch's default_restore_location
records where each storage would go instead of moving it, and every
tensor's user.pt.location must equal that location.

With --dirs, directories that carry user.pt.key are followed too and their
user.pt.type is compared (except ptfs's own, of type ptfs.*, such as the
prefix directories made by splitting dotted keys).

Prints one line per mismatch (path, what, expected, got), then
"oracle: N compared, M mismatched"; exits 1 if M > 0 or N == 0.
A member of a set is addressed as [i], i its position in the pickle; the
oracle takes list(the_set)[i], which matches for the small sets we write.
A key step .__getstate__() (ptfs's entry for a state that is not a dict)
calls that method. Classes of our own fixtures come from
scripts/fixture_types.py, found because this script lives beside it.
"""

import ast
import hashlib
import decimal
import fractions
import json
import keyword
import os
import sys
import warnings
import zipfile

import numpy as np
import torch

warnings.filterwarnings("ignore")

# ---------------------------------------------------------------------------
# access paths


class KeyError_(Exception):
    pass


def _skip_string(s, j):
    """s[j] is a quote (possibly after a b/r/u prefix); return index past the literal."""
    q = s[j]
    triple = s[j:j + 3] == q * 3
    end = q * 3 if triple else q
    j += len(end)
    while j < len(s):
        if s[j] == "\\":
            j += 2
            continue
        if s.startswith(end, j):
            return j + len(end)
        j += 1
    raise KeyError_("unterminated string literal")


def _closing_bracket(s, i):
    """s[i] == '['; return the index of its matching ']'."""
    depth = 0
    j = i
    while j < len(s):
        c = s[j]
        if c in "'\"":
            j = _skip_string(s, j)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                if c != "]":
                    raise KeyError_(f"mismatched {c!r} at {j}")
                return j
        j += 1
    raise KeyError_("unclosed '['")


def parse_key(key):
    """Parse "['a'][3].weight" into [('item', 'a'), ('item', 3), ('attr', 'weight')]."""
    steps = []
    i = 0
    while i < len(key):
        if key[i] == "[":
            j = _closing_bracket(key, i)
            try:
                steps.append(("item", ast.literal_eval(key[i + 1:j])))
            except (ValueError, SyntaxError) as e:
                raise KeyError_(f"bad literal {key[i + 1:j]!r}: {e}")
            i = j + 1
        elif key[i] == ".":
            j = i + 1
            while j < len(key) and (key[j].isalnum() or key[j] == "_"):
                j += 1
            name = key[i + 1:j]
            if not name.isidentifier() or keyword.iskeyword(name):
                raise KeyError_(f"bad attribute name {name!r}")
            if name == "__getattr__" and key[j:j + 1] == "(":
                k = j + 1
                if key[k:k + 1] not in ("'", '"'):
                    raise KeyError_(f"__getattr__ takes a str literal, at {k}")
                k = _skip_string(key, k)
                if key[k:k + 1] != ")":
                    raise KeyError_(f"unclosed __getattr__( at {j}")
                steps.append(("getattr", ast.literal_eval(key[j + 1:k])))
                i = k + 1
                continue
            if name == "__getstate__" and key.startswith("()", j):
                steps.append(("call", name))  # ptfs's .__getstate__() entries
                j += 2
            else:
                steps.append(("attr", name))
            i = j
        else:
            raise KeyError_(f"unexpected {key[i]!r} at {i}")
    return steps


def follow(obj, steps):
    for kind, k in steps:
        if kind == "call":
            obj = getattr(obj, k)()
        elif kind == "attr":
            obj = getattr(obj, k)
        elif kind == "getattr":
            obj = obj.__getattr__(k)
        elif isinstance(obj, (set, frozenset)):
            obj = list(obj)[k]
        else:
            obj = obj[k]
    return obj


# ---------------------------------------------------------------------------
# expected values


def type_name(v):
    if isinstance(v, torch.jit.ScriptModule):
        return v._c._type().qualified_name()
    if isinstance(v, torch._C.ScriptObject):
        return v._type().qualified_name()
    t = type(v)
    if t.__module__ == "builtins":
        return t.__qualname__
    return f"{t.__module__}.{t.__qualname__}"


def tensor_bytes(t):
    t = t.detach()
    if t.is_quantized:
        t = t.int_repr()
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def compact(v):
    return json.dumps(list(v), separators=(",", ":"))


def walk_tensors(obj, path, seen, out):
    """Collect every tensor reachable through containers and modules: id -> (path, tensor)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        out[id(obj)] = (path, obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            walk_tensors(v, f"{path}[{k!r}]", seen, out)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, v in enumerate(obj):
            walk_tensors(v, f"{path}[{i}]", seen, out)
    elif isinstance(obj, torch.jit.ScriptModule):
        # _parameters and friends are wrappers over C++ slots here, not dicts
        for kind, items in (("param", obj.named_parameters(recurse=False)),
                            ("buffer", obj.named_buffers(recurse=False)),
                            ("module", obj.named_children())):
            for name, v in items:
                walk_tensors(v, f"{path}.__getattr__({name!r})", seen, out)
    elif isinstance(obj, torch.nn.Module):
        for name in ("_parameters", "_buffers", "_modules"):
            walk_tensors(getattr(obj, name, {}), f"{path}.{name}", seen, out)


# ---------------------------------------------------------------------------


class Oracle:
    def __init__(self, mount, obj, locations):
        self.mount = mount
        self.obj = obj
        self.locations = locations  # storage data_ptr -> saved tag
        self.compared = 0
        self.bad = 0
        self.reached = set()
        self.storage_of_key = {}  # user.pt.storage -> (data_ptr, path)
        self.key_of_storage = {}  # data_ptr -> (user.pt.storage, path)
        self.hashes = False

    def mismatch(self, path, what, expected, got):
        self.bad += 1
        print(f"{path!r}: {what}: expected {expected!r}, got {got!r}")

    def xattr(self, path, name):
        try:
            return os.getxattr(path, name, follow_symlinks=False).decode("utf-8", "surrogateescape")
        except OSError:
            return None

    def lookup(self, full, rel):
        key = self.xattr(full, "user.pt.key")
        if key is None:
            self.mismatch(rel, "user.pt.key", "present", None)
            return False, None
        try:
            return True, follow(self.obj, parse_key(key))
        except KeyError_ as e:
            self.mismatch(rel, "key syntax", key, str(e))
        except Exception as e:
            self.mismatch(rel, "key lookup", key, f"{type(e).__name__}: {e}")
        return False, None

    def check_attr(self, full, rel, name, expected):
        got = self.xattr(full, name)
        if got != expected:
            self.mismatch(rel, name, expected, got)

    def check_file(self, full, rel):
        self.compared += 1
        ok, v = self.lookup(full, rel)
        if not ok:
            return
        try:
            with open(full, "rb") as f:
                data = f.read()
            size = os.lstat(full).st_size
        except OSError as e:
            self.mismatch(rel, "read", "file content", str(e))
            return
        self.check_attr(full, rel, "user.pt.type", type_name(v))
        if isinstance(v, torch.Tensor):
            self.check_tensor(full, rel, v, data, size)
            return
        if isinstance(v, np.ndarray) and v.dtype != object:
            # like a tensor: elements row-major, little-endian; numpy's dtype name
            want = np.ascontiguousarray(v).astype(v.dtype.newbyteorder("<")).tobytes()
            self.check_attr(full, rel, "user.pt.dtype", v.dtype.name)
            self.check_attr(full, rel, "user.pt.shape", compact(v.shape))
        elif isinstance(v, str) and not isinstance(v, np.generic):
            want = v.encode("utf-8", "surrogatepass") + b"\n"
        elif isinstance(v, (bytes, bytearray)) and not isinstance(v, np.generic):
            want = bytes(v)
        elif v is None or isinstance(v, (bool, int, float, complex, np.generic, np.dtype, torch.device,
                                         torch.dtype, torch.Size, slice, range, decimal.Decimal,
                                         fractions.Fraction)):
            want = (repr(v) + "\n").encode()
        else:
            self.mismatch(rel, "kind", "a tensor, an array or a scalar for a file", type_name(v))
            return
        if data != want:
            self.mismatch(rel, "content", want, data)
        if size != len(want):
            self.mismatch(rel, "st_size", len(want), size)

    def check_tensor(self, full, rel, t, data, size):
        self.reached.add(id(t))
        want = tensor_bytes(t)
        if data != want:
            first = next((i for i, (a, b) in enumerate(zip(want, data)) if a != b), min(len(want), len(data)))
            self.mismatch(rel, f"content ({len(want)} bytes, first difference at byte {first})",
                          want[first:first + 16], data[first:first + 16])
        if size != t.numel() * t.element_size():
            self.mismatch(rel, "st_size", t.numel() * t.element_size(), size)
        if self.hashes:
            self.check_attr(full, rel, "user.pt.sha256", hashlib.sha256(want).hexdigest())
        self.check_attr(full, rel, "user.pt.dtype", str(t.dtype).replace("torch.", ""))
        self.check_attr(full, rel, "user.pt.shape", compact(t.shape))
        self.check_attr(full, rel, "user.pt.requires_grad", "true" if t.requires_grad else "false")
        # optional attributes: compared only when ptfs provides them
        stride = self.xattr(full, "user.pt.stride")
        if stride is not None and stride != compact(t.stride()):
            self.mismatch(rel, "user.pt.stride", compact(t.stride()), stride)
        off = self.xattr(full, "user.pt.storage_offset")
        if off is not None and off != str(t.storage_offset()):
            self.mismatch(rel, "user.pt.storage_offset", str(t.storage_offset()), off)
        try:
            ptr = t.storage().data_ptr()
        except Exception:
            ptr = 0
        if not ptr:  # empty storage (or none we can see): nothing to identify it by
            return
        if getattr(self, "resolved", None) is not None:
            got = self.xattr(full, "user.pt.location")
            if got != self.resolved.get(ptr):
                self.mismatch(rel, "user.pt.location (torch's map_location)", self.resolved.get(ptr), got)
        loc = self.xattr(full, "user.pt.saved_location")
        if loc is not None and ptr in self.locations and loc != self.locations[ptr]:
            self.mismatch(rel, "user.pt.saved_location", self.locations[ptr], loc)
        skey = self.xattr(full, "user.pt.storage")
        if skey is not None:
            prev = self.storage_of_key.setdefault(skey, (ptr, rel))
            if prev[0] != ptr:
                self.mismatch(rel, "user.pt.storage", f"a storage key other than {skey} "
                              f"(torch does not share storage with {prev[1]!r})", skey)
            prev = self.key_of_storage.setdefault(ptr, (skey, rel))
            if prev[0] != skey:
                self.mismatch(rel, "user.pt.storage", f"{prev[0]} (shared with {prev[1]!r} in torch)", skey)

    def check_dir(self, full, rel):
        if self.xattr(full, "user.pt.key") is None:
            return
        if (self.xattr(full, "user.pt.type") or "").startswith("ptfs."):
            return  # ptfs's own directories (split prefixes) name no Python object
        self.compared += 1
        ok, v = self.lookup(full, rel)
        if ok:
            self.check_attr(full, rel, "user.pt.type", type_name(v))

    def run(self, dirs):
        for root, dnames, fnames in os.walk(self.mount):
            if root == self.mount and ".ptfs" in dnames:
                dnames.remove(".ptfs")
            dnames.sort()
            for name in sorted(fnames):
                full = os.path.join(root, name)
                rel = os.path.relpath(full, self.mount)
                if os.path.isfile(full) and not os.path.islink(full):
                    self.check_file(full, rel)
            if dirs:
                for name in dnames:
                    full = os.path.join(root, name)
                    self.check_dir(full, os.path.relpath(full, self.mount))
        tensors = {}
        walk_tensors(self.obj, "", set(), tensors)
        for i, (path, t) in tensors.items():
            if i not in self.reached:
                self.mismatch("(checkpoint)", f"tensor {path} not reached by any file",
                              str(t.dtype).replace("torch.", "") + " " + compact(t.shape), None)


def load_mapped(path, expr):
    """torch.load with map_location=eval(expr), recording where torch puts each storage.

    default_restore_location is replaced by a recorder that keeps the storage
    on the CPU, so the location torch's own map_location logic resolves can be
    read off even for cuda targets on a CPU-only machine. expr is trusted test
    input (a tag string, a dict, torch.device(...), or a lambda)."""
    saved, resolved = {}, {}
    ser = torch.serialization
    orig_get, orig_default = ser._get_restore_location, ser.default_restore_location

    def default(storage, location):
        resolved[storage.data_ptr()] = location
        return storage

    def get(map_location):
        inner = orig_get(map_location)

        def restore(storage, tag):
            ptr = storage.data_ptr()
            saved[ptr] = tag
            res = inner(storage, tag)
            if ptr not in resolved:
                resolved[ptr] = str(res.device) if hasattr(res, "device") else "cpu"
            return res
        return restore

    ser._get_restore_location, ser.default_restore_location = get, default
    try:
        obj = torch.load(path, map_location=eval(expr, {"torch": torch}), weights_only=False)
    finally:
        ser._get_restore_location, ser.default_restore_location = orig_get, orig_default
    return obj, saved, resolved


def is_torchscript(path):
    return zipfile.is_zipfile(path) and any(
        n.endswith("/constants.pkl") or n == "constants.pkl" for n in zipfile.ZipFile(path).namelist())


def load(path, full):
    locations = {}
    if is_torchscript(path):
        # what torch.load does with one; the saved tags are not recorded
        return torch.jit.load(path, map_location="cpu"), locations

    def keep_on_cpu(storage, tag):
        if storage.data_ptr():
            locations[storage.data_ptr()] = tag
        return storage

    try:
        return torch.load(path, map_location=keep_on_cpu, weights_only=True), locations
    except Exception as e:
        if not full:
            sys.exit(f"oracle: {path}: weights_only load failed ({type(e).__name__}); "
                     "pass --full only for trusted files")
    locations.clear()
    return torch.load(path, map_location=keep_on_cpu), locations


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = set(a for a in argv[1:] if a.startswith("--"))
    maploc = [f.split("=", 1)[1] for f in flags if f.startswith("--map-location=")]
    flags = set(f for f in flags if not f.startswith("--map-location="))
    if len(args) != 2 or flags - {"--full", "--dirs", "--hashes"}:
        sys.exit(__doc__)
    mount, ckpt = args
    if maploc:
        obj, locations, resolved = load_mapped(ckpt, maploc[0])
    else:
        obj, locations = load(ckpt, "--full" in flags)
        resolved = None
    o = Oracle(os.path.normpath(mount), obj, locations)
    o.resolved = resolved
    o.hashes = "--hashes" in flags
    o.run("--dirs" in flags)
    print(f"oracle: {o.compared} compared, {o.bad} mismatched")
    return 1 if o.bad or not o.compared else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
