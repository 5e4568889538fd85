#!/bin/bash
# tests/efi/run.sh - end-to-end tests of vhdx.efi (make check-efi).
#
# Four boots under QEMU (TCG), in two chains side by side: the first and
# the fourth, and the second and the third:
#   x86_64 (OVMF, q35): list; create on virtio-blk 512 (mapping), a fixed
#     image filling a 4Kn virtio-blk full of old data (device path), NVMe,
#     a fixed image filling an AHCI disk (progress), a file on the ESP,
#     differencing children of it and of a parent with data made on the
#     host, on the ESP and on disks; refusals: bad option, too small,
#     read-only, not blank, boot device, no --size, unknown mapping,
#     existing file, bad parent; --dry-run; a write error part-way
#     (blkdebug); list, check and info afterwards;
#   aarch64 (AAVMF, virt, virtio-rng): list, a fixed image, too small;
#   x86_64 with the ESP in a GPT partition and keys sent over the serial
#     port: the disk under the ESP refused, partition 2 written, a mounted
#     FAT disk with and without --force, confirmation declined, ESC;
#   x86_64, nothing written (tests/efi/badinput.sh): the bad-invocation
#     table (issue 6 part 3; each 0x2, one line naming the rule, every disk
#     file and the ESP unchanged) and `vhdx check` of corrupted images
#     (issue 4 part 5: 0xA and the rule id);
#   provisioning (issue 14 part 4, tests/efi/deploy.sh): x86_64 with keys
#     (deploy a golden VHDX and a chain onto virtio-blk 512/4096, NVMe, AHCI;
#     compare; capture; refusals, declined, ESC, a write error), then two
#     deployed disks booted alone (the marker on the serial console), after
#     the keys boot; aarch64 (one deploy, one capture, the disk booted
#     alone) after the bad-input boot.
# Then every disk file is checked on the host: the images with qemu-img
# (512-byte sectors), 7zz t and e, vhdiinfo and the host `vhdx check`; the
# refused targets byte for byte (sha256).  Prints PASS/FAIL lines and
# "N passed, M failed"; exits non-zero on any failure, including a missing
# tool or firmware file.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
# One folder per run: several `make check` may run at once in one tree.
# Folders of runs whose shell is gone are removed; a run that passes keeps
# only its logs.
W=$BUILD/tests/efi/run-$$
. "$HERE/lib.sh"
. "$HERE/badinput.sh"
. "$HERE/deploy.sh"

APP_X86=$BUILD/efi/x86_64/vhdx.efi
APP_ARM=$BUILD/efi/aarch64/vhdx.efi

