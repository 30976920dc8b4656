#!/usr/bin/env bats
# Installing ptfs: the man page, bash completion, make install/uninstall,
# mount(8) and fstab through mount.fuse3, and the Debian package (issue 15,
# parts 3 to 6). The mount(8) tests install into /usr/local for real, since
# mount runs helpers with its own PATH; teardown unmounts, uninstalls and
# puts back whatever was there before, also when a test fails.

load helpers

# what make install puts under PREFIX
INSTALLED=(bin/ptfs share/man/man1/ptfs.1 share/bash-completion/completions/ptfs)

setup() {
	load_libs
	BACKUP=
}

teardown() {
	unmount_all
	if [ -n "$BACKUP" ]; then
		make -s -C "$ROOT" uninstall PREFIX=/usr/local DESTDIR= >/dev/null 2>&1 || true
		local f
		for f in "${INSTALLED[@]}"; do
			if [ -e "$BACKUP/$f" ]; then
				mv -f "$BACKUP/$f" "/usr/local/$f"
			fi
		done
	fi
}

# render the man page wide, so that no option is split over two lines
man_text() {
	MANWIDTH=400 man -l "$ROOT/docs/ptfs.1" 2>/dev/null | col -bx
}

@test "man page: mandoc -Tlint -Wwarning finds nothing" {
	command -v mandoc >/dev/null || skip "no mandoc (scripts/install-deps.sh)"
	run mandoc -Tlint -Wwarning "$ROOT/docs/ptfs.1"
	assert_success
	assert_output ""
}

@test "man page: man -l renders every section, the fstab line and the remap example first" {
	command -v man >/dev/null || skip "no man (scripts/install-deps.sh)"
	man_text >"$BATS_TEST_TMPDIR/man.txt"
	local s
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS 'MOUNT(8) AND FSTAB' 'THE TREE' \
		'EXTENDED ATTRIBUTES' 'CONTROL COMMANDS' SUBCOMMANDS FILES 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
		grep -qx "$s" "$BATS_TEST_TMPDIR/man.txt" || fail "no section $s"
	done
	grep -qE '^ +/data/model.pt +/mnt/m +fuse.ptfs +ro,map_location=cpu' "$BATS_TEST_TMPDIR/man.txt" ||
		fail "no fstab line"
	for s in 'ptfs ls' 'ptfs cat' 'ptfs info' 'ptfs scan' 'ptfs convert' 'ptfs diff' \
		user.pt.location user.pt.key 'map_location reset' 'save path' reload wait; do
		grep -qF -- "$s" "$BATS_TEST_TMPDIR/man.txt" || fail "man page lacks '$s'"
	done
	# the first example is the remap of a GPU checkpoint for a CPU machine
	run awk '/^EXAMPLES$/ {on = 1; next} on && /^[A-Z]/ {exit} on && NF' "$BATS_TEST_TMPDIR/man.txt"
	assert_line --index 0 --partial 'Remap a GPU checkpoint for a CPU-only machine'
	assert_line --index 1 --regexp '^ +ptfs model_gpu.pt /mnt/m$'
	assert_line --index 2 --partial "echo 'map_location cpu' > /mnt/m/.ptfs/control"
	assert_line --index 3 --partial 'save /tmp/model_cpu.pt'
	assert_line --index 6 --partial 'torch.load("/tmp/model_cpu.pt")'
}

@test "man page: every option that ptfs --help prints is documented" {
	command -v man >/dev/null || skip "no man (scripts/install-deps.sh)"
	man_text >"$BATS_TEST_TMPDIR/man.txt"
	"$PTFS" --help >"$BATS_TEST_TMPDIR/help.txt"
	# the option column: lines "    -x, --long ARG    text"; each entry up to its argument
	sed -nE 's/^    (-[^ ]+( [^ ]+)?(, -[^ ]+( [^ ]+)?)*)( {2,}.*)?$/\1/p' "$BATS_TEST_TMPDIR/help.txt" |
		sed 's/, /\n/g' | sed -E 's/^(-o [a-z_]+=?).*/\1/; t; s/^(-[-a-zA-Z]+) .*/\1/' |
		sort -u >"$BATS_TEST_TMPDIR/opts"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/opts")" -ge 18 ] || fail "too few options parsed: $(cat "$BATS_TEST_TMPDIR/opts")"
	grep -qx -- '-o map_location=' "$BATS_TEST_TMPDIR/opts" || fail "parser missed -o map_location="
	local o missing=
	while read -r o; do
		case $o in
		*=) grep -qE -- "(^|[ ,\[])$o[a-z]" "$BATS_TEST_TMPDIR/man.txt" ;;
		*) grep -qE -- "(^|[ ,\[])$o([ ,=.]|\]|$)" "$BATS_TEST_TMPDIR/man.txt" ;;
		esac || missing="$missing '$o'"
	done <"$BATS_TEST_TMPDIR/opts"
	[ -z "$missing" ] || fail "not in docs/ptfs.1:$missing"
}

