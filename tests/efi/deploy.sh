# tests/efi/deploy.sh - sourced by run.sh: issue 14 part 4, provisioning
# from the UEFI shell with `vhdx convert`, end to end:
#
#   a golden disk made on the host (make_golden, lib.sh: GPT, an ESP whose
#   \EFI\BOOT\BOOTX64.EFI / BOOTAA64.EFI is tests/efi/marker.c, data
#   scattered through partition 2), converted by the host `vhdx convert`
#   to a dynamic VHDX (2 MiB blocks) and, separately, into a two-level
#   chain: that VHDX as base and a differencing child made by the host
#   `vhdx create -t differencing` whose blocks tests/host/vhdx_poke.py
#   writes (PARTIALLY_PRESENT, FULLY_PRESENT, ZERO, an empty bitmap), all in
#   partition 2, so the ESP stays intact; vhdx_poke's model is the raw disk
#   the chain must read as.
#
#   x86_64 boot (OVMF, keys over the serial port), deploy_setup/_boot/_verify:
#     deploy, --force --yes, onto disks full of old random bytes: virtio-blk
#       512 (the VHDX), virtio-blk 4096 (the 512-sector image, whose GPT
#       counts 512-byte sectors, on a 4Kn device: refused on one such disk,
#       0x2, one line naming the GPT and both sector sizes, the disk
#       unchanged; written on another with --allow-sector-mismatch, the
#       plan noting it), NVMe (the chain), AHCI (the VHDX); and
#       --sparse onto a blank disk.  On the host each disk's first 64 MiB is
#       the golden raw disk (or the chain's model) byte for byte (cmp) and
#       what lies beyond is unchanged;
#     compare in UEFI: golden VHDX against its deployed disk and the chain
#       against its disk 0x0; the golden VHDX against the chain's disk
#       0x21 with the first differing byte cmp finds, and against its own
#       disk 8 MiB larger (old random bytes past the image) 0x0: the device
#       holds the image, its last 8 MiB not compared;
#     capture of a read-only disk holding a GPT and a FAT filesystem into
#       fs0:\cap.vhdx (dynamic), fs0:\capf.vhdx (-t fixed) and, -O vhdx,
#       onto a blank raw device: on the host vhdx check, qemu-img check,
#       7zz t pass and the content equals the disk (qemu-img compare, the
#       host vhdx compare, 7zz e | cmp);
#     refusals (0x2, every disk byte for byte unchanged): too small (both
#       sizes in the message), the boot disk, the disk holding the source
#       file; a declined prompt (0x15, unchanged); ESC during a deploy
#       (0x15: first MiB zero, so nothing looks partitioned) and during a
#       capture (0x15, the partial file removed); a blkdebug write error
#       part-way through a deploy (0x7, first MiB zero); a capture that
#       outgrows its FAT volume (0x7, "the volume is full", the partial
#       file removed, the volume's other file intact);
#   then second boots with only a deployed disk (no ESP, no shell script):
#     OVMF boots its \EFI\BOOT\BOOTX64.EFI, the marker prints its line and
#     powers off: the virtio-blk 512 disk (the VHDX) and the NVMe disk
#     (the chain);
#   aarch64 boot (AAVMF), deploy_arm_*: one deploy onto virtio-blk and one
#     capture into an ESP file, checked as above, and the deployed disk
#     booted alone: BOOTAA64.EFI prints the marker.
#
# Needs lib.sh, $BUILD, $HERE, expect_log (run.sh).  DP_* are the device paths.

DP_V512="PciRoot(0x0)/Pci(0x5,0x0)"
DP_V4K="PciRoot(0x0)/Pci(0x6,0x0)"
DP_V4KR="PciRoot(0x0)/Pci(0x11,0x0)"
DP_SMALL="PciRoot(0x0)/Pci(0x8,0x0)"
DP_IOERR="PciRoot(0x0)/Pci(0x9,0x0)"
DP_ESC="PciRoot(0x0)/Pci(0xA,0x0)"
DP_DECL="PciRoot(0x0)/Pci(0xB,0x0)"
DP_SRCFAT="PciRoot(0x0)/Pci(0x3,0x0)"
DP_CAP="PciRoot(0x0)/Pci(0xD,0x0)"
DP_CAPDEV="PciRoot(0x0)/Pci(0xE,0x0)"
DP_SPARSE="PciRoot(0x0)/Pci(0xF,0x0)"
DP_CAPSLOW="PciRoot(0x0)/Pci(0x4,0x0)"
DP_DIRTY="PciRoot(0x0)/Pci(0x10,0x0)"
DP_ESP="PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)"
DP_AHCI="PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x1,0xFFFF,0x0)"
DP_NVME="PciRoot(0x0)/Pci(0x7,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00)"
# old data: every target but the blank ones starts as random bytes; the
# disks larger than the golden one keep what lies beyond its 64 MiB
DEPLOY_OLD="v512:64 v4k:64 v4kr:64 nvme:64 ahci:72 small:32 ioerr:64 esc:64 decl:64"
GOLDEN_BYTES=$((64 << 20))