finish() {
	if [ "$FAIL" -eq 0 ]; then
		find "$W" \( -name '*.img' -o -name '*.vhdx' -o -name '*.avhdx' -o -name '*.raw' -o -name '*.fd' \) -delete 2>/dev/null
	fi
	echo "logs: $W"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

ok_tools=1
need qemu-system-x86_64 qemu-system-aarch64 qemu-img qemu-io 7zz vhdiinfo mkfs.vfat mcopy \
	sha256sum timeout cmp truncate || ok_tools=0
need_file "$OVMF_CODE" "Debian package ovmf" || ok_tools=0
need_file "$OVMF_VARS" "Debian package ovmf" || ok_tools=0
need_file "$AAVMF_CODE" "Debian package qemu-efi-aarch64" || ok_tools=0
need_file "$AAVMF_VARS" "Debian package qemu-efi-aarch64" || ok_tools=0
need_file "$APP_X86" "make efi" || ok_tools=0
need_file "$APP_ARM" "make efi" || ok_tools=0
need_file "$BUILD/host/vhdx" "make host" || ok_tools=0
need python3 mdir || ok_tools=0
need_file "$BUILD/tests/efi/x86_64/marker.efi" "make efi-markers" || ok_tools=0
need_file "$BUILD/tests/efi/aarch64/marker.efi" "make efi-markers" || ok_tools=0
[ $ok_tools = 1 ] || finish

for old in "$BUILD"/tests/efi/run-*; do
	[ -d "$old" ] || continue
	kill -0 "${old##*/run-}" 2>/dev/null || rm -rf "$old"
done
rm -rf "$W"
mkdir -p "$W/x86" "$W/arm"
X=$W/x86
A=$W/arm

# ---- x86_64 disks ----
truncate -s 256M "$X/ahci.img"
truncate -s 64M "$X/v512.img" "$X/nvme.img" "$X/ro.img" "$X/used.img" "$X/child.img" "$X/child3.img"
truncate -s 2M "$X/small.img"
# 4Kn disk full of old data (0xA5): the fixed image must read back as zeros
head -c $((256 << 20)) /dev/zero | tr '\0' '\245' > "$X/v4k.img"
# an MBR with one Linux partition on the "used" disk
printf '\x83' | dd of="$X/used.img" bs=1 seek=$((446 + 4)) conv=notrunc status=none
printf '\x55\xaa' | dd of="$X/used.img" bs=1 seek=510 conv=notrunc status=none
# a disk whose writes touching sector 16384 (8 MiB) fail with EIO (blkdebug)
truncate -s 64M "$X/ioerr.img"
printf '[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "16384"\nonce = "off"\n' > "$X/ioerr.conf"
for d in small ro used; do
	sha256sum < "$X/$d.img" > "$X/$d.sha"
done
# A parent holding data (written by qemu-io across a block boundary and
# into a later block), made on the host and put on the ESP: a child that
# reads back the same bytes through 7zz proves its reads reach the parent.
# data.raw is that content as qemu-img reads it.
if ! "$BUILD/host/vhdx" create -q -b 1M -s 16M "$X/data.vhdx" ||
   ! qemu-io -f vhdx -c "write -P 0x5a 512 1M" -c "write -P 0xc3 13M 4096" "$X/data.vhdx" >/dev/null ||
   ! qemu-img convert -f vhdx -O raw "$X/data.vhdx" "$X/data.raw" ||
   cmp -s "$X/data.raw" <(head -c $((16 << 20)) /dev/zero); then
	fail "x86_64: cannot make the parent with data (host vhdx, qemu-io, qemu-img)"
	finish
fi


# ==== compare and repair in UEFI (issue 12 part 3): one block, called from
# three places (cr_setup, cr_nsh before the boot, cr_verify after it) ====
# The DiscUtils log-replay sample (LogGuid set: a dirty log; 36 MiB file,
# 1 GiB virtual) is too big for the 48 MiB ESP (33 MiB until orphan.vhdx): its copies and the raw disk
# the host converts from it sit on virtio disks, at PCI slots after every
# other disk: the shell numbers BLKn in the text order of device paths, so
# Pci(0x10,0x0) would come before Pci(0x1F,...) and Pci(0x5,0x0) and move
# the mappings the tests above use; two functions of slots 0xE and 0xF sort
# after Pci(0xD,0x0):
#   0xE.0 cr/fix.img   a dirty copy, exactly the file: `repair` writes it
#   0xE.1 cr/dry.img   a dirty copy: `compare` with the raw disk, `repair -n`
#   0xF.0 cr/raw.img   `vhdx convert` of the sample (1 GiB, sparse), read-only
#   0xF.1 cr/ro.img    a dirty copy on a read-only disk: `repair` refused
# and fs0:\data.vhdx (another disk's content, on the ESP) to differ from;
# fs0:\orphan.vhdx, a copy of data.vhdx whose header names a LogGuid that no
# log entry carries (qemu's crash window, issue 18; vhdx_poke.py dirtylog
# orphan): `repair` clears it, and the disk reads as qemu-img read it before.
CR_SAMPLE=$ROOT/../shared/samples/discutils-vhdx-log-replay.vhdx.gz
CR_FIX="PciRoot(0x0)/Pci(0xE,0x0)"
CR_DRY="PciRoot(0x0)/Pci(0xE,0x1)"
CR_RAW="PciRoot(0x0)/Pci(0xF,0x0)"
CR_RO="PciRoot(0x0)/Pci(0xF,0x1)"
CR_QEMU=()
cr_setup() {
	local c=$X/cr
	mkdir -p "$c"
	need_file "$CR_SAMPLE" "../shared/samples" || return 1
	gunzip -c "$CR_SAMPLE" > "$c/fix.img" || return 1
	cp "$c/fix.img" "$c/dry.img" && cp "$c/fix.img" "$c/ro.img" || return 1
	"$BUILD/host/vhdx" convert -q "$c/fix.img" "$c/raw.img" >/dev/null || return 1
	cp "$X/data.vhdx" "$c/orphan.vhdx" &&
		python3 -S "$ROOT/tests/host/vhdx_poke.py" dirtylog "$c/orphan.vhdx" "$c/orphan-model.vhdx" orphan >/dev/null &&
		qemu-img convert -f vhdx -O raw "$c/orphan.vhdx" "$c/orphan-before.raw" || return 1
	sha256sum < "$c/dry.img" > "$c/dry.sha"
	sha256sum < "$c/ro.img" > "$c/ro.sha"
	CR_QEMU=(-drive "if=none,id=ve0,format=raw,file=$c/fix.img"
		-device virtio-blk-pci,drive=ve0,addr=0xe.0x0,multifunction=on
		-drive "if=none,id=ve1,format=raw,file=$c/dry.img" -device virtio-blk-pci,drive=ve1,addr=0xe.0x1
		-drive "if=none,id=vf0,format=raw,file=$c/raw.img,readonly=on"
		-device virtio-blk-pci,drive=vf0,addr=0xf.0x0,multifunction=on
		-drive "if=none,id=vf1,format=raw,file=$c/ro.img,readonly=on" -device virtio-blk-pci,drive=vf1,addr=0xf.0x1)
}
cr_nsh() {
	nsh_run "$1" crsame compare "$CR_DRY" "$CR_RAW"
	nsh_run "$1" crdiff compare "$CR_DRY" 'fs0:\data.vhdx'
	nsh_run "$1" crmissing compare 'fs0:\no-such.vhdx' "$CR_RAW"
	nsh_run "$1" crdry repair -n "$CR_DRY"
	nsh_run "$1" crfix repair "$CR_FIX"
	nsh_run "$1" crorphan repair 'fs0:\orphan.vhdx'
	nsh_run "$1" crro repair "$CR_RO"
	nsh_run "$1" crconvert convert "$CR_FIX" 'fs0:\x.raw'
}
cr_verify() {
	local c=$X/cr out want st
	expect_log "$L" crsame 0x0 "compare: the dirty image (through the log view) and its raw disk on the host" \
		"are identical (1073741824 bytes compared)"
	# the first differing byte, by cmp on the host (1-based; both disks' raw forms)
	want=$(cmp "$c/raw.img" "$X/data.raw" 2>/dev/null | sed -n 's/.* differ: byte \([0-9]*\),.*/\1/p')
	if [ -n "$want" ]; then
		want=$((want - 1))
		expect_log "$L" crdiff 0x21 "compare with another disk: EFI_COMPROMISED_DATA, the first differing byte $want (cmp)" \
			"differ at byte $want (sector $((want / 512)) of 512)" &&
			expect_log "$L" crdiff 0x21 "compare of disks of different sizes says so" "sizes differ"
	else
		fail "compare with another disk: cmp finds no difference to expect"
	fi
	expect_log "$L" crmissing 0x2 "compare of a missing file" "no-such.vhdx: cannot open"
	expect_log "$L" crdry 0x0 "repair -n of the dirty image says what it would do" "would replay the log of"
	if sha256sum < "$c/dry.img" | cmp -s - "$c/dry.sha"; then
		pass "repair -n: disk file byte-for-byte unchanged"
	else
		fail "repair -n: disk file CHANGED"
	fi
	expect_log "$L" crfix 0x0 "repair of the dirty image on a disk" "replayed the log of"
	out=$("$BUILD/host/vhdx" check "$c/fix.img" 2>&1)
	st=$?
	if [ $st = 0 ] && grep -q ': 0 errors' <<<"$out"; then
		pass "after repair: host vhdx check, 0 errors"
	else
		fail "after repair: host vhdx check (exit $st): $(tail -n 3 <<<"$out")"
	fi
	if out=$(qemu-img check -f vhdx "$c/fix.img" 2>&1); then
		pass "after repair: qemu-img check"
	else
		fail "after repair: qemu-img check: $(tail -n 3 <<<"$out")"
	fi
	if out=$("$BUILD/host/vhdx" compare "$c/fix.img" "$c/raw.img" 2>&1); then
		pass "after repair: host vhdx compare with the raw disk converted before: identical"
	else
		fail "after repair: host vhdx compare with the raw disk: $out"
	fi
	expect_log "$L" crorphan 0x0 "repair of a LogGuid no entry carries: cleared" "cleared the LogGuid of"
	rm -f "$c/orphan-after.vhdx"
	if ! mcopy -n -i "$X/esp.img" ::orphan.vhdx "$c/orphan-after.vhdx" 2>/dev/null; then
		fail "after the LogGuid was cleared: orphan.vhdx not found on the ESP"
	elif out=$("$BUILD/host/vhdx" check "$c/orphan-after.vhdx" 2>&1) && grep -q ': 0 errors, 0 warnings' <<<"$out" &&
	     [ "$(python3 -S "$ROOT/tests/host/vhdx_poke.py" logscan "$c/orphan-after.vhdx")" = clean ] &&
	     qemu-img convert -f vhdx -O raw "$c/orphan-after.vhdx" "$c/orphan-after.raw" &&
	     cmp -s "$c/orphan-after.raw" "$c/orphan-before.raw"; then
		pass "after the LogGuid was cleared: host check clean (no log.guid_unused), the log clean, qemu-img reads the disk as before"
	else
		fail "after the LogGuid was cleared: $(tail -n 2 <<<"$out")"
	fi
	expect_log "$L" crro 0x2 "repair of a dirty image on a read-only disk refused" "read-only"
	if sha256sum < "$c/ro.img" | cmp -s - "$c/ro.sha"; then
		pass "repair on a read-only disk: disk file byte-for-byte unchanged"
	else
		fail "repair on a read-only disk: disk file CHANGED"
	fi
	expect_log "$L" crconvert 0x2 "convert onto a file as raw: refused (raw output goes onto a block device)" \
		"raw output goes onto a block device"
}
# ==== end of compare and repair ====
cr_setup || { fail "compare/repair: cannot make the disks (sample, host vhdx convert)"; finish; }

N=$X/startup.nsh
nsh_begin "$N"
nsh_run "$N" list list
nsh_run "$N" badopt create --no-such-option -y -s 1G "PciRoot(0x0)/Pci(0xA,0x0)"
nsh_run "$N" small create -y -s 1G "PciRoot(0x0)/Pci(0x8,0x0)"
nsh_run "$N" ro create -y -s 1G "PciRoot(0x0)/Pci(0x9,0x0)"
nsh_run "$N" used create -y -s 1G "PciRoot(0x0)/Pci(0xA,0x0)"
nsh_run "$N" dry create -n -f -s 1G "PciRoot(0x0)/Pci(0xA,0x0)"
nsh_run "$N" boot create -y -s 1G blk0:
nsh_run "$N" ioerr create -y -t fixed -s 16M -b 1M "PciRoot(0x0)/Pci(0xB,0x0)"
nsh_run "$N" nosize create -y blk2:
nsh_run "$N" nomap create -y -s 1G blk99:
nsh_run "$N" dyn512 create -y -s 1G blk2:
nsh_run "$N" fixed4k create -y -f -t fixed -b 1M --logical-sector-size 4096 "PciRoot(0x0)/Pci(0x6,0x0)"
nsh_run "$N" nvme create -y -s 10G -b 1M blk4:
nsh_run "$N" ahci create -y -t fixed -b 1M blk1:
nsh_run "$N" file create -y -s 1G 'fs0:\x.vhdx'
nsh_run "$N" fileagain create -y -s 2G 'fs0:\x.vhdx'
nsh_run "$N" diff create -y -t differencing --parent 'fs0:\x.vhdx' 'fs0:\c.vhdx'
nsh_run "$N" diffsub create -y -t differencing --parent 'fs0:\x.vhdx' 'fs0:\d\c2.vhdx'
nsh_run "$N" diffdata create -y -t differencing --parent 'fs0:\data.vhdx' 'fs0:\dc.vhdx'
nsh_run "$N" diffblk create -y -t differencing --parent 'fs0:\data.vhdx' "PciRoot(0x0)/Pci(0xC,0x0)"
nsh_run "$N" diffblk3 create -y -t differencing --parent 'fs0:\d\c2.vhdx' "PciRoot(0x0)/Pci(0xD,0x0)"
nsh_run "$N" infoblk3 info "PciRoot(0x0)/Pci(0xD,0x0)"
nsh_run "$N" diffbad create -y -t differencing --parent 'fs0:\startup.nsh' 'fs0:\c3.vhdx'
nsh_run "$N" infosub info 'fs0:\d\c2.vhdx'
nsh_run "$N" list2 list
nsh_run "$N" checkdyn check blk2:
nsh_run "$N" checkfile check 'fs0:\x.vhdx'
nsh_run "$N" infofile info 'fs0:\x.vhdx'
nsh_run "$N" checkused check "PciRoot(0x0)/Pci(0xA,0x0)"
cr_nsh "$N"
nsh_end "$N"
make_esp "$X/esp.img" "$APP_X86" "$N" 49152 && mmd -i "$X/esp.img" ::d &&
	mcopy -i "$X/esp.img" "$X/data.vhdx" ::data.vhdx &&
	mcopy -i "$X/esp.img" "$X/cr/orphan.vhdx" ::orphan.vhdx ||
	{ fail "x86_64: cannot build the ESP"; finish; }

# ---- aarch64 disks ----
truncate -s 64M "$A/v512.img"
truncate -s 2M "$A/small.img"
NA=$A/startup.nsh
nsh_begin "$NA"
nsh_run "$NA" list list
nsh_run "$NA" fixed create -y -t fixed -s 16M -b 1M "PciRoot(0x0)/Pci(0x5,0x0)"
nsh_run "$NA" small create -y -s 1G "PciRoot(0x0)/Pci(0x6,0x0)"
nsh_end "$NA"
make_esp "$A/esp.img" "$APP_ARM" "$NA" || { fail "aarch64: cannot build the ESP"; finish; }

# ---- x86_64, ESP in a GPT partition; keys over serial ----
# The ESP is partition 1 of a GPT disk on AHCI port 0; partition 2 is blank.
# Refuse the disk under the ESP, write into partition 2 (LBA math at a
# partition offset), then typed confirmation and ESC on the AHCI port 1 disk.
I=$W/keys
mkdir -p "$I"
truncate -s 1G "$I/ahci.img"
sha256sum < "$I/ahci.img" > "$I/ahci.sha"
P2GUID=11111111-2222-3333-4444-555555555555
DISK0="PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)"
PART2="$DISK0/HD(2,GPT,$P2GUID,0x16000,0x8000)"
DISK1="PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x1,0xFFFF,0x0)"
# AHCI port 2: a whole-disk FAT filesystem, mounted by the firmware (FS1)
DISK2="PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x2,0xFFFF,0x0)"
rm -f "$I/fat.img"
mkfs.vfat -C "$I/fat.img" 65536 >/dev/null && echo old > "$I/old.txt" && mcopy -i "$I/fat.img" "$I/old.txt" ::old.txt ||
	{ fail "keys: cannot build the FAT disk"; finish; }
NI=$I/startup.nsh
nsh_begin "$NI"
nsh_run "$NI" list list
nsh_run "$NI" bootdisk create -y -s 1G "$DISK0"
nsh_run "$NI" part2 create -y -t fixed -b 1M "$PART2"
nsh_run "$NI" fatnoforce create -y -s 1G "$DISK2"
nsh_run "$NI" fatforce create -y -f -s 1G "$DISK2"
nsh_run "$NI" declined create -s 1G "$DISK1"
nsh_run "$NI" escaped create -t fixed -b 1M "$DISK1"
nsh_end "$NI"
make_gpt_esp "$I/esp.img" "$APP_X86" "$NI" "$P2GUID" || { fail "keys: cannot build the GPT ESP"; finish; }
# everything outside partition 2 (44 MiB + 16 MiB) must stay as it is
outside_p2() { { head -c $((44 << 20)) "$1"; tail -c +$(((60 << 20) + 1)) "$1"; } | sha256sum; }
outside_p2 "$I/esp.img" > "$I/outside.sha"

# ---- x86_64, bad invocations and corrupted images; nothing written ----
B=$W/bad
bad_setup "$B" "$APP_X86" || { fail "bad input: cannot build the disks"; finish; }

# ---- provisioning: deploy, capture, the deployed disks booted alone ----
# Made in the background while the first boots run (about 10 s of host
# work); the boots that need them wait for deploy-setup.rc.
DX=$W/deploy
DA=$W/deploy-arm
( deploy_setup "$DX" "$APP_X86" && deploy_arm_setup "$DA" "$APP_ARM" "$DX"
  echo $? > "$W/deploy-setup.rc" ) > "$W/deploy-setup.log" 2>&1 &
# deploy_setup_ok: 0 once the background setup has ended well
deploy_setup_ok() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ -s "$W/deploy-setup.rc" ] && break
		sleep 0.1
	done
	[ "$(cat "$W/deploy-setup.rc" 2>/dev/null)" = 0 ]
}

