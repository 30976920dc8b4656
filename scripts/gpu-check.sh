#!/bin/bash
# gpu-check.sh - the real check of GPU materialization (issue 13, docs/gpu.md), in one
# prepared run on a machine with an NVIDIA GPU, under 5 minutes, with neither torch nor Python.
#
#     bash scripts/gpu-check.sh                 # 4 GiB checkpoint, cuda:0
#     GPU_CHECK_GIB=8 bash scripts/gpu-check.sh
#     GPU_CHECK_FAKE=1 bash scripts/gpu-check.sh   # the same run with the test double
#
# It builds (make all: nothing is installed), writes a checkpoint of GPU_CHECK_GIB GiB
# (GPU_CHECK_MIB MiB when set) without Python: a safetensors file (a printf'd JSON header and
# random bytes: a few hundred tensors of mixed dtypes and sizes, some big, one 0-dim, one
# empty) that `ptfs convert` turns into a torch zip. The file is read once so the page cache
# holds it: the target is about the copy path, not the disk. It mounts it, maps to cuda:0,
# warms the daemon's driver with a one-tensor materialize (the first GPU command loads the
# driver and makes the context: that cost is shown apart), materializes everything (timed,
# with the control file's GB/s line), then checks: every tensor's xattrs, every tensor file
# read back from device memory against its bytes before (sha256 lists), every IPC handle
# opened from a second process (build/ptfs-ipc-read --sha256) against the same list, release
# (nothing resident, handles gone), a second full materialize for a second figure, unmount.
# Then the baselines with no daemon: build/ptfs-gpu-bench, one pinned cuMemcpyHtoDAsync of
# 1 GiB and pt_gpu_upload of the file both ways (staged, registered); and where
# `import torch` works with CUDA, torch.load(map_location='cuda:0') of the same file, timed,
# its tensors hashed against the list too. A summary table ends the run.
#
# Exit 0: every check passed (a missed speed target is reported, not a failure); 1: a
# mismatch or a failed step; 2: cannot build or run (what is missing is said); 3: the checks
# that need FUSE could not run here (no /dev/fuse), the rest passed.
#
# GPU_CHECK_FAKE=1 runs it all against tests/cuda's double (LD_LIBRARY_PATH=build/cuda,
# 64 MiB by default) to debug this script without a GPU: its figures mean nothing.
# GPU_CHECK_DIR: the work folder (default a fresh one under /tmp, removed at the end unless
# GPU_CHECK_KEEP=1). GPU_CHECK_DEV: the device (0).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 2
FAKE="${GPU_CHECK_FAKE:-0}"
DEV="${GPU_CHECK_DEV:-0}"
if [ "$FAKE" = 1 ]; then MIB="${GPU_CHECK_MIB:-64}"; else MIB="${GPU_CHECK_MIB:-$((${GPU_CHECK_GIB:-4} * 1024))}"; fi
PINNED_MIB=1024
[ "$FAKE" = 1 ] && PINNED_MIB=64
NPROC="$(nproc)"
START=$(date +%s.%N)

say() { printf '%s\n' "$*"; }
step() { awk -v s="$START" -v n="$(date +%s.%N)" -v w="$*" 'BEGIN { printf "== %s (%.1f s)\n", w, n - s }'; }
FAILS=0
fail() {
	say "FAIL: $*"
	FAILS=$((FAILS + 1))
}
now() { date +%s.%N; }
# seconds between two now()s, and GB/s (1e9 bytes) of N bytes in S seconds (awk: no bc needed)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
gbs() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.2f", (s > 0 ? n / s / 1e9 : 0) }'; }

# --- build: nothing installed; say what is missing rather than fail in make's words
step "build"
missing=""
command -v cc >/dev/null || missing="$missing cc (build-essential)"
for p in fuse3:libfuse3-dev libzip:libzip-dev libcrypto:libssl-dev zlib:zlib1g-dev; do
	pkg-config --exists "${p%%:*}" 2>/dev/null || missing="$missing ${p#*:}"
