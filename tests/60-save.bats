#!/usr/bin/env bats
# `save PATH`: a remapped checkpoint in torch's zip layout that torch.load
# accepts with no map_location, written atomically.

load helpers

setup() {
	load_libs
	need_fuse
	need_torch
	OUT="$BATS_TEST_TMPDIR/out"
	mkdir -p "$OUT"
}


# check FILE SAVED [--full]: layout, pickle diff and torch equality (scripts/check-save.py)
check() {
	run "$TORCH_PY" "$ROOT/scripts/check-save.py" "${@:3}" "$1" "$2"
	echo "$output" | tail -n 3 >&3 2>/dev/null || true
	assert_success
	assert_line "check-save: ok"
}

no_temp_files() {
	[ -z "$(ls -A "$1" | grep -v -x -F "$(basename "${2:-/nonexistent}")")" ]
}

@test "the seed: a GPU checkpoint fails in torch here, and loads after rules and save" {
	run "$TORCH_PY" -c "import torch; torch.load('$FIX/12_cuda_tags.pt')"
	assert_failure
	assert_output --partial "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False"
	mount_ckpt "$FIX/12_cuda_tags.pt"
	ctl "map_location cuda:1=cuda:0 cuda:2=cpu"
	setfattr -n user.pt.location -v cpu "$MNT/fc2/bias"
	ctl "map_location cpu"
	ctl "save $OUT/model_cpu.pt" wait
	run cat "$MNT/.ptfs/control"
	assert_line --regexp "^save: done $OUT/model_cpu.pt 92 bytes in [0-9.]+ s$"
	assert_line "error: none"
	run "$TORCH_PY" -c "import torch; sd = torch.load('$OUT/model_cpu.pt'); print(list(sd), {t.device.type for t in sd.values()})"
	assert_success
	assert_output "['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'] {'cpu'}"
	check "$FIX/12_cuda_tags.pt" "$OUT/model_cpu.pt"
	no_temp_files "$OUT" model_cpu.pt
}

@test "saved tags are the effective locations; only they change in the pickle" {
	mount_ckpt "$FIX/12_cuda_tags.pt"
	ctl "map_location cuda:1=cuda:3" "save $OUT/remapped.pt" wait
	setfattr -n user.pt.location -v cpu "$MNT/fc2/weight"
	ctl "save $OUT/remapped2.pt" wait
	mount_ckpt "$OUT/remapped.pt"
	for f in fc1/weight fc1/bias fc2/weight fc2/bias; do
		printf '%s ' "$(getfattr --only-values -n user.pt.saved_location "$MNT/$f")"
	done >"$BATS_TEST_TMPDIR/tags"
	[ "$(cat "$BATS_TEST_TMPDIR/tags")" = "cuda:3 cuda:3 cuda:0 cuda:2 " ]
	mount_ckpt "$OUT/remapped2.pt"
	[ "$(getfattr --only-values -n user.pt.saved_location "$MNT/fc2/weight")" = cpu ]
	[ "$(getfattr --only-values -n user.pt.saved_location "$MNT/fc1/weight")" = cuda:3 ]
	run "$TORCH_PY" "$ROOT/scripts/check-save.py" "$FIX/12_cuda_tags.pt" "$OUT/remapped2.pt"
	# fc1's two ids share one memoized 'cuda:1' (both now cuda:3), fc2.weight's
	# own literal is cpu, fc2.bias is untouched; nothing else differs
	assert_line --regexp "pickle: [0-9]+ opcodes, 3 location strings rewritten"
	refute_line --partial "became"
}

@test "every fixture: map_location cpu, save, torch.load equals the original" {
	local n=0 name wo
	while IFS=$'\t' read -r name wo _; do
		[ "$wo" = ts ] && continue # save refuses TorchScript (tested below)
		mount_ckpt "$FIX/$name"
		ctl "map_location cpu" "save $OUT/$name" wait
		unmount_all
		if [ "$wo" = wo ]; then check "$FIX/$name" "$OUT/$name"; else check "$FIX/$name" "$OUT/$name" --full; fi
		n=$((n + 1))
	done <"$FIX/MANIFEST.tsv"
	[ "$n" -ge 18 ]
}

