#!/usr/bin/env bats
# The subcommands beside the mount form (docs/cli.md): ls, cat, info, scan,
# convert; their help, usage errors and exit statuses; the progress line.

load helpers

setup() {
	load_libs
	D="$BATS_TEST_TMPDIR"
}

# ---- dispatch and help ----

@test "each subcommand's --help prints its usage and exits 0" {
	for c in ls cat info scan convert export; do
		run "$PTFS" "$c" --help
		assert_success
		assert_line --index 0 --partial "usage: ptfs $c "
		run "$PTFS" "$c" -h
		assert_success
	done
}

@test "ptfs --help lists the subcommands" {
	run "$PTFS" --help
	assert_success
	assert_line --index 1 "       $PTFS ls|cat|info|scan|convert|export|diff ... (see $PTFS COMMAND --help)"
	assert_output --partial "    convert [-o map_location=RULE]... SRC DST"
	assert_output --partial "A checkpoint named like a command mounts as ./NAME."
}

@test "usage errors exit 2 with the subcommand's usage line" {
	run "$PTFS" ls
	assert_failure 2
	assert_output "ptfs ls: missing operands
usage: ptfs ls [-R] [-o OPT[,OPT]...] CHECKPOINT [PATH]"
	run "$PTFS" cat "$FIX/17_demo.pt"
	assert_failure 2
	assert_line --index 0 "ptfs cat: too few operands"
	run "$PTFS" info "$FIX/17_demo.pt" extra
	assert_failure 2
	assert_line --index 0 "ptfs info: too many operands"
	run "$PTFS" convert -x "$FIX/17_demo.pt" "$D/o.pt"
	assert_failure 2
	assert_line --index 0 "ptfs convert: unknown option -x"
	run "$PTFS" cat -R "$FIX/17_demo.pt" epoch
	assert_failure 2
	assert_line --index 0 "ptfs cat: unknown option -R"
	run "$PTFS" ls -o colour=red "$FIX/17_demo.pt"
	assert_failure 2
	assert_line --index 0 "ptfs ls: -o colour=red: unknown option (map_location=RULE, encoding=NAME)"
	run "$PTFS" ls -o "$FIX/17_demo.pt"
	assert_failure 2
	run "$PTFS" scan
	assert_failure 2
	[ ! -e "$D/o.pt" ]
}

@test "a bad map_location rule is a usage error, as for the mount" {
	run "$PTFS" ls -o map_location=cpu:0 "$FIX/17_demo.pt"
	assert_failure 2
	assert_output "ptfs: -o map_location=cpu:0: map_location: 'cpu:0' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)"
}

@test "a checkpoint named like a subcommand still mounts as ./NAME" {
	need_fuse
	cp "$FIX/17_demo.pt" "$D/ls"
	cd "$D"
	mount_ckpt ./ls
	[ "$(cat "$MNT/epoch")" = 12 ]
}

@test "a file that cannot be opened: exit 1, one line naming it" {
	run "$PTFS" ls "$D/nope.pt"
	assert_failure 1
	assert_output "ptfs: $D/nope.pt: No such file or directory"
	echo hello >"$D/hello.txt"
	run "$PTFS" info "$D/hello.txt"
	assert_failure 1
	assert_output "ptfs: $D/hello.txt: not a PyTorch checkpoint (unknown format, first bytes 68 65 6c 6c)"
}

# ---- ls ----

@test "ls: the root, aligned columns KIND TYPE SHAPE LOCATION SIZE NAME, no .ptfs" {
	run "$PTFS" ls "$FIX/17_demo.pt"
	assert_success
	assert_output "d ptfs.prefix - - 0 layer1
- int         - - 3 epoch"
}

@test "ls: a directory, with saved and mapped locations" {
	run "$PTFS" ls "$FIX/17_demo.pt" layer1
	assert_success
	assert_output "t float32 [3,4] cuda:1 48 weight
t float32 [3]   cuda:1 12 bias"
	run "$PTFS" ls -o map_location=cuda:1=cpu "$FIX/17_demo.pt" /layer1/
	assert_success
	assert_output "t float32 [3,4] cpu 48 weight
t float32 [3]   cpu 12 bias"
	run "$PTFS" ls -o 'map_location=/layer1/bias=cuda:0' "$FIX/17_demo.pt" layer1
	assert_output "t float32 [3,4] cuda:1 48 weight
t float32 [3]   cuda:0 12 bias"
}

