#!/usr/bin/env bash
# test_convert.sh - `vhdx convert -O raw SOURCE TARGET`: the virtual disk of
# a VHDX written as a raw file or onto a block device.
#  1. every image in ../shared/samples: byte for byte what qemu-img convert
#     makes of it (where qemu-img cannot read it: 7-Zip, or a note saying
#     why neither can), the DiscUtils filesystems recognised by blkid, file
#     and fdisk, and the source's sha256 unchanged by every command;
#  2. differencing chains written by hand (PARTIALLY_PRESENT blocks with
#     sector bitmaps, ZERO and FULLY_PRESENT blocks, 512 and 4096-byte
#     sectors, depth 2 and 3, a child's block larger than its parent's, a
#     bitmap in the second chunk): equal to 7-Zip's reading and to the model
#     tests/host/vhdx_poke.py writes beside them; a missing, wrong or
#     cyclic parent refused;
#  3. bad input: one line on stderr, exit 2, nothing touched;
#  4. -f onto old data, --sparse, a new file sparse;
#  5. SIGINT part-way: exit 1, a message, the target's first MiB zero (or
#     the new file removed).
# Byte-for-byte comparisons of large sparse raw files use qemu-img compare
# -f raw -F raw (it compares every byte, skipping holes in both through
# SEEK_HOLE: cmp takes 15-30 s per 10 GiB disk here), those up to 32 MiB cmp.
source "$(dirname "$0")/lib.sh"
need_samples
M=$((1024 * 1024))
POKE="python3 -S $PWD/tests/host/vhdx_poke.py"
SHIM_SRC=$PWD/tests/host/faultshim.c
SAMPLES=$(realpath "$SAMPLES")
cd "$T" || exit 2
# loop devices this script attached (detached once, by name: other tests
# running beside this one attach their own)
devs=()
attach() { # FILE [SECTOR]: sets $dev
	dev=$(losetup -f --show ${2:+--sector-size "$2"} "$1" 2>err.txt) && devs+=("$dev")
}
detach() {
	local d keep=()
	losetup -d "$1"
	for d in "${devs[@]}"; do [ "$d" = "$1" ] || keep+=("$d"); done
	devs=("${keep[@]}")
}
cleanup() { local d; for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
t_start=$(date +%s)

# sha256 of a file (openssl uses the CPU's SHA instructions: 5x faster here)
if command -v openssl >/dev/null; then sum256() { openssl dgst -sha256 -r "$1" | cut -c1-64; }
else sum256() { sha256sum <"$1" | cut -c1-64; }; fi
# same_bytes A B: byte for byte (sizes included): cmp, or for files over
# 32 MiB qemu-img compare -f raw -F raw plus equal sizes (cmp reads 100 MB/s here)
same_bytes() {
	[ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] || { echo "sizes $(stat -c %s "$1") and $(stat -c %s "$2")"; return 1; }
	if [ "$(stat -c %s "$1")" -le $((32 * M)) ]; then
		cmp "$1" "$2" 2>&1
	else
		qemu-img compare -q -f raw -F raw "$1" "$2" 2>&1 || { qemu-img compare -f raw -F raw "$1" "$2" 2>&1; return 1; }
	fi
}
# one_line WHAT RC-WANTED: the last command's exit status and stderr (err.txt)
one_line() {
	if [ "$2" -ne "$3" ]; then bad "$1: exit $2, expected $3: $(head -3 err.txt)"; return 1; fi
	if [ "$(wc -l <err.txt)" -ne 1 ]; then bad "$1: stderr is not one line: $(cat err.txt)"; return 1; fi
	return 0
}
# old N: N bytes of old, non-zero data (a text pattern: /dev/urandom is slow here)
old() { yes "old data 0123456789 abcdefghijklmnopqrstuvwxyz" | head -c "$1"; }
# part_start RAW: the first partition's start in bytes (sfdisk's reading)
part_start() { sfdisk -J "$1" 2>/dev/null | python3 -S -c 'import json,sys
t = json.load(sys.stdin)["partitiontable"]
print(t["partitions"][0]["start"] * t.get("sectorsize", 512))'; }

# the validator that large comparisons rest on must see a one-byte difference
truncate -s 2G v1.raw
cp --sparse=always v1.raw v2.raw
printf '\001' | dd of=v2.raw bs=1 seek=$((1536 * M + 7)) conv=notrunc status=none
if ! qemu-img compare -q -f raw -F raw v1.raw v2.raw 2>/dev/null && qemu-img compare -q -f raw -F raw v1.raw v1.raw; then
	ok "validator: qemu-img compare -f raw sees one byte in 2 GiB of holes"
else
	bad "validator: qemu-img compare -f raw missed a one-byte difference"
fi
rm -f v1.raw v2.raw

###########################################################################
# 1. the samples, decompressed side by side (two cores), written sparse;
# the sha256 of each is taken from the decompressed stream as it passes
mkdir -p out
unpack_samples src
echo "  (samples decompressed: $(( $(date +%s) - t_start )) s)"
n=$(ls src | grep -vc "\.sha256$")
[ "$n" -eq "$(ls "$SAMPLES" | grep -cE '\.(gz|bz2)$')" ] && ok "$n samples decompressed" || bad "only $n samples decompressed"

# name  how qemu-img reads it  what the converted disk must be recognised as
#   qemu: qemu-img convert reads it;  replay: qemu-img refuses the dirty
#   log: qemu-img check -r all on a copy first;  none: no reader can
#   part1:TYPE blkid -p TYPE of partition 1;  whole:TYPE of the disk;
#   parts:N:dos MBR with N partitions (fdisk -l, blkid PTTYPE);
#   bytes:OFF=HEX,... single bytes (from the sample's README);  - none
while read -r name how want <&3; do
	img=$(ls src/"$name".*vhdx 2>/dev/null | head -1)
	[ -f "$img" ] || { bad "$name: not decompressed"; continue; }
	sum0=$(cat "$img.sha256")
	raw=out/$name.raw
	"$VHDX" convert -q -O raw "$img" "$raw" 2>err.txt
	rc=$?
	if [ "$how" = none ]; then
		# the Hyper-V checkpoint without its (unpublished) parent
		if one_line "$name: convert without its parent" $rc 2 && grep -q "relative_path" err.txt && grep -q "parent absent" err.txt &&
			[ ! -e "$raw" ]; then
			ok "$name: convert refuses, naming the missing parent link"
		else
			bad "$name: refusal: $(cat err.txt)"
		fi
		echo "  note: $name: no reader can check its content: its parent is not public (qemu-img does not open children; 7zz needs the parent too)"
		[ "$(sum256 "$img")" = "$sum0" ] && ok "$name: source unchanged" || bad "$name: source changed"
		continue
	fi
	[ $rc -eq 0 ] && ok "$name: convert" || { bad "$name: convert exit $rc: $(cat err.txt)"; continue; }
	vs=$($POKE geom "$img" | python3 -S -c 'import json,sys; print(json.load(sys.stdin)["virtual_size"])')
	[ "$(stat -c %s "$raw")" = "$vs" ] && ok "$name: the raw file is the virtual size, $vs bytes" ||
		bad "$name: raw size $(stat -c %s "$raw"), virtual size $vs"
	# the reference
	ref=out/$name.qemu.raw
	if [ "$how" = replay ]; then
		cp --sparse=always "$img" out/copy.vhdx
		qemu-img convert -f vhdx -O raw "$img" out/x.raw >/dev/null 2>&1 && bad "$name: qemu-img now reads the dirty log read-only?"
		if qemu-img check -q -r all -f vhdx out/copy.vhdx >/dev/null 2>&1 && qemu-img convert -f vhdx -O raw out/copy.vhdx "$ref"; then
			echo "  note: $name: reference = qemu-img convert after qemu-img check -r all on a copy; 7zz does not replay a log ('non-empty LOG was not replayed')"
		else
			bad "$name: qemu-img could not replay a copy"; continue
		fi
		rm -f out/copy.vhdx out/x.raw
	else
		qemu-img convert -f vhdx -O raw "$img" "$ref" || { bad "$name: qemu-img convert failed"; continue; }
	fi
	if why=$(same_bytes "$raw" "$ref"); then ok "$name: our raw disk equals qemu-img's, byte for byte"; else bad "$name: differs from qemu-img's: $why"; fi
	"$VHDX" compare "$img" "$ref" >cmp.txt 2>&1 && ok "$name: vhdx compare with qemu-img's raw disk: identical" || bad "$name: compare: $(cat cmp.txt)"
	rm -f "$ref"
	# recognised
	case $want in
	part1:*)
		t=${want#part1:}
		st=$(part_start "$raw")
		got=$([ -n "$st" ] && blkid -p -O "$st" -o value -s TYPE "$raw")
		[ "$got" = "$t" ] && ok "$name: partition 1 is $t (blkid -p at $st)" || bad "$name: partition 1 is '$got', expected $t" ;;
	whole:*)
		t=${want#whole:}
		got=$(blkid -p -o value -s TYPE "$raw")
		[ "$got" = "$t" ] && file -s "$raw" | grep -qi "$t" && ok "$name: the disk is $t (blkid -p, file -s)" ||
			bad "$name: the disk is '$got' / $(file -s "$raw")" ;;
	parts:*)
		np=$(cut -d: -f2 <<<"$want"); pt=$(cut -d: -f3 <<<"$want")
		got=$(fdisk -l "$raw" 2>/dev/null | grep -c "^$raw[0-9]")
		[ "$got" = "$np" ] && [ "$(blkid -p -o value -s PTTYPE "$raw")" = "$pt" ] && file -s "$raw" | grep -q "DOS/MBR boot sector" &&
			ok "$name: $pt partition table with $np partitions (fdisk -l, blkid, file -s)" ||
			bad "$name: $got partitions, PTTYPE $(blkid -p -o value -s PTTYPE "$raw"): $(fdisk -l "$raw" 2>&1 | tail -3)" ;;
	bytes:*)
		allok=1
		for kv in $(tr , ' ' <<<"${want#bytes:}"); do
			o=$((${kv%=*})); v=${kv#*=}
			[ "$(od -An -tx1 -j "$o" -N1 "$raw" | tr -d ' ')" = "$v" ] || { allok=0; bad "$name: byte at $o is not $v"; }
		done
		[ $allok = 1 ] && ok "$name: the bytes its README describes" ;;
	-) ;;
	esac
	# content fits the data: a new file is sparse where the disk is unallocated
	[ "$(du -k "$raw" | cut -f1)" -le $(( $(stat -c %s "$img") / 1024 + 1024 )) ] &&
		ok "$name: the new raw file is sparse (du $(du -k "$raw" | cut -f1) KiB for a $(( $(stat -c %s "$raw") / M )) MiB disk)" ||
		bad "$name: raw file not sparse: du $(du -k "$raw" | cut -f1) KiB, source $(stat -c %s "$img") bytes"
	# info and check never write either
	"$VHDX" info "$img" >/dev/null 2>&1
	"$VHDX" check "$img" >/dev/null 2>&1
	[ "$(sum256 "$img")" = "$sum0" ] && ok "$name: source sha256 unchanged by convert, compare, info, check" || bad "$name: source changed"
	rm -f "$raw"
