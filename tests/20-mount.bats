#!/usr/bin/env bats
# Mounting fixtures: names, bytes, attributes, links and refusals, exactly.

load helpers

setup() {
	load_libs
	need_fuse
}

@test "demo: the tree lists keys in pickle order, split at dots" {
	mount_ckpt "$FIX/17_demo.pt"
	run ls -U "$MNT"
	assert_output "$(printf 'layer1\nepoch')"
	run ls -U "$MNT/layer1"
	assert_output "$(printf 'weight\nbias')"
	run ls -A -U "$MNT"
	assert_output "$(printf '.ptfs\nlayer1\nepoch')"
}

@test "demo: a tensor file holds its float32 elements, little-endian" {
	mount_ckpt "$FIX/17_demo.pt"
	python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<12f", *range(12)))' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$MNT/layer1/weight"
	python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<3f", 0.5, -0.5, 1.5))' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$MNT/layer1/bias"
}

@test "demo: every attribute of a tensor, exactly" {
	mount_ckpt "$FIX/17_demo.pt"
	run getfattr --absolute-names -d -m - "$MNT/layer1/weight"
	assert_output "# file: $MNT/layer1/weight
user.pt.dtype=\"float32\"
user.pt.key=\"['layer1.weight']\"
user.pt.location=\"cuda:1\"
user.pt.requires_grad=\"false\"
user.pt.saved_location=\"cuda:1\"
user.pt.shape=\"[3,4]\"
user.pt.storage=\"0\"
user.pt.storage_offset=\"0\"
user.pt.stride=\"[4,1]\"
user.pt.type=\"torch.Tensor\""
}

@test "demo: scalars are repr text, directories carry type and key" {
	mount_ckpt "$FIX/17_demo.pt"
	run cat "$MNT/epoch"
	assert_output "12"
	[ "$(stat -c %s "$MNT/epoch")" = 3 ]
	run getfattr --absolute-names -d -m - "$MNT/epoch"
	assert_output "# file: $MNT/epoch
user.pt.key=\"['epoch']\"
user.pt.type=\"int\""
	run getfattr --absolute-names --only-values -n user.pt.type "$MNT"
	assert_output "collections.OrderedDict"
	run getfattr --absolute-names --only-values -n user.pt.type "$MNT/layer1"
	assert_output "ptfs.prefix"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/layer1"
	assert_output "['layer1.*']"
}

@test "modes, sizes, owner and times" {
	mount_ckpt "$FIX/17_demo.pt"
	[ "$(stat -c '%a %F %s' "$MNT/layer1/weight")" = "444 regular file 48" ]
	[ "$(stat -c '%a %F' "$MNT/layer1")" = "555 directory" ]
	[ "$(stat -c '%a %F' "$MNT")" = "555 directory" ]
	[ "$(stat -c '%u %g' "$MNT/layer1/weight")" = "$(id -u) $(id -g)" ]
	[ "$(stat -c %Y "$MNT/layer1/weight")" = "$(stat -c %Y "$FIX/17_demo.pt")" ]
}

@test "unknown attributes answer ENODATA, not ENOSYS" {
	mount_ckpt "$FIX/17_demo.pt"
	run getfattr --absolute-names -n user.pt.nope "$MNT/layer1/weight"
	assert_failure
	assert_output "$MNT/layer1/weight: user.pt.nope: No such attribute"
	run getfattr --absolute-names -n user.pt.dtype "$MNT/epoch"
	assert_output "$MNT/epoch: user.pt.dtype: No such attribute"
	run getfattr --absolute-names -n trusted.x "$MNT/epoch"
	assert_output "$MNT/epoch: trusted.x: No such attribute"
	# and the kernel keeps asking: a known one still works afterwards
	run getfattr --absolute-names --only-values -n user.pt.dtype "$MNT/layer1/weight"
	assert_output "float32"
}