# complete WORDS...: runs the completion function on the words, the last being completed
complete_words() {
	(
		# shellcheck disable=SC1091
		source "$ROOT/completion/ptfs.bash"
		mkdir -p "$BATS_TEST_TMPDIR/cwd" && cd "$BATS_TEST_TMPDIR/cwd" || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMPREPLY=()
		_ptfs
		printf '%s\n' "${COMPREPLY[@]}"
	)
}

@test "bash completion: subcommands, options, -o values, checkpoints, folders for the mount point" {
	run complete_words ptfs c
	assert_output "$(printf 'cat\nconvert')"
	run complete_words ptfs --
	assert_output "$(printf -- '--help\n--version\n--scan')"
	run complete_words ptfs -o ma
	assert_output "$(printf 'map_location=\nmax_threads=\nmax_idle_threads=')"
	run complete_words ptfs -o ro,fol
	assert_output "ro,follow"
	run complete_words ptfs "$FIX/17_de"
	assert_output "$FIX/17_demo.pt"
	mkdir "$BATS_TEST_TMPDIR/mnt17"
	touch "$BATS_TEST_TMPDIR/mnt17.pt"
	run complete_words ptfs "$FIX/17_demo.pt" "$BATS_TEST_TMPDIR/mnt1"
	assert_output "$BATS_TEST_TMPDIR/mnt17"
	run complete_words ptfs diff -
	assert_output "$(printf -- '-q\n--rtol\n--atol')"
}