# dp_golden DIR: DIR/golden.raw, DIR/vm/golden.vhdx, DIR/vm/child.avhdx and
# its model DIR/chain.raw
dp_golden() {
	local d=$1 V=$BUILD/host/vhdx out
	mkdir -p "$d/vm"
	make_golden "$d/golden.raw" "$BUILD/tests/efi/x86_64/marker.efi" \
		"$BUILD/tests/efi/aarch64/marker.efi" || return 1
	rm -f "$d/vm/golden.vhdx" "$d/vm/child.avhdx"
	"$V" convert -q -b 2M "$d/golden.raw" "$d/vm/golden.vhdx" || return 1
	"$V" create -q -t differencing --parent "$d/vm/golden.vhdx" "$d/vm/child.avhdx" || return 1
	cp "$d/golden.raw" "$d/chain.raw"
	# partition 2 is blocks 17..30 (2 MiB): a partial block over golden data,
	# a full one, a zero block over golden data, an empty bitmap over data
	python3 "$ROOT/tests/host/vhdx_poke.py" blocks "$d/vm/child.avhdx" "$d/chain.raw" 1 \
		partial:17:7 full:23 zero:27 empty:19 || return 1
	cmp -s "$d/golden.raw" "$d/chain.raw" && return 1 # the child must change something
	out=$("$V" check "$d/vm/child.avhdx" 2>&1) || { echo "$out"; return 1; }
}

# dp_validate_vhdx WHAT IMG RAW: a VHDX whose virtual disk must equal RAW
dp_validate_vhdx() {
	local what=$1 img=$2 raw=$3 out st V=$BUILD/host/vhdx
	out=$("$V" check "$img" 2>&1)
	st=$?
	if [ $st = 0 ] && grep -q ': 0 errors, 0 warnings$' <<<"$out"; then
		pass "$what: host vhdx check, 0 errors and 0 warnings"
	else
		fail "$what: host vhdx check (exit $st): $(tail -n 3 <<<"$out")"
	fi
	if out=$(qemu-img check -f vhdx "$img" 2>&1); then
		pass "$what: qemu-img check"
	else
		fail "$what: qemu-img check: $(tail -n 3 <<<"$out")"
	fi
	if out=$(7zz t -tvhdx "$img" 2>&1) && ! grep -qiE 'WARNING|ERROR' <<<"$out"; then
		pass "$what: 7zz t"
	else
		fail "$what: 7zz t: $(grep -iE 'WARNING|ERROR' <<<"$out" | head -n 3)"
	fi
	# not -s: its strict mode finds a raw file's block status different
	# from any VHDX's; the sizes are compared here instead
	out=$(qemu-img info -f vhdx "$img" 2>&1 | sed -n 's/^virtual size: .*(\([0-9]*\) bytes)$/\1/p')
	if [ "$out" = "$(stat -c %s "$raw")" ] && out=$(qemu-img compare -f vhdx -F raw "$img" "$raw" 2>&1); then
		pass "$what: qemu-img compare with the disk: identical, virtual size $(stat -c %s "$raw") bytes"
	else
		fail "$what: qemu-img compare with the disk (virtual size '$out'): $out"
	fi
	if out=$("$V" compare "$img" "$raw" 2>&1); then
		pass "$what: host vhdx compare with the disk: identical"
	else
		fail "$what: host vhdx compare with the disk: $out"
	fi
	7zz e -tvhdx -so "$img" 2>/dev/null | cmp -s - "$raw"
	st=("${PIPESTATUS[@]}")
	if [ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ]; then
		pass "$what: 7zz e reads exactly the disk's bytes"
	else
		fail "$what: 7zz e does not read back the disk (7zz exit ${st[0]}, cmp exit ${st[1]})"
	fi
}

# dp_deployed WHAT DISK RAW OLDSHA: DISK's first 64 MiB is RAW; what follows
# (a larger disk) is the old data whose sha256 OLDSHA holds
dp_deployed() {
	local what=$1 disk=$2 raw=$3 tail=$4 size
	if cmp -n "$GOLDEN_BYTES" "$disk" "$raw" >/dev/null 2>&1; then
		pass "$what: the disk's first 64 MiB equal ${raw##*/} (cmp)"
	else
		fail "$what: the disk differs from ${raw##*/}: $(cmp -n "$GOLDEN_BYTES" "$disk" "$raw" 2>&1 | head -n 1)"
	fi
	size=$(stat -c %s "$disk")
	if [ "$size" -gt "$GOLDEN_BYTES" ]; then
		if tail -c +$((GOLDEN_BYTES + 1)) "$disk" | sha256sum | cmp -s - "$tail"; then
			pass "$what: the $(((size - GOLDEN_BYTES) >> 20)) MiB beyond the image unchanged"
		else
			fail "$what: bytes beyond the image's 64 MiB changed"
		fi
	fi
}

# dp_first_mib_zero WHAT DISK: nothing left that looks partitioned
dp_first_mib_zero() {
	if cmp -s -n $((1 << 20)) "$2" /dev/zero; then
		pass "$1: the disk's first MiB is zero: no MBR, no GPT"
	else
		fail "$1: the disk's first MiB is not zero: $(cmp -n $((1 << 20)) "$2" /dev/zero 2>&1 | head -n 1)"
	fi
}