@test "ls: a file shows itself under the path given" {
	run "$PTFS" ls "$FIX/17_demo.pt" layer1/weight
	assert_success
	assert_output "t float32 [3,4] cuda:1 48 layer1/weight"
	run "$PTFS" ls "$FIX/12_cuda_tags.pt" fc2/bias
	assert_output "t float32 [2] cuda:2 8 fc2/bias"
}

@test "ls -R: everything below, names as paths; links shown, not followed" {
	run "$PTFS" ls -R "$FIX/18_shared_containers.pt"
	assert_success
	assert_output "d dict  -   -    0 cfg1
- int   -   -    2 cfg1/depth
t int64 [4] cpu 32 cfg1/w
l dict  -   -    4 cfg2 -> cfg1
d list  -   -    0 both
l dict  -   -    7 both/0 -> ../cfg1
l dict  -   -    7 both/1 -> ../cfg1"
	run "$PTFS" ls -R "$FIX/08_optimizer.pt" model
	assert_success
	assert_line --index 0 "d ptfs.prefix -     -    0 0"
	assert_line --index 1 "t float32     [3,4] cpu 48 0/weight"
}

@test "ls: links are followed on the way and with a trailing slash" {
	run "$PTFS" ls "$FIX/18_shared_containers.pt" cfg2/
	assert_success
	assert_output "- int   -   -    2 depth
t int64 [4] cpu 32 w"
	run "$PTFS" ls "$FIX/18_shared_containers.pt" both/1/w
	assert_output "t int64 [4] cpu 32 both/1/w"
}

@test "ls: values, numpy arrays, escaped names and modules" {
	run "$PTFS" ls "$FIX/15_values_wo.pt"
	assert_success
	assert_line --index 0 "- int      -   -    2 int"
	assert_line --index 8 "- str      -   -   12 str"
	run "$PTFS" ls "$FIX/20_numpy.pt" f64
	assert_output "- float64 [2,3] - 48 f64"
	run "$PTFS" ls "$FIX/14_awkward_keys.pt" "%'x%2Fy'"
	assert_output "t float32 [2] cpu 8 %'x%2Fy'"
	run "$PTFS" ls "$FIX/09_whole_model.pt" 0
	assert_success
	assert_line --partial " weight"
}

@test "ls: a missing key fails naming the file and the key" {
	run "$PTFS" ls "$FIX/17_demo.pt" layer1/nope
	assert_failure 1
	assert_output "ptfs: $FIX/17_demo.pt: layer1/nope: no such entry"
	run "$PTFS" ls "$FIX/17_demo.pt" epoch/x
	assert_failure 1
	assert_output "ptfs: $FIX/17_demo.pt: epoch/x: not a directory"
}

# ---- cat ----

@test "cat: a scalar's text, as the mount shows it" {
	run "$PTFS" cat "$FIX/17_demo.pt" epoch
	assert_success
	assert_output "12"
	[ "$("$PTFS" cat "$FIX/15_values_wo.pt" str | od -An -c | tr -s ' ')" = "$("$INSPECT" -r str "$FIX/15_values_wo.pt" | od -An -c | tr -s ' ')" ]
}

@test "cat: every tensor's bytes equal the library's read (views gathered)" {
	local f p
	for f in 01_dtypes 04_views 06_shared_views 11_legacy 12_cuda_tags 20_numpy; do
		for p in $("$INSPECT" "$FIX/$f.pt" | awk -F'\t' '$2 == "tensor" || ($2 == "data" && $3 == "numpy.ndarray") {print $1}'); do
			"$PTFS" cat "$FIX/$f.pt" "$p" >"$D/a"
			"$INSPECT" -r "$p" "$FIX/$f.pt" >"$D/b"
			cmp "$D/a" "$D/b" || { echo "$f: $p differs"; return 1; }
		done
	done
}

@test "cat: the float32 demo weight is 0..11" {
	run bash -c "'$PTFS' cat '$FIX/17_demo.pt' layer1/weight | od -An -f -w48 | tr -s ' '"
	assert_success
	assert_output " 0 1 2 3 4 5 6 7 8 9 10 11"
}

@test "cat: a directory or a missing key fails naming the file and the key" {
	run "$PTFS" cat "$FIX/17_demo.pt" layer1
	assert_failure 1
	assert_output "ptfs: $FIX/17_demo.pt: layer1: is a directory"
	run "$PTFS" cat "$FIX/17_demo.pt" nope
	assert_failure 1
	assert_output "ptfs: $FIX/17_demo.pt: nope: no such entry"
}

