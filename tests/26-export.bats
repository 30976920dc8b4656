#!/usr/bin/env bats
# `export safetensors PATH` and `export safetensors DIR --shard-size SIZE`
# (docs/export.md), through .ptfs/control and `ptfs export`: every file is
# read back by scripts/st_check.py (header bytes as safetensors' reference
# writer makes them, every tensor equal to torch.load's).

load helpers

setup() {
	load_libs
	need_fuse
	need_torch
	OUT="$BATS_TEST_TMPDIR/out"
	mkdir -p "$OUT"
}


# check CHECKPOINT EXPORTED [st_check options]
check() {
	"$INSPECT" "$1" >"$BATS_TEST_TMPDIR/list.tsv"
	run "$TORCH_PY" "$ROOT/scripts/st_check.py" "$1" "$BATS_TEST_TMPDIR/list.tsv" "$2" "${@:3}"
	assert_success
	assert_output --partial "ok "
}

# header FILE: the JSON header of a safetensors file
header() {
	"$TORCH_PY" -c 'import struct,sys; r=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",r[:8])[0]; sys.stdout.buffer.write(r[8:8+n])' "$1"
}

no_temp_files() {
	[ -z "$(ls -A "$1" | grep '\.ptfs-')" ]
}

@test "every fixture exported through the mount equals torch.load's tensors" {
	local f b
	for f in "$FIX"/*.pt; do
		b=$(basename "$f" .pt)
		mount_ckpt "$f"
		ctl "export safetensors $OUT/$b.safetensors"
		run cat "$MNT/.ptfs/control"
		assert_line --regexp "^save: done export safetensors $OUT/$b.safetensors [0-9]+ bytes in [0-9.]+ s: [0-9]+ tensors in 1 file, "
		unmount_all
		check "$f" "$OUT/$b.safetensors"
	done
	no_temp_files "$OUT"
}

@test "every real-world checkpoint exports, TorchScript archives included" {
	need_shared
	local f b
	for f in "$SHARED"/realworld/*.pt "$SHARED"/realworld/*.th "$SHARED"/realworld/*.bin "$SHARED"/realworld/*.pth; do
		b=$(basename "$f")
		run "$PTFS" export "$f" "$OUT/$b.safetensors"
		assert_success
		# torch 1.13 cannot load TorchScript 1.0 (model.json) archives: no oracle for it
		[ "$b" = ts_v1_tchrs_foo_modeljson.pt ] && continue
		check "$f" "$OUT/$b.safetensors"
	done
}

@test "the header is the reference's: dtype rank then name, metadata first, padded to 8" {
	"$PTFS" export "$FIX/05_tied.pt" "$OUT/t.safetensors"
	run header "$OUT/t.safetensors"
	assert_output '{"__metadata__":{"enc.w":"dec.w","format":"pt","lst.0":"dec.w","lst.1":"enc.b","lst.2":"dec.w"},"dec.w":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]},"enc.b":{"dtype":"F32","shape":[3],"data_offsets":[48,60]}} '
	[ $(( $(header "$OUT/t.safetensors" | wc -c) % 8 )) -eq 0 ]
	"$PTFS" export "$FIX/01_dtypes.pt" "$OUT/d.safetensors" 2>/dev/null
	run "$TORCH_PY" -c '
import json,struct,sys
r=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",r[:8])[0]
h=json.loads(r[8:8+n]); h.pop("__metadata__")
print(" ".join(sorted({v["dtype"] for v in h.values()}, key=lambda d: min(v["data_offsets"][0] for v in h.values() if v["dtype"]==d))))' "$OUT/d.safetensors"
	# the reference's rank order, of the dtypes torch 1.13 saves
	assert_output "I64 F64 F32 I32 BF16 F16 I16 I8 U8 BOOL"
}

@test "str leaves become metadata; the rest is listed as left out" {
	run "$PTFS" export "$FIX/15_values_wo.pt" "$OUT/v.safetensors"
	assert_success
	assert_output --regexp "left out [0-9]+: "
	run header "$OUT/v.safetensors"
	assert_output --partial '"__metadata__":{"empty_str":"","format":"pt","nested.a.b.d":"x","str":"hello\nworld","unicode":"ün'
	mount_ckpt "$FIX/17_demo.pt"
	ctl "export safetensors $OUT/demo.safetensors"
	run cat "$MNT/.ptfs/control"
	assert_line --regexp "^save: done export safetensors $OUT/demo.safetensors 60 bytes in [0-9.]+ s: 2 tensors in 1 file, 0 metadata, 0 tied dropped; left out 1: epoch \(int\)$"
	run "$PTFS" export "$FIX/01_dtypes.pt" "$OUT/c.safetensors"
	assert_output --partial "complex64 (complex64: no safetensors dtype)"
}

@test "tied tensors: one name kept per storage as huggingface_hub keeps it, the others in metadata" {
	"$PTFS" export "$FIX/05_tied.pt" "$OUT/t.safetensors"
	run "$TORCH_PY" -c '
import json,struct,sys
r=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",r[:8])[0]
h=json.loads(r[8:8+n]); m=h.pop("__metadata__"); print(sorted(h), m)' "$OUT/t.safetensors"
	assert_output "['dec.w', 'enc.b'] {'enc.w': 'dec.w', 'format': 'pt', 'lst.0': 'dec.w', 'lst.1': 'enc.b', 'lst.2': 'dec.w'}"
	# three views of one storage with no complete tensor: each exports its own elements
	run "$PTFS" export "$FIX/06_shared_views.pt" "$OUT/v.safetensors"
	assert_output --partial "3 tensors in 1 file, 0 metadata, 0 tied dropped"
	check "$FIX/06_shared_views.pt" "$OUT/v.safetensors"
	"$PTFS" export "$FIX/04_views.pt" "$OUT/w.safetensors" 2>/dev/null
	check "$FIX/04_views.pt" "$OUT/w.safetensors"
}

@test "rules apply: a tensor whose effective location is meta is left out" {
	mount_ckpt "$FIX/17_demo.pt"
	setfattr -n user.pt.location -v meta "$MNT/layer1/bias"
	ctl "export safetensors $OUT/a.safetensors"
	run cat "$MNT/.ptfs/control"
	assert_line --partial "1 tensors in 1 file, 0 metadata, 0 tied dropped; left out 2: layer1.bias (tensor on meta: no data), epoch (int)"
	ctl "map_location meta" "export safetensors $OUT/b.safetensors"
	run cat "$MNT/.ptfs/control"
	assert_line --partial ": 0 tensors in 1 file"
	run header "$OUT/b.safetensors"
	assert_output '{"__metadata__":{"format":"pt"}}'
}

@test "shards: HF names, an index consistent with them, every shard within the size" {
	mount_ckpt "$FIX/08_optimizer.pt"
	ctl "export safetensors $OUT/opt --shard-size 100B"
	run cat "$MNT/.ptfs/control"
	assert_line --regexp "^save: done export safetensors $OUT/opt [0-9]+ bytes in [0-9.]+ s: 16 tensors in 3 files, "
	run ls "$OUT/opt"
	assert_output "model-00001-of-00003.safetensors
model-00002-of-00003.safetensors
model-00003-of-00003.safetensors
model.safetensors.index.json"
	check "$FIX/08_optimizer.pt" "$OUT/opt" --sharded --max 100
	head -n 3 "$OUT/opt/model.safetensors.index.json" | tr -d '\n' | grep -q '^{  "metadata": {    "total_size": 292'
	# one shard: model.safetensors and no index, as huggingface_hub writes it
	ctl "export safetensors $OUT/one --shard-size 5GB"
	run ls "$OUT/one"
	assert_output "model.safetensors"
	"$PTFS" export --shard-size 40 "$FIX/01_dtypes.pt" "$OUT/dt" 2>/dev/null
	check "$FIX/01_dtypes.pt" "$OUT/dt" --sharded --max 40
}

@test "sizes parse as huggingface_hub's, binary units too; bad commands change nothing" {
	mount_ckpt "$FIX/17_demo.pt"
	run ctl "export safetensors $OUT/x --shard-size 5XB"
	assert_failure
	run grep '^error: ' "$MNT/.ptfs/control"
	assert_output --partial "'5XB' is not a size"
	run ctl "export safetensors relative.safetensors"
	assert_failure
	run ctl "export onnx $OUT/x"
	assert_failure
	run grep '^error: ' "$MNT/.ptfs/control"
	assert_output --partial "usage: export safetensors PATH [--shard-size SIZE]"
	run ctl "export safetensors $OUT"
	assert_failure
	assert_output --partial "Is a directory"
	for s in 500MB 2GiB 1KiB 3kb; do ctl "export safetensors $OUT/s-$s --shard-size $s"; done
	[ -f "$OUT/s-2GiB/model.safetensors" ]
	run "$PTFS" export --shard-size 0 "$FIX/17_demo.pt" "$OUT/z"
	[ "$status" -eq 2 ]
}

@test "a failed export leaves nothing: no file, no shard, no temporary" {
	small="$BATS_TEST_TMPDIR/small"
	mkdir -p "$small"
	mount -t tmpfs -o size=64k tmpfs "$small" 2>/dev/null || skip "cannot mount a tmpfs here"
	TMPFS+=("$small")
	"$TORCH_PY" -c 'import torch; torch.save({"a": torch.zeros(12000), "b": torch.ones(12000)}, "'"$OUT/two.pt"'")'
	echo old >"$small/m.safetensors"
	mount_ckpt "$OUT/two.pt"
	run ctl "export safetensors $small/m.safetensors"
	assert_failure
	assert_output --partial "No space left on device"
	[ "$(cat "$small/m.safetensors")" = old ]
	run ctl "export safetensors $small/shards --shard-size 50KB"
	assert_failure
	[ "$(ls -A "$small" | tr '\n' ' ')" = "m.safetensors " ]
	umount "$small"
}

@test "an export's target follows save's rules: links followed, devices and folders refused" {
	mount_ckpt "$FIX/17_demo.pt"
	mkdir "$OUT/real"
	ln -s real/model.safetensors "$OUT/link.safetensors"
	ctl "export safetensors $OUT/link.safetensors"
	[ -L "$OUT/link.safetensors" ] && [ -s "$OUT/real/model.safetensors" ]
	check "$FIX/17_demo.pt" "$OUT/real/model.safetensors"
	run ctl "export safetensors /dev/null"
	assert_failure
	run cat "$MNT/.ptfs/control"
	assert_line "error: export: /dev/null is a character device; an export replaces only a regular file: File exists"
	[ -c /dev/null ]
	run ctl "export safetensors $OUT/real"
	assert_failure
	run cat "$MNT/.ptfs/control"
	assert_line "error: export: $OUT/real is a folder; an export replaces only a regular file: Is a directory"
	run ctl "export safetensors /proc/x.safetensors"
	assert_failure
	assert_output --partial "Operation not supported"
	[ "$(ls -A "$OUT" | sort | tr '\n' ' ')" = "link.safetensors real " ]
	[ "$(ls -A "$OUT/real")" = model.safetensors ]
}

@test "a long export shows progress on the save line; a second one gets EBUSY" {
	BIG="$BATS_TEST_TMPDIR/big.pt"
	"$TORCH_PY" "$ROOT/scripts/make-big.py" "$BIG" --gib 0.5 --tensors 2 >/dev/null
	mount_ckpt "$BIG"
	ctl "export safetensors $OUT/big.safetensors" &
	local i
	for i in $(seq 1000); do
		grep -q '^save: running' "$MNT/.ptfs/control" && break
		sleep 0.01
	done
	run grep '^save: ' "$MNT/.ptfs/control"
	assert_output --regexp "^save: (running export safetensors $OUT/big.safetensors [0-9]+/536870912 bytes|done export)"
	run ctl "export safetensors $OUT/big2.safetensors"
	wait
	run grep '^save: ' "$MNT/.ptfs/control"
	assert_output --regexp "^save: done export safetensors $OUT/big.safetensors 536870912 bytes in [0-9.]+ s: 2 tensors"
	[ "$(stat -c %s "$OUT/big.safetensors")" -eq $((536870912 + 8 + $(header "$OUT/big.safetensors" | wc -c))) ]
	cmp <(tail -c +$((9 + $(header "$OUT/big.safetensors" | wc -c))) "$OUT/big.safetensors" | head -c 4) <(cat "$MNT/layer0/weight" | head -c 4)
}

@test "TorchScript: .ptfs/code holds the archive's code/ members byte for byte" {
	local f
	for f in "$FIX"/31_script_seq.pt "$FIX"/32_script_lists.pt; do
		mount_ckpt "$f"
		run "$TORCH_PY" "$ROOT/scripts/ts_code_check.py" "$f" "$MNT"
		assert_success
		unmount_all
	done
	mount_ckpt "$FIX/31_script_seq.pt"
	run getfattr --absolute-names -n user.pt.type --only-values "$MNT/.ptfs/code/__torch__.py"
	assert_output "ptfs.code"
	run getfattr --absolute-names -n user.pt.type --only-values "$MNT/proj/0"
	assert_output "__torch__.torch.nn.modules.linear.Linear"
	run ls -A "$MNT"
	refute_output --partial "code"
	# no code folder for a checkpoint that is not TorchScript
	mount_ckpt "$FIX/17_demo.pt"
	[ ! -e "$MNT/.ptfs/code" ]
}

@test "TorchScript: the real-world archives' code, deflated or stored" {
	need_shared
	local f
	for f in "$SHARED"/realworld/ts_*.pt; do
		mount_ckpt "$f"
		run "$TORCH_PY" "$ROOT/scripts/ts_code_check.py" "$f" "$MNT"
		assert_success
		unmount_all
	done
}

@test "TorchScript: a code member over 64 MiB is refused at its read, not at mount" {
	local f="$BATS_TEST_TMPDIR/bigcode.pt"
	"$TORCH_PY" -c '
import sys, torch, zipfile
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), sys.argv[1])
with zipfile.ZipFile(sys.argv[1], "a") as z:
    prefix = z.namelist()[0].split("/")[0]
    z.writestr(prefix + "/code/big.py", b"#" * (65 << 20), compress_type=zipfile.ZIP_DEFLATED)
' "$f"
	mount_ckpt "$f"
	[ "$(stat -c %s "$MNT/.ptfs/code/big.py")" -eq $((65 << 20)) ]
	run cat "$MNT/.ptfs/code/big.py"
	assert_failure
	run cat "$MNT/.ptfs/code/__torch__/torch/nn/modules/linear.py"
	assert_success
	assert_output --partial "class Linear"
}
