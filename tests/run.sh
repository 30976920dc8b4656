#!/usr/bin/env bash
# Runs every test: the C unit tests (plain and ASan+UBSan builds) and the bats
# suites, then prints one line "N passed, N failed[, N skipped]" and exits
# non-zero when anything failed. Expects `make all unit unit-asan` to have run
# (make test does both). PTFS_SHARED points at the shared corpus (default
# ../shared beside the repository).
set -u
cd "$(dirname "$0")/.."
export PTFS_SHARED="${PTFS_SHARED:-$(cd .. && pwd)/shared}"
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count_unit() { # parses "name: N passed, M failed"
	local line
	line=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		echo "FAIL: $1 printed no result line"
		return
	fi
	local p f
	p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$line")
	f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$line")
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in build/test_* build/asan/test_*; do
	[ -x "$t" ] || continue
	echo "== $t"
	if ASAN_OPTIONS=detect_leaks=1 "$t" "$PTFS_SHARED" tests/fixtures >"$log" 2>&1; then rc=0; else rc=$?; fi
	tail -n 20 "$log"
	count_unit "$t"
	if [ "$rc" -ne 0 ] && ! grep -qE ' [1-9][0-9]* failed$' "$log"; then
		failed=$((failed + 1))
		echo "FAIL: $t exited $rc"
	fi
done

echo "== bats"
if [ ! -e /dev/fuse ]; then
	echo "no /dev/fuse: mount tests will be skipped"
fi
bats --tap tests/*.bats | tee "$log"
b_ok=$(grep -cE '^ok [0-9]+' "$log" || true)
b_skip=$(grep -cE '^ok [0-9]+.* # skip' "$log" || true)
b_fail=$(grep -cE '^not ok [0-9]+' "$log" || true)
passed=$((passed + b_ok - b_skip))
skipped=$((skipped + b_skip))
failed=$((failed + b_fail))
if ! grep -qE '^1\.\.[0-9]+' "$log"; then
	failed=$((failed + 1))
	echo "FAIL: bats printed no plan"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