@test "the tree is read-only: every change gets EROFS, as on a read-only filesystem" {
	mount_ckpt "$FIX/17_demo.pt"
	run bash -c "echo x > '$MNT/epoch'"
	assert_failure
	assert_output --partial "Read-only file system"
	run bash -c "echo x > '$MNT/newfile'"
	assert_output --partial "Read-only file system"
	run rm -f "$MNT/epoch"
	assert_output "rm: cannot remove '$MNT/epoch': Read-only file system"
	run mkdir "$MNT/d"
	assert_output --partial "Read-only file system"
	run rmdir "$MNT/layer1"
	assert_output --partial "Read-only file system"
	run mv "$MNT/epoch" "$MNT/epoch2"
	assert_output --partial "Read-only file system"
	run ln "$MNT/epoch" "$MNT/epoch2"
	assert_output --partial "Read-only file system"
	run ln -s x "$MNT/sym"
	assert_output --partial "Read-only file system"
	run chmod 666 "$MNT/epoch"
	assert_output --partial "Read-only file system"
	run touch "$MNT/epoch"
	assert_output --partial "Read-only file system"
	run truncate -s 0 "$MNT/epoch"
	assert_output --partial "Read-only file system"
	run setfattr -n user.pt.dtype -v int8 "$MNT/layer1/weight"
	assert_failure
	assert_output --partial "Read-only file system"
	run bash -c "echo x > '$MNT/.ptfs/globals'"
	assert_output --partial "Read-only file system"
	# access(2) says the same; the control file stays writable
	run bash -c "test -w '$MNT/epoch'"
	assert_failure
	bash -c "test -w '$MNT/.ptfs/control'"
	run bash -c "test -x '$MNT/epoch'"
	assert_failure
	bash -c "test -x '$MNT/layer1'"
	cmp <(cat "$MNT/epoch") <(echo 12)
}

@test "with allow_other, another user reads but changes nothing (EACCES on control, EROFS on the tree)" {
	need_fuse
	command -v setpriv >/dev/null || skip "no setpriv"
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
	chmod o+x "$BATS_RUN_TMPDIR" "$(dirname "$BATS_TEST_TMPDIR")" "$BATS_TEST_TMPDIR"
	mount_ckpt "$FIX/12_cuda_tags.pt" -o allow_other
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups bash -c "$1"; }
	run as_nobody "cat '$MNT/fc1/weight' | wc -c"
	assert_success
	assert_output "$(stat -c %s "$MNT/fc1/weight")"
	run as_nobody "echo 'map_location cpu' > '$MNT/.ptfs/control'"
	assert_failure
	assert_output --partial "Permission denied"
	run as_nobody "setfattr -n user.pt.location -v cpu '$MNT/fc1/weight'"
	assert_failure
	assert_output --partial "Permission denied"
	run as_nobody "echo x > '$MNT/fc1/weight'"
	assert_output --partial "Read-only file system"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc1/weight")" = "cuda:1" ]
	grep -q "^error: none" "$MNT/.ptfs/control"
}

@test "reads at any offset and length match the whole file, views included" {
	mount_ckpt "$FIX/04_views.pt"
	run python3 - "$MNT" <<'PY'
import os, sys
root = sys.argv[1]
n = 0
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name)
    if not os.path.isfile(p):
        continue
    whole = open(p, "rb").read()
    assert len(whole) == os.stat(p).st_size, name
    fd = os.open(p, os.O_RDONLY)
    for off in range(0, len(whole) + 2):
        for ln in (1, 3, 5, 17, 4096):
            got = os.pread(fd, ln, off)
            assert got == whole[off:off + ln], (name, off, ln)
            n += 1
    os.close(fd)
print(n)
PY
	assert_success
	[ "$output" -gt 3000 ]
}

@test "a transposed view's bytes are gathered in row-major order" {
	mount_ckpt "$FIX/04_views.pt"
	run python3 - "$MNT" <<'PY'
import struct, sys
root = sys.argv[1]
base = struct.unpack("<24f", open(root + "/base", "rb").read())
t = struct.unpack("<24f", open(root + "/t", "rb").read())
want = [base[r * 6 + c] for c in range(6) for r in range(4)]
print("ok" if list(t) == want else f"bad {t} {want}")
PY
	assert_output "ok"
	run getfattr --absolute-names --only-values -n user.pt.stride "$MNT/t"
	assert_output "[1,6]"
}

