#!/usr/bin/env bash
# test_compare.sh - `vhdx compare A B`: exit 0 same content, 1 different
# (the first differing byte offset printed, exactly), 2 could not run;
# sizes that differ compare as if the shorter were zero-extended, and it
# says so; but a block device larger than the image (a deploy) is compared
# over the image's extent, and the output says how much of it lies beyond.  The references are independent: raw disks that qemu-img
# converts, a model that tests/host/vhdx_poke.py writes for 4096-byte
# sectors, and qemu-img compare's own verdict (it names the start of the
# 512-byte sector that differs).
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))
POKE="python3 -S $PWD/tests/host/vhdx_poke.py"
cd "$T" || exit 2

# sha256 of a file (openssl uses the CPU's SHA instructions: 5x faster here)
if command -v openssl >/dev/null; then sum256() { openssl dgst -sha256 -r "$1" | cut -c1-64; }
else sum256() { sha256sum <"$1" | cut -c1-64; }; fi
# poke_byte FILE OFFSET BYTE(hex): one byte set in place
poke_byte() { printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# flip_byte FILE OFFSET: one byte changed in place (its bits inverted)
flip_byte() {
	local old
	old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	poke_byte "$1" "$2" "$(printf %02x $((255 - ${old:-0})))"
}

# cmpx WHAT EXPECTED-RC [EXPECTED-OFFSET] -- ARGS: run vhdx compare; the exit
# status, and for 1 the offset printed ("differ at byte N"), for 0 the
# "identical" line; stderr empty unless 2 (then exactly one line)
cmpx() {
	local what=$1 want=$2 off=-
	shift 2
	[ "$1" != -- ] && { off=$1; shift; }
	shift
	"$VHDX" compare "$@" >out.txt 2>err.txt
	local rc=$?
	if [ $rc -ne "$want" ]; then
		bad "$what: exit $rc, expected $want: $(cat out.txt err.txt | head -3)"
		return 1
	fi
	case $want in
	0)
		if [ -s err.txt ] || ! grep -q " are identical (" out.txt; then
			bad "$what: exit 0 but output: $(cat out.txt err.txt)"; return 1
		fi ;;
	1)
		local got
		got=$(sed -n 's/.* differ at byte \([0-9]*\) .*/\1/p' out.txt)
		if [ -s err.txt ] || [ "$got" != "$off" ]; then
			bad "$what: first difference printed as '${got}', expected $off: $(cat out.txt err.txt)"; return 1
		fi ;;
	2)
		if [ "$(wc -l <err.txt)" -ne 1 ] || [ -s out.txt ]; then
			bad "$what: exit 2 but not one line on stderr: $(cat out.txt err.txt)"; return 1
		fi ;;
	esac
	ok "$what"
}

# an image with data at the first byte, around 1 MiB and at 40 MiB; its raw
# disk as qemu-img reads it
"$VHDX" create -q -s 64M -b 1M img.vhdx || { bad "create"; finish; exit 1; }
qemu-io -f vhdx -c "write -P 0x11 0 3M" -c "write -P 0x22 40M 1M" img.vhdx >/dev/null ||
	bad "qemu-io write"
qemu-img convert -f vhdx -O raw img.vhdx ref.raw || bad "qemu-img convert"
sum_img=$(sum256 img.vhdx)

cmpx "VHDX and its raw disk (qemu-img's): identical" 0 -- img.vhdx ref.raw
cmpx "raw and VHDX: identical" 0 -- ref.raw img.vhdx
cmpx "a VHDX with itself" 0 -- img.vhdx img.vhdx
cp img.vhdx img2.vhdx
cmpx "two copies of a VHDX" 0 -- img.vhdx img2.vhdx
cmpx "raw with raw" 0 -- ref.raw ref.raw
"$VHDX" compare -q img.vhdx ref.raw >out.txt 2>&1
[ $? -eq 0 ] && [ ! -s out.txt ] && ok "-q: identical, nothing printed" || bad "-q identical: $(cat out.txt)"

# one byte different at a known offset: inside data, inside a zero range,
# the first and the last byte; both orders; qemu-img compare agrees on the
# sector
for off in 0 $((M + 17)) 12345677 $((40 * M + 511)) $((64 * M - 1)); do
	cp ref.raw d.raw
	flip_byte d.raw "$off"
	cmpx "one byte at $off: VHDX vs raw" 1 "$off" -- img.vhdx d.raw
	cmpx "one byte at $off: raw vs VHDX" 1 "$off" -- d.raw img.vhdx
	q=$(qemu-img compare -f vhdx -F raw img.vhdx d.raw 2>&1)
	[ "$q" = "Content mismatch at offset $((off / 512 * 512))!" ] && ok "qemu-img compare agrees on the sector of $off" ||
		bad "validator: qemu-img compare says '$q' for a byte changed at $off"
