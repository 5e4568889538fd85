#!/bin/bash
# bench/zero.sh - zeroing a fixed image's payload on targets that are not
# known to be zero, against a plain sequential write of the same bytes with
# dd on the same target.  Not a test: prints a table.
#   bench/zero.sh VHDX DIR [MIB] [RUNS]
# Each round runs dd first (so the target holds written data, not unwritten
# extents left by our previous run), then `vhdx create -f -t fixed -b 1M`.
# Both write MIB MiB: the image (payload + 4 MiB of structures) fills it.
# dd uses bs=64M, our chunk on every path (VHDX_ZERO_CHUNK: one fallocate,
# BLKZEROOUT or O_DIRECT write per 64 MiB), oflag=direct where the target
# takes it, conv=fdatasync always (we flush too).  MIB: a multiple of 64.  The targets:
#   file            an old file in DIR (FALLOC_FL_ZERO_RANGE)
#   file, no ZERO_RANGE  an old file on ext4 without extents (a loop device
#                   with direct I/O, mounted): posix_io writes the zeros,
#                   O_DIRECT, 64 MiB at a time
#   file on tmpfs   /dev/shm (no ZERO_RANGE there either: posix_io writes)
#   loop device     over a file in DIR (BLKZEROOUT; the loop driver turns it
#                   into fallocate on its backing file)
#   loop on tmpfs   over a file in /dev/shm (BLKZEROOUT, which the kernel
#                   carries out by writing zero pages itself)
# Loop devices and the mount need root; without it those rows are skipped.
set -u
VHDX=$(realpath "$1")
DIR=$2
MIB=${3:-2048}
RUNS=${4:-3}
mkdir -p "$DIR"
W=$(mktemp -d "$DIR/zero.XXXXXX")
SHM=""
[ -d /dev/shm ] && SHM=$(mktemp -d /dev/shm/vhdx-bench.XXXXXX)
LOOPS=()
MNT=""
cleanup() {
	[ -n "$MNT" ] && umount "$MNT"
	for l in "${LOOPS[@]}"; do losetup -d "$l"; done
	rm -rf "$W"
	[ -n "$SHM" ] && rm -rf "$SHM"
}
trap cleanup EXIT
ROOT=0
[ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null && ROOT=1
COUNT=$((MIB / 64))
SIZE=$(((MIB - 4) * 1048576)) # virtual size: the image is then MIB MiB

elapsed() { # command...: runs it, prints seconds
	local t0=$EPOCHREALTIME
	"$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; echo "zero.sh: $* failed" >&2; exit 1; }
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}

# how the tool zeroes this target: from one traced run
how() {
	strace -f -qq -e trace=fallocate,ioctl,pwrite64 -o "$W/trace" "$@" >/dev/null 2>&1
	awk '/^[0-9]+ +fallocate\(.*= 0$/ { f++ } /ioctl\(.*BLKZEROOUT.*= 0$/ { z++ }
	     /pwrite64\(.*= [0-9]+$/ { w += $NF }
	     END { s = ""
		   if (z) s = s sprintf("BLKZEROOUT x%d, ", z)
		   if (f) s = s sprintf("fallocate x%d, ", f)
		   printf "%spwrite %.1f MiB", s, w / 1048576 }' "$W/trace"
}

# stats of a list of seconds: median min max
stats() { tr ' ' '\n' | sort -n | awk 'NF { v[n++] = $1 } END { printf "%s %s %s", (n % 2 ? v[int(n/2)] : (v[n/2-1] + v[n/2]) / 2), v[0], v[n-1] }'; }

row() { # label target dd-oflag vhdx-args...
	local label=$1 target=$2 oflag=$3
	shift 3
	local ours="" dd="" i
	for ((i = 0; i < RUNS; i++)); do
		dd+=" $(elapsed dd if=/dev/zero of="$target" bs=64M count=$COUNT $oflag conv=notrunc,fdatasync)"
		ours+=" $(elapsed "$VHDX" create -q -f -t fixed -b 1M "$@" "$target")"
	done
	local h
	h=$(how "$VHDX" create -q -f -t fixed -b 1M "$@" "$target")
	read -r om omin omax <<<"$(echo $ours | stats)"
	read -r dm dmin dmax <<<"$(echo $dd | stats)"
	awk -v l="$label" -v h="$h" -v o="$oflag" -v mib="$MIB" -v om="$om" -v omin="$omin" -v omax="$omax" \
	    -v dm="$dm" -v dmin="$dmin" -v dmax="$dmax" 'BEGIN {
		printf "| %s | %s | %s | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.0f | %.0f | %.2f |\n",
			l, h, o == "" ? "buffered" : o, om, omin, omax, dm, dmin, dmax,
			mib / om, mib / dm, dm / om }'
}

fill() { dd if=/dev/zero of="$1" bs=64M count="$COUNT" conv=fsync status=none; }

echo "| target ($MIB MiB) | how vhdx zeroes | dd | vhdx s, median (min-max) | dd s | vhdx MiB/s | dd MiB/s | ratio |"
echo "|---|---|---|---|---|---|---|---|"
fill "$W/old.img"
row "file on $(findmnt -n -o FSTYPE --target "$DIR")" "$W/old.img" oflag=direct -s "$SIZE"
rm -f "$W/old.img"
if [ "$ROOT" = 1 ] && command -v mkfs.ext4 >/dev/null; then
	truncate -s $((MIB + 512))M "$W/fs.img"
	mkfs.ext4 -q -F -O ^extents,^64bit "$W/fs.img"
	l=$(losetup -f --show --direct-io=on "$W/fs.img") && LOOPS+=("$l")
	mkdir "$W/mnt" && mount "$l" "$W/mnt" && MNT=$W/mnt
	fill "$MNT/old.img"
	row "file on ext4 without extents (no ZERO_RANGE), loop with direct I/O" "$MNT/old.img" oflag=direct -s "$SIZE"
	umount "$MNT" && MNT=""
fi
if [ -n "$SHM" ]; then
	fill "$SHM/old.img"
	row "file on tmpfs (no ZERO_RANGE)" "$SHM/old.img" oflag=direct -s "$SIZE"
	rm -f "$SHM/old.img"
fi
if [ "$ROOT" = 1 ]; then
	fill "$W/dev.img"
	l=$(losetup -f --show "$W/dev.img") && LOOPS+=("$l")
	row "loop device over a file on $(findmnt -n -o FSTYPE --target "$DIR")" "$l" oflag=direct
	if [ -n "$SHM" ]; then
		fill "$SHM/dev.img"
		l=$(losetup -f --show "$SHM/dev.img") && LOOPS+=("$l")
		row "loop device over a file on tmpfs (no write-zeroes)" "$l" oflag=direct
	fi
fi
echo
echo "ratio = dd's time / ours (above 1: we are faster); $RUNS rounds, dd then vhdx;" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
