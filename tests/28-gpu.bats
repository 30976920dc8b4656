#!/usr/bin/env bats
# materialize, release, user.pt.resident and user.pt.cuda_ipc (docs/gpu.md),
# against the TEST DOUBLE of the CUDA driver (tests/cuda/fake_libcuda.c,
# build/cuda/libcuda.so.1: host memory, not a GPU), which the daemon loads
# through LD_LIBRARY_PATH. The real driver is checked by scripts/gpu-check.sh.

load helpers

setup() {
	load_libs
	need_fuse
	FAKE="$ROOT/build/cuda"
	[ -e "$FAKE/libcuda.so.1" ] || fail "no $FAKE/libcuda.so.1: run make"
	STATE="$BATS_TEST_TMPDIR/cuda.state"
	export PTFS_FAKE_CUDA_STATE="$STATE"
	export PTFS_FAKE_CUDA_DEVICES=3
	unset PTFS_FAKE_CUDA_MEM PTFS_FAKE_CUDA_FAIL PTFS_FAKE_CUDA_COPY_DELAY_US
	CUDA="$FIX/12_cuda_tags.pt" # fc1/weight, fc1/bias: cuda:1; fc2/weight: cuda:0; fc2/bias: cuda:2
	SHARED_VIEWS="$FIX/06_shared_views.pt" # first, second, mid: three views of one storage
}

# gmount FILE [options]: mount_ckpt with the double as the CUDA driver
gmount() {
	LD_LIBRARY_PATH="$FAKE" mount_ckpt "$@"
}

# the double's count of live device allocations (its state file)
live() {
	awk '$1 == "live" { print $2 }' "$STATE"
}

resident() {
	getfattr --absolute-names --only-values -n user.pt.resident "$MNT/$1"
}

ipc() {
	getfattr --absolute-names --only-values -n user.pt.cuda_ipc "$MNT/$1"
}

# same_bytes FILE PATH...: each tensor read from the mount equals `ptfs cat` of the file
same_bytes() {
	local f="$1" p
	shift
	for p in "$@"; do
		cmp <("$PTFS" cat "$f" "$p") "$MNT/$p" || return 1
	done
}

# the daemon serving $MNT
daemon_pid() {
	pgrep -f -- " $MNT\$" | head -n 1
}

@test "materialize: every cuda-tagged storage to its device, bytes read back equal" {
	gmount "$CUDA"
	ctl materialize
	[ "$(resident fc1/weight) $(resident fc1/bias) $(resident fc2/weight) $(resident fc2/bias)" = "cuda:1 cuda:1 cuda:0 cuda:2" ]
	[ "$(live)" = 4 ]
	same_bytes "$CUDA" fc1/weight fc1/bias fc2/weight fc2/bias
	run cat "$MNT/.ptfs/control"
	assert_line "gpu: 3 devices, driver 12.4"
	assert_line --regexp '^materialize: done 4 storages, 92 bytes \(92 B\) in [0-9.]+ s, [0-9.]+ GB/s; 0 already resident, 0 skipped \(not on a cuda location\)$'
	assert_line "resident cuda:0: 1 storage, 24 bytes (24 B), ptfs fake GPU 0, 0000:00:00.0"
	assert_line "resident cuda:1: 2 storages, 60 bytes (60 B), ptfs fake GPU 1, 0000:01:00.0"
	assert_line "resident cuda:2: 1 storage, 8 bytes (8 B), ptfs fake GPU 2, 0000:02:00.0"
	assert_line "error: none"
}

@test "a read of a resident tensor comes from device memory" {
	# the double fails the first device-to-host copies (the kernel retries a
	# failed readahead once; each entry counts the calls that reach it): only
	# a read from the device sees them
	PTFS_FAKE_CUDA_FAIL=cuMemcpyDtoH:1,cuMemcpyDtoH:1,cuMemcpyDtoH:1 gmount "$CUDA"
	ctl materialize
	run cat "$MNT/fc2/weight"
	assert_failure
	assert_output --partial "Input/output error"
	for _ in 1 2 3; do # until the injected failures are used up
		cat "$MNT/fc2/weight" >/dev/null 2>&1 && break
	done
	same_bytes "$CUDA" fc2/weight fc1/weight
}

