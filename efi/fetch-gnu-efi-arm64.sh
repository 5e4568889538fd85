#!/bin/sh
# efi/fetch-gnu-efi-arm64.sh DEST - unpack Debian's gnu-efi for arm64 into DEST.
#
# Debian's gnu-efi package cannot be installed for two architectures at
# once, so the AArch64 build uses the arm64 package unpacked (not
# installed) under the build folder: DEST/usr/lib/crt0-efi-aarch64.o,
# libefi.a, libgnuefi.a and DEST/usr/include/efi (its elf_aarch64_efi.lds
# comes along unused: the link takes linker/aarch64.lds).
# Needs root (or sudo) the first time for dpkg --add-architecture and
# apt-get update; later runs only download the .deb.
set -eu

dest=${1:?usage: $0 DEST}
if [ -f "$dest/usr/lib/crt0-efi-aarch64.o" ]; then
	exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "fetch-gnu-efi-arm64: adding the arm64 architecture to dpkg" >&2
	$SUDO dpkg --add-architecture arm64
	$SUDO apt-get update -qq
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current folder; _apt cannot write to a
# mktemp folder, which only costs a warning about an unsandboxed download.
if ! (cd "$tmp" && apt-get download -q gnu-efi:arm64 2>"$tmp/err"); then
	# the lists may predate the architecture: refresh once and retry
	cat "$tmp/err" >&2
	$SUDO apt-get update -qq
	(cd "$tmp" && apt-get download -q gnu-efi:arm64)
fi
mkdir -p "$dest"
dpkg-deb -x "$tmp"/gnu-efi_*_arm64.deb "$dest"
test -f "$dest/usr/lib/crt0-efi-aarch64.o"
echo "fetch-gnu-efi-arm64: unpacked $(basename "$tmp"/gnu-efi_*_arm64.deb) into $dest" >&2
