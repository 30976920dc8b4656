#!/usr/bin/env bats
# Hostile and malformed checkpoints (../shared/hostile): the globals report,
# --scan's verdicts, -o strict, and that every sample is shown or refused
# without crashing, hanging, growing, escaping the mountpoint or executing.
# Samples are only ever given to ptfs: never to torch or Python's pickle.

load helpers

setup() {
	load_libs
	need_shared
	H="$SHARED/hostile"
}

# file -> expected `ptfs --scan` exit status: 0 clean, 1 unknown, 2 dangerous, 3 unreadable
# (malformed, and nothing dangerous named before the damage)
EXPECT='
R01_picklescan_malicious2_v3.pkl 2
R02_picklescan_malicious1_v0.pkl 2
R03_picklescan_malicious0.pkl 2
R04_picklescan_malicious10.pkl 2
R05_picklescan_malicious11.pkl 2
R06_picklescan_malicious23.pkl 2
R07_picklescan_malicious12.pkl 2
R08_picklescan_GHSA-vvpj-8cmc-gx39.pkl 2
R09_picklescan_GHSA-84r2-jw7c-4r5q.pkl 2
R10_picklescan_GHSA-q77w-mwjj-7mqx.pkl 2
R11_picklescan_GHSA-4675-36f9-wf6r.pkl 2
R12_picklescan_types_CodeType.pkl 2
R14_picklescan_malicious13b.pkl 2
R15_picklescan_malicious19.pkl 2
R16_picklescan_malicious6.pkl 2
R18_picklescan_broken_model.pkl 2
R19_picklescan_keyerror-exploit.pkl 2
R20_picklescan_type-confusion-exploit.pkl 2
R21_picklescan_malicious-invalid-bytes.pkl 2
R22_picklescan_not_a_pickle.bin 2
R23_picklescan_malicious1.zip 2
R24_picklescan_malicious1_0x1.zip 2
R25_picklescan_malicious1_0x20.zip 2
R26_picklescan_malicious1_central_directory.zip 2
R27_picklescan_malicious1_crc.zip 2
R28_picklescan_malicious1_wrong_ext.zip 2
R29_picklescan_malicious1.7z 3
R31_modelaudit_path_traversal.zip 2
R33_modelaudit_nested_pickle_raw.pkl 2
benign_controls/picklescan_benign0_v4.pkl 0
benign_controls/picklescan_new_pytorch_model.bin 0
benign_controls/picklescan_pytorch_model.bin 0
synth/append_build_on_wrong_types.pkl 3
synth/benign_tiny_state_dict.pt 0
synth/billion_laughs.pkl 0
synth/cycles.pkl 0
synth/deep_list_nesting.pkl 0
synth/deep_tuple_nesting.pkl 3
synth/dotted_names.pkl 2
synth/ext_registry.pkl 2
synth/frame_boundary_violation.pkl 2
synth/global_name_oddities.pkl 2
synth/huge_binbytes8.pkl 3
synth/huge_binunicode8_wrap.pkl 3
synth/huge_binunicode_4g.pkl 3
synth/huge_frame.pkl 3
synth/huge_long4.pkl 3
synth/inst_opcode.pkl 2
synth/legacy_benign.pt 0
synth/long_text_bignum.pkl 3
synth/memo_get_oob.pkl 3
synth/memo_put_huge_index.pkl 3
synth/multiple_pickles_payload_last.pkl 2
synth/obj_then_pop.pkl 2
synth/persid_not_storage.pkl 2
synth/setitem_on_list.pt 3
synth/stack_global_nonstring_operands.pkl 2
synth/stack_underflow_and_leftovers.pkl 3
synth/tensor_storage_type_is_dangerous_global.pt 2
synth/torchscript_archive.pt 1
synth/zip_duplicate_data_pkl.pt 2
synth/zip_lfh_cd_name_mismatch.pt 2
synth/zip_prefix_mismatch.pt 2
synth/zip_truncated.pt 3
'

