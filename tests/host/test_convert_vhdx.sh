#!/usr/bin/env bash
# test_convert_vhdx.sh - `vhdx convert [-O vhdx] SOURCE TARGET`: a VHDX
# written from payload (issue 13).  Independent readings throughout: the
# layout and the BAT by tests/host/vhdx_poke.py (its own parser), the
# content by qemu-img (512-byte sectors), 7-Zip and vhdx_poke.py verify,
# the zero blocks of a source counted by vhdx_poke.py nonzero.
#  0. the validators see a one-byte difference (else nothing below can fail);
#  1. raw sources with data patterns (random data in scattered blocks, a
#     block zero but for its first or its last byte, a block of written
#     zeros, a size not a block multiple, not a 512 multiple (padded), a
#     chunk boundary at 512 and 4096-byte sectors), block sizes 1M, 2M,
#     32M, 256M, sectors 512/4096 both ways, dynamic and fixed: each output
#     checks clean (vhdx check 0/0, qemu-img check, 7zz t, vhdiinfo), reads
#     as the source (qemu-img compare, 7zz e, vhdx compare, vhdx_poke
#     verify), a dynamic one stores exactly the non-zero blocks, in virtual
#     order, and ends there; a fixed one stores every block and is not sparse;
#  2. chains written by hand (depth 2 and 3, 512 and 4096): flattened equal
#     to 7-Zip's reading of the chain, no parent, the child's block size;
#  3. every shared sample to dynamic and to fixed, and back to raw: equal to
#     qemu-img's reading (a dirty log: after qemu-img check -r all on a
#     copy); the child without its parent refused; sources unchanged;
#  4. defaults: a VHDX source's block and sector sizes kept, a new logical
#     sector size refused unless -f, a raw source's 32M/512/4096;
#  5. refusals: exit 2, one line, nothing created or changed;
#  6. failures: every write, flush, zero call and source read failing
#     (faultshim.c), SIGKILL at every call, the write order a power cut
#     needs (traced), SIGINT part-way.
# Costs kept low: sparse sources; 10 GiB fixed outputs are not read back
# whole (reading 10 GiB of fallocated payload takes ~20 s of page-cache
# filling here): only their blocks holding data are compared (said below).
source "$(dirname "$0")/lib.sh"
need_samples
M=$((1024 * 1024))
G=$((1024 * M))
POKE="python3 -S $PWD/tests/host/vhdx_poke.py"
SHIM_SRC=$PWD/tests/host/faultshim.c
SAMPLES=$(realpath "$SAMPLES")
cd "$T" || exit 2
t_start=$(date +%s)
bgpids=()
cleanup() { local p; for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

if command -v openssl >/dev/null; then sum256() { openssl dgst -sha256 -r "$1" | cut -c1-64; }
else sum256() { sha256sum <"$1" | cut -c1-64; }; fi
# ij IMG KEY...: top-level scalar fields of vhdx info --json (one a line,
# two spaces in), joined by /  (awk: a python start costs 0.3 s under load)
ij() {
	"$VHDX" info --json "$1" 2>/dev/null | awk -v keys="${*:2}" 'BEGIN { n = split(keys, k, " ") }
	/^  "[a-z_0-9]+": [^[{]/ { key = $1; gsub(/[":]/, "", key); v = $0; sub(/^  "[a-z_0-9]+": /, "", v); sub(/,$/, "", v); gsub(/"/, "", v); val[key] = v }
	END { for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? "/" : ""), (k[i] in val ? val[k[i]] : "?"); print "" }'
}
# fp FILE: unchanged-ness of a (sparse) file: sha256 of its data ranges, size, mtime, ctime
fp() { $POKE datahash "$1"; }
alloc() { echo $(( $(stat -c %b "$1") * $(stat -c %B "$1") )); }
# same_bytes A B: byte for byte, sizes included (qemu-img compare -f raw
# skips holes in both through SEEK_HOLE; cmp for small files)
same_bytes() {
	[ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] || { echo "sizes $(stat -c %s "$1") and $(stat -c %s "$2")"; return 1; }
	if [ "$(stat -c %s "$1")" -le $((32 * M)) ]; then cmp "$1" "$2" 2>&1
	else qemu-img compare -q -f raw -F raw "$1" "$2" 2>&1 || { qemu-img compare -f raw -F raw "$1" "$2" 2>&1; return 1; }; fi
}
# sevenz_same IMG RAW VS: 7zz e of IMG is RAW zero-padded to VS bytes
sevenz_same() {
	local st
	7zz e -tvhdx -so "$1" 2>/dev/null | cmp -s - <(cat "$2"; head -c $(($3 - $(stat -c %s "$2"))) /dev/zero)
	st=("${PIPESTATUS[@]}")
	[ "${st[0]}" -eq 0 ] && [ "${st[1]}" -eq 0 ] || { echo "7zz exit ${st[0]}, cmp exit ${st[1]}"; return 1; }
}
# structure IMG VS LSS WHAT [no7z]: the image checks clean everywhere
structure() {
	local img=$1 vs=$2 lss=$3 what=$4 out why=""
	out=$("$VHDX" check "$img" 2>&1) && grep -q ": 0 errors, 0 warnings$" <<<"$out" || why="$why vhdx check: $(tail -2 <<<"$out");"
	if [ "$lss" = 512 ]; then out=$(qemu-img check -f vhdx "$img" 2>&1) || why="$why qemu-img check: $out;"; fi
	if [ "${5:-}" != no7z ] && ! odd_sectors "$vs" "$lss"; then
		out=$(7zz t -tvhdx "$img" 2>&1)
		[ $? -eq 0 ] && ! grep -qE 'WARNING|ERROR' <<<"$out" || why="$why 7zz t: $(grep -E 'WARNING|ERROR|Error' <<<"$out" | head -2);"
	fi
	out=$(vhdiinfo "$img" 2>&1) && grep -q "Media size.*($vs bytes)" <<<"$out" || why="$why vhdiinfo: $(grep -i 'media size\|error' <<<"$out" | head -2);"
	[ -z "$why" ] && ok "$what: checks clean (vhdx check 0/0$([ "$lss" = 512 ] && echo ", qemu-img check")$([ "${5:-}" != no7z ] && ! odd_sectors "$vs" "$lss" && echo ", 7zz t"), vhdiinfo $vs bytes)" ||
		bad "$what: $why"
}
# layout IMG TYPE NZ WHAT: a dynamic image stores the NZ non-zero blocks,
# in virtual order from data_start, ZERO for the rest, and ends there; a
# fixed one stores every block and is not sparse (vhdx_poke.py layout)
layout() {
	local out
	out=$($POKE layout "$1" "$2" "$3" "$(ij "$1" data_start)" 2>&1) && ok "$4: ${out#ok: }" || bad "$4: ${out#bad: }"
}
# content IMG RAW VS LSS WHAT [bg|no7z]: IMG reads as RAW (zero-padded to VS)
content() {
	local img=$1 raw=$2 vs=$3 lss=$4 what=$5 how=${6:-} out
	out=$($POKE verify "$img" "$raw" 2>&1) && ok "$what: vhdx_poke verify (its own BAT reading): same as the source" || bad "$what: vhdx_poke verify: $out"
	out=$("$VHDX" compare -q "$img" "$raw" 2>&1) && ok "$what: vhdx compare: same" || bad "$what: vhdx compare: $out $("$VHDX" compare "$img" "$raw" 2>&1 | tail -1)"
	if [ "$lss" = 512 ]; then
		if [ "$how" = bg ]; then
			# long (qemu's VHDX driver has no block status: it reads every
			# byte, 5 s per GiB here): beside the rest, collected at the end
			(qemu-img compare -f vhdx -F raw "$img" "$raw" >"$img.qcmp" 2>&1; echo $? >>"$img.qcmp") &
			bgpids+=($!)
			bgcmp+=("$img|$what")
		else
			out=$(qemu-img compare -f vhdx -F raw "$img" "$raw" 2>&1) && ok "$what: qemu-img compare: identical" || bad "$what: qemu-img compare: $out"
		fi
	elif [ "$how" = no7z ]; then
		echo "  note: $what: 7zz e not run: $((vs / G)) GiB through a pipe takes minutes; vhdx_poke verify and vhdx compare only"
	elif odd_sectors "$vs" "$lss"; then
		echo "  note: $what: 7zz e not run: an odd number of sectors (7-Zip 26.02 refuses it)"
	else
		out=$(sevenz_same "$img" "$raw" "$vs") && ok "$what: 7zz e: byte for byte the source (4096-byte sectors: qemu-img cannot read them)" || bad "$what: 7zz e: $out"
	fi
}
bgcmp=()

###########################################################################
# 0. the validators must see a one-byte difference
$POKE mkraw v.raw $((16 * M)) rand:$((3 * M)):$M:1 byte:$((9 * M - 1)):5a
"$VHDX" convert -q -b 1M --logical-sector-size 4096 v.raw v4.vhdx && "$VHDX" convert -q -b 1M v.raw v5.vhdx || bad "validator setup: convert failed"
cp v.raw w.raw
printf '\001' | dd of=w.raw bs=1 seek=$((3 * M + 777)) conv=notrunc status=none
why=""
$POKE verify v5.vhdx w.raw >/dev/null && why="$why vhdx_poke verify;"
"$VHDX" compare -q v5.vhdx w.raw >/dev/null 2>&1 && why="$why vhdx compare;"
qemu-img compare -q -f vhdx -F raw v5.vhdx w.raw >/dev/null 2>&1 && why="$why qemu-img compare;"
sevenz_same v4.vhdx w.raw $((16 * M)) >/dev/null && why="$why 7zz e;"
[ "$($POKE nonzero v.raw $M)" = "2 3 8" ] || why="$why vhdx_poke nonzero says $($POKE nonzero v.raw $M);"
$POKE verify v5.vhdx v.raw >/dev/null && "$VHDX" compare -q v5.vhdx v.raw && qemu-img compare -q -f vhdx -F raw v5.vhdx v.raw &&
	sevenz_same v4.vhdx v.raw $((16 * M)) >/dev/null || why="$why a validator refuses equal content;"
[ -z "$why" ] && ok "validators: verify, vhdx compare, qemu-img compare, 7zz e each see a one-byte difference; nonzero counts a one-byte block" ||
	bad "validators:$why"
rm -f v.raw w.raw v4.vhdx v5.vhdx

###########################################################################
# 1. raw sources with data patterns
t1=$(date +%s)
mkdir -p raw
# raw_case NAME BS LSS PSS SIZE TYPES [bg|no7z] -- SPEC...
raw_case() {
	local name=$1 bs=$2 lss=$3 pss=$4 size=$5 types=$6 how=$7 src=raw/$1.raw vs nz type out what sum0
	shift 8
	$POKE mkraw "$src" "$size" "$@" || { bad "$name: mkraw"; return; }
	vs=$(( (size + lss - 1) / lss * lss ))
	nz=$($POKE nonzero "$src" "$bs" | cut -d' ' -f1)
	sum0=$(fp "$src")
	for type in $types; do
		out=raw/$name.$type.vhdx
		what="raw $name ($((size / M)) MiB + $((size % M)), -b $((bs / M))M, $lss/$pss, $type)"
		"$VHDX" convert -q -t "$type" -b "$bs" --logical-sector-size "$lss" --physical-sector-size "$pss" "$src" "$out" 2>err.txt ||
			{ bad "$what: convert: $(cat err.txt)"; continue; }
		got=$(ij "$out" virtual_size block_size logical_sector_size physical_sector_size type)
		[ "$got" = "$vs/$bs/$lss/$pss/$type" ] &&
			ok "$what: virtual size $vs$([ "$vs" != "$size" ] && echo " (padded from $size)"), the options asked" ||
			bad "$what: info says $got, expected $vs/$bs/$lss/$pss/$type"
		structure "$out" "$vs" "$lss" "$what"
		layout "$out" "$type" "$nz" "$what"
		content "$out" "$src" "$vs" "$lss" "$what" "$how"
		[ "$how" = bg ] || rm -f "$out"
	done
	[ "$(fp "$src")" = "$sum0" ] && ok "raw $name: source unchanged" || bad "raw $name: source changed"
}
# 1 MiB blocks, 512/512: scattered random blocks, block 7 zero but its first
# byte, block 9 zero but its last, block 15 written zeros (allocated), half
# of block 12 random, a size not a 512 multiple (padded) whose last byte is set
raw_case r1m $M 512 512 $((24 * M + 1000)) "dynamic fixed" - -- \
	rand:0:$M:1 rand:$((3 * M)):$M:2 byte:$((7 * M)):ff byte:$((10 * M - 1)):80 rand:$((12 * M + 4096)):$((M / 2)):3 \
	zero:$((15 * M)):$M rand:$((20 * M)):$((2 * M)):4 byte:$((24 * M + 999)):01
# 2 MiB blocks, 4096/512: a size not a block multiple (7682 sectors: even, for 7-Zip)
raw_case r2m $((2 * M)) 4096 512 $((30 * M + 8192)) "dynamic fixed" - -- \
	byte:$((2 * M)):01 byte:$((10 * M - 1)):02 rand:$((12 * M + 512)):100000:5 zero:$((16 * M)):$((4 * M)) byte:$((30 * M)):03
# 32 MiB blocks, 512/4096
raw_case r32m $((32 * M)) 512 4096 $((200 * M)) "dynamic fixed" - -- \
	rand:$((33 * M)):$M:6 byte:$((64 * M)):04 byte:$((128 * M - 1)):05 rand:$((199 * M)):$M:7
# 256 MiB blocks, 4096/4096: the middle block zero, the last one short
raw_case r256m $((256 * M)) 4096 4096 $((520 * M + 8192)) "dynamic fixed" - -- \
	byte:$((256 * M - 1)):06 byte:$((512 * M)):07 rand:$((514 * M)):4096:8
# across the chunk boundary: 512-byte sectors, 1 MiB blocks: 4096 blocks a
# chunk (4 GiB); blocks 4095 and 4096 around it, the first byte of 4098,
# the last byte of a size not a 512 multiple
raw_case chunk512 $M 512 4096 $((4 * G + 3 * M + 1000)) dynamic bg -- \
	rand:0:$M:9 rand:$((4095 * M)):$M:10 rand:$((4096 * M)):$M:11 byte:$((4098 * M)):08 byte:$((4 * G + 3 * M + 999)):09
# 4096-byte sectors, 32 MiB blocks: 1024 blocks a chunk (32 GiB)
raw_case chunk4k $((32 * M)) 4096 4096 $((32 * G + 32 * M + 8192)) dynamic no7z -- \
	byte:$((32 * G - 1)):0a rand:$((32 * G)):$M:12 byte:$((32 * G + 32 * M + 8191)):0b
echo "  (raw sources: $(( $(date +%s) - t1 )) s)"

###########################################################################
# 2. chains written by hand: base (1 MiB blocks) <- c1 (2 MiB) <- c2 (8 MiB),
# as test_convert.sh builds them; flattened
t2=$(date +%s)
mkdir -p chain
for lss in 512 4096; do
	d=chain/l$lss
	mkdir -p "$d"
	S=$((40 * M))
	"$VHDX" create -q -b 1M --logical-sector-size $lss -s $S "$d/base.vhdx" || { bad "base $lss"; continue; }
	truncate -s $S "$d/base.model"
	$POKE blocks "$d/base.vhdx" "$d/base.model" 0 full:0 full:3 full:4 full:9 full:20 full:39 || bad "poke base $lss"
	"$VHDX" create -q -t differencing --parent "$d/base.vhdx" "$d/c1.vhdx" || { bad "c1 $lss"; continue; }
	cp "$d/base.model" "$d/c1.model"
	$POKE blocks "$d/c1.vhdx" "$d/c1.model" 1 partial:0:1 full:2 zero:4 partial:5:2 empty:10 partial:19:3 || bad "poke c1 $lss"
	"$VHDX" create -q -t differencing -b 8M --parent "$d/c1.vhdx" "$d/c2.vhdx" || { bad "c2 $lss"; continue; }
	cp "$d/c1.model" "$d/c2.model"
	$POKE blocks "$d/c2.vhdx" "$d/c2.model" 2 partial:0:4 partial:2:5 full:4 || bad "poke c2 $lss"
	for lv in 1 2; do
		c=$d/c$lv.vhdx what="chain $lss depth $((lv + 1))" flat=$d/flat$lv.vhdx
		before=$(cat "$d"/base.vhdx "$d"/c*.vhdx | sha256sum)
		7zz e -tvhdx -so "$c" >"$d/7z.raw" 2>/dev/null || { bad "$what: 7zz e of the chain failed"; continue; }
		cmp -s "$d/7z.raw" "$d/c$lv.model" || bad "$what: 7-Zip's reading differs from the model (test setup)"
		"$VHDX" convert -q "$c" "$flat" 2>err.txt || { bad "$what: convert: $(cat err.txt)"; continue; }
		g=$($POKE geom "$flat")
		got=$(ij "$flat" type)
		[ "$got" = dynamic ] && grep -q '"has_parent": false' <<<"$g" && ! "$VHDX" info "$flat" | grep -qi "parent locator\|parent chain" &&
			ok "$what: flattened: dynamic, no parent locator or chain (info), HasParent clear (vhdx_poke geom)" ||
			bad "$what: type $got, $g"
		cbs=$(ij "$c" block_size)
		got=$(ij "$flat" block_size logical_sector_size)
		[ "$got" = "$cbs/$lss" ] && ok "$what: the child's block size ($((cbs / M)) MiB) and $lss-byte sectors kept" ||
			bad "$what: block size/lss $got, the child's $cbs/$lss"
		structure "$flat" $S $lss "$what"
		7zz e -tvhdx -so "$flat" 2>/dev/null | cmp -s - "$d/7z.raw" && ok "$what: 7zz e of the flat image equals 7zz e of the chain, byte for byte" ||
			bad "$what: 7zz e of the flat image differs from the chain's: $(7zz e -tvhdx -so "$flat" 2>/dev/null | cmp - "$d/7z.raw" 2>&1)"
		content "$flat" "$d/7z.raw" $S $lss "$what"
		layout "$flat" dynamic "$($POKE nonzero "$d/7z.raw" "$cbs" | cut -d' ' -f1)" "$what"
		[ "$(cat "$d"/base.vhdx "$d"/c*.vhdx | sha256sum)" = "$before" ] && ok "$what: no file of the chain written" || bad "$what: the chain changed"
	done
	# flattened to fixed, once per sector size
	"$VHDX" convert -q -t fixed "$d/c2.vhdx" "$d/fixed.vhdx" 2>err.txt || bad "chain $lss to fixed: $(cat err.txt)"
	structure "$d/fixed.vhdx" $S $lss "chain $lss depth 3, -t fixed"
	7zz e -tvhdx -so "$d/fixed.vhdx" 2>/dev/null | cmp -s - "$d/c2.model" && ok "chain $lss depth 3, -t fixed: 7zz e equals the chain" || bad "chain $lss fixed: content differs"
	layout "$d/fixed.vhdx" fixed - "chain $lss depth 3, -t fixed"
done
echo "  (chains: $(( $(date +%s) - t2 )) s)"

###########################################################################
# 3. every shared sample, decompressed sparse (two at a time), to dynamic
# and to fixed, and back to raw: qemu-img's reading of the original
t3=$(date +%s)
mkdir -p s
unpack_samples src
for f in src/*vhdx; do fp "$f" >"$f.fp"; done
echo "  (samples decompressed: $(( $(date +%s) - t3 )) s)"
n=$(ls src | grep -vcE "\.(sha256|fp)$")
[ "$n" -eq "$(ls "$SAMPLES" | grep -cE '\.(gz|bz2)$')" ] && ok "$n samples decompressed" || bad "only $n samples decompressed"
while read -r name how <&3; do
	img=$(ls src/"$name".*vhdx 2>/dev/null | head -1)
	[ -f "$img" ] || { bad "$name: not decompressed"; continue; }
	sum0=$(cat "$img.fp")
	if [ "$how" = none ]; then
		"$VHDX" convert -q "$img" s/out.vhdx 2>err.txt
		rc=$?
		[ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "parent absent" err.txt && grep -q relative_path err.txt && [ ! -e s/out.vhdx ] &&
			ok "$name: convert -O vhdx refuses (exit 2, one line naming the missing parent link), no target" ||
			bad "$name: exit $rc, $(cat err.txt), target $([ -e s/out.vhdx ] && echo created || echo absent)"
		[ "$(fp "$img")" = "$sum0" ] && ok "$name: source unchanged (data, size, mtime, ctime)" || bad "$name: source changed"
		continue
	fi
	IFS=/ read -r vs bs lss pss <<<"$(ij "$img" virtual_size block_size logical_sector_size physical_sector_size)"

	ref=s/ref.raw
	rm -f "$ref"
	if [ "$how" = replay ]; then
		cp --sparse=always "$img" s/copy.vhdx
		qemu-img check -q -r all -f vhdx s/copy.vhdx >/dev/null 2>&1 && qemu-img convert -f vhdx -O raw s/copy.vhdx "$ref" ||
			{ bad "$name: qemu-img could not replay a copy"; continue; }
		rm -f s/copy.vhdx
	else
		qemu-img convert -f vhdx -O raw "$img" "$ref" || { bad "$name: qemu-img convert failed"; continue; }
	fi
	nz=$($POKE nonzero "$ref" "$bs" | cut -d' ' -f1)
	for type in dynamic fixed; do
		out=s/$name.$type.vhdx what="sample $name -> $type"
		rm -f "$out"
		"$VHDX" convert -q -t $type "$img" "$out" 2>err.txt || { bad "$what: convert: $(cat err.txt)"; continue; }
		got=$(ij "$out" block_size logical_sector_size physical_sector_size virtual_size)
		[ "$got" = "$bs/$lss/$pss/$vs" ] && ok "$what: the source's block size $((bs / M)) MiB, sectors $lss/$pss, size kept" ||
			bad "$what: $got, the source's $bs/$lss/$pss/$vs"
		# a fixed image is read whole by 7zz t and by a convert back (its
		# payload fallocated: the reads fill the page cache with zeros, about
		# 2 s per GiB here): 7zz t up to 256 MiB, back to raw up to 1 GiB
		structure "$out" "$vs" "$lss" "$what" "$([ $type = fixed ] && [ "$vs" -gt $((256 * M)) ] && echo no7z)"
		layout "$out" $type "$nz" "$what"
		if [ $type = fixed ]; then
			out2=$($POKE verify --data-only "$out" "$ref" 2>&1) && ok "$what: vhdx_poke verify of the blocks holding data: $out2" ||
				bad "$what: vhdx_poke verify: $out2"
		else
			out2=$($POKE verify "$out" "$ref" 2>&1) && ok "$what: vhdx_poke verify: same as qemu-img's reading" || bad "$what: vhdx_poke verify: $out2"
		fi
		if [ $type = fixed ] && [ "$vs" -gt $G ]; then
			echo "  note: $what: $((vs / G)) GiB fixed: not read back whole (~20 s of page-cache filling each): its blocks over holes of the reference unread"
		else
			rm -f s/back.raw
			if "$VHDX" convert -q -O raw "$out" s/back.raw 2>err.txt; then
				why=$(same_bytes s/back.raw "$ref") && ok "$what -> raw: byte for byte qemu-img's reading of the original" ||
					bad "$what -> raw: differs from qemu-img's reading: $why"
			else
				bad "$what -> raw: $(cat err.txt)"
			fi
			rm -f s/back.raw
		fi
		rm -f "$out"
	done
	[ "$(fp "$img")" = "$sum0" ] && ok "$name: source unchanged by both converts (data, size, mtime, ctime)" || bad "$name: source changed"
	rm -f "$ref"
done 3<<'EOF'
hyperv2012-dynamic-1G          qemu
win81-dynamic-100M             qemu
win10-dynamic-10M              qemu
win10-fixed-10M                qemu
win10-differencing-8G-child    none
disk2vhd-256M                  qemu
qemu1.6-dirtylog-10G           replay
discutils-btrfs                qemu
discutils-lvm2                 qemu
discutils-swap                 qemu
discutils-vhdx-log-replay      replay
discutils-xfs                  qemu
discutils-xfs5                 qemu
EOF
echo "  (samples: $(( $(date +%s) - t3 )) s)"

###########################################################################
# 4. defaults
t4=$(date +%s)
img=src/disk2vhd-256M.vhdx   # 2 MiB blocks, 512/512
"$VHDX" convert -q "$img" d.vhdx 2>err.txt && [ "$(ij d.vhdx block_size logical_sector_size physical_sector_size)" = "$((2 * M))/512/512" ] &&
	ok "defaults: a VHDX source (disk2vhd) keeps its 2 MiB blocks and 512/512 sectors" || bad "defaults of a VHDX source: $(cat err.txt) $(ij d.vhdx block_size logical_sector_size physical_sector_size)"
rm -f d.vhdx
"$VHDX" convert -q chain/l4096/c1.vhdx d.vhdx 2>err.txt && [ "$(ij d.vhdx block_size logical_sector_size physical_sector_size)" = "$((2 * M))/4096/4096" ] &&
	ok "defaults: a 4096-byte-sector child keeps 2 MiB blocks and 4096/4096" || bad "defaults 4096: $(cat err.txt) $(ij d.vhdx block_size logical_sector_size physical_sector_size)"
rm -f d.vhdx
sum0=$(fp "$img")
"$VHDX" convert -q --logical-sector-size 4096 "$img" d.vhdx 2>err.txt
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "512-byte logical sectors" err.txt && grep -q "partition table" err.txt && grep -q -- "-f" err.txt && [ ! -e d.vhdx ] &&
	ok "defaults: --logical-sector-size 4096 on a 512 source refused (exit 2): '$(cut -c1-90 err.txt)...', no target" ||
	bad "--logical-sector-size 4096 without -f: exit $rc, $(cat err.txt), target $([ -e d.vhdx ] && echo created || echo absent)"
"$VHDX" convert -q -f --logical-sector-size 4096 "$img" d.vhdx 2>err.txt && [ "$(ij d.vhdx logical_sector_size)" = 4096 ] &&
	qemu-img convert -f vhdx -O raw "$img" d.raw && sevenz_same d.vhdx d.raw "$(stat -c %s d.raw)" >/dev/null &&
	ok "defaults: with -f the new logical sector size is written, the same bytes (7zz e)" || bad "--logical-sector-size 4096 -f: $(cat err.txt)"
"$VHDX" convert -q --logical-sector-size 512 "$img" d2.vhdx 2>err.txt && ok "defaults: the source's own logical sector size given: accepted" || bad "--logical-sector-size 512 (the same): $(cat err.txt)"
[ "$(fp "$img")" = "$sum0" ] && ok "defaults: source unchanged" || bad "defaults: source changed"
rm -f d.vhdx d2.vhdx
"$VHDX" convert -q d.raw d.vhdx 2>err.txt && [ "$(ij d.vhdx block_size logical_sector_size physical_sector_size type)" = "$((32 * M))/512/4096/dynamic" ] &&
	ok "defaults: a raw source gets create's dynamic, 32 MiB, 512/4096" || bad "raw defaults: $(cat err.txt) $(ij d.vhdx block_size logical_sector_size physical_sector_size type)"
rm -f d.vhdx
# --source-format raw: a VHDX file read as bytes
"$VHDX" convert -q --source-format raw -b 1M "$img" d.vhdx 2>err.txt && $POKE verify d.vhdx "$img" >/dev/null &&
	qemu-img compare -q -f vhdx -F raw d.vhdx "$img" && [ "$(ij d.vhdx virtual_size)" = "$(stat -c %s "$img")" ] &&
	ok "--source-format raw: the VHDX file itself becomes the disk (vhdx_poke verify, qemu-img compare)" ||
	bad "--source-format raw: $(cat err.txt)"
rm -f d.vhdx d.raw
echo "  (defaults: $(( $(date +%s) - t4 )) s)"

###########################################################################
# 5. refusals: exit 2, one line, nothing created or changed
t5=$(date +%s)
$POKE mkraw r.raw $((8 * M)) rand:$M:$M:1
"$VHDX" convert -q -b 1M r.raw ok.vhdx || bad "refusal setup"
yes "old data" | head -c $((5 * M)) >old.bin
# refuse WHAT WORD FILE... -- ARGS: exit 2, one line naming WORD, FILEs unchanged, no new file
refuse() {
	local what=$1 word=$2 files=() before after rc f
	shift 2
	while [ "$1" != -- ]; do files+=("$1"); shift; done
	shift
	before=$(for f in "${files[@]}"; do [ -e "$f" ] && sum256 "$f" || echo absent; done)
	: >out.txt; : >err.txt; : >ls.after
	ls >ls.before
	"$VHDX" convert "$@" >out.txt 2>err.txt
	rc=$?
	after=$(for f in "${files[@]}"; do [ -e "$f" ] && sum256 "$f" || echo absent; done)
	ls >ls.after
	if [ $rc -ne 2 ] || [ "$(wc -l <err.txt)" -ne 1 ]; then bad "$what: exit $rc (expected 2), stderr: $(cat err.txt)"
	elif ! grep -qF -- "$word" err.txt; then bad "$what: message lacks '$word': $(cat err.txt)"
	elif [ "$before" != "$after" ]; then bad "$what: a file changed"
	elif ! cmp -s ls.before ls.after; then bad "$what: files appeared: $(diff ls.before ls.after | grep '^>')"
	else ok "$what: refused (exit 2, '$(cut -c1-70 err.txt)...'), nothing written or created"; fi
}
refuse "target = the raw source, -f" "is the source" r.raw -- -q -f -O vhdx r.raw r.raw
refuse "target = the VHDX source, -f" "is the source" ok.vhdx -- -q -f ok.vhdx ok.vhdx
ln -s r.raw link.vhdx
refuse "target = a symlink to the source, -f" "is the source" r.raw -- -q -f r.raw link.vhdx
rm -f link.vhdx
d=chain/l512
refuse "target = the parent of the source's chain, -f" "one of its parents" "$d/c1.vhdx" "$d/base.vhdx" "$d/c2.vhdx" -- -q -f "$d/c2.vhdx" "$d/c1.vhdx"
refuse "target = the grandparent, -f" "one of its parents" "$d/c1.vhdx" "$d/base.vhdx" "$d/c2.vhdx" -- -q -f "$d/c2.vhdx" "$d/base.vhdx"
refuse "an existing VHDX target without -f" "--force" ok.vhdx r.raw -- -q r.raw ok.vhdx
refuse "an existing file of old data without -f" "--force" old.bin -- -q -O vhdx r.raw old.bin
refuse "-t differencing" "differencing" r.raw -- -q -t differencing r.raw new.vhdx
refuse "-t differencing --parent" "--parent" r.raw -- -q -t differencing --parent ok.vhdx r.raw new.vhdx
refuse "-b with a raw output (-O raw)" "raw" r.raw -- -q -O raw -b 1M r.raw new.raw
refuse "-t fixed with a raw output (a .raw name)" "raw" r.raw -- -q -t fixed ok.vhdx new.raw
refuse "--logical-sector-size with a raw output" "raw" r.raw -- -q -O raw --logical-sector-size 4096 ok.vhdx new.img
refuse "a block size that is no power of two" "block" r.raw -- -q -b 3M r.raw new.vhdx
# a blank existing file needs no -f; -n writes nothing
: >empty.vhdx
"$VHDX" convert -q r.raw empty.vhdx 2>err.txt && "$VHDX" check empty.vhdx >/dev/null && ok "an existing empty file needs no -f" || bad "empty target: $(cat err.txt)"
"$VHDX" convert -n -b 1M r.raw new.vhdx >out.txt 2>&1 && [ ! -e new.vhdx ] && grep -q "dry run: nothing written" out.txt && grep -q "at most 1 of 8 blocks stored" out.txt &&
	ok "-n: the plan (1 of 8 blocks stored), no target" || bad "-n: $(cat out.txt)"
cp old.bin old2.bin
"$VHDX" convert -q -f -O vhdx -b 1M r.raw old2.bin 2>err.txt && "$VHDX" check old2.bin >/dev/null && [ "$(stat -c %s old2.bin)" -eq $((5 * M)) ] &&
	$POKE verify old2.bin r.raw >/dev/null && ok "-f onto 5 MiB of old data: a clean image of exactly 4 MiB + 1 block (old tail cut)" ||
	bad "-f onto old data: $(cat err.txt), size $(stat -c %s old2.bin)"
rm -f old2.bin empty.vhdx
echo "  (refusals: $(( $(date +%s) - t5 )) s)"

###########################################################################
# 6. failures through the fault shim
t6=$(date +%s)
SHIM=$T/faultshim.so
if ! cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" "$SHIM_SRC" -ldl 2>err.txt; then
	bad "cannot build the fault shim: $(cat err.txt)"
else
export FAULT_NOSYNC=1
"$VHDX" create -q -b 2M -s 1G old.vhdx
$POKE mkraw fs.raw $((10 * M)) rand:0:$M:1 rand:$((3 * M)):$((2 * M)):2 byte:$((8 * M)):01 byte:$((10 * M - 1)):02
# name | target prepared | arguments (TARGET last)
scenarios=(
"raw to a new dynamic file|none|convert -q -b 1M fs.raw tgt.vhdx"
"raw to a new fixed file|none|convert -q -t fixed -b 1M fs.raw tgt.vhdx"
"a chain (depth 3) to a new file|none|convert -q -O vhdx chain/l512/c2.vhdx tgt.vhdx"
"raw onto an old VHDX, -f|old|convert -q -f -b 1M fs.raw tgt.vhdx"
"a chain onto an old VHDX, -f, fixed|old|convert -q -f -t fixed chain/l4096/c1.vhdx tgt.vhdx"
)
prepare() { case $1 in none) rm -f tgt.vhdx ;; old) cp old.vhdx tgt.vhdx ;; esac; }
faults=0
for sc in "${scenarios[@]}"; do
	IFS='|' read -r name kind args <<<"$sc"
	prepare "$kind"
	rm -f trace report
	# shellcheck disable=SC2086
	if ! FAULT_TRACE=$T/trace FAULT_REPORT=$T/report LD_PRELOAD="$SHIM" "$VHDX" $args >out.txt 2>err.txt || [ -s err.txt ] ||
		! "$VHDX" check tgt.vhdx >/dev/null; then
		bad "$name: clean run through the shim failed: $(cat err.txt)"
		continue
	fi
	read -r w f z < <(head -1 report | sed 's/[a-z]*=//g')
	r=$(sed -n 's/^reads=//p' report)
	[ "$w" -ge 5 ] && [ "$f" -ge 4 ] && [ "$r" -ge 2 ] && ok "$name: $w writes, $f flushes, $z zero calls, $r source reads" ||
		bad "$name: counted writes=$w flushes=$f zeros=$z reads=$r"
	# the order a power cut needs: the signature written once, last, after a
	# flush that follows every other change, then flushed; an old VHDX's
	# signature cleared and flushed before anything else is changed
	out=$(python3 -S - "$kind" trace <<'PY'
import sys
kind, lines = sys.argv[1], [l.split() for l in open(sys.argv[2])]
SIG = '7668647866696c65'
sig = [i for i, l in enumerate(lines) if l[0] == 'write' and l[1] == '0' and l[3].startswith(SIG)]
if len(sig) != 1:
    sys.exit('the signature written %d times' % len(sig))
s = sig[0]
changes = [i for i, l in enumerate(lines) if l[0] in ('write', 'zero')]
if changes[-1] != s:
    sys.exit('a change after the signature: %s' % ' '.join(lines[changes[-1]]))
last_other = max(i for i in changes if i != s)
if not any(lines[i][0] == 'flush' for i in range(last_other + 1, s)):
    sys.exit('no flush between the last other change (%s) and the signature' % ' '.join(lines[last_other]))
if not any(l[0] == 'flush' for l in lines[s + 1:]):
    sys.exit('the signature is not flushed')
if kind == 'old':
    first = lines[changes[0]]
    covers = (first[0] == 'zero' and first[1] == '0' and int(first[2]) >= 8) or \
             (first[0] == 'write' and first[1] == '0' and int(first[2]) >= 8 and not first[3].startswith(SIG))
    if not covers:
        sys.exit('the first change does not clear the old signature: %s' % ' '.join(first))
    if not any(lines[i][0] == 'flush' for i in range(changes[0] + 1, changes[1])):
        sys.exit('no flush after clearing the old signature, before %s' % ' '.join(lines[changes[1]]))
print('%d calls' % len(lines))
PY
)
	[ $? -eq 0 ] && ok "$name: write order safe for a power cut ($out: $( [ "$kind" = old ] && echo "old signature cleared and flushed first, ")signature written once, last, between flushes)" ||
		bad "$name: write order: $out"
	prepare "$kind"
	before=
	[ "$kind" = none ] || before=$(sum256 tgt.vhdx)
	plan=()
	for i in $(seq "$w"); do plan+=("write $i eio"); done
	for i in 1 $((w / 2)) "$w"; do plan+=("write $i enospc"); done
	for i in $(seq "$f"); do plan+=("flush $i eio"); done
	for i in $(seq "$z"); do plan+=("zero $i eio"); done
	# source reads: the first 12, 8 spread over the rest, the last 2 (a
	# chain is read 4 KiB at a time: thousands)
	for i in $( { seq 2 $((r < 12 ? r : 12)); for k in 1 2 3 4 5 6 7 8; do echo $((12 + (r - 12) * k / 9)); done; seq $((r - 1)) "$r"; } |
		awk -v r="$r" '$1 >= 2 && $1 <= r' | sort -nu); do plan+=("read $i eio"); done
	plan+=("read 1 eio") # the signature: refused, never taken for a raw source (7df7cf8)

	for p in "${plan[@]}"; do
		read -r op at mode <<<"$p"
		what="$name: $op $at $mode"
		faults=$((faults + 1))
		# shellcheck disable=SC2086
		FAULT_OP=$op FAULT_AT=$at FAULT_MODE=$mode LD_PRELOAD="$SHIM" "$VHDX" $args >out.txt 2>err.txt
		rc=$?
		case $mode in eio) errtext="Input/output error" ;; *) errtext="No space left on device" ;; esac
		if [ $rc -eq 0 ]; then
			bad "$what: exit 0 after a failed call"
		elif [ "$(wc -l <err.txt)" -ne 1 ]; then
			bad "$what: exit $rc, not one line: $(cat err.txt)"
		elif [ "$op" != read ] && ! grep -q "$errtext" err.txt; then
			bad "$what: exit $rc, the message does not name the error: $(cat err.txt)"
		elif [ "$op" = read ] && ! grep -qi "read" err.txt; then
			bad "$what: exit $rc, the message does not say a read failed: $(cat err.txt)"
		elif [ "$op" = read ] && { ! grep -q "$errtext" err.txt || grep -q "mismatch\|: Success" err.txt; }; then
			bad "$what: exit $rc, the message does not name the read error ($errtext): $(cat err.txt)"
		elif [ "$kind" = none ]; then
			[ ! -e tgt.vhdx ] && ok "$what: exit $rc, no file left" || bad "$what: exit $rc, a created file left behind: $(cat err.txt)"
		elif [ "$(sum256 tgt.vhdx)" = "$before" ]; then
			grep -q "nothing was written\|nothing written\|refus" err.txt || [ "$op" = read ] &&
				ok "$what: exit $rc, the old target untouched" || bad "$what: the old target untouched, but the message does not say so: $(cat err.txt)"
		elif [ "$(head -c 8 tgt.vhdx | tr -d '\0')" = vhdxfile ]; then
			bad "$what: exit $rc, the target still has a VHDX signature: $(cat err.txt)"
		else
			out=$("$VHDX" check tgt.vhdx 2>&1)
			[ $? -eq 1 ] && grep -q "not a VHDX" <<<"$out" && ok "$what: exit $rc, the old target is no VHDX any more" ||
				bad "$what: no signature, but check says: $(tail -1 <<<"$out")"
		fi
		prepare "$kind"
	done
	# a crash (SIGKILL) in place of each call: the old target, not a VHDX,
	# or the complete new image
	prepare "$kind"
	n_all=$((w + f + z))
	for n in $(seq "$n_all"); do
		prepare "$kind"
		faults=$((faults + 1))
		# shellcheck disable=SC2086
		rc=$( { FAULT_OP=any FAULT_AT=$n FAULT_MODE=kill LD_PRELOAD="$SHIM" "$VHDX" $args >/dev/null 2>&1; echo $?; } 2>/dev/null)
		if [ "$rc" -ne 137 ]; then bad "$name: crash at call $n: exit $rc, not killed"
		elif [ ! -e tgt.vhdx ]; then ok "$name: crash at call $n: no file"
		elif [ -n "$before" ] && [ "$(sum256 tgt.vhdx)" = "$before" ]; then ok "$name: crash at call $n: old target untouched"
		elif [ "$(head -c 8 tgt.vhdx | tr -d '\0')" != vhdxfile ]; then
			out=$("$VHDX" check tgt.vhdx 2>&1)
			[ $? -eq 1 ] && grep -q "not a VHDX" <<<"$out" && ok "$name: crash at call $n: not a VHDX" || bad "$name: crash at call $n: check: $(tail -1 <<<"$out")"
		elif "$VHDX" check tgt.vhdx >/dev/null 2>&1; then ok "$name: crash at call $n: the complete new image"
		else bad "$name: crash at call $n: a VHDX signature over an image that does not check clean"; fi
	done
done
echo "  faults and crashes injected: $faults"

# SIGINT part-way: writes slowed to 0.1 s each
$POKE mkraw slow.raw $((48 * M)) rand:0:$((40 * M)):3
sigint() { # WHAT KIND ARGS...
	local what=$1 kind=$2 pid rc
	shift 2
	prepare "$kind"
	FAULT_DELAY_US=100000 LD_PRELOAD=$SHIM "$VHDX" convert -q "$@" slow.raw tgt.vhdx >out.txt 2>err.txt &
	pid=$!
	sleep 1
	kill -0 $pid 2>/dev/null || { bad "$what: finished within 1 s, nothing to interrupt: $(cat err.txt)"; return; }
	kill -INT $pid
	wait $pid
	rc=$?
	if [ $rc -ne 1 ] || [ "$(wc -l <err.txt)" -ne 1 ] || ! grep -q ": interrupted" err.txt; then
		bad "$what: exit $rc after SIGINT, expected 1 and one line: $(cat err.txt)"
	elif [ "$kind" = none ]; then
		[ ! -e tgt.vhdx ] && grep -q "removed the file" err.txt && ok "$what: exit 1, 'interrupted', the new file removed" || bad "$what: file left: $(cat err.txt)"
	else
		local why=""
		[ "$(head -c 8 tgt.vhdx | tr -d '\0')" != vhdxfile ] || why="signature there;"
		out=$("$VHDX" check tgt.vhdx 2>&1); [ $? -eq 1 ] && grep -q "not a VHDX" <<<"$out" || why="$why vhdx check: $(tail -1 <<<"$out");"
		! qemu-img check -f vhdx tgt.vhdx >/dev/null 2>&1 || why="$why qemu-img check accepts it;"
		! 7zz t -tvhdx tgt.vhdx >/dev/null 2>&1 || why="$why 7zz t accepts it;"
		[ -z "$why" ] && ok "$what: exit 1, no reader (ours, qemu-img, 7zz) takes the old target for a VHDX" || bad "$what: $why"
	fi
}
sigint "SIGINT, raw to a new dynamic file" none -b 1M
sigint "SIGINT, raw onto an old VHDX, -f" old -f -b 1M
sigint "SIGINT, raw onto an old VHDX, -f, fixed" old -f -t fixed -b 1M
fi
echo "  (failures: $(( $(date +%s) - t6 )) s)"

###########################################################################
# the long qemu-img comparisons run beside the rest
for e in "${bgcmp[@]}"; do
	img=${e%%|*} what=${e#*|}
	wait "${bgpids[@]}" 2>/dev/null
	if [ "$(tail -1 "$img.qcmp")" = 0 ]; then ok "$what: qemu-img compare: $(head -1 "$img.qcmp")"
	else bad "$what: qemu-img compare: $(cat "$img.qcmp")"; fi
	rm -f "$img" "$img.qcmp"
done
bgpids=()
echo "  (total $(( $(date +%s) - t_start )) s)"
finish
