#!/usr/bin/env bash
# make demo: installs the dependencies, builds ptfs, mounts the bundled sample
# checkpoint, shows its tree, a tensor's bytes and its attributes, unmounts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
make -s all
sample=tests/fixtures/17_demo.pt
mnt=$(mktemp -d)
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true; }
trap cleanup EXIT
run() { printf '\n$ %s\n' "$*"; "$@"; }
run build/ptfs "$sample" "$mnt"
run ls -l "$mnt" "$mnt/layer1"
printf '\n$ cat %s/layer1/weight | od -A d -t f4\n' "$mnt"
od -A d -t f4 "$mnt/layer1/weight"
run getfattr -d -m - "$mnt/layer1/weight"
run cat "$mnt/epoch"
run fusermount3 -u "$mnt"