@test "every real-world file torch loads with weights_only: save and compare" {
	need_shared
	local n=0 f
	for f in legacy_allennlp_best_gpu.th legacy_burn_shared_storage.pt legacy_burn_with_offsets.pt \
		legacy_picklejl_linear_state.bin legacy_picklejl_offset_strides.bin zip1x_allennlp_best.th \
		zip1x_mlverse_ordered_dict.pt zip21_burn_batch_norm2d.pt zip21_candle_fortran_tensor_3d.pth \
		zip21_candle_test.pt zip27_burn_bfloat16.pt zip27_burn_parameter.pt; do
		mount_ckpt "$SHARED/realworld/$f"
		ctl "map_location cpu" "save $OUT/$f" wait
		unmount_all
		check "$SHARED/realworld/$f" "$OUT/$f"
		n=$((n + 1))
	done
	[ "$n" -eq 12 ]
}

@test "save errors: relative, missing folder, read-only folder, the source itself, TorchScript" {
	mount_ckpt "$FIX/17_demo.pt"
	run ctl "save relative/x.pt"
	assert_output --partial "Invalid argument"
	run ctl "save $OUT/missing/x.pt"
	assert_output --partial "No such file or directory"
	run cat "$MNT/.ptfs/control"
	assert_line "error: save: $OUT/missing: No such file or directory"
	run cat "$MNT/.ptfs/control"
	assert_line "save: failed $OUT/missing/x.pt: save: $OUT/missing: No such file or directory"
	# that save never started: a wait has nothing to report and succeeds
	ctl wait
	run cat "$MNT/.ptfs/control"
	assert_line "error: none"
	run ctl "save $FIX/17_demo.pt"
	assert_output --partial "Invalid argument"
	run cat "$MNT/.ptfs/control"
	assert_line "error: save: $FIX/17_demo.pt is the mounted checkpoint; choose another path"
	ro="$BATS_TEST_TMPDIR/ro"
	mkdir -p "$ro"
	if mount -t tmpfs -o ro tmpfs "$ro" 2>/dev/null; then
		run ctl "save $ro/x.pt"
		umount "$ro"
		assert_output --partial "Read-only file system"
	fi
	run ctl "save /proc/x.pt"
	assert_failure
	assert_output --partial "Operation not supported"
	run cat "$MNT/.ptfs/control"
	assert_line "error: save: cannot create a file in /proc: its filesystem (type 0x9fa0) makes no new files: Operation not supported"
	no_temp_files "$OUT"
	need_shared
	mount_ckpt "$SHARED/realworld/ts_21_mlverse_linear.pt"
	run ctl "save $OUT/ts.pt"
	assert_output --partial "Operation not supported"
	no_temp_files "$OUT"
}

@test "a failed save leaves PATH as it was and no temporary file" {
	small="$BATS_TEST_TMPDIR/small"
	mkdir -p "$small"
	mount -t tmpfs -o size=64k tmpfs "$small" 2>/dev/null || skip "cannot mount a tmpfs here"
	TMPFS+=("$small")
	echo old >"$small/model.pt"
	mount_ckpt "$FIX/01_dtypes.pt" # 9.9 KB: fits
	ctl "save $small/model.pt" wait
	"$TORCH_PY" -c "import torch; torch.load('$small/model.pt', weights_only=True)"
	echo old >"$small/model.pt"
	head -c 50000 /dev/zero >"$small/filler"
	run ctl "save $small/model.pt" wait
	assert_output --partial "No space left on device"
	[ "$(cat "$small/model.pt")" = old ]
	[ "$(ls -A "$small" | sort | tr '\n' ' ')" = "filler model.pt " ]
	umount "$small"
}

big_checkpoint() {
	BIG="$BATS_TEST_TMPDIR/big.pt"
	"$TORCH_PY" "$ROOT/scripts/make-big.py" "$BIG" --gib 0.75 --tensors 2 >/dev/null
}