@test "awkward keys: escaped names, every entry reachable" {
	mount_ckpt "$FIX/14_awkward_keys.pt"
	run ls -U "$MNT"
	assert_line "a"
	assert_line "%'a.b'"
	assert_line "%''"
	assert_line "%'.'"
	assert_line "%'..'"
	assert_line "%'x%2Fy'"
	assert_line "%'with\\x00nul'"
	assert_line "%'.ptfs'"
	assert_line "%(1, 'a')"
	assert_line "3"
	assert_line "%'%25'"
	assert_line "-1"
	assert_line "%-1"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/%-1"
	assert_output "[-1]"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/-1"
	assert_output "['-1']"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/%'x%2Fy'"
	assert_output "['x/y']"
	long=$(ls "$MNT" | grep '^%.kkkk')
	[ "${#long}" -le 255 ]
	[[ "$long" =~ ~[0-9a-f]{16}$ ]]
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/$long"
	assert_output "['$(printf 'k%.0s' $(seq 300))']"
	[ -d "$MNT/.ptfs" ]
	[ "$(getfattr --absolute-names --only-values -n user.pt.type "$MNT/.ptfs")" = "ptfs.control" ]
}

@test "keys with control characters: repr-escaped names, one line each (issue 12 part 4)" {
	mount_ckpt "$FIX/30_ctrl_keys.pt"
	run ls -U "$MNT"
	assert_success
	assert_output "%'nl\nkey'
%'tab\tkey'
%'ctl\x01'
%'del\x7f'
%'a.b\nc'
%'c1\x85'
%'ls\u2028'
%'zw\u200b'
plain
%'in\nner'
%'cr\r'"
	# no byte of any name is a control (the names are reprs), so line tools work
	run bash -c "find '$MNT' -path '$MNT/.ptfs' -prune -o -print | LC_ALL=C grep -c '[[:cntrl:]]'"
	assert_output 0
	n=0
	while IFS= read -r x; do
		[ -e "$x" ] || { echo "find | while read: $x does not exist"; false; }
		n=$((n + 1))
	done < <(find "$MNT" -path "$MNT/.ptfs" -prune -o -print)
	[ "$n" -eq 16 ]
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/%'nl\\nkey'"
	assert_output "['nl\\nkey']"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/%'a.b\\nc'"
	assert_output "['a.b\\nc']"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/%'in\\nner'/y/z"
	assert_output "['in\\nner']['y.z']"
	run cat "$MNT/%'in\\nner'/y/z"
	assert_output 5
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/%'ls\\u2028'"
	assert_output "['ls\\u2028']"
}

@test "TorchScript: children of Sequential, ModuleList, ModuleDict keyed by __getattr__ (issue 12 part 9)" {
	mount_ckpt "$FIX/32_script_lists.pt"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/blocks/1/0/weight"
	assert_output ".blocks.__getattr__('1').__getattr__('0').weight"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/heads/b-c"
	assert_output ".heads.__getattr__('b-c')"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/heads/a/bias"
	assert_output ".heads.a.bias"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/x-y"
	assert_output ".__getattr__('x-y')"
	# m.graph is the script module's Graph, m.code its source: the children so named need __getattr__
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/graph/weight"
	assert_output ".__getattr__('graph').weight"
	run getfattr --absolute-names --only-values -n user.pt.key "$MNT/code"
	assert_output ".__getattr__('code')"
	run getfattr --absolute-names --only-values -n user.pt.type "$MNT/inner/proj/2"
	assert_output "__torch__.torch.nn.modules.batchnorm.BatchNorm1d"
	[ "$(stat -c %s "$MNT/inner/proj/2/running_var")" = 8 ]
}

@test "a container shared by the memo is a symlink to its first place" {
	mount_ckpt "$FIX/18_shared_containers.pt"
	[ "$(readlink "$MNT/cfg2")" = "cfg1" ]
	[ "$(readlink "$MNT/both/0")" = "../cfg1" ]
	[ "$(cat "$MNT/cfg2/depth")" = "3" ]
	[ "$(stat -c %F "$MNT/both/1")" = "symbolic link" ]
	cmp "$MNT/cfg1/w" "$MNT/both/1/w"
}

