#!/usr/bin/env bash
# fuzz.sh - build and run the libFuzzer harnesses of tests/fuzz/.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
#
# Builds each harness with clang (libFuzzer + ASan + UBSan) against the
# library sources, builds its seed corpus (tests/fixtures, ../shared when
# present), fuzzes it for SECONDS (default 60), then replays every input in
# tests/fuzz/regressions/ whose name starts with the harness name. Harnesses:
# fuzz_pickle fuzz_zip fuzz_legacy fuzz_open fuzz_json fuzz_safetensors (default: all; the
# "fuzz_" may be left out). Exits non-zero when a harness crashed, leaked,
# timed out or ran out of memory, or a regression input fails.
#
# Environment: FUZZ_WORK (work dir, default build/fuzz), PTFS_SHARED (default
# ../shared), CC_FUZZ (default clang), FUZZ_JOBS (parallel compiles),
# FUZZ_ARGS (more libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to keep
# going after a crash).
# New inputs stay in $FUZZ_WORK/corpus-<harness>/ between runs; crash inputs
# go to $FUZZ_WORK/artifacts/. Two runs at once must fuzz different harnesses.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ALL=(fuzz_pickle fuzz_zip fuzz_legacy fuzz_open fuzz_json fuzz_safetensors)
FUZZ_SECONDS=${1:-60}
[[ $# -gt 0 ]] && shift
if ! [[ $FUZZ_SECONDS =~ ^[0-9]+$ ]]; then
	echo "usage: $0 [SECONDS] [HARNESS...]" >&2
	exit 2
fi
(($# > 0)) || set -- "${ALL[@]}"
HARNESSES=()
for h in "$@"; do
	h=fuzz_${h#fuzz_}
	if [[ ! -f tests/fuzz/$h.c ]]; then
		echo "fuzz: no harness $h (have: ${ALL[*]})" >&2
		exit 2
	fi
	HARNESSES+=("$h")
done

WORK=${FUZZ_WORK:-build/fuzz}
SHARED=${PTFS_SHARED:-../shared}
CC_FUZZ=${CC_FUZZ:-clang}
JOBS=${FUZZ_JOBS:-$(nproc)}
FUZZ_ARGS=${FUZZ_ARGS:-}
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=python3

# shellcheck disable=SC2054 # commas are part of the flag
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
CFLAGS=(-g -O1 -std=gnu11 -D_FILE_OFFSET_BITS=64 "${SAN[@]}")
ZIP_CFLAGS=$(pkg-config --cflags libzip 2>/dev/null || true)
ZIP_LIBS="$(pkg-config --libs libzip 2>/dev/null || echo -lzip) -lz -lm -lpthread $(pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)"

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mkdir -p "$WORK/obj" "$WORK/bin" "$WORK/logs" "$WORK/artifacts"

# --- build -------------------------------------------------------------------

# True when obj is missing or older than src or any lib/ header.
stale() {
	local obj=$1 f
	[[ -f $obj ]] || return 0
	for f in "$2" lib/*.h; do
		[[ $f -nt $obj ]] && return 0
	done
	return 1
}

# Compiles lib/X.c to $WORK/obj/X.o when it is stale.
compile_lib() {
	local src=$1 obj
	obj=$WORK/obj/$(basename "${src%.c}").o
	stale "$obj" "$src" || return 0
	# shellcheck disable=SC2086
	"$CC_FUZZ" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link $ZIP_CFLAGS \
		-c -o "$obj.tmp" "$src" && mv "$obj.tmp" "$obj"
}

build() {
	local src h objs=() pids=() fail=0 pid
	for src in lib/*.c; do
		objs+=("$WORK/obj/$(basename "${src%.c}").o")
		compile_lib "$src" &
		pids+=($!)
		if ((${#pids[@]} >= JOBS)); then
			wait "${pids[0]}" || fail=1
			pids=("${pids[@]:1}")
		fi
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || fail=1
	done
	((fail == 0)) || { echo "fuzz: building lib/ failed" >&2; return 1; }
	for h in "${HARNESSES[@]}"; do
		# shellcheck disable=SC2086
		"$CC_FUZZ" "${CFLAGS[@]}" -fsanitize=fuzzer -Wall -Wextra -Werror \
			-Ilib $ZIP_CFLAGS -o "$WORK/bin/$h" "tests/fuzz/$h.c" \
			"${objs[@]}" $ZIP_LIBS || { echo "fuzz: building $h failed" >&2; return 1; }
	done
}

echo "fuzz: building ${HARNESSES[*]} with $CC_FUZZ"
# one build at a time: a second run waits for the first one's objects
exec 9>"$WORK/.build.lock"
flock 9
build
flock -u 9

# --- seeds and dictionaries ----------------------------------------------------

for h in "${HARNESSES[@]}"; do
	rm -rf "$WORK/seeds-$h"
	mkdir -p "$WORK/corpus-$h"
done
"$PYTHON" tests/fuzz/make-seeds.py "$WORK" "$SHARED" "${HARNESSES[@]}"
[[ -d $SHARED ]] || echo "fuzz: $SHARED is absent; seeds come from tests/fixtures only"
cat tests/fuzz/pickle.dict tests/fuzz/zip.dict >"$WORK/open.dict"

dict_for() {
	case $1 in
	fuzz_pickle | fuzz_legacy) echo tests/fuzz/pickle.dict ;;
	fuzz_zip) echo tests/fuzz/zip.dict ;;
	fuzz_json | fuzz_safetensors) echo tests/fuzz/json.dict ;;
	fuzz_open) echo "$WORK/open.dict" ;;
	esac
}

# The largest input to try: small for the pickle and JSON machines, so time goes
# to many short inputs; the containers keep their seeds whole (a zip truncated
# loses its central directory), up to libFuzzer's default of the largest seed.
max_len_for() {
	case $1 in
	fuzz_pickle | fuzz_json) echo 65536 ;;
	fuzz_legacy) echo 131072 ;;
	*) echo 0 ;;
	esac
}

# --- fuzz and replay -------------------------------------------------------------

PASSED=0
FAILED=0
TOTAL_CPU=0
REPORT=()

# The value of "key: value" on the last libFuzzer status line of a log.
last_field() {
	grep -E "^#[0-9]+.* $2: " "$1" | tail -n 1 | sed -E "s/.* $2: ([^ ]+).*/\1/" || true
}

# One stat::name value from -print_final_stats.
final_stat() {
	sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

run_one() {
	local h=$1 log=$WORK/logs/$1.log tf=$WORK/logs/$1.time rc=0
	local stamp cpu runs eps cov ft corp crashes status
	stamp=$WORK/logs/$h.start
	echo "fuzz: $h for ${FUZZ_SECONDS}s"
	touch "$stamp"
	TIMEFORMAT='%U %S'
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	{ time "$WORK/bin/$h" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
		-max_len="$(max_len_for "$h")" -print_final_stats=1 -dict="$(dict_for "$h")" \
		-artifact_prefix="$WORK/artifacts/$h-" $FUZZ_ARGS \
		"$WORK/corpus-$h" "$WORK/seeds-$h" >"$log" 2>&1; } 2>"$tf" || rc=$?
	cpu=$(awk '{ printf "%.1f", $1 + $2 }' "$tf")
	TOTAL_CPU=$(awk -v a="$TOTAL_CPU" -v b="$cpu" 'BEGIN { printf "%.1f", a + b }')
	runs=$(final_stat "$log" number_of_executed_units)
	eps=$(final_stat "$log" average_exec_per_sec)
	# -fork mode prints no stat:: lines; take its last status line
	[[ -n $runs ]] || runs=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -n 1 |
		sed -E 's/^#([0-9]+).*/\1/' || true)
	[[ -n $eps ]] || eps=$(grep -E '^#[0-9]+.* exec/s' "$log" | tail -n 1 |
		sed -E 's|.* exec/s:? ([0-9]+).*|\1|' || true)
	cov=$(last_field "$log" cov)
	ft=$(last_field "$log" ft)
	corp=$(find "$WORK/corpus-$h" -type f | wc -l)
	# with -ignore_crashes the exit status is 0: count what it wrote instead
	crashes=$(find "$WORK/artifacts" -name "$h-*" -newer "$stamp" -type f | wc -l)
	if ((rc == 0 && crashes == 0)); then
		status=ok
		PASSED=$((PASSED + 1))
	else
		status="FAILED (exit $rc, $crashes new artifacts, log $log)"
		FAILED=$((FAILED + 1))
		grep -E '^(==[0-9]+==ERROR|SUMMARY|FUZZ_CHECK|failed without|.*runtime error:)' "$log" |
			sort | uniq -c | head -n 20 || true
		find "$WORK/artifacts" -name "$h-*" -newer "$stamp" -type f | sed 's/^/    artifact: /'
		echo "    keep one: cp <artifact> tests/fuzz/regressions/$h-<short-name>"
	fi
	REPORT+=("$(printf '%-12s %10s runs %7s exec/s  cov %-5s ft %-6s corpus %5s  %7s CPU s  %s' \
		"$h" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$corp" "$cpu" "$status")")
}

replay() {
	local h=$1 f n=0 bad=0
	shopt -s nullglob
	for f in tests/fuzz/regressions/"$h"-*; do
		n=$((n + 1))
		if "$WORK/bin/$h" -rss_limit_mb=2048 -timeout=10 "$f" >"$WORK/logs/replay.log" 2>&1; then
			PASSED=$((PASSED + 1))
		else
			bad=$((bad + 1))
			FAILED=$((FAILED + 1))
			echo "fuzz: regression $f FAILS:"
			grep -E "^(==[0-9]+==ERROR|SUMMARY|FUZZ_CHECK|failed without|.*runtime error:|    #[0-9]+ .* $ROOT/(lib|tests)/)" \
				"$WORK/logs/replay.log" | head -n 12 || true
			cp "$WORK/logs/replay.log" "$WORK/logs/replay-$(basename "$f").log"
		fi
	done
	shopt -u nullglob
	if ((n)); then
		REPORT+=("$(printf '%-12s %d regression inputs replayed, %d failed' "$h" "$n" "$bad")")
	fi
}

if ((FUZZ_SECONDS > 0)); then
	for h in "${HARNESSES[@]}"; do
		run_one "$h"
	done
fi
for h in "${HARNESSES[@]}"; do
	replay "$h"
done

echo
printf '%s\n' "${REPORT[@]}"
echo "total CPU: $TOTAL_CPU s ($(awk -v s="$TOTAL_CPU" 'BEGIN { printf "%.3f", s / 3600 }') CPU-hours)"
echo "fuzz: $PASSED passed, $FAILED failed"
((FAILED == 0))
