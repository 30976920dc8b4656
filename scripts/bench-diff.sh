#!/usr/bin/env bash
# `ptfs diff` beside `cmp` of the same two files, in the same run. Asserts
# nothing; scripts/bench.sh calls it, and it runs alone:
#
#   RUNS=5 scripts/bench-diff.sh [WORKDIR]   (default: a temporary folder, removed
#                                              after; a given WORKDIR keeps its files)
#
# Makes with Debian's torch (scripts/make-big.py) a checkpoint of DIFF_GIB (1) GiB in
# DIFF_N (20,000) float32 tensors (A), a byte copy of it (A2), and the same objects saved
# again with one element of one tensor changed (B). Reads each file once so the page
# cache is warm, then prints a markdown table of medians over RUNS runs: wall time and
# peak RSS (/usr/bin/time's %M) of `cmp A A2` (cmp reads both files whole only when they
# are equal: it stops at the first differing byte, and A and B differ in their first
# record's name), `ptfs diff A A2` and `ptfs diff A B`; then the same for a checkpoint of
# DIFF_GIB in 4 tensors (C, and its copy C2), whose chunks are read in parallel.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" "$@"
RUNS=${RUNS:-5}
DIFF_GIB=${DIFF_GIB:-1}
DIFF_N=${DIFF_N:-20000}
cleanup() { [ -n "$keep" ] || rm -rf "$work"; }
trap cleanup EXIT

make -s all >/dev/null
a=$work/diff-a.pt a2=$work/diff-a2.pt b=$work/diff-b.pt c=$work/diff-c.pt c2=$work/diff-c2.pt
bump=$((DIFF_N / 2))
if [ ! -s "$a" ] || [ ! -s "$b" ]; then
	"$PY" scripts/make-big.py "$a" --gib "$DIFF_GIB" --tensors "$DIFF_N" --group 100 >&2
	cp "$a" "$a2"
	"$PY" scripts/make-big.py "$b" --gib "$DIFF_GIB" --tensors "$DIFF_N" --group 100 --bump "$bump" >&2
fi
if [ ! -s "$c2" ]; then
	"$PY" scripts/make-big.py "$c" --gib "$DIFF_GIB" --tensors 4 >&2
	cp "$c" "$c2"
fi
cat "$a" "$a2" "$b" "$c" "$c2" >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# once NAME EXPECTED_STATUS COMMAND...: appends "seconds rss_kib" of one run to $work/NAME
once() {
	local name=$1 want=$2 rc=0
	shift 2
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "bench-diff: $name exited $rc, not $want" >&2
		exit 1
	fi
	tail -n 1 "$work/time" >>"$work/$name" # after "Command exited with non-zero status 1"
}
# rounds interleave the commands, so that a load from elsewhere weighs on each alike
rm -f "$work"/r-*
for i in $(seq "$RUNS"); do
	once r-cmp 0 cmp "$a" "$a2"
	once r-eq 0 "$PTFS" diff "$a" "$a2"
	once r-one 1 "$PTFS" diff "$a" "$b"
	once r-cmpc 0 cmp "$c" "$c2"
	once r-eqc 0 "$PTFS" diff "$c" "$c2"
done
# stat NAME: "median_seconds median_rss_kib"
stat() { echo "$(awk '{print $1}' "$work/$1" | median) $(awk '{print $2}' "$work/$1" | median)"; }
read -r t_cmp m_cmp <<<"$(stat r-cmp)"
read -r t_eq m_eq <<<"$(stat r-eq)"
read -r t_one m_one <<<"$(stat r-one)"
read -r t_cmpc m_cmpc <<<"$(stat r-cmpc)"
read -r t_eqc m_eqc <<<"$(stat r-eqc)"
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {printf "%.2f", (y > 0 ? x / y : 0)}'; }

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
echo "| ${DIFF_GIB} GiB, page cache warm, median of $RUNS | seconds | x cmp | peak RSS (MiB) |"
echo "| --- | ---: | ---: | ---: |"
echo "| $DIFF_N tensors: \`cmp A A2\` (A2 a byte copy of A) | $t_cmp | 1.00 | $(mib "$m_cmp") |"
echo "| $DIFF_N tensors: \`ptfs diff A A2\` (equal) | $t_eq | $(ratio "$t_eq" "$t_cmp") | $(mib "$m_eq") |"
echo "| $DIFF_N tensors: \`ptfs diff A B\` (B saved again, one element changed) | $t_one | $(ratio "$t_one" "$t_cmp") | $(mib "$m_one") |"
echo "| 4 tensors: \`cmp C C2\` (C2 a byte copy of C) | $t_cmpc | 1.00 | $(mib "$m_cmpc") |"
echo "| 4 tensors: \`ptfs diff C C2\` (equal, chunks read in parallel) | $t_eqc | $(ratio "$t_eqc" "$t_cmpc") | $(mib "$m_eqc") |"
echo
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r); ptfs $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
"$PTFS" diff "$a" "$b" | grep -v ': equal$' || true