done
"$VHDX" compare -q img.vhdx d.raw >out.txt 2>&1
[ $? -eq 1 ] && [ "$(wc -l <out.txt)" -eq 1 ] && grep -q "differ at byte $((64 * M - 1)) " out.txt &&
	ok "-q: a difference is still printed, one line" || bad "-q different: $(cat out.txt)"
# the difference inside the VHDX itself (payload written by qemu-io)
qemu-io -f vhdx -c "write -P 0x77 $((2 * M + 4096)) 512" img2.vhdx >/dev/null
cmpx "two VHDX differing in one sector" 1 $((2 * M + 4096)) -- img.vhdx img2.vhdx
cmpx "VHDX vs VHDX, other order" 1 $((2 * M + 4096)) -- img2.vhdx img.vhdx
# a difference past 4 GiB (offsets above 32 bits)
truncate -s 5G big1.raw
cp --sparse=always big1.raw big2.raw
poke_byte big2.raw $((4 * 1024 * M + 12345)) 01
cmpx "raw 5 GiB, one byte past 4 GiB" 1 $((4 * 1024 * M + 12345)) -- big1.raw big2.raw

# sizes that differ: the shorter as if zero-extended
cp ref.raw long.raw
truncate -s 80M long.raw
cmpx "a longer raw, zero tail" 0 -- img.vhdx long.raw
grep -q "^sizes differ: img.vhdx is $((64 * M)) bytes, long.raw is $((80 * M)) bytes; the shorter is compared as if zero-extended$" out.txt &&
	grep -q "identical ($((80 * M)) bytes compared)" out.txt && ok "the size note, and the longer size compared" ||
	bad "size note: $(cat out.txt)"
cmpx "a longer raw, zero tail, other order" 0 -- long.raw img.vhdx
poke_byte long.raw $((70 * M + 3)) 01
cmpx "a longer raw, non-zero tail" 1 $((70 * M + 3)) -- img.vhdx long.raw
grep -q "^sizes differ" out.txt && ok "non-zero tail: the size note too" || bad "non-zero tail note: $(cat out.txt)"
cmpx "a longer raw, non-zero tail, other order" 1 $((70 * M + 3)) -- long.raw img.vhdx
head -c $((60 * M)) ref.raw >short.raw               # cuts off only zeros
cmpx "a shorter raw that cut off zeros" 0 -- img.vhdx short.raw
head -c $((40 * M)) ref.raw >short.raw               # cuts off the data at 40 MiB
cmpx "a shorter raw that cut off data" 1 $((40 * M)) -- img.vhdx short.raw
cmpx "a shorter raw that cut off data, other order" 1 $((40 * M)) -- short.raw img.vhdx
"$VHDX" create -q -s 80M -b 1M big.vhdx
qemu-io -f vhdx -c "write -P 0x11 0 3M" -c "write -P 0x22 40M 1M" big.vhdx >/dev/null
cmpx "two VHDX of different virtual sizes, zero tail" 0 -- img.vhdx big.vhdx
qemu-io -f vhdx -c "write -P 0x44 $((79 * M)) 1M" big.vhdx >/dev/null
cmpx "two VHDX of different virtual sizes, data in the tail" 1 $((79 * M)) -- big.vhdx img.vhdx
: >empty.raw
cmpx "an empty raw file: the image's first non-zero byte" 1 0 -- empty.raw img.vhdx

# 4096-byte logical sectors (qemu-img cannot open them): a model of the disk
# written beside the image by vhdx_poke.py
"$VHDX" create -q -s 48M -b 1M --logical-sector-size 4096 s4k.vhdx
truncate -s 48M s4k.raw
$POKE blocks s4k.vhdx s4k.raw 0 full:0 full:7 zero:8 full:47 || bad "vhdx_poke on s4k.vhdx"
cmpx "4096-byte sectors: VHDX vs its model" 0 -- s4k.vhdx s4k.raw
cp s4k.raw s4kd.raw
flip_byte s4kd.raw $((7 * M + 4095))
cmpx "4096-byte sectors: one byte" 1 $((7 * M + 4095)) -- s4k.vhdx s4kd.raw
# the sector named is the 512-byte sector (qemu-img's unit), whatever the image's
grep -q "(sector $(((7 * M + 4095) / 512)) of 512)" out.txt && ok "the sector named is the 512-byte one" ||
	bad "4096 sector number: $(cat out.txt)"