@test "tied weights: one tensor under several names, same bytes and storage" {
	mount_ckpt "$FIX/05_tied.pt"
	cmp "$MNT/enc/w" "$MNT/dec/w"
	cmp "$MNT/enc/w" "$MNT/lst/0"
	[ "$(getfattr --only-values -n user.pt.storage "$MNT/enc/w")" = "$(getfattr --only-values -n user.pt.storage "$MNT/dec/w")" ]
}

@test "a whole nn.Module shows its state_dict names" {
	mount_ckpt "$FIX/09_whole_model.pt"
	run ls -U "$MNT"
	assert_output "$(printf '0\n1\n2')"
	run ls -U "$MNT/0"
	assert_output "$(printf 'weight\nbias')"
	[ "$(getfattr --only-values -n user.pt.type "$MNT/0")" = "torch.nn.modules.linear.Linear" ]
	[ "$(getfattr --only-values -n user.pt.type "$MNT/0/weight")" = "torch.nn.parameter.Parameter" ]
	[ "$(getfattr --only-values -n user.pt.key "$MNT/2/bias")" = "._modules['2']._parameters['bias']" ]
	[ "$(getfattr --only-values -n user.pt.requires_grad "$MNT/2/bias")" = "true" ]
	[ "$(cat "$MNT/0/.__dict__/training")" = "True" ]
	[ "$(cat "$MNT/0/.__dict__/in_features")" = "4" ]
}

@test "an optimizer checkpoint: int keys, param_groups, scalars" {
	mount_ckpt "$FIX/08_optimizer.pt"
	[ "$(cat "$MNT/epoch")" = "12" ]
	[ "$(cat "$MNT/loss")" = "0.25" ]
	[ "$(cat "$MNT/name")" = "run-1" ]
	[ "$(cat "$MNT/big")" = "1180591620717411303424" ]
	[ "$(cat "$MNT/flags/1")" = "None" ]
	[ "$(cat "$MNT/optimizer/param_groups/0/lr")" = "0.001" ]
	[ "$(cat "$MNT/optimizer/param_groups/0/betas/1")" = "0.999" ]
	[ "$(cat "$MNT/optimizer/param_groups/0/eps")" = "1e-08" ]
	[ "$(getfattr --only-values -n user.pt.key "$MNT/optimizer/state/0/exp_avg")" = "['optimizer']['state'][0]['exp_avg']" ]
	[ "$(getfattr --only-values -n user.pt.type "$MNT/optimizer/param_groups/0/betas")" = "tuple" ]
	[ "$(stat -c %s "$MNT/model/0/weight")" = 48 ]
}

@test "location tags other than cpu, in zip and legacy files" {
	mount_ckpt "$FIX/12_cuda_tags.pt"
	[ "$(getfattr --only-values -n user.pt.saved_location "$MNT/fc1/weight")" = "cuda:1" ]
	[ "$(getfattr --only-values -n user.pt.saved_location "$MNT/fc2/weight")" = "cuda:0" ]
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc2/bias")" = "cuda:2" ]
	mount_ckpt "$FIX/13_legacy_cuda.pt"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/w")" = "cuda:0" ]
	[ "$(stat -c %s "$MNT/w")" = 16 ]
}

@test "find sees every entry with its type from readdir alone" {
	mount_ckpt "$FIX/08_optimizer.pt"
	files=$("$INSPECT" "$FIX/08_optimizer.pt" | awk -F'\t' '$2=="tensor"||$2=="data"' | wc -l)
	dirs=$("$INSPECT" "$FIX/08_optimizer.pt" | awk -F'\t' '$2=="dir"' | wc -l)
	# .ptfs/control is ptfs's own, not in the inspect listing
	[ "$(find "$MNT" -mindepth 1 -path "$MNT/.ptfs" -prune -o -type f -print | wc -l)" = "$files" ]
	[ "$(find "$MNT" -mindepth 1 -type d | wc -l)" = "$dirs" ]
}

