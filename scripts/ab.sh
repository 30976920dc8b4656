#!/usr/bin/env bash
# A/B of two revisions' mount path: what a change bought, measured side by side.
#
#   bash scripts/ab.sh OLD_REV [WORKDIR]   (default WORKDIR /tmp/ptfs-bench, as make bench's)
#
# Builds OLD_REV in a git worktree and this working tree, then for each: the median
# wall time of pt_checkpoint_open (a small program linked against each library, 9
# runs), the heap after one open (malloc_trim'd RSS), mount + ls + umount of the
# 20,000-tensor checkpoint (9 runs), `find -type f` over the 100,000-tensor one
# (cold, then the median of 3 warm walks) and the daemon's RSS after reading every
# tensor. $WORKDIR/ab-open CHECKPOINT 1 is left built against the working tree, for
# `valgrind --tool=callgrind`. Uses the checkpoints scripts/bench.sh generates (MANY_GIB=10 MANY_N=20000,
# FIND_N=100000), generating them when missing. Prints numbers; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
old=${1:?usage: scripts/ab.sh OLD_REV [WORKDIR]}
work=${2:-/tmp/ptfs-bench}
PY=/usr/bin/python3
mkdir -p "$work"
many=$work/many10g20000.pt small=$work/small100000.pt
[ -s "$many" ] || $PY scripts/make-big.py "$many" --gib 10 --tensors 20000 --group 10 >&2
[ -s "$small" ] || $PY scripts/make-big.py "$small" --small 100000 >&2
tree=$work/ab-$(git rev-parse --short "$old")
mnt=$work/ab-mnt
mkdir -p "$mnt"
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u "$mnt"
	[ -d "$tree" ] && git worktree remove --force "$tree" >/dev/null 2>&1
	true
}
trap cleanup EXIT
git worktree add -f --detach "$tree" "$old" >/dev/null 2>&1
make -s -C "$tree" all >/dev/null
make -s all >/dev/null

cat >"$work/ab-open.c" <<'EOF'
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "checkpoint.h"
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
int main(int argc, char **argv)
{
	double t[99];
	int n = argc > 2 ? atoi(argv[2]) : 9; /* 1 under valgrind */
	long rss = 0, pages;
	struct pt_error err;
	FILE *f;
	if (n < 1 || n > 99) n = 9;
	for (int i = 0; i < n; i++) {
		double a = now();
		struct pt_checkpoint *ck = pt_checkpoint_open(argv[1], NULL, &err);
		t[i] = now() - a;
		if (!ck) { fprintf(stderr, "%s\n", err.msg); return 1; }
		if (i == 0) {
			malloc_trim(0);
			f = fopen("/proc/self/statm", "r");
			if (f && fscanf(f, "%*ld %ld", &pages) == 1) rss = pages * 4;
			if (f) fclose(f);
		}
		pt_checkpoint_close(ck);
	}
	qsort(t, n, sizeof(t[0]), cmp);
	printf("open %.1f ms (median of %d), RSS after one open %.1f MiB", t[n / 2], n, rss / 1024.0);
	return 0;
}
EOF

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
for side in "$old:$tree" "working tree:$ROOT"; do
	name=${side%%:*} dir=${side#*:}
	ptfs=$dir/build/ptfs
	cc -O2 -D_FILE_OFFSET_BITS=64 -I"$dir/lib" -o "$work/ab-open" "$work/ab-open.c" \
		"$dir/build/libptfs.a" $(pkg-config --libs libzip) -lz -lpthread
	cat "$many" "$small" >/dev/null
	o20=$(TZ=UTC "$work/ab-open" "$many") o100=$(TZ=UTC "$work/ab-open" "$small")
	ts=()
	for i in $(seq 9); do
		a=$(date +%s%N); "$ptfs" "$many" "$mnt"; ls "$mnt" >/dev/null; fusermount3 -u "$mnt"; b=$(date +%s%N)
		ts+=("$(ms "$a" "$b")")
	done
	mount=$(printf '%s\n' "${ts[@]}" | median)
	"$ptfs" "$small" "$mnt"
	a=$(date +%s%N); find "$mnt" -type f >/dev/null; b=$(date +%s%N); cold=$(ms "$a" "$b")
	ws=()
	for i in 1 2 3; do a=$(date +%s%N); find "$mnt" -type f >/dev/null; b=$(date +%s%N); ws+=("$(ms "$a" "$b")"); done
	warm=$(printf '%s\n' "${ws[@]}" | median)
	pid=$(pgrep -n -f "^$ptfs $small $mnt\$")
	find "$mnt" -type f ! -path "$mnt/.ptfs/*" -print0 | xargs -0 cat >/dev/null
	rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
	fusermount3 -u "$mnt"
	echo "$name:"
	echo "  20,000 tensors: $o20; mount + ls + umount $mount ms (median of 9)"
	echo "  100,000 tensors: $o100; find -type f cold $cold ms, warm $warm ms; daemon RSS after reading all $rss MiB"
done
