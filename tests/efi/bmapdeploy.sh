#!/bin/bash
# tests/efi/bmapdeploy.sh - issue 21 in vhdx.efi: convert --bmap, a verified
# deploy, under OVMF (x86_64, TCG), in one short boot.  The image (8 MiB,
# 1 MiB blocks, data from byte 512 across the first MiB and at 5 MiB) and
# its bmap (the host tool's) on the ESP; disks of old data (0xA5).
#   bgood   convert --bmap onto old data: 0x0, the disk reads as qemu-img
#           reads the image
#   bresume --resume --json after that deploy: 0x0, the JSON object printed,
#           only the first MiB written, the other ranges kept
#   bjson   --json on a fresh disk: every range checked before it is written
#   bflip   an image with one byte changed at 5 MiB + 100: 0x21
#           (EFI_COMPROMISED_DATA), the range and both hashes named, the
#           disk's first MiB zero
#   bpin    a wrong --bmap-sha256: 0x2, the disk untouched
#   bsum    a bmap whose BmapFileChecksum is wrong: 0x2, the disk untouched
#   bchk    a range's chksum changed, the file resealed: 0x21, that range and
#           both hashes named, the disk's first MiB zero
#   bedit   the range at 5 MiB moved one block on, resealed: 0x21 (the block
#           that holds data is now unmapped), the disk's first MiB zero
#   btrunc  a truncated bmap: 0x2, the disk untouched
#   bother  the bmap of an image of another size: 0x2, the disk untouched
# Prints PASS/FAIL lines and "N passed, M failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
W=$BUILD/tests/efi/bmapdeploy-$$
. "$HERE/lib.sh"
APP=$BUILD/efi/x86_64/vhdx.efi
V=$BUILD/host/vhdx