done 3<<'EOF'
hyperv2012-dynamic-1G          qemu    bytes:0=a5,34603007=a5,34603008=96,69206015=96,69206016=00
win81-dynamic-100M             qemu    part1:vfat
win10-dynamic-10M              qemu    part1:ntfs
win10-fixed-10M                qemu    part1:ntfs
win10-differencing-8G-child    none    -
disk2vhd-256M                  qemu    parts:1:dos
qemu1.6-dirtylog-10G           replay  -
discutils-btrfs                qemu    part1:btrfs
discutils-lvm2                 qemu    part1:LVM2_member
discutils-swap                 qemu    whole:swap
discutils-vhdx-log-replay      replay  parts:2:dos
discutils-xfs                  qemu    part1:xfs
discutils-xfs5                 qemu    part1:xfs
EOF
rm -rf src out
echo "  (samples: $(( $(date +%s) - t_start )) s)"

###########################################################################
# 2. chains written by hand: base (1 MiB blocks) <- c1 (2 MiB) <- c2 (8 MiB)
t2=$(date +%s)
mkdir -p chain
chain_ok() { # DIR LEVEL: convert, 7zz, compare, check of DIR/c$LEVEL.vhdx
	local d=$1 c=$1/c$2.vhdx what="chain $1 depth $(($2 + 1))" rc st
	"$VHDX" check "$c" >chk.txt 2>&1 && ok "$what: vhdx check accepts the hand-written child" ||
		bad "$what: vhdx check: $(grep -E 'error|warn' chk.txt | head -3)"
	rm -f "$d/our.raw"
	"$VHDX" convert -q -O raw "$c" "$d/our.raw" 2>err.txt
	rc=$?
	[ $rc -eq 0 ] || { bad "$what: convert exit $rc: $(cat err.txt)"; return; }
	cmp -s "$d/our.raw" "$d/c$2.model" && ok "$what: convert equals the model" ||
		bad "$what: convert differs from the model: $(cmp "$d/our.raw" "$d/c$2.model" 2>&1)"
	7zz e -tvhdx -so "$c" 2>/dev/null >"$d/7z.raw"
	st=$?
	[ $st -eq 0 ] && cmp -s "$d/our.raw" "$d/7z.raw" && ok "$what: convert equals 7zz e (7-Zip follows the chain)" ||
		bad "$what: 7zz exit $st; $(cmp "$d/our.raw" "$d/7z.raw" 2>&1)"
	"$VHDX" compare "$c" "$d/7z.raw" >cmp.txt 2>&1 && ok "$what: vhdx compare child 7zz-raw: 0" || bad "$what: compare: $(cat cmp.txt)"
}
for lss in 512 4096; do
	d=chain/l$lss
	mkdir -p "$d"
	S=$((40 * M))
	"$VHDX" create -q -b 1M --logical-sector-size $lss -s $S "$d/base.vhdx" || { bad "base $lss"; continue; }
	truncate -s $S "$d/base.model"
	$POKE blocks "$d/base.vhdx" "$d/base.model" 0 full:0 full:3 full:4 full:9 full:20 full:39 || bad "poke base $lss"
	"$VHDX" create -q -t differencing --parent "$d/base.vhdx" "$d/c1.vhdx" || { bad "c1 $lss"; continue; }
	cp "$d/base.model" "$d/c1.model"
	# c1, 2 MiB blocks: partial (runs mid-byte), full, zero over parent data,
	# partial with no bit set, not present (from the parent)
	$POKE blocks "$d/c1.vhdx" "$d/c1.model" 1 partial:0:1 full:2 zero:4 partial:5:2 empty:10 partial:19:3 || bad "poke c1 $lss"
	"$VHDX" create -q -t differencing -b 8M --parent "$d/c1.vhdx" "$d/c2.vhdx" || { bad "c2 $lss"; continue; }
	cp "$d/c1.model" "$d/c2.model"
	# c2, 8 MiB blocks (each over four of c1's, eight of base's)
	$POKE blocks "$d/c2.vhdx" "$d/c2.model" 2 partial:0:4 partial:2:5 full:4 || bad "poke c2 $lss"
	for f in base c1 c2; do eval "sum_$f=\$(sum256 \$d/\$f.vhdx)"; done
	cmp -s "$d/base.model" "$d/c1.model" && bad "$lss: c1 changes nothing (test setup)"
	cmp -s "$d/c1.model" "$d/c2.model" && bad "$lss: c2 changes nothing (test setup)"
	chain_ok "$d" 1
	chain_ok "$d" 2
	[ "$(sum256 "$d/base.vhdx")" = "$sum_base" ] && [ "$(sum256 "$d/c1.vhdx")" = "$sum_c1" ] && [ "$(sum256 "$d/c2.vhdx")" = "$sum_c2" ] &&
		ok "chain $lss: no file of the chain written" || bad "chain $lss: a file of the chain changed"