@test "a large directory lists completely across many readdir calls" {
	python3 "$ROOT/tests/mkzip.py" "$BATS_TEST_TMPDIR/many.pt" '{"k%05d" % i: i for i in range(5000)}'
	mount_ckpt "$BATS_TEST_TMPDIR/many.pt"
	[ "$(ls -U "$MNT" | wc -l)" = 5000 ]
	[ "$(ls -U "$MNT" | head -n 1)" = k00000 ]
	[ "$(ls -U "$MNT" | tail -n 1)" = k04999 ]
	[ "$(cat "$MNT/k04321")" = 4321 ]
	[ "$(find "$MNT" -path "$MNT/.ptfs" -prune -o -type f -print | wc -l)" = 5000 ]
}

@test "16 concurrent readers get the same bytes" {
	mount_ckpt "$FIX/01_dtypes.pt"
	for i in $(seq 16); do
		(for f in "$MNT"/*; do cat "$f"; done | sha256sum >"$BATS_TEST_TMPDIR/sum.$i") &
	done
	wait
	[ "$(cat "$BATS_TEST_TMPDIR"/sum.* | sort -u | wc -l)" = 1 ]
}

@test "the shared benign sample mounts with the bytes it documents" {
	need_shared
	mount_ckpt "$SHARED/hostile/synth/benign_tiny_state_dict.pt"
	python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<12f", *range(12)))' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$MNT/w"
}

@test "-o encoding= decodes Python 2 strings as torch.load(encoding=) does" {
	# SHORT_BINSTRING 'caf\xe9' under key 's': protocol 2, as Python 2 wrote it
	python3 "$ROOT/tests/mkzip.py" "$BATS_TEST_TMPDIR/py2.pt" "b'\\x80\\x02}q\\x00X\\x01\\x00\\x00\\x00sU\\x04caf\\xe9s.'"
	run "$PTFS" "$BATS_TEST_TMPDIR/py2.pt" "$BATS_TEST_TMPDIR"
	assert_failure 1
	assert_output "ptfs: $BATS_TEST_TMPDIR/py2.pt: data.pkl: offset 11: SHORT_BINSTRING: invalid UTF-8 at byte 3 (try encoding latin1 or bytes)"
	mount_ckpt "$BATS_TEST_TMPDIR/py2.pt" -o encoding=latin1
	[ "$(cat "$MNT/s")" = "café" ]
	[ "$(getfattr --only-values -n user.pt.type "$MNT/s")" = "str" ]
	mount_ckpt "$BATS_TEST_TMPDIR/py2.pt" -o encoding=bytes
	printf 'caf\xe9' | cmp - "$MNT/s"
	[ "$(getfattr --only-values -n user.pt.type "$MNT/s")" = "bytes" ]
}

@test "a checkpoint deleted or renamed over still answers from the open file" {
	cp "$FIX/17_demo.pt" "$BATS_TEST_TMPDIR/c.pt"
	mount_ckpt "$BATS_TEST_TMPDIR/c.pt"
	rm "$BATS_TEST_TMPDIR/c.pt"
	python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<12f", *range(12)))' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$MNT/layer1/weight"
	cp "$FIX/12_cuda_tags.pt" "$BATS_TEST_TMPDIR/d.pt"
	mount_ckpt "$BATS_TEST_TMPDIR/d.pt"
	cp "$FIX/17_demo.pt" "$BATS_TEST_TMPDIR/other.pt"
	mv "$BATS_TEST_TMPDIR/other.pt" "$BATS_TEST_TMPDIR/d.pt"
	[ "$(stat -c %s "$MNT/fc1/weight")" = 48 ]
	cat "$MNT/fc1/weight" "$MNT/fc2/bias" >/dev/null
}

@test "a checkpoint rewritten in place (torch.save to the same path) fails reads with EIO" {
	cp "$FIX/17_demo.pt" "$BATS_TEST_TMPDIR/c.pt"
	mount_ckpt "$BATS_TEST_TMPDIR/c.pt"
	cat "$MNT/layer1/bias" >/dev/null
	# same inode, new bytes, as torch.save(obj, same_path) does
	cat "$FIX/12_cuda_tags.pt" >"$BATS_TEST_TMPDIR/c.pt"
	run cat "$MNT/layer1/weight"
	assert_failure
	assert_output --partial "Input/output error"
	run cat "$MNT/layer1/bias"
	assert_failure
	[ "$(cat "$MNT/epoch")" = 12 ] # values held in memory are still the mounted ones
}

@test "SIGKILL leaves a dead mount that fusermount3 -u cleans up" {
	mount_ckpt "$FIX/17_demo.pt"
	pkill -KILL -f "$PTFS $FIX/17_demo.pt $MNT"
	sleep 0.2
	run ls "$MNT"
	assert_failure
	assert_output --partial "Transport endpoint is not connected"
	fusermount3 -u "$MNT"
	! is_mounted "$MNT"
}

@test "reload re-opens a checkpoint rewritten in place and serves the new one" {
	cp "$FIX/17_demo.pt" "$BATS_TEST_TMPDIR/c.pt"
	mount_ckpt "$BATS_TEST_TMPDIR/c.pt"
	[ "$(ls "$MNT" | tr '\n' ' ')" = "epoch layer1 " ]
	cat "$FIX/12_cuda_tags.pt" >"$BATS_TEST_TMPDIR/c.pt"
	run cat "$MNT/layer1/weight"
	assert_failure
	run tail -n 1 "$MNT/.ptfs/control"
	assert_output "source: rewritten in place since it was opened (tensor reads fail with EIO): write 'reload' to serve what is there now"
	echo reload >"$MNT/.ptfs/control"
	[ "$(tail -n 1 "$MNT/.ptfs/control")" = "source: unchanged" ]
	[ "$(ls "$MNT" | tr '\n' ' ')" = "fc1 fc2 " ]
	[ ! -e "$MNT/layer1" ]
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc1/weight")" = cuda:1 ]
	cmp <(cd "$BATS_TEST_TMPDIR" && "$INSPECT" -r fc2/bias c.pt) "$MNT/fc2/bias"
	echo 'map_location cpu' >"$MNT/.ptfs/control"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc1/weight")" = cpu ]
	run cat "$MNT/.ptfs/control"
	assert_line --index 1 "map_location cpu"
	# a reload of a file that is now broken fails and keeps serving the last good one
	echo garbage >"$BATS_TEST_TMPDIR/c.pt"
	run bash -c "echo reload > '$MNT/.ptfs/control'"
	assert_failure
	run cat "$MNT/.ptfs/control"
	assert_line --partial "error: $BATS_TEST_TMPDIR/c.pt: not a PyTorch checkpoint"
	[ "$(ls "$MNT" | tr '\n' ' ')" = "fc1 fc2 " ]
}

@test "a checkpoint truncated after mount: reads give EIO, the daemon lives on" {
	cp "$FIX/01_dtypes.pt" "$BATS_TEST_TMPDIR/c.pt"
	mount_ckpt "$BATS_TEST_TMPDIR/c.pt"
	truncate -s 600 "$BATS_TEST_TMPDIR/c.pt"
	run cat "$MNT/float64_3d"
	assert_failure
	assert_output --partial "Input/output error"
	ls "$MNT" >/dev/null
	is_mounted "$MNT"
}

@test "directories: opened without a round trip, listings cached by the kernel" {
	local log="$BATS_TEST_TMPDIR/debug.log" i
	MNT="$(mktemp -d "$BATS_TEST_TMPDIR/mnt.XXXXXX")"
	MOUNTS+=("$MNT")
	"$PTFS" -d "$FIX/09_whole_model.pt" "$MNT" 2>"$log" 3>&- &
	for i in $(seq 50); do is_mounted "$MNT" && break; sleep 0.1; done
	is_mounted "$MNT"
	run find "$MNT" -name weight
	assert_success
	assert_line "$MNT/0/weight"
	local n1 lines
	n1=$(grep -ac 'opcode: READDIR' "$log")
	[ "$n1" -gt 0 ]
	# the kernel sent one OPENDIR, got ENOSYS, and opens directories itself from then on
	[ "$(grep -ac 'opcode: OPENDIR' "$log")" -le 1 ]
	[ "$(grep -ac 'opcode: RELEASEDIR' "$log")" -eq 0 ]
	lines=$(find "$MNT" | sort)
	# a second walk lists every directory from the kernel's cache
	[ "$(grep -ac 'opcode: READDIR' "$log")" -eq "$n1" ]
	[ "$(find "$MNT" | sort)" = "$lines" ]
}

@test "a checkpoint replaced by mv or removed: the old file is served and the control file says so" {
	cp "$FIX/17_demo.pt" "$BATS_TEST_TMPDIR/c.pt"
	mount_ckpt "$BATS_TEST_TMPDIR/c.pt"
	cp "$FIX/12_cuda_tags.pt" "$BATS_TEST_TMPDIR/new.pt"
	mv "$BATS_TEST_TMPDIR/new.pt" "$BATS_TEST_TMPDIR/c.pt"
	[ "$(cat "$MNT/epoch")" = 12 ]
	cmp <("$INSPECT" -r layer1/weight "$FIX/17_demo.pt") "$MNT/layer1/weight"
	run tail -n 1 "$MNT/.ptfs/control"
	assert_output "source: replaced by another file (the mount serves the one it opened): write 'reload' to serve what is there now"
	rm "$BATS_TEST_TMPDIR/c.pt"
	run tail -n 1 "$MNT/.ptfs/control"
	assert_output "source: removed (the mount serves the file it opened): write 'reload' to serve what is there now"
	cmp <("$INSPECT" -r layer1/weight "$FIX/17_demo.pt") "$MNT/layer1/weight"
}

# until_ls DIR WANT: waits up to 5 s for `ls DIR` to list WANT (names joined by spaces)
until_ls() {
	local i
	for i in $(seq 50); do
		[ "$(ls "$1" | tr '\n' ' ')" = "$2" ] && return 0
		sleep 0.1
	done
	echo "ls $1: $(ls "$1" | tr '\n' ' '), wanted $2"
	return 1
}

@test "-o follow: a rewrite in place or a mv onto the path is served without a reload" {
	local c="$BATS_TEST_TMPDIR/c.pt"
	cp "$FIX/17_demo.pt" "$c"
	mount_ckpt "$c" -o follow
	run tail -n 2 "$MNT/.ptfs/control"
	assert_output "source: unchanged
follow: 0 reloads"
	# an open file keeps reading its own checkpoint: old bytes after a mv onto the path
	exec 4<"$MNT/layer1/weight"
	cp "$FIX/12_cuda_tags.pt" "$BATS_TEST_TMPDIR/new.pt"
	mv "$BATS_TEST_TMPDIR/new.pt" "$c"
	until_ls "$MNT" "fc1 fc2 "
	cmp <("$INSPECT" -r layer1/weight "$FIX/17_demo.pt") <(cat <&4)
	exec 4<&-
	cmp <("$INSPECT" -r fc2/bias "$FIX/12_cuda_tags.pt") "$MNT/fc2/bias"
	[ "$(getfattr --only-values -n user.pt.location "$MNT/fc1/weight")" = cuda:1 ]
	# and EIO, never other bytes, once its file was rewritten in place (fc1/bias was
	# never read: no page of it is cached)
	exec 4<"$MNT/fc1/bias"
	cat "$FIX/17_demo.pt" >"$c"
	until_ls "$MNT" "epoch layer1 "
	run cat <&4
	exec 4<&-
	assert_failure
	assert_output --partial "Input/output error"
	[ "$(cat "$MNT/epoch")" = 12 ]
	run tail -n 2 "$MNT/.ptfs/control"
	assert_output "source: unchanged
follow: 2 reloads"
	# a broken file is not served: the last good one stays, the failure is shown
	echo garbage >"$BATS_TEST_TMPDIR/new.pt"
	mv "$BATS_TEST_TMPDIR/new.pt" "$c"
	for i in $(seq 50); do
		grep -q "the last attempt failed" "$MNT/.ptfs/control" && break
		sleep 0.1
	done
	run tail -n 1 "$MNT/.ptfs/control"
	assert_output "follow: 2 reloads, the last attempt failed: $c: not a PyTorch checkpoint (unknown format, first bytes 67 61 72 62)"
	[ "$(cat "$MNT/epoch")" = 12 ]
	cp "$FIX/12_cuda_tags.pt" "$c"
	until_ls "$MNT" "fc1 fc2 "
	[ "$(tail -n 1 "$MNT/.ptfs/control")" = "follow: 3 reloads" ]
}
