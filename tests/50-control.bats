#!/usr/bin/env bats
# .ptfs/control and setfattr: torch's map_location rules, exactly.

load helpers

setup() {
	load_libs
	need_fuse
	CUDA="$FIX/12_cuda_tags.pt" # fc1.weight, fc1.bias: cuda:1; fc2.weight: cuda:0; fc2.bias: cuda:2
}

# locs: the effective location of fc1/weight fc1/bias fc2/weight fc2/bias
locs() {
	local f
	for f in fc1/weight fc1/bias fc2/weight fc2/bias; do
		printf '%s ' "$(getfattr --absolute-names --only-values -n user.pt.location "$MNT/$f")"
	done
}


@test "the control file: mode 0644, initial state" {
	mount_ckpt "$CUDA"
	[ "$(stat -c '%a %F %s' "$MNT/.ptfs/control")" = "644 regular file $(cat "$MNT/.ptfs/control" | wc -c)" ]
	run cat "$MNT/.ptfs/control"
	assert_output "# ptfs control: write commands, one per line (docs/control.md)
error: none
save: idle
source: unchanged"
	[ "$(locs)" = "cuda:1 cuda:1 cuda:0 cuda:2 " ]
}

@test "map_location TAG moves every storage (torch: map_location='cpu' / torch.device('cpu'))" {
	mount_ckpt "$CUDA"
	ctl "map_location cpu"
	[ "$(locs)" = "cpu cpu cpu cpu " ]
	[ "$(getfattr --only-values -n user.pt.saved_location "$MNT/fc1/weight")" = "cuda:1" ]
	ctl "map_location cuda:1"
	[ "$(locs)" = "cuda:1 cuda:1 cuda:1 cuda:1 " ]
}

@test "map_location A=B pairs match saved tags exactly, unmatched keep theirs" {
	mount_ckpt "$CUDA"
	ctl "map_location cuda:1=cuda:0 cuda:2=cpu"
	[ "$(locs)" = "cuda:0 cuda:0 cuda:0 cpu " ]
	ctl "map_location reset" "map_location cuda=cpu"
	[ "$(locs)" = "cuda:1 cuda:1 cuda:0 cuda:2 " ]
}

@test "later rule beats earlier; the first matching pair within a rule decides" {
	mount_ckpt "$CUDA"
	ctl "map_location cuda:1=cuda:0" "map_location cuda:1=cpu"
	[ "$(locs)" = "cpu cpu cuda:0 cuda:2 " ]
	ctl "map_location reset" "map_location cuda:0=mps /fc2/*=meta"
	[ "$(locs)" = "cuda:1 cuda:1 mps meta " ]
	run cat "$MNT/.ptfs/control"
	assert_line --index 1 "map_location cuda:0=mps /fc2/*=meta"
}

@test "path rules (ptfs's callable form): /glob=TAG on tensor paths" {
	mount_ckpt "$CUDA"
	ctl "map_location /fc1/*=cpu"
	[ "$(locs)" = "cpu cpu cuda:0 cuda:2 " ]
	ctl "map_location /*/bias=xla:0"
	[ "$(locs)" = "cpu xla:0 cuda:0 xla:0 " ]
	ctl "map_location /nothing/*=cpu"
	[ "$(locs)" = "cpu xla:0 cuda:0 xla:0 " ]
}

@test "setfattr overrides one storage and beats every rule; removexattr drops it" {
	mount_ckpt "$FIX/06_shared_views.pt" # first, second, mid: three views of one storage
	setfattr -n user.pt.location -v cuda:3 "$MNT/second"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/first")" = "cuda:3" ]
	[ "$(getfattr --only-values -n user.pt.location "$MNT/mid")" = "cuda:3" ]
	ctl "map_location cpu"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/first")" = "cuda:3" ]
	run cat "$MNT/.ptfs/control"
	assert_line "override 0 cuda:3 # /first"
	setfattr -x user.pt.location "$MNT/mid"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/first")" = "cpu" ]
	setfattr -n user.pt.location -v mps "$MNT/first"
	ctl "map_location reset"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/first")" = "cpu" ]
	run cat "$MNT/.ptfs/control"
	refute_line --partial "override"
}

