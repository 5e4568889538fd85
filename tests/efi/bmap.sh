#!/bin/bash
# tests/efi/bmap.sh - issue 21 in vhdx.efi: `bmap` and `verify` under OVMF
# (x86_64, TCG), in one boot, against oracles that are not ours.
#
# On the ESP: \s\fixed.vhdx (the sample win10-fixed-10M), manifests made on
# the host (ours, bmaptool create's of qemu-img's raw, and broken ones), an
# old \o\fixed.bmap and a stale \o\fixed.bmap.tmp (both replaced).  Disks:
# Pci(0x5) the raw deployed onto a 16 MiB disk whose tail holds random
# bytes; Pci(0x6) the same with one byte of a mapped range flipped;
# Pci(0x7) the same with a byte in a block the manifest leaves unmapped.
# Cases:
#   mkimg   bmap of the VHDX file: 0x0; byte-identical to the host's
#           `vhdx bmap` of it; `bmaptool copy --bmap` accepts it and copies
#           exactly qemu-img's raw; no .tmp left
#   mkdev   bmap of the deployed device: identical to the host's bmap of
#           the same bytes as a raw file
#   mksame  bmap onto its own source: 0x2
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
V=$BUILD/host/vhdx
SAMPLES=${SAMPLES:-/work/shared/samples}
M=$((1024 * 1024))
DEV5='PciRoot(0x0)/Pci(0x5,0x0)'
DEV6='PciRoot(0x0)/Pci(0x6,0x0)'
DEV7='PciRoot(0x0)/Pci(0x7,0x0)'