# wait_running: polls the control file until a save is running (10 s at most)
wait_running() {
	local i
	for i in $(seq 1000); do
		grep -q '^save: running' "$MNT/.ptfs/control" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

@test "a long save: progress readable, a second save gets EBUSY, rules may change meanwhile" {
	big_checkpoint
	mount_ckpt "$BIG"
	ctl "map_location cuda:0"
	# the write returns at once, the close when the save has ended: in the background
	ctl "save $OUT/big1.pt" &
	saver=$!
	wait_running
	run grep '^save: running' "$MNT/.ptfs/control"
	assert_output --regexp "^save: running $OUT/big1.pt [0-9]+/805306368 bytes \([0-9]+%\)( [0-9.]+ [KMGTPE]?i?B/s(, [0-9]+ (s|min [0-9]+ s|h [0-9]+ min) left)?)?$"
	run ctl "save $OUT/big2.pt"
	assert_output --partial "Device or resource busy"
	ctl "map_location cpu"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/layer0/weight")" = cpu ]
	wait "$saver" # its close reported success
	ctl wait
	run cat "$MNT/.ptfs/control"
	assert_line --regexp "^save: done $OUT/big1.pt 805306368 bytes in [0-9.]+ s$"
	assert_line "error: none"
	[ ! -e "$OUT/big2.pt" ]
	# the save kept the locations it started with
	mount_ckpt "$OUT/big1.pt"
	[ "$(getfattr --only-values -n user.pt.saved_location "$MNT/layer0/weight")" = cuda:0 ]
	no_temp_files "$OUT" big1.pt
}

@test "SIGKILL in the middle of a save leaves neither PATH nor a temporary file" {
	big_checkpoint
	mount_ckpt "$BIG"
	ctl "save $OUT/killed.pt" &
	wait_running
	pkill -KILL -f "$PTFS $BIG $MNT"
	wait || true # the writer's close fails: its daemon is gone
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
	[ ! -e "$OUT/killed.pt" ]
	[ -z "$(ls -A "$OUT")" ]
}

@test "save timing: cp of the same file, side by side (printed, not asserted)" {
	big_checkpoint
	mount_ckpt "$BIG"
	t0=$(date +%s.%N)
	ctl "save $OUT/timed.pt" wait
	t1=$(date +%s.%N)
	cp "$BIG" "$OUT/cp.pt"
	sync "$OUT/cp.pt"
	t2=$(date +%s.%N)
	echo "# save $(echo "$t1 - $t0" | bc) s, cp+sync $(echo "$t2 - $t1" | bc) s for $(stat -c %s "$BIG") bytes" >&3
	[ "$(stat -c %s "$OUT/timed.pt")" -gt 805306368 ]
}

@test "save never replaces what is not a regular file: devices, FIFOs, sockets, folders" {
	mount_ckpt "$FIX/17_demo.pt"
	mkfifo "$OUT/fifo"
	"$TORCH_PY" -c "import socket; socket.socket(socket.AF_UNIX).bind('$OUT/sock')"
	mkdir "$OUT/dir"
	ln -s /dev/null "$OUT/to_null"
	local before
	before=$(stat -c '%F %t:%T' /dev/null)
	for t in "/dev/null:a character device:File exists" "$OUT/fifo:a FIFO:File exists" \
		"$OUT/sock:a socket:File exists" "$OUT/dir:a folder:Is a directory"; do
		IFS=: read -r path kind why <<<"$t"
		run ctl "save $path"
		assert_failure
		assert_output --partial "$why"
		run cat "$MNT/.ptfs/control"
		assert_line "error: save: $path is $kind; a save replaces only a regular file: $why"
		assert_line "save: failed $path: save: $path is $kind; a save replaces only a regular file: $why"
	done
	run ctl "save $OUT/to_null"
	assert_failure
	run cat "$MNT/.ptfs/control"
	assert_line "error: save: $OUT/to_null links to /dev/null, a character device; a save replaces only a regular file: File exists"
	[ "$(stat -c '%F %t:%T' /dev/null)" = "$before" ]
	[ -p "$OUT/fifo" ] && [ -S "$OUT/sock" ] && [ -d "$OUT/dir" ] && [ -L "$OUT/to_null" ]
	[ -z "$(ls -A "$OUT/dir")" ]
	[ "$(ls -A "$OUT" | sort | tr '\n' ' ')" = "dir fifo sock to_null " ]
	# none of these started a save: wait succeeds at once
	ctl wait
}

