#!/bin/bash
# tests/efi/demo.sh - `make demo`: boot OVMF (x86_64, TCG) with vhdx.efi,
# let it list the disks and create a dynamic VHDX on a virtual virtio-blk
# disk, then check the disk on the host with every independent reader.
# Then provisioning (issue 14): a golden disk made on the host (GPT, an ESP
# whose BOOTX64.EFI prints a marker) converted to a VHDX by the host tool;
# in the same boot vhdx.efi deploys it onto a blank virtio-blk disk,
# compares, and captures the disk back into a VHDX on the ESP; the host
# checks the disk (cmp) and the capture (vhdx check, qemu-img, 7zz); then
# the deployed disk boots alone and the marker shows on the serial console.
# And a network deploy (issue 20): the same VHDX served by nginx on the
# host's loopback (netrig.sh: QEMU's user network, restrict=on, a guestfwd
# to 10.0.2.100:80), deployed by URL onto a third disk in the same boot.
# Prints each step; exits non-zero if any check fails.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
. "$HERE/lib.sh"
. "$HERE/deploy.sh"
. "$HERE/netrig.sh"
W=$BUILD/demo
APP=$BUILD/efi/x86_64/vhdx.efi
HOST_VHDX=$BUILD/host/vhdx

step() { printf '\n== %s\n' "$*"; }

need qemu-system-x86_64 qemu-img 7zz vhdiinfo mkfs.vfat mcopy timeout || true
need_file "$OVMF_CODE" "Debian package ovmf" || true
need_file "$APP" "make efi" || true
need_file "$HOST_VHDX" "make host" || true
need_file "$BUILD/tests/efi/x86_64/marker.efi" "make efi-markers" || true
need python3 mdir cmp || true
need_file /usr/sbin/nginx "Debian package nginx-light" || true
if [ "$FAIL" -ne 0 ]; then
	echo "demo: missing tools or files (see FAIL lines); on Debian: apt-get install ovmf qemu-system-x86 qemu-utils 7zip libvhdi-utils mtools dosfstools gnu-efi"
	exit 1
fi

rm -rf "$W"
mkdir -p "$W/www"
chmod 755 "$W" "$W/www"
trap netrig_stop EXIT
step "1. the UEFI application"
echo "$APP: $(stat -c %s "$APP") bytes, PE32+ for x86_64 (AArch64: $BUILD/efi/aarch64/vhdx.efi)"

step "2. a virtual machine: OVMF, an ESP holding vhdx.efi and a golden VHDX, an empty 1 GiB virtio-blk disk, a blank 64 MiB one"
truncate -s 1G "$W/disk.img"
# the golden disk: made on the host, converted by the host tool
if ! make_golden "$W/golden.raw" "$BUILD/tests/efi/x86_64/marker.efi" "$BUILD/tests/efi/aarch64/marker.efi" ||
   ! "$HOST_VHDX" convert -q -b 2M "$W/golden.raw" "$W/golden.vhdx"; then
	fail "cannot make the golden disk (mkgpt.py, mtools, host vhdx convert)"
	exit 1
fi
echo "golden disk: $W/golden.raw, 64 MiB: a GPT, an ESP whose \EFI\BOOT\BOOTX64.EFI is tests/efi/marker.c, data in partition 2"
echo "on the host: vhdx convert -b 2M golden.raw golden.vhdx -> $(stat -c %s "$W/golden.vhdx") bytes ($("$HOST_VHDX" info "$W/golden.vhdx" | sed -n 's/^blocks: //p'))"
truncate -s 64M "$W/target.img"
truncate -s 64M "$W/nettarget.img"
cp "$W/golden.vhdx" "$W/www/golden.vhdx" && chmod 644 "$W/www/golden.vhdx"
read -r P_HTTP < <(netrig_ports 1)
netrig_nginx "server { listen 127.0.0.1:$P_HTTP; }" || { fail "nginx does not start: $(cat "$W/nginx.out")"; exit 1; }
netrig_netdev "$(netrig_fwd 80 "$P_HTTP")"
echo "nginx on 127.0.0.1:$P_HTTP serves golden.vhdx; the guest reaches it as http://10.0.2.100/ (and nothing else)"
N=$W/startup.nsh
nsh_begin "$N"
# the ESP boots first (bootindex, else OVMF tries the NIC for minutes), so
# BDS connects only it: connect the disks for the shell's blkN: names
printf 'connect -r\r\nmap -r\r\n' >> "$N"
nsh_run "$N" list list
nsh_run "$N" create create --yes --size 4G blk1:
nsh_run "$N" check check blk1:
nsh_run "$N" deploy convert --yes 'fs0:\golden.vhdx' blk2:
nsh_run "$N" compare compare 'fs0:\golden.vhdx' blk2:
nsh_run "$N" capture convert --yes -b 2M blk2: 'fs0:\capture.vhdx'
nsh_run "$N" netdeploy convert --yes http://10.0.2.100/golden.vhdx "PciRoot(0x0)/Pci(0x7,0x0)"
nsh_end "$N"
make_esp "$W/esp.img" "$APP" "$N" 131072 && mcopy -i "$W/esp.img" "$W/golden.vhdx" ::golden.vhdx
echo "startup.nsh runs, in the UEFI shell:"
grep '^vhdx.efi' "$N" | tr -d '\r' | sed 's/^/    fs0:\\> /'
echo "booting qemu-system-x86_64 -accel tcg (about 40 s)..."
boot_x86 "$W" "$W/esp.img" -global ide-hd.bootindex=1 "${NETRIG_NET[@]}" \
	-drive "if=none,id=d1,format=raw,file=$W/disk.img" -device virtio-blk-pci,drive=d1,addr=0x5 \
	-drive "if=none,id=d2,format=raw,file=$W/target.img" -device virtio-blk-pci,drive=d2,addr=0x6 \
	-drive "if=none,id=d3,format=raw,file=$W/nettarget.img" -device virtio-blk-pci,drive=d3,addr=0x7
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

