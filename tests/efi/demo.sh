#!/bin/bash
# tests/efi/demo.sh - `make demo`: boot OVMF (x86_64, TCG) with vhdx.efi,
# let it list the disks and create a dynamic VHDX on a virtual virtio-blk
# disk, then check the disk on the host with every independent reader.
# Prints each step; exits non-zero if any check fails.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
. "$HERE/lib.sh"
W=$BUILD/demo
APP=$BUILD/efi/x86_64/vhdx.efi
HOST_VHDX=$BUILD/host/vhdx

step() { printf '\n== %s\n' "$*"; }

need qemu-system-x86_64 qemu-img 7zz vhdiinfo mkfs.vfat mcopy timeout || true
need_file "$OVMF_CODE" "Debian package ovmf" || true
need_file "$APP" "make efi" || true
if [ "$FAIL" -ne 0 ]; then
	echo "demo: missing tools or files (see FAIL lines); on Debian: apt-get install ovmf qemu-system-x86 qemu-utils 7zip libvhdi-utils mtools dosfstools gnu-efi"
	exit 1
fi

rm -rf "$W"
mkdir -p "$W"
step "1. the UEFI application"
echo "$APP: $(stat -c %s "$APP") bytes, PE32+ for x86_64 (AArch64: $BUILD/efi/aarch64/vhdx.efi)"

step "2. a virtual machine: OVMF, an ESP holding vhdx.efi, an empty 1 GiB virtio-blk disk"
truncate -s 1G "$W/disk.img"
N=$W/startup.nsh
nsh_begin "$N"
nsh_run "$N" list list
nsh_run "$N" create create --yes --size 4G blk1:
nsh_run "$N" check check blk1:
nsh_end "$N"
make_esp "$W/esp.img" "$APP" "$N"
echo "startup.nsh runs, in the UEFI shell:"
grep '^vhdx.efi' "$N" | tr -d '\r' | sed 's/^/    fs0:\\> /'
echo "booting qemu-system-x86_64 -accel tcg (about 15 s)..."
boot_x86 "$W" "$W/esp.img" \
	-drive "if=none,id=d1,format=raw,file=$W/disk.img" -device virtio-blk-pci,drive=d1,addr=0x5
echo "boot took ${BOOT_SECONDS} s (qemu exit $BOOT_RC); serial log: $W/serial.txt"

step "3. what vhdx.efi printed"
for tag in list create check; do
	echo "--- vhdx.efi $(grep -a "^vhdx.efi" "$N" | tr -d '\r' | sed -n "$(( $(echo "list create check" | tr ' ' '\n' | grep -n "^$tag\$" | cut -d: -f1) ))p" | cut -d' ' -f2-)"
	out_of "$W/serial.txt" "$tag" | sed 's/^/    /'
	echo "    (returned status %lasterror% = $(rc_of "$W/serial.txt" "$tag"))"
done
[ "$(rc_of "$W/serial.txt" create)" = 0x0 ] && pass "vhdx.efi create returned EFI_SUCCESS" ||
	fail "vhdx.efi create did not succeed"

step "4. the disk, checked on the host"
out=$(out_of "$W/serial.txt" create)
size=$(image_size "$out")
if [ -z "$size" ]; then
	fail "no image size in the app's output"
else
	head -c "$size" "$W/disk.img" > "$W/image.vhdx"
	echo "the image is the first $size bytes of the disk: $W/image.vhdx"
	echo "running: qemu-img check -f vhdx; qemu-img compare -f vhdx -F raw against 4 GiB of zeros;"
	echo "         7zz t -tvhdx; vhdiinfo"
	validate "demo image" "$W/image.vhdx" $((4 << 30)) 512
	qemu-img info -f vhdx "$W/image.vhdx" | sed 's/^/    /'
	if [ -x "$HOST_VHDX" ]; then
		if "$HOST_VHDX" check "$W/image.vhdx"; then
			pass "host vhdx check"
		else
			fail "host vhdx check"
		fi
	fi
fi

printf '\n%s passed, %s failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
