# bench-lib.sh - the start every bench-*.sh script shares; sourced as
#   . "$(dirname "$0")/bench-lib.sh" "$@"
# It sets the C locale (EPOCHREALTIME's decimal point), moves to the
# repository's root (ROOT), names ptfs (PTFS) and Debian's python (PY), and
# makes the work folder: the script's first argument, kept after (keep=yes,
# for reruns), or a temporary one.
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PTFS=$ROOT/build/ptfs
PY=/usr/bin/python3
work=${1:-$(mktemp -d)}
keep=${1:+yes}
mkdir -p "$work"
work=$(cd "$work" && pwd)