@test "ptfs --scan: every sample gets the verdict EXPECTED.tsv gives it" {
	local f want n=0 bad=0
	while read -r f want; do
		[ -n "$f" ] || continue
		run "$PTFS" --scan "$H/$f"
		if [ "$status" != "$want" ]; then
			echo "$f: exit $status, expected $want: $output" | head -c 600
			bad=$((bad + 1))
		fi
		n=$((n + 1))
	done <<<"$EXPECT"
	[ "$bad" -eq 0 ]
	[ "$n" -eq 64 ]
}

@test "ptfs --scan: the report names globals, uses, opcodes and reasons" {
	run "$PTFS" --scan "$H/R01_picklescan_malicious2_v3.pkl"
	assert_failure 2
	assert_output "pickle 1: dangerous posix.system called GLOBAL (process and OS)
verdict: dangerous"
	run "$PTFS" --scan "$H/synth/ext_registry.pkl"
	assert_line "pickle 1: dangerous copyreg.<ext 1> called EXT (extension code: an unresolved import)"
	run "$PTFS" --scan "$H/synth/multiple_pickles_payload_last.pkl"
	assert_line "pickle 3: dangerous posix.system called GLOBAL (process and OS)"
	run "$PTFS" --scan "$H/R18_picklescan_broken_model.pkl"
	assert_line "pickle 1: dangerous builtins.exec named GLOBAL (code execution and evaluation)"
	assert_line --regexp "^note: pickle 1: malformed: offset [0-9]+: "
	run "$PTFS" --scan "$H/R33_modelaudit_nested_pickle_raw.pkl"
	assert_line "pickle 1: bytes value 1: dangerous builtins.print called STACK_GLOBAL (code execution and evaluation)"
	run "$PTFS" --scan "$H/synth/frame_boundary_violation.pkl"
	assert_line "pickle 1: dangerous posix.system named GLOBAL (process and OS)"
	run "$PTFS" --scan "$FIX/17_demo.pt"
	assert_success
	assert_output "17_demo/data.pkl: allowed collections.OrderedDict called GLOBAL
17_demo/data.pkl: allowed torch._utils._rebuild_tensor_v2 called GLOBAL
17_demo/data.pkl: allowed torch.FloatStorage named GLOBAL
verdict: allowed"
}

@test "ptfs --scan: several files, prefixed; exit status is the worst" {
	run "$PTFS" --scan "$FIX/17_demo.pt" "$H/synth/torchscript_archive.pt"
	assert_failure 1
	assert_line "$FIX/17_demo.pt: verdict: allowed"
	assert_line "$H/synth/torchscript_archive.pt: verdict: unknown"
	run "$PTFS" --scan "$FIX/17_demo.pt" "$H/R01_picklescan_malicious2_v3.pkl" "$BATS_TEST_TMPDIR/nope"
	assert_failure 3
	assert_line "ptfs: $BATS_TEST_TMPDIR/nope: No such file or directory"
	run "$PTFS" --scan
	assert_failure 2
}

@test "ptfs --scan: what is not a readable pickle or checkpoint exits 3 with the reason" {
	printf 'hello\n' >"$BATS_TEST_TMPDIR/hello"
	run "$PTFS" --scan "$BATS_TEST_TMPDIR/hello"
	assert_failure 3
	assert_output "note: pickle 1: malformed: offset 0: BINGET: memo index 101 was never stored
verdict: unreadable"
	head -c 600 "$FIX/17_demo.pt" >"$BATS_TEST_TMPDIR/trunc.pt"
	run "$PTFS" --scan "$BATS_TEST_TMPDIR/trunc.pt"
	assert_failure 3
	assert_output "note: zip: malformed: Not a zip archive
verdict: unreadable"
	# a dangerous global seen before the damage still decides
	run "$PTFS" --scan "$H/R18_picklescan_broken_model.pkl"
	assert_failure 2
	assert_line "verdict: dangerous"
	# a stored member flagged "encrypted" is read as torch reads it, not given up
	run "$PTFS" --scan "$H/R24_picklescan_malicious1_0x1.zip"
	assert_failure 2
	assert_output "model/config.pkl: dangerous builtins.eval called STACK_GLOBAL (code execution and evaluation)
note: model/config.pkl: a stored member flagged encrypted, read as torch reads it
verdict: dangerous"
}

