#!/usr/bin/env bats
# safetensors files and sharded sets (docs/safetensors.md): the same tree
# and bytes as torch.save of the same tensors, the header refused as the
# reference refuses it, shards opened on first read, save loads in torch.
# Fixtures: scripts/make-safetensors.py, once per file.

load helpers

setup_file() {
	export STFX="$BATS_FILE_TMPDIR/st"
	if "$TORCH_PY" -c 'import torch' 2>/dev/null; then
		"$TORCH_PY" "$ROOT/scripts/make-safetensors.py" "$STFX"
	fi
}

setup() {
	load_libs
	need_fuse
	need_torch
}

# The tensor columns of a mount's manifest (path dtype shape bytes), sorted.
tensor_columns() {
	awk -F'\t' 'NR > 1 {print $1 "\t" $2 "\t" $3 "\t" $8}' "$1/.ptfs/manifest" | sort
}

@test "safetensors: the tree and every tensor's bytes equal the torch.save mount of the same state_dict" {
	mount_ckpt "$STFX/sd.pt"
	local pt=$MNT
	mount_ckpt "$STFX/sd.safetensors"
	# .ptfs differs between formats (globals, metadata.json): compared apart
	diff -r -x .ptfs "$pt" "$MNT"
	diff <(tensor_columns "$pt") <(tensor_columns "$MNT")
	run ls -U "$MNT"
	assert_output "$(printf 'layer1\nemb\nflags\nsteps\ni32\ni16\ni8\nu8\nf64\nc64\nscalar\nempty\na')"
}

@test "safetensors: xattrs of a tensor, exactly" {
	mount_ckpt "$STFX/sd.safetensors"
	run getfattr --absolute-names -d -m - "$MNT/emb/weight"
	assert_output "# file: $MNT/emb/weight
user.pt.dtype=\"bfloat16\"
user.pt.key=\"['emb.weight']\"
user.pt.location=\"cpu\"
user.pt.requires_grad=\"false\"
user.pt.saved_location=\"cpu\"
user.pt.shape=\"[5,2]\"
user.pt.storage=\"2\"
user.pt.storage_offset=\"0\"
user.pt.stride=\"[2,1]\"
user.pt.type=\"torch.Tensor\""
}

@test "safetensors: __metadata__ is .ptfs/metadata.json" {
	mount_ckpt "$STFX/sd.safetensors"
	run cat "$MNT/.ptfs/metadata.json"
	assert_output '{"format":"pt","note":"a \"q\""}'
	mount_ckpt "$STFX/four/st/model.safetensors.index.json"
	run cat "$MNT/.ptfs/metadata.json"
	assert_output '{"total_size":1184}'
}

@test "safetensors: dtypes torch 1.13 lacks show their raw bytes and names" {
	mount_ckpt "$STFX/wide.safetensors"
	local f
	for f in f8a f8b f8c f8d f8e u16 u32 u64; do
		cmp "$STFX/wide.expect/$f" "$MNT/$f"
	done
	run getfattr --absolute-names --only-values -n user.pt.dtype "$MNT/f8a"
	assert_output float8_e4m3fn
	run getfattr --absolute-names --only-values -n user.pt.dtype "$MNT/f8b"
	assert_output float8_e5m2
	run getfattr --absolute-names --only-values -n user.pt.dtype "$MNT/f8c"
	assert_output float8_e8m0fnu
	run getfattr --absolute-names --only-values -n user.pt.dtype "$MNT/u64"
	assert_output uint64
}

@test "safetensors: a 4-bit tensor is refused by name" {
	run "$PTFS" "$STFX/f4.safetensors" "$BATS_TEST_TMPDIR"
	assert_failure
	assert_output "ptfs: $STFX/f4.safetensors: safetensors: tensor 'x': dtype F4 (4-bit) has no torch dtype; ptfs does not show 4- and 6-bit tensors"
}

