#!/usr/bin/env bats
# The command line: help, version, and refusals decided before mounting.

load helpers

setup() {
	load_libs
	D="$BATS_TEST_TMPDIR"
}

# refuse FILE MESSAGE: ptfs exits 1 with exactly "ptfs: MESSAGE" and leaves no mount.
refuse() {
	local mnt="$D/mnt"
	mkdir -p "$mnt"
	run "$PTFS" "$1" "$mnt"
	assert_failure 1
	assert_output "ptfs: $2"
	! is_mounted "$mnt"
	[ -z "$(ls -A "$mnt")" ]
}

@test "--help prints usage and the ptfs options, exit 0" {
	run "$PTFS" --help
	assert_success
	assert_line --index 0 "usage: $PTFS [options] CHECKPOINT MOUNTPOINT"
	assert_output --partial "-o encoding=NAME"
	assert_output --partial "fusermount3 -u MOUNTPOINT"
}

@test "--help lists each option once" {
	run "$PTFS" --help
	assert_success
	[ "$(grep -cE '^ +-h[ ,]' <<<"$output")" -eq 1 ]
	[ "$(grep -cE '^ +-V[ ,]' <<<"$output")" -eq 1 ]
	[ "$(grep -cE '^ +-o follow ' <<<"$output")" -eq 1 ]
	refute_output --partial "--help            print help"
}

@test "-h is --help" {
	run "$PTFS" -h
	assert_success
	assert_line --index 0 "usage: $PTFS [options] CHECKPOINT MOUNTPOINT"
}

@test "-V prints the version, exit 0" {
	run "$PTFS" -V
	assert_success
	assert_line --index 0 "ptfs 0.1.0"
	assert_line --index 1 --regexp '^libfuse 3\.[0-9]+'
}

@test "no arguments: usage error, exit 2" {
	run "$PTFS"
	assert_failure 2
	assert_line --index 0 "ptfs: missing CHECKPOINT"
}

@test "no mountpoint: usage error, exit 2" {
	run "$PTFS" "$FIX/17_demo.pt"
	assert_failure 2
	assert_line --index 0 "ptfs: missing MOUNTPOINT"
}

@test "three operands: usage error, exit 2" {
	run "$PTFS" a b c
	assert_failure 2
	assert_line --index 0 "ptfs: too many arguments"
}

@test "bad -o encoding: usage error naming it" {
	run "$PTFS" -o encoding=ebcdic "$FIX/17_demo.pt" "$D"
	assert_failure 2
	assert_output --partial "ptfs: -o encoding=ebcdic: "
}

@test "a missing checkpoint is refused" {
	refuse "$D/nope.pt" "$D/nope.pt: No such file or directory"
}

@test "a directory is refused" {
	mkdir -p "$D/dir.pt"
	refuse "$D/dir.pt" "$D/dir.pt: not a regular file"
}

@test "an empty file is refused" {
	: >"$D/empty.pt"
	refuse "$D/empty.pt" "$D/empty.pt: empty file"
}

@test "a text file is refused as not a checkpoint" {
	printf 'hello world\n' >"$D/hello.pt"
	refuse "$D/hello.pt" "$D/hello.pt: not a PyTorch checkpoint (unknown format, first bytes 68 65 6c 6c)"
}

@test "a truncated zip checkpoint is refused" {
	head -c 600 "$FIX/17_demo.pt" >"$D/trunc.pt"
	refuse "$D/trunc.pt" "$D/trunc.pt: truncated zip: no end of central directory record"
}

@test "a legacy checkpoint cut inside its storages is refused" {
	head -c 400 "$FIX/13_legacy_cuda.pt" >"$D/trunc_legacy.pt"
	run "$PTFS" "$D/trunc_legacy.pt" "$D"
	assert_failure 1
	assert_output --regexp "^ptfs: $D/trunc_legacy.pt: .+"
}

@test "a bare pickle is refused as not torch.save output" {
	printf '\x80\x02K\x01.' >"$D/bare.pkl"
	refuse "$D/bare.pkl" "$D/bare.pkl: not a PyTorch checkpoint (a bare pickle, not torch.save output)"
}

@test "the checkpoint is never modified by a mount" {
	need_fuse
	cp "$FIX/17_demo.pt" "$D/c.pt"
	before=$(sha256sum <"$D/c.pt"; stat -c '%s %Y' "$D/c.pt")
	mount_ckpt "$D/c.pt"
	cat "$MNT/layer1/weight" "$MNT/epoch" >/dev/null
	unmount_all
	after=$(sha256sum <"$D/c.pt"; stat -c '%s %Y' "$D/c.pt")
	[ "$before" = "$after" ]
}

@test "SIGTERM unmounts cleanly" {
	need_fuse
	mount_ckpt "$FIX/17_demo.pt" -f &
	local i
	for i in $(seq 50); do
		[ -n "${MNT:-}" ] && is_mounted "$MNT" && break
		MNT=$(ls -d "$BATS_TEST_TMPDIR"/mnt.* 2>/dev/null | head -n 1)
		sleep 0.1
	done
	is_mounted "$MNT"
	MOUNTS+=("$MNT")
	pkill -TERM -f "$PTFS -f $FIX/17_demo.pt"
	for i in $(seq 50); do is_mounted "$MNT" || break; sleep 0.1; done
	! is_mounted "$MNT"
}

@test "a missing mount point: one line in ptfs's style, exit 1" {
	run "$PTFS" "$FIX/17_demo.pt" "$D/nowhere"
	assert_failure 1
	assert_output "ptfs: $D/nowhere: No such file or directory"
}

@test "a regular file as mount point is refused, nothing mounted" {
	need_fuse
	printf 'x' >"$D/afile"
	run "$PTFS" "$FIX/17_demo.pt" "$D/afile"
	assert_failure 1
	assert_output "ptfs: $D/afile: not a directory (a mount point must be one)"
	! is_mounted "$D/afile"
	[ "$(cat "$D/afile")" = x ]
}

@test "a second ptfs on the same mount point is refused, the first keeps serving" {
	need_fuse
	mount_ckpt "$FIX/17_demo.pt"
	run "$PTFS" "$FIX/12_cuda_tags.pt" "$MNT"
	assert_failure 1
	assert_output "ptfs: $MNT: already a ptfs mount; unmount it first: fusermount3 -u $MNT"
	[ "$(grep -cF " $MNT fuse.ptfs" /proc/self/mounts)" -eq 1 ]
	[ "$(cat "$MNT/epoch")" = 12 ]
}
