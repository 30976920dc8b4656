#!/usr/bin/env bats
# Comparing checkpoints with standard tools on two mounts (issue 14): diff -r
# is quiet for equal objects and shows metadata changes as text (the
# .ptfs/manifest lines), the .ptfs files report their real size, and
# user.pt.sha256 / .ptfs/SHA256SUMS hash only when asked by name.

load helpers

setup_file() {
	export PAIRS="$BATS_FILE_TMPDIR/pairs"
	[ -x "$TORCH_PY" ] && "$TORCH_PY" -c 'import torch' 2>/dev/null || return 0
	"$TORCH_PY" "$BATS_TEST_DIRNAME/../scripts/make-diff-pairs.py" "$PAIRS" >/dev/null
}

setup() {
	load_libs
	need_fuse
	need_torch
}

# two NAME: mounts pair NAME of scripts/make-diff-pairs.py, A on ./a and B on ./b, and cd there
two() {
	mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	MOUNTS+=("$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b")
	"$PTFS" "$PAIRS/${1}_a.pt" "$BATS_TEST_TMPDIR/a" 3>&-
	"$PTFS" "$PAIRS/${1}_b.pt" "$BATS_TEST_TMPDIR/b" 3>&-
	cd "$BATS_TEST_TMPDIR"
}

@test "diff -r of the same objects saved twice under other names is silent" {
	two same
	# the zips differ: folder name, serialization id
	! cmp -s "$PAIRS/same_a.pt" "$PAIRS/same_b.pt"
	run diff -r a b
	assert_success
	assert_output ""
}

@test "diff -r: an element changed, or moved within a tolerance: the tensor's file differs" {
	for p in elem close; do
		two "$p"
		run diff -r a b
		assert_failure 1
		assert_output "Binary files a/model/fc/weight and b/model/fc/weight differ"
		unmount_all
	done
}

@test "diff -r: a dtype change shows in the manifest and the globals report" {
	two dtype
	run diff -r a b
	assert_failure 1
	assert_output "diff -r a/.ptfs/globals b/.ptfs/globals
3a4
> data.pkl: allowed torch.DoubleStorage named GLOBAL
diff -r a/.ptfs/manifest b/.ptfs/manifest
3c3
< model/fc/bias	float32	[3]	[1]	0	cpu	cpu	12
---
> model/fc/bias	float64	[3]	[1]	0	cpu	cpu	24
Binary files a/model/fc/bias and b/model/fc/bias differ"
}

@test "diff -r: a shape change with the same bytes shows only in the manifest" {
	two shape
	run diff -r a b
	assert_failure 1
	assert_output "diff -r a/.ptfs/manifest b/.ptfs/manifest
2c2
< model/fc/weight	float32	[3,4]	[4,1]	0	cpu	cpu	48
---
> model/fc/weight	float32	[4,3]	[3,1]	0	cpu	cpu	48"
}

@test "diff -r: a location tag change shows in the manifest; map_location makes it equal" {
	two location
	run diff -r a b
	assert_failure 1
	assert_output "diff -r a/.ptfs/manifest b/.ptfs/manifest
3c3
< model/fc/bias	float32	[3]	[1]	0	cpu	cpu	12
---
> model/fc/bias	float32	[3]	[1]	0	cuda:1	cuda:1	12"
	echo 'map_location cpu' >b/.ptfs/control
	run diff a/.ptfs/manifest b/.ptfs/manifest
	assert_output "3c3
< model/fc/bias	float32	[3]	[1]	0	cpu	cpu	12
---
> model/fc/bias	float32	[3]	[1]	0	cuda:1	cpu	12"
}

@test "diff -r: keys added and removed, a scalar changed, another format" {
	two added
	run diff -r a b
	assert_failure 1
	assert_output "diff -r a/.ptfs/manifest b/.ptfs/manifest
4a5
> model/extra/weight	float32	[2]	[1]	0	cpu	cpu	8
Only in b/model: extra"
	unmount_all
	two removed
	run diff -r a b
	assert_failure 1
	assert_output "diff -r a/.ptfs/manifest b/.ptfs/manifest
3d2
< model/fc/bias	float32	[3]	[1]	0	cpu	cpu	12
Only in a/model/fc: bias"
	unmount_all
	two epoch
	run diff -r a b
	assert_failure 1
	assert_output "diff -r a/epoch b/epoch
1c1
< 12
---
> 13"
	unmount_all
	# legacy against zip: only the globals report's member names tell them apart
	two format
	run diff -r -x globals a b
	assert_success
}

@test "diff -r -x .ptfs: a state_dict against its safetensors export is silent (README)" {
	"$TORCH_PY" -c "
import collections, sys, torch
torch.save(collections.OrderedDict([('fc.weight', torch.arange(12.).reshape(3, 4)),
                                    ('fc.bias', torch.tensor([0.5, -1., 2.])),
                                    ('emb', torch.arange(6))]), sys.argv[1])" "$BATS_TEST_TMPDIR/sd.pt"
	"$PTFS" export "$BATS_TEST_TMPDIR/sd.pt" "$BATS_TEST_TMPDIR/same.safetensors" 2>/dev/null
	mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	MOUNTS+=("$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b")
	"$PTFS" "$BATS_TEST_TMPDIR/sd.pt" "$BATS_TEST_TMPDIR/a" 3>&-
	"$PTFS" "$BATS_TEST_TMPDIR/same.safetensors" "$BATS_TEST_TMPDIR/b" 3>&-
	cd "$BATS_TEST_TMPDIR"
	run diff -r -x .ptfs a b
	assert_success
	assert_output ""
	# what differs is the format's own: the globals report, safetensors' metadata, and the
	# manifest's order (pickle order against the header's)
	run diff -rq a b
	assert_failure 1
	assert_output "Files a/.ptfs/globals and b/.ptfs/globals differ
Files a/.ptfs/manifest and b/.ptfs/manifest differ
Only in b/.ptfs: metadata.json"
	run diff <(sort a/.ptfs/manifest) <(sort b/.ptfs/manifest)
	assert_success
}