step "5. provisioning: deploy the golden VHDX, compare, capture the disk back"
for tag in deploy compare capture; do
	echo "--- fs0:\\> vhdx.efi ${NSH_ARGS["$N|$tag"]}"
	out_of "$W/serial.txt" "$tag" | sed 's/^/    /'
	echo "    (returned status %lasterror% = $(rc_of "$W/serial.txt" "$tag"))"
done
L=$W/serial.txt
expect_demo() { # TAG RC WHAT TEXT
	if [ "$(rc_of "$L" "$1")" = "$2" ] && out_of "$L" "$1" | grep -qF -- "$4"; then
		pass "$3: %lasterror% $2, says '$4'"
	else
		fail "$3: %lasterror% '$(rc_of "$L" "$1")', expected $2 and '$4'"
	fi
}
expect_demo deploy 0x0 "vhdx.efi deployed the golden VHDX onto the blank disk blk2" "done: wrote" &&
	dp_deployed "the deployed disk on the host" "$W/target.img" "$W/golden.raw" -
expect_demo compare 0x0 "vhdx.efi compare: the VHDX and the disk" "identical"
expect_demo capture 0x0 "vhdx.efi captured blk2: into fs0:\\capture.vhdx" "image of" &&
	if mcopy -n -i "$W/esp.img" ::capture.vhdx "$W/capture.vhdx" 2>/dev/null; then
		echo "the capture, checked on the host against the golden disk ($(stat -c %s "$W/capture.vhdx") bytes):"
		dp_validate_vhdx "capture.vhdx" "$W/capture.vhdx" "$W/golden.raw"
	else
		fail "capture.vhdx is not on the ESP"
	fi

step "6. a network deploy: the golden VHDX by URL, from nginx on the host's loopback"
echo "--- fs0:\\> vhdx.efi ${NSH_ARGS["$N|netdeploy"]}"
out_of "$L" netdeploy | sed 's/^/    /'
echo "    (returned status %lasterror% = $(rc_of "$L" netdeploy))"
read -r reqs bytes _ < <(python3 "$NETKIT" log "$W/access.log" '*')
echo "nginx served $reqs ranged GETs, $bytes bytes of the $(stat -c %s "$W/www/golden.vhdx")-byte file (only the blocks it stores)"
expect_demo netdeploy 0x0 "vhdx.efi deployed http://10.0.2.100/golden.vhdx onto the third disk" "done: wrote" &&
	dp_deployed "the disk deployed from the URL, on the host" "$W/nettarget.img" "$W/golden.raw" -

step "7. the deployed disk booted alone: no ESP, no shell; OVMF starts its \\EFI\\BOOT\\BOOTX64.EFI"
boot_marker x86_64 "$W/marker" \
	-drive "if=none,id=d2,format=raw,file=$W/target.img" -device virtio-blk-pci,drive=d2,addr=0x6
echo "boot took ${BOOT_SECONDS} s (qemu exit $BOOT_RC); its serial console ends with:"
grep -E 'BdsDxe|VHDX-DEPLOY-MARKER' "$W/marker/serial.txt" | sed -e 's/\x1b\[=[0-9]*h//g' -e 's/^/    /'
marker_verify "the deployed disk" "$W/marker" "PciRoot(0)/Pci(0x6,0x0)/"

printf '\n%s passed, %s failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
