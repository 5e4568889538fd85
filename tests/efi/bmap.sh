#!/bin/bash
# tests/efi/bmap.sh - issue 21 in vhdx.efi under OVMF (x86_64, TCG), in one
# boot, against oracles that are not ours: `bmap`, `verify --bmap`, and
# `convert --bmap` (a verified deploy, --resume).
#
# On the ESP: \s\fixed.vhdx (the sample win10-fixed-10M), manifests made on
# the host in \m (ours, bmaptool create's of qemu-img's raw, and broken
# ones), an old \o\fixed.bmap and a stale \o\fixed.bmap.tmp (both
# replaced); in \d the deploy image g.vhdx (8 MiB, 1 MiB blocks, data from
# byte 512 across the first MiB, 2 MiB at 2 MiB and 4 KiB at 5 MiB), a copy
# with one byte changed at 5 MiB + 100 (flip.vhdx), its bmap (the host
# tool's) and broken ones; in \c a differencing child.vhdx and its
# base.vhdx; in \r1..\r3 the states a power cut can leave of bmap's
# delete-and-rename of \rN\g.bmap, made with mtools.  Disks:
# Pci(0x5) the raw of fixed.vhdx deployed onto a 16 MiB disk whose tail
# holds random bytes; Pci(0x6) the same with one byte of a mapped range
# flipped; Pci(0x7) the same with a byte in a block the manifest leaves
# unmapped (these three read-only); Pci(0x8)..Pci(0x11) 16 MiB of old data
# (0xA5) for the deploys (d-*.img).
# Cases, bmap:
#   mkimg   bmap of the VHDX file: 0x0; byte-identical to the host's
#           `vhdx bmap` of it; `bmaptool copy --bmap` accepts it and copies
#           exactly qemu-img's raw; no .tmp left
#   mkdev   bmap of the deployed device: identical to the host's bmap of
#           the same bytes as a raw file
#   mksame  bmap onto its own source: 0x2
#   cpar cparx  bmap of the child onto its parent's file (as named, and
#           as \c\..\C\BASE.VHDX): 0x2, the host's line; the parent
#           unchanged, no base.vhdx.tmp; cok the child's bmap: 0x0, the
#           host's bytes
#   ttmp    bmap of \t\x.vhdx.tmp (a copy of base.vhdx) onto \t\x.vhdx:
#           its fixed temporary name is the source: 0x2, one line; the
#           source byte for byte unchanged, no x.vhdx; tpar the same for
#           \t2\child.vhdx, whose parent is \t2\p.vhdx.tmp, onto
#           \T2\.\P.VHDX (folded): the parent and child unchanged
#   vpart   verify with the partial g.bmap.tmp a cut left: 0x2
#   r1 r2 r3  bmap after a cut left old g.bmap + a partial .tmp / old + a
#           complete .tmp / a complete .tmp and no g.bmap: 0x0, g.bmap the
#           host's bytes, no .tmp left; r2 r3 say the whole .tmp was
#           renamed first, r1 not (cuts made by QEMU: tests/efi/bmapcut.sh)
#   r4 r5   bmap of \d\short.vhdx (g.vhdx cut short: its block at 5 MiB
#           outside the file, so the run fails reading, after the settle)
#           onto an old g.bmap beside a g.bmap.tmp that is the whole
#           manifest but for byte 0, overwritten (what efi_bmap_discard
#           leaves when a delete after a failed Flush is cut; the host
#           refuses it): r4 fails, no note, g.bmap still the old bytes, no
#           .tmp left; r5, the same with the .tmp whole (the control):
#           the note, g.bmap the .tmp's bytes
# verify:
#   vfile vdev vzeros vbt vbtfile  verify with our manifest and bmaptool's,
#           of the VHDX and of the device (its tail not verified): 0x0
#   vflip   a flipped byte: 0x21, the range named, both hashes
#   vchk    a range's chksum digit changed: 0x2 (BmapFileChecksum); resealed
#           (vchkseal): 0x21, that range
#   vtrunc  a truncated manifest: 0x2; vsum a wrong BmapFileChecksum: 0x2;
#   vother  another image's size: 0x2; vmissing no manifest: 0x2
#   vpinbad a wrong --bmap-sha256: 0x2; vpinok the right one: 0x0
#   vstray0 a byte in an unmapped block: 0x0 without --zeros; vstray 0x21
#           with --zeros, the block and byte named
# convert --bmap:
#   bgood   onto old data: 0x0, the disk reads as qemu-img reads the image
#   bresume --resume --json after that deploy: 0x0, the JSON object printed,
#           only the first MiB written, the other ranges kept
#   bjson   --json on a fresh disk: every range checked before it is written
#   bflip   flip.vhdx: 0x21 (EFI_COMPROMISED_DATA), the range and both
#           hashes named, the disk's first MiB zero
#   bpin    a wrong --bmap-sha256: 0x2, the disk untouched
#   bsum    a bmap whose BmapFileChecksum is wrong: 0x2, the disk untouched
#   bchk    a range's chksum changed, the file resealed: 0x21, that range and
#           both hashes named, the disk's first MiB zero
#   bedit   the range at 5 MiB moved one block on, resealed: 0x21 (the block
#           that holds data is now unmapped), the disk's first MiB zero
#   btrunc  a truncated bmap: 0x2, the disk untouched
#   bother  the bmap of an image of another size: 0x2, the disk untouched
#   rcut    a deploy of flip.vhdx cut by the mismatch at 5 MiB (0x21), then
#           rcutv verify of that disk: 0x21; rres convert --bmap --resume
#           --json from g.vhdx: 0x0, the disk reads as qemu-img reads the
#           image, fewer bytes written than bjson's full deploy
#   vesc    ESC sent during verify --zeros of a blank 64 GiB disk (Pci(0x12),
#           QEMU's null-co): 0x15 (EFI_ABORTED), "stopped (ESC)"
# AArch64 (AAVMF, one short boot beside the x86_64 one): abmap bmap of
# g.vhdx, the host's bytes; averify verify of g.vhdx: 0x0; aflip verify of
# flip.vhdx: 0x21, the range named.
# Prints PASS/FAIL lines and "N passed, M failed".
#
# `bash tests/efi/bmap.sh bench [MIB]` (not in make check; BENCHMARKS.md
# "UEFI verify"): one boot with a VHDX of MIB (64) MiB of random data on the
# ESP, each step timed on the host's clock from its markers on the serial
# line (and the rate of vhdx.efi's own progress line when it printed one):
# a read of a blank disk of that size (verify --zeros against a manifest
# with no range: read, tested for zeros, nothing hashed), the deploy
# (convert onto it), compare of the deployed disk with itself (two plain
# reads and a memcmp), verify of the deployed disk (a read and SHA-256),
# verify of the VHDX file.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
W=$BUILD/tests/efi/bmap-$$
. "$HERE/lib.sh"
APP=$BUILD/efi/x86_64/vhdx.efi
APP_ARM=$BUILD/efi/aarch64/vhdx.efi
V=$BUILD/host/vhdx
SAMPLES=${SAMPLES:-/work/shared/samples}
M=$((1024 * 1024))
DEV5='PciRoot(0x0)/Pci(0x5,0x0)'
DEV6='PciRoot(0x0)/Pci(0x6,0x0)'
DEV7='PciRoot(0x0)/Pci(0x7,0x0)'

