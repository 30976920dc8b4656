#!/usr/bin/env bats
# docs/gpu.md's promises to consumers, against the driver's test double (tests/cuda,
# build/cuda/libcuda.so.1): the walk-through, the text forms of the control file and the
# xattrs, OFFSET and SIZE of views, one handle per storage, the device found by PCI bus id,
# the C consumer of docs/examples built against the toolkit's cuda.h, build/ptfs-ipc-read
# (its strict parsing needs no daemon), and scripts/gpu-check.sh end to end. The daemon is
# started with LD_LIBRARY_PATH=build/cuda, so it loads the double at the first GPU command;
# every mount is unmounted in teardown, and the double's count of live allocations must be
# back to 0 after release and unmount.
load helpers

FAKE_LIB="$ROOT/build/cuda"
IPCREAD="$ROOT/build/ptfs-ipc-read"

setup() {
	load_libs
}

need_fake() {
	[ -e "$FAKE_LIB/libcuda.so.1" ] || skip "no test double (make fakecuda)"
	[ -x "$IPCREAD" ] || skip "no build/ptfs-ipc-read (make all)"
}

# use_fake [DEVICES]: the double for every process started from here on. Each process
# rewrites the double's state file with its own counts, so consumers write theirs apart and
# DAEMON_STATE is the daemon's alone (mount_gpu).
use_fake() {
	export LD_LIBRARY_PATH="$FAKE_LIB" PTFS_FAKE_CUDA_DEVICES="${1:-1}" PTFS_FAKE_CUDA_MEM=256M
	export PTFS_FAKE_CUDA_STATE="$BATS_TEST_TMPDIR/consumer-state"
	DAEMON_STATE="$BATS_TEST_TMPDIR/daemon-state"
}

# mount_gpu FILE: mounts FILE (with the double after use_fake); skips where the daemon has no
# GPU commands yet (a `release` of nothing, which loads no driver, is refused as unknown)
mount_gpu() {
	PTFS_FAKE_CUDA_STATE="${DAEMON_STATE:-}" mount_ckpt "$1"
	echo release 2>/dev/null >"$MNT/.ptfs/control" || skip "this daemon has no GPU commands"
}

# live_is N: the daemon's count of live allocations in the double reaches N (the daemon may
# still be exiting)
live_is() {
	local i
	for i in $(seq 50); do
		grep -qx "live $1" "$DAEMON_STATE" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "the daemon's live allocations: $(grep '^live' "$DAEMON_STATE" 2>&1), not $1" >&2
	return 1
}

# span FILE: OFFSET and SIZE as docs/gpu.md defines them, from the file's other xattrs
span() {
	local f="$1" es shape stride off n=1 i
	case "$(getfattr --absolute-names --only-values -n user.pt.dtype "$f")" in
	complex128) es=16 ;; float64 | int64 | complex64) es=8 ;; float32 | int32) es=4 ;; float16 | bfloat16 | int16) es=2 ;; *) es=1 ;;
	esac
	read -r -a shape <<<"$(getfattr --absolute-names --only-values -n user.pt.shape "$f" | tr -d '[]' | tr , ' ')"
	read -r -a stride <<<"$(getfattr --absolute-names --only-values -n user.pt.stride "$f" | tr -d '[]' | tr , ' ')"
	off=$(getfattr --absolute-names --only-values -n user.pt.storage_offset "$f")
	for i in "${!shape[@]}"; do
		[ "${shape[$i]}" = 0 ] && n=0 && break
		n=$((n + (shape[i] - 1) * stride[i]))
	done
	echo "$((off * es)) $((n * es))"
}

@test "ptfs-ipc-read: usage; a file that is not resident; a missing file" {
	[ -x "$IPCREAD" ] || skip "no build/ptfs-ipc-read"
	run "$IPCREAD"
	assert_failure 2
	assert_output "usage: ptfs-ipc-read [--sha256] FILE..."
	f="$BATS_TEST_TMPDIR/t"
	echo x >"$f"
	run "$IPCREAD" "$f"
	assert_failure 1
	assert_output "ptfs-ipc-read: $f: no user.pt.cuda_ipc: not resident on a GPU (materialize it first)"
	run "$IPCREAD" "$f.none"
	assert_failure 1
	assert_output "ptfs-ipc-read: $f.none: user.pt.cuda_ipc: No such file or directory"
}

