#!/usr/bin/env bash
# make bench: ptfs's figures side by side with baselines measured in the same
# run. It asserts nothing about time and CI does not run it.
#
#   RUNS=5 scripts/bench.sh [WORKDIR]   (default: a temporary folder, removed after;
#                                        a given WORKDIR keeps its checkpoints for reruns)
#
# Generates its checkpoints with Debian's torch (/usr/bin/python3 scripts/make-big.py),
# installs the peers (fuse-zip, archivemount) from Debian when missing and root, builds
# libfuse's passthrough_ll example from libfuse3-dev's examples when present, then prints
# one table (markdown): medians of RUNS runs, page cache warm (each file is read once
# before timing), on this machine, and the machine line. docs/performance.md holds a run.
#
# Sizes (environment): BIG_GIB=1 (the one-tensor checkpoint), MANY_GIB=10 and
# MANY_N=20000 (mount + ls, MOUNT_RUNS=15 times), FIND_N=100000 (find + getfattr), SAVE_GIB=2 (16 tensors;
# also the concurrent readers, and RSS with RSS_GIB=1 for the second data size),
# VIEWS_MIB=256 (scripts/bench-views.sh: cat of views of one storage beside its tensor).
# Then two tables of their own: `ptfs diff` beside cmp (scripts/bench-diff.sh), and
# cat, diff -r and sha256sum on mounts beside the raw files and beside libfuse's
# passthrough_ll (scripts/bench-compare.sh).
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME's decimal point
cd "$(dirname "$0")/.."
ROOT=$PWD
PTFS=$ROOT/build/ptfs
PY=/usr/bin/python3
RUNS=${RUNS:-5}
BIG_GIB=${BIG_GIB:-1}
MANY_GIB=${MANY_GIB:-10}
MANY_N=${MANY_N:-20000}
FIND_N=${FIND_N:-100000}
SAVE_GIB=${SAVE_GIB:-2}
RSS_GIB=${RSS_GIB:-1}
FIND_RUNS=${FIND_RUNS:-$(( RUNS < 3 ? RUNS : 3 ))}   # find + getfattr over 100,000 takes ~1 min a run
MOUNT_RUNS=${MOUNT_RUNS:-$(( RUNS > 15 ? RUNS : 15 ))} # a mount + ls takes ~50 ms and moves with the load
SLOW_S=${SLOW_S:-60}        # a peer slower than this for the whole tensor is measured on a prefix
PREFIX_MIB=64
NPREAD=${NPREAD:-20000}
work=${1:-$(mktemp -d)}
keep=${1:+yes}
mkdir -p "$work"
work=$(cd "$work" && pwd)
mnt=$work/mnt mfz=$work/mnt-fz mam=$work/mnt-am mpt=$work/mnt-pt
mkdir -p "$mnt" "$mfz" "$mam" "$mpt"
umnt() { mountpoint -q "$1" 2>/dev/null && { fusermount3 -u "$1" 2>/dev/null || fusermount -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null; } ; true; }
cleanup() {
	local m
	for m in "$mnt" "$mfz" "$mam" "$mpt"; do umnt "$m"; done
	rm -f "$work/saved.pt" "$work/copied.pt"
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
note() { echo "bench: $*" >&2; notes+=("$*"); }
notes=()

make -s all >/dev/null

# ---- peers -------------------------------------------------------------------------
# have CMD PKG: CMD is there, or PKG could be installed from Debian
have() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		if ! apt-cache show "$2" >/dev/null 2>&1; then apt-get update -qq >/dev/null 2>&1 || true; fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || true
	fi
	command -v "$1" >/dev/null 2>&1
}
for c in bc:bc getfattr:attr unzip:unzip; do have "${c%%:*}" "${c#*:}" || { echo "bench: needs ${c%%:*}" >&2; exit 1; }; done
FZ=yes AM=yes PT=
have fuse-zip fuse-zip || { FZ=; note "fuse-zip not installed and not installable: its rows are skipped"; }
have archivemount archivemount || { AM=; note "archivemount not installed and not installable: its rows are skipped"; }
ex=/usr/share/doc/libfuse3-dev/examples
if [ -f "$ex/passthrough_ll.c" ]; then
	if [ -x "$work/passthrough_ll" ] || { cp "$ex/passthrough_ll.c" "$ex/passthrough_helpers.h" "$work/" &&
		cc -O2 -o "$work/passthrough_ll" "$work/passthrough_ll.c" $(pkg-config --cflags --libs fuse3) 2>/dev/null; }; then
		PT=yes
	else note "libfuse's passthrough_ll example did not build: its rows are skipped"; fi