echo "booting OVMF (x86_64) then OVMF with bad input and, beside them, AAVMF (aarch64) then OVMF with keys, under TCG..."
(
	boot_aarch64 "$A" "$A/esp.img" \
		-device virtio-rng-pci,addr=0x3 \
		-drive "if=none,id=d1,format=raw,file=$A/v512.img" -device virtio-blk-pci,drive=d1,addr=0x5 \
		-drive "if=none,id=d2,format=raw,file=$A/small.img" -device virtio-blk-pci,drive=d2,addr=0x6
	echo "$BOOT_RC $BOOT_SECONDS" > "$A/boot.result"
	# then the keys boot: interactive, driven from here
	# writes held to 64 MiB/s: ESC must land while the 1 GiB is zeroed,
	# however fast the host (unthrottled, one run got to 809 MB of 1074)
	boot_x86_start "$I" "$I/esp.img" \
		-drive "if=none,id=ah,format=raw,file=$I/ahci.img,throttling.bps-write=$((64 << 20))" \
		-device ide-hd,bus=ide.1,drive=ah \
		-drive "if=none,id=fat,format=raw,file=$I/fat.img" -device ide-hd,bus=ide.2,drive=fat
	# no, then yes and ESC as soon as progress shows; stop the VM if a step
	# never comes (rather than waiting for the boot timeout)
	if wait_for "$I" "Type yes and Enter" 180 1 && send_keys 'no\r' &&
	   wait_for "$I" "Type yes and Enter" 60 2 && sha256sum < "$I/ahci.img" > "$I/ahci.mid" &&
	   send_keys 'yes\r' &&
	   wait_for "$I" "ESC aborts" 120 && send_keys '\033' &&
	   wait_for "$I" "=== escaped rc" 60; then
		boot_x86_wait "$I"
	else
		boot_x86_wait "$I" kill
	fi
	echo "$BOOT_RC $BOOT_SECONDS" > "$I/boot.result"
	# then deploy/capture with keys, and two deployed disks alone
	deploy_setup_ok && deploy_boot "$DX"
) &
arm_pid=$!
# the AHCI disk's writes are held to 64 MiB/s, so that zeroing its fixed
# image takes seconds (and shows progress) on any host
boot_x86 "$X" "$X/esp.img" \
	-drive "if=none,id=ah,format=raw,file=$X/ahci.img,throttling.bps-write=$((64 << 20))" \
	-device ide-hd,bus=ide.1,drive=ah \
	-drive "if=none,id=v5,format=raw,file=$X/v512.img" -device virtio-blk-pci,drive=v5,addr=0x5 \
	-drive "if=none,id=v6,format=raw,file=$X/v4k.img" \
	-device virtio-blk-pci,drive=v6,addr=0x6,logical_block_size=4096,physical_block_size=4096 \
	-drive "if=none,id=nv,format=raw,file=$X/nvme.img" -device nvme,drive=nv,serial=vhdxtest,addr=0x7 \
	-drive "if=none,id=v8,format=raw,file=$X/small.img" -device virtio-blk-pci,drive=v8,addr=0x8 \
	-drive "if=none,id=v9,format=raw,file=$X/ro.img,readonly=on" -device virtio-blk-pci,drive=v9,addr=0x9 \
	-drive "if=none,id=va,format=raw,file=$X/used.img" -device virtio-blk-pci,drive=va,addr=0xa \
	-drive "if=none,id=vb,format=raw,file.driver=blkdebug,file.config=$X/ioerr.conf,file.image.filename=$X/ioerr.img" \
	-device virtio-blk-pci,drive=vb,addr=0xb \
	-drive "if=none,id=vc,format=raw,file=$X/child.img" -device virtio-blk-pci,drive=vc,addr=0xc \
	-drive "if=none,id=vd,format=raw,file=$X/child3.img" -device virtio-blk-pci,drive=vd,addr=0xd \
	"${CR_QEMU[@]}"
