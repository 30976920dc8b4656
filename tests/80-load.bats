#!/usr/bin/env bats
# Load: 16 concurrent readers of different tensors plus control-file writers,
# for PTFS_LOAD_SECONDS (60 by default), with zero errors and the same bytes
# every time; then a clean SIGTERM unmount.

load helpers

setup() {
	load_libs
	need_fuse
}

@test "16 readers and control writes for PTFS_LOAD_SECONDS: no error, stable bytes" {
	local secs=${PTFS_LOAD_SECONDS:-60} i
	mount_ckpt "$FIX/01_dtypes.pt"
	mapfile -t files < <(find "$MNT" -maxdepth 1 -type f | sort | head -n 16)
	[ "${#files[@]}" -eq 16 ]
	for i in "${!files[@]}"; do sha256sum <"${files[$i]}" >"$BATS_TEST_TMPDIR/want.$i"; done
	end=$((SECONDS + secs))
	for i in "${!files[@]}"; do
		(
			n=0
			while [ "$SECONDS" -lt "$end" ]; do
				sha256sum <"${files[$i]}" | cmp -s - "$BATS_TEST_TMPDIR/want.$i" || { echo "reader $i: bytes differ" >>"$BATS_TEST_TMPDIR/errors"; break; }
				getfattr --only-values -n user.pt.location "${files[$i]}" >/dev/null 2>&1 || echo "reader $i: getfattr" >>"$BATS_TEST_TMPDIR/errors"
				n=$((n + 1))
			done
			echo "$n" >"$BATS_TEST_TMPDIR/reads.$i"
		) &
	done
	(
		k=0
		while [ "$SECONDS" -lt "$end" ]; do
			echo "map_location cuda:$((k % 8))" >"$MNT/.ptfs/control" 2>>"$BATS_TEST_TMPDIR/errors" || echo "control write failed" >>"$BATS_TEST_TMPDIR/errors"
			cat "$MNT/.ptfs/control" >/dev/null || echo "control read failed" >>"$BATS_TEST_TMPDIR/errors"
			k=$((k + 1))
		done
		echo "$k" >"$BATS_TEST_TMPDIR/writes"
	) &
	wait
	[ ! -s "$BATS_TEST_TMPDIR/errors" ] || { cat "$BATS_TEST_TMPDIR/errors"; return 1; }
	total=$(cat "$BATS_TEST_TMPDIR"/reads.* | paste -sd+ | bc)
	echo "# $total reads, $(cat "$BATS_TEST_TMPDIR/writes") control writes in $secs s" >&3
	[ "$total" -gt 16 ]
	pid=$(pgrep -n -f "$PTFS $FIX/01_dtypes.pt $MNT")
	kill -TERM "$pid"
	for i in $(seq 50); do is_mounted "$MNT" || break; sleep 0.1; done
	! is_mounted "$MNT"
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null
}

@test "the daemon under ASan+LSan: readers, rules, a save, a reload and -o follow leak nothing" {
	local asan="$ROOT/build/asan/ptfs" logs="$BATS_TEST_TMPDIR/asan" i
	[ -x "$asan" ] || skip "no ASan daemon (make unit-asan)"
	mkdir -p "$logs" "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/out"
	cp "$FIX/04_views.pt" "$BATS_TEST_TMPDIR/c.pt"
	MNT="$BATS_TEST_TMPDIR/m"
	MOUNTS+=("$MNT")
	ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan" "$asan" -f -o follow "$BATS_TEST_TMPDIR/c.pt" "$MNT" 3>&- &
	pid=$!
	for i in $(seq 100); do is_mounted "$MNT" && break; sleep 0.1; done
	is_mounted "$MNT"
	end=$((SECONDS + ${PTFS_LEAK_SECONDS:-10}))
	for i in $(seq 8); do
		(while [ "$SECONDS" -lt "$end" ]; do cat "$MNT"/* >/dev/null; getfattr -R -d -m - "$MNT" >/dev/null 2>&1; done) &
	done
	while [ "$SECONDS" -lt "$end" ]; do
		{ echo 'map_location cuda:1' >"$MNT/.ptfs/control" &&
			setfattr -n user.pt.location -v cpu "$MNT/t" &&
			echo 'map_location reset' >"$MNT/.ptfs/control" &&
			cat "$MNT/.ptfs/control" "$MNT/.ptfs/globals" >/dev/null; } ||
			{ cat "$logs"/asan* 2>/dev/null; return 1; }
	done
	wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
	printf 'map_location cpu\nsave %s\nwait\n' "$BATS_TEST_TMPDIR/out/s.pt" | dd of="$MNT/.ptfs/control" bs=1M iflag=fullblock status=none
	echo reload >"$MNT/.ptfs/control"
	cat "$MNT"/* >/dev/null
	cp "$FIX/17_demo.pt" "$BATS_TEST_TMPDIR/c.pt" # -o follow reloads
	for i in $(seq 50); do [ -e "$MNT/epoch" ] && break; sleep 0.1; done
	[ "$(cat "$MNT/epoch")" = 12 ]
	kill -TERM "$pid"
	wait "$pid"
	[ -s "$BATS_TEST_TMPDIR/out/s.pt" ]
	! ls "$logs"/asan* >/dev/null 2>&1 || { cat "$logs"/asan*; return 1; }
}