# --source-format raw: the files' bytes, not the disks
cmpx "--source-format raw: a VHDX file with itself" 0 -- --source-format raw img.vhdx img.vhdx
grep -q "identical ($(stat -c %s img.vhdx) bytes compared)" out.txt && ok "--source-format raw compares the file's bytes" ||
	bad "--source-format raw size: $(cat out.txt)"
cmpx "--source-format raw: a VHDX file with its disk" 1 0 -- --source-format raw img.vhdx ref.raw

# could not run: exit 2, one line on stderr naming the file
cmpx "a missing first file" 2 -- missing.vhdx ref.raw
grep -q "missing.vhdx" err.txt && ok "the refusal names the missing file" || bad "missing: $(cat err.txt)"
cmpx "a missing second file" 2 -- ref.raw missing.raw
grep -q "missing.raw" err.txt && ok "the refusal names the missing second file" || bad "missing 2: $(cat err.txt)"
mkdir adir
cmpx "a directory" 2 -- img.vhdx adir
cmpx "one operand only" 2 -- img.vhdx
# a child whose parent is missing
"$VHDX" create -q -s 16M -b 1M p.vhdx
"$VHDX" create -q -t differencing --parent p.vhdx child.vhdx
mv p.vhdx p.moved
cmpx "a child whose parent is missing" 2 -- child.vhdx ref.raw
grep -q "p.vhdx" err.txt && ok "the refusal names the missing parent" || bad "missing parent: $(cat err.txt)"
# a corrupt VHDX is not silently read as raw
cp img.vhdx broken.vhdx
poke_byte broken.vhdx $((64 * 1024)) 58   # header 1 signature
poke_byte broken.vhdx $((128 * 1024)) 58  # header 2 signature
cmpx "a VHDX with both headers broken" 2 -- broken.vhdx ref.raw

# A block device larger than the image, an image deployed onto it: its
# tail (random here, as a used disk's) lies beyond the image and is not
# compared; the output says how many bytes.  A difference inside the
# image's extent is still found.  (A file keeps the zero-extended rule,
# above.)
if command -v losetup >/dev/null && losetup -f >/dev/null 2>&1; then
	truncate -s $((80 * M)) dev.img
	dd if=/dev/urandom of=dev.img bs=1M seek=64 count=16 conv=notrunc status=none
	if dev=$(losetup -f --show dev.img); then
		"$VHDX" convert -q -f img.vhdx "$dev" || bad "deploy img.vhdx onto $dev"
		for order in "img.vhdx $dev" "$dev img.vhdx"; do
			# shellcheck disable=SC2086
			"$VHDX" compare $order >out.txt 2>err.txt
			rc=$?
			[ $rc -eq 0 ] && [ ! -s err.txt ] &&
				grep -q "^sizes differ: $dev is a block device of $((80 * M)) bytes, img.vhdx is $((64 * M)) bytes; img.vhdx's extent is compared, the device's last $((16 * M)) bytes lie beyond it (not compared)$" out.txt &&
				grep -q " are identical over img.vhdx's $((64 * M)) bytes: the device holds the image; its last $((16 * M)) bytes were not compared$" out.txt &&
				ok "compare $order: the device holds the image, $((16 * M)) bytes beyond it not compared" ||
				bad "compare $order: exit $rc: $(cat out.txt err.txt)"
		done
		"$VHDX" compare -q img.vhdx "$dev" >out.txt 2>&1
		[ $? -eq 0 ] && [ ! -s out.txt ] && ok "-q on a device: identical, nothing printed" ||
			bad "-q device: $(cat out.txt)"
		poke_byte "$dev" $((40 * M + 5)) 00
		cmpx "a device with one byte changed inside the image's extent" 1 $((40 * M + 5)) -- img.vhdx "$dev"
		grep -q "^sizes differ: $dev is a block device" out.txt && ok "the difference comes with the device note" ||
			bad "device difference note: $(cat out.txt)"
		losetup -d "$dev"
	else
		bad "losetup of dev.img failed"
	fi
else
	skipped "no loop device here (losetup -f failed): compare with a block device larger than the image did not run"
fi

[ "$(sum256 img.vhdx)" = "$sum_img" ] && ok "compare never wrote its operands (sha256 of img.vhdx)" || bad "img.vhdx changed"
finish
