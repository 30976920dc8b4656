#!/usr/bin/env bash
# make bench: ptfs's figures side by side with baselines measured in the same
# run. It asserts nothing about time and CI does not run it.
#
#   scripts/bench.sh [WORKDIR]     (default: a temporary folder, removed after)
#
# Generates its checkpoints with Debian's torch (scripts/make-big.py), then
# prints a table: medians of RUNS runs, page cache warm (each file is read
# once before timing), on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PTFS=$ROOT/build/ptfs
RUNS=${RUNS:-5}
BIG_GIB=${BIG_GIB:-1}
work=${1:-$(mktemp -d)}
keep=${1:+yes}
mkdir -p "$work"
mnt=$work/mnt
mkdir -p "$mnt"
cleanup() {
	fusermount3 -u "$mnt" 2>/dev/null || true
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT

[ -x "$PTFS" ] || make -s all

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# seconds COMMAND...: the median wall time of RUNS runs
seconds() {
	local i t0 t1
	for i in $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		echo "$t1 - $t0" | bc -l
	done | median
}
gibps() { echo "scale=2; $1 / 1073741824 / $2" | bc -l; }
row() { printf '%-44s %14s %14s %8s\n' "$@"; }

big=$work/big.pt
small=$work/small20k.pt
[ -f "$big" ] || /usr/bin/python3 scripts/make-big.py "$big" --gib "$BIG_GIB" --tensors 1 >/dev/null
[ -f "$small" ] || /usr/bin/python3 scripts/make-big.py "$small" --small 20000 >/dev/null

echo "ptfs bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), runs=$RUNS"
echo "checkpoints: $(du -h "$big" | cut -f1) (1 tensor), $(du -h "$small" | cut -f1) (20,000 tensors)"
echo
row "what" "ptfs" "baseline" "ratio"

# 1. sequential cat of a 1 GiB tensor vs cat of the .pt file itself
"$PTFS" "$big" "$mnt"
t=$mnt/layer0/weight
size=$(stat -c %s "$t")
cat "$t" >/dev/null
cat "$big" >/dev/null
s_ptfs=$(seconds cat "$t")
s_raw=$(seconds cat "$big")
g_ptfs=$(gibps "$size" "$s_ptfs")
g_raw=$(gibps "$(stat -c %s "$big")" "$s_raw")
row "cat 1 GiB tensor (GiB/s) vs cat of the .pt" "$g_ptfs" "$g_raw" "$(echo "scale=2; $g_ptfs / $g_raw" | bc -l)"
pid=$(pgrep -n -f "$PTFS $big")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
row "daemon RSS after reading it (KiB)" "$rss" "-" "-"
fusermount3 -u "$mnt"

# 2. mount + ls of the root, 20,000 tensors, vs torch.load to the first tensor
mount_ls() { "$PTFS" "$small" "$mnt" && ls "$mnt" >/dev/null && fusermount3 -u "$mnt"; }
s_mount=$(seconds mount_ls)
s_torch=$(RUNS=1 seconds /usr/bin/python3 -c "import torch; sd=torch.load('$small'); next(iter(sd.values()))")
row "mount+ls+umount 20,000 tensors (ms)" "$(echo "$s_mount * 1000" | bc -l | cut -c1-7)" \
	"$(echo "$s_torch * 1000" | bc -l | cut -c1-7)" "$(echo "scale=1; $s_torch / $s_mount" | bc -l)x"

"$PTFS" "$small" "$mnt"
find "$mnt" -type f -exec cat {} + >/dev/null
pid=$(pgrep -n -f "$PTFS $small")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
row "daemon RSS after reading 20,000 (KiB)" "$rss" "-" "-"
fusermount3 -u "$mnt"
echo
echo "baselines: cat of the checkpoint file itself; torch.load of Debian's torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (one run)"