finish() {
	if [ "$FAIL" -eq 0 ]; then
		rm -rf "$W"
	else
		echo "logs: $W"
	fi
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

ok=1
need qemu-system-x86_64 qemu-img qemu-io mkfs.vfat mcopy sha256sum timeout cmp python3 || ok=0
need_file "$OVMF_CODE" "Debian package ovmf" || ok=0
need_file "$APP" "make efi" || ok=0
need_file "$V" "make host" || ok=0
[ $ok = 1 ] || finish
rm -rf "$W"
mkdir -p "$W"

expect() { # TAG RC WHAT [TEXT]
	local got out
	got=$(rc_of "$W/serial.txt" "$1")
	out=$(out_of "$W/serial.txt" "$1")
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
# json TAG KEY: a value of the JSON object the app printed for TAG
json() {
	out_of "$W/serial.txt" "$1" | grep '^{' | tail -1 | python3 -S -c 'import json, sys
o = json.loads(sys.stdin.read())
for k in sys.argv[1].split("."):
    o = o[k]
print(o)' "$2" 2>/dev/null
}

# ---- the image, a copy with one byte changed, the bmap ----
G=$W/g.vhdx
if ! "$V" create -q -s 8M -b 1M "$G" ||
   ! qemu-io -f vhdx -c "write -P 0x5a 512 1M" -c "write -P 0xc3 5M 4096" "$G" >/dev/null ||
   ! cp "$G" "$W/flip.vhdx" || ! qemu-io -f vhdx -c "write -P 0x3c $((5 * 1048576 + 100)) 1" "$W/flip.vhdx" >/dev/null ||
   ! qemu-img convert -f vhdx -O raw "$G" "$W/g.raw" || ! "$V" bmap "$G" "$W/g.bmap" >/dev/null; then
	fail "cannot make the image and its bmap (host vhdx, qemu-io, qemu-img)"
	finish
fi
sed 's/<BmapFileChecksum> ./<BmapFileChecksum> 0/;s/<BmapFileChecksum> 00/<BmapFileChecksum> 11/' "$W/g.bmap" >"$W/sum.bmap"
RANGES=$(grep -c "</Range>" "$W/g.bmap")
# reseal BMAP: its BmapFileChecksum made right again after an edit
reseal() {
	python3 -S -c 'import hashlib, re, sys
p = sys.argv[1]; t = open(p, "rb").read()
m = re.search(rb"<BmapFileChecksum> ([0-9a-f]{64}) ", t)
z = t[:m.start(1)] + b"0" * 64 + t[m.end(1):]
open(p, "wb").write(t[:m.start(1)] + hashlib.sha256(z).hexdigest().encode() + t[m.end(1):])' "$1"
}
# the last range's (block 1280, 5 MiB) chksum: its first digit changed
CHK=$(python3 -S -c 'import sys
t = open(sys.argv[1]).read(); i = t.rindex("chksum=\"") + 8
t = t[:i] + ("1" if t[i] != "1" else "2") + t[i + 1:]
open(sys.argv[2], "w").write(t); print(t[i:i + 64])' "$W/g.bmap" "$W/chk.bmap")
reseal "$W/chk.bmap"
sed 's/"> 1280 <\/Range>/"> 1281 <\/Range>/' "$W/g.bmap" >"$W/edit.bmap"
reseal "$W/edit.bmap"
head -c $(( $(stat -c %s "$W/g.bmap") - 30 )) "$W/g.bmap" >"$W/trunc.bmap"
"$V" create -q -s 16M -b 1M "$W/other.vhdx" && "$V" bmap "$W/other.vhdx" "$W/other.bmap" >/dev/null ||
	fail "cannot make the other image's bmap"
cmp -s "$W/chk.bmap" "$W/g.bmap" || cmp -s "$W/edit.bmap" "$W/g.bmap" && fail "an edited bmap is unchanged (test setup)"

DISKS="good json flip pin sum chk edit trunc other"
for d in $DISKS; do
	head -c $((16 << 20)) /dev/zero | tr '\0' '\245' > "$W/$d.img"
	sha256sum < "$W/$d.img" > "$W/$d.sha"
done
DP=()
for i in 5 6 7 8 9 A B C D; do
	DP+=("PciRoot(0x0)/Pci(0x$i,0x0)")
done
N=$W/startup.nsh
nsh_begin "$N"
nsh_run "$N" bgood convert -f -y --bmap 'fs0:\g.bmap' 'fs0:\g.vhdx' "${DP[0]}"
nsh_run "$N" bresume convert -f -y --resume --json --bmap 'fs0:\g.bmap' 'fs0:\g.vhdx' "${DP[0]}"
nsh_run "$N" bjson convert -f -y --json --bmap 'fs0:\g.bmap' 'fs0:\g.vhdx' "${DP[1]}"
nsh_run "$N" bflip convert -f -y --bmap 'fs0:\g.bmap' 'fs0:\flip.vhdx' "${DP[2]}"
nsh_run "$N" bpin convert -f -y --bmap 'fs0:\g.bmap' --bmap-sha256 "$(printf '%064d' 7)" 'fs0:\g.vhdx' "${DP[3]}"
nsh_run "$N" bsum convert -f -y --bmap 'fs0:\sum.bmap' 'fs0:\g.vhdx' "${DP[4]}"
nsh_run "$N" bchk convert -f -y --bmap 'fs0:\chk.bmap' 'fs0:\g.vhdx' "${DP[5]}"
nsh_run "$N" bedit convert -f -y --bmap 'fs0:\edit.bmap' 'fs0:\g.vhdx' "${DP[6]}"
nsh_run "$N" btrunc convert -f -y --bmap 'fs0:\trunc.bmap' 'fs0:\g.vhdx' "${DP[7]}"
nsh_run "$N" bother convert -f -y --bmap 'fs0:\other.bmap' 'fs0:\g.vhdx' "${DP[8]}"
nsh_end "$N"
make_esp "$W/esp.img" "$APP" "$N" || { fail "ESP"; finish; }
for f in g.vhdx flip.vhdx g.bmap sum.bmap chk.bmap edit.bmap trunc.bmap other.bmap; do
	mcopy -i "$W/esp.img" "$W/$f" "::$f" || { fail "ESP: $f"; finish; }
done
QARGS=(-global ide-hd.bootindex=1)
i=0
for d in $DISKS; do
	QARGS+=(-drive "if=none,id=d$i,format=raw,file=$W/$d.img"
		-device "virtio-blk-pci,drive=d$i,addr=$(printf 0x%x $((5 + i)))")
	i=$((i + 1))
done
boot_x86 "$W" "$W/esp.img" "${QARGS[@]}"
echo "boot: ${BOOT_SECONDS} s (qemu rc $BOOT_RC)"

# ---- what the app said, and the disks ----
expect bgood 0x0 "convert --bmap onto old data" "every range read, hashed and compared before it is written"
cmp -s -n $((8 << 20)) "$W/good.img" "$W/g.raw" && pass "bgood: the disk reads as qemu-img reads the image" ||
	fail "bgood: the disk differs: $(cmp -n $((8 << 20)) "$W/good.img" "$W/g.raw" 2>&1 | head -1)"
expect bresume 0x0 "--resume after a completed deploy"
written=$(json bresume bytes_written)
kept=$(json bresume bmap.kept_by_resume)
[ "$written" = $((1 << 20)) ] && [ -n "$kept" ] && [ "$kept" -gt 0 ] &&
	pass "bresume: --json says $written bytes written (the first MiB), $kept of $RANGES ranges kept" ||
	fail "bresume: --json: written '$written', kept '$kept'; $(out_of "$W/serial.txt" bresume | tail -c 400)"
expect bjson 0x0 "--json on a fresh disk"
[ "$(json bjson result)" = ok ] && [ "$(json bjson bmap.checked_before_write)" = "$RANGES" ] &&
	[ "$(json bjson bmap.sha256)" = "$(sha256sum <"$W/g.bmap" | cut -c1-64)" ] &&
	pass "bjson: the JSON object: ok, $RANGES ranges checked before writing, the manifest's sha256" ||
	fail "bjson: $(out_of "$W/serial.txt" bjson | tail -c 600)"
cmp -s -n $((8 << 20)) "$W/json.img" "$W/g.raw" && pass "bjson: the disk reads as the image" || fail "bjson: the disk differs"
expect bflip 0x21 "a byte changed in the image" "does not match fs0:\\g.bmap: expected sha256"
cmp -s -n $((1 << 20)) "$W/flip.img" /dev/zero && pass "bflip: the disk's first MiB is zero" ||
	fail "bflip: the disk's first MiB is not zero"
expect bpin 0x2 "a wrong --bmap-sha256" "not the --bmap-sha256 given"
expect bsum 0x2 "a wrong BmapFileChecksum" "BmapFileChecksum does not match"
expect bchk 0x21 "a range's chksum changed (resealed)" "expected sha256 $CHK"
expect bedit 0x21 "a range moved one block on (resealed)" "fs0:\\edit.bmap"
for d in chk edit; do
	cmp -s -n $((1 << 20)) "$W/$d.img" /dev/zero && pass "b$d: the disk's first MiB is zero" ||
		fail "b$d: the disk's first MiB is not zero"
done
expect btrunc 0x2 "a truncated bmap" "truncated"
expect bother 0x2 "the bmap of an image of another size" "differs from"
echo "bflip said: $(out_of "$W/serial.txt" bflip | grep -v '^ ' | tail -2)"
echo "bresume said: $(out_of "$W/serial.txt" bresume | grep '^{')"
echo "bedit said: $(out_of "$W/serial.txt" bedit | grep '^vhdx' | tail -1)"
for d in pin sum trunc other; do
	sha256sum < "$W/$d.img" | cmp -s - "$W/$d.sha" && pass "$d: disk byte-for-byte untouched" || fail "$d: disk CHANGED"
done
finish