x86_rc=$BOOT_RC
x86_s=$BOOT_SECONDS
# the bad-input boot after this one: the other chain (aarch64, keys) is the
# shorter of the two
bad_boot "$B"
echo "$BOOT_RC $BOOT_SECONDS" > "$B/boot.result"
# then aarch64 deploy/capture and its deployed disk alone
deploy_setup_ok && deploy_arm_boot "$DA"
wait $arm_pid
read -r arm_rc arm_s < "$A/boot.result"

L=$X/serial.txt
echo "--- x86_64 boot: ${x86_s} s, qemu exit $x86_rc; log $L"
if [ "$x86_rc" = 0 ] && grep -q '^=== checkused rc' "$L"; then
	pass "x86_64: OVMF booted, ran startup.nsh to the end and powered off (${x86_s} s)"
else
	fail "x86_64: the boot did not complete (qemu exit $x86_rc; 124 = timeout); see $L"
fi

# expect_log LOG TAG RC WHAT [TEXT]: lib.sh's expect with the log first
expect_log() {
	expect "$2" "$3" "$4" "${5:-}" "$1"
}

unchanged() {
	if sha256sum < "$X/$1.img" | cmp -s - "$X/$1.sha"; then
		pass "$2: disk file byte-for-byte unchanged"
	else
		fail "$2: disk file CHANGED"
	fi
}