@test "materialize GLOB: only the storages of matching tensors; the rest stays in the file" {
	gmount "$CUDA"
	ctl "materialize /fc1/*"
	[ "$(resident fc1/weight) $(resident fc1/bias) $(resident fc2/weight) $(resident fc2/bias)" = "cuda:1 cuda:1 file file" ]
	[ "$(live)" = 2 ]
	ctl "materialize /fc2/w* /nothing"
	[ "$(resident fc2/weight) $(resident fc2/bias)" = "cuda:0 file" ]
	run grep '^materialize:' "$MNT/.ptfs/control"
	assert_output --regexp '^materialize: done 1 storage, 24 bytes'
	ctl materialize
	run grep '^materialize:' "$MNT/.ptfs/control"
	assert_output --regexp '^materialize: done 1 storage, 8 bytes \(8 B\) in [0-9.]+ s, [0-9.]+ GB/s; 3 already resident, 0 skipped'
}

@test "storages at other locations are skipped and counted; map_location decides the device" {
	gmount "$CUDA"
	ctl "map_location cuda:1=cpu cuda:2=cuda:0"
	ctl materialize
	[ "$(resident fc1/weight) $(resident fc1/bias) $(resident fc2/weight) $(resident fc2/bias)" = "file file cuda:0 cuda:0" ]
	run grep '^materialize:' "$MNT/.ptfs/control"
	assert_output --regexp '^materialize: done 2 storages, 32 bytes .*; 0 already resident, 2 skipped \(not on a cuda location\)$'
	# nothing on a cuda location: no driver needed, nothing done
	ctl release "map_location cpu" materialize
	[ "$(live)" = 0 ]
}

@test "release frees; release GLOB frees only those; cuda_ipc goes with it" {
	gmount "$CUDA"
	ctl materialize
	ipc fc1/weight >/dev/null
	ctl "release /fc1/*"
	[ "$(resident fc1/weight) $(resident fc2/weight)" = "file cuda:0" ]
	[ "$(live)" = 2 ]
	run getfattr --absolute-names --only-values -n user.pt.cuda_ipc "$MNT/fc1/weight"
	assert_failure
	assert_output --partial "No such attribute"
	run grep '^release:' "$MNT/.ptfs/control"
	assert_output "release: released 2 storages, 60 bytes (60 B)"
	ctl release
	[ "$(live)" = 0 ]
	[ "$(resident fc2/weight)" = file ]
	same_bytes "$CUDA" fc1/weight fc2/weight fc2/bias
	! grep -q '^resident' "$MNT/.ptfs/control"
}

@test "a storage shared by three views gets one allocation; views are gathered from it" {
	gmount "$SHARED_VIEWS" -o map_location=cuda:0
	ctl materialize
	[ "$(live)" = 1 ]
	[ "$(resident first) $(resident second) $(resident mid)" = "cuda:0 cuda:0 cuda:0" ]
	same_bytes "$SHARED_VIEWS" first second mid
	# one handle for all three; each with its own offset and span
	read -r d1 b1 h1 o1 s1 <<<"$(ipc first)"
	read -r d2 b2 h2 o2 s2 <<<"$(ipc second)"
	read -r d3 b3 h3 o3 s3 <<<"$(ipc mid)"
	[ "$d1 $b1" = "cuda:0 0000:00:00.0" ]
	[ "$h1" = "$h2" ] && [ "$h2" = "$h3" ]
	[[ "$h1" =~ ^[0-9a-f]{128}$ ]]
	storage_off() { getfattr --only-values -n user.pt.storage_offset "$MNT/$1"; }
	[ "$o1 $o2 $o3" = "$((4 * $(storage_off first))) $((4 * $(storage_off second))) $((4 * $(storage_off mid)))" ]
	[ "$s1" = 24 ] && [ "$s3" = 24 ]
}

