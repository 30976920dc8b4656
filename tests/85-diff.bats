#!/usr/bin/env bats
# `ptfs diff A B` (docs/diff.md): pairs of checkpoints written by
# scripts/make-diff-pairs.py with Debian's torch, each B one change away from
# its A; the exact output and exit status of each.

load helpers

setup_file() {
	export PAIRS="$BATS_FILE_TMPDIR/pairs"
	if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
		/usr/bin/python3 "$BATS_TEST_DIRNAME/../scripts/make-diff-pairs.py" "$PAIRS"
	fi
}

setup() {
	load_libs
	[ -s "$PAIRS/same_a.pt" ] || skip "no torch for /usr/bin/python3: no pairs"
}

# pair NAME [options]: ptfs diff [options] NAME_a.pt NAME_b.pt
pair() {
	local name=$1
	shift
	run "$PTFS" diff "$@" "$PAIRS/${name}_a.pt" "$PAIRS/${name}_b.pt"
}

@test "the same objects saved twice (other archive folder): equal, exit 0" {
	! cmp -s "$PAIRS/same_a.pt" "$PAIRS/same_b.pt"
	pair same
	assert_success
	assert_output "model/fc/weight: equal
model/fc/bias: equal
model/emb: equal"
}

@test "the same objects in the zip and the legacy format (other storage keys): equal, exit 0" {
	pair format
	assert_success
	assert_output "model/fc/weight: equal
model/fc/bias: equal
model/emb: equal"
}

@test "one element of one tensor changed: count, largest differences, where, old → new" {
	pair elem
	assert_failure 1
	assert_output "model/fc/weight: 1 of 12 elements differ; max abs diff 0.5 at [1,2]: 6.0 → 5.5; max rel diff 0.09090909090909091 at [1,2]
model/fc/bias: equal
model/emb: equal"
}

@test "a dtype changed: the dtype line, then the values compared across dtypes" {
	pair dtype
	assert_failure 1
	assert_output "model/fc/weight: equal
model/fc/bias: dtype float32 → float64
model/fc/bias: values equal
model/emb: equal"
}

@test "a shape changed: shape and stride lines, contents not compared" {
	pair shape
	assert_failure 1
	assert_output "model/fc/weight: shape [3,4] → [4,3]
model/fc/weight: stride [4,1] → [3,1]
model/fc/bias: equal
model/emb: equal"
}

@test "a location tag changed: saved_location cpu → cuda:1" {
	pair location
	assert_failure 1
	assert_output "model/fc/weight: equal
model/fc/bias: saved_location cpu → cuda:1
model/fc/bias: equal
model/emb: equal"
}

@test "a key added: only in B, a directory with a slash" {
	pair added
	assert_failure 1
	assert_output "model/fc/weight: equal
model/fc/bias: equal
model/emb: equal
only in B: model/extra/"
}

@test "a key removed: only in A, in A's order" {
	pair removed
	assert_failure 1
	assert_output "model/fc/weight: equal
only in A: model/fc/bias
model/emb: equal"
}

@test "epoch changed: epoch: 12 → 13" {
	pair epoch
	assert_failure 1
	assert_output "model/fc/weight: equal
model/fc/bias: equal
model/emb: equal
epoch: 12 → 13"
}

@test "requires_grad and the Parameter type: metadata lines, contents equal" {
	pair grad
	assert_failure 1
	assert_output "model/fc/weight: type torch.Tensor → torch.nn.parameter.Parameter
model/fc/weight: requires_grad false → true
model/fc/weight: equal
model/fc/bias: equal
model/emb: equal"
}

@test "a change within tolerance: different without one, close (exit 0) with --rtol/--atol" {
	pair close
	assert_failure 1
	assert_line --index 0 "model/fc/weight: 1 of 12 elements differ; max abs diff 9.5367431640625e-07 at [0,1]: 1.0 → 1.0000009536743164; max rel diff 9.536734069124156e-07 at [0,1]"
	pair close --rtol 1e-05
	assert_success
	assert_output "model/fc/weight: close: 1 of 12 elements differ, all within rtol=1e-05 atol=1e-08; max abs diff 9.5367431640625e-07 at [0,1]: 1.0 → 1.0000009536743164; max rel diff 9.536734069124156e-07 at [0,1]
model/fc/bias: equal
model/emb: equal"
	pair close --atol=1e-6 --rtol=0
	assert_success
	pair close --rtol 0 --atol 0
	assert_failure 1
	assert_line --index 0 --partial "model/fc/weight: 1 of 12 elements differ, 1 beyond rtol=0 atol=0; "
}