finish() {
	if [ "$FAIL" -eq 0 ]; then
		find "$W" \( -name '*.img' -o -name '*.vhdx' -o -name '*.raw' -o -name '*.fd' \) ! -name serial.raw -delete 2>/dev/null
	fi
	echo "logs: $W"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

ok=1
need qemu-system-x86_64 qemu-img qemu-io mkfs.vfat mcopy mdir mmd bmaptool sha256sum timeout cmp python3 gzip ||
	ok=0
need_file "$OVMF_CODE" "Debian package ovmf" || ok=0
need_file "$APP" "make efi" || ok=0
need_file "$V" "make host" || ok=0
need_file "$SAMPLES/win10-fixed-10M.vhdx.gz" "the shared samples" || ok=0
if [ "${1:-}" != bench ]; then
	need qemu-system-aarch64 || ok=0
	need_file "$AAVMF_CODE" "Debian package qemu-efi-aarch64" || ok=0
	need_file "$APP_ARM" "make efi" || ok=0
fi
[ $ok = 1 ] || finish
for old in "$BUILD"/tests/efi/bmap-*; do
	[ -d "$old" ] || continue
	kill -0 "${old##*/bmap-}" 2>/dev/null || rm -rf "$old"
done
rm -rf "$W"
mkdir -p "$W"
cd "$W" || finish
. "$ROOT/tests/bmap_lib.sh"

# json TAG KEY: a value of the JSON object the app printed for TAG
json() {
	out_of serial.txt "$1" | grep '^{' | tail -1 | json_key "$2"
}

# -- the host side: bmap and verify's image, its raw, the manifests, the disks
setup_verify() {
	gzip -dc "$SAMPLES/win10-fixed-10M.vhdx.gz" >fixed.vhdx &&
		qemu-img convert -f vhdx -O raw fixed.vhdx fixed.raw &&
		"$V" bmap fixed.vhdx host.bmap >/dev/null &&
		bmaptool create fixed.raw -o bt.bmap 2>/dev/null || return 1
	# the deployed disk: the raw, then random bytes to 16 MiB
	cp fixed.raw dep.img && head -c $((16 * M - $(stat -c %s fixed.raw))) /dev/urandom >>dep.img &&
		"$V" bmap dep.img hostdev.bmap >/dev/null || return 1
	read -r FIRST LAST < <(python3 -S -c 'import re
a, b = re.search(r"> (\d+)-(\d+) </Range>", open("host.bmap").read()).groups()
print(a, b)')
	HOLE=$(python3 -S -c 'import re
t = open("host.bmap").read(); n = int(re.search(r"<BlocksCount> (\d+) ", t).group(1))
m = set()
for a, b in re.findall(r"> (\d+)(?:-(\d+))? </Range>", t): m.update(range(int(a), int(b or a) + 1))
print(min(set(range(n)) - m))')
	cp dep.img flip.img && flip_byte flip.img $((FIRST * 4096 + 100)) &&
		cp dep.img stray.img && printf 'x' | dd of=stray.img bs=1 seek=$((HOLE * 4096 + 7)) conv=notrunc status=none ||
		return 1
	# broken manifests
	CHK=$(edit_chksum host.bmap chk.bmap first) && cp chk.bmap chkseal.bmap && reseal chkseal.bmap &&
		truncate_bmap host.bmap trunc.bmap && bad_file_checksum host.bmap sum.bmap || return 1
	cmp -s sum.bmap host.bmap && return 1
	PIN=$(sha256_of host.bmap)
	BADPIN=$(sha256_of bt.bmap)
	printf 'an old manifest\n' >old.bmap
	printf 'a stale temporary file\n' >stale.tmp
	return 0
}

# -- the deploy image, a copy with one byte changed, its bmap, broken ones;
# the disks of old data
DISKS="good json flip pin sum chk edit trunc other cut"
setup_deploy() {
	mkdir -p d && "$V" create -q -s 8M -b 1M d/g.vhdx &&
		qemu-io -f vhdx -c "write -P 0x5a 512 1M" -c "write -P 0x77 2M 2M" -c "write -P 0xc3 5M 4096" d/g.vhdx \
			>/dev/null && cp d/g.vhdx d/flip.vhdx &&
		qemu-io -f vhdx -c "write -P 0x3c $((5 * M + 100)) 1" d/flip.vhdx >/dev/null &&
		qemu-img convert -f vhdx -O raw d/g.vhdx g.raw && "$V" bmap d/g.vhdx d/g.bmap >/dev/null || return 1
	RANGES=$(grep -c "</Range>" d/g.bmap)
	bad_file_checksum d/g.bmap d/sum.bmap &&
		# the last range's (block 1280, 5 MiB) chksum: its first digit changed
		DCHK=$(edit_chksum d/g.bmap d/chk.bmap last) && reseal d/chk.bmap &&
		sed 's/"> 1280 <\/Range>/"> 1281 <\/Range>/' d/g.bmap >d/edit.bmap && reseal d/edit.bmap &&
		truncate_bmap d/g.bmap d/trunc.bmap &&
		"$V" create -q -s 16M -b 1M other16.vhdx && "$V" bmap other16.vhdx d/other.bmap >/dev/null || return 1
	! cmp -s d/chk.bmap d/g.bmap && ! cmp -s d/edit.bmap d/g.bmap || return 1
	for d in $DISKS; do
		head -c $((16 * M)) /dev/zero | tr '\0' '\245' >"d-$d.img" && sha256_of "d-$d.img" >"d-$d.sha" || return 1
	done
}

# -- a chain (bmap must not write onto its parent), and the states a power
# cut can leave of bmap's OUT.bmap.tmp / delete / rename (efi_bmap.c)
setup_cuts() {
	mkdir -p c && "$V" create -q -s 8M -b 1M c/base.vhdx &&
		qemu-io -f vhdx -c "write -P 0x61 1M 64k" c/base.vhdx >/dev/null &&
		(cd c && "$V" create -q -t differencing --parent base.vhdx child.vhdx) &&
		"$V" bmap c/child.vhdx child.bmap >/dev/null || return 1
	BASE_SUM=$(sha256_of c/base.vhdx)
	# OUT.tmp, bmap's temporary name, is the source / its parent
	mkdir -p t t2 && cp c/base.vhdx t/x.vhdx.tmp && cp c/base.vhdx t2/p.vhdx.tmp &&
		(cd t2 && "$V" create -q -t differencing --parent p.vhdx.tmp child.vhdx) || return 1
	head -c $(($(stat -c %s d/g.bmap) * 2 / 5)) d/g.bmap >partial.tmp
	mkdir -p r1 r2 r3 &&
		cp old.bmap r1/g.bmap && cp partial.tmp r1/g.bmap.tmp &&
		cp old.bmap r2/g.bmap && cp d/g.bmap r2/g.bmap.tmp &&
		cp d/g.bmap r3/g.bmap.tmp || return 1
	# a whole manifest spoiled at byte 0, and the image cut short
	mkdir -p r4 r5 && cp old.bmap r4/g.bmap && { printf '\0'; tail -c +2 d/g.bmap; } >r4/g.bmap.tmp &&
		cp old.bmap r5/g.bmap && cp d/g.bmap r5/g.bmap.tmp &&
		[ "$(stat -c %s r4/g.bmap.tmp)" = "$(stat -c %s d/g.bmap)" ] &&
		! "$V" verify --bmap r4/g.bmap.tmp d/g.vhdx >/dev/null 2>&1 &&
		head -c $(($(stat -c %s d/g.vhdx) - M)) d/g.vhdx >d/short.vhdx &&
		! "$V" bmap d/short.vhdx short.bmap >/dev/null 2>&1
}

# -- ESC: a manifest with no range of 64 GiB for the blank disk (QEMU's
# null-co driver: zeros, no file to read): verify --zeros reads it all
# (20 s or more under TCG), so ESC lands mid-read
setup_esc() {
	truncate -s 64G esc.img && "$V" bmap esc.img empty.bmap >/dev/null && rm -f esc.img
}
bench() {
	local mib=${1:-64} tag
	head -c $((mib * M)) /dev/urandom >big.raw && "$V" convert -q big.raw big.vhdx &&
		"$V" bmap big.vhdx big.bmap >/dev/null && truncate -s $((mib * M)) blank.img &&
		"$V" bmap blank.img empty.bmap >/dev/null 2>&1 || { fail "bench setup"; finish; }
	grep -q '<MappedBlocksCount> 0 ' empty.bmap || { fail "bench setup: empty.bmap maps blocks"; finish; }
	N=startup.nsh
	nsh_begin $N
	for r in 1 2; do
		nsh_run $N "read-$r" verify --zeros --bmap 'fs0:\empty.bmap' "$DEV5"
	done
	nsh_run $N deploy convert -f -y 'fs0:\big.vhdx' "$DEV5"
	for r in 1 2; do
		nsh_run $N "compare-$r" compare "$DEV5" "$DEV5"
		nsh_run $N "verify-$r" verify --bmap 'fs0:\big.bmap' "$DEV5"
		nsh_run $N "vfile-$r" verify --bmap 'fs0:\big.bmap' 'fs0:\big.vhdx'
	done
	nsh_end $N
	make_esp esp.img "$APP" $N $(((mib + 40) * 1024)) && mcopy -i esp.img big.vhdx empty.bmap big.bmap :: ||
		{ fail "bench: cannot build the ESP"; finish; }
	echo "booting OVMF (x86_64) under TCG: the bmap bench, $mib MiB..."
	# the host's clock on each serial line as it arrives (0.1 s or better):
	# a step's time from its begin marker to its rc marker
	: >serial.raw
	tail -n +1 -F serial.raw 2>/dev/null | python3 -u -c 'import sys, time
for l in sys.stdin: print("%.3f %s" % (time.monotonic(), l.rstrip()), flush=True)' >stamps.txt &
	local stamper=$!
	boot_x86 "$W" esp.img -drive "if=none,id=v5,format=raw,file=blank.img" -device virtio-blk-pci,drive=v5,addr=0x5
	sleep 1
	kill $stamper 2>/dev/null
	pkill -P $stamper 2>/dev/null
	echo "boot: $BOOT_SECONDS s, qemu exit $BOOT_RC"
	echo "| step | status | seconds (host clock, marker to marker) | MiB/s | vhdx.efi's progress line MiB/s |"
	echo "|---|---|---|---|---|"
	for tag in read-1 read-2 deploy compare-1 verify-1 vfile-1 compare-2 verify-2 vfile-2; do
		local t0 t1
		t0=$(grep -a "=== $tag begin" stamps.txt | head -1 | cut -d' ' -f1)
		t1=$(grep -a "=== $tag rc" stamps.txt | head -1 | cut -d' ' -f1)
		python3 -S -c 'import sys
t0, t1, mib = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print("| %s | %s | %.2f | %.1f | %s |" % (sys.argv[4], sys.argv[5], t1 - t0, mib / (t1 - t0), sys.argv[6] or "-"))' \
			"${t0:-0}" "${t1:-1}" "$mib" "$tag" "$(rc_of serial.txt $tag)" \
			"$(out_of serial.txt $tag | grep -o '[0-9.]* MiB/s, done' | tail -1 | cut -d' ' -f1)"
	done
	cmp -s blank.img big.raw && pass "bench: the deployed disk is the raw" || fail "bench: the deployed disk differs"
	finish
}

[ "${1:-}" = bench ] && bench "${2:-64}"

setup_verify || { fail "host setup: the image, its raw, the manifests and the disks"; finish; }
setup_deploy || { fail "host setup: the deploy image, its bmap, the broken ones, the disks (vhdx, qemu-io, qemu-img)"; finish; }
setup_esc || { fail "host setup: the blank disk and its empty manifest"; finish; }
setup_cuts || { fail "host setup: the chain, the cut states of a bmap's rename"; finish; }
DP=()
for i in 8 9 A B C D E F 10 11; do
	DP+=("PciRoot(0x0)/Pci(0x$i,0x0)")
done

N=startup.nsh
nsh_begin $N
nsh_run $N mkimg bmap 'fs0:\s\fixed.vhdx' 'fs0:\o\fixed.bmap'
nsh_run $N mkdev bmap "$DEV5" 'fs0:\o\dev.bmap'
nsh_run $N mksame bmap 'fs0:\s\fixed.vhdx' 'fs0:\s\fixed.vhdx'
nsh_run $N cpar bmap 'fs0:\c\child.vhdx' 'fs0:\c\base.vhdx'
nsh_run $N cparx bmap 'fs0:\c\child.vhdx' 'fs0:\c\..\C\BASE.VHDX'
nsh_run $N ttmp bmap 'fs0:\t\x.vhdx.tmp' 'fs0:\t\x.vhdx'
nsh_run $N tpar bmap 'fs0:\t2\child.vhdx' 'fs0:\T2\.\P.VHDX'
nsh_run $N cok bmap 'fs0:\c\child.vhdx' 'fs0:\c\child.bmap'
nsh_run $N vpart verify --bmap 'fs0:\r1\g.bmap.tmp' 'fs0:\d\g.vhdx'
for r in r1 r2 r3; do
	nsh_run $N $r bmap 'fs0:\d\g.vhdx' "fs0:\\$r\\g.bmap"
done
for r in r4 r5; do
	nsh_run $N $r bmap 'fs0:\d\short.vhdx' "fs0:\\$r\\g.bmap"
done
nsh_run $N vfile verify --bmap 'fs0:\m\host.bmap' 'fs0:\s\fixed.vhdx'
nsh_run $N vdev verify --bmap 'fs0:\m\host.bmap' "$DEV5"
nsh_run $N vzeros verify --zeros --bmap 'fs0:\m\host.bmap' "$DEV5"
nsh_run $N vbt verify --bmap 'fs0:\m\bt.bmap' "$DEV5"
nsh_run $N vbtfile verify --zeros --bmap 'fs0:\m\bt.bmap' 'fs0:\s\fixed.vhdx'
nsh_run $N vflip verify --bmap 'fs0:\m\host.bmap' "$DEV6"
nsh_run $N vchk verify --bmap 'fs0:\m\chk.bmap' "$DEV5"
nsh_run $N vchkseal verify --bmap 'fs0:\m\chkseal.bmap' "$DEV5"
nsh_run $N vtrunc verify --bmap 'fs0:\m\trunc.bmap' "$DEV5"
nsh_run $N vsum verify --bmap 'fs0:\m\sum.bmap' "$DEV5"
nsh_run $N vother verify --bmap 'fs0:\d\other.bmap' 'fs0:\s\fixed.vhdx'
nsh_run $N vmissing verify --bmap 'fs0:\m\none.bmap' "$DEV5"
nsh_run $N vpinbad verify --bmap-sha256 "$BADPIN" --bmap 'fs0:\m\host.bmap' "$DEV5"
nsh_run $N vpinok verify --bmap-sha256 "$PIN" --bmap 'fs0:\m\host.bmap' "$DEV5"
nsh_run $N vstray0 verify --bmap 'fs0:\m\host.bmap' "$DEV7"
nsh_run $N vstray verify --zeros --bmap 'fs0:\m\host.bmap' "$DEV7"
nsh_run $N bgood convert -f -y --bmap 'fs0:\d\g.bmap' 'fs0:\d\g.vhdx' "${DP[0]}"
nsh_run $N bresume convert -f -y --resume --json --bmap 'fs0:\d\g.bmap' 'fs0:\d\g.vhdx' "${DP[0]}"
nsh_run $N bjson convert -f -y --json --bmap 'fs0:\d\g.bmap' 'fs0:\d\g.vhdx' "${DP[1]}"
nsh_run $N bflip convert -f -y --bmap 'fs0:\d\g.bmap' 'fs0:\d\flip.vhdx' "${DP[2]}"
nsh_run $N bpin convert -f -y --bmap 'fs0:\d\g.bmap' --bmap-sha256 "$(printf '%064d' 7)" 'fs0:\d\g.vhdx' "${DP[3]}"
nsh_run $N bsum convert -f -y --bmap 'fs0:\d\sum.bmap' 'fs0:\d\g.vhdx' "${DP[4]}"
nsh_run $N bchk convert -f -y --bmap 'fs0:\d\chk.bmap' 'fs0:\d\g.vhdx' "${DP[5]}"
nsh_run $N bedit convert -f -y --bmap 'fs0:\d\edit.bmap' 'fs0:\d\g.vhdx' "${DP[6]}"
nsh_run $N btrunc convert -f -y --bmap 'fs0:\d\trunc.bmap' 'fs0:\d\g.vhdx' "${DP[7]}"
nsh_run $N bother convert -f -y --bmap 'fs0:\d\other.bmap' 'fs0:\d\g.vhdx' "${DP[8]}"
nsh_run $N rcut convert -f -y --json --bmap 'fs0:\d\g.bmap' 'fs0:\d\flip.vhdx' "${DP[9]}"
nsh_run $N rcutv verify --bmap 'fs0:\d\g.bmap' "${DP[9]}"
nsh_run $N rres convert -f -y --resume --json --bmap 'fs0:\d\g.bmap' 'fs0:\d\g.vhdx' "${DP[9]}"
nsh_run $N vesc verify --zeros --bmap 'fs0:\m\empty.bmap' 'PciRoot(0x0)/Pci(0x12,0x0)'
nsh_end $N

# the AArch64 boot, beside the x86_64 one
A=$W/arm
mkdir -p "$A"
NA=$A/startup.nsh
nsh_begin "$NA"
nsh_run "$NA" abmap bmap 'fs0:\g.vhdx' 'fs0:\a.bmap'
nsh_run "$NA" averify verify --bmap 'fs0:\g.bmap' 'fs0:\g.vhdx'
nsh_run "$NA" aflip verify --bmap 'fs0:\g.bmap' 'fs0:\flip.vhdx'
nsh_end "$NA"
{ make_esp "$A/esp.img" "$APP_ARM" "$NA" && mcopy -i "$A/esp.img" d/g.vhdx d/g.bmap d/flip.vhdx ::; } ||
	{ fail "cannot build the AArch64 ESP"; finish; }

{ make_esp esp.img "$APP" $N 65536 &&
	mmd -i esp.img ::s ::o ::m ::d ::c ::t ::t2 ::r1 ::r2 ::r3 ::r4 ::r5 &&
	mcopy -i esp.img fixed.vhdx ::s/fixed.vhdx &&
	mcopy -i esp.img old.bmap ::o/fixed.bmap &&
	mcopy -i esp.img stale.tmp ::o/fixed.bmap.tmp &&
	for f in host bt chk chkseal trunc sum empty; do mcopy -i esp.img $f.bmap ::m/$f.bmap || exit 1; done &&
	for f in g.vhdx flip.vhdx short.vhdx g.bmap sum.bmap chk.bmap edit.bmap trunc.bmap other.bmap; do
		mcopy -i esp.img d/$f ::d/$f || exit 1
	done &&
	mcopy -i esp.img c/base.vhdx c/child.vhdx ::c &&
	mcopy -i esp.img t/x.vhdx.tmp ::t && mcopy -i esp.img t2/p.vhdx.tmp t2/child.vhdx ::t2 &&
	for r in r1 r2 r3 r4 r5; do mcopy -i esp.img $r/* ::$r || exit 1; done; } ||
	{ fail "cannot build the ESP"; finish; }
dep_sum=$(sha256_of dep.img)

QARGS=(-global ide-hd.bootindex=1
	-drive "if=none,id=v5,format=raw,file=dep.img,readonly=on" -device virtio-blk-pci,drive=v5,addr=0x5
	-drive "if=none,id=v6,format=raw,file=flip.img,readonly=on" -device virtio-blk-pci,drive=v6,addr=0x6
	-drive "if=none,id=v7,format=raw,file=stray.img,readonly=on" -device virtio-blk-pci,drive=v7,addr=0x7)
i=0
for d in $DISKS; do
	QARGS+=(-drive "if=none,id=d$i,format=raw,file=d-$d.img" -device "virtio-blk-pci,drive=d$i,addr=$(printf 0x%x $((8 + i)))")
	i=$((i + 1))
done
QARGS+=(-drive "if=none,id=esc,driver=null-co,size=64G,read-zeroes=on,readonly=on"
	-device virtio-blk-pci,drive=esc,addr=0x12)
echo "booting OVMF (x86_64) and AAVMF (aarch64) under TCG: bmap, verify, convert --bmap..."
(
	boot_aarch64 "$A" "$A/esp.img"
	echo "$BOOT_RC $BOOT_SECONDS" >"$A/boot.result"
) &
ARM_PID=$!
boot_x86_start "$W" esp.img "${QARGS[@]}"
# a key at the shell's countdown starts startup.nsh at once (5 s saved)
wait_for "$W" "any other key to continue" 120 && send_keys ' '
# ESC once the verify of the blank disk shows its progress line (sent
# earlier, the shell could take it; the firmware's terminal holds a lone
# ESC back about 2 s, to tell it from a sequence)
esc_sent=0
vesc_progress() {
	local i
	for ((i = 0; i < 600; i++)); do
		tr -d '\r' <serial.raw | sed -n '/=== vesc begin/,$p' | grep -qF "ESC aborts" && return 0
		kill -0 "$BOOT_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
if wait_for "$W" "=== vesc begin" $((BOOT_TIMEOUT - 30)) && vesc_progress && send_keys '\033'; then
	esc_sent=1
	wait_for "$W" "=== vesc rc" 60
	boot_x86_wait "$W"
else
	boot_x86_wait "$W" kill
fi
if [ "$BOOT_RC" = 0 ] && grep -q '^=== vesc rc' serial.txt; then
	pass "OVMF booted, ran startup.nsh to the end and powered off (${BOOT_SECONDS} s)"
else
	fail "the boot did not complete (qemu exit $BOOT_RC; 124 = timeout); see $W/serial.txt"
fi
wait $ARM_PID
read -r arm_rc arm_s <"$A/boot.result"
if [ "$arm_rc" = 0 ] && grep -q '^=== aflip rc' "$A/serial.txt"; then
	pass "AAVMF booted, ran startup.nsh to the end and powered off (${arm_s} s)"
else
	fail "the AArch64 boot did not complete (qemu exit $arm_rc; 124 = timeout); see $A/serial.txt"
fi

# -- bmap in the UEFI app against the host's and bmaptool
expect mkimg 0x0 "bmap of a VHDX file on a volume" "fs0:\\o\\fixed.bmap: "
rm -f efi.bmap efidev.bmap copy.img
mcopy -i esp.img ::o/fixed.bmap efi.bmap 2>/dev/null
cmp -s efi.bmap host.bmap && pass "mkimg: vhdx.efi's bmap is byte-identical to the host's" ||
	fail "mkimg: vhdx.efi's bmap differs from the host's: $(cmp efi.bmap host.bmap 2>&1 | head -1)"
if bmaptool copy --bmap efi.bmap fixed.raw copy.img >bt.txt 2>&1 && cmp -s copy.img fixed.raw; then
	pass "mkimg: bmaptool copy accepts vhdx.efi's bmap (checksums verified) and copies qemu-img's raw"
else
	fail "mkimg: bmaptool copy: $(grep -i error bt.txt | head -2)"
fi
mdir -b -i esp.img ::o >odir.txt 2>&1
grep -qi 'fixed.bmap.tmp' odir.txt && fail "mkimg: a .tmp file is left in \\o: $(tr '\n' ' ' <odir.txt)" ||
	pass "mkimg: the old manifest replaced, no temporary file left"
expect mkdev 0x0 "bmap of a block device (device path)"
mcopy -i esp.img ::o/dev.bmap efidev.bmap 2>/dev/null
cmp -s efidev.bmap hostdev.bmap && pass "mkdev: the device's bmap equals the host's bmap of the same bytes" ||
	fail "mkdev: the device's bmap differs from the host's: $(cmp efidev.bmap hostdev.bmap 2>&1 | head -1)"
expect mksame 0x2 "bmap onto its own source is refused" "is the source"

# -- bmap onto a parent of the source's chain: the host's rule and line
for tag in cpar cparx; do
	expect $tag 0x2 "bmap of a child onto its parent's file ($(out_of serial.txt $tag | grep -o 'fs0:[^:]*' | head -1))" \
		"is the source (or a level of its chain), not a place for its bmap"
done
rm -f base.back
mcopy -i esp.img ::c/base.vhdx base.back 2>/dev/null
[ "$(sha256_of base.back)" = "$BASE_SUM" ] && pass "cpar: the parent is byte for byte unchanged" ||
	fail "cpar: the parent CHANGED"
mdir -b -i esp.img ::c >cdir.txt 2>&1
! grep -qi '\.tmp' cdir.txt && grep -qi 'base.vhdx' cdir.txt && pass "cpar: no temporary file written beside it" ||
	fail "cpar: \\c holds: $(tr '\n' ' ' <cdir.txt)"
# -- bmap whose fixed temporary name OUT.tmp is the source or its parent
for tag in ttmp tpar; do
	expect $tag 0x2 "bmap onto OUT whose OUT.tmp is the $([ $tag = ttmp ] && echo source || echo "source's parent")" \
		"$([ $tag = ttmp ] && echo x.vhdx || echo P.VHDX).tmp is the source (or a level of its chain)"
	n=$(out_of serial.txt $tag | sed '/^[[:space:]]*$/d' | wc -l)
	[ "$n" = 1 ] && pass "$tag: the refusal is one line" || fail "$tag: $n lines: $(out_of serial.txt $tag | head -c 400)"
done
for f in t/x.vhdx.tmp t2/p.vhdx.tmp t2/child.vhdx; do
	rm -f back.vhdx
	mcopy -i esp.img "::$f" back.vhdx 2>/dev/null
	cmp -s back.vhdx "$f" && pass "ttmp tpar: \\${f//\//\\} is byte for byte unchanged" ||
		fail "ttmp tpar: \\${f//\//\\} CHANGED or gone"
done
for t in t t2; do
	have=$(mdir -b -i esp.img "::$t" 2>&1 | sed 's|.*/||' | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
	want=$(ls "$t" | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
	[ "$have" = "$want" ] && pass "ttmp tpar: \\$t holds only what it held ($have)" ||
		fail "ttmp tpar: \\$t holds '$have', not '$want'"
done
expect cok 0x0 "bmap of the child (through its chain)"
rm -f efichild.bmap
mcopy -i esp.img ::c/child.bmap efichild.bmap 2>/dev/null
cmp -s efichild.bmap child.bmap && pass "cok: the child's bmap equals the host's" ||
	fail "cok: the child's bmap differs from the host's: $(cmp efichild.bmap child.bmap 2>&1 | head -1)"

# -- bmap after a power cut of its delete-and-rename: each state a cut can
# leave (made with mtools), the next run ends with the whole manifest
expect vpart 0x2 "verify with the partial OUT.bmap.tmp a cut left: refused"
for r in r1 r2 r3; do
	case $r in
	r1) what="old g.bmap and a partial g.bmap.tmp" ;;
	r2) what="old g.bmap and a complete g.bmap.tmp" ;;
	r3) what="a complete g.bmap.tmp and no g.bmap" ;;
	esac
	expect $r 0x0 "bmap after a cut left $what" "fs0:\\$r\\g.bmap: "
	rm -f "$r.got"
	mcopy -i esp.img "::$r/g.bmap" "$r.got" 2>/dev/null
	mdir -b -i esp.img "::$r" >"$r.dir" 2>&1
	if cmp -s "$r.got" d/g.bmap && ! grep -qi '\.tmp' "$r.dir"; then
		pass "$r: g.bmap is the host's bmap byte for byte, no .tmp left"
	else
		fail "$r: g.bmap $(cmp "$r.got" d/g.bmap 2>&1 | head -1); \\$r holds $(tr '\n' ' ' <"$r.dir")"
	fi
	# a whole .tmp (r2, r3): the rename it was cut in finished first
	note=0
	out_of serial.txt $r | grep -qF "a cut left it whole as \\$r\\g.bmap.tmp, renamed first" && note=1
	[ $note = $([ $r = r1 ] && echo 0 || echo 1) ] && pass "$r: the note on a whole .tmp $([ $note = 1 ] || echo "not ")printed" ||
		fail "$r: the note on a whole .tmp: printed $note: $(out_of serial.txt $r)"
done
# -- a .tmp spoiled at byte 0 is no whole manifest: never renamed over
# g.bmap (r4); the control r5 (the same, whole) is
for r in r4 r5; do
	case $r in
	r4) what="a g.bmap.tmp whole but for byte 0" want=old.bmap note=0 ;;
	r5) what="a whole g.bmap.tmp (the control)" want=d/g.bmap note=1 ;;
	esac
	expect $r 0xA "bmap of an image cut short, beside $what: fails reading" "cannot read offset $((5 * M))"
	rm -f "$r.got"
	mcopy -i esp.img "::$r/g.bmap" "$r.got" 2>/dev/null
	mdir -b -i esp.img "::$r" >"$r.dir" 2>&1
	if cmp -s "$r.got" $want && ! grep -qi '\.tmp' "$r.dir"; then
		pass "$r: g.bmap is $([ $r = r4 ] && echo "still the old manifest" || echo "the .tmp's bytes (renamed first)"), no .tmp left"
	else
		fail "$r: g.bmap is not $want: $(cmp "$r.got" $want 2>&1 | head -1); \\$r holds $(tr '\n' ' ' <"$r.dir")"
	fi
	got=0
	out_of serial.txt $r | grep -qF "a cut left it whole as \\$r\\g.bmap.tmp, renamed first" && got=1
	[ $got = $note ] && pass "$r: the note on a whole .tmp $([ $got = 1 ] || echo "not ")printed" ||
		fail "$r: the note on a whole .tmp: printed $got: $(out_of serial.txt $r)"