@test "cuda_ipc: another process opens the handle and reads the same bytes" {
	gmount "$CUDA"
	ctl materialize
	for p in fc1/weight fc1/bias fc2/weight fc2/bias; do
		PTFS_FAKE_CUDA_STATE="$BATS_TEST_TMPDIR/consumer.state" LD_LIBRARY_PATH="$FAKE" "$ROOT/build/ptfs-ipc-read" "$MNT/$p" | cmp - <("$PTFS" cat "$CUDA" "$p")
	done
}

@test "a device index past the count: torch's message, ENODEV, nothing resident" {
	PTFS_FAKE_CUDA_DEVICES=2 gmount "$CUDA"
	run ctl materialize
	assert_failure
	assert_output --partial "No such device"
	run grep '^error:' "$MNT/.ptfs/control"
	assert_output "error: Attempting to deserialize object on CUDA device 2 but torch.cuda.device_count() is 2. Please use torch.load with map_location to map your storages to an existing device."
	[ "$(resident fc2/weight)" = file ]
	[ ! -e "$STATE" ] || [ "$(live)" = 0 ]
	# what fits is fine
	ctl "map_location cuda:2=cuda:1" materialize
	[ "$(live)" = 4 ]
}

@test "out of device memory: ENOMEM naming the storage and bytes; what this command copied is freed" {
	PTFS_FAKE_CUDA_DEVICES=1 PTFS_FAKE_CUDA_MEM=80 gmount "$CUDA" -o map_location=cuda:0
	run ctl materialize
	assert_failure
	assert_output --partial "Cannot allocate memory"
	run grep '^error:' "$MNT/.ptfs/control"
	# 48 + 12 bytes fit in 80; fc2/weight's 24 do not
	assert_output "error: storage 2 (/fc2/weight): cuda:0: out of memory: 24 bytes needed, 20 free"
	[ "$(live)" = 0 ]
	[ "$(resident fc1/weight)" = file ]
	ctl "materialize /fc1/*"
	[ "$(live)" = 2 ]
}

@test "a failed copy leaves nothing resident" {
	PTFS_FAKE_CUDA_FAIL=cuMemcpyHtoDAsync:2 gmount "$CUDA"
	run ctl materialize
	assert_failure
	run grep '^materialize:' "$MNT/.ptfs/control"
	assert_output --partial "materialize: failed: "
	[ "$(live)" = 0 ]
	[ "$(resident fc1/weight) $(resident fc2/weight)" = "file file" ]
	ctl materialize
	[ "$(live)" = 4 ]
}

@test "no device, no driver: torch's is_available message, ENODEV" {
	PTFS_FAKE_CUDA_DEVICES=0 gmount "$CUDA"
	run ctl materialize
	assert_failure
	assert_output --partial "No such device"
	run grep '^error:' "$MNT/.ptfs/control"
	assert_output --regexp "^error: Attempting to deserialize object on a CUDA device but torch.cuda.is_available\(\) is False. If you are running on a CPU-only machine, please use torch.load with map_location=torch.device\('cpu'\) to map your storages to the CPU. \(cuInit: CUDA_ERROR_NO_DEVICE: .*\)$"
	run grep '^gpu:' "$MNT/.ptfs/control"
	assert_output --regexp '^gpu: unavailable: cuInit: CUDA_ERROR_NO_DEVICE'
	fusermount3 -u "$MNT"
	# no driver library at all (where this machine has none of its own)
	if ldconfig -p | grep -q 'libcuda\.so\.1 '; then
		skip "this machine has a CUDA driver"
	fi
	mount_ckpt "$CUDA"
	run ctl materialize
	assert_failure
	run grep '^error:' "$MNT/.ptfs/control"
	assert_output --regexp "^error: Attempting to deserialize object on a CUDA device but torch.cuda.is_available\(\) is False\. .* \(no CUDA driver: libcuda\.so\.1: cannot open shared object file: No such file or directory\)$"
	# the mount goes on as before
	same_bytes "$CUDA" fc1/weight
}

