#!/usr/bin/env bats
# The oracle: every file of a mount equals what Debian's torch 1.13 loads
# (scripts/oracle.py follows user.pt.key into torch.load's result).

load helpers

setup() {
	load_libs
	need_fuse
	need_torch
}

# oracle FILE [--full]: mounts FILE, runs the oracle, adds to $COMPARED.
oracle() {
	local f="$1"
	shift
	mount_ckpt "$f"
	run "$TORCH_PY" "$ROOT/scripts/oracle.py" "$@" --dirs "$MNT" "$f"
	echo "$output" >&3 2>/dev/null || true
	assert_success
	assert_output --regexp "oracle: [1-9][0-9]* compared, 0 mismatched$"
	COMPARED=$((COMPARED + $(sed -nE 's/.*oracle: ([0-9]+) compared.*/\1/p' <<<"$output")))
	unmount_all
}

@test "oracle: every fixture equals torch.load's result" {
	COMPARED=0
	n=0
	while IFS=$'\t' read -r name wo _; do
		# ts: the oracle loads a TorchScript archive with torch.jit.load
		# --hashes: user.pt.sha256 of every tensor is hashlib's of torch's bytes
		if [ "$wo" = wo ] || [ "$wo" = ts ]; then oracle "$FIX/$name" --hashes; else oracle "$FIX/$name" --full --hashes; fi
		n=$((n + 1))
	done <"$FIX/MANIFEST.tsv"
	[ "$n" -ge 21 ]
	[ "$COMPARED" -ge 250 ]
}

@test "oracle: every real-world file that torch loads with weights_only=True" {
	need_shared
	# which files torch 1.13 loads with weights_only=True: asked of torch, then
	# checked against the list we expect, so a file can never drop out silently
	# (TorchScript archives are left out: torch 1.13 hands them to torch.jit.load
	# whatever weights_only says, and 40-realworld.bats reads them)
	run "$TORCH_PY" - "$SHARED/realworld" <<'PY'
import os, sys, warnings, zipfile, torch
warnings.simplefilter("ignore")
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    p = os.path.join(d, n)
    if n.endswith(".md"):
        continue
    if zipfile.is_zipfile(p) and any(i.endswith("/constants.pkl") for i in zipfile.ZipFile(p).namelist()):
        continue
    try:
        torch.load(os.path.join(d, n), map_location="cpu", weights_only=True)
        print(n)
    except Exception:
        pass
PY
	assert_success
	assert_output "legacy_allennlp_best_gpu.th
legacy_burn_shared_storage.pt
legacy_burn_with_offsets.pt
legacy_picklejl_linear_state.bin
legacy_picklejl_offset_strides.bin
zip1x_allennlp_best.th
zip1x_mlverse_ordered_dict.pt
zip21_burn_batch_norm2d.pt
zip21_candle_fortran_tensor_3d.pth
zip21_candle_test.pt
zip27_burn_bfloat16.pt
zip27_burn_parameter.pt"
	files=$output
	COMPARED=0
	for n in $files; do
		oracle "$SHARED/realworld/$n"
	done
	[ "$COMPARED" -ge 38 ]
}

@test "oracle: every key of every real-world TorchScript archive that torch.jit.load reads" {
	need_shared
	# which archives torch 1.13's jit.load reads, asked of torch and checked
	# against the list we expect (ts_v1_tchrs_foo_modeljson.pt, the model.json
	# layout of torch 1.0/1.1, is refused: "Legacy model format is not
	# supported on mobile"; 40-realworld.bats reads it)
	run "$TORCH_PY" - "$SHARED/realworld" <<'PY'
import os, sys, warnings, zipfile, torch
warnings.simplefilter("ignore")
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    p = os.path.join(d, n)
    if not (zipfile.is_zipfile(p) and any(i.endswith("/constants.pkl") for i in zipfile.ZipFile(p).namelist())):
        continue
    try:
        torch.jit.load(p, map_location="cpu")
        print(n)
    except Exception:
        pass
PY
	assert_success
	assert_output "ts_21_mlverse_linear.pt
ts_v3_tchrs_foo.pt"
	files=$output
	COMPARED=0
	for n in $files; do
		oracle "$SHARED/realworld/$n"
	done
	[ "$COMPARED" -ge 5 ]
}

@test "oracle: TorchScript keys are evaluated on torch.jit.load's module (a wrong one fails)" {
	# the oracle follows .__getattr__('0') and would refuse the old
	# .__dict__['0'], which a RecursiveScriptModule does not answer
	run "$TORCH_PY" - "$FIX/31_script_seq.pt" <<'PY'
import sys, warnings
sys.path.insert(0, "scripts")
warnings.simplefilter("ignore")
import torch, oracle
m = torch.jit.load(sys.argv[1], map_location="cpu")
w = oracle.follow(m, oracle.parse_key(".deep.__getattr__('0').__getattr__('1').__getattr__('0').weight"))
print(list(w.shape), w is m.deep._modules['0']._modules['1']._modules['0'].weight)
try:
    oracle.follow(m, oracle.parse_key(".proj.__dict__['0']"))
except KeyError:
    print("__dict__ refused")
PY
	assert_success
	assert_output "[1, 2] True
__dict__ refused"
}

@test "oracle: a mismatch is caught (the oracle can fail)" {
	# a mount of one fixture checked against another must not pass
	mount_ckpt "$FIX/17_demo.pt"
	run "$TORCH_PY" "$ROOT/scripts/oracle.py" "$MNT" "$FIX/12_cuda_tags.pt"
	assert_failure
	assert_output --partial "mismatched"
}
