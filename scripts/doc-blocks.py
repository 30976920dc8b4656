#!/usr/bin/env python3
"""The fenced blocks of ptfs's Markdown docs, for tests/95-docs.bats (docs/README.md), and
the `.Bd -literal` displays of a man page (FILE.1), each preceded by a `.\\" docs: KIND` line.

    doc-blocks.py list FILE...        one line per block: FILE<TAB>LINE<TAB>KIND
    doc-blocks.py body FILE LINE      the block that opens at LINE, without its fences
    doc-blocks.py lint FILE...        every fence names a known kind; exit 1 and one line
                                      per offence otherwise

KIND is the fence's info string: `sh` (run), `sh norun` (shown, not run: the text says
why), `console` (`$ command` lines, each followed by its exact output: run and compared),
`python` (an excerpt of a script under scripts/, which a test runs: lint checks that it is
there verbatim), `text` (output, formats, illustrations: not run). A fence without one is an
error, so a new command block cannot slip by untested.
"""
import os
import re
import sys

KINDS = ("sh", "sh norun", "console", "python", "text")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def scripts_text():
    d = os.path.join(ROOT, "scripts")
    out = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".py"):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                out.append(f.read())
    return out


FENCE = re.compile(r"^(```+|~~~+)\s*(.*?)\s*$")


def roff_blocks(lines, path):
    """A man page's `.Bd -literal` displays; the kind is named by a `.\\" docs: KIND` comment
    on the line before (invisible in the rendered page)."""
    for i, l in enumerate(lines):
        if not l.startswith(".Bd -literal"):
            continue
        m = re.match(r'^\.\\" docs: (.*?)\s*$', lines[i - 1]) if i else None
        j = i + 1
        while j < len(lines) and lines[j] != ".Ed":
            j += 1
        if j == len(lines):
            raise SystemExit(f"{path}:{i + 1}: .Bd never closed")
        body = "\n".join(lines[i + 1:j]) + "\n"
        body = body.replace("\\e", "\\").replace("\\-", "-").replace("\\&", "")
        yield i + 1, m.group(1) if m else "", body


def blocks(path):
    """Yields (line, kind, body) for each fenced block; line is the opening fence's, 1-based."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if re.search(r"\.[1-9]$", path):
        yield from roff_blocks(lines, path)
        return
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(1), m.group(2)
        start = i + 1
        j = start
        while j < len(lines) and lines[j].rstrip() != fence:
            j += 1
        if j == len(lines):
            raise SystemExit(f"{path}:{i + 1}: fence never closed")
        yield i + 1, info, "\n".join(lines[start:j]) + "\n"
        i = j + 1


def main(argv):
    if len(argv) >= 2 and argv[0] == "list":
        for path in argv[1:]:
            for line, kind, _ in blocks(path):
                print(f"{path}\t{line}\t{kind}")
        return 0
    if len(argv) == 3 and argv[0] == "body":
        for line, _, body in blocks(argv[1]):
            if line == int(argv[2]):
                sys.stdout.write(body)
                return 0
        print(f"{argv[1]}:{argv[2]}: no block opens there", file=sys.stderr)
        return 1
    if len(argv) >= 2 and argv[0] == "lint":
        bad = 0
        for path in argv[1:]:
            for line, kind, body in blocks(path):
                if kind not in KINDS:
                    print(f"{path}:{line}: fence kind {kind!r} is not one of "
                          + ", ".join(repr(k) for k in KINDS))
                    bad += 1
                elif kind == "console" and not body.startswith("$ "):
                    print(f"{path}:{line}: a console block starts with a '$ ' command")
                    bad += 1
                elif kind == "python" and not any(body in t for t in scripts_text()):
                    print(f"{path}:{line}: this python block is not in any scripts/*.py as it is")
                    bad += 1
        return 1 if bad else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