@test "ptfs-ipc-read: a malformed user.pt.cuda_ipc is refused, field by field, before any driver" {
	[ -x "$IPCREAD" ] || skip "no build/ptfs-ipc-read"
	f="$BATS_TEST_TMPDIR/t"
	echo x >"$f"
	setfattr -n user.pt.x -v 1 "$f" 2>/dev/null || skip "no user xattrs on $BATS_TEST_TMPDIR"
	h=$(printf '%0128d' 0)
	bad() {
		setfattr -n user.pt.cuda_ipc -v "$1" "$f"
		run env LD_LIBRARY_PATH=/nonexistent "$IPCREAD" "$f"
		assert_failure 1
		assert_output "ptfs-ipc-read: $f: bad user.pt.cuda_ipc: $2"
	}
	bad "cuda:0 0000:18:00.0 $h 0 4 " "not 5 fields separated by single spaces"
	bad "cuda:0  0000:18:00.0 $h 0 4" "not 5 fields separated by single spaces"
	bad "cuda:0 0000:18:00.0 $h 0" "not 5 fields separated by single spaces"
	bad "gpu:0 0000:18:00.0 $h 0 4" "field 1 'gpu:0' is not cuda:N"
	bad "cuda:01 0000:18:00.0 $h 0 4" "field 1 'cuda:01' is not cuda:N"
	bad "cuda:0 18:00.0 $h 0 4" "field 2 '18:00.0' is not a PCI bus id (DDDD:BB:DD.F)"
	bad "cuda:0 0000:18:00.0 ${h}0 0 4" "field 3 is 129 characters, not the handle's 128 hex digits"
	bad "cuda:0 0000:18:00.0 ${h%0}A 0 4" "field 3 has a character that is not lower-case hex"
	bad "cuda:0 0000:18:00.0 $h -1 4" "field 4 '-1' is not a byte offset"
	bad "cuda:0 0000:18:00.0 $h 0 4x" "field 5 '4x' is not a byte size"
	bad "cuda:0 0000:18:00.0 $h 8 18446744073709551615" "field 5 '18446744073709551615' is not a byte size"
}

@test "ptfs-ipc-read: no driver; a bus id this process does not have" {
	need_fake
	f="$BATS_TEST_TMPDIR/t"
	echo x >"$f"
	setfattr -n user.pt.cuda_ipc -v "cuda:3 0000:7f:00.0 $(printf '%0128d' 0) 0 1" "$f" 2>/dev/null ||
		skip "no user xattrs on $BATS_TEST_TMPDIR"
	if ! ldconfig -p | grep -q 'libcuda\.so\.1 '; then
		run env LD_LIBRARY_PATH=/nonexistent "$IPCREAD" "$f"
		assert_failure 1
		assert_output --partial "ptfs-ipc-read: $f: no CUDA driver"
	fi
	use_fake 2
	run "$IPCREAD" "$f"
	assert_failure 1
	assert_output "ptfs-ipc-read: $f: no device with PCI bus id 0000:7f:00.0 among this process's 2 (the mount's cuda:3; is it hidden by CUDA_VISIBLE_DEVICES?)"
}