finish() {
	if [ "$FAIL" -eq 0 ]; then
		find "$W" \( -name '*.img' -o -name '*.vhdx' -o -name '*.raw' -o -name '*.fd' \) -delete 2>/dev/null
	fi
	echo "logs: $W"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

ok=1
need qemu-system-x86_64 qemu-img mkfs.vfat mcopy mdir bmaptool sha256sum timeout cmp python3 gzip || ok=0
need_file "$OVMF_CODE" "Debian package ovmf" || ok=0
need_file "$APP" "make efi" || ok=0
need_file "$V" "make host" || ok=0
need_file "$SAMPLES/win10-fixed-10M.vhdx.gz" "the shared samples" || ok=0
need_file "$SAMPLES/win81-dynamic-100M.vhdx.bz2" "the shared samples" || ok=0
[ $ok = 1 ] || finish
for old in "$BUILD"/tests/efi/bmap-*; do
	[ -d "$old" ] || continue
	kill -0 "${old##*/bmap-}" 2>/dev/null || rm -rf "$old"
done
rm -rf "$W"
mkdir -p "$W"
cd "$W" || finish

expect() { # TAG RC WHAT [TEXT]
	local got out
	got=$(rc_of serial.txt "$1")
	out=$(out_of serial.txt "$1")
	if [ "$got" != "$2" ]; then
		fail "$3: %lasterror% '${got:-none}', expected $2; output: $(tail -c 400 <<<"$out")"
		return 1
	fi
	if [ -n "${4:-}" ] && ! grep -qF -- "$4" <<<"$out"; then
		fail "$3: $2 but no '$4' in: $(tail -c 400 <<<"$out")"
		return 1
	fi
	pass "$3: %lasterror% $2${4:+, says '$4'}"
}
# reseal BMAP: its BmapFileChecksum made right again after an edit
reseal() {
	python3 -S -c 'import hashlib, re, sys
p = sys.argv[1]; t = open(p, "rb").read()
m = re.search(rb"<BmapFileChecksum> ([0-9a-f]{64}) ", t)
z = t[:m.start(1)] + b"0" * 64 + t[m.end(1):]
open(p, "wb").write(t[:m.start(1)] + hashlib.sha256(z).hexdigest().encode() + t[m.end(1):])' "$1"
}
flip_byte() {
	local old
	old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\x$(printf %02x $((255 - ${old:-0})))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# -- the host side: the image, its raw, the manifests, the disks
setup() {
	gzip -dc "$SAMPLES/win10-fixed-10M.vhdx.gz" >fixed.vhdx &&
		bzip2 -dc "$SAMPLES/win81-dynamic-100M.vhdx.bz2" >other.vhdx &&
		qemu-img convert -f vhdx -O raw fixed.vhdx fixed.raw &&
		"$V" bmap fixed.vhdx host.bmap >/dev/null &&
		bmaptool create fixed.raw -o bt.bmap 2>/dev/null &&
		"$V" bmap other.vhdx other.bmap >/dev/null || return 1
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
	CHK=$(python3 -S -c 'import re
t = open("host.bmap").read(); i = t.index("chksum=\"") + 8
t = t[:i] + ("1" if t[i] != "1" else "2") + t[i + 1:]
open("chk.bmap", "w").write(t); print(t[i:i + 64])')
	cp chk.bmap chkseal.bmap && reseal chkseal.bmap &&
		head -c $(($(stat -c %s host.bmap) - 30)) host.bmap >trunc.bmap &&
		sed 's/<BmapFileChecksum> ./<BmapFileChecksum> 0/;s/<BmapFileChecksum> 00/<BmapFileChecksum> 11/' host.bmap >sum.bmap ||
		return 1
	cmp -s sum.bmap host.bmap && return 1
	PIN=$(sha256sum <host.bmap | cut -c1-64)
	BADPIN=$(sha256sum <bt.bmap | cut -c1-64)
	printf 'an old manifest\n' >old.bmap
	printf 'a stale temporary file\n' >stale.tmp
	return 0
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

setup || { fail "host setup: the image, its raw, the manifests and the disks"; finish; }

N=startup.nsh
nsh_begin $N
nsh_run $N mkimg bmap 'fs0:\s\fixed.vhdx' 'fs0:\o\fixed.bmap'
nsh_run $N mkdev bmap "$DEV5" 'fs0:\o\dev.bmap'
nsh_run $N mksame bmap 'fs0:\s\fixed.vhdx' 'fs0:\s\fixed.vhdx'
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
nsh_run $N vother verify --bmap 'fs0:\m\other.bmap' 'fs0:\s\fixed.vhdx'
nsh_run $N vmissing verify --bmap 'fs0:\m\none.bmap' "$DEV5"
nsh_run $N vpinbad verify --bmap-sha256 "$BADPIN" --bmap 'fs0:\m\host.bmap' "$DEV5"
nsh_run $N vpinok verify --bmap-sha256 "$PIN" --bmap 'fs0:\m\host.bmap' "$DEV5"
nsh_run $N vstray0 verify --bmap 'fs0:\m\host.bmap' "$DEV7"
nsh_run $N vstray verify --zeros --bmap 'fs0:\m\host.bmap' "$DEV7"
nsh_end $N

{ make_esp esp.img "$APP" $N 49152 &&
	mmd -i esp.img ::s ::o ::m &&
	mcopy -i esp.img fixed.vhdx ::s/fixed.vhdx &&
	mcopy -i esp.img old.bmap ::o/fixed.bmap &&
	mcopy -i esp.img stale.tmp ::o/fixed.bmap.tmp &&
	for f in host bt chk chkseal trunc sum other; do mcopy -i esp.img $f.bmap ::m/$f.bmap || exit 1; done; } ||
	{ fail "cannot build the ESP"; finish; }
dep_sum=$(sha256sum <dep.img | cut -c1-64)

echo "booting OVMF (x86_64) under TCG: bmap and verify..."
boot_x86 "$W" esp.img \
	-drive "if=none,id=v5,format=raw,file=dep.img,readonly=on" -device virtio-blk-pci,drive=v5,addr=0x5 \
	-drive "if=none,id=v6,format=raw,file=flip.img,readonly=on" -device virtio-blk-pci,drive=v6,addr=0x6 \
	-drive "if=none,id=v7,format=raw,file=stray.img,readonly=on" -device virtio-blk-pci,drive=v7,addr=0x7
if [ "$BOOT_RC" = 0 ] && grep -q '^=== vstray rc' serial.txt; then
	pass "OVMF booted, ran startup.nsh to the end and powered off (${BOOT_SECONDS} s)"
else
	fail "the boot did not complete (qemu exit $BOOT_RC; 124 = timeout); see $W/serial.txt"
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
expect vother 0x2 "another image's manifest (100 MiB): refused" "differs from"
expect vmissing 0x2 "no manifest: refused" "cannot open"
expect vpinbad 0x2 "a wrong --bmap-sha256: refused" "not the --bmap-sha256 given"
expect vpinok 0x0 "the right --bmap-sha256" "matches"
expect vstray0 0x0 "a byte in an unmapped block, without --zeros" "matches"
expect vstray 0x21 "a byte in an unmapped block, --zeros: the block named" \
	"block $HOLE (byte $((HOLE * 4096 + 7))) is not in the bmap's ranges"
[ "$(sha256sum <dep.img | cut -c1-64)" = "$dep_sum" ] && pass "the deployed disk is unchanged (verify only reads)" ||
	fail "the deployed disk changed"
finish