@test "the largest differences as torch computes them" {
	pair close
	want=$(/usr/bin/python3 -c '
import sys, torch
a = torch.load(sys.argv[1])["model"]["fc.weight"].double()
b = torch.load(sys.argv[2])["model"]["fc.weight"].double()
d = (a - b).abs()
print(repr(d.max().item()), repr((d / b.abs())[d > 0].max().item()), torch.allclose(a.float(), b.float()))
' "$PAIRS/close_a.pt" "$PAIRS/close_b.pt")
	[ "$want" = "9.5367431640625e-07 9.536734069124156e-07 True" ]
	assert_output --partial "max abs diff 9.5367431640625e-07 "
	assert_output --partial "max rel diff 9.536734069124156e-07 "
}

@test "float16, bfloat16, int64, bool, complex64: one element each, decoded from its dtype" {
	pair types
	assert_failure 1
	assert_output "h: 1 of 3 elements differ; max abs diff 0.5 at [1]: 2.0 → 2.5; max rel diff 0.2 at [1]
bf: 1 of 3 elements differ; max abs diff 0.5 at [2]: 3.0 → 3.5; max rel diff 0.14285714285714285 at [2]
i: 1 of 3 elements differ; max abs diff 8 at [0]: 1 → -7; max rel diff 1.1428571428571428 at [0]
b: 1 of 3 elements differ; max abs diff 1 at [1]: False → True; max rel diff 1.0 at [1]
c: 1 of 2 elements differ; max abs diff 8.0 at [1]: (3-4j) → (3+4j); max rel diff 1.6 at [1]"
}

@test "NaN: the same bytes are equal, a new NaN differs, with or without tolerance" {
	pair nan
	assert_failure 1
	assert_output "same_nan: equal
new_nan: 1 of 2 elements differ, 1 with NaN"
	pair nan --atol 1 --equal-nan
	assert_failure 1
	assert_line --index 1 "new_nan: 1 of 2 elements differ, 1 beyond rtol=1e-05 atol=1, 1 with NaN"
}

@test "-q prints the paths that differ, once each, and keeps the status" {
	pair grad -q
	assert_failure 1
	assert_output "model/fc/weight"
	pair added -q
	assert_failure 1
	assert_output "model/extra/"
	pair same -q
	assert_success
	assert_output ""
	pair close -q --rtol 1e-05
	assert_success
	assert_output ""
}

@test "every fixture equals itself" {
	local f
	for f in "$FIX"/*.pt; do
		run "$PTFS" diff -q "$f" "$f"
		[ "$status" -eq 0 ] || { echo "$f: $status $output"; false; }
		[ -z "$output" ]
	done
}

@test "trouble: exit 2 and 'ptfs: FILE: reason'" {
	run "$PTFS" diff "$PAIRS/nope.pt" "$PAIRS/same_b.pt"
	assert_failure 2
	assert_output "ptfs: $PAIRS/nope.pt: No such file or directory"
	printf 'not a checkpoint' >"$BATS_TEST_TMPDIR/junk"
	run "$PTFS" diff "$PAIRS/same_a.pt" "$BATS_TEST_TMPDIR/junk"
	assert_failure 2
	assert_output --partial "ptfs: $BATS_TEST_TMPDIR/junk: not a PyTorch checkpoint"
}

@test "a record's bytes changed under an intact zip: compared as stored, not by its CRC" {
	local t="$BATS_TEST_TMPDIR/poked.pt"
	cp "$PAIRS/elem_b.pt" "$t"
	# fc.weight[0, 0] 0.0 -> 1.0 in place: same size, stale CRC
	/usr/bin/python3 - "$t" <<'PY'
import struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
i = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
with open(sys.argv[1], "r+b") as f:
    f.seek(i.header_offset + 26)
    n, m = struct.unpack("<HH", f.read(4))
    f.seek(i.header_offset + 30 + n + m)
    f.write(b"\x00\x00\x80\x3f")
PY
	run "$PTFS" diff "$PAIRS/elem_a.pt" "$t"
	assert_failure 1
	assert_line --index 0 "model/fc/weight: 2 of 12 elements differ; max abs diff 1.0 at [0,0]: 0.0 → 1.0; max rel diff 1.0 at [0,0]"
}

@test "trouble: a tensor that cannot be read: exit 2, 'ptfs: FILE: entry: reason'" {
	local t="$BATS_TEST_TMPDIR/cut.pt"
	cp "$PAIRS/elem_b.pt" "$t"
	/usr/bin/python3 - "$t" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
i = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
with open(sys.argv[1], "r+b") as f:
    f.seek(i.header_offset)
    f.write(b"XXXX")    # data/0's local header signature
PY
	run "$PTFS" diff "$PAIRS/elem_a.pt" "$t"
	assert_failure 2
	assert_output "ptfs: $t: model/fc/weight: zip member elem_b/data/0: no local header at offset 470"
}

@test "usage errors exit 2; --help exits 0; ptfs --help names diff" {
	run "$PTFS" diff "$PAIRS/same_a.pt"
	assert_failure 2
	assert_line --index 0 "ptfs: diff needs two files"
	run "$PTFS" diff -x "$PAIRS/same_a.pt" "$PAIRS/same_b.pt"
	assert_failure 2
	assert_line --index 0 "ptfs: diff: unknown option -x"
	run "$PTFS" diff --rtol -1 "$PAIRS/same_a.pt" "$PAIRS/same_b.pt"
	assert_failure 2
	assert_output "ptfs: diff: --rtol needs a number >= 0"
	run "$PTFS" diff "$PAIRS/same_a.pt" "$PAIRS/same_b.pt" "$PAIRS/elem_b.pt"
	assert_failure 2
	run "$PTFS" diff --help
	assert_success
	assert_line --index 0 "usage: ptfs diff [-q] [--rtol R] [--atol A] [--equal-nan] A B"
	run "$PTFS" --help
	assert_output --partial "    diff [-q] [--rtol R] [--atol A] [--equal-nan] A B"
}