done

# -- verify
expect vfile 0x0 "verify our manifest against the VHDX file" "matches fs0:\\m\\host.bmap"
expect vdev 0x0 "verify the deployed disk, its tail beyond the image not verified" "bytes lie beyond the image"
expect vzeros 0x0 "verify --zeros the deployed disk" "the other blocks read as zeros"
expect vbt 0x0 "verify bmaptool create's manifest against the deployed disk" "matches fs0:\\m\\bt.bmap"
expect vbtfile 0x0 "verify --zeros bmaptool create's manifest against the VHDX file" "matches"
expect vflip 0x21 "a flipped byte in a mapped range: EFI_COMPROMISED_DATA, the range named" \
	"range $FIRST-$LAST (bytes $((FIRST * 4096))-"
out_of serial.txt vflip | grep -qE "expected sha256 [0-9a-f]{64}, found [0-9a-f]{64}" &&
	pass "vflip: both hashes named" || fail "vflip: not both hashes: $(out_of serial.txt vflip)"
expect vchk 0x2 "a range's chksum changed, the file checksum not: refused" "BmapFileChecksum does not match"
expect vchkseal 0x21 "a range's chksum changed and resealed: that range" "expected sha256 $CHK, found"
expect vtrunc 0x2 "a truncated manifest: refused" "truncated"
expect vsum 0x2 "a wrong BmapFileChecksum: refused" "BmapFileChecksum does not match"
expect vother 0x2 "another image's manifest (16 MiB): refused" "differs from"
expect vmissing 0x2 "no manifest: refused" "cannot open"
expect vpinbad 0x2 "a wrong --bmap-sha256: refused" "not the --bmap-sha256 given"
expect vpinok 0x0 "the right --bmap-sha256" "matches"
expect vstray0 0x0 "a byte in an unmapped block, without --zeros" "matches"
expect vstray 0x21 "a byte in an unmapped block, --zeros: the block named" \
	"block $HOLE (byte $((HOLE * 4096 + 7))) is not in the bmap's ranges"