dp_unchanged() { # WHAT DIR NAME
	if sha256sum < "$2/$3.img" | cmp -s - "$2/$3.sha"; then
		pass "$1: disk file byte-for-byte unchanged"
	else
		fail "$1: disk file CHANGED"
	fi
}

# ---- x86_64 ----

deploy_setup() {
	local d=$1 app=$2 x n mib
	mkdir -p "$d"
	dp_golden "$d" || return 1
	head -c $((80 << 20)) /dev/urandom > "$d/old.bin" || return 1
	for x in $DEPLOY_OLD; do
		mib=${x#*:}
		head -c $((mib << 20)) "$d/old.bin" > "$d/${x%%:*}.img"
	done
	rm -f "$d/old.bin"
	for x in $DEPLOY_OLD; do
		x=${x%%:*}
		sha256sum < "$d/$x.img" > "$d/$x.sha"
		tail -c +$((GOLDEN_BYTES + 1)) "$d/$x.img" | sha256sum > "$d/$x.tail"
	done
	# blank targets: --sparse, and the capture onto a device
	rm -f "$d/sparse.img" "$d/capdev.img"
	truncate -s 64M "$d/sparse.img"
	# 96 MiB: the 48 MiB disk in two 32 MiB blocks with data, 68 MiB of VHDX
	truncate -s 96M "$d/capdev.img"
	# writes touching sector 32768 (16 MiB) fail with EIO
	printf '[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "32768"\nonce = "off"\n' > "$d/ioerr.conf"
	# a whole-disk FAT filesystem (FS1) holding a copy of the golden VHDX
	# and about 8 MiB free, which a capture soon fills
	rm -f "$d/srcfat.img"
	mkfs.vfat -C "$d/srcfat.img" $(( ($(stat -c %s "$d/vm/golden.vhdx") >> 10) + 8192 )) >/dev/null &&
		mcopy -i "$d/srcfat.img" "$d/vm/golden.vhdx" ::golden.vhdx || return 1
	# the capture source: 48 MiB, GPT, a FAT partition with files, random
	# bytes in a second partition, zeros elsewhere (read-only in the VM)
	rm -f "$d/cap.img" "$d/cap.p1"
	python3 "$HERE/mkgpt.py" "$d/cap.img" 48 "1:24:esp:CA9CA9CA-0000-4000-8000-000000000001" \
		"26:20:linux:CA9CA9CA-0000-4000-8000-000000000002" || return 1
	mkfs.vfat -C "$d/cap.p1" 24576 >/dev/null &&
		head -c $((3 << 20)) /dev/urandom > "$d/cap.bin" && echo "captured by vhdx.efi" > "$d/cap.txt" &&
		mmd -i "$d/cap.p1" ::dir && mcopy -i "$d/cap.p1" "$d/cap.bin" "$d/cap.txt" ::dir &&
		dd if="$d/cap.p1" of="$d/cap.img" bs=1M seek=1 conv=notrunc status=none &&
		head -c $((5 << 20)) /dev/urandom | dd of="$d/cap.img" bs=1M seek=30 conv=notrunc status=none || return 1
	rm -f "$d/cap.p1" "$d/cap.bin" "$d/cap.txt"
	for x in srcfat cap; do
		sha256sum < "$d/$x.img" > "$d/$x.sha"
	done
	# a source with a dirty log (DiscUtils' log-replay sample, 1 GiB
	# virtual): deployed through the core's overlay, the file never written
	gunzip -c "$ROOT/../shared/samples/discutils-vhdx-log-replay.vhdx.gz" > "$d/vm/dirty.vhdx" || return 1
	sha256sum < "$d/vm/dirty.vhdx" > "$d/dirty.sha"
	rm -f "$d/dirty.img"
	truncate -s 1G "$d/dirty.img"

	n=$d/startup.nsh
	nsh_begin "$n"
	nsh_run "$n" dlist list
	printf 'map -t fs\r\n' >> "$n"
	# refusals first: nothing may be written
	nsh_run "$n" dsmall convert -f -y 'fs0:\vm\golden.vhdx' "$DP_SMALL"
	nsh_run "$n" dboot convert -f -y 'fs1:\golden.vhdx' "$DP_ESP"
	nsh_run "$n" dsrcdisk convert -f -y 'fs1:\golden.vhdx' "$DP_SRCFAT"
	nsh_run "$n" dnoforce convert -y 'fs0:\vm\golden.vhdx' "$DP_V512"
	nsh_run "$n" dv4kr convert -f -y 'fs0:\vm\golden.vhdx' "$DP_V4KR"
	# deploys
	nsh_run "$n" dv512 convert -f -y 'fs0:\vm\golden.vhdx' "$DP_V512"
	nsh_run "$n" dv4k convert -f -y --allow-sector-mismatch 'fs0:\vm\golden.vhdx' "$DP_V4K"
	nsh_run "$n" dnvme convert -f -y 'fs0:\vm\child.avhdx' "$DP_NVME"
	nsh_run "$n" dahci convert -f -y 'fs0:\vm\golden.vhdx' "$DP_AHCI"
	nsh_run "$n" dsparse convert -y --sparse 'fs0:\vm\golden.vhdx' "$DP_SPARSE"
	nsh_run "$n" ddirty convert -y --sparse 'fs0:\vm\dirty.vhdx' "$DP_DIRTY"
	nsh_run "$n" dioerr convert -f -y 'fs0:\vm\golden.vhdx' "$DP_IOERR"
	# compare
	nsh_run "$n" csame compare 'fs0:\vm\golden.vhdx' "$DP_V512"
	nsh_run "$n" cchain compare 'fs0:\vm\child.avhdx' "$DP_NVME"
	nsh_run "$n" cdiff compare 'fs0:\vm\golden.vhdx' "$DP_NVME"
	nsh_run "$n" csize compare 'fs0:\vm\golden.vhdx' "$DP_AHCI"
	# interactive: declined, then ESC during a deploy (the ESP untouched
	# until here: the host takes its sha256 at the prompt)
	nsh_run "$n" ddecl convert -f 'fs0:\vm\golden.vhdx' "$DP_DECL"
	nsh_run "$n" desc convert -f -y 'fs0:\vm\golden.vhdx' "$DP_ESC"
	# capture
	nsh_run "$n" kdyn convert -y -b 1M "$DP_CAP" 'fs0:\cap.vhdx'
	nsh_run "$n" kfixed convert -y -t fixed "$DP_CAP" 'fs0:\capf.vhdx'
	nsh_run "$n" kdev convert -y -O vhdx "$DP_CAP" "$DP_CAPDEV"
	nsh_run "$n" kesc convert -y "$DP_CAPSLOW" 'fs0:\capesc.vhdx'
	# 68 MiB of VHDX (32 MiB blocks) onto the ~8 MiB free of the FAT disk
	nsh_run "$n" kfull convert -y "$DP_CAP" 'fs1:\full.vhdx'
	nsh_run "$n" kafter list
	nsh_end "$n"
	make_esp "$d/esp.img" "$app" "$n" 262144 && mmd -i "$d/esp.img" ::vm &&
		mcopy -i "$d/esp.img" "$d/vm/golden.vhdx" "$d/vm/child.avhdx" "$d/vm/dirty.vhdx" ::vm || return 1
	sha256sum < "$d/esp.img" > "$d/esp.sha"
}

# dp_count DIR TEXT: how many times TEXT is in the raw log so far
dp_count() {
	tr -d '\r' < "$1/serial.raw" | grep -cF -- "$2" || true
}

deploy_boot() {
	local d=$1 k
	boot_x86_start "$d" "$d/esp.img" \
		-drive "if=none,id=ah,format=raw,file=$d/ahci.img" -device ide-hd,bus=ide.1,drive=ah \
		-drive "if=none,id=v5,format=raw,file=$d/v512.img" -device virtio-blk-pci,drive=v5,addr=0x5 \
		-drive "if=none,id=v6,format=raw,file=$d/v4k.img" \
		-device virtio-blk-pci,drive=v6,addr=0x6,logical_block_size=4096,physical_block_size=4096 \
		-drive "if=none,id=vr,format=raw,file=$d/v4kr.img" \
		-device virtio-blk-pci,drive=vr,addr=0x11,logical_block_size=4096,physical_block_size=4096 \
		-drive "if=none,id=nv,format=raw,file=$d/nvme.img" -device nvme,drive=nv,serial=deploy,addr=0x7 \
		-drive "if=none,id=v8,format=raw,file=$d/small.img" -device virtio-blk-pci,drive=v8,addr=0x8 \
		-drive "if=none,id=v9,format=raw,file.driver=blkdebug,file.config=$d/ioerr.conf,file.image.filename=$d/ioerr.img" \
		-device virtio-blk-pci,drive=v9,addr=0x9 \
		-drive "if=none,id=va,format=raw,file=$d/esc.img,throttling.bps-write=$((4 << 20))" \
		-device virtio-blk-pci,drive=va,addr=0xa \
		-drive "if=none,id=vb,format=raw,file=$d/decl.img" -device virtio-blk-pci,drive=vb,addr=0xb \
		-drive "if=none,id=vc,format=raw,file=$d/srcfat.img" -device virtio-blk-pci,drive=vc,addr=0x3 \
		-drive "if=none,id=vd,format=raw,file=$d/cap.img,readonly=on" -device virtio-blk-pci,drive=vd,addr=0xd \
		-drive "if=none,id=ve,format=raw,file=$d/capdev.img" -device virtio-blk-pci,drive=ve,addr=0xe \
		-drive "if=none,id=vf,format=raw,file=$d/sparse.img" -device virtio-blk-pci,drive=vf,addr=0xf \
		-drive "if=none,id=vg,format=raw,file=$d/cap.img,readonly=on,throttling.bps-read=$((4 << 20))" \
		-device virtio-blk-pci,drive=vg,addr=0x4 \
		-drive "if=none,id=vh,format=raw,file=$d/dirty.img" -device virtio-blk-pci,drive=vh,addr=0x10
	# the prompt: the ESP is as it was (nothing before wrote it); answer no.
	# ESC once a progress line of the run shows (not an earlier run's).
	if wait_for "$d" "Type yes and Enter" 240 1 && sha256sum < "$d/esp.img" > "$d/esp.mid" &&
	   sha256sum < "$d/decl.img" > "$d/decl.mid" && sha256sum < "$d/srcfat.img" > "$d/srcfat.mid" &&
	   send_keys 'no\r' &&
	   wait_for "$d" "=== desc begin" 60 && k=$(dp_count "$d" "left, ESC aborts") &&
	   wait_for "$d" "left, ESC aborts" 60 $((k + 1)) && send_keys '\033' &&
	   wait_for "$d" "=== kesc begin" 120 && k=$(dp_count "$d" "left, ESC aborts") &&
	   wait_for "$d" "left, ESC aborts" 60 $((k + 1)) && send_keys '\033' &&
	   wait_for "$d" "=== kafter rc" 60; then
		boot_x86_wait "$d"
	else
		boot_x86_wait "$d" kill
	fi
	echo "$BOOT_RC $BOOT_SECONDS" > "$d/boot.result"
	# the deployed disks, alone
	boot_marker x86_64 "$d/m512" \
		-drive "if=none,id=v5,format=raw,file=$d/v512.img" -device virtio-blk-pci,drive=v5,addr=0x5
	echo "$BOOT_RC $BOOT_SECONDS" > "$d/m512/boot.result"
	boot_marker x86_64 "$d/mnvme" \
		-drive "if=none,id=nv,format=raw,file=$d/nvme.img" -device nvme,drive=nv,serial=deploy,addr=0x7
	echo "$BOOT_RC $BOOT_SECONDS" > "$d/mnvme/boot.result"
	# the AHCI disk: 72 MiB, so its backup GPT is not at its end (the 64 MiB
	# image's is): the firmware boots from the primary
	boot_marker x86_64 "$d/mahci" \
		-drive "if=none,id=ah,format=raw,file=$d/ahci.img" -device ide-hd,bus=ide.0,drive=ah
	echo "$BOOT_RC $BOOT_SECONDS" > "$d/mahci/boot.result"
}

deploy_verify() {
	local d=$1 L=$1/serial.txt out want size
	read -r BOOT_RC BOOT_SECONDS < "$d/boot.result"
	echo "--- x86_64 deploy/capture boot (keys over serial): ${BOOT_SECONDS} s, qemu exit $BOOT_RC; log $L"
	if [ "$BOOT_RC" = 0 ] && grep -q '^=== kafter rc' "$L"; then
		pass "deploy: OVMF ran the deploys, compares and captures to the end and powered off (${BOOT_SECONDS} s)"
	else
		fail "deploy: the boot did not complete (qemu exit $BOOT_RC; 124 = timeout); see $L"
	fi
	out=$(out_of "$L" dlist)
	if grep -qF -- "$DP_NVME" <<<"$out"; then
		pass "deploy: list shows the NVMe disk as $DP_NVME"
	else
		fail "deploy: list has no $DP_NVME: $(grep -F NVMe <<<"$out" | head -n 2)"
	fi
	# the shell numbers filesystems in the text order of their device
	# paths: Pci(0x1F,0x2) (the ESP) before Pci(0x3,0x0) (the source copy)
	for x in "FS0:|$DP_ESP" "FS1:|$DP_SRCFAT"; do
		if grep -A1 -E "^ *${x%%|*} " "$L" | tail -n 1 | grep -qF -- "${x#*|}"; then
			pass "deploy: map -t fs: ${x%%|*} is ${x#*|}"
		else
			fail "deploy: map -t fs: ${x%%|*} is not ${x#*|}: the source paths name other volumes"
		fi
	done

	# refusals
	expect_log "$L" dsmall 0x2 "deploy onto a disk too small (32 MiB): both sizes" \
		"too small: the disk needs 64 MiB (67108864 bytes), the device has 32 MiB (33554432 bytes)"
	dp_unchanged "deploy onto a disk too small" "$d" small
	expect_log "$L" dboot 0x2 "deploy onto the boot disk (the ESP's), source on another disk" "loaded from"
	if [ -f "$d/esp.mid" ] && cmp -s "$d/esp.mid" "$d/esp.sha"; then
		pass "deploy: the ESP (boot disk) byte-for-byte unchanged by everything before the prompt"
	else
		fail "deploy: the ESP changed before the prompt (or the prompt never came)"
	fi
	expect_log "$L" dsrcdisk 0x2 "deploy onto the disk that holds the source file" "refusing to write it"
	if [ -f "$d/srcfat.mid" ] && cmp -s "$d/srcfat.mid" "$d/srcfat.sha"; then
		pass "deploy onto the source's own disk: disk file byte-for-byte unchanged (until the prompt; then kfull writes it)"
	else
		fail "deploy onto the source's own disk: disk file changed (or the prompt never came)"
	fi
	expect_log "$L" dnoforce 0x2 "deploy onto a disk of old data without --force" "refusing to overwrite it without --force"
	expect_log "$L" dv4kr 0x2 "deploy a 512-sector image with a GPT onto a 4096-byte virtio-blk: refused" \
		"sector size mismatch: the image's GPT partition table (header at byte 512, LBA 1) counts 512-byte sectors, the device's are 4096 bytes" &&
		expect_log "$L" dv4kr 0x2 "the sector-size refusal names the option" \
			"refusing to write it (--allow-sector-mismatch writes it anyway)" &&
		if [ "$(out_of "$L" dv4kr | grep -c .)" = 1 ]; then
			pass "the sector-size refusal is one line"
		else
			fail "the sector-size refusal is not one line: $(out_of "$L" dv4kr | head -c 400)"
		fi
	dp_unchanged "deploy refused for its sector size" "$d" v4kr

	# deploys
	expect_log "$L" dv512 0x0 "deploy the VHDX onto virtio-blk 512" "done: wrote" &&
		dp_deployed "deploy onto virtio-blk 512" "$d/v512.img" "$d/golden.raw" "$d/v512.tail"
	expect_log "$L" dv4k 0x0 "deploy a 512-sector image onto a 4096-byte virtio-blk, --allow-sector-mismatch: written, with a note" \
		"counts 512-byte sectors, the device's are 4096 bytes: its partitions would not be found and it would not boot (a partition table must count the device's sectors); written anyway (--allow-sector-mismatch)" &&
		dp_deployed "deploy onto virtio-blk 4096" "$d/v4k.img" "$d/golden.raw" "$d/v4k.tail"
	expect_log "$L" dnvme 0x0 "deploy the chain (child.avhdx through golden.vhdx) onto NVMe" "done: wrote" &&
		dp_deployed "deploy of the chain onto NVMe" "$d/nvme.img" "$d/chain.raw" "$d/nvme.tail"
	expect_log "$L" dahci 0x0 "deploy the VHDX onto AHCI" "done: wrote" &&
		dp_deployed "deploy onto AHCI" "$d/ahci.img" "$d/golden.raw" "$d/ahci.tail"
	expect_log "$L" dsparse 0x0 "deploy --sparse onto a blank disk" "done: wrote" && {
		dp_deployed "deploy --sparse onto a blank disk" "$d/sparse.img" "$d/golden.raw" -
		out=$(out_of "$L" dsparse)
		want=$(sed -n 's/^done: wrote \([0-9]*\) bytes.*/\1/p' <<<"$out")
		if [ -n "$want" ] && [ "$want" -lt $((GOLDEN_BYTES / 2)) ]; then
			pass "deploy --sparse: wrote $want bytes of 64 MiB (zero ranges skipped)"
		else
			fail "deploy --sparse: wrote '${want:-?}' bytes, not under half of the 64 MiB disk"
		fi
	}
	expect_log "$L" ddirty 0x0 "deploy of a VHDX whose log is dirty (DiscUtils' log-replay sample)" \
		"its log read through the overlay" && {
		# judged by qemu's reading, not our core's: qemu-img replays the log
		# of a copy (check -r all), its raw conversion is compared with the
		# deployed disk over the image's extent (the virtual size)
		cp --sparse=always "$d/vm/dirty.vhdx" "$d/dirty.qemu.vhdx"
		if qemu-img check -q -r all -f vhdx "$d/dirty.qemu.vhdx" >/dev/null 2>&1 &&
		   qemu-img convert -f vhdx -O raw "$d/dirty.qemu.vhdx" "$d/dirty.want" &&
		   cmp -s -n "$(stat -c %s "$d/dirty.want")" "$d/dirty.img" "$d/dirty.want"; then
			pass "deploy of the dirty-log VHDX: the disk equals qemu-img's reading after check -r all on a copy (cmp, $(($(stat -c %s "$d/dirty.want") >> 20)) MiB)"
		else
			fail "deploy of the dirty-log VHDX: the disk differs from qemu-img's reading after its replay: $(cmp -n "$(stat -c %s "$d/dirty.want" 2>/dev/null || echo 0)" "$d/dirty.img" "$d/dirty.want" 2>&1 | head -n 1)"
		fi
		rm -f "$d/dirty.want" "$d/dirty.qemu.vhdx"
	}
	if mcopy -n -i "$d/esp.img" ::vm/dirty.vhdx "$d/dirty.after" 2>/dev/null &&
	   [ "$(sha256sum < "$d/dirty.after")" = "$(cat "$d/dirty.sha")" ]; then
		pass "deploy of the dirty-log VHDX: the source file on the ESP byte for byte unchanged (the log not replayed)"
	else
		fail "deploy of the dirty-log VHDX: the source file on the ESP changed or is missing"
	fi
	rm -f "$d/dirty.after"
	expect_log "$L" dioerr 0x7 "deploy with a write error part-way (blkdebug EIO at 16 MiB): EFI_DEVICE_ERROR" \
		"failed at byte" &&
		expect_log "$L" dioerr 0x7 "deploy with a write error: the message says the first MiB is zero" \
			"its first MiB is zero"
	dp_first_mib_zero "after the write error part-way" "$d/ioerr.img"

	# compare
	expect_log "$L" csame 0x0 "compare the golden VHDX with its deployed disk" "identical"
	expect_log "$L" cchain 0x0 "compare the chain with its deployed disk" "identical"
	want=$(cmp "$d/golden.raw" "$d/chain.raw" 2>/dev/null | sed -n 's/.* differ: byte \([0-9]*\),.*/\1/p')
	if [ -n "$want" ]; then
		expect_log "$L" cdiff 0x21 "compare the golden VHDX with the chain's disk: EFI_COMPROMISED_DATA at cmp's first differing byte" \
			"differ at byte $((want - 1))"
	else
		fail "compare: cmp finds no difference between golden.raw and chain.raw"
	fi
	# the AHCI disk: the golden disk, then 8 MiB of old data (not all zero):
	# a block device larger than the image holds it; its tail is not compared
	if tail -c +$((GOLDEN_BYTES + 1)) "$d/ahci.img" | cmp -s - /dev/zero; then
		fail "compare: the AHCI disk's old data past 64 MiB is all zero"
	else
		expect_log "$L" csize 0x0 "compare the golden VHDX with its deployed disk 8 MiB larger: sizes differ, the image's extent compared" \
			"sizes differ: $DP_AHCI is a block device of 75497472 bytes, fs0:\vm\golden.vhdx is 67108864 bytes; fs0:\vm\golden.vhdx's extent is compared, the device's last 8388608 bytes lie beyond it (not compared)" &&
			expect_log "$L" csize 0x0 "compare with the larger disk: the device holds the image, 8 MiB beyond it not compared" \
				"are identical over fs0:\vm\golden.vhdx's 67108864 bytes: the device holds the image; its last 8388608 bytes were not compared"
	fi

	# declined and ESC
	expect_log "$L" ddecl 0x15 "deploy, prompt answered 'no': EFI_ABORTED" "not confirmed; nothing written"
	if [ -f "$d/decl.mid" ] && cmp -s "$d/decl.mid" "$d/decl.sha"; then
		dp_unchanged "deploy declined" "$d" decl
	else
		fail "deploy declined: the disk changed before the answer (or the prompt never came)"
	fi
	expect_log "$L" desc 0x15 "ESC during a deploy: EFI_ABORTED" "aborted by ESC after" &&
		expect_log "$L" desc 0x15 "ESC during a deploy: the message says the first MiB is zero" "its first MiB is zero"
	dp_first_mib_zero "after ESC during a deploy" "$d/esc.img"

	# capture
	dp_unchanged "capture source (read-only)" "$d" cap
	expect_log "$L" kdyn 0x0 "capture a GPT+FAT disk into fs0:\\cap.vhdx (1 MiB blocks)" "image of" &&
		if out=$(out_of "$L" kdyn | sed -n 's/^image of [0-9]* bytes: \([0-9]*\) blocks stored, \([0-9]*\) read as zeros.*/\1 \2/p') &&
		   read -r size want <<<"$out" && [ "${want:-0}" -gt 0 ] && [ $((size + want)) = 48 ]; then
			pass "capture: $size of 48 blocks stored, $want that read as zeros not stored"
		else
			fail "capture: blocks stored / not stored: '$out' (48 blocks, some all zero)"
		fi &&
		if mcopy -n -i "$d/esp.img" ::cap.vhdx "$d/cap.vhdx" 2>/dev/null; then
			dp_validate_vhdx "capture into fs0:\\cap.vhdx" "$d/cap.vhdx" "$d/cap.img"
		else
			fail "capture: cap.vhdx is not on the ESP"
		fi
	expect_log "$L" kfixed 0x0 "capture -t fixed into fs0:\\capf.vhdx" "image of" &&
		if mcopy -n -i "$d/esp.img" ::capf.vhdx "$d/capf.vhdx" 2>/dev/null; then
			dp_validate_vhdx "capture -t fixed into fs0:\\capf.vhdx" "$d/capf.vhdx" "$d/cap.img"
			out=$("$BUILD/host/vhdx" info "$d/capf.vhdx" 2>&1)
			if grep -qx 'type: fixed' <<<"$out" && grep -qx 'blocks: fully_present 2' <<<"$out"; then
				pass "capture -t fixed: host vhdx info says fixed, both 32 MiB blocks FULLY_PRESENT"
			else
				fail "capture -t fixed: host vhdx info: $(grep -e '^type' -e '^blocks' <<<"$out")"
			fi
		else
			fail "capture: capf.vhdx is not on the ESP"
		fi
	expect_log "$L" kdev 0x0 "capture -O vhdx onto a raw device" "image of" && {
		size=$(out_of "$L" kdev | sed -n 's/^image of \([0-9]*\) bytes.*/\1/p' | head -n 1)
		if [ -n "$size" ]; then
			head -c "$size" "$d/capdev.img" > "$d/capdev.vhdx"
			dp_validate_vhdx "capture -O vhdx onto a raw device" "$d/capdev.vhdx" "$d/cap.img"
		else
			fail "capture onto a device: no 'image of N bytes' line to cut the image by"
		fi
	}
	expect_log "$L" kesc 0x15 "ESC during a capture into a file: EFI_ABORTED" "aborted by ESC" &&
		expect_log "$L" kesc 0x15 "ESC during a capture: the message says the partial file was removed" \
			"the partial file was removed"
	expect_log "$L" kfull 0x7 "capture into a file that outgrows its FAT volume: EFI_DEVICE_ERROR" \
		"(the volume is full); the partial file was removed"
	if mdir -i "$d/srcfat.img" ::full.vhdx >/dev/null 2>&1; then
		fail "capture onto a full volume: fs1:\\full.vhdx is still there"
	elif mcopy -n -i "$d/srcfat.img" ::golden.vhdx "$d/srcfat.vhdx" 2>/dev/null && cmp -s "$d/srcfat.vhdx" "$d/vm/golden.vhdx"; then
		pass "capture onto a full volume: no fs1:\\full.vhdx left, fs1:\\golden.vhdx intact"
	else
		fail "capture onto a full volume: fs1:\\golden.vhdx damaged"
	fi
	if mdir -i "$d/esp.img" ::capesc.vhdx >/dev/null 2>&1; then
		fail "ESC during a capture: fs0:\\capesc.vhdx is still on the ESP"
	else
		pass "ESC during a capture: no fs0:\\capesc.vhdx left on the ESP"
	fi

	# the second boots: only the deployed disk
	read -r BOOT_RC BOOT_SECONDS < "$d/m512/boot.result"
	marker_verify "deployed virtio-blk 512 disk (the VHDX)" "$d/m512" "PciRoot(0)/Pci(0x5,0x0)/"
	read -r BOOT_RC BOOT_SECONDS < "$d/mnvme/boot.result"
	marker_verify "deployed NVMe disk (the chain)" "$d/mnvme" "PciRoot(0)/Pci(0x7,0x0)/"
	read -r BOOT_RC BOOT_SECONDS < "$d/mahci/boot.result"
	marker_verify "deployed AHCI disk (72 MiB, old bytes past the image)" "$d/mahci" "PciRoot(0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/"
}

# ---- aarch64: one deploy, one capture, the deployed disk booted ----

# deploy_arm_setup DIR APP GOLDEN-DIR: the golden disk and VHDX deploy_setup
# made in GOLDEN-DIR
deploy_arm_setup() {
	local d=$1 app=$2 g=$3 n
	mkdir -p "$d/vm"
	cp "$g/golden.raw" "$d/golden.raw" && cp "$g/vm/golden.vhdx" "$d/vm/golden.vhdx" || return 1
	head -c $((64 << 20)) /dev/urandom > "$d/v512.img"
	n=$d/startup.nsh
	nsh_begin "$n"
	nsh_run "$n" adeploy convert -f -y 'fs0:\vm\golden.vhdx' "PciRoot(0x0)/Pci(0x5,0x0)"
	nsh_run "$n" acompare compare 'fs0:\vm\golden.vhdx' "PciRoot(0x0)/Pci(0x5,0x0)"
	nsh_run "$n" acapture convert -y -b 2M "PciRoot(0x0)/Pci(0x5,0x0)" 'fs0:\cap.vhdx'
	nsh_end "$n"
	make_esp "$d/esp.img" "$app" "$n" 65536 && mmd -i "$d/esp.img" ::vm &&
		mcopy -i "$d/esp.img" "$d/vm/golden.vhdx" ::vm || return 1
}

deploy_arm_boot() {
	local d=$1
	boot_aarch64 "$d" "$d/esp.img" \
		-drive "if=none,id=d1,format=raw,file=$d/v512.img" -device virtio-blk-pci,drive=d1,addr=0x5
	echo "$BOOT_RC $BOOT_SECONDS" > "$d/boot.result"
	boot_marker aarch64 "$d/mboot" \
		-drive "if=none,id=d1,format=raw,file=$d/v512.img" -device virtio-blk-pci,drive=d1,addr=0x5
	echo "$BOOT_RC $BOOT_SECONDS" > "$d/mboot/boot.result"
}

deploy_arm_verify() {
	local d=$1 L=$1/serial.txt
	read -r BOOT_RC BOOT_SECONDS < "$d/boot.result"
	echo "--- aarch64 deploy/capture boot: ${BOOT_SECONDS} s, qemu exit $BOOT_RC; log $L"
	if [ "$BOOT_RC" = 0 ] && grep -q '^=== acapture rc' "$L"; then
		pass "aarch64 deploy: AAVMF ran the deploy and the capture and powered off (${BOOT_SECONDS} s)"
	else
		fail "aarch64 deploy: the boot did not complete (qemu exit $BOOT_RC; 124 = timeout); see $L"
	fi
	expect_log "$L" adeploy 0x0 "aarch64: deploy the VHDX onto virtio-blk" "done: wrote" &&
		dp_deployed "aarch64: deploy onto virtio-blk" "$d/v512.img" "$d/golden.raw" -
	expect_log "$L" acompare 0x0 "aarch64: compare the VHDX with its deployed disk" "identical"
	expect_log "$L" acapture 0x0 "aarch64: capture the deployed disk into fs0:\\cap.vhdx" "image of" &&
		if mcopy -n -i "$d/esp.img" ::cap.vhdx "$d/cap.vhdx" 2>/dev/null; then
			dp_validate_vhdx "aarch64: capture into fs0:\\cap.vhdx" "$d/cap.vhdx" "$d/golden.raw"
		else
			fail "aarch64: cap.vhdx is not on the ESP"
		fi
	read -r BOOT_RC BOOT_SECONDS < "$d/mboot/boot.result"
	marker_verify "aarch64: deployed virtio-blk disk" "$d/mboot" "PciRoot(0)/Pci(0x5,0x0)/"
}