@test "cat: a large tensor streams in bounded memory" {
	need_torch
	"$TORCH_PY" -c "import torch; torch.save({'w': torch.arange(16 << 20, dtype=torch.int32)}, '$D/big.pt')"
	run bash -c "ulimit -v 200000; '$PTFS' cat '$D/big.pt' w | md5sum"
	assert_success
	want="$("$TORCH_PY" -c "import hashlib, torch; print(hashlib.md5(torch.arange(16 << 20, dtype=torch.int32).numpy().tobytes()).hexdigest())")"
	assert_output "$want  -"
}

# ---- info ----

@test "info: format, era, tensors and storages by dtype and location, globals" {
	run "$PTFS" info "$FIX/12_cuda_tags.pt"
	assert_success
	assert_output "file: $FIX/12_cuda_tags.pt
format: zip (torch.save), version 3, little-endian
written by: torch 1.6 to 2.0 (no byteorder record)
entries: 6
tensors: 4, 92 bytes
storages: 4, 92 bytes
dtype float32: 4 tensors, 92 bytes
location cuda:1: 2 storages, 60 bytes
location cuda:0: 1 storage, 24 bytes
location cuda:2: 1 storage, 8 bytes
globals: allowed"
}

@test "info: legacy, tied tensors counted once, -o map_location, unknown globals" {
	run "$PTFS" info -o map_location=cpu "$FIX/13_legacy_cuda.pt"
	assert_success
	assert_line --index 1 "format: legacy (torch.save before torch 1.6)"
	assert_line --index 2 "written by: torch < 1.6"
	refute_output --partial "location cuda"
	run "$PTFS" info "$FIX/11_legacy.pt"
	assert_line "tensors: 5, 176 bytes"
	assert_line "storages: 3, 128 bytes"
	run "$PTFS" info "$FIX/09_whole_model.pt"
	assert_success
	assert_line "globals: unknown (ptfs scan FILE lists them)"
	run "$PTFS" info "$FIX/31_script_seq.pt"
	assert_line --index 1 "format: zip (TorchScript, torch.jit.save), version 3, little-endian"
}

# ---- scan ----

@test "scan is --scan: same report, same exit status" {
	local f
	for f in 17_demo.pt 09_whole_model.pt 31_script_seq.pt; do
		run "$PTFS" --scan "$FIX/$f"
		local out="$output" st="$status"
		run "$PTFS" scan "$FIX/$f"
		[ "$status" = "$st" ]
		[ "$output" = "$out" ]
	done
	run "$PTFS" scan "$FIX/17_demo.pt" "$FIX/09_whole_model.pt"
	assert_failure 1
	assert_line "$FIX/17_demo.pt: verdict: allowed"
	echo hello >"$D/hello"
	run "$PTFS" scan -- "$D/hello"
	assert_failure 3
}

# ---- convert ----

# check ORIGINAL SAVED: torch.load(SAVED) without map_location equals the original
check() {
	need_torch
	run "$TORCH_PY" "$ROOT/scripts/check-save.py" "$1" "$2"
	echo "$output"
	assert_success
	assert_line "check-save: ok"
}

@test "convert -o map_location=cpu: torch.load(DST) works on a CPU-only machine" {
	need_torch
	run "$PTFS" convert -o map_location=cpu "$FIX/12_cuda_tags.pt" "$D/cpu.pt"
	assert_success
	assert_output ""
	check "$FIX/12_cuda_tags.pt" "$D/cpu.pt"
	run "$PTFS" info "$D/cpu.pt"
	assert_line "location cpu: 4 storages, 92 bytes"
	# the original cannot be loaded here without map_location
	run "$TORCH_PY" -c "import torch; torch.load('$FIX/12_cuda_tags.pt')"
	assert_failure
}

@test "convert: relative DST, pairs and legacy sources" {
	need_torch
	cd "$D"
	run "$PTFS" convert -o 'map_location=cuda:0=cpu;cuda:1=cpu;cuda:2=cpu' "$FIX/12_cuda_tags.pt" rel.pt
	assert_success
	check "$FIX/12_cuda_tags.pt" "$D/rel.pt"
	run "$PTFS" convert -o map_location=cpu "$FIX/13_legacy_cuda.pt" legacy.pt
	assert_success
	check "$FIX/13_legacy_cuda.pt" "$D/legacy.pt"
	run "$PTFS" info legacy.pt
	assert_line --index 1 "format: zip (torch.save), version 3, little-endian"
}