@test "docs/gpu.md: the walk-through, with the double; the text forms of the control file and the xattrs" {
	need_fuse
	need_fake
	use_fake
	cd "$BATS_TEST_TMPDIR"
	cp "$FIX/17_demo.pt" model.pt
	mount_gpu model.pt
	# mount_gpu's release needed no driver
	assert_equal "$(grep '^gpu:' "$MNT/.ptfs/control")" "gpu: not loaded"
	[ ! -e "$DAEMON_STATE" ]
	run getfattr --absolute-names --only-values -n user.pt.resident "$MNT/layer1/weight"
	assert_output file
	echo 'map_location cuda:0' >"$MNT/.ptfs/control"
	echo 'materialize' >"$MNT/.ptfs/control"
	run cat "$MNT/.ptfs/control"
	assert_line --regexp '^gpu: 1 device, driver 12\.4$'
	assert_line --regexp '^resident cuda:0: 2 storages, 60 bytes \(60 B\), .*, 0000:00:00\.0$'
	assert_line --regexp '^materialize: done 2 storages, 60 bytes \(60 B\) in [0-9.]+ s, [0-9.]+ GB/s; .*0 skipped \(not on a cuda location\)$'
	for t in layer1/weight layer1/bias; do
		assert_equal "$(getfattr --absolute-names --only-values -n user.pt.resident "$MNT/$t")" cuda:0
		v=$(getfattr --absolute-names --only-values -n user.pt.cuda_ipc "$MNT/$t")
		[[ "$v" =~ ^cuda:0\ 0000:00:00\.0\ [0-9a-f]{128}\ 0\ ([0-9]+)$ ]]
		assert_equal "${BASH_REMATCH[1]}" "$(stat -c %s "$MNT/$t")"
		cmp "$MNT/$t" <("$PTFS" cat model.pt "$t")
		"$IPCREAD" "$MNT/$t" | cmp - "$MNT/$t"
	done
	# the two storages have their own allocations
	[ "$(getfattr --absolute-names --only-values -n user.pt.cuda_ipc "$MNT/layer1/weight" | cut -d' ' -f3)" != \
		"$(getfattr --absolute-names --only-values -n user.pt.cuda_ipc "$MNT/layer1/bias" | cut -d' ' -f3)" ]
	live_is 2
	echo 'release' >"$MNT/.ptfs/control"
	assert_equal "$(getfattr --absolute-names --only-values -n user.pt.resident "$MNT/layer1/weight")" file
	run getfattr --absolute-names -n user.pt.cuda_ipc "$MNT/layer1/weight"
	assert_failure
	assert_output --partial "user.pt.cuda_ipc: No such attribute" # ENODATA
	run grep '^resident' "$MNT/.ptfs/control"
	assert_failure
	live_is 0
	# unmount frees what is resident
	echo 'materialize /layer1/b*' >"$MNT/.ptfs/control"
	live_is 1
	fusermount3 -u "$MNT"
	live_is 0
}

@test "docs/examples/ipc-consumer.c builds against cuda.h and reads a tensor through the double" {
	need_fuse
	need_fake
	[ -e /usr/local/cuda/include/cuda.h ] || skip "no /usr/local/cuda/include/cuda.h"
	cc -Wall -Wextra -Werror -I/usr/local/cuda/include "$ROOT/docs/examples/ipc-consumer.c" \
		-L "$FAKE_LIB" -l:libcuda.so.1 -o "$BATS_TEST_TMPDIR/ipc-consumer"
	use_fake
	mount_gpu "$FIX/06_shared_views.pt"
	echo 'map_location cuda:0' >"$MNT/.ptfs/control"
	echo 'materialize /mid' >"$MNT/.ptfs/control"
	# three views of one storage: one allocation, one handle, each its own OFFSET
	live_is 1
	for t in first second mid; do
		"$BATS_TEST_TMPDIR/ipc-consumer" "$MNT/$t" "$BATS_TEST_TMPDIR/$t.bin"
		cmp "$BATS_TEST_TMPDIR/$t.bin" "$MNT/$t"
	done
	run "$BATS_TEST_TMPDIR/ipc-consumer" "$MNT/second"
	assert_success
	assert_output --regexp '^device 0 \(0000:00:00\.0\): 24 bytes at offset 24, fnv1a64 [0-9a-f]{16}$'
	# the consumer closed its handles: release frees, nothing is left open
	echo 'release' >"$MNT/.ptfs/control"
	live_is 0
	# and the consumer's own count of open handles, written as it closed the last
	grep -qx 'ipc_open 0' "$PTFS_FAKE_CUDA_STATE"
}

