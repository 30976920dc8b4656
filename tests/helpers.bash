# Shared setup for the bats suites. Every mount made with mount_ckpt is
# unmounted in teardown, also when the test failed, and no daemon is left.
ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
PTFS="$ROOT/build/ptfs"
INSPECT="$ROOT/build/ptfs-inspect"
FIX="$ROOT/tests/fixtures"
SHARED="${PTFS_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
TORCH_PY=/usr/bin/python3

load_libs() {
	load /usr/lib/bats/bats-support/load.bash
	load /usr/lib/bats/bats-assert/load.bash
}

need_fuse() {
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "no fusermount3"
}

need_shared() {
	[ -d "$SHARED/realworld" ] || skip "no shared corpus at $SHARED"
}

need_torch() {
	"$TORCH_PY" -c 'import torch' 2>/dev/null || skip "no torch for $TORCH_PY"
}

MOUNTS=()
TMPFS=() # other filesystems a test mounted (a small tmpfs): unmounted in teardown too

# ctl LINE...: one write(2) of the lines to the control file of $MNT (a batch, docs/control.md)
ctl() { printf '%s\n' "$@" | dd of="$MNT/.ptfs/control" bs=1M iflag=fullblock status=none; }

# mount_ckpt FILE [ptfs options...]: mounts FILE on a fresh directory, sets MNT.
mount_ckpt() {
	local f="$1"
	shift
	MNT="$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/mnt.XXXXXX")"
	MOUNTS+=("$MNT")
	# 3>&-: a daemon must not hold bats's output pipe open
	"$PTFS" "$@" "$f" "$MNT" 3>&-
}

is_mounted() {
	grep -qF " $1 fuse" /proc/self/mounts
}

unmount_all() {
	local m
	# also mounts made in subshells (`run f`), which MOUNTS does not see
	for m in $(awk -v d="${BATS_TEST_TMPDIR:-/nonexistent}/" '$3 == "fuse.ptfs" && index($2, d) == 1 {print $2}' /proc/self/mounts); do
		MOUNTS+=("$m")
	done
	for m in "${MOUNTS[@]}"; do
		if is_mounted "$m"; then
			fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true
		fi
		rmdir "$m" 2>/dev/null || true
	done
	MOUNTS=()
}

teardown() {
	unmount_all
	local d
	for d in "${TMPFS[@]}"; do
		umount "$d" 2>/dev/null || true
	done
	TMPFS=()
}
