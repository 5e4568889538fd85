#!/usr/bin/env bash
# test_bmap.sh - bmap manifests (issue 21, first part): the core's SHA-256
# against sha256sum; `vhdx bmap` and `vhdx verify --bmap` against oracles
# that are not ours: bmaptool copy accepts our bmaps of every sample and of
# a chain and copies exactly the raw disk qemu-img (or 7zz, for a chain)
# makes; our verify accepts bmaptool create's manifests of those raws;
# tampering with the disk, the image or the bmap is refused with the right
# exit status and one line.
source "$(dirname "$0")/lib.sh"
source tests/bmap_lib.sh # (lib.sh has cd to the repository)
need bmaptool sha256sum
M=$((1024 * 1024))
POKE="python3 -S $PWD/tests/host/vhdx_poke.py"
SHA=$T/sha256_stream
${CC:-cc} -std=gnu11 -O1 -Icore -Iapp -o "$SHA" tests/host/sha256_stream.c "$BUILD/host/libvhdx.a" ||
	{ echo "FAIL: cannot build sha256_stream"; echo "0 passed, 1 failed"; exit 1; }
need_samples
SAMPLES=$(cd "$SAMPLES" && pwd)
cd "$T" || exit 2

# -- SHA-256: every length 0..4096 of random data, one shot, against sha256sum
head -c 4096 /dev/urandom >rand4k
python3 -S -c 'import sys
d = open("rand4k", "rb").read()
for i in range(len(d) + 1):
    open("p.%d" % i, "wb").write(d[:i])'
(for i in $(seq 0 4096); do echo "p.$i"; done) | xargs sha256sum | sed 's/  p\./  /' | sort >theirs.txt
"$SHA" --prefixes rand4k | sort >ours.txt
n=$(wc -l <ours.txt)
[ "$n" = 4097 ] && cmp -s ours.txt theirs.txt && ok "sha256: 4097 lengths 0..4096 equal sha256sum" ||
	bad "sha256: lengths 0..4096 differ from sha256sum ($n lines): $(diff ours.txt theirs.txt | head -3)"
rm -f p.*
# large ones, streamed in odd pieces
for size in $((3 * M)) $((5 * M + 13)) $((8 * M - 1)); do
	head -c $size /dev/urandom >big
	want=$(sha256sum <big | cut -c1-64)
	for pieces in "1 63 64 65 4093" "1048583" "55 56 9" ; do
		got=$("$SHA" big $pieces)
		[ "$got" = "$want" ] && ok "sha256: $size bytes in pieces of $pieces" ||
			bad "sha256: $size bytes in pieces of $pieces: $got, sha256sum $want"
	done
done
rm -f big

# one_line WHAT FILE: the output is exactly one line
one_line() { [ "$(wc -l <"$2")" -eq 1 ] && ok "$1: one line" || bad "$1: not one line: $(head -3 "$2")"; }
# expect WHAT RC FRAGMENT -- ARGS: vhdx ARGS exits RC, its output (stdout
# and stderr) is one line holding FRAGMENT
expect() {
	local what=$1 rc=$2 frag=$3 st
	shift 4
	"$VHDX" "$@" >out.txt 2>&1
	st=$?
	[ $st -eq "$rc" ] && ok "$what: exit $rc" || bad "$what: exit $st, expected $rc: $(head -3 out.txt)"
	one_line "$what" out.txt
	grep -qF -- "$frag" out.txt && ok "$what: says '$frag'" || bad "$what: no '$frag' in: $(cat out.txt)"
}

