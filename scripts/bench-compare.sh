#!/usr/bin/env bash
# Comparing checkpoints with standard tools on mounts (issue 14), each figure
# beside its baseline on the raw files, measured in the same run:
#
#   first cat of a 1 GiB tensor after mounting   vs  cat of the .pt (page cache warm)
#   first diff -r of two mounts (20,000 tensors)  vs  cmp of two equal 1 GiB files
#   sha256sum of every tensor file of a mount     vs  sha256sum of the .pt
#   cat .ptfs/manifest of 100,000 tensors         (time and size)
#
# and then FUSE's own floor on this machine, a second table: the same tools through
# libfuse's passthrough_ll example (libfuse3-dev's examples, cache=always, a fresh mount
# a run) over the same tensors copied out to plain folders, beside ptfs and the plain
# folders themselves. passthrough_ll holds a descriptor per inode, so its pair has
# PEER_N (8,000) tensors in 80 folders of 100 (16,081 inodes a side: under the
# 20,000 descriptors a process may hold here); the first cat row mounts the .pt's folder.
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
	umnt "$pa"
	umnt "$pb"
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
make -s all >/dev/null
PEER_N=${PEER_N:-8000}
pa=$work/pa pb=$work/pb
mkdir -p "$pa" "$pb"

make_once() { [ -s "$1" ] || "$PY" scripts/make-big.py "$@" >/dev/null; }
make_once "$work/big.pt" --gib 1 --tensors 1
make_once "$work/many_a.pt" --gib 1 --tensors 20000 --group 100
make_once "$work/many_b.pt" --gib 1 --tensors 20000 --group 100 # the same objects, another name
make_once "$work/small.pt" --small 100000
# cmp's baseline reads both files whole: a byte copy (many_b's zip differs from byte 30 on)
[ -s "$work/many_copy.pt" ] || cp "$work/many_a.pt" "$work/many_copy.pt"
# "page cache warm" is made true before each timed run, not once: this VM's DAMON
# pages out file pages left idle for a minute (kdamond's pageout scheme, age >= 12
# intervals of 5 s), so a file read at the start is partly on disk again minutes later
warm() { cat "$@" >/dev/null; }
warm_tree() { find "$@" -type f -exec cat {} + >/dev/null; }

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