[ "$(sha256_of dep.img)" = "$dep_sum" ] && pass "the deployed disk is unchanged (verify only reads)" ||
	fail "the deployed disk changed"

# -- convert --bmap
expect bgood 0x0 "convert --bmap onto old data" "every range read, hashed and compared before it is written"
cmp -s -n $((8 * M)) d-good.img g.raw && pass "bgood: the disk reads as qemu-img reads the image" ||
	fail "bgood: the disk differs: $(cmp -n $((8 * M)) d-good.img g.raw 2>&1 | head -1)"
expect bresume 0x0 "--resume after a completed deploy"
written=$(json bresume bytes_written)
kept=$(json bresume bmap.kept_by_resume)
[ "$written" = $M ] && [ -n "$kept" ] && [ "$kept" -gt 0 ] &&
	pass "bresume: --json says $written bytes written (the first MiB), $kept of $RANGES ranges kept" ||
	fail "bresume: --json: written '$written', kept '$kept'; $(out_of serial.txt bresume | tail -c 400)"
expect bjson 0x0 "--json on a fresh disk"
full=$(json bjson bytes_written)
[ "$(json bjson result)" = ok ] && [ "$(json bjson bmap.checked_before_write)" = "$RANGES" ] &&
	[ "$(json bjson bmap.sha256)" = "$(sha256_of d/g.bmap)" ] &&
	pass "bjson: the JSON object: ok, $RANGES ranges checked before writing, the manifest's sha256" ||
	fail "bjson: $(out_of serial.txt bjson | tail -c 600)"
