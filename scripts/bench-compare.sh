#!/usr/bin/env bash
# Comparing checkpoints with standard tools on mounts (issue 14), each figure
# beside its baseline on the raw files, measured in the same run:
#
#   first cat of a 1 GiB tensor after mounting   vs  cat of the .pt (page cache warm)
#   first diff -r of two mounts (20,000 tensors)  vs  cmp of two equal 1 GiB files
#   sha256sum of every tensor file of a mount     vs  sha256sum of the .pt
#   cat .ptfs/manifest of 100,000 tensors         (time and size)
#
#   bash scripts/bench-compare.sh [WORKDIR]   (default: a temporary folder, removed after)
#
# Medians of RUNS (3) runs; every mount is fresh for its run, so "first" means
# the kernel has cached nothing of it. Prints a markdown table. CI does not run it.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" "$@"
RUNS=${RUNS:-3}
ma=$work/ma mb=$work/mb
mkdir -p "$ma" "$mb"
umnt() { mountpoint -q "$1" 2>/dev/null && fusermount3 -u "$1"; true; }
cleanup() {
	umnt "$ma"
	umnt "$mb"
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
make -s all >/dev/null

make_once() { [ -s "$1" ] || "$PY" scripts/make-big.py "$@" >/dev/null; }
make_once "$work/big.pt" --gib 1 --tensors 1
make_once "$work/many_a.pt" --gib 1 --tensors 20000 --group 100
make_once "$work/many_b.pt" --gib 1 --tensors 20000 --group 100 # the same objects, another name
make_once "$work/small.pt" --small 100000
# cmp's baseline reads both files whole: a byte copy (many_b's zip differs from byte 30 on)
[ -s "$work/many_copy.pt" ] || cp "$work/many_a.pt" "$work/many_copy.pt"
cat "$work"/*.pt >/dev/null # page cache warm

now() { echo "$EPOCHREALTIME"; }
# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# timed CMD...: seconds CMD took
timed() {
	local t0 t1
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
runs() { for _ in $(seq "$RUNS"); do "$@"; done | median; }

cat_raw() { timed cat "$work/big.pt"; }
cat_first() {
	"$PTFS" "$work/big.pt" "$ma"
	timed cat "$ma/layer0/weight"
	umnt "$ma"
}
cmp_raw() { timed cmp "$work/many_a.pt" "$work/many_copy.pt"; }
diff_first() {
	"$PTFS" "$work/many_a.pt" "$ma"
	"$PTFS" "$work/many_b.pt" "$mb"
	timed diff -r "$ma" "$mb"
	umnt "$ma"
	umnt "$mb"
}
sha_raw() { timed sha256sum "$work/many_a.pt"; }
sha_mount() {
	"$PTFS" "$work/many_a.pt" "$ma"
	(cd "$ma" && timed bash -c 'find . -path ./.ptfs -prune -o -type f -print0 | xargs -0 sha256sum')
	umnt "$ma"
}
manifest() {
	"$PTFS" "$work/small.pt" "$ma"
	timed cat "$ma/.ptfs/manifest"
	umnt "$ma"
}

mib=$(( $(stat -c %s "$work/big.pt") / 1048576 ))
t_cat_raw=$(runs cat_raw)
t_cat=$(runs cat_first)
t_cmp=$(runs cmp_raw)
t_diff=$(runs diff_first)
t_sha_raw=$(runs sha_raw)
t_sha=$(runs sha_mount)
t_man=$(runs manifest)
"$PTFS" "$work/small.pt" "$ma"
man_bytes=$(wc -c <"$ma/.ptfs/manifest")
umnt "$ma"

ratio() { echo "scale=2; $1 / $2" | bc -l; }
rate() { echo "scale=0; $mib / $1" | bc -l; }
echo "| what | ptfs | baseline | ratio | target |"
echo "| --- | --- | --- | --- | --- |"
echo "| first cat of a ${mib} MiB tensor after mounting | $t_cat s ($(rate "$t_cat") MiB/s) | cat of the .pt: $t_cat_raw s ($(rate "$t_cat_raw") MiB/s) | $(ratio "$t_cat_raw" "$t_cat") of raw speed | >= 0.40 |"
echo "| first diff -r of two mounts (20,000 tensors, 1 GiB) | $t_diff s | cmp of two equal files: $t_cmp s | $(ratio "$t_diff" "$t_cmp") x | <= 4 x |"
echo "| sha256sum of every tensor file (20,000) | $t_sha s | sha256sum of the .pt: $t_sha_raw s | $(ratio "$t_sha" "$t_sha_raw") x | <= 1.5 x |"
echo "| cat .ptfs/manifest (100,000 tensors, $man_bytes bytes) | $t_man s | | | well under 1 s |"
echo
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), RUNS=$RUNS, $(date -u +%Y-%m-%dT%H:%MZ)"