cat_raw() {
	warm "$work/big.pt"
	timed cat "$work/big.pt"
}
cat_first() {
	warm "$work/big.pt"
	"$PTFS" "$work/big.pt" "$ma"
	timed cat "$ma/layer0/weight"
	umnt "$ma"
}
cmp_raw() {
	warm "$work/many_a.pt" "$work/many_copy.pt"
	timed cmp "$work/many_a.pt" "$work/many_copy.pt"
}
diff_first() {
	warm "$work/many_a.pt" "$work/many_b.pt"
	"$PTFS" "$work/many_a.pt" "$ma"
	"$PTFS" "$work/many_b.pt" "$mb"
	timed diff -r "$ma" "$mb"
	umnt "$ma"
	umnt "$mb"
}
sha_raw() {
	warm "$work/many_a.pt"
	timed sha256sum "$work/many_a.pt"
}
sha_mount() {
	warm "$work/many_a.pt"
	"$PTFS" "$work/many_a.pt" "$ma"
	(cd "$ma" && timed bash -c 'find . -path ./.ptfs -prune -o -type f -print0 | xargs -0 sha256sum')
	umnt "$ma"
}
manifest() {
	warm "$work/small.pt"
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

# ---- FUSE's floor: libfuse's passthrough_ll over the same tensors in plain folders ----
ex=/usr/share/doc/libfuse3-dev/examples
pll=$work/passthrough_ll
if [ ! -x "$pll" ]; then
	if [ -f "$ex/passthrough_ll.c" ]; then
		cp "$ex/passthrough_ll.c" "$ex/passthrough_helpers.h" "$work/"
		cc -O2 -o "$pll" "$work/passthrough_ll.c" $(pkg-config --cflags --libs fuse3) || true
	fi
fi
if [ ! -x "$pll" ]; then
	echo
	echo "note: libfuse3-dev's passthrough_ll example missing or not built: FUSE's floor not measured"
	exit 0
fi
ulimit -n "$(ulimit -Hn)"
need=$((PEER_N + PEER_N / 100 + 200))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
	echo
	echo "note: passthrough_ll needs $need descriptors for PEER_N=$PEER_N, this shell may hold $(ulimit -n): FUSE's floor not measured"
	exit 0
fi
for x in a b; do
	make_once "$work/peer_$x.pt" --gib "$(echo "scale=3; $PEER_N / 20000" | bc -l)" --tensors "$PEER_N" --group 100
	if [ ! -d "$work/tree_$x" ]; then # the tensors' bytes as plain files, the tree's names
		"$PTFS" "$work/peer_$x.pt" "$ma"
		mkdir -p "$work/tree_$x.tmp"
		(cd "$ma" && tar -cf - --exclude=./.ptfs .) | tar -xf - -C "$work/tree_$x.tmp"
		umnt "$ma"
		mv "$work/tree_$x.tmp" "$work/tree_$x"
	fi
done
[ -s "$work/peer_copy.pt" ] || cp "$work/peer_a.pt" "$work/peer_copy.pt"

pll_mount() { "$pll" -o source="$1",cache=always "$2"; }
sha_all='find . -path ./.ptfs -prune -o -type f -print0 | xargs -0 sha256sum'
p_cmp() {
	warm "$work/peer_a.pt" "$work/peer_copy.pt"
	timed cmp "$work/peer_a.pt" "$work/peer_copy.pt"
}
p_diff_plain() {
	warm_tree "$work/tree_a" "$work/tree_b"
	timed diff -r "$work/tree_a" "$work/tree_b"
}
p_diff_ptfs() {
	warm "$work/peer_a.pt" "$work/peer_b.pt"
	"$PTFS" "$work/peer_a.pt" "$ma"
	"$PTFS" "$work/peer_b.pt" "$mb"
	timed diff -r "$ma" "$mb"
	umnt "$ma"
	umnt "$mb"
}
p_diff_pll() {
	warm_tree "$work/tree_a" "$work/tree_b"
	pll_mount "$work/tree_a" "$pa"
	pll_mount "$work/tree_b" "$pb"
	timed diff -r "$pa" "$pb"
	umnt "$pa"
	umnt "$pb"
}
p_sha_raw() {
	warm "$work/peer_a.pt"
	timed sha256sum "$work/peer_a.pt"
}
p_sha_plain() {
	warm_tree "$work/tree_a"
	(cd "$work/tree_a" && timed bash -c "$sha_all")
}
p_sha_ptfs() {
	warm "$work/peer_a.pt"
	"$PTFS" "$work/peer_a.pt" "$ma"
	(cd "$ma" && timed bash -c "$sha_all")
	umnt "$ma"
}
p_sha_pll() {
	warm_tree "$work/tree_a"
	pll_mount "$work/tree_a" "$pa"
	(cd "$pa" && timed bash -c "$sha_all")
	umnt "$pa"
}
p_cat_pll() { # the whole .pt through passthrough_ll: FUSE's first read with no format at all
	warm "$work/big.pt"
	pll_mount "$work" "$pa"
	timed cat "$pa/big.pt"
	umnt "$pa"
}
pc_cmp=$(runs p_cmp)
pd_plain=$(runs p_diff_plain)
pd_ptfs=$(runs p_diff_ptfs)
pd_pll=$(runs p_diff_pll)
ps_raw=$(runs p_sha_raw)
ps_plain=$(runs p_sha_plain)
ps_ptfs=$(runs p_sha_ptfs)
ps_pll=$(runs p_sha_pll)
pcat_pll=$(runs p_cat_pll)
x() { echo "scale=1; $1 / $2" | bc -l; }
echo
echo "FUSE's floor: the same tools through libfuse's passthrough_ll (cache=always) over the same tensors as plain files ($PEER_N tensors, $(( $(stat -c %s "$work/peer_a.pt") / 1048576 )) MiB a side)"
echo
echo "| what | ptfs | passthrough_ll | plain folders | baseline | ptfs / passthrough_ll |"
echo "| --- | --- | --- | --- | --- | --- |"
echo "| first diff -r of two mounts | $pd_ptfs s ($(x "$pd_ptfs" "$pc_cmp") x) | $pd_pll s ($(x "$pd_pll" "$pc_cmp") x) | $pd_plain s ($(x "$pd_plain" "$pc_cmp") x) | cmp of two equal files: $pc_cmp s | $(ratio "$pd_ptfs" "$pd_pll") |"
echo "| sha256sum of every tensor file | $ps_ptfs s ($(x "$ps_ptfs" "$ps_raw") x) | $ps_pll s ($(x "$ps_pll" "$ps_raw") x) | $ps_plain s ($(x "$ps_plain" "$ps_raw") x) | sha256sum of the .pt: $ps_raw s | $(ratio "$ps_ptfs" "$ps_pll") |"
echo "| first cat of ${mib} MiB after mounting (MiB/s) | $(rate "$t_cat") (the tensor, above) | $(rate "$pcat_pll") (the whole .pt) | | cat of the .pt: $(rate "$t_cat_raw") | $(ratio "$t_cat" "$pcat_pll") |"
echo
echo "(N x): time / the baseline's time. ptfs / passthrough_ll: ptfs's time / passthrough_ll's (below 1: ptfs is faster)."