done
for t in sha256sum getfattr fusermount3; do
	command -v $t >/dev/null || missing="$missing $t"
done
BINS="build/ptfs build/ptfs-ipc-read build/ptfs-gpu-bench"
[ "$FAKE" = 1 ] && BINS="$BINS build/cuda/libcuda.so.1"
if [ -n "$missing" ]; then
	say "missing build or run dependencies:$missing (scripts/install-deps.sh installs them; this script installs nothing)"
	for b in $BINS; do [ -e "$b" ] || exit 2; done
	say "using the binaries already in build/"
else
	targets=all
	[ "$FAKE" = 1 ] && targets="all fakecuda"
	make -j"$NPROC" $targets >"${TMPDIR:-/tmp}/gpu-check-make.log" 2>&1 || {
		tail -n 30 "${TMPDIR:-/tmp}/gpu-check-make.log"
		say "make $targets failed"
		exit 2
	}
fi
PTFS="$ROOT/build/ptfs" IPCREAD="$ROOT/build/ptfs-ipc-read" BENCH="$ROOT/build/ptfs-gpu-bench"

WORK="${GPU_CHECK_DIR:-$(mktemp -d /tmp/ptfs-gpu-check.XXXXXX)}"
mkdir -p "$WORK/mnt" || exit 2
MNT="$WORK/mnt"
if [ "$FAKE" = 1 ]; then
	# the double for the daemon and both helpers; device memory is /dev/shm
	export LD_LIBRARY_PATH="$ROOT/build/cuda${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	export PTFS_FAKE_CUDA_DEVICES=1 PTFS_FAKE_CUDA_MEM=$(((MIB * 3 + PINNED_MIB + 64) << 20))
	# each process rewrites this file with its own counts: the daemon's is kept apart
	export PTFS_FAKE_CUDA_STATE="$WORK/fake-consumer-state"
	DAEMON_STATE="$WORK/fake-daemon-state"
	say "NOTE: GPU_CHECK_FAKE=1: the test double (build/cuda/libcuda.so.1) stands in for the driver; every GB/s and time below is meaningless"
fi
cleanup() {
	if grep -qF " $MNT fuse" /proc/self/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	fi
	[ "${GPU_CHECK_KEEP:-0}" = 1 ] || rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# --- the checkpoint: a safetensors file, then `ptfs convert` to torch's zip
step "writing a $MIB MiB checkpoint in $WORK"
TOTAL=$((MIB << 20))
# name dtype element-size shape-as-json bytes, one per line
awk -v T="$TOTAL" 'BEGIN {
	n = 0
	# 4 big BF16 matrices (half the bytes), 4096 columns
	for (i = 0; i < 4; i++) { r = int(T / 8 / 2 / 4096); printf "big%d BF16 2 [%d,4096] %d\n", i, r, r * 8192 }
	# 60 medium F32 (a quarter)
	for (i = 0; i < 60; i++) { e = int(T / 256 / 4); printf "mid%02d F32 4 [%d] %d\n", i, e, e * 4 }
	# 240 small of mixed dtypes and odd sizes (about 2% of the bytes)
	split("F16 2;I64 8;U8 1;I32 4;F64 8;BF16 2", d, ";")
	m = int(T / 65536); if (m > 65536) m = 65536
	for (i = 0; i < 240; i++) {
		split(d[i % 6 + 1], x, " "); e = (i * 7919) % m + 1
		printf "small%03d %s %d [%d,%d] %d\n", i, x[1], x[2], e, 3, e * 3 * x[2]
	}
	print "scalar F32 4 [] 4"
	print "empty F32 4 [0] 0"
}' >"$WORK/tensors"
hdr="{" off=0 sep=""
while read -r name dt _ shape bytes; do
	hdr="$hdr$sep\"$name\":{\"dtype\":\"$dt\",\"shape\":$shape,\"data_offsets\":[$off,$((off + bytes))]}"
	off=$((off + bytes)) sep=","