# image DIR LOG TAG WHAT DISK [SIZE]: cut the image from the disk file,
# validate it.  Its virtual size and logical sector size are what this
# test asked for: -s and --logical-sector-size (512 without it) of the
# command line nsh_run gave TAG in DIR/startup.nsh or, for a fixed image
# filling its disk (no -s), SIZE, worked out here from the disk's size.
# The app's own plan is not consulted.
image() {
	local dir=$1 log=$2 tag=$3 what=$4 disk=$5 want=${6:-} out size vds lss
	out=$(out_of "$log" "$tag")
	size=$(image_size "$out")
	if [ -z "$size" ]; then
		fail "$what: no done: line to read the image's file size from"
		return
	fi
	vds=$(nsh_opt "$dir/startup.nsh" "$tag" -s)
	if [ -n "$vds" ] && [ -n "$want" ]; then
		fail "$what: the test gives two virtual sizes, -s $vds and $want"
		return
	fi
	vds=$(bytes_of "${vds:-$want}")
	lss=$(nsh_opt "$dir/startup.nsh" "$tag" --logical-sector-size)
	lss=${lss:-512}
	if [ -z "$vds" ]; then
		fail "$what: the test says no virtual size for $tag (no -s in its command line, no SIZE)"
		return
	fi
	if [ "$disk" != - ]; then
		head -c "$size" "$disk" > "$dir/$tag.vhdx"
	fi
	validate "$what" "$dir/$tag.vhdx" "$vds" "$lss"
}

# list: every device, its mapping, flags and contents
out=$(out_of "$L" list)
expect_log "$L" list 0x0 "list"
for pat in \
	'BLK2: 64 MiB, 512-byte blocks, disk, writable: blank' \
	'BLK3: 256 MiB, 4096-byte blocks, disk, writable: unknown data' \
	'BLK1: 256 MiB, 512-byte blocks, disk, writable: blank' \
	'2 MiB, 512-byte blocks, disk, writable: blank' \
	'64 MiB, 512-byte blocks, disk, read-only: blank' \
	'64 MiB, 512-byte blocks, disk, writable: an MBR partition table' \
	'BLK0: 48 MiB, 512-byte blocks, disk, writable, boot device: a FAT filesystem'; do
	if grep -qF -- "$pat" <<<"$out"; then
		pass "list shows '$pat'"
	else
		fail "list lacks '$pat'"
	fi
done
# the mappings used below are the devices meant
for pair in 'BLK1:|Sata(0x1,0xFFFF,0x0)' 'BLK2:|PciRoot(0x0)/Pci(0x5,0x0)' 'BLK4:|NVMe('; do
	if grep -A1 -F -- "${pair%%|*}" <<<"$out" | tail -n 1 | grep -qF -- "${pair#*|}"; then
		pass "list: ${pair%%|*} is ${pair#*|}"
	else
		fail "list: ${pair%%|*} is not ${pair#*|}: mappings moved, the test would hit other disks"
	fi