@test "safetensors: each malformed header and broken set is refused with its message, before mounting" {
	local f m n=0
	while IFS=$'\t' read -r f m; do
		run "$PTFS" "$f" "$BATS_TEST_TMPDIR"
		assert_failure
		assert_output --partial "$m"
		[[ $output == "ptfs: $f: "* ]]
		n=$((n + 1))
	done <"$STFX/bad.expect"
	[ "$n" -eq 20 ]
	! grep -q " $BATS_TEST_TMPDIR fuse" /proc/self/mounts
}

@test "sharded: a model saved four ways mounts to the same tensors" {
	mount_ckpt "$STFX/four/one.pt"
	local one=$MNT m
	for m in "$STFX/four/model.safetensors" "$STFX/four/st/model.safetensors.index.json" \
		"$STFX/four/st" "$STFX/pattern" "$STFX/four/bin/pytorch_model.bin.index.json" \
		"$STFX/four/bin"; do
		mount_ckpt "$m"
		diff -r -x .ptfs "$one" "$MNT"
		diff <(tensor_columns "$one") <(tensor_columns "$MNT")
	done
}

@test "sharded: no shard is open before its first read" {
	mount_ckpt "$STFX/four/st"
	local pid
	pid=$(pgrep -f -n "ptfs $STFX/four/st $MNT")
	run ls -l "/proc/$pid/fd"
	refute_output --partial ".safetensors"
	ls -R "$MNT" >/dev/null
	getfattr -d -m - "$MNT/head/weight" >/dev/null
	run ls -l "/proc/$pid/fd"
	refute_output --partial ".safetensors"
	cat "$MNT/head/weight" >/dev/null
	run ls -l "/proc/$pid/fd"
	assert_output --partial "model-00002-of-00002.safetensors"
	refute_output --partial "model-00001-of-00002.safetensors"
}

@test "safetensors: mount time does not grow with data size (a 1 GiB file opens from its header)" {
	"$TORCH_PY" - "$BATS_TEST_TMPDIR/big.safetensors" <<'EOF'
import json, struct, sys
n = 1 << 30
h = json.dumps({"w": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}).encode()
h += b" " * (-len(h) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    f.truncate(8 + len(h) + n)
EOF
	run strace -f -e trace=pread64,read -o "$BATS_TEST_TMPDIR/trace" "$INSPECT" "$BATS_TEST_TMPDIR/big.safetensors"
	assert_success
	# the header and nothing else: no read of more than a page
	! grep -E '= [0-9]{5,}$' "$BATS_TEST_TMPDIR/trace"
}

@test "safetensors: save writes a checkpoint torch.load loads to equal tensors" {
	mount_ckpt "$STFX/sd.safetensors"
	echo "save $BATS_TEST_TMPDIR/a.pt" >"$MNT/.ptfs/control"
	mount_ckpt "$STFX/four/st"
	echo "save $BATS_TEST_TMPDIR/b.pt" >"$MNT/.ptfs/control"
	run "$TORCH_PY" - "$BATS_TEST_TMPDIR" "$STFX" <<'EOF'
import collections, sys, torch
d, fx = sys.argv[1], sys.argv[2]
for got, want in (("a.pt", "sd.pt"), ("b.pt", "four/one.pt")):
    a, b = torch.load(d + "/" + got), torch.load(fx + "/" + want)
    assert type(a) is collections.OrderedDict, type(a)
    assert sorted(a) == sorted(b), (sorted(a), sorted(b))
    for k in b:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), k
print("equal")
EOF
	assert_output equal
}

@test "safetensors: save refuses dtypes torch 1.13 cannot load, by name" {
	mount_ckpt "$STFX/wide.safetensors"
	run bash -c "echo 'save $BATS_TEST_TMPDIR/w.pt' >'$MNT/.ptfs/control'"
	assert_failure
	run cat "$MNT/.ptfs/control"
	assert_output --partial "save: tensor 'f8a' is float8_e4m3fn, which has no storage class torch 1.13 can load"
	[ ! -e "$BATS_TEST_TMPDIR/w.pt" ]
}