done

# a bitmap in the second chunk: 512-byte sectors, 2 MiB child blocks: the
# chunk is 4 GiB (2048 blocks); partial blocks 2047 (the last of chunk 0),
# 2048 and 2051 (chunk 1: BAT entries after chunk 0's bitmap entry, and a
# second bitmap block), 2050 full; the parent's blocks beneath them
d=chain/chunk
mkdir -p "$d"
S=$((4096 * M + 8 * M))
"$VHDX" create -q -b 1M -s $S "$d/base.vhdx"
truncate -s $S "$d/base.model"
$POKE blocks "$d/base.vhdx" "$d/base.model" 0 full:4095 full:4097 full:4100 || bad "poke chunk base"
"$VHDX" create -q -t differencing --parent "$d/base.vhdx" "$d/c1.vhdx"
cp --sparse=always "$d/base.model" "$d/c1.model"
$POKE blocks "$d/c1.vhdx" "$d/c1.model" 1 partial:2047:7 partial:2048:8 full:2050 partial:2051:9 || bad "poke chunk c1"
"$VHDX" check "$d/c1.vhdx" >chk.txt 2>&1 && ok "chunk-crossing child: vhdx check accepts it" || bad "chunk child check: $(head -3 chk.txt)"
if "$VHDX" convert -q -O raw "$d/c1.vhdx" "$d/our.raw" 2>err.txt; then
	why=$(same_bytes "$d/our.raw" "$d/c1.model") && ok "chunk-crossing child (4104 MiB): convert equals the model" ||
		bad "chunk-crossing child: convert differs from the model: $why"