@test "save through a symbolic link replaces its target atomically; the link stays" {
	mount_ckpt "$FIX/17_demo.pt"
	mkdir "$OUT/real"
	echo old >"$OUT/real/model.pt"
	ln -s real/model.pt "$OUT/link.pt"
	ln -s "$OUT/link.pt" "$OUT/link2.pt"
	ctl "save $OUT/link2.pt" wait
	[ -L "$OUT/link.pt" ] && [ -L "$OUT/link2.pt" ]
	[ "$(readlink "$OUT/link2.pt")" = "$OUT/link.pt" ]
	"$TORCH_PY" -c "import torch; assert torch.load('$OUT/real/model.pt', map_location='cpu')['epoch'] == 12"
	[ "$(ls -A "$OUT/real")" = model.pt ]
	# a dangling link: its target is created
	ln -s real/new.pt "$OUT/dangling.pt"
	ctl "save $OUT/dangling.pt" wait
	[ -L "$OUT/dangling.pt" ]
	"$TORCH_PY" -c "import torch; assert torch.load('$OUT/dangling.pt', map_location='cpu')['epoch'] == 12"
	[ "$(ls -A "$OUT/real" | sort | tr '\n' ' ')" = "model.pt new.pt " ]
}

@test "a save returns when the file is durable: the close reports its failure, once" {
	small="$BATS_TEST_TMPDIR/small"
	mkdir -p "$small"
	mount -t tmpfs -o size=8k tmpfs "$small" 2>/dev/null || skip "cannot mount a tmpfs here"
	TMPFS+=("$small")
	mount_ckpt "$FIX/17_demo.pt"
	# the seed's flow in two commands: no wait, and the file is there when echo returns
	echo "save $OUT/sync.pt" >"$MNT/.ptfs/control"
	"$TORCH_PY" -c "import torch; assert torch.load('$OUT/sync.pt', map_location='cpu')['epoch'] == 12"
	no_temp_files "$OUT" sync.pt
	unmount_all
	mount_ckpt "$FIX/01_dtypes.pt"
	# with wait in the same write, the write fails; without, the close does
	run ctl "save $small/model.pt" wait
	assert_failure
	assert_output "dd: error writing '$MNT/.ptfs/control': No space left on device"
	ctl wait
	run ctl "save $small/model.pt"
	assert_failure
	assert_output --partial "closing output file"
	assert_output --partial "No space left on device"
	run cat "$MNT/.ptfs/control"
	assert_line "error: failed $small/model.pt: writing the zip: No space left on device"
	# reported once: a later wait has nothing to report
	ctl wait
	run cat "$MNT/.ptfs/control"
	assert_line "error: none"
	# a wait for a save another writer started reports it to both
	big="$BATS_TEST_TMPDIR/big.pt"
	"$TORCH_PY" "$ROOT/scripts/make-big.py" "$big" --gib 0.25 --tensors 1 >/dev/null
	unmount_all
	mount_ckpt "$big"
	ctl "save $OUT/bg.pt" 3>&- &
	wait_running
	ctl wait
	wait $!
	[ -s "$OUT/bg.pt" ]
	umount "$small"
}

@test "a save's close interrupted by a signal returns EINTR; the save goes on and wait reports it" {
	big_checkpoint
	mount_ckpt "$BIG"
	"$TORCH_PY" - "$MNT/.ptfs/control" "$OUT/intr.pt" >"$BATS_TEST_TMPDIR/py.out" 2>&1 <<-'EOF' &
		import os, signal, sys, time
		signal.signal(signal.SIGALRM, lambda *a: None)  # a handled signal: the close is interrupted
		fd = os.open(sys.argv[1], os.O_WRONLY)
		os.write(fd, ("save %s\n" % sys.argv[2]).encode())
		signal.setitimer(signal.ITIMER_REAL, 0.05)
		try:
		    os.close(fd)
		    print("closed")
		except OSError as e:
		    print("close:", e.strerror)
	EOF
	py=$!
	wait "$py"
	run cat "$BATS_TEST_TMPDIR/py.out"
	assert_output "close: Interrupted system call"
	ctl wait
	"$TORCH_PY" -c "import torch; torch.load('$OUT/intr.pt', map_location='cpu')"
}
