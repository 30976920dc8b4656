#!/usr/bin/env bash
# make bench's view rows (issue 12), runnable alone:
#
#   RUNS=5 scripts/bench-views.sh [WORKDIR]   (default: a temporary folder, removed after;
#                                              a given WORKDIR keeps its checkpoint for reruns)
#
# One float32 storage of VIEWS_MIB (256) MiB and views of it, written by
# scripts/make-big.py --views with Debian's torch: cat of the contiguous tensor
# beside cat of each view, in the same run. Each timed cat is on a fresh mount
# (the kernel keeps a file's pages between opens, so a second cat on one mount
# would time the page cache, not ptfs), the .pt itself warm in the page cache.
# Prints bench.sh's markdown rows "| what | ptfs | baseline | ratio | target |" on
# stdout: MB/s of output bytes (median of RUNS) with the daemon's RSS growth while
# it reads (VmHWM after the cat minus VmRSS before it, the most of the runs), the
# contiguous tensor's MB/s, their ratio. bench.sh calls it with BENCH_VIEWS_ROWS=1
# for the rows alone.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" "$@"
RUNS=${RUNS:-5}
VIEWS_MIB=${VIEWS_MIB:-256}
mnt=$work/mnt-views
mkdir -p "$mnt"
umnt() { mountpoint -q "$1" 2>/dev/null && { fusermount3 -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null; }; true; }
cleanup() {
	umnt "$mnt"
	rmdir "$mnt" 2>/dev/null || true
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT

[ -x "$PTFS" ] || make -s all >/dev/null
ck=$work/views${VIEWS_MIB}m.pt
[ -s "$ck" ] || { echo "bench-views: generating $(basename "$ck")" >&2
	$PY scripts/make-big.py "$ck.tmp" --views "$VIEWS_MIB" >&2 && mv "$ck.tmp" "$ck"; }
cat "$ck" >/dev/null

calc() { echo "scale=6; $*" | bc -l; }
fmt() { printf "%.${2:-2}f" "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# one NAME: "seconds growth_kib" of one cat of NAME on a fresh mount
one() {
	local pid r0 t0 t1 hwm
	"$PTFS" "$ck" "$mnt"
	pid=$(pgrep -n -f "^$PTFS $ck $mnt\$")
	r0=$(status_kib "$pid" VmRSS)
	t0=$EPOCHREALTIME
	cat "$mnt/$1" >/dev/null
	t1=$EPOCHREALTIME
	hwm=$(status_kib "$pid" VmHWM)
	umnt "$mnt"
	echo "$(calc "$t1 - $t0") $((hwm - r0))"
}

# measure NAME: sets SECS (median) and GROW (KiB, most of the runs)
measure() {
	local i out s=() g=0 x
	for i in $(seq "$RUNS"); do
		out=$(one "$1")
		s+=("${out% *}")
		x=${out#* }
		[ "$x" -gt "$g" ] && g=$x
	done
	SECS=$(printf '%s\n' "${s[@]}" | median)
	GROW=$g
}

declare -A what=(
	[contiguous]="a, 8192 x 8192 (the baseline)"
	[transpose]="a.t()"
	[permute]="a.view(64, 32, 4, 8192).permute(3, 1, 2, 0)"
	[slice2]="a[:, ::2]"
	[slice2rows]="a[::2]"
	[expand]="a[:1].expand(8192, 8192)"
)
[ "$VIEWS_MIB" = 256 ] || what[permute]="a.view(n // 128, 32, 4, n).permute(3, 1, 2, 0)"
views=(contiguous transpose permute slice2 slice2rows expand)
declare -A sizes
"$PTFS" "$ck" "$mnt"
for v in "${views[@]}"; do sizes[$v]=$(stat -c %s "$mnt/$v"); done
umnt "$mnt"
rows=()
base=
for v in "${views[@]}"; do
	size=${sizes[$v]}
	measure "$v"
	mbps=$(calc "$size / 1048576 / $SECS")
	[ -n "$base" ] || base=$mbps
	ratio=$(calc "$mbps / $base")
	target="≥ 0.25; growth ≤ 64 MiB"
	[ "$v" = contiguous ] && target="-"
	rows+=("| cat of ${what[$v]} (MB/s; daemon RSS growth), ${VIEWS_MIB} MiB storage, $((size >> 20)) MiB out | $(fmt "$mbps" 0) (+$(fmt "$(calc "$GROW / 1024")" 1) MiB) | contiguous tensor: $(fmt "$base" 0) | $(fmt "$ratio") | $target |")
	echo "bench-views: $v: $(fmt "$SECS" 3) s, $(fmt "$mbps" 0) MB/s, ratio $(fmt "$ratio"), RSS growth $(fmt "$(calc "$GROW / 1024")" 1) MiB" >&2
done
if [ -z "${BENCH_VIEWS_ROWS:-}" ]; then
	echo "| what | ptfs | baseline | ratio | target |"
	echo "| --- | ---: | --- | ---: | --- |"
fi
printf '%s\n' "${rows[@]}"
if [ -z "${BENCH_VIEWS_ROWS:-}" ]; then
	echo
	echo "machine: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); runs=$RUNS (medians; RSS growth: the most of the runs)"
fi
