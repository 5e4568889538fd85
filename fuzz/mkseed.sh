#!/bin/bash
# mkseed.sh IMAGE SEED - the fuzz input format of fuzz/fuzz_read.c from a real image:
# its file identifier, headers, region tables, metadata table and items (4 KiB each)
# and the first 8 KiB from 3 MiB (the BAT in Windows' layout).
set -eu
img=$1
out=$2
{
	for off in 0 64 128 192 256 2048 2112; do
		dd if="$img" bs=1K skip=$off count=4 status=none iflag=fullblock 2>/dev/null || true
	done
	dd if="$img" bs=1K skip=3072 count=8 status=none 2>/dev/null || true
} >"$out"
# a short image yields a short seed: pad to the mapped size so the layout holds
size=$(stat -c %s "$out")
[ "$size" -ge $((36 * 1024)) ] || truncate -s $((36 * 1024)) "$out"
