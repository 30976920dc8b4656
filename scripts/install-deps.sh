#!/usr/bin/env bash
# Installs the Debian packages ptfs needs to build, test and demo. Idempotent; run as root
# (or with sudo available). The test oracle is Debian's python3-torch (torch 1.13), which
# installs for /usr/bin/python3. mandoc and man-db check the man page, bash-completion the
# completion script, debhelper, dpkg-dev and lintian build and check the Debian package
# (tests/90-install.bats).
set -euo pipefail
pkgs=(build-essential pkg-config libfuse3-dev fuse3 libzip-dev libssl-dev zip unzip
      bats bats-assert bats-support bats-file attr strace time bc procps
      clang libclang-rt-14-dev
      python3-torch python3-numpy
      mandoc man-db bash-completion debhelper dpkg-dev lintian)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
