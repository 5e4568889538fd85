#!/usr/bin/env bash
# test_matrix.sh - `vhdx create` over types x block sizes x sector sizes x
# sizes (not multiples of the block, across chunk boundaries), each image
# checked by qemu-img check/compare, 7zz t (and 7zz e for 4096-byte
# sectors), vhdiinfo and our own check.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024)); G=$((1024 * M))

# type  block  lss   pss   size                 why
rows=(
"dynamic 1M   512  512  $((4 * G + 3 * M))     P=4099 > CR=4096: crosses a chunk"
"dynamic 2M   512  4096 $((101 * M))           not a multiple of the block"
"dynamic 32M  512  4096 $((1 * G))             the defaults"
"dynamic 32M  4096 4096 $((10 * G + 8192))     4Kn, partial last block"
"dynamic 256M 512  4096 $((5 * G + 512 * 1024)) P=21 > CR=16: crosses a chunk"
"dynamic 256M 4096 4096 $((300 * M))           4Kn, 256 MiB blocks"
"dynamic 1M   4096 4096 $((64 * M + 8192))     4Kn, 1 MiB blocks"
"dynamic 32M  512  512  $((33 * M + 1024))     512e, one sector past a block"
"fixed   1M   512  512  $((16 * M + 512 * 1024)) partial last block"
"fixed   2M   512  4096 $((10 * M))            like Windows' 10 MiB fixed sample"
"fixed   32M  4096 4096 $((100 * M))           4Kn"
"fixed   256M 512  4096 $((17 * 256 * M + 2 * M)) P=18 > CR=16: crosses a chunk"
"fixed   256M 4096 4096 $((300 * M))           4Kn, 256 MiB blocks"
"fixed   1M   512  4096 $((3 * M + 512))       odd number of sectors"
)
for row in "${rows[@]}"; do
	read -r type bs lss pss size why <<<"$row"
	img=$T/img.vhdx
	rm -f "$img"
	desc="$type -b $bs $lss/$pss -s $size ($why)"
	if ! out=$("$VHDX" create -q -t "$type" -b "$bs" --logical-sector-size "$lss" \
		--physical-sector-size "$pss" -s "$size" "$img" 2>&1); then
		bad "create $desc: $out"
		continue
	fi
	if validate "$img" "$size" "$lss"; then ok "$desc"; else bad "$desc"; fi
	if [ "$type" = fixed ]; then
		# never sparse: allocated blocks cover the size, which is exactly the payload end
		fsize=$(stat -c %s "$img")
		alloc=$(( $(stat -c %b "$img") * $(stat -c %B "$img") ))
		if [ "$alloc" -ge "$fsize" ]; then ok "$desc: not sparse"; else bad "$desc: sparse ($alloc of $fsize bytes allocated)"; fi
	fi
done
# --zero-blocks: every block ZERO, still reads as zeros everywhere
rm -f "$T/z.vhdx"
"$VHDX" create -q --zero-blocks -b 1M -s $((64 * M)) "$T/z.vhdx" &&
	validate "$T/z.vhdx" $((64 * M)) 512 && ok "--zero-blocks" || bad "--zero-blocks"
finish
