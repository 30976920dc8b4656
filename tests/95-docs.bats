#!/usr/bin/env bats
# Docs that cannot rot (issue 15 part 8; docs/README.md): every `sh` and `console` block of
# README.md and docs/*.md runs in a sandbox (scripts/doc-run.sh), `python` blocks are
# excerpts of scripts this file runs, blocks that are not run are the known few, and each
# example of torch.load's documentation has its ptfs equivalent, checked against torch.
load helpers

setup_file() {
	# the pairs of docs/diff.md, made once for this file
	if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
		export DOC_PAIRS="$BATS_FILE_TMPDIR/pairs"
		/usr/bin/python3 "$BATS_TEST_DIRNAME/../scripts/make-diff-pairs.py" "$DOC_PAIRS" >/dev/null
	fi
}

setup() {
	load_libs
}

docs() {
	(cd "$ROOT" && ls README.md docs/*.md docs/ptfs.1)
}

blocks() {
	(cd "$ROOT" && /usr/bin/python3 scripts/doc-blocks.py list $(docs))
}

# run_blocks FILE...: every sh and console block of the files; all failures reported
run_blocks() {
	local f line kind failed=0 n=0
	while IFS=$'\t' read -r f line kind; do
		case "$kind" in sh | console) ;; *) continue ;; esac
		n=$((n + 1))
		if ! (cd "$ROOT" && bash scripts/doc-run.sh "$f" "$line" 3>&-); then
			failed=$((failed + 1))
		fi
	done < <(cd "$ROOT" && /usr/bin/python3 scripts/doc-blocks.py list "$@")
	echo "$n blocks run, $failed failed" >&2
	[ "$n" -gt 0 ] && [ "$failed" = 0 ]
}

@test "docs: every block names its kind (sh, sh norun, console, python, text); python blocks are in scripts/" {
	run bash -c "cd '$ROOT' && /usr/bin/python3 scripts/doc-blocks.py lint $(docs | tr '\n' ' ')"
	assert_success
	assert_output ""
	# and the linter refuses what it should
	printf '# x\n\n```\nls\n```\n\n```python\nprint(1)\n```\n\n```console\nls\n```\n' >"$BATS_TEST_TMPDIR/bad.md"
	run /usr/bin/python3 "$ROOT/scripts/doc-blocks.py" lint "$BATS_TEST_TMPDIR/bad.md"
	assert_failure
	assert_line --index 0 --partial "bad.md:3: fence kind '' is not one of"
	assert_line --index 1 "$BATS_TEST_TMPDIR/bad.md:7: this python block is not in any scripts/*.py as it is"
	assert_line --index 2 "$BATS_TEST_TMPDIR/bad.md:11: a console block starts with a '\$ ' command"
}

@test "docs: the blocks that are not run are these (a new one is a deliberate change here)" {
	run bash -c "cd '$ROOT' && /usr/bin/python3 scripts/doc-blocks.py list $(docs | tr '\n' ' ') |
		awk -F'\t' '\$3 == \"sh norun\" {print \$1}' | sort | uniq -c | awk '{print \$2, \$1}'"
	assert_success
	# README: make demo/test, make install/dpkg-buildpackage, mount -t fuse.ptfs (root);
	# gpu.md: materialize, the consumers and scripts/gpu-check.sh (a GPU);
	# performance.md: the half-hour benchmark, the views' rows (twice) and the standard tools'; ptfs.1: mount -t fuse.ptfs and
	# umount (root)
	assert_output "README.md 3
docs/gpu.md 3
docs/performance.md 5
docs/ptfs.1 2"
	# and their first lines
	while IFS=$'\t' read -r f line kind; do
		[ "$kind" = "sh norun" ] || continue
		(cd "$ROOT" && /usr/bin/python3 scripts/doc-blocks.py body "$f" "$line" | head -n 1)
	done < <(blocks) >"$BATS_TEST_TMPDIR/norun"
	run cut -c1-40 "$BATS_TEST_TMPDIR/norun"
	assert_output "make demo     # on a fresh Debian machin
make install PREFIX=/usr/local      # pt
mount -t fuse.ptfs /data/model.pt /mnt/m
ptfs model.pt /mnt/m
cc -I/usr/local/cuda/include docs/exampl
bash scripts/gpu-check.sh   # on the GPU
RUNS=5 bash scripts/bench.sh /tmp/ptfs-b
RUNS=5 bash scripts/bench-views.sh /tmp/
RUNS=3 bash scripts/bench-compare.sh /tm
RUNS=3 bash scripts/bench-compare.sh /tm
RUNS=7 bash scripts/bench-views.sh /tmp/
mount -t fuse.ptfs /data/model.pt /mnt/m
mount -t fuse.ptfs /data/model.pt /mnt/m"
}

@test "docs: every sh and console block of README.md runs as written" {
	need_fuse
	need_torch
	run_blocks README.md
}

@test "docs: every sh and console block of docs/*.md runs as written" {
	need_fuse
	need_torch
	run_blocks $(cd "$ROOT" && ls docs/*.md)
}

@test "docs: every example of the man page (docs/ptfs.1, EXAMPLES and MOUNT(8)) runs as written" {
	need_fuse
	need_torch
	run_blocks docs/ptfs.1
}

@test "docs: the sandbox reports a failing block, its output and the difference, and unmounts" {
	need_fuse
	cat >"$BATS_TEST_TMPDIR/t.md" <<-'EOF'
		```sh
		ls /mnt/m/layer1
		false
		```

		```console
		$ cat /mnt/m/epoch
		13
		$ ls /mnt/m
		epoch
		layer1
		```
	EOF
	run bash "$ROOT/scripts/doc-run.sh" "$BATS_TEST_TMPDIR/t.md" 1
	assert_failure
	assert_line --index 0 "$BATS_TEST_TMPDIR/t.md:1: the block failed (exit 1); its output:"
	assert_line --index 1 "    bias"
	run bash "$ROOT/scripts/doc-run.sh" "$BATS_TEST_TMPDIR/t.md" 6
	assert_failure
	assert_line --index 0 "$BATS_TEST_TMPDIR/t.md:6: \$ cat /mnt/m/epoch"
	assert_line "    -13"
	assert_line "    +12"
	refute_output --partial "ls /mnt/m"
	# nothing left mounted
	run grep -c 'ptfs-doc\.' /proc/self/mounts
	assert_output 0
}

# The predict flow of docs/predict.md: weights from the mount, no torch.load
@test "predict example: a model filled from np.memmap and torch.from_file of the mount predicts as torch.load's" {
	need_fuse
	need_torch
	cd "$BATS_TEST_TMPDIR"
	"$TORCH_PY" "$ROOT/scripts/predict-example.py" save mlp.pt
	# a GPU checkpoint: plain torch.load refuses it on this CPU-only machine
	run "$TORCH_PY" -c 'import torch; torch.load("mlp.pt")'
	assert_failure
	assert_output --partial "torch.cuda.is_available() is False"
	mount_ckpt mlp.pt
	[ "$(getfattr --only-values -n user.pt.saved_location "$MNT/0/weight")" = cuda:0 ]
	run "$TORCH_PY" "$ROOT/scripts/predict-example.py" predict "$MNT" mlp.pt
	assert_success
	assert_line --index 1 "equal to torch.load's model"
	# no torch.load in the predict path: the mount alone, torch.load made to fail
	run "$TORCH_PY" -c '
import runpy, sys, torch
def refuse(*a, **k):
    raise SystemExit("torch.load was called")
torch.load = refuse
mount, script = sys.argv[1:]
sys.argv = [script, "predict", mount]
runpy.run_path(script, run_name="__main__")
' "$MNT" "$ROOT/scripts/predict-example.py"
	assert_success
	assert_output "prediction: [[0.2542, -0.0347, -0.0045], [0.1008, -0.0709, 0.1214]]"
}

# torch.load's docstring examples (torch 1.13): each one is in docs/control.md's table
@test "torch.load example: every example of torch.load's documentation has a row in docs/control.md" {
	need_torch
	run "$TORCH_PY" - "$ROOT/docs/control.md" <<-'EOF'
		import re, sys, torch
		table = "".join(open(sys.argv[1]).read().split())
		examples = [l.split(">>>", 1)[1].strip() for l in torch.load.__doc__.splitlines()
		            if ">>> torch.load(" in l]
		assert len(examples) >= 7, examples
		for e in examples:
		    print(("ok " if "`" + "".join(e.split()) + "`" in table else "MISSING ") + e)
	EOF
	assert_success
	refute_output --partial MISSING
}

@test "torch.load example: torch.load(io.BytesIO(...)) gives what the file's mount shows" {
	need_fuse
	need_torch
	for f in 01_dtypes 05_tied 11_legacy; do
		mount_ckpt "$FIX/$f.pt"
		run "$TORCH_PY" - "$FIX/$f.pt" "$MNT" <<-'EOF'
			import io, os, sys, torch
			with open(sys.argv[1], "rb") as f:
			    buffer = io.BytesIO(f.read())
			obj = torch.load(buffer)
			n = 0
			for d, _, files in os.walk(sys.argv[2]):
			    if "/.ptfs" in d + "/":
			        continue
			    for name in files:
			        p = os.path.join(d, name)
			        if os.path.islink(p) or os.getxattr(p, "user.pt.type") != b"torch.Tensor":
			            continue
			        t = eval("obj" + os.getxattr(p, "user.pt.key").decode()).contiguous()
			        assert str(t.dtype)[6:] == os.getxattr(p, "user.pt.dtype").decode(), p
			        want = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
			        assert open(p, "rb").read() == want, p
			        n += 1
			print(n, "tensors equal")
		EOF
		assert_success
		assert_output --regexp '^[1-9][0-9]* tensors equal$'
	done
}

@test "torch.load example: encoding='ascii' is -o encoding=ascii, and both refuse a non-ASCII byte" {
	need_fuse
	need_torch
	cd "$BATS_TEST_TMPDIR"
	# a Python 2 pickle: SHORT_BINSTRING 'cafe' under key 's', then 'caf\xe9'
	python3 "$ROOT/tests/mkzip.py" module.pt "b'\\x80\\x02}q\\x00X\\x01\\x00\\x00\\x00sU\\x04cafes.'"
	python3 "$ROOT/tests/mkzip.py" latin.pt "b'\\x80\\x02}q\\x00X\\x01\\x00\\x00\\x00sU\\x04caf\\xe9s.'"
	run "$TORCH_PY" -c 'import torch; print(torch.load("module.pt", encoding="ascii")["s"])'
	assert_output cafe
	mount_ckpt module.pt -o encoding=ascii
	[ "$(cat "$MNT/s")" = cafe ]
	[ "$(getfattr --only-values -n user.pt.type "$MNT/s")" = str ]
	run "$TORCH_PY" -c 'import torch; torch.load("latin.pt", encoding="ascii")'
	assert_failure
	assert_output --partial "UnicodeDecodeError: 'ascii' codec can't decode byte 0xe9"
	run "$PTFS" -o encoding=ascii latin.pt "$BATS_TEST_TMPDIR"
	assert_failure 1
	assert_output "ptfs: latin.pt: data.pkl: offset 11: SHORT_BINSTRING: byte 0xe9 at 3 is not ASCII"
}