@test "a rule, reset, setfattr or reload that would move a resident storage: EBUSY, nothing changed" {
	gmount "$CUDA"
	ctl "materialize /fc2/weight"
	run ctl "map_location cpu"
	assert_failure
	assert_output --partial "Device or resource busy"
	run grep '^error:' "$MNT/.ptfs/control"
	assert_output --regexp '^error: storage [0-9]+ \(/fc2/weight\) is resident on cuda:0: release it before moving it to cpu$'
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc1/weight")" = cuda:1 ]
	! grep -q '^map_location' "$MNT/.ptfs/control"
	run setfattr -n user.pt.location -v cuda:1 "$MNT/fc2/weight"
	assert_failure
	assert_output --partial "Device or resource busy"
	# what leaves it where it is goes through
	ctl "map_location cuda:1=cpu"
	setfattr -n user.pt.location -v cuda:0 "$MNT/fc2/weight"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc1/weight")" = cpu ]
	# reset leaves it at its saved cuda:0: allowed; a reload would drop it
	ctl "map_location reset"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc1/weight")" = cuda:1 ]
	run ctl reload
	assert_failure
	assert_output --partial "Device or resource busy"
	ctl release "map_location reset" reload
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc2/weight")" = cuda:0 ]
}

@test "readers during a materialize read the file; the control file shows its progress" {
	PTFS_FAKE_CUDA_COPY_DELAY_US=400000 gmount "$CUDA"
	ctl materialize &
	local writer=$!
	local seen=""
	for _ in $(seq 40); do
		if grep -q '^materialize: running ' "$MNT/.ptfs/control"; then
			seen=1
			break
		fi
		sleep 0.05
	done
	[ -n "$seen" ]
	same_bytes "$CUDA" fc1/weight fc2/weight fc2/bias
	# what is being copied is pinned already
	run setfattr -n user.pt.location -v cpu "$MNT/fc1/weight"
	assert_failure
	assert_output --partial "Device or resource busy"
	wait "$writer"
	[ "$(live)" = 4 ]
	same_bytes "$CUDA" fc1/weight fc2/weight fc2/bias
}

@test "unmount frees every allocation" {
	gmount "$CUDA"
	ctl materialize
	[ "$(live)" = 4 ]
	local pid
	pid=$(daemon_pid)
	[ -n "$pid" ]
	fusermount3 -u "$MNT"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	! kill -0 "$pid" 2>/dev/null
	[ "$(live)" = 0 ]
}

@test "a checkpoint rewritten in place is not copied: EIO, nothing resident" {
	cp "$CUDA" "$BATS_TEST_TMPDIR/c.pt"
	gmount "$BATS_TEST_TMPDIR/c.pt"
	cat "$FIX/17_demo.pt" >"$BATS_TEST_TMPDIR/c.pt" # same inode, new bytes
	run ctl materialize
	assert_failure
	assert_output --partial "Input/output error"
	run grep '^materialize:' "$MNT/.ptfs/control"
	assert_output --partial "materialize: failed: "
	[ "$(resident fc1/weight)" = file ]
	[ ! -e "$STATE" ] || [ "$(live)" = 0 ]
}

@test "bad materialize and release commands: EINVAL, nothing changed" {
	gmount "$CUDA"
	run ctl "materialize fc1"
	assert_failure
	assert_output --partial "Invalid argument"
	run grep '^error:' "$MNT/.ptfs/control"
	assert_output "error: line 1: materialize: 'fc1' is not a /path glob"
	run ctl "release" "materialize cuda:0"
	assert_failure
	[ ! -e "$STATE" ] || [ "$(live)" = 0 ]
	! grep -q '^gpu:' "$MNT/.ptfs/control"
}