# -- every sample: our bmap of the VHDX, bmaptool copy with it from qemu-img's raw
unpack_samples s || bad "unpacking the samples"
for img in s/*.vhdx s/*.avhdx; do
	name=$(basename "$img")
	case $name in win10-differencing-8G-child.avhdx) continue ;; esac  # its parent is not public
	src=$img
	if [ "$name" = qemu1.6-dirtylog-10G.vhdx ] || [ "$name" = discutils-vhdx-log-replay.vhdx ]; then
		# qemu-img replays a dirty log only on an image it may write: a copy
		cp --sparse=always "$img" "s/replayed.$name"
		qemu-img check -q -r all -f vhdx "s/replayed.$name" >/dev/null 2>&1
		src=s/replayed.$name
	fi
	if ! qemu-img convert -f vhdx -O raw "$src" raw.img 2>qerr.txt; then
		bad "$name: qemu-img convert: $(head -2 qerr.txt)"
		continue
	fi
	if ! "$VHDX" bmap "$img" ours.bmap >out.txt 2>&1; then
		bad "$name: vhdx bmap: $(cat out.txt)"
		continue
	fi
	ok "$name: vhdx bmap"
	rm -f copy.img
	if bmaptool copy --bmap ours.bmap raw.img copy.img >bt.txt 2>&1; then
		ok "$name: bmaptool copy accepts our bmap (checksums verified)"
	else
		bad "$name: bmaptool copy: $(grep -i error bt.txt | head -2)"
	fi
	cmp -s copy.img raw.img && ok "$name: bmaptool's copy equals qemu-img's raw" ||
		bad "$name: bmaptool's copy differs from the raw: $(cmp copy.img raw.img 2>&1 | head -1)"
	# our ranges: within aligned 1 MiB windows
	python3 -S -c 'import re, sys
for a, b in re.findall(r"> (\d+)(?:-(\d+))? </Range>", open("ours.bmap").read()):
    b = b or a
    if int(a) // 256 != int(b) // 256: sys.exit("range %s-%s crosses a 1 MiB boundary" % (a, b))' &&
		ok "$name: every range within one aligned MiB" || bad "$name: a range longer than the window"
	bmaptool create raw.img -o theirs.bmap 2>bt.txt || bad "$name: bmaptool create: $(head -2 bt.txt)"
	"$VHDX" verify --bmap theirs.bmap "$img" >out.txt 2>&1 && ok "$name: verify accepts bmaptool's bmap (VHDX)" ||
		bad "$name: verify bmaptool's bmap on the VHDX: $(cat out.txt)"
	"$VHDX" verify --zeros --bmap theirs.bmap raw.img >out.txt 2>&1 && ok "$name: verify --zeros accepts bmaptool's bmap (raw)" ||
		bad "$name: verify --zeros bmaptool's bmap on the raw: $(cat out.txt)"
	"$VHDX" verify --zeros --bmap ours.bmap raw.img >out.txt 2>&1 && ok "$name: verify --zeros, our bmap on the raw" ||
		bad "$name: verify --zeros our bmap on the raw: $(cat out.txt)"
	"$VHDX" bmap raw.img ours-raw.bmap >/dev/null 2>&1 && cmp -s ours.bmap ours-raw.bmap &&
		ok "$name: the bmap of the raw is the bmap of the VHDX" || bad "$name: bmap of the raw differs"
	rm -f raw.img copy.img "s/replayed.$name"
done

# -- a chain: base, c1, c2 (vhdx_poke writes their blocks); 7zz makes the raw
mkdir -p chain
"$VHDX" create -q -b 1M -s $((40 * M)) chain/base.vhdx || bad "chain: base"
truncate -s $((40 * M)) chain/base.model
$POKE blocks chain/base.vhdx chain/base.model 0 full:0 full:3 full:9 full:39 >/dev/null || bad "chain: poke base"
"$VHDX" create -q -t differencing --parent chain/base.vhdx chain/c1.vhdx || bad "chain: c1"
cp chain/base.model chain/c1.model
$POKE blocks chain/c1.vhdx chain/c1.model 1 partial:0:1 full:2 zero:4 partial:5:2 >/dev/null || bad "chain: poke c1"
7zz e -tvhdx -so chain/c1.vhdx >chain.raw 2>/dev/null || bad "chain: 7zz e"
cmp -s chain.raw chain/c1.model || bad "chain: 7zz's raw is not the model (test setup)"
"$VHDX" bmap chain/c1.vhdx chain.bmap >/dev/null 2>&1 && ok "chain: vhdx bmap of the child" || bad "chain: vhdx bmap"
rm -f copy.img
bmaptool copy --bmap chain.bmap chain.raw copy.img >bt.txt 2>&1 && ok "chain: bmaptool copy accepts our bmap" ||
	bad "chain: bmaptool copy: $(grep -i error bt.txt | head -2)"
cmp -s copy.img chain.raw && ok "chain: bmaptool's copy equals 7zz's raw" || bad "chain: copy differs from 7zz's raw"
bmaptool create chain.raw -o chain-theirs.bmap 2>/dev/null
"$VHDX" verify --zeros --bmap chain-theirs.bmap chain/c1.vhdx >out.txt 2>&1 &&
	ok "chain: verify --zeros accepts bmaptool's bmap of the raw" || bad "chain: verify: $(cat out.txt)"

# -- a size that is not whole blocks (10 MiB - 512): the last block is partial and
# holds data; its range's hash covers the bytes up to ImageSize (bmaptool's rule)
truncate -s $((10 * M - 512)) odd.raw
dd if=/dev/urandom of=odd.raw bs=4096 seek=100 count=600 conv=notrunc status=none
printf 'end' | dd of=odd.raw bs=1 seek=$((10 * M - 515)) conv=notrunc status=none
"$VHDX" convert -q odd.raw odd.vhdx || bad "odd: convert to VHDX"
"$VHDX" bmap odd.vhdx odd.bmap >/dev/null 2>&1 && ok "odd size: vhdx bmap" || bad "odd size: vhdx bmap"
grep -q "> 2559 </Range>" odd.bmap && ok "odd size: the partial last block is a range" ||
	bad "odd size: no range for the partial last block: $(grep -c Range odd.bmap) ranges"
rm -f copy.img
bmaptool copy --bmap odd.bmap odd.raw copy.img >bt.txt 2>&1 && ok "odd size: bmaptool copy accepts our bmap" ||
	bad "odd size: bmaptool copy: $(grep -i error bt.txt | head -2)"
cmp -s copy.img odd.raw && ok "odd size: the copy equals the raw" || bad "odd size: the copy differs"
bmaptool create odd.raw -o odd-theirs.bmap 2>/dev/null
"$VHDX" verify --zeros --bmap odd-theirs.bmap odd.vhdx >out.txt 2>&1 && ok "odd size: verify accepts bmaptool's bmap" ||
	bad "odd size: verify: $(cat out.txt)"

# -- tampering: win10-fixed-10M (payload contiguous from file offset 4 MiB)
img=s/win10-fixed-10M.vhdx
qemu-img convert -f vhdx -O raw "$img" fixed.raw
raw_sum=$(sha256sum <fixed.raw | cut -c1-64)
"$VHDX" bmap "$img" fixed.bmap >/dev/null 2>&1 || bad "fixed: vhdx bmap"
# the first mapped range and a byte in it
read -r first last < <(python3 -S -c 'import re
a, b = re.search(r"> (\d+)-(\d+) </Range>", open("fixed.bmap").read()).groups()
print(a, b)')
byte=$((first * 4096 + 100))
expect "verify, untouched" 0 "matches fixed.bmap" -- verify --bmap fixed.bmap "$img"
cp --sparse=always fixed.raw flipped.raw
flip_byte flipped.raw $byte
expect "a flipped byte in the raw" 1 "range $first-$last" -- verify --bmap fixed.bmap flipped.raw
grep -qE "expected sha256 [0-9a-f]{64}, found [0-9a-f]{64}" out.txt && ok "the mismatch names both hashes" ||
	bad "the mismatch does not name both hashes: $(cat out.txt)"
cp --sparse=always "$img" flipped.vhdx
flip_byte flipped.vhdx $((4 * M + byte))
expect "a flipped byte in the VHDX's data block" 1 "range $first-$last" -- verify --bmap fixed.bmap flipped.vhdx
# bmaptool says the same of the raw (its checksum is read while copying)
rm -f copy.img
bmaptool copy --bmap fixed.bmap flipped.raw copy.img >bt.txt 2>&1 && bad "bmaptool copied a flipped raw" ||
	{ grep -q "checksum mismatch for blocks range $first-$last" bt.txt && ok "bmaptool names the same range" ||
		bad "bmaptool: $(grep -i error bt.txt | head -2)"; }
# the bmap's ranges: edited and resealed (the file checksum right), or not
sed "0,/> $first-$last </s//> $((first + 1))-$last </" fixed.bmap >range.bmap
reseal range.bmap
sed -i "s/<MappedBlocksCount> \([0-9]*\) /<MappedBlocksCount> \1 /" range.bmap
python3 -S -c 'import re
p = "range.bmap"; t = open(p).read()
n = sum(int(b or a) - int(a) + 1 for a, b in re.findall(r"> (\d+)(?:-(\d+))? </Range>", t))
open(p, "w").write(re.sub(r"<MappedBlocksCount> \d+ ", "<MappedBlocksCount> %d " % n, t))'
reseal range.bmap
expect "a bmap range moved (resealed)" 1 "range $((first + 1))-$last" -- verify --bmap range.bmap "$img"
sed "0,/> $first-$last </s//> $((first + 1))-$last </" fixed.bmap >range2.bmap
expect "a bmap range moved (file checksum not updated)" 2 "BmapFileChecksum does not match" -- verify --bmap range2.bmap "$img"
# a chksum: one digit changed
edited=$(edit_chksum fixed.bmap chk.bmap first)
expect "a range chksum changed (file checksum not updated)" 2 "BmapFileChecksum does not match" -- verify --bmap chk.bmap "$img"
reseal chk.bmap
expect "a range chksum changed (resealed)" 1 "does not match chk.bmap: expected sha256 $edited, found" -- verify --bmap chk.bmap "$img"
# truncated
truncate_bmap fixed.bmap trunc.bmap
expect "a truncated bmap" 2 "truncated" -- verify --bmap trunc.bmap "$img"
head -c 700 fixed.bmap >trunc2.bmap
expect "a bmap cut in its head" 2 "truncated" -- verify --bmap trunc2.bmap "$img"
# another image's bmap: another size, or the same size and other content
"$VHDX" bmap s/win10-dynamic-10M.vhdx other.bmap >/dev/null 2>&1
expect "the bmap of another image of the same size" 1 "does not match other.bmap" -- verify --bmap other.bmap "$img"
"$VHDX" bmap s/win81-dynamic-100M.vhdx other100.bmap >/dev/null 2>&1
expect "the bmap of an image of another size" 2 "differs from" -- verify --bmap other100.bmap "$img"
# a wrong BmapFileChecksum
bad_file_checksum fixed.bmap sum.bmap
cmp -s sum.bmap fixed.bmap && bad "sum.bmap unchanged (test setup)"
expect "a wrong BmapFileChecksum" 2 "BmapFileChecksum does not match" -- verify --bmap sum.bmap "$img"
bmaptool copy --bmap sum.bmap fixed.raw copy.img >bt.txt 2>&1 && bad "bmaptool took a wrong BmapFileChecksum" ||
	ok "bmaptool refuses the wrong BmapFileChecksum too"
expect "no bmap file" 2 "cannot open" -- verify --bmap missing.bmap "$img"
# --zeros: a byte in a block the bmap leaves unmapped
cp --sparse=always fixed.raw stray.raw
hole=$(python3 -S -c 'import re
t = open("fixed.bmap").read(); n = int(re.search(r"<BlocksCount> (\d+) ", t).group(1))
m = set()
for a, b in re.findall(r"> (\d+)(?:-(\d+))? </Range>", t): m.update(range(int(a), int(b or a) + 1))
print(min(set(range(n)) - m))')
printf 'x' | dd of=stray.raw bs=1 seek=$((hole * 4096 + 7)) conv=notrunc status=none
expect "a stray byte in an unmapped block, without --zeros" 0 "matches" -- verify --bmap fixed.bmap stray.raw
expect "a stray byte in an unmapped block, --zeros" 1 "block $hole (byte $((hole * 4096 + 7)))" -- verify --zeros --bmap fixed.bmap stray.raw
# another size: a raw file one block longer
cp --sparse=always fixed.raw long.raw
truncate -s +4096 long.raw
expect "a raw file of another size" 2 "differs from" -- verify --bmap fixed.bmap long.raw
# writing: OUT replaced whole, never the source, never a device
expect "bmap onto its own source" 2 "is the source" -- bmap fixed.raw fixed.raw
expect "bmap onto a directory" 2 "not a regular file" -- bmap fixed.raw chain
[ "$(sha256sum <fixed.raw | cut -c1-64)" = "$raw_sum" ] && [ "$(sha256sum <"$img" | cut -c1-64)" = "$(cat "$img.sha256")" ] &&
	ok "the sources are unchanged (bmap and verify only read)" || bad "a source changed"
finish