cmp -s -n $((8 * M)) d-json.img g.raw && pass "bjson: the disk reads as the image" || fail "bjson: the disk differs"
expect bflip 0x21 "a byte changed in the image" "does not match fs0:\\d\\g.bmap: expected sha256"
expect bpin 0x2 "a wrong --bmap-sha256" "not the --bmap-sha256 given"
expect bsum 0x2 "a wrong BmapFileChecksum" "BmapFileChecksum does not match"
expect bchk 0x21 "a range's chksum changed (resealed)" "expected sha256 $DCHK"
expect bedit 0x21 "a range moved one block on (resealed)" "fs0:\\d\\edit.bmap"
for d in flip chk edit; do
	cmp -s -n $M "d-$d.img" /dev/zero && pass "b$d: the disk's first MiB is zero" ||
		fail "b$d: the disk's first MiB is not zero"
done
expect btrunc 0x2 "a truncated bmap" "truncated"
expect bother 0x2 "the bmap of an image of another size" "differs from"
echo "bflip said: $(out_of serial.txt bflip | grep -v '^ ' | tail -2)"
echo "bresume said: $(out_of serial.txt bresume | grep '^{')"
echo "bedit said: $(out_of serial.txt bedit | grep '^vhdx' | tail -1)"
for d in pin sum trunc other; do
	sha256_of "d-$d.img" | cmp -s - "d-$d.sha" && pass "$d: disk byte-for-byte untouched" || fail "$d: disk CHANGED"