else
	bad "chunk-crossing child: convert: $(cat err.txt)"
fi
"$VHDX" compare "$d/c1.vhdx" "$d/c1.model" >cmp.txt 2>&1 && ok "chunk-crossing child: vhdx compare with the model: 0" || bad "chunk compare: $(cat cmp.txt)"
echo "  note: 7zz not run on the 4 GiB chunk-crossing child: streaming 4 GiB through a pipe takes about 25 s here; compared with the model only"
rm -rf "$d"

# a missing, wrong or cyclic parent: exit 2, one line naming the link, no target
d=chain/l512
refuse_chain() { # WHAT CHILD WORD...: refused, one line, naming each WORD
	local what=$1 c=$2 w
	shift 2
	rm -f bad.raw
	"$VHDX" convert -q -O raw "$c" bad.raw 2>err.txt
	one_line "$what" $? 2 || return
	for w in "$@"; do grep -qF -- "$w" err.txt || { bad "$what: '$w' not named: $(cat err.txt)"; return; }; done
	[ ! -e bad.raw ] && ok "$what: refused, one line naming the link, no target" || bad "$what: target created"
}
mv "$d/c1.vhdx" "$d/c1.moved"
refuse_chain "missing parent (level 1 of 2)" "$d/c2.vhdx" "c1.vhdx" "parent absent"
mv "$d/c1.moved" "$d/c1.vhdx"
mv "$d/base.vhdx" "$d/base.moved"
refuse_chain "missing grandparent" "$d/c2.vhdx" "base.vhdx" "parent absent"
"$VHDX" create -q -b 1M -s 40M "$d/base.vhdx"   # same name and size, another DataWriteGuid
refuse_chain "wrong grandparent (another DataWriteGuid)" "$d/c2.vhdx" "base.vhdx" "DataWriteGuid"
rm -f "$d/base.vhdx"
mv "$d/base.moved" "$d/base.vhdx"
dwg() { "$VHDX" info --json "$1" | python3 -S -c 'import json,sys
i = json.load(sys.stdin); print(i["headers"][i["current_header"] - 1]["data_write_guid"].lower())'; }
# a cycle: b0 <- c1 <- c2, then c1's locator patched to name c2 (same name
# length, c2's DataWriteGuid)
y=chain/cycle
mkdir -p "$y"
"$VHDX" create -q -b 1M -s 8M "$y/b0.vhdx"
"$VHDX" create -q -t differencing --parent "$y/b0.vhdx" "$y/c1.vhdx"
"$VHDX" create -q -t differencing --parent "$y/c1.vhdx" "$y/c2.vhdx"
python3 -S - "$y/c1.vhdx" "$(dwg "$y/b0.vhdx")" "$(dwg "$y/c2.vhdx")" <<'PY' || bad "cycle patch failed"
import sys
img, old, new = sys.argv[1], sys.argv[2], sys.argv[3]
data = bytearray(open(img, 'rb').read())
for a, b in ((old, new), ('.\\b0.vhdx', '.\\c2.vhdx')):
    a, b = a.encode('utf-16-le'), b.encode('utf-16-le')
    i = data.find(a)
    assert i > 0 and len(a) == len(b), (a, i)
    data[i:i + len(b)] = b
open(img, 'wb').write(data)
PY
refuse_chain "cyclic chain" "$y/c2.vhdx" "c2.vhdx" "cycle"
echo "  (chains: $(( $(date +%s) - t2 )) s)"

###########################################################################
# 3. bad input: exit 2, one line, nothing touched
t3=$(date +%s)
"$VHDX" create -q -s 64M -b 1M img.vhdx
qemu-io -f vhdx -c "write -P 0x11 0 3M" -c "write -P 0x22 40M 1M" img.vhdx >/dev/null
qemu-img convert -f vhdx -O raw img.vhdx ref.raw
sum_img=$(sum256 img.vhdx)
refuse() { # WHAT TARGET-TO-HASH WORD -- ARGS: exit 2, one line with WORD, source and target unchanged
	local what=$1 tgt=$2 word=$3 before after rc
	shift 4
	before=$([ -f "$tgt" ] || [ -b "$tgt" ] && sum256 "$tgt")
	"$VHDX" convert "$@" >out.txt 2>err.txt
	rc=$?
	one_line "$what" $rc 2 || return
	after=$([ -f "$tgt" ] || [ -b "$tgt" ] && sum256 "$tgt")
	if ! grep -qF -- "$word" err.txt; then bad "$what: message lacks '$word': $(cat err.txt)"
	elif [ "$before" != "$after" ]; then bad "$what: the target changed"
	elif [ "$(sum256 img.vhdx)" != "$sum_img" ]; then bad "$what: the source changed"
	else ok "$what: refused (exit 2, one line), nothing touched"; fi
}
refuse "onto its own source" img.vhdx "is the source" -- -q -O raw img.vhdx img.vhdx
refuse "onto its own source, -f" img.vhdx "is the source" -- -q -f -O raw img.vhdx img.vhdx
ln -s img.vhdx link.img
refuse "onto a symlink to its source, -f" img.vhdx "is the source" -- -q -f img.vhdx link.img
ln img.vhdx hard.img
refuse "onto a hard link of its source, -f" img.vhdx "is the source" -- -q -f img.vhdx hard.img
rm -f link.img hard.img
refuse "onto its source by another path, -f" img.vhdx "is the source" -- -q -f -O raw img.vhdx "../$(basename "$T")/img.vhdx"
d=chain/l512
for f in base c1 c2; do eval "s_$f=\$(sum256 \$d/\$f.vhdx)"; done
refuse "onto the parent of the source's chain, -f" "$d/c1.vhdx" "one of its parents" -- -q -f -O raw "$d/c2.vhdx" "$d/c1.vhdx"
refuse "onto the grandparent of the source's chain, -f" "$d/base.vhdx" "one of its parents" -- -q -f -O raw "$d/c2.vhdx" "$d/base.vhdx"
[ "$(sum256 "$d/c2.vhdx")" = "$s_c2" ] && [ "$(sum256 "$d/c1.vhdx")" = "$s_c1" ] && [ "$(sum256 "$d/base.vhdx")" = "$s_base" ] &&
	ok "the chain unchanged by the refusals" || bad "a file of the chain changed"
mkdir adir
refuse "to a directory" adir "is a directory" -- -q img.vhdx adir
[ -z "$(ls -A adir)" ] && ok "the directory is still empty" || bad "files appeared in the directory: $(ls adir)"
old $((5 * M)) >old.raw
refuse "onto an existing non-empty file without -f" old.raw "--force" -- -q img.vhdx old.raw
truncate -s 64M holes.raw
refuse "onto an existing file of holes without -f (README: a non-empty file needs --force)" holes.raw "--force" -- -q img.vhdx holes.raw
# a *.vhdx source is a VHDX: without the signature it is refused with the
# reader's reason, never copied as raw bytes (as vhdx.efi does)
head -c $((2 * M)) /dev/urandom >broken.vhdx
rm -f nothere.raw
refuse "a *.vhdx source without the signature" nothere.raw "cannot be read as a VHDX" -- -q broken.vhdx nothere.raw
[ ! -e nothere.raw ] && ok "a *.vhdx source without the signature: no target" || bad "a broken *.vhdx: target created"
rm -f nothere.raw
"$VHDX" convert -q missing.vhdx nothere.raw 2>err.txt
one_line "a missing source" $? 2 && grep -q missing.vhdx err.txt && [ ! -e nothere.raw ] && ok "a missing source: refused, no target" ||
	bad "missing source: $(cat err.txt)"
"$VHDX" convert -n img.vhdx nothere.raw >out.txt 2>err.txt
[ $? -eq 0 ] && [ ! -e nothere.raw ] && grep -q "dry run: nothing written" out.txt && ok "-n: a plan, no target" || bad "-n: $(cat out.txt err.txt)"
: >empty.raw
"$VHDX" convert -q img.vhdx empty.raw 2>err.txt && same_bytes empty.raw ref.raw >/dev/null && ok "an existing empty file needs no -f" ||
	bad "empty existing file: $(cat err.txt)"
if [ "$(id -u)" != 0 ]; then
	skipped "block-device refusals: not root"
elif ! losetup -f >/dev/null 2>&1; then
	skipped "block-device refusals: no free loop device (losetup -f failed)"
else
	truncate -s 16M tiny.img
	if attach tiny.img; then
		s=$(sum256 tiny.img)
		refuse "onto a too-small block device ($dev, 16 MiB), -f" "$dev" "too small" -- -q -f img.vhdx "$dev"
		grep -q "$((64 * M)) bytes" err.txt && grep -q "$((16 * M)) bytes" err.txt && ok "too small: both sizes said" || bad "too small: $(cat err.txt)"
		detach "$dev"
		[ "$(sum256 tiny.img)" = "$s" ] && ok "the small device's backing file unchanged" || bad "tiny.img changed"
	else
		bad "losetup of a 16 MiB file failed: $(cat err.txt)"
	fi
	# a loop device whose backing file is the source itself: the same bytes by
	# another name (a fixed image's file is larger than its disk)
	"$VHDX" create -q -t fixed -s 16M -b 1M fx.vhdx
	qemu-io -f vhdx -c "write -P 0x5a 0 1M" fx.vhdx >/dev/null
	s=$(sum256 fx.vhdx)
	if attach fx.vhdx; then
		"$VHDX" convert -q -f fx.vhdx "$dev" >out.txt 2>err.txt
		rc=$?
		detach "$dev"
		[ $rc -eq 2 ] && [ "$(sum256 fx.vhdx)" = "$s" ] && ok "onto a loop device backed by the source: refused" ||
			bad "onto a loop device backed by the source file, -f: exit $rc, source $([ "$(sum256 fx.vhdx)" = "$s" ] && echo unchanged || echo OVERWRITTEN) ($(cat err.txt)); expected exit 2 and the source untouched"
	else
		bad "losetup of fx.vhdx failed: $(cat err.txt)"
	fi
fi

# sector sizes: a partition table counts sectors; onto a device whose
# sectors are others it is refused (exit 2, one line naming what was found,
# both sizes and the option), the device untouched; --allow-sector-mismatch
# writes it; an image without MBR or GPT (img.vhdx), or a filesystem's boot
# sector without a table, goes through
if [ "$(id -u)" != 0 ]; then
	skipped "sector-size mismatch: not root (loop devices with 4096-byte sectors)"
elif ! losetup -f >/dev/null 2>&1; then
	skipped "sector-size mismatch: no free loop device (losetup -f failed)"
else
	truncate -s 64M gpt512.raw
	sgdisk -o -n 1:2048:+16M -t 1:ef00 gpt512.raw >/dev/null || bad "sgdisk on gpt512.raw"
	truncate -s 64M mbr512.raw
	printf 'label: dos\n2048,32768,83\n' | sfdisk -q mbr512.raw >/dev/null || bad "sfdisk on mbr512.raw"
	truncate -s 64M gpt4k.raw
	if attach gpt4k.raw 4096; then
		sgdisk -o -n 1:256:+16M -t 1:ef00 "$dev" >/dev/null || bad "sgdisk on a 4096-byte-sector loop device"
		detach "$dev"
	else
		bad "losetup --sector-size 4096 failed: $(cat err.txt)"
	fi
	[ "$(dd if=gpt4k.raw bs=1 skip=4096 count=8 status=none)" = "EFI PART" ] &&
		[ "$(dd if=gpt512.raw bs=1 skip=512 count=8 status=none)" = "EFI PART" ] ||
		bad "the GPT headers are not at LBA 1 (byte 512, byte 4096)"
	mkfs.vfat -C fat.raw 65536 >/dev/null || bad "mkfs.vfat fat.raw"
	"$VHDX" convert -q gpt512.raw gpt512.vhdx && "$VHDX" convert -q mbr512.raw mbr512.vhdx &&
		"$VHDX" convert -q --logical-sector-size 4096 gpt4k.raw gpt4k.vhdx &&
		"$VHDX" convert -q fat.raw fat.vhdx || bad "the sector-size images as VHDX"
	old $((80 * M)) >d4k.img
	old $((80 * M)) >d512.img
	if attach d4k.img 4096 && d4k=$dev && attach d512.img 512 && d512=$dev; then
		refuse "a 512-byte-sector VHDX with a GPT onto a 4096-byte-sector device, -f" "$d4k" "--allow-sector-mismatch" -- \
			-q -f gpt512.vhdx "$d4k"
		grep -qF "sector size mismatch: the image's GPT partition table (header at byte 512, LBA 1) counts 512-byte sectors, the device's are 4096 bytes" err.txt &&
			grep -qF "refusing to write it (--allow-sector-mismatch writes it anyway)" err.txt &&
			ok "the refusal names the GPT, both sector sizes and the option" || bad "GPT 512 onto 4096: $(cat err.txt)"
		refuse "the same, -n (the plan too is refused)" "$d4k" "--allow-sector-mismatch" -- -n -f gpt512.vhdx "$d4k"
		refuse "a 512-byte-sector VHDX with an MBR onto a 4096-byte-sector device, -f" "$d4k" "--allow-sector-mismatch" -- \
			-q -f mbr512.vhdx "$d4k"
		grep -qF "the image's MBR partition table counts the image's 512-byte sectors, the device's are 4096 bytes" err.txt &&
			ok "the refusal names the MBR and both sector sizes" || bad "MBR 512 onto 4096: $(cat err.txt)"
		refuse "a 4096-byte-sector VHDX with a GPT onto a 512-byte-sector device, -f" "$d512" "--allow-sector-mismatch" -- \
			-q -f gpt4k.vhdx "$d512"
		grep -qF "GPT partition table (header at byte 4096, LBA 1) counts 4096-byte sectors, the device's are 512 bytes" err.txt &&
			ok "4096 onto 512: both sector sizes said" || bad "GPT 4096 onto 512: $(cat err.txt)"
		refuse "a raw file with a 4096-byte GPT onto a 512-byte-sector device, -f" "$d512" "--allow-sector-mismatch" -- \
			-q -f gpt4k.raw "$d512"
		# what goes through: the option, a matching device, no table
		"$VHDX" convert -f -y --allow-sector-mismatch gpt512.vhdx "$d4k" >out.txt 2>err.txt &&
			cmp -s <(head -c $((64 * M)) "$d4k") gpt512.raw &&
			grep -qF "  note           sector size mismatch: the image's GPT" out.txt &&
			grep -qF "written anyway (--allow-sector-mismatch)" out.txt &&
			ok "--allow-sector-mismatch: written anyway, byte for byte, with a plan note" ||
			bad "--allow-sector-mismatch: $(cat err.txt) $(grep note out.txt)"
		"$VHDX" convert -q -f gpt512.vhdx "$d512" 2>err.txt && cmp -s <(head -c $((64 * M)) "$d512") gpt512.raw &&
			ok "a 512-byte GPT onto a 512-byte-sector device: written" || bad "GPT 512 onto 512: $(cat err.txt)"
		"$VHDX" convert -q -f gpt4k.vhdx "$d4k" 2>err.txt && cmp -s <(head -c $((64 * M)) "$d4k") gpt4k.raw &&
			ok "a 4096-byte GPT onto a 4096-byte-sector device: written" || bad "GPT 4096 onto 4096: $(cat err.txt)"
		"$VHDX" convert -q -f img.vhdx "$d4k" 2>err.txt && cmp -s <(head -c $((64 * M)) "$d4k") ref.raw &&
			ok "an image without MBR or GPT onto a 4096-byte-sector device: written as before" ||
			bad "no table onto 4096: $(cat err.txt)"
		"$VHDX" convert -q -f fat.vhdx "$d4k" 2>err.txt && cmp -s <(head -c $((64 * M)) "$d4k") fat.raw &&
			ok "a whole-disk FAT (a boot sector, no partition table) onto a 4096-byte-sector device: written" ||
			bad "FAT onto 4096: $(cat err.txt)"
		"$VHDX" compare -q fat.vhdx "$d4k" && ok "compare: the 80 MiB device holds the 64 MiB image" ||
			bad "compare fat.vhdx with its device"
		detach "$d4k"
		detach "$d512"
	else
		bad "losetup of the 4096/512-byte-sector devices failed: $(cat err.txt)"
	fi
fi
echo "  (bad input: $(( $(date +%s) - t3 )) s)"

###########################################################################
# 4. -f onto old data, --sparse, a new file sparse
t4=$(date +%s)
old $((100 * M)) >old.raw
"$VHDX" convert -q -f img.vhdx old.raw 2>err.txt && why=$(same_bytes old.raw ref.raw) &&
	ok "-f onto 100 MiB of old data: the file equals the disk (zeros written over old data, size cut to 64 MiB)" ||
	bad "-f onto old data: $(cat err.txt) $why"
old $((32 * M)) >old.raw
"$VHDX" convert -q -f img.vhdx old.raw 2>err.txt && why=$(same_bytes old.raw ref.raw) &&
	ok "-f onto a shorter file of old data: equals the disk" || bad "-f onto a shorter file: $(cat err.txt) $why"
# --sparse: the target is said to read as zeros already: zero ranges skipped
truncate -s 64M holes.raw
"$VHDX" convert -q -f --sparse img.vhdx holes.raw 2>err.txt && why=$(same_bytes holes.raw ref.raw) &&
	ok "--sparse onto a file of holes: equals the disk" || bad "--sparse onto holes: $(cat err.txt) $why"
[ "$(du -k holes.raw | cut -f1)" -le 8192 ] && ok "--sparse: zero ranges not written (du $(du -k holes.raw | cut -f1) KiB)" ||
	bad "--sparse wrote zero ranges: du $(du -k holes.raw | cut -f1) KiB"
old $((64 * M)) >junk.raw
cp junk.raw junk.orig
"$VHDX" convert -q -f --sparse img.vhdx junk.raw 2>err.txt || bad "--sparse onto junk: $(cat err.txt)"
cmp -s <(head -c $((3 * M)) junk.raw) <(head -c $((3 * M)) ref.raw) &&
	cmp -s <(tail -c +$((40 * M + 1)) junk.raw | head -c $M) <(tail -c +$((40 * M + 1)) ref.raw | head -c $M) &&
	cmp -s <(tail -c +$((10 * M + 1)) junk.raw | head -c $((20 * M))) <(tail -c +$((10 * M + 1)) junk.orig | head -c $((20 * M))) &&
	ok "--sparse onto old data: data ranges written, zero ranges left as found (as documented)" ||
	bad "--sparse onto old data: not as documented"
# a new file: sparse where the disk reads as zeros
"$VHDX" create -q -s 4G -b 1M big.vhdx
qemu-io -f vhdx -c "write -P 0x31 0 1M" -c "write -P 0x32 3G 1M" big.vhdx >/dev/null
"$VHDX" convert -q big.vhdx big.raw 2>err.txt || bad "convert big: $(cat err.txt)"
[ "$(stat -c %s big.raw)" -eq $((4096 * M)) ] && [ "$(du -k big.raw | cut -f1)" -le $((16 * 1024)) ] &&
	ok "a new file of a 4 GiB disk holding 2 MiB: sparse (du $(du -k big.raw | cut -f1) KiB)" ||
	bad "new file not sparse: size $(stat -c %s big.raw), du $(du -k big.raw | cut -f1) KiB"
"$VHDX" compare big.vhdx big.raw >/dev/null && ok "the sparse file reads as the disk" || bad "sparse big.raw differs"
rm -f big.raw
if [ "$(id -u)" = 0 ] && losetup -f >/dev/null 2>&1; then
	old $((80 * M)) >disk.img
	if attach disk.img; then
		"$VHDX" convert -q -f img.vhdx "$dev" 2>err.txt || bad "onto a device: $(cat err.txt)"
		cmp -s <(head -c $((64 * M)) "$dev") ref.raw && ok "-f onto an 80 MiB device of old data: its first 64 MiB are the disk" ||
			bad "device content differs: $(cmp <(head -c $((64 * M)) "$dev") ref.raw 2>&1)"
		"$VHDX" compare img.vhdx "$dev" >cmp.txt 2>&1
		[ $? -eq 0 ] && grep -q "the device holds the image; its last $((16 * M)) bytes were not compared" cmp.txt &&
			ok "compare of the disk with the larger device (old data in its tail): the device holds the image, 16 MiB beyond it not compared" ||
			bad "compare with device: $(cat cmp.txt)"
		detach "$dev"
	else
		bad "losetup of an 80 MiB file failed: $(cat err.txt)"
	fi
	# a blank device (first and last MiB zero) needs no -f
	truncate -s $((80 * M)) blank.img
	if attach blank.img; then
		"$VHDX" convert -q img.vhdx "$dev" 2>err.txt && cmp -s <(head -c $((64 * M)) "$dev") ref.raw &&
			ok "onto a blank device without -f: the disk written" || bad "onto a blank device: $(cat err.txt)"
		detach "$dev"
	else
		bad "losetup of a blank file failed: $(cat err.txt)"
	fi
else
	skipped "-f onto a block device: no loop device here (not root, or losetup -f failed)"
fi
echo "  (-f and --sparse: $(( $(date +%s) - t4 )) s)"

###########################################################################
# 5. interrupted: SIGINT 1 s in, the target's writes slowed by the fault shim
t5=$(date +%s)
SHIM=$T/faultshim.so
if ! cc -shared -fPIC -O2 -o "$SHIM" "$SHIM_SRC" -ldl 2>err.txt; then
	bad "cannot build the fault shim: $(cat err.txt)"
else
	"$VHDX" create -q -s 256M -b 1M iv.vhdx
	qemu-io -f vhdx -c "write -P 0x41 0 1M" -c "write -P 0x42 1M 127M" iv.vhdx >/dev/null
	# interrupt WHAT KIND TARGET ARGS...: KIND new (file removed) or old (first MiB zero)
	interrupt() {
		local what=$1 kind=$2 tgt=$3 pid rc
		shift 3
		FAULT_DELAY_US=100000 FAULT_NOSYNC=1 LD_PRELOAD=$SHIM "$VHDX" convert -q "$@" iv.vhdx "$tgt" >out.txt 2>err.txt &
		pid=$!
		sleep 1
		kill -0 $pid 2>/dev/null || { bad "$what: finished within 1 s, nothing to interrupt: $(cat err.txt)"; return; }
		kill -INT $pid
		wait $pid
		rc=$?
		if [ $rc -ne 1 ] || [ "$(wc -l <err.txt)" -ne 1 ] || ! grep -q ": interrupted" err.txt; then
			bad "$what: exit $rc after SIGINT, expected 1 and one line: $(cat err.txt)"
		elif [ "$kind" = new ]; then
			[ ! -e "$tgt" ] && grep -q "removed the file" err.txt && ok "$what: exit 1, the new file removed" || bad "$what: $(cat err.txt); file left"
		elif cmp -s <(head -c $M "$tgt") <(head -c $M /dev/zero); then
			# whether the data after the first MiB had begun (0x42 from 1 MiB)
			local begun=no
			[ "$(od -An -tx1 -j $M -N1 "$tgt" | tr -d ' ')" = 42 ] && begun=yes
			ok "$what: exit 1, '$(cut -d: -f3- err.txt | cut -c2-60)...', the first MiB all zeros (data after it begun: $begun)"
		else
			bad "$what: the first MiB is not zero after the interruption"
		fi
	}
	rm -f it.raw
	interrupt "SIGINT, a new file" new it.raw
	old $((2 * M)) >it.raw   # old data in its first MiB (the MBR a reader would find)
	truncate -s $((256 * M)) it.raw
	interrupt "SIGINT, an existing file of old data (-f)" old it.raw -f
	if [ "$(id -u)" = 0 ] && losetup -f >/dev/null 2>&1; then
		old $((2 * M)) >dev.img
		truncate -s $((260 * M)) dev.img
		if attach dev.img; then
			interrupt "SIGINT, a loop device of old data (-f)" old "$dev" -f
			detach "$dev"
		else
			bad "losetup for the interrupt failed: $(cat err.txt)"
		fi
	else
		skipped "SIGINT onto a block device: no loop device here"
	fi
fi
echo "  (interrupts: $(( $(date +%s) - t5 )) s; total $(( $(date +%s) - t_start )) s)"
[ "$(sum256 img.vhdx)" = "$sum_img" ] && ok "img.vhdx never written" || bad "img.vhdx changed"
finish
