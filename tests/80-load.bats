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