@test "every fixture and real-world checkpoint scans clean or unknown, never dangerous" {
	local f
	for f in "$FIX"/*.pt "$SHARED"/realworld/*; do
		case "$f" in *.md) continue ;; esac
		run "$PTFS" --scan "$f"
		[ "$status" -le 1 ] || { echo "$f: $output"; return 1; }
	done
}

@test "-o strict refuses what is not allowed, mounts what is" {
	need_fuse
	run "$PTFS" -o strict "$H/synth/zip_prefix_mismatch.pt" "$BATS_TEST_TMPDIR"
	assert_failure 1
	assert_output "ptfs: $H/synth/zip_prefix_mismatch.pt: refused by -o strict: evil/data.pkl: dangerous posix.system called GLOBAL (process and OS) (ptfs --scan lists all)"
	run "$PTFS" -o strict "$FIX/09_whole_model.pt" "$BATS_TEST_TMPDIR"
	assert_failure 1
	mount_ckpt "$FIX/17_demo.pt" -o strict
	[ "$(cat "$MNT/epoch")" = 12 ]
}

@test ".ptfs/globals of a mounted file" {
	need_fuse
	mount_ckpt "$H/synth/zip_prefix_mismatch.pt"
	[ "$(stat -c %a "$MNT/.ptfs/globals")" = 444 ]
	run cat "$MNT/.ptfs/globals"
	assert_line "evil/data.pkl: dangerous posix.system called GLOBAL (process and OS)"
	assert_line "verdict: dangerous"
	run bash -c "echo x > '$MNT/.ptfs/globals'"
	assert_failure
}

@test "ptfs --scan: each repeat of a member name is reported once, in member order, also among 3,000 names" {
	python3 -W ignore -c "
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('archive/data.pkl', b'\\x80\\x02}q\\x00.')
    for i in range(3000):
        z.writestr('archive/data/%d' % i, b'abc')
    for n in ['archive/x', 'archive/y', 'archive/x', 'archive/data/2999', 'archive/x', 'archive/y', 'archive/data/0']:
        z.writestr(n, b'abc')
" "$BATS_TEST_TMPDIR/dup.zip"
	run "$PTFS" --scan "$BATS_TEST_TMPDIR/dup.zip"
	assert_success
	# one note per repeat, in member order
	assert_output "note: zip: duplicate member archive/x
note: zip: duplicate member archive/data/2999
note: zip: duplicate member archive/x
note: zip: duplicate member archive/y
note: zip: duplicate member archive/data/0
verdict: allowed"
}

@test "a storage record whose bytes start like a pickle is tensor data: allowed, mounted by -o strict" {
	need_torch
	need_fuse
	# int8 storages starting at -128 (0x80, PROTO): protocol 2 then opcode 0x02, protocol 99;
	# the float32 one [-0., 2.] is 00 00 00 80 ...: not sniffed at all
	"$TORCH_PY" -c "
import sys, torch
torch.save({'q': torch.tensor([-128, 2, 2, 3], dtype=torch.int8),
            'r': torch.tensor([-128, 99, 0, 0], dtype=torch.int8),
            'f': torch.tensor([-0., 2.])}, sys.argv[1])" "$BATS_TEST_TMPDIR/q8.pt"
	run "$PTFS" --scan "$BATS_TEST_TMPDIR/q8.pt"
	assert_success
	assert_output "q8/data.pkl: allowed torch._utils._rebuild_tensor_v2 called GLOBAL
q8/data.pkl: allowed torch.CharStorage named GLOBAL
q8/data.pkl: allowed collections.OrderedDict called GLOBAL
q8/data.pkl: allowed torch.FloatStorage named GLOBAL
verdict: allowed"
	mount_ckpt "$BATS_TEST_TMPDIR/q8.pt" -o strict
	[ "$(od -An -tx1 "$MNT/q" | tr -d ' ')" = 80020203 ]
	run tail -n 1 "$MNT/.ptfs/globals"
	assert_output "verdict: allowed"
}

@test "a storage record that parses as a whole pickle is scanned: its globals are reported" {
	need_torch
	"$TORCH_PY" -c "
import sys, torch
torch.save({'w': torch.zeros(8, dtype=torch.uint8)}, sys.argv[1])" "$BATS_TEST_TMPDIR/ok.pt"
	# the same archive, data/0 replaced by pickle bytes that name posix.system (written as
	# bytes, never unpickled); torch.load(pickle_file='data/0') would run them
	python3 -c "
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w') as b:
    for i in a.infolist():
        data = a.read(i)
        if i.filename == 'ok/data/0':
            data = b'\\x80\\x02cposix\\nsystem\\nq\\x00X\\x02\\x00\\x00\\x00idq\\x01\\x85q\\x02Rq\\x03.'
        b.writestr(i, data)
" "$BATS_TEST_TMPDIR/ok.pt" "$BATS_TEST_TMPDIR/bad.pt"
	run "$PTFS" --scan "$BATS_TEST_TMPDIR/bad.pt"
	assert_failure 2
	assert_line "ok/data/0: dangerous posix.system called GLOBAL (process and OS)"
	assert_line "verdict: dangerous"
	# the same behind a 100,000-character string: past the 64 KiB parsed first, so the
	# rest of the record is read
	python3 -c "
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
pad = b'X' + (100000).to_bytes(4, 'little') + b'a' * 100000 + b'0'
with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w') as b:
    for i in a.infolist():
        data = a.read(i)
        if i.filename == 'ok/data/0':
            data = b'\\x80\\x02' + pad + b'cposix\\nsystem\\nq\\x00X\\x02\\x00\\x00\\x00idq\\x01\\x85q\\x02Rq\\x03.'
        b.writestr(i, data)
" "$BATS_TEST_TMPDIR/ok.pt" "$BATS_TEST_TMPDIR/bad2.pt"
	run "$PTFS" --scan "$BATS_TEST_TMPDIR/bad2.pt"
	assert_failure 2
	assert_line "ok/data/0: dangerous posix.system called GLOBAL (process and OS)"
}

# every regular file and link under $1 stays inside $1; prints the count
walk_inside() {
	local root="$1" n=0 p
	while IFS= read -r -d '' p; do
		case "$(realpath -m "$p")" in "$root" | "$root"/*) ;; *) echo "escapes: $p"; return 1 ;; esac
		if [ -f "$p" ] && [ ! -L "$p" ]; then
			timeout 2 cat "$p" >/dev/null 2>&1 || [ $? -ne 124 ] || { echo "hangs: $p"; return 1; }
		fi
		n=$((n + 1))
	done < <(timeout 5 find "$root" -mindepth 1 -print0)
	echo "$n"
}

@test "every sample: shown or refused in under 2 s and 256 MiB, no crash, nothing escapes" {
	need_fuse
	local f rc secs kb out
	while IFS= read -r -d '' f; do
		case "$f" in *.tsv | *.md) continue ;; esac
		# the open path alone, timed and measured (the daemon runs the same code)
		/usr/bin/time -o "$BATS_TEST_TMPDIR/time" -f '%e %M' timeout 2 "$INSPECT" "$f" >/dev/null 2>&1 || true
		out=$(tail -n 1 "$BATS_TEST_TMPDIR/time")
		secs=${out% *}
		kb=${out#* }
		[ "$(echo "$secs < 2" | bc)" = 1 ] || { echo "$f: $secs s"; return 1; }
		[ "$kb" -lt 262144 ] || { echo "$f: $kb KiB"; return 1; }
		run timeout 5 "$PTFS" "$f" "$BATS_TEST_TMPDIR/m"
		rc=$status
		if [ "$rc" -eq 0 ]; then
			run walk_inside "$BATS_TEST_TMPDIR/m"
			fusermount3 -u "$BATS_TEST_TMPDIR/m"
			assert_success
		else
			[ "$rc" -eq 1 ] || { echo "$f: exit $rc: $output"; return 1; }
			[[ "$output" == "ptfs: $f: "* ]] || { echo "$f: $output"; return 1; }
			[ "$(echo "$output" | wc -l)" -eq 1 ]
			! is_mounted "$BATS_TEST_TMPDIR/m"
		fi
	done < <(mkdir -p "$BATS_TEST_TMPDIR/m" && find "$H" -type f -print0 | sort -z)
}

@test "the malformed tensors and containers are refused with a message naming the problem" {
	run "$PTFS" "$H/synth/tensor_offset_past_end.pt" "$BATS_TEST_TMPDIR"
	assert_output "ptfs: $H/synth/tensor_offset_past_end.pt: data.pkl: offset 165: REDUCE: _rebuild_tensor_v2: the view (offset 1000) reaches element 1011 of storage '0', which holds 12 elements of float32"
	run "$PTFS" "$H/synth/tensor_storage_short.pt" "$BATS_TEST_TMPDIR"
	assert_output "ptfs: $H/synth/tensor_storage_short.pt: storage '0': record data/0 holds 48 bytes, the pickle declares 4000000 (1000000 x float32)"
	run "$PTFS" "$H/synth/zip_deflate_bomb.pt" "$BATS_TEST_TMPDIR"
	assert_output "ptfs: $H/synth/zip_deflate_bomb.pt: storage '0': record data/0 is compressed (method 8); torch.save never compresses storages"
	run "$PTFS" "$H/synth/legacy_huge_numel.pt" "$BATS_TEST_TMPDIR"
	assert_output --regexp "^ptfs: $H/synth/legacy_huge_numel.pt: .*(overflow|element)"
	run "$PTFS" "$H/R29_picklescan_malicious1.7z" "$BATS_TEST_TMPDIR"
	assert_output "ptfs: $H/R29_picklescan_malicious1.7z: not a PyTorch checkpoint (7z archive)"
}

# no_exec LOG: one execve (the program itself, or fusermount3), no socket or
# connect, and no shared library opened after the sample was opened
no_exec() {
	local log="$1" sample="$2"
	[ "$(grep -c 'execve(' "$log")" -le 2 ]
	! grep -E 'execve\(' "$log" | grep -v -E "execve\(\"($PTFS|$INSPECT|/usr/bin/fusermount3|/bin/fusermount3)\"" | grep -q .
	! grep -qE '(^|[^a-z])(socket|connect)\(' "$log"
	! awk -v s="$sample" 'index($0, s) {seen=1} seen && /openat\(.*\.so(\.[0-9]+)*"/' "$log" | grep -q .
}

@test "under strace: no sample makes ptfs execute, connect or load a library" {
	command -v strace >/dev/null || skip "no strace"
	need_fuse
	local f log="$BATS_TEST_TMPDIR/strace.log"
	while IFS= read -r -d '' f; do
		case "$f" in *.tsv | *.md) continue ;; esac
		strace -f -qq -e trace=execve,socket,connect,openat -o "$log" "$PTFS" --scan "$f" >/dev/null 2>&1 || true
		no_exec "$log" "$f" || { echo "--scan $f"; cat "$log" | head -20; return 1; }
		strace -f -qq -e trace=execve,socket,connect,openat -o "$log" "$INSPECT" "$f" >/dev/null 2>&1 || true
		no_exec "$log" "$f" || { echo "inspect $f"; return 1; }
	done < <(find "$H" -type f -print0 | sort -z)
	# and a mounted daemon serving a dangerous file, read in full
	mkdir -p "$BATS_TEST_TMPDIR/m"
	strace -f -qq -e trace=execve,socket,connect,openat -o "$log" "$PTFS" -f "$H/synth/zip_prefix_mismatch.pt" "$BATS_TEST_TMPDIR/m" 3>&- &
	MOUNTS+=("$BATS_TEST_TMPDIR/m")
	for i in $(seq 50); do is_mounted "$BATS_TEST_TMPDIR/m" && break; sleep 0.1; done
	find "$BATS_TEST_TMPDIR/m" -type f -exec cat {} + >/dev/null
	cat "$BATS_TEST_TMPDIR/m/.ptfs/globals" >/dev/null
	fusermount3 -u "$BATS_TEST_TMPDIR/m"
	wait
	no_exec "$log" "$H/synth/zip_prefix_mismatch.pt"
}