done

# -- a deploy cut by a mismatch, resumed from the good image in the same boot
expect rcut 0x21 "a deploy cut by the tampered range at 5 MiB" "range 1280-1280"
cutw=$(json rcut bytes_written)
expect rcutv 0x21 "verify of the cut disk: it does not match"
expect rres 0x0 "convert --bmap --resume of the cut disk from the good image"
resw=$(json rres bytes_written)
kept=$(json rres bmap.kept_by_resume)
cmp -s -n $((8 * M)) d-cut.img g.raw && pass "rres: the resumed disk reads as qemu-img reads the image, byte for byte" ||
	fail "rres: the resumed disk differs: $(cmp -n $((8 * M)) d-cut.img g.raw 2>&1 | head -1)"
[ -n "$resw" ] && [ -n "$full" ] && [ -n "$kept" ] && [ "$resw" -lt "$full" ] && [ "$kept" -gt 0 ] &&
	pass "rres: $resw bytes written against $full for a full deploy (the cut one wrote $cutw), $kept of $RANGES ranges kept" ||
	fail "rres: written '$resw', full '$full', kept '$kept': $(out_of serial.txt rres | grep '^{')"

# -- ESC, and AArch64
if [ $esc_sent = 1 ]; then
	expect vesc 0x15 "ESC during verify of a blank 64 GiB disk: EFI_ABORTED" "stopped (ESC)"
else
	fail "vesc: the verify never began: no ESC sent"
fi
expect abmap 0x0 "AArch64: bmap of g.vhdx" "fs0:\\a.bmap: " "$A/serial.txt"
rm -f arm.bmap
mcopy -i "$A/esp.img" ::a.bmap arm.bmap 2>/dev/null
cmp -s arm.bmap d/g.bmap && pass "abmap: the AArch64 bmap is the host's byte for byte" ||
	fail "abmap: the AArch64 bmap differs from the host's: $(cmp arm.bmap d/g.bmap 2>&1 | head -1)"
expect averify 0x0 "AArch64: verify of g.vhdx" "matches fs0:\\g.bmap" "$A/serial.txt"
expect aflip 0x21 "AArch64: verify of flip.vhdx, the range named" "range 1280-1280" "$A/serial.txt"
finish