@test "setfattr: invalid tags give EINVAL and change nothing" {
	mount_ckpt "$CUDA"
	for bad in cpu:0 cuda:-1 gpu cuda:01 CUDA "" "cuda:1 "; do
		run setfattr -n user.pt.location -v "$bad" "$MNT/fc1/weight"
		assert_failure
		assert_output --partial "Invalid argument"
	done
	[ "$(locs)" = "cuda:1 cuda:1 cuda:0 cuda:2 " ]
	run setfattr -n user.pt.dtype -v int8 "$MNT/fc1/weight"
	assert_output --partial "Read-only file system"
	run setfattr -n user.pt.location -v cpu "$MNT/fc1"
	assert_output --partial "Invalid argument"
}

@test "control: a write with any bad line fails with EINVAL and changes nothing" {
	mount_ckpt "$CUDA"
	ctl "map_location cuda:2=cpu"
	for bad in "map_location cpu:0" "map_location cuda:-1" "map_location gpu" "map_location" \
		"map_location cpu cuda:1=cpu" "map_location cuda:1=" "frobnicate" "save relative/x.pt" "save"; do
		run ctl "map_location cpu" "$bad"
		assert_failure
		assert_output --partial "Invalid argument"
		[ "$(locs)" = "cuda:1 cuda:1 cuda:0 cpu " ]
	done
	run cat "$MNT/.ptfs/control"
	assert_line --index 1 "map_location cuda:2=cpu"
	assert_line --index 2 "error: line 2: save needs an absolute path, got ''"
	run bash -c "echo 'map_location gpu' > '$MNT/.ptfs/control'"
	run cat "$MNT/.ptfs/control"
	assert_line --index 2 "error: line 1: map_location: 'gpu' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)"
	run bash -c "echo 'frobnicate now' > '$MNT/.ptfs/control'"
	run cat "$MNT/.ptfs/control"
	assert_line --index 2 "error: line 1: unknown command 'frobnicate' (map_location, save, export, wait, reload, materialize, release)"
	ctl "# a comment" "" "map_location reset"
	run cat "$MNT/.ptfs/control"
	assert_line --index 1 "error: none"
}

@test "concurrent writers are serialized: every rule lands, in some order" {
	mount_ckpt "$CUDA"
	for i in $(seq 20); do
		(printf 'map_location /fc1/*=cuda:%d\n' "$i" >"$MNT/.ptfs/control") &
	done
	wait
	run grep -c '^map_location /fc1/\*=cuda:' "$MNT/.ptfs/control"
	assert_output 20
	last=$(grep '^map_location' "$MNT/.ptfs/control" | tail -n 1 | sed 's/.*=//')
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc1/weight")" = "$last" ]
}

