#!/usr/bin/env bash
# Interleaved mount + ls of two or more ptfs binaries: what a change bought, measured so that
# the machine's load hits every variant alike.
#
#   bash scripts/mount-ls.sh ROUNDS PTFS_BINARY... [-- CHECKPOINT]
#
# Each round spawns every binary in turn on the checkpoint (default: the 20,000-tensor one
# scripts/bench.sh makes, /tmp/ptfs-bench/many10g20000.pt), waits for it to mount, spawns
# `ls` of the root, waits, and unmounts; only ptfs and ls run inside the timed interval
# (scripts/mount-ls.c, built here). Prints per binary the median, minimum and third quartile
# of the whole, of ptfs alone and of ls alone, in ms. Asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:?usage: scripts/mount-ls.sh ROUNDS PTFS_BINARY... [-- CHECKPOINT]}
shift
bins=()
ckpt=/tmp/ptfs-bench/many10g20000.pt
while [ $# -gt 0 ]; do
	if [ "$1" = "--" ]; then ckpt=$2; break; fi
	bins+=("$1"); shift
done
[ ${#bins[@]} -gt 0 ] || { echo "mount-ls: no ptfs binary given" >&2; exit 2; }
[ -s "$ckpt" ] || /usr/bin/python3 scripts/make-big.py "$ckpt" --gib 10 --tensors 20000 --group 10 >&2
work=$(mktemp -d)
trap 'mountpoint -q "$work/mnt" && fusermount3 -u "$work/mnt"; rm -rf "$work"' EXIT
mkdir "$work/mnt"
cc -O2 -o "$work/mount-ls" scripts/mount-ls.c
"$work/mount-ls" "$rounds" "$ckpt" "$work/mnt" "${bins[@]}"
