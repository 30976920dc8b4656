#!/usr/bin/env bats
# Views (issue 12): a checkpoint made by torch holding views of shared
# storages (transpose, permute, step slices, expand, a 0-dim element, an
# empty slice, several dtypes) reads, file by file, exactly the bytes of
# t.contiguous(); read whole and in odd-sized pieces at odd offsets; and a
# transposed 4 MiB storage costs a handful of preads, not one per element.

load helpers

setup() {
	load_libs
	need_fuse
	need_torch
	CK="$BATS_TEST_TMPDIR/views.pt"
	"$TORCH_PY" - "$CK" <<'EOF'
import sys, torch
a = torch.arange(1024 * 1024, dtype=torch.int32).view(torch.float32).view(1024, 1024)  # 4 MiB
b = torch.arange(48 * 40 * 6, dtype=torch.float64).view(48, 40, 6)
c = torch.complex(torch.arange(300.0), -torch.arange(300.0)).view(20, 15)
h = torch.arange(90 * 70, dtype=torch.int16).view(90, 70)
u = (torch.arange(5000) % 251).to(torch.uint8).view(50, 100)
torch.save({
    "a": a, "t": a.t(), "perm": a.view(8, 32, 4, 1024).permute(3, 1, 2, 0),
    "rows2": a[::2], "cols2": a[:, ::2], "both2": a[1::2, 3::4].t(),
    "expand": a[:1].expand(512, 1024), "colexp": a[:, 5:6].expand(1024, 3),
    "elem": a[3, 5], "empty": a[:, :0], "narrow": a[100:300, 7:900].t(),
    "b_perm": b.permute(2, 0, 1), "b_slice": b[1::3, ::2, 1:5],
    "c_t": c.t(), "h_t": h.t()[::3], "u_exp": u[:, None, ::7].expand(50, 4, 15),
}, sys.argv[1])
EOF
}

@test "views: every file is t.contiguous()'s bytes, whole and in pieces" {
	mount_ckpt "$CK"
	run "$TORCH_PY" - "$CK" "$MNT" <<'EOF'
import os, random, sys, torch
d = torch.load(sys.argv[1])
rnd = random.Random(12)
bad = 0
for k, t in d.items():
    want = t.contiguous().numpy().tobytes()
    p = os.path.join(sys.argv[2], k)
    with open(p, "rb") as f:
        got = f.read()
    if got != want:
        print("mismatch", k, len(got), len(want)); bad += 1
    fd = os.open(p, os.O_RDONLY)
    for _ in range(40):
        off = rnd.randrange(len(want) + 2)
        n = rnd.choice([1, 3, 4097, 131073, rnd.randrange(1, 1 << 20)])
        if os.pread(fd, n, off) != want[off:off + n]:
            print("piece mismatch", k, off, n); bad += 1
    os.close(fd)
print("views: %d files, %d bad" % (len(d), bad))
EOF
	echo "$output"
	assert_success
	assert_output --partial "views: 16 files, 0 bad"
}

@test "views: a transposed 4 MiB storage is read in a handful of preads" {
	command -v strace >/dev/null || skip "no strace"
	local log="$BATS_TEST_TMPDIR/strace.log" n
	MNT="$BATS_TEST_TMPDIR/m"
	mkdir -p "$MNT"
	MOUNTS+=("$MNT")
	strace -f -qq -e trace=pread64 -o "$log" "$PTFS" -f "$CK" "$MNT" 3>&- &
	for i in $(seq 100); do is_mounted "$MNT" && break; sleep 0.1; done
	is_mounted "$MNT"
	: >"$log.mark"
	n=$(grep -c pread64 "$log" || true) # the mount's own
	cmp <(cat "$MNT/t") <("$TORCH_PY" -c "import sys, torch; sys.stdout.buffer.write(torch.load('$CK')['t'].contiguous().numpy().tobytes())")
	cat "$MNT/perm" "$MNT/cols2" >/dev/null
	fusermount3 -u "$MNT"
	wait
	n=$(($(grep -c pread64 "$log") - n))
	echo "# $n preads for 12 MiB of views of a 4 MiB storage" >&3
	# one per element would be 3 million; one 4 MiB read per view is 3
	[ "$n" -le 24 ]
}