@test "-o map_location= applies rules at mount time (fstab), both forms" {
	mount_ckpt "$CUDA" -o map_location=cpu
	[ "$(locs)" = "cpu cpu cpu cpu " ]
	mount_ckpt "$CUDA" -o 'map_location=cuda:1=cuda:0;cuda:2=cpu'
	[ "$(locs)" = "cuda:0 cuda:0 cuda:0 cpu " ]
	mount_ckpt "$CUDA" -o map_location=cuda:1=cuda:0,map_location=/fc2/*=cpu
	[ "$(locs)" = "cuda:0 cuda:0 cpu cpu " ]
	run "$PTFS" -o map_location=gpu "$CUDA" "$BATS_TEST_TMPDIR"
	assert_failure 2
	assert_output "ptfs: -o map_location=gpu: map_location: 'gpu' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)"
}

# torch.load's documented map_location examples, each next to its ptfs command;
# the oracle asks torch itself where each storage goes (its default_restore_location
# records instead of moving) and compares with user.pt.location.
torch_agrees() {
	need_torch
	run "$TORCH_PY" "$ROOT/scripts/oracle.py" "--map-location=$1" "$MNT" "$CUDA"
	assert_success
	assert_output --regexp "oracle: [1-9][0-9]* compared, 0 mismatched$"
}

@test "torch example: torch.load(f) == map_location reset" {
	mount_ckpt "$CUDA"
	ctl "map_location cpu" "map_location reset"
	torch_agrees "None"
}

@test "torch example: map_location=torch.device('cpu') == map_location cpu" {
	mount_ckpt "$CUDA"
	ctl "map_location cpu"
	torch_agrees "torch.device('cpu')"
}

@test "torch example: map_location=lambda storage, loc: storage == map_location cpu" {
	mount_ckpt "$CUDA"
	ctl "map_location cpu"
	torch_agrees "lambda storage, loc: storage"
}

@test "torch example: map_location=lambda s, l: s.cuda(1) == map_location cuda:1" {
	mount_ckpt "$CUDA"
	ctl "map_location cuda:1"
	# torch cannot run .cuda(1) here; its string form is the same rule
	torch_agrees "'cuda:1'"
}

@test "torch example: map_location={'cuda:1': 'cuda:0'} == map_location cuda:1=cuda:0" {
	mount_ckpt "$CUDA"
	ctl "map_location cuda:1=cuda:0"
	torch_agrees "{'cuda:1': 'cuda:0'}"
	ctl "map_location reset" "map_location cuda:1=cuda:0 cuda:2=cpu"
	torch_agrees "{'cuda:1': 'cuda:0', 'cuda:2': 'cpu'}"
}

@test "torch example: a file object (io.BytesIO) is the same file: reset agrees with torch" {
	mount_ckpt "$FIX/13_legacy_cuda.pt"
	need_torch
	run "$TORCH_PY" "$ROOT/scripts/oracle.py" "--map-location=None" "$MNT" "$FIX/13_legacy_cuda.pt"
	assert_output --regexp "oracle: [1-9][0-9]* compared, 0 mismatched$"
	echo 'map_location cuda:0=cpu' >"$MNT/.ptfs/control"
	run "$TORCH_PY" "$ROOT/scripts/oracle.py" "--map-location={'cuda:0': 'cpu'}" "$MNT" "$FIX/13_legacy_cuda.pt"
	assert_output --regexp "oracle: [1-9][0-9]* compared, 0 mismatched$"
}

@test "control: one write(2) longer than the kernel passes whole changes nothing (EMSGSIZE)" {
	mount_ckpt "$CUDA"
	ctl "map_location cuda:2=cpu"
	# 100,000 lines, 2.7 MB, in one write: the kernel would hand it over in pieces
	run "$TORCH_PY" - "$MNT/.ptfs/control" <<-'EOF'
		import os, sys
		fd = os.open(sys.argv[1], os.O_WRONLY)
		for n in (100000, 38685):  # 2.7 MB, and 15 bytes over the limit
		    buf = b"map_location cuda:1=cuda:0\n" * n
		    try:
		        os.write(fd, buf)
		        print(n, "written")
		    except OSError as e:
		        print(n, e.strerror)
		n = 1044480 // 27  # at the limit
		print(n, os.write(fd, b"map_location cuda:1=cuda:0\n" * n))
	EOF
	assert_output "100000 Message too long
38685 Message too long
38684 1044468"
	[ "$(locs)" = "cuda:0 cuda:0 cuda:0 cpu " ]
	run cat "$MNT/.ptfs/control"
	assert_line --index 1 "map_location cuda:2=cpu"
	assert_line "error: none"
	# only the last write's lines were applied
	[ "$(grep -c '^map_location cuda:1=cuda:0$' <<<"$output")" -eq 38684 ]
	# the refusal names the limit
	run "$TORCH_PY" -c "import os; os.write(os.open('$MNT/.ptfs/control', os.O_WRONLY), b'map_location cpu\n' * 70000)"
	assert_failure
	[ "$(locs)" = "cuda:0 cuda:0 cuda:0 cpu " ]
	run cat "$MNT/.ptfs/control"
	assert_line "error: a write of over 1044480 bytes may be split by the kernel; nothing was applied: write at most 1044480 bytes of whole lines at a time"
}