else note "libfuse3-dev's examples (passthrough_ll.c) missing: passthrough rows are skipped"; fi

# random 4 KiB preads: FILE BASE LEN N -> seconds (fixed seed, 4 KiB-aligned offsets into
# [BASE, BASE+LEN) counted from BASE)
cat >"$work/pread4k.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc != 5) return 2;
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) { perror(argv[1]); return 1; }
	long long base = atoll(argv[2]), blocks = atoll(argv[3]) / 4096;
	long n = atol(argv[4]);
	uint64_t x = 88172645463325252ull;
	static char buf[4096];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		if (pread(fd, buf, 4096, base + (long long)(x % blocks) * 4096) != 4096) { perror("pread"); return 1; }
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.6f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
EOF
cc -O2 -o "$work/pread4k" "$work/pread4k.c"

# N getxattr calls of one attribute: FILE NAME N -> seconds
cat >"$work/getxattr.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <time.h>
int main(int argc, char **argv)
{
	if (argc != 4) return 2;
	static char buf[4096];
	long n = atol(argv[3]);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (getxattr(argv[1], argv[2], buf, sizeof(buf)) < 0) { perror(argv[1]); return 1; }
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.6f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
EOF
cc -O2 -o "$work/getxattr" "$work/getxattr.c"

# ---- checkpoints -------------------------------------------------------------------
gen() { # FILE ARGS...
	local f=$1; shift
	[ -s "$f" ] || { echo "bench: generating $(basename "$f") ($*)" >&2; $PY scripts/make-big.py "$f.tmp" "$@" >&2 && mv "$f.tmp" "$f"; }
}
big=$work/big${BIG_GIB}g.pt
many=$work/many${MANY_GIB}g${MANY_N}.pt
small=$work/small${FIND_N}.pt
sixteen=$work/s16x${SAVE_GIB}g.pt
rsspt=$work/s16x${RSS_GIB}g.pt
gen "$big" --gib "$BIG_GIB" --tensors 1
gen "$many" --gib "$MANY_GIB" --tensors "$MANY_N" --group 10
gen "$small" --small "$FIND_N"
gen "$sixteen" --gib "$SAVE_GIB" --tensors 16
gen "$rsspt" --gib "$RSS_GIB" --tensors 16

# ---- helpers -----------------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; } # bash's clock: no date process inside a timed interval
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# seconds COMMAND...: median wall time of RUNS runs
seconds() {
	local i t0 t1
	for i in $(seq "$RUNS"); do
		t0=$(now); "$@" >/dev/null; t1=$(now)
		echo "$t1 - $t0" | bc -l
	done | median
}
# selftimed COMMAND...: median of what COMMAND prints (seconds) over RUNS runs
selftimed() { local i; for i in $(seq "$RUNS"); do "$@"; done | median; }
calc() { echo "scale=6; $*" | bc -l; }
fmt() { printf "%.${2:-2}f" "$1"; }
# gibps BYTES SECONDS: GiB/s, 2 decimals (4 below 0.1 so that a ratio never divides by 0)
gibps() { local g; g=$(calc "$1 / 1073741824 / $2"); if [ "$(calc "$g < 0.1")" = 1 ]; then fmt "$g" 4; else fmt "$g"; fi; }
ms() { fmt "$(calc "$1 * 1000")" 1; }
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 |"); echo "bench: $1 | $2 | $3 | $4" >&2; }
ptfs_mount() { "$PTFS" "$1" "$mnt"; }
ptfs_pid() { pgrep -n -f "^$PTFS $1 $mnt\$"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# member DATA-KEY of a torch zip: its member name and data offset
member() {
	$PY - "$1" "$2" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    if i.filename.endswith("/data/" + sys.argv[2]):
        with open(sys.argv[1], "rb") as f:
            f.seek(i.header_offset + 26)
            h = f.read(4)
        n, e = int.from_bytes(h[:2], "little"), int.from_bytes(h[2:], "little")
        print(i.filename, i.header_offset + 30 + n + e, i.file_size)
        break
EOF
}

# ---- 1. sequential cat of the big tensor -------------------------------------------
ptfs_mount "$big"
t=$mnt/layer0/weight
size=$(stat -c %s "$t")
read -r mname moff msize < <(member "$big" 0)
[ "$msize" = "$size" ] || { echo "bench: member size $msize != tensor size $size" >&2; exit 1; }
cat "$big" >/dev/null; cat "$t" >/dev/null
s_ptfs=$(seconds cat "$t")
g_ptfs=$(gibps "$size" "$s_ptfs")
s=$(seconds cat "$big"); g=$(gibps "$(stat -c %s "$big")" "$s")
what="seq. cat of a ${BIG_GIB} GiB tensor (GiB/s)"
row "$what" "$g_ptfs" "cat of the .pt: $g" "$(fmt "$(calc "$g_ptfs / $g")")" "≥ 0.85"
s=$(seconds unzip -p "$big" "$mname"); g=$(gibps "$size" "$s")
row "$what" "$g_ptfs" "unzip -p of the member: $g" "$(fmt "$(calc "$g_ptfs / $g")")" "-"
# peer_cat NAME FILE: a row for cat of FILE through a peer mount, prefix-scaled when slow
peer_cat() {
	local name=$1 f=$2 s g t0 t1 how=""
	t0=$(now)
	if timeout "$SLOW_S" cat "$f" >/dev/null; then
		t1=$(now)
		s=$(seconds cat "$f"); g=$(gibps "$size" "$s")
	else
		how=", ${PREFIX_MIB} MiB prefix"
		note "$name: cat of the ${BIG_GIB} GiB member took over ${SLOW_S} s; measured on its first ${PREFIX_MIB} MiB with head -c (rate scaled)"
		s=$(seconds head -c "$((PREFIX_MIB << 20))" "$f"); g=$(gibps "$((PREFIX_MIB << 20))" "$s")
	fi
	row "$what" "$g_ptfs" "$name$how: $g" "$(fmt "$(calc "$g_ptfs / $g")" 1)×" "${3:--}"
}
if [ -n "$FZ" ] && fuse-zip -r "$big" "$mfz"; then
	peer_cat "fuse-zip" "$mfz/$mname" "≥ 10×"; umnt "$mfz"
fi
if [ -n "$AM" ] && archivemount -o readonly "$big" "$mam" 2>/dev/null; then
	peer_cat "archivemount" "$mam/$mname"; umnt "$mam"
fi
if [ -n "$PT" ]; then
	"$work/passthrough_ll" -o source="$work",cache=always "$mpt"
	cat "$mpt/$(basename "$big")" >/dev/null
	s=$(seconds cat "$mpt/$(basename "$big")"); g=$(gibps "$(stat -c %s "$big")" "$s")
	row "$what" "$g_ptfs" "cat of the .pt via passthrough_ll: $g" "$(fmt "$(calc "$g_ptfs / $g")")" "-"
fi

# ---- 2. random 4 KiB preads --------------------------------------------------------
what="$NPREAD random 4 KiB preads in it (k/s)"
k_ptfs=$(fmt "$(calc "$NPREAD / 1000 / $(selftimed "$work/pread4k" "$t" 0 "$size" "$NPREAD")")" 1)
k=$(fmt "$(calc "$NPREAD / 1000 / $(selftimed "$work/pread4k" "$big" "$moff" "$size" "$NPREAD")")" 1)
row "$what" "$k_ptfs" "same offsets in the .pt: $k" "$(fmt "$(calc "$k_ptfs / $k")")" "≥ 0.50"
if [ -n "$PT" ]; then
	k=$(fmt "$(calc "$NPREAD / 1000 / $(selftimed "$work/pread4k" "$mpt/$(basename "$big")" "$moff" "$size" "$NPREAD")")" 1)
	row "$what" "$k_ptfs" "same in the .pt via passthrough_ll: $k" "$(fmt "$(calc "$k_ptfs / $k")")" "-"
fi
umnt "$mnt"

# ---- 3. mount + ls of the root, many tensors, vs torch.load to a first tensor ------
cat "$many" >/dev/null
tms=()
for i in $(seq "$MOUNT_RUNS"); do
	t0=$EPOCHREALTIME; "$PTFS" "$many" "$mnt" && ls "$mnt" >/dev/null; t1=$EPOCHREALTIME
	tms+=("$(calc "$t1 - $t0")"); umnt "$mnt"
done
s_mount=$(printf '%s\n' "${tms[@]}" | median)
s_mount_best=$(printf '%s\n' "${tms[@]}" | sort -g | head -1)
tl=()
for i in $(seq "$RUNS"); do
	tl+=("$($PY -c "
import time, torch
t0 = time.perf_counter(); sd = torch.load('$many'); x = next(iter(sd.values())); print(time.perf_counter() - t0)")")
done
s_torch=$(printf '%s\n' "${tl[@]}" | median)
s_imp=$(seconds $PY -c "import torch")
what="mount + ls root, ${MANY_GIB} GiB / ${MANY_N} tensors (ms, median of $MOUNT_RUNS; best $(ms "$s_mount_best"))"
row "$what" "$(ms "$s_mount")" "torch.load to 1st tensor: $(ms "$s_torch") (+ $(ms "$s_imp") python+import torch)" \
	"$(fmt "$(calc "$s_torch / $s_mount")" 0)× faster" "< 50 ms; ≥ 100×"

# ---- 4. find + getfattr over many small tensors ------------------------------------
tree=$work/tree$FIND_N
if [ ! -f "$tree/.done" ]; then
	rm -rf "$tree"; mkdir -p "$tree"
	$PY - "$tree" "$FIND_N" <<'EOF'
import os, sys
root, k = sys.argv[1], int(sys.argv[2])
for i in range(k):   # make-big.py --small: layer{i//10}.sub{i%10}.weight
    d = os.path.join(root, f"layer{i // 10}", f"sub{i % 10}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "weight"), "w").close()
open(os.path.join(root, ".done"), "w").close()
EOF
fi
ptfs_mount "$small"
fg_ptfs() { find "$mnt" -type f -print0 | xargs -0 getfattr -d -m - >/dev/null 2>&1; }
fg_tree() { find "$tree" -type f -print0 | xargs -0 getfattr -d -m - >/dev/null 2>&1; }
fo_ptfs() { find "$mnt" -type f >/dev/null; }
fo_tree() { find "$tree" -type f >/dev/null; }
gr_tree() { getfattr -R -d -m - "$tree" >/dev/null 2>&1; }
fg_ptfs; fg_tree; gr_tree
runs=$RUNS; RUNS=$FIND_RUNS
s_fg=$(seconds fg_ptfs)
what="find + xargs getfattr -d -m -, ${FIND_N} tensors (s, ${FIND_RUNS} runs)"
s=$(seconds fo_tree)
row "$what" "$(fmt "$s_fg")" "find on a plain tree: $(fmt "$s")" "$(fmt "$(calc "$s_fg / $s")" 1)×" "≤ 2×"
s=$(seconds fg_tree)
row "$what" "$(fmt "$s_fg")" "find + getfattr on the plain tree: $(fmt "$s")" "$(fmt "$(calc "$s_fg / $s")" 1)×" "-"
s=$(seconds gr_tree)
row "$what" "$(fmt "$s_fg")" "getfattr -R on the plain tree: $(fmt "$s")" "$(fmt "$(calc "$s_fg / $s")" 1)×" "-"
s=$(seconds fo_ptfs)
s_t=$(seconds fo_tree)
row "find -type f alone, ${FIND_N} tensors (s, ${FIND_RUNS} runs)" "$(fmt "$s")" "find on a plain tree: $(fmt "$s_t")" "$(fmt "$(calc "$s / $s_t")" 1)×" "-"
# The same tree with the same extended attributes on the work dir's file system, read
# directly and through passthrough_ll -o xattr: the attributes' own cost, and FUSE's floor.
xtree=$work/xtree$FIND_N
if [ ! -f "$xtree/.done" ]; then
	rm -rf "$xtree"; cp -a "$tree" "$xtree"; rm -f "$xtree/.done"
	(cd "$mnt" && getfattr -R -d -m - . 2>/dev/null) |
		awk '/^# file: / {skip = ($3 ~ /^([.][/])?[.]ptfs/)} !skip' >"$work/xattrs.dump"
	(cd "$xtree" && setfattr --restore="$work/xattrs.dump")
	touch "$xtree/.done"
fi
fx_tree() { find "$xtree" -type f ! -name .done -print0 | xargs -0 getfattr -d -m - >/dev/null 2>&1; }
fx_tree
s=$(seconds fx_tree)
row "$what" "$(fmt "$s_fg")" "find + getfattr on the plain tree with the same xattrs: $(fmt "$s")" "$(fmt "$(calc "$s_fg / $s")" 1)×" "-"
RUNS=$runs
one=layer0/sub0/weight nx=${NX:-20000}
us_per() { fmt "$(calc "1000000 * $(selftimed "$work/getxattr" "$1" user.pt.dtype "$nx") / $nx")" 1; }
k_ptfs=$(us_per "$mnt/$one")
k=$(us_per "$xtree/$one")
row "one getxattr(user.pt.dtype) of a tensor (µs)" "$k_ptfs" "same xattr on the plain tree: $k" "$(fmt "$(calc "$k_ptfs / $k")" 1)×" "-"
umnt "$mnt"
if [ -n "$PT" ]; then
	# passthrough_ll holds a descriptor per inode it has looked up: ~2 per tensor here
	nofile=$((2 * FIND_N + 4096))
	umnt "$mpt"; (ulimit -n "$nofile" 2>/dev/null || true; exec "$work/passthrough_ll" -o source="$xtree",cache=always,xattr "$mpt")
	k=$(us_per "$mpt/$one")
	row "one getxattr(user.pt.dtype) of a tensor (µs)" "$k_ptfs" "same via passthrough_ll: $k" "$(fmt "$(calc "$k_ptfs / $k")")×" "-"
	fx_pt() { find "$mpt" -type f ! -name .done -print0 | xargs -0 getfattr -d -m - >/dev/null 2>&1; }
	if (ulimit -n "$nofile" 2>/dev/null) && fx_pt; then
		runs=$RUNS; RUNS=1
		s=$(seconds fx_pt)
		RUNS=$runs
		row "$what" "$(fmt "$s_fg")" "same via passthrough_ll -o xattr (1 run): $(fmt "$s")" "$(fmt "$(calc "$s_fg / $s")")×" "-"
	else
		# too few descriptors for the whole tree: both on its first 500 folders (5,000 tensors)
		nl=$((FIND_N / 10 < 500 ? FIND_N / 10 : 500))
		note "passthrough_ll needs $nofile open files for the whole xattr tree and may not have them: its find + getfattr row compares the first $nl folders (layer0..layer$((nl - 1))) only"
		umnt "$mpt"; "$work/passthrough_ll" -o source="$xtree",cache=always,xattr "$mpt"
		sub() { find $(seq -f "$1/layer%.0f" 0 $((nl - 1))) -type f -print0 | xargs -0 getfattr -d -m - >/dev/null 2>&1; }
		ptfs_mount "$small"
		sub "$mnt"; sub "$mpt"
		runs=$RUNS; RUNS=$FIND_RUNS
		s_a=$(seconds sub "$mnt")
		s_b=$(seconds sub "$mpt")
		RUNS=$runs
		umnt "$mnt"
		row "find + xargs getfattr -d -m -, $((nl * 10)) of the tensors (s, ${FIND_RUNS} runs)" "$(fmt "$s_a")" \
			"same folders via passthrough_ll -o xattr: $(fmt "$s_b")" "$(fmt "$(calc "$s_a / $s_b")")×" "-"
	fi
	umnt "$mpt"
fi

# ---- 5. daemon RSS after reading every tensor once ---------------------------------
# rss_row FILE LABEL TENSORS
rss_row() {
	local f=$1 n=$3 pid r lim
	ptfs_mount "$f"
	pid=$(ptfs_pid "$f")
	find "$mnt" -type f ! -path "$mnt/.ptfs/*" -print0 | xargs -0 cat >/dev/null
	r=$(rss_kib "$pid")
	lim=$((65536 + n))
	row "daemon RSS after reading all, $2 (MiB)" "$(fmt "$(calc "$r / 1024")" 1)" "target: $(fmt "$(calc "$lim / 1024")" 1)" \
		"$(fmt "$(calc "$r / $lim")")" "< 64 MiB + 1 KiB/tensor"
	umnt "$mnt"
}
rss_row "$rsspt" "16 tensors, ${RSS_GIB} GiB" 16
rss_row "$sixteen" "16 tensors, ${SAVE_GIB} GiB" 16
rss_row "$many" "${MANY_N} tensors, ${MANY_GIB} GiB" "$MANY_N"
rss_row "$small" "${FIND_N} tensors, tiny" "$FIND_N"

# ---- 6. 16 concurrent readers ------------------------------------------------------
plain=$work/plain16x${SAVE_GIB}g
ptfs_mount "$sixteen"
if [ ! -f "$plain/.done" ]; then
	rm -rf "$plain"; mkdir -p "$plain"
	for i in $(seq 0 15); do cat "$mnt/layer$i/weight" >"$plain/$i"; done
	touch "$plain/.done"
fi
par_cat() { local f; for f in "$@"; do cat "$f" >/dev/null & done; wait; }
pt_files=() pl_files=()
for i in $(seq 0 15); do pt_files+=("$mnt/layer$i/weight"); pl_files+=("$plain/$i"); done
cat "$sixteen" "${pt_files[@]}" "${pl_files[@]}" >/dev/null
tot=$(du -cb "${pl_files[@]}" | tail -1 | cut -f1)
what="16 concurrent cats of 16 tensors, $(fmt "$(calc "$tot / 1073741824")" 1) GiB in all (GiB/s)"
g_ptfs=$(gibps "$tot" "$(seconds par_cat "${pt_files[@]}")")
g=$(gibps "$tot" "$(seconds par_cat "${pl_files[@]}")")
row "$what" "$g_ptfs" "16 plain files: $g" "$(fmt "$(calc "$g_ptfs / $g")")" "≥ 0.80"
umnt "$mnt"
if [ -n "$PT" ]; then
	umnt "$mpt"; "$work/passthrough_ll" -o source="$plain",cache=always "$mpt"
	pp=(); for i in $(seq 0 15); do pp+=("$mpt/$i"); done
	cat "${pp[@]}" >/dev/null
	g=$(gibps "$tot" "$(seconds par_cat "${pp[@]}")")
	row "$what" "$g_ptfs" "16 plain files via passthrough_ll: $g" "$(fmt "$(calc "$g_ptfs / $g")")" "-"
	umnt "$mpt"
fi

# ---- 7. save of a remapped checkpoint vs cp ----------------------------------------
ptfs_mount "$sixteen"
cat "$sixteen" >/dev/null
out=$work/saved.pt cpo=$work/copied.pt
do_save() { printf 'map_location cpu\nsave %s\nwait\n' "$out" | dd bs=1M iflag=fullblock status=none of="$mnt/.ptfs/control"; sync; }
do_cp() { cp "$sixteen" "$cpo"; sync; }
ts=() tc=()
for i in $(seq "$RUNS"); do
	rm -f "$out" "$cpo"; sync
	t0=$(now); do_save; t1=$(now); ts+=("$(calc "$t1 - $t0")")
	rm -f "$out"; sync
	t0=$(now); do_cp; t1=$(now); tc+=("$(calc "$t1 - $t0")")
done
s_save=$(printf '%s\n' "${ts[@]}" | median)
s_cp=$(printf '%s\n' "${tc[@]}" | median)
ssize=$(stat -c %s "$sixteen")
row "save (map_location cpu) of a $(fmt "$(calc "$ssize / 1073741824")" 1) GiB checkpoint + sync (GiB/s)" \
	"$(gibps "$ssize" "$s_save")" "cp + sync: $(gibps "$ssize" "$s_cp")" "$(fmt "$(calc "$s_cp / $s_save")")" "≥ 0.80"
umnt "$mnt"
rm -f "$out" "$cpo"

# ---- 8. views of a 256 MiB storage beside its contiguous tensor (scripts/bench-views.sh)
mkdir -p "$work/views"
while IFS= read -r r; do rows+=("$r"); done < <(BENCH_VIEWS_ROWS=1 RUNS="$RUNS" bash scripts/bench-views.sh "$work/views")

# ---- the table ---------------------------------------------------------------------
echo
echo "| what | ptfs | baseline | ratio | target |"
echo "| --- | ---: | --- | ---: | --- |"
printf '%s\n' "${rows[@]}"
echo
fs=$(df -T "$work" | awk 'NR == 2 {print $2 " (" $1 ")"}')
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB RAM," \
	"kernel $(uname -r), work dir $work on $fs; runs=$RUNS (medians), page cache warm;" \
	"torch $($PY -c 'import torch; print(torch.__version__)') (Debian)"
echo "ratios: throughput rows ptfs/baseline (higher is better); find rows ptfs time/baseline time (lower is better);" \
	"mount row torch.load time / ptfs time; RSS rows RSS/target (< 1 meets it); save row cp time / save time;" \
	"view rows view MB/s / contiguous MB/s, each cat on a fresh mount"
for n in "${notes[@]+"${notes[@]}"}"; do echo "note: $n"; done

# ---- ptfs diff beside cmp (its own table) ------------------------------------------
echo
mkdir -p "$work/diff"
RUNS=$RUNS bash scripts/bench-diff.sh "$work/diff"

# ---- standard tools on mounts (cat, diff -r, sha256sum, the manifest) beside the raw
# files, then beside libfuse's passthrough_ll over the same tensors (their own tables)
echo
mkdir -p "$work/compare"
RUNS=$RUNS bash scripts/bench-compare.sh "$work/compare"
