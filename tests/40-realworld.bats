#!/usr/bin/env bats
# Every real-world checkpoint of ../shared/realworld (torch 0.x to 2.7, legacy,
# zip, TorchScript) mounts, and every tensor in it reads without error.

load helpers

setup() {
	load_libs
	need_fuse
	need_shared
}

# read_all FILE: mounts FILE, reads every regular file, checks sizes; echoes counts.
read_all() {
	local f="$1" n=0 t=0 x
	mount_ckpt "$f" || return 1
	while IFS= read -r -d '' x; do
		local want got
		want=$(stat -c %s "$x")
		got=$(wc -c <"$x") || return 1
		[ "$want" = "$got" ] || { echo "$x: st_size $want, read $got"; return 1; }
		n=$((n + 1))
		if getfattr --only-values -n user.pt.dtype "$x" >/dev/null 2>&1; then
			t=$((t + 1))
		fi
	done < <(find "$MNT" -path "$MNT/.ptfs" -prune -o -type f -print0)
	echo "$(basename "$f") $n files $t tensors"
	unmount_all
}

@test "every real-world file mounts and reads in full" {
	local count=0 f
	for f in "$SHARED"/realworld/*; do
		case "$f" in *.md) continue ;; esac
		run read_all "$f"
		assert_success
		echo "$output" >&3 2>/dev/null || true
		count=$((count + 1))
	done
	[ "$count" -eq 19 ]
}

@test "tensor counts of named real-world files" {
	run read_all "$SHARED/realworld/zip21_burn_batch_norm2d.pt"
	assert_output "zip21_burn_batch_norm2d.pt 5 files 5 tensors"
	run read_all "$SHARED/realworld/legacy_allennlp_training_state_epoch_0.th"
	assert_success
	assert_output --regexp " 32 tensors$"
	run read_all "$SHARED/realworld/zip21_candle_config_no_tensors.pt"
	assert_output --regexp " 0 tensors$"
}

@test "TorchScript archives mount with their module tree" {
	mount_ckpt "$SHARED/realworld/ts_21_mlverse_linear.pt"
	[ -n "$(find "$MNT" -type f)" ]
	mount_ckpt "$SHARED/realworld/ts_v3_tchrs_foo.pt"
	[ -n "$(find "$MNT" -type f)" ]
	mount_ckpt "$SHARED/realworld/ts_v1_tchrs_foo_modeljson.pt"
	[ "$(getfattr --only-values -n user.pt.dtype "$MNT/value")" = float32 ]
	[ "$(stat -c %s "$MNT/value")" = 4 ]
}
