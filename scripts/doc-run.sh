#!/bin/bash
# Runs one block of the docs in a sandbox, as tests/95-docs.bats does (docs/README.md):
#
#     bash scripts/doc-run.sh FILE LINE
#
# The sandbox is a fresh folder: the block runs in its work/ folder, which holds model.pt
# (tests/fixtures/17_demo.pt), model_gpu.pt and gpu.pt (12_cuda_tags.pt: tags cuda:0,
# cuda:1, cuda:2), a.pt and b.pt (17_demo.pt twice), and the pairs of docs/diff.md when
# DOC_PAIRS names a folder of them (scripts/make-diff-pairs.py). /mnt/NAME and /tmp/ in the
# block stand for the sandbox's mnt/NAME and tmp/; `ptfs`, `python3` and `python` are
# build/ptfs and Debian's /usr/bin/python3 (torch). A block that uses /mnt/NAME without
# mounting it itself continues its page: it runs after `ptfs model.pt /mnt/m` (a.pt on
# /mnt/a, b.pt on /mnt/b). scripts/ is the repository's. Each `sh` block runs with bash -euo pipefail; a `console` block
# runs each `$ ` command in turn and compares its output (stdout and stderr) with the
# lines under it. Every mount under the sandbox is unmounted afterwards, also on failure.
# Exit 0 when the block passed; else its output and the difference on stderr.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FILE="$1" LINE="$2"
FIX="$ROOT/tests/fixtures"
PY=/usr/bin/python3

SB="$(mktemp -d "${TMPDIR:-/tmp}/ptfs-doc.XXXXXX")"
cleanup() {
	local m
	for m in $(awk -v d="$SB/" '$3 == "fuse.ptfs" && index($2, d) == 1 {print $2}' /proc/self/mounts); do
		fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$SB"
}
trap cleanup EXIT

mkdir -p "$SB/work" "$SB/mnt/m" "$SB/mnt/a" "$SB/mnt/b" "$SB/tmp" "$SB/bin"
cp "$FIX/17_demo.pt" "$SB/work/model.pt"
cp "$FIX/17_demo.pt" "$SB/work/a.pt"
cp "$FIX/17_demo.pt" "$SB/work/b.pt"
cp "$FIX/12_cuda_tags.pt" "$SB/work/model_gpu.pt"
cp "$FIX/12_cuda_tags.pt" "$SB/work/gpu.pt"
if [ -n "${DOC_PAIRS:-}" ]; then
	cp "$DOC_PAIRS"/*.pt "$SB/work/"
fi
ln -s "$ROOT/scripts" "$SB/work/scripts"
ln -s "$ROOT/build/ptfs" "$SB/bin/ptfs"
ln -s "$PY" "$SB/bin/python3"
ln -s "$PY" "$SB/bin/python"
export PATH="$SB/bin:$PATH" PTFS_ROOT="$ROOT"

KIND="$("$PY" "$ROOT/scripts/doc-blocks.py" list "$FILE" | awk -F'\t' -v l="$LINE" '$2 == l {print $3}')"
BODY="$("$PY" "$ROOT/scripts/doc-blocks.py" body "$FILE" "$LINE")" || exit 1
# the sandbox's paths for the docs' /mnt/NAME and /tmp/
BODY="$(printf '%s\n' "$BODY" | sed -e 's#/mnt/#\x01MNT#g' -e 's#/tmp/#\x01TMP#g' \
	-e "s#\x01MNT#$SB/mnt/#g" -e "s#\x01TMP#$SB/tmp/#g")"

# /mnt/NAME used but not mounted by the block itself: mount it first
for name in $(printf '%s\n' "$BODY" | grep -o "$SB/mnt/[a-z]*" | sed "s#.*/##" | sort -u); do
	if printf '%s\n' "$BODY" | grep -Eq "(^|[;&|(]|\\\$ )[[:space:]]*ptfs [^#]*$SB/mnt/$name([[:space:];&|)]|\$)"; then
		continue
	fi
	case "$name" in a) src=a.pt ;; b) src=b.pt ;; *) src=model.pt ;; esac
	(cd "$SB/work" && "$ROOT/build/ptfs" "$src" "$SB/mnt/$name" 3>&-) || {
		echo "$FILE:$LINE: could not mount $src on /mnt/$name for the block" >&2
		exit 1
	}
done

# the output with the sandbox's paths written back as the docs write them
unsandbox() { sed -e "s#$SB/mnt/#/mnt/#g" -e "s#$SB/tmp/#/tmp/#g" -e "s#$SB/work/##g" -e "s#${SB#/}/mnt/#mnt/#g"; }

case "$KIND" in
sh)
	printf '%s\n' "$BODY" >"$SB/block.sh"
	out="$(cd "$SB/work" && timeout 120 bash -euo pipefail "$SB/block.sh" 2>&1 </dev/null 3>&-)"
	rc=$?
	if [ $rc != 0 ]; then
		{
			echo "$FILE:$LINE: the block failed (exit $rc); its output:"
			printf '%s\n' "$out" | unsandbox | sed 's/^/    /'
		} >&2
		exit 1
	fi
	;;
console)
	# split into commands and their expected output
	printf '%s\n' "$BODY" | "$PY" -c '
import sys, os
d = sys.argv[1]
cmds, outs = [], []
for line in sys.stdin.read().rstrip("\n").split("\n"):
    if line.startswith("$ "):
        cmds.append(line[2:]); outs.append([])
    else:
        outs[-1].append(line)
for i, (c, o) in enumerate(zip(cmds, outs)):
    while o and o[-1] == "":
        o.pop()
    open(os.path.join(d, "cmd.%03d" % i), "w").write(c + "\n")
    open(os.path.join(d, "want.%03d" % i), "w").write("".join(l + "\n" for l in o))
' "$SB"
	fail=0
	for c in "$SB"/cmd.*; do
		n="${c##*.}"
		(cd "$SB/work" && timeout 120 bash -o pipefail "$c" 2>&1 </dev/null 3>&-) | unsandbox |
			sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$SB/got.$n"
		if ! cmp -s "$SB/want.$n" "$SB/got.$n"; then
			{
				echo "$FILE:$LINE: \$ $(unsandbox <"$c")"
				diff -u --label documented --label actual "$SB/want.$n" "$SB/got.$n" | sed 's/^/    /'
			} >&2
			fail=1
		fi
	done
	exit $fail
	;;
*)
	echo "$FILE:$LINE: a '$KIND' block is not run" >&2
	exit 2
	;;
esac