done

expect_log "$L" badopt 0x2 "bad option" "unknown option"
unchanged used "bad option"
expect_log "$L" small 0x2 "too small (2 MiB disk)" "too small"
unchanged small "too small"
expect_log "$L" ro 0x2 "read-only disk" "read-only"
unchanged ro "read-only disk"
expect_log "$L" used 0x2 "not blank without --force" "holds an MBR partition table or boot sector (non-zero byte at 450); refusing to overwrite it without --force"
expect_log "$L" dry 0x0 "--dry-run" "dry run: nothing written"
unchanged used "not blank and --dry-run"
expect_log "$L" boot 0x2 "boot device" "loaded from"
expect_log "$L" ioerr 0x7 "a write error part-way (blkdebug EIO at 8 MiB): EFI_DEVICE_ERROR" \
	"write failed at byte 4194304: Device Error; the target holds nothing that looks like a VHDX"
if ! head -c 8 "$X/ioerr.img" | grep -q vhdxfile && ! qemu-img check -q -f vhdx "$X/ioerr.img" 2>/dev/null; then
	pass "after the write error: nothing on the disk looks like a VHDX"
else
	fail "after the write error: the disk looks like a VHDX"
fi
expect_log "$L" nosize 0x2 "dynamic without --size" "--size"
expect_log "$L" nomap 0x2 "unknown mapping" "no such mapping"

expect_log "$L" dyn512 0x0 "dynamic on 512-byte virtio-blk via blk2:" "done: wrote" &&
	image "$X" "$L" dyn512 "dynamic 1 GiB on virtio-blk 512" "$X/v512.img"
expect_log "$L" fixed4k 0x0 "fixed filling a 4Kn virtio-blk full of old data, via device path" "done: wrote" && {
	image "$X" "$L" fixed4k "fixed 4Kn over old data" "$X/v4k.img" 252M
	out=$(out_of "$L" fixed4k)
	if grep -qF -- '-s 252M' <<<"$out"; then
		pass "fixed 4Kn: --size omitted fills the 256 MiB disk: 252 MiB virtual"
	else
		fail "fixed 4Kn: largest size not 252M: $(grep '^  command' <<<"$out")"
	fi
}
expect_log "$L" nvme 0x0 "dynamic 10 GiB on NVMe via blk4:" "done: wrote" &&
	image "$X" "$L" nvme "dynamic 10 GiB on NVMe" "$X/nvme.img"
expect_log "$L" ahci 0x0 "fixed filling a 256 MiB AHCI disk via blk1:" "done: wrote" && {
	image "$X" "$L" ahci "fixed 252 MiB on AHCI" "$X/ahci.img" 252M
	out=$(out_of "$L" ahci)
	if grep -qF -- '-s 252M' <<<"$out"; then
		pass "fixed AHCI: --size omitted fills the 256 MiB disk: 252 MiB virtual"
	else
		fail "fixed AHCI: largest size not 252M: $(grep '^  command' <<<"$out")"
	fi
	# one line a second at most (slow serial consoles), the first after 1 s
	ms=$(sed -n 's/^done: wrote [0-9]* bytes in \([0-9]*\) ms .*/\1/p' <<<"$out")
	lines=$(grep -cE 'MiB/s, [0-9]+:[0-9]+ left' <<<"$out")
	if [ -n "$ms" ] && [ "$lines" -ge 1 ] && [ "$lines" -le $((ms / 1000)) ]; then
		pass "fixed AHCI: progress shows throughput and time left, $lines lines in $ms ms"
	else
		fail "fixed AHCI: progress: ${lines:-no} lines with throughput and time left in ${ms:-?} ms"
	fi
}
expect_log "$L" file 0x0 "file fs0:\\x.vhdx on the ESP" "done: wrote" && {
	if mcopy -n -i "$X/esp.img" ::x.vhdx "$X/file.vhdx" 2>/dev/null; then
		image "$X" "$L" file "dynamic 1 GiB file on FAT" -
	else
		fail "file: x.vhdx not found on the ESP"
	fi
}
expect_log "$L" fileagain 0x2 "existing file without --force" "existing file of 4194304 bytes"
# every plan (images, the dry run, the failed write) from the fallback, and
# every DataWriteGuid distinct
n_plans=$(grep -c '^  GUIDs ' "$L")
if [ "$n_plans" -ge 9 ] && [ "$(grep -c '^  GUIDs          from the fallback mix' "$L")" = "$n_plans" ] &&
   [ "$(grep -o 'DataWriteGuid [0-9a-f-]\{36\}' "$L" | sort -u | wc -l)" = "$n_plans" ]; then
	pass "x86_64: GUIDs of $n_plans plans from the fallback mix (no EFI_RNG_PROTOCOL), all distinct"
else
	fail "x86_64: GUID source or distinctness: $(grep '^  GUIDs' "$L")"
fi

# ---- differencing children ----
# On the ESP: c.vhdx and d\c2.vhdx of fs0:\x.vhdx (empty, made in this
# boot), dc.vhdx of fs0:\data.vhdx (data written on the host). On disks,
# which have no folder, so relative_path is the parent's path from the
# ESP's root: diffblk of data.vhdx (.\data.vhdx) and diffblk3 of
# d\c2.vhdx (.\d\c2.vhdx; c2 holds ..\x.vhdx), a chain of three. The ESP
# is copied to $D and the disk children cut into its root, where every
# reader finds the parents. qemu-img cannot open differencing VHDX. 7zz on
# Linux takes the '\' in relative_path as part of a file name (it finds a
# file literally named "d\c2.vhdx"), so it cannot follow a path with a
# folder in it: those children go through libvhdi and our reader only.
D=$X/diff
mkdir -p "$D/d"
mcopy -n -i "$X/esp.img" ::x.vhdx ::c.vhdx ::data.vhdx ::dc.vhdx "$D/" 2>/dev/null
mcopy -n -i "$X/esp.img" ::d/c2.vhdx "$D/d/" 2>/dev/null
truncate -s 1G "$D/zeros"