done <"$WORK/tensors"
hdr="$hdr}"
while [ $((${#hdr} % 8)) != 0 ]; do hdr="$hdr "; done
le64() { local i; for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $((($1 >> (8 * i)) & 255)))"; done; }
{
	le64 ${#hdr}
	printf '%s' "$hdr"
	head -c "$off" /dev/urandom
} >"$WORK/ck.safetensors" || exit 2
"$PTFS" convert "$WORK/ck.safetensors" "$WORK/ck.pt" || {
	say "ptfs convert failed"
	exit 1
}
rm -f "$WORK/ck.safetensors"
NT=$(wc -l <"$WORK/tensors")
FILEBYTES=$(stat -c %s "$WORK/ck.pt")
say "$NT tensors, $off bytes of storage, ck.pt $FILEBYTES bytes"
cat "$WORK/ck.pt" >/dev/null # into the page cache

# --- the mount
MAT_GBS="-" MAT_S="-" MAT_WALL="-" MAT2_GBS="-" WARM_S="-" IPC_GBS="-" FUSE_SKIP=""
ctl() { printf '%s\n' "$*" >"$MNT/.ptfs/control"; }
ctl_line() { grep "^$1" "$MNT/.ptfs/control"; }
sums() { (cd "$MNT" && find . -path ./.ptfs -prune -o -type f -print0 | sort -z |
	xargs -0 -P "$NPROC" -n 32 sha256sum) | sort -k2 >"$1"; }

# the checks of a full materialize: its lines, every tensor's xattrs, bytes and IPC handle
gpu_checks() {
	m="$(ctl_line 'materialize:')"
	MAT_GBS=$(printf '%s\n' "$m" | sed -n 's/^materialize: done .* s, \([0-9.]*\) GB\/s.*/\1/p')
	MAT_S=$(printf '%s\n' "$m" | sed -n 's/^materialize: done .* in \([0-9.]*\) s, .*/\1/p')
	[ -n "$MAT_GBS" ] || { MAT_GBS="-"; fail "no 'materialize: done ... GB/s' line: $m"; }
	printf '%s\n' "$m" | grep -q "^materialize: done $((NT)) storages, $off bytes" ||
		fail "materialize did not report $NT storages, $off bytes: $m"
	ctl_line "resident cuda:$DEV: $NT storages, $off bytes" >/dev/null ||
		fail "no 'resident cuda:$DEV: $NT storages, $off bytes' line"

	step "xattrs of every tensor"
	bad=0
	while read -r _ f; do
		p="$MNT/${f#./}"
		r=$(getfattr --absolute-names --only-values -n user.pt.resident "$p" 2>&1)
		[ "$r" = "cuda:$DEV" ] || { bad=$((bad + 1)); [ $bad -le 3 ] && say "$f: user.pt.resident is '$r'"; }
		v=$(getfattr --absolute-names --only-values -n user.pt.cuda_ipc "$p" 2>&1)
		if ! [[ "$v" =~ ^cuda:$DEV\ [0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F]\ [0-9a-f]{128}\ 0\ ([0-9]+)$ ]] ||
			[ "${BASH_REMATCH[1]}" != "$(stat -c %s "$p")" ]; then
			bad=$((bad + 1))
			[ $bad -le 3 ] && say "$f: user.pt.cuda_ipc is '$v' (want cuda:$DEV BUS HANDLE 0 SIZE)"
		fi
	done <"$WORK/before.sha"
	[ $bad = 0 ] || fail "$bad tensors with a wrong user.pt.resident or user.pt.cuda_ipc"

	step "every tensor read back from device memory"
	sums "$WORK/after.sha"
	diff "$WORK/before.sha" "$WORK/after.sha" >"$WORK/after.diff" ||
		fail "$(grep -c '^>' "$WORK/after.diff") tensor files differ after materialize: $(head -c 400 "$WORK/after.diff")"

	step "every IPC handle opened from a second process"
	t0=$(now)
	(cd "$MNT" && find . -path ./.ptfs -prune -o -type f -print0 | sort -z |
		xargs -0 "$IPCREAD" --sha256) 2>"$WORK/ipc.err" | sort -k2 >"$WORK/ipc.sha"
	IPC_GBS=$(gbs "$off" "$(secs "$t0" "$(now)")")
	[ -s "$WORK/ipc.err" ] && fail "ptfs-ipc-read: $(head -n 3 "$WORK/ipc.err")"
	diff "$WORK/before.sha" "$WORK/ipc.sha" >"$WORK/ipc.diff" ||
		fail "$(grep -c '^>' "$WORK/ipc.diff") tensors differ through their IPC handles: $(head -c 400 "$WORK/ipc.diff")"
}

if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	FUSE_SKIP="no /dev/fuse or fusermount3 here: mount, materialize, read-back and IPC checks not run"
	say "SKIP: $FUSE_SKIP"
else
	step "mount; tensor bytes before materialize"
	PTFS_FAKE_CUDA_STATE="${DAEMON_STATE:-}" "$PTFS" "$WORK/ck.pt" "$MNT" || exit 1
	sums "$WORK/before.sha"
	[ "$(wc -l <"$WORK/before.sha")" = "$NT" ] || fail "the mount shows $(wc -l <"$WORK/before.sha") tensor files, not $NT"
	say "$(ctl_line gpu:)"

	step "map_location cuda:$DEV; warm-up materialize of one tensor (loads the driver)"
	ctl "map_location cuda:$DEV" || fail "map_location cuda:$DEV refused: $(ctl_line error:)"
	t0=$(now)
	ctl "materialize /scalar" || fail "materialize /scalar failed: $(ctl_line 'materialize:') $(ctl_line error:)"
	WARM_S=$(secs "$t0" "$(now)")
	say "$(ctl_line gpu:)"
	ctl release || fail "release failed: $(ctl_line error:)"

	step "materialize everything"
	t0=$(now)
	MAT_OK=1
	ctl materialize || { MAT_OK=0; fail "materialize failed: $(ctl_line 'materialize:') $(ctl_line error:)"; }
	t1=$(now)
	MAT_WALL=$(secs "$t0" "$t1")
	ctl_line 'gpu:\|resident \|materialize:'
	[ $MAT_OK = 1 ] && gpu_checks

	step "release"
	ctl release || fail "release failed: $(ctl_line error:)"
	ctl_line "resident cuda:" && fail "still resident after release"
	r=$(getfattr --absolute-names --only-values -n user.pt.resident "$MNT/big0" 2>&1)
	[ "$r" = file ] || fail "big0: user.pt.resident is '$r' after release, not 'file'"
	getfattr --absolute-names -n user.pt.cuda_ipc "$MNT/big0" >/dev/null 2>&1 && fail "big0: user.pt.cuda_ipc still there after release"
	[ "$FAKE" = 1 ] && { grep -qx 'live 0' "$DAEMON_STATE" || fail "the double counts the daemon's allocations after release: $(head -n 1 "$DAEMON_STATE")"; }

	step "a second materialize (a second figure), release, unmount"
	if [ $MAT_OK = 1 ]; then
		ctl materialize || fail "the second materialize failed: $(ctl_line error:)"
		MAT2_GBS=$(ctl_line 'materialize:' | sed -n 's/^materialize: done .* s, \([0-9.]*\) GB\/s.*/\1/p')
		ctl release || fail "release failed: $(ctl_line error:)"
	fi
	fusermount3 -u "$MNT" || fail "unmount failed"
	for _ in $(seq 50); do grep -qF " $MNT fuse" /proc/self/mounts || break; sleep 0.1; done
	[ "$FAKE" = 1 ] && { sleep 0.5; grep -qx 'live 0' "$DAEMON_STATE" || fail "the double counts the daemon's allocations after unmount"; }
fi

# --- the baselines: no daemon
step "pinned copy and pt_gpu_upload both ways (build/ptfs-gpu-bench)"
"$BENCH" -d "$DEV" -p "$PINNED_MIB" -n "$MIB" "$WORK/ck.pt" | tee "$WORK/bench" || fail "ptfs-gpu-bench failed"
PIN_GBS=$(awk '$1 == "pinned" {print $(NF-1)}' "$WORK/bench")
ST_GBS=$(awk '$1 == "staged" && $2 == "best" {print $(NF-1)}' "$WORK/bench")
RG_GBS=$(awk '$1 == "registered" && $2 == "best" {print $(NF-1)}' "$WORK/bench")
ST1=$(awk '$1 == "staged" && $3 == 1 {print $(NF-1)}' "$WORK/bench")
RG1=$(awk '$1 == "registered" && $3 == 1 {print $(NF-1)}' "$WORK/bench")

# --- torch, where it is there with CUDA (never with the double: torch finds the real driver)
TORCH="skipped"
PY=/usr/bin/python3
command -v "$PY" >/dev/null || PY=python3
if [ "$FAKE" = 1 ]; then
	TORCH="skipped (the double)"
elif "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
	step "torch.load(map_location='cuda:$DEV')"
	TORCH=$("$PY" - "$WORK/ck.pt" "$DEV" "$WORK/before.sha" <<-'EOF'
		import hashlib, os, sys, time, torch
		path, dev, sums = sys.argv[1], int(sys.argv[2]), sys.argv[3]
		torch.zeros(1, device=dev)  # the context first: the daemon's was warm too
		torch.cuda.synchronize(dev)
		t = time.monotonic()
		sd = torch.load(path, map_location="cuda:%d" % dev)
		torch.cuda.synchronize(dev)
		s = time.monotonic() - t
		bad = 0
		if os.path.exists(sums):
		    want = dict((l.split()[1][2:], l.split()[0]) for l in open(sums))
		    for k, v in sd.items():
		        b = v.reshape(-1).view(torch.uint8).cpu().numpy().tobytes()
		        bad += hashlib.sha256(b).hexdigest() != want.get(k)
		print("%.3f %d" % (s, bad))
	EOF
	) || TORCH="failed"
	case "$TORCH" in *" 0") ;; failed) fail "torch.load failed" ;; *) fail "torch.load's tensors differ from the mount's: ${TORCH#* } of them" ;; esac
else
	TORCH="skipped (no torch with CUDA for $PY)"
fi

# --- summary
step "summary"
R=$(awk -v m="$MAT_GBS" -v p="$PIN_GBS" 'BEGIN { if (m + 0 > 0 && p + 0 > 0) printf "%.2f", m / p; else print "-" }')
target=$(awk -v r="$R" 'BEGIN { print (r == "-" ? "-" : (r + 0 >= 0.80 ? "met" : "NOT met")) }')
[ "$FAKE" = 1 ] && say "(the test double: every figure below is meaningless)"
printf '%-44s %s\n' \
	"checkpoint" "$NT tensors, $off bytes of storage (GPU_CHECK_MIB $MIB), cuda:$DEV" \
	"pinned cuMemcpyHtoDAsync, $PINNED_MIB MiB" "$PIN_GBS GB/s" \
	"materialize (the control file's)" "$MAT_GBS GB/s, ${MAT_S:--} s (second: $MAT2_GBS GB/s; write(2) $MAT_WALL s)" \
	"materialize / pinned (target >= 0.80)" "$R ($target)" \
	"first GPU command (driver load, 1 tensor)" "$WARM_S s" \
	"pt_gpu_upload staged (best of 3; 1st)" "$ST_GBS GB/s ($ST1)" \
	"pt_gpu_upload registered (best of 3; 1st)" "$RG_GBS GB/s ($RG1)" \
	"ptfs-ipc-read, all tensors (D2H, pageable)" "$IPC_GBS GB/s" \
	"torch.load(map_location=cuda:$DEV) s, bad" "$TORCH" \
	"checks" "$([ $FAILS = 0 ] && echo passed || echo "$FAILS FAILED")${FUSE_SKIP:+; $FUSE_SKIP}"
[ $FAILS = 0 ] || exit 1
[ -z "$FUSE_SKIP" ] || exit 3
exit 0