@test "views: OFFSET and SIZE as docs/gpu.md defines them, one handle per storage, the span's bytes" {
	need_fuse
	need_fake
	use_fake
	mount_gpu "$FIX/04_views.pt"
	echo 'map_location cuda:0' >"$MNT/.ptfs/control"
	echo 'materialize' >"$MNT/.ptfs/control"
	declare -A first
	for f in "$MNT"/*; do
		read -r off size <<<"$(span "$f")"
		read -r tag bus handle o s <<<"$(getfattr --absolute-names --only-values -n user.pt.cuda_ipc "$f")"
		[ "$tag $bus" = "cuda:0 0000:00:00.0" ]
		echo "${f##*/}: $o $s, want $off $size"
		[ "$o $s" = "$off $size" ]
		# tensors of one storage share its handle
		k=$(getfattr --absolute-names --only-values -n user.pt.storage "$f")
		[ "${first[$k]:=$handle}" = "$handle" ]
		# through the handle: SIZE bytes
		[ "$("$IPCREAD" "$f" | wc -c)" = "$size" ]
	done
	# base and flat show whole storages: every view's span is a slice of them
	for f in t rows step colstep offset_t elem; do
		read -r o s <<<"$(span "$MNT/$f")"
		"$IPCREAD" "$MNT/$f" | cmp - <(tail -c +$((o + 1)) "$MNT/base" | head -c "$s")
	done
	for f in flat_offset flat_offset_step; do
		read -r o s <<<"$(span "$MNT/$f")"
		"$IPCREAD" "$MNT/$f" | cmp - <(tail -c +$((o + 1)) "$MNT/flat" | head -c "$s")
	done
	# and reads of the resident files are still the gathered elements
	for f in "$MNT"/*; do
		cmp "$f" <("$PTFS" cat "$FIX/04_views.pt" "${f##*/}")
	done
	"$IPCREAD" --sha256 "$MNT/base" "$MNT/flat" | sed "s#  $MNT/#  #" >"$BATS_TEST_TMPDIR/ipc.sha"
	(cd "$MNT" && sha256sum base flat) | diff - "$BATS_TEST_TMPDIR/ipc.sha"
}

@test "devices are found by PCI bus id: cuda:1 of the daemon, read by a consumer" {
	need_fuse
	need_fake
	use_fake 2
	mount_gpu "$FIX/17_demo.pt"
	echo 'map_location cuda:1' >"$MNT/.ptfs/control"
	echo 'materialize' >"$MNT/.ptfs/control"
	grep -q '^resident cuda:1: 2 storages, 60 bytes (60 B), .*, 0000:01:00\.0$' "$MNT/.ptfs/control"
	v=$(getfattr --absolute-names --only-values -n user.pt.cuda_ipc "$MNT/layer1/weight")
	[ "${v%% *}" = cuda:1 ]
	[ "$(echo "$v" | cut -d' ' -f2)" = 0000:01:00.0 ]
	"$IPCREAD" "$MNT/layer1/weight" | cmp - "$MNT/layer1/weight"
}

@test "docs/examples/cupy_consumer.py compiles; it runs where CuPy and a GPU are" {
	python3 -m py_compile "$ROOT/docs/examples/cupy_consumer.py"
	rm -rf "$ROOT/docs/examples/__pycache__"
	"$TORCH_PY" -c 'import cupy, torch; assert torch.cuda.is_available()' 2>/dev/null ||
		skip "no CuPy with a GPU (the double serves the driver API only)"
	need_fuse
	mount_gpu "$FIX/01_dtypes.pt"
	echo 'map_location cuda:0' >"$MNT/.ptfs/control"
	echo 'materialize' >"$MNT/.ptfs/control"
	run "$TORCH_PY" "$ROOT/docs/examples/cupy_consumer.py" "$MNT"/*
	assert_success
	echo 'release' >"$MNT/.ptfs/control"
}

@test "scripts/gpu-check.sh runs end to end with the double (GPU_CHECK_FAKE=1)" {
	need_fuse
	need_fake
	use_fake
	mount_gpu "$FIX/17_demo.pt" # only to learn whether the daemon has GPU commands
	unmount_all
	run env GPU_CHECK_FAKE=1 GPU_CHECK_MIB=16 GPU_CHECK_DIR="$BATS_TEST_TMPDIR/check" \
		bash "$ROOT/scripts/gpu-check.sh"
	assert_success
	assert_line --partial "every GB/s and time below is meaningless"
	assert_line --regexp '^checks +passed$'
	refute_line --partial FAIL
}