@test "a legacy checkpoint tagged cuda:0 materializes too" {
	gmount "$FIX/13_legacy_cuda.pt"
	ctl materialize
	[ "$(resident w) $(resident b)" = "cuda:0 cuda:0" ]
	same_bytes "$FIX/13_legacy_cuda.pt" w b
}

@test "-o gpu_copy=registered copies through the mapped file; a bad value is refused" {
	gmount "$CUDA" -o gpu_copy=registered
	ctl materialize
	[ "$(live)" = 4 ]
	same_bytes "$CUDA" fc1/weight fc1/bias fc2/weight fc2/bias
	run "$PTFS" -o gpu_copy=fast "$CUDA" "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	assert_output "ptfs: -o gpu_copy=fast: not staged or registered"
}

@test "a big-endian file: the device holds the elements little-endian, as torch.load would" {
	# 12_cuda_tags.pt rewritten as a big-endian machine would have saved it
	local be="$BATS_TEST_TMPDIR/be.pt"
	python3 - "$CUDA" "$be" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as o:
    for i in z.infolist():
        b = z.read(i)
        if "/data/" in i.filename:  # float32 storages
            b = b"".join(b[k:k + 4][::-1] for k in range(0, len(b), 4))
        o.writestr(i.filename, b)
    o.writestr(z.infolist()[0].filename.split("/")[0] + "/byteorder", b"big")
PY
	gmount "$be"
	same_bytes "$CUDA" fc1/weight fc2/weight
	ctl materialize
	[ "$(resident fc1/weight) $(resident fc2/weight)" = "cuda:1 cuda:0" ]
	same_bytes "$CUDA" fc1/weight fc1/bias fc2/weight fc2/bias
	PTFS_FAKE_CUDA_STATE="$BATS_TEST_TMPDIR/consumer.state" LD_LIBRARY_PATH="$FAKE" "$ROOT/build/ptfs-ipc-read" "$MNT/fc2/weight" | cmp - <("$PTFS" cat "$CUDA" fc2/weight)
}

@test "the daemon under ASan+LSan: materialize and release under readers leak nothing, free everything" {
	local asan="$ROOT/build/asan/ptfs" logs="$BATS_TEST_TMPDIR/asan" i end pid
	[ -x "$asan" ] || skip "no ASan daemon (make unit-asan)"
	mkdir -p "$logs" "$BATS_TEST_TMPDIR/m"
	MNT="$BATS_TEST_TMPDIR/m"
	MOUNTS+=("$MNT")
	ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan" LD_LIBRARY_PATH="$FAKE" \
		"$asan" -f -o map_location=cuda:0 "$FIX/04_views.pt" "$MNT" 3>&- &
	pid=$!
	for i in $(seq 100); do is_mounted "$MNT" && break; sleep 0.1; done
	is_mounted "$MNT"
	end=$((SECONDS + ${PTFS_LEAK_SECONDS:-6}))
	for i in $(seq 4); do
		(while [ "$SECONDS" -lt "$end" ]; do
			cat "$MNT"/* >/dev/null
			for f in "$MNT"/*; do
				getfattr -n user.pt.resident "$f" >/dev/null 2>&1
				getfattr -n user.pt.cuda_ipc "$f" >/dev/null 2>&1
			done
		done) &
	done
	while [ "$SECONDS" -lt "$end" ]; do
		{ echo materialize >"$MNT/.ptfs/control" &&
			cat "$MNT/.ptfs/control" >/dev/null &&
			echo 'release /t*' >"$MNT/.ptfs/control" &&
			echo release >"$MNT/.ptfs/control"; } ||
			{ cat "$logs"/asan* 2>/dev/null; return 1; }
	done
	wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
	echo 'reload' >"$MNT/.ptfs/control" # rules start empty again
	printf 'map_location cuda:0\nmaterialize\n' >"$MNT/.ptfs/control"
	[ "$(live)" -gt 0 ]
	kill -TERM "$pid"
	wait "$pid"
	[ "$(live)" = 0 ]
	! ls "$logs"/asan* >/dev/null 2>&1 || { cat "$logs"/asan*; return 1; }
}