@test ".ptfs/manifest: header, one line per tensor in tree order, effective locations" {
	mount_ckpt "$FIX/12_cuda_tags.pt"
	run cat "$MNT/.ptfs/manifest"
	assert_output "$(printf '%s\t' path dtype shape stride storage_offset saved_location location)bytes
$(printf 'fc1/weight\tfloat32\t[3,4]\t[4,1]\t0\tcuda:1\tcuda:1\t48')
$(printf 'fc1/bias\tfloat32\t[3]\t[1]\t0\tcuda:1\tcuda:1\t12')
$(printf 'fc2/weight\tfloat32\t[2,3]\t[3,1]\t0\tcuda:0\tcuda:0\t24')
$(printf 'fc2/bias\tfloat32\t[2]\t[1]\t0\tcuda:2\tcuda:2\t8')"
	echo 'map_location cuda:1=cpu' >"$MNT/.ptfs/control"
	setfattr -n user.pt.location -v cuda:3 "$MNT/fc2/bias"
	run cut -f1,7 "$MNT/.ptfs/manifest"
	assert_output "$(printf 'path\tlocation\nfc1/weight\tcpu\nfc1/bias\tcpu\nfc2/weight\tcuda:0\nfc2/bias\tcuda:3')"
	# views: their own stride and offset, every name of a tied tensor
	mount_ckpt "$FIX/04_views.pt"
	tensors=$(find "$MNT" -type f ! -path '*/.ptfs/*' | while read -r f; do
		getfattr -n user.pt.stride "$f" >/dev/null 2>&1 && echo "$f"
	done | wc -l)
	[ "$tensors" -gt 5 ]
	[ "$(($(wc -l <"$MNT/.ptfs/manifest") - 1))" -eq "$tensors" ]
	# every path is a file of the mount with that size
	tail -n +2 "$MNT/.ptfs/manifest" | while IFS=$'\t' read -r p _ _ _ _ _ _ bytes; do
		[ "$(stat -c %s "$MNT/$p")" = "$bytes" ] || { echo "$p: $bytes"; return 1; }
	done
}

@test "the .ptfs files report their real size: stat, tar and rsync copy them whole" {
	mount_ckpt "$FIX/17_demo.pt"
	local f
	for f in control globals manifest SHA256SUMS; do
		[ "$(stat -c %s "$MNT/.ptfs/$f")" = "$(cat "$MNT/.ptfs/$f" | wc -c)" ] || { echo "$f"; return 1; }
		[ "$(stat -c %s "$MNT/.ptfs/$f")" -gt 0 ]
	done
	mkdir "$BATS_TEST_TMPDIR/copy"
	tar -C "$MNT" -cf - .ptfs | tar -C "$BATS_TEST_TMPDIR/copy" -xf -
	for f in control globals manifest; do
		cmp "$MNT/.ptfs/$f" "$BATS_TEST_TMPDIR/copy/.ptfs/$f"
	done
	# the control file's size follows its content
	before=$(stat -c %s "$MNT/.ptfs/control")
	echo 'map_location cpu' >"$MNT/.ptfs/control"
	[ "$(stat -c %s "$MNT/.ptfs/control")" -eq $((before + 17)) ]
}

@test "hashes: user.pt.sha256 is sha256sum's, SHA256SUMS checks from the root, neither is listed" {
	mount_ckpt "$FIX/30_ctrl_keys.pt"
	local f
	while IFS= read -r -d '' f; do
		[ "$(getfattr --only-values -n user.pt.sha256 "$f")" = "$(sha256sum <"$f" | cut -c1-64)" ] || { echo "$f"; return 1; }
	done < <(find "$MNT" -type f ! -path '*/.ptfs/*' -print0)
	# names with backslashes are escaped as sha256sum escapes them
	run bash -c "cd '$MNT' && sha256sum -c .ptfs/SHA256SUMS"
	assert_success
	[ "${#lines[@]}" -eq "$(find "$MNT" -type f ! -path '*/.ptfs/*' | wc -l)" ]
	run grep -c '^\\' "$MNT/.ptfs/SHA256SUMS"
	[ "$output" -gt 0 ]
	# never read by accident: not in its folder's listing, nor in find, nor in getfattr -d
	run ls -A "$MNT/.ptfs"
	assert_output "control
globals
manifest"
	! find "$MNT" | grep -q SHA256SUMS
	! getfattr -R -d -m - "$MNT" 2>/dev/null | grep -q sha256
	run getfattr --only-values -n user.pt.sha256 "$MNT"
	assert_failure
	# equal objects saved twice: equal listings
	unmount_all
	two same
	cmp a/.ptfs/SHA256SUMS b/.ptfs/SHA256SUMS
	[ "$(getfattr --only-values -n user.pt.sha256 a/model/fc/weight)" = "$("$TORCH_PY" -c "
import hashlib, torch
t = torch.load('$PAIRS/same_a.pt')['model']['fc.weight']
print(hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest())")" ]
}