# child_7zz WHAT CHILD CONTENT: 7zz t of CHILD (its parent beside it), and
# the virtual disk 7zz reads through it equal to CONTENT byte for byte
child_7zz() {
	local out
	if out=$(7zz t -tvhdx "$2" 2>&1) && ! grep -qiE 'WARNING|ERROR' <<<"$out"; then
		pass "$1: 7zz t (parent found)"
	else
		fail "$1: 7zz t: $(grep -iE 'WARNING|ERROR' <<<"$out" | head -n 3)"
	fi
	if 7zz e -tvhdx -so "$2" 2>/dev/null | cmp -s - "$3"; then
		pass "$1: 7zz e reads the parent's content through the child (equal to ${3##*/})"
	else
		fail "$1: what 7zz e reads through the child differs from ${3##*/}"
	fi
}
# child_readers WHAT CHILD PARENT SUMMARY: vhdiinfo's parent identifier is
# PARENT's DataWriteGuid; the host check finds every parent (parent.absent
# is a warning: 0 warnings); the host info's first level is PARENT, found
# by relative_path. PARENT is relative to $D.
child_readers() {
	local what=$1 f=$2 parent=$3 sum=$4 guid out
	if [ ! -f "$f" ] || [ ! -f "$D/$parent" ]; then
		fail "$what: ${f##*/} or its parent $parent is not in $D"
		return 1
	fi
	# the current header's (qemu-io's writes left the two headers different)
	guid=$("$BUILD/host/vhdx" info "$D/$parent" 2>/dev/null |
		awk '/^header [12]:/ { cur = /current/ } cur && /data write guid:/ { print $4; exit }')
	if out=$(vhdiinfo "$f" 2>&1) && grep -q 'Differential' <<<"$out" &&
	   [ -n "$guid" ] && grep -qi "Parent identifier.*$guid" <<<"$out"; then
		pass "$what: vhdiinfo's parent identifier is $parent's DataWriteGuid $guid"
	else
		fail "$what: vhdiinfo (parent DataWriteGuid '$guid'): $(grep -i -e parent -e error <<<"$out" | head -n 3)"
	fi
	if out=$("$BUILD/host/vhdx" check "$f" 2>&1) && grep -q ': 0 errors, 0 warnings$' <<<"$out"; then
		pass "$what: host vhdx check, 0 errors and 0 warnings (every parent found)"
	else
		fail "$what: host vhdx check: $(tail -n 3 <<<"$out")"
	fi
	out=$("$BUILD/host/vhdx" info "$f" 2>&1)
	if grep -q "^  1: .*${parent##*/} (relative_path): VHDX ($sum), DataWriteGuid matches" <<<"$out"; then
		pass "$what: host vhdx info finds $parent by relative_path"
	else
		fail "$what: host vhdx info chain: $(grep -A3 'parent chain' <<<"$out")"
	fi
}
# disk_child TAG DISK WHAT: cut the child from the disk into $D
disk_child() {
	local size
	size=$(image_size "$(out_of "$L" "$1")")
	if [ -z "$size" ]; then
		fail "$3: no image size in the output"
		return 1
	fi
	head -c "$size" "$2" > "$D/$1.vhdx"
}

expect_log "$L" diff 0x0 "differencing child fs0:\\c.vhdx of fs0:\\x.vhdx" "done: wrote" && {
	child_7zz "child on the ESP of an empty parent" "$D/c.vhdx" "$D/zeros"
	child_readers "child on the ESP of an empty parent" "$D/c.vhdx" x.vhdx "dynamic, 1 GiB"
}
expect_log "$L" diffsub 0x0 "differencing child in a folder" "done: wrote" &&
expect_log "$L" infosub 0x0 "info of the child in a folder shows its relative_path" 'relative_path = ..\x.vhdx' && {
	child_readers "child in a folder" "$D/d/c2.vhdx" x.vhdx "dynamic, 1 GiB"
	echo "  note: 7zz not run on the child in a folder: its relative_path ..\\x.vhdx has a folder, which 7-Zip on Linux cannot follow"
}
expect_log "$L" diffdata 0x0 "differencing child fs0:\\dc.vhdx of fs0:\\data.vhdx" "done: wrote" && {
	child_7zz "child on the ESP of a parent with data" "$D/dc.vhdx" "$X/data.raw"
	child_readers "child on the ESP of a parent with data" "$D/dc.vhdx" data.vhdx "dynamic, 16 MiB"
}
expect_log "$L" diffbad 0x2 "--parent that is not a VHDX" "not a VHDX image"

expect_log "$L" diffblk 0x0 "differencing child on a virtio-blk disk" 'relative_path = .\data.vhdx' &&
expect_log "$L" diffblk 0x0 "differencing child on a disk: the plan says where relative_path starts" \
	"relative_path starts at the parent volume's root" &&
disk_child diffblk "$X/child.img" "child on a disk" && {
	child_7zz "child on a disk of a parent with data" "$D/diffblk.vhdx" "$X/data.raw"
	child_readers "child on a disk of a parent with data" "$D/diffblk.vhdx" data.vhdx "dynamic, 16 MiB"
}
expect_log "$L" diffblk3 0x0 "differencing child on a disk of a child in a folder" 'relative_path = .\d\c2.vhdx' &&
expect_log "$L" infoblk3 0x0 "info of that child on the disk shows its relative_path" 'relative_path = .\d\c2.vhdx' &&
disk_child diffblk3 "$X/child3.img" "chain of three on a disk" && {
	child_readers "chain of three on a disk" "$D/diffblk3.vhdx" d/c2.vhdx "differencing, 1 GiB"
	if grep -q '^  2: .*x\.vhdx (relative_path): VHDX (dynamic, 1 GiB), DataWriteGuid matches' \
		<<<"$("$BUILD/host/vhdx" info "$D/diffblk3.vhdx" 2>&1)"; then
		pass "chain of three on a disk: host vhdx info goes on to x.vhdx"
	else
		fail "chain of three on a disk: host vhdx info does not reach x.vhdx"
	fi
	echo "  note: 7zz not run on the chain of three: its relative_path .\\d\\c2.vhdx has a folder, which 7-Zip on Linux cannot follow"
}
rm -f "$D/zeros"