@test "convert refuses DST == SRC, also through a link, and leaves it alone" {
	cp "$FIX/12_cuda_tags.pt" "$D/m.pt"
	ln -s m.pt "$D/link.pt"
	sum="$(md5sum <"$D/m.pt")"
	run "$PTFS" convert -o map_location=cpu "$D/m.pt" "$D/m.pt"
	assert_failure 1
	assert_output "ptfs: $D/m.pt: is the checkpoint being converted; choose another DST"
	run "$PTFS" convert -o map_location=cpu "$D/m.pt" "$D/link.pt"
	assert_failure 1
	[ "$(md5sum <"$D/m.pt")" = "$sum" ]
	[ "$(ls -A "$D")" = "$(printf 'link.pt\nm.pt')" ]
}

@test "convert is atomic: a failure leaves DST as it was and no temporary file" {
	echo old >"$D/dst.pt"
	run "$PTFS" convert "$FIX/31_script_seq.pt" "$D/dst.pt"
	assert_failure 1
	assert_output "ptfs: $FIX/31_script_seq.pt: TorchScript archives cannot be saved (torch.jit.save owns their layout)"
	run "$PTFS" convert -o map_location=nowhere "$FIX/12_cuda_tags.pt" "$D/dst.pt"
	assert_failure 2
	run "$PTFS" convert "$FIX/12_cuda_tags.pt" "$D/nodir/x.pt"
	assert_failure 1
	assert_output --partial "ptfs: $D/nodir/x.pt: "
	mkdir "$D/adir"
	run "$PTFS" convert "$FIX/12_cuda_tags.pt" "$D/adir"
	assert_failure 1
	assert_output --partial "ptfs: $D/adir: "
	[ "$(cat "$D/dst.pt")" = old ]
	[ "$(ls -A "$D")" = "$(printf 'adir\ndst.pt')" ]
	[ -z "$(ls -A "$D/adir")" ]
}

@test "convert replaces an existing DST in one step" {
	need_torch
	echo old >"$D/dst.pt"
	run "$PTFS" convert -o map_location=cpu "$FIX/12_cuda_tags.pt" "$D/dst.pt"
	assert_success
	check "$FIX/12_cuda_tags.pt" "$D/dst.pt"
	[ "$(ls -A "$D")" = dst.pt ]
}

# ---- progress ----

# on_tty CMD...: runs CMD with stdin, stdout and stderr on a terminal (script(1)); the output is the terminal's
on_tty() {
	command -v script >/dev/null || skip "no script(1)"
	local q=() a
	for a in "$@"; do q+=("$(printf '%q' "$a")"); done
	run script -qec "${q[*]}" /dev/null
}

@test "convert on a terminal: one progress line on stderr, ended by a newline" {
	need_torch
	"$TORCH_PY" -c "import torch; torch.save({'w': torch.zeros(3 << 20)}, '$D/src.pt')"
	on_tty "$PTFS" convert -o map_location=cpu "$D/src.pt" "$D/dst.pt"
	assert_success
	# bytes, percent; the last redraw says 100%
	assert_output --regexp $'\r[0-9.]+ [KMG]iB / 12\.0 MiB \([0-9]+%\)'
	assert_output --regexp $'12\.0 MiB / 12\.0 MiB \(100%\)[^\r]*\e\\[K\r?\n?$'
	[ -s "$D/dst.pt" ]
}

@test "convert and scan without a terminal print no progress" {
	need_torch
	"$TORCH_PY" -c "import torch; torch.save({'w': torch.zeros(3 << 20)}, '$D/src.pt')"
	"$PTFS" convert -o map_location=cpu "$D/src.pt" "$D/dst.pt" 2>"$D/err"
	[ ! -s "$D/err" ]
	"$PTFS" scan "$D/src.pt" >/dev/null 2>"$D/err"
	[ ! -s "$D/err" ]
	"$PTFS" --scan "$D/src.pt" >/dev/null 2>"$D/err"
	[ ! -s "$D/err" ]
}

@test "scan on a terminal: the progress line never tears a report line" {
	on_tty "$PTFS" scan "$FIX/17_demo.pt" "$FIX/12_cuda_tags.pt"
	assert_success
	assert_output --partial "$FIX/17_demo.pt: verdict: allowed"
	assert_output --partial "$FIX/12_cuda_tags.pt: verdict: allowed"
	assert_output --regexp '\(100%\)'
	# every report line starts at the left edge: after an erased progress line or a newline
	! grep -E $'\\)[^\r]*'"$FIX"'/17_demo.pt: 17_demo' <<<"$output"
}