@test "bash completion under bash-completion: -o values after = and :, as readline replaces them" {
	[ -f /usr/share/bash-completion/bash_completion ] || skip "no bash-completion"
	# readline splits at = and :, so COMP_WORDS does too; the reply is what follows the last one
	run bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1/completion/ptfs.bash"
		COMP_WORDS=(ptfs -o ro,encoding = l); COMP_CWORD=4
		COMP_LINE="ptfs -o ro,encoding=l"; COMP_POINT=${#COMP_LINE}
		_ptfs; echo "${COMPREPLY[*]}"
		COMP_WORDS=(ptfs -o map_location = cuda : ""); COMP_CWORD=6
		COMP_LINE="ptfs -o map_location=cuda:"; COMP_POINT=${#COMP_LINE}
		COMPREPLY=(); _ptfs; echo "${COMPREPLY[*]}"
		COMP_WORDS=(ptfs -o ro,fol); COMP_CWORD=2
		COMP_LINE="ptfs -o ro,fol"; COMP_POINT=${#COMP_LINE}
		COMPREPLY=(); _ptfs; echo "${COMPREPLY[*]}"
		COMP_WORDS=(ptfs -o gpu_copy = r); COMP_CWORD=4
		COMP_LINE="ptfs -o gpu_copy=r"; COMP_POINT=${#COMP_LINE}
		COMPREPLY=(); _ptfs; echo "${COMPREPLY[*]}"' _ "$ROOT"
	assert_output "$(printf 'latin1\n0\nro,follow\nregistered')"
}

@test "options: every word mount(8) or fstab may pass is accepted; ro, rw and unknown ones" {
	need_fuse
	# what mount(8) and mount.fuse3 pass (util-linux 2.38, fuse3 3.14), and fstab words they keep
	local all=dev,nodev,suid,nosuid,exec,noexec,atime,noatime,relatime,norelatime
	all=$all,strictatime,nostrictatime,lazytime,nolazytime,diratime,nodiratime,sync,async,dirsync
	all=$all,mand,nomand,iversion,noiversion,symfollow,nosymfollow,silent,loud,defaults,auto,noauto
	all=$all,user,nouser,users,owner,group,nofail,_netdev,comment=x,x-systemd.automount,X-mount.mkdir
	mount_ckpt "$FIX/17_demo.pt" -o "rw,$all,map_location=cpu"
	run getfattr --absolute-names --only-values -n user.pt.location "$MNT/layer1/weight"
	assert_output "cpu"
	# rw: the tree stays read-only, the control file takes commands
	run touch "$MNT/epoch"
	assert_failure
	assert_output --partial "Read-only file system"
	echo 'map_location cuda:0' >"$MNT/.ptfs/control"
	run getfattr --absolute-names --only-values -n user.pt.location "$MNT/layer1/weight"
	assert_output "cuda:0"
	# ro: read-only for the kernel too, the control file included
	mount_ckpt "$FIX/17_demo.pt" -o ro,map_location=cpu
	run awk -v d="$MNT" '$2 == d {print $4}' /proc/self/mounts
	assert_output --regexp '^ro,'
	run sh -c "echo 'map_location reset' >'$MNT/.ptfs/control'"
	assert_failure
	assert_output --partial "Read-only file system"
	run cat "$MNT/epoch"
	assert_output "12"
	# an option nobody knows is still refused
	run mount_ckpt "$FIX/17_demo.pt" -o bogus_option
	assert_failure
	assert_output --partial "bogus_option"
}

@test "make install and make uninstall: exactly ptfs, its man page and bash completion under DESTDIR" {
	[ -x "$PTFS" ] || fail "build/ptfs not built"
	local d="$BATS_TEST_TMPDIR/dest"
	run make -s -C "$ROOT" install PREFIX=/opt/ptfs DESTDIR="$d"
	assert_success
	assert_output --partial "not on mount(8)'s PATH"
	run sh -c "cd '$d' && find . -type f -printf '%m %p\n' | sort"
	assert_output "$(printf '644 ./opt/ptfs/share/bash-completion/completions/ptfs\n644 ./opt/ptfs/share/man/man1/ptfs.1\n755 ./opt/ptfs/bin/ptfs')"
	cmp "$PTFS" "$d/opt/ptfs/bin/ptfs"
	cmp "$ROOT/docs/ptfs.1" "$d/opt/ptfs/share/man/man1/ptfs.1"
	run make -s -C "$ROOT" uninstall PREFIX=/opt/ptfs DESTDIR="$d"
	assert_success
	run find "$d" -type f
	assert_output ""
	run make -s -C "$ROOT" install PREFIX=/usr/local DESTDIR="$d"
	assert_success
	refute_output --partial "PATH"
}

# installs into /usr/local (mount's PATH), keeping what was there in BACKUP
install_usr_local() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: mount(8) and an install into /usr/local"
	need_fuse
	[ -x /sbin/mount.fuse3 ] || [ -x /usr/sbin/mount.fuse3 ] || skip "no mount.fuse3 (package fuse3)"
	BACKUP="$BATS_TEST_TMPDIR/backup"
	local f
	for f in "${INSTALLED[@]}"; do
		if [ -e "/usr/local/$f" ]; then
			mkdir -p "$(dirname "$BACKUP/$f")"
			mv "/usr/local/$f" "$BACKUP/$f"
		fi
	done
	make -s -C "$ROOT" install PREFIX=/usr/local DESTDIR= >/dev/null
	[ -x /usr/local/bin/ptfs ]
}

# the daemon serving $1 runs the installed binary
served_by_installed() {
	local p
	for p in $(pgrep -x ptfs); do
		if tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF " $1 "; then
			[ "$(readlink "/proc/$p/exe")" = /usr/local/bin/ptfs ] && return 0
		fi
	done
	return 1
}

@test "mount -t fuse.ptfs -o ro,map_location=cpu, with ptfs from make install PREFIX=/usr/local" {
	install_usr_local
	MNT="$BATS_TEST_TMPDIR/m"
	mkdir "$MNT"
	MOUNTS+=("$MNT")
	# mount's own PATH finds ptfs, whatever ours is
	run env PATH=/nonexistent /usr/bin/mount -t fuse.ptfs "$FIX/17_demo.pt" "$MNT" -o ro,map_location=cpu 3>&-
	assert_success
	# mount returned once the mount was ready
	is_mounted "$MNT"
	run awk -v d="$MNT" '$2 == d {print $3, $4}' /proc/self/mounts
	assert_output --regexp '^fuse.ptfs ro,'
	served_by_installed "$MNT" || fail "the daemon is not /usr/local/bin/ptfs"
	run getfattr --absolute-names --only-values -n user.pt.location "$MNT/layer1/weight"
	assert_output "cpu"
	run getfattr --absolute-names --only-values -n user.pt.saved_location "$MNT/layer1/weight"
	assert_output "cuda:1"
	run cat "$MNT/epoch"
	assert_output "12"
	python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<3f", 0.5, -0.5, 1.5))' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$MNT/layer1/bias"
	run umount "$MNT"
	assert_success
	! is_mounted "$MNT"
	# and a bad checkpoint fails mount(8) with ptfs's line, leaving no mount
	run /usr/bin/mount -t fuse.ptfs "$FIX/MANIFEST.tsv" "$MNT" -o ro 3>&-
	assert_failure
	assert_output --partial "MANIFEST.tsv"
	! is_mounted "$MNT"
}

@test "an fstab line, through mount -T FSTAB DIR, with the words fstab lines carry" {
	install_usr_local
	MNT="$BATS_TEST_TMPDIR/m"
	mkdir "$MNT"
	MOUNTS+=("$MNT")
	printf '# a test fstab\n%s  %s  fuse.ptfs  %s  0  0\n' "$FIX/17_demo.pt" "$MNT" \
		'defaults,ro,nofail,noauto,_netdev,x-ptfs.test=1,noatime,relatime,lazytime,nosymfollow,map_location=cuda:1=cuda:0;cuda:2=cpu' \
		>"$BATS_TEST_TMPDIR/fstab"
	run /usr/bin/mount -T "$BATS_TEST_TMPDIR/fstab" "$MNT" 3>&-
	assert_success
	is_mounted "$MNT"
	served_by_installed "$MNT" || fail "the daemon is not /usr/local/bin/ptfs"
	run getfattr --absolute-names --only-values -n user.pt.location "$MNT/layer1/weight"
	assert_output "cuda:0"
	run cat "$MNT/epoch"
	assert_output "12"
	run umount "$MNT"
	assert_success
	! is_mounted "$MNT"
}

@test "Debian package: dpkg-buildpackage makes a .deb of exactly the expected files; lintian is silent" {
	command -v dpkg-buildpackage >/dev/null || skip "no dpkg-buildpackage (scripts/install-deps.sh)"
	command -v dh >/dev/null || skip "no debhelper (scripts/install-deps.sh)"
	local src="$BATS_TEST_TMPDIR/pkg/ptfs"
	mkdir -p "$src"
	# the working tree as git sees it (tracked and new files, not build/)
	if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -c) | tar -x -C "$src"
	else
		(cd "$ROOT" && tar --exclude=./build -c .) | tar -x -C "$src"
	fi
	run sh -c "cd '$src' && DEB_BUILD_OPTIONS='nocheck parallel=2' dpkg-buildpackage -us -uc -b 2>&1"
	assert_success
	local deb
	deb=$(ls "$BATS_TEST_TMPDIR"/pkg/ptfs_*_*.deb)
	[ -f "$deb" ]
	run sh -c "dpkg-deb -c '$deb' | awk '{print \$1, \$6}'"
	assert_output "drwxr-xr-x ./
drwxr-xr-x ./usr/
drwxr-xr-x ./usr/bin/
-rwxr-xr-x ./usr/bin/ptfs
drwxr-xr-x ./usr/share/
drwxr-xr-x ./usr/share/bash-completion/
drwxr-xr-x ./usr/share/bash-completion/completions/
-rw-r--r-- ./usr/share/bash-completion/completions/ptfs
drwxr-xr-x ./usr/share/doc/
drwxr-xr-x ./usr/share/doc/ptfs/
-rw-r--r-- ./usr/share/doc/ptfs/README.md.gz
-rw-r--r-- ./usr/share/doc/ptfs/changelog.gz
-rw-r--r-- ./usr/share/doc/ptfs/control.md.gz
-rw-r--r-- ./usr/share/doc/ptfs/copyright
-rw-r--r-- ./usr/share/doc/ptfs/gpu.md.gz
-rw-r--r-- ./usr/share/doc/ptfs/tree.md.gz
drwxr-xr-x ./usr/share/man/
drwxr-xr-x ./usr/share/man/man1/
-rw-r--r-- ./usr/share/man/man1/ptfs.1.gz"
	run dpkg-deb -f "$deb" Depends
	assert_output --regexp '(^|, )fuse3(,|$)'
	assert_output --regexp '(^|, )libzip4( |,|$)'
	assert_output --regexp '(^|, )libfuse3-3( |,|$)'
	# the packaged binary is hardened and runs
	run sh -c "dpkg-deb --fsys-tarfile '$deb' | tar -xO ./usr/bin/ptfs >'$BATS_TEST_TMPDIR/ptfs.deb.bin' && chmod +x '$BATS_TEST_TMPDIR/ptfs.deb.bin' && '$BATS_TEST_TMPDIR/ptfs.deb.bin' -V"
	assert_success
	assert_line --index 0 --regexp '^ptfs [0-9]'
	run readelf -d "$BATS_TEST_TMPDIR/ptfs.deb.bin"
	assert_output --partial "BIND_NOW"
	if command -v lintian >/dev/null; then
		run sh -c "lintian '$BATS_TEST_TMPDIR'/pkg/ptfs_*.changes 2>&1 | grep -v 'running with root privileges is not recommended'"
		assert_output ""
	fi
}