out=$(out_of "$L" list2)
for pat in 'BLK2: 64 MiB, 512-byte blocks, disk, writable: VHDX (dynamic, 1 GiB)' \
	'BLK1: 256 MiB, 512-byte blocks, disk, writable: VHDX (fixed, 252 MiB)'; do
	if grep -qF -- "$pat" <<<"$out"; then
		pass "list after create shows '$pat'"
	else
		fail "list after create lacks '$pat'"
	fi
done
expect_log "$L" checkdyn 0x0 "check blk2: (the dynamic image)" "0 errors"
expect_log "$L" checkfile 0x0 "check fs0:\\x.vhdx" "0 errors"
expect_log "$L" infofile 0x0 "info fs0:\\x.vhdx" "dynamic"
expect_log "$L" checkused 0xA "check on a disk that is not a VHDX: EFI_VOLUME_CORRUPTED" "not a VHDX"
cr_verify

LI=$I/serial.txt
read -r keys_rc keys_s < "$I/boot.result"
echo "--- x86_64 boot with keys sent over the serial port: ${keys_s} s, qemu exit $keys_rc; log $LI"
out=$(out_of "$LI" list)
if grep -qF -- '16 MiB, 512-byte blocks, partition, writable: blank' <<<"$out" &&
   grep -qF -- "HD(2,GPT,$P2GUID,0x16000,0x8000)" <<<"$out"; then
	pass "list shows GPT partition 2 as a blank partition with its HD() device path"
else
	fail "list: partition 2 missing: $(head -c 600 <<<"$out")"
fi
expect_log "$LI" bootdisk 0x2 "the disk under the ESP partition" "loaded from (or the disk under it)"
expect_log "$LI" part2 0x0 "fixed filling GPT partition 2 (device path with HD())" "done: wrote" && {
	out=$(out_of "$LI" part2)
	size=$(image_size "$out")
	if [ -n "$size" ]; then
		tail -c +$(((44 << 20) + 1)) "$I/esp.img" | head -c "$size" > "$I/part2.vhdx"
		image "$I" "$LI" part2 "fixed 12 MiB in partition 2" - 12M
	else
		fail "partition 2: no image size in the output: the image in it was not validated"
	fi
	if outside_p2 "$I/esp.img" | cmp -s - "$I/outside.sha"; then
		pass "partition 2: every byte outside it unchanged (GPT, ESP, backup GPT)"
	else
		fail "partition 2: bytes outside the partition changed"
	fi
}
expect_log "$LI" fatnoforce 0x2 "a disk holding a mounted FAT filesystem, no --force" \
	"holds a FAT filesystem (non-zero byte at 0); refusing to overwrite it without --force"
expect_log "$LI" fatforce 0x0 "the FAT disk with --force (its FAT driver stopped by the exclusive open)" \
	"done: wrote" && image "$I" "$LI" fatforce "dynamic 1 GiB over a mounted FAT" "$I/fat.img"
expect_log "$LI" declined 0x15 "confirmation answered 'no': EFI_ABORTED" "not confirmed; nothing written"
if [ -f "$I/ahci.mid" ] && cmp -s "$I/ahci.mid" "$I/ahci.sha"; then
	pass "declined: disk file byte-for-byte unchanged (checked before the next run)"
else
	fail "declined: disk file changed before the second run"
fi
expect_log "$LI" escaped 0x15 "ESC while zeroing a fixed payload: EFI_ABORTED" "aborted by ESC"
if ! head -c 8 "$I/ahci.img" | grep -q vhdxfile && ! qemu-img check -q -f vhdx "$I/ahci.img" 2>/dev/null; then
	pass "after ESC: nothing on the disk looks like a VHDX (no signature, qemu-img refuses it)"
else
	fail "after ESC: the disk looks like a VHDX"
fi

LA=$A/serial.txt
echo "--- aarch64 boot: ${arm_s} s, qemu exit $arm_rc; log $LA"
if [ "$arm_rc" = 0 ] && grep -q '^=== small rc' "$LA"; then
	pass "aarch64: AAVMF booted, ran startup.nsh to the end and powered off (${arm_s} s)"
else
	fail "aarch64: the boot did not complete (qemu exit $arm_rc; 124 = timeout); see $LA"
fi
expect_log "$LA" list 0x0 "aarch64 list" "PciRoot(0x0)/Pci(0x5,0x0)"
expect_log "$LA" fixed 0x0 "aarch64: fixed 16 MiB on virtio-blk via device path" "done: wrote" &&
	image "$A" "$LA" fixed "aarch64 fixed 16 MiB" "$A/v512.img"
expect_log "$LA" small 0x2 "aarch64: too small" \
	"too small: the image needs 4 MiB (4194304 bytes), the device has 2 MiB (2097152 bytes)"
if grep -q '^  GUIDs          from EFI_RNG_PROTOCOL' "$LA"; then
	pass "aarch64: GUIDs from EFI_RNG_PROTOCOL (virtio-rng)"
else
	fail "aarch64: GUIDs not from EFI_RNG_PROTOCOL"
fi

read -r BOOT_RC BOOT_SECONDS < "$B/boot.result"
echo "--- x86_64 boot with bad input and corrupted images: ${BOOT_SECONDS} s, qemu exit $BOOT_RC; log $B/serial.txt"
bad_verify "$B"

if deploy_setup_ok; then
	deploy_verify "$DX"
	deploy_arm_verify "$DA"
else
	fail "deploy: cannot build the golden disk, chain or disks: $(tail -n 5 "$W/deploy-setup.log")"
fi

finish
