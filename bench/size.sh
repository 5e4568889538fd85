#!/bin/bash
# bench/size.sh - sizes: vhdx.efi per architecture, and the code and
# read-only data of core/ and app/ per object (host build: build/host/libvhdx.a;
# the EFI builds' objects too when they exist).  Debug info, .eh_frame and
# .comment are not counted: they are not loaded.  .data.rel.ro (tables of
# pointers to strings, read-only once relocated) counts as read-only data.
# In vhdx.efi (linker/*.lds) .rodata is its own read-only PE section on
# x86_64 and part of the read/execute span on AArch64; .data holds .bss.
#   bench/size.sh BUILD_DIR
set -u
B=${1:-build}
SIZE=${SIZE:-size}

# text rodata data bss of one object or binary, from `size -A`
sections() {
	"$SIZE" -A "$1" | awk '
		$1 ~ /^\.text/ { t += $2 }
		$1 ~ /^\.rodata/ || $1 == ".srodata" || $1 ~ /^\.data\.rel\.ro/ { r += $2; next }
		$1 ~ /^\.data/ || $1 ~ /^\.sdata/ { d += $2 }
		$1 ~ /^\.bss/ || $1 ~ /^\.sbss/ { b += $2 }
		END { printf "%d %d %d %d", t, r, d, b }'
}

echo "## vhdx.efi"
echo
echo "| architecture | vhdx.efi bytes | .text | .rodata | .data (with .bss) | .rela |"
echo "|---|---|---|---|---|---|"
for a in x86_64 aarch64; do
	f=$B/efi/$a/vhdx.efi
	if [ ! -f "$f" ]; then
		echo "| $a | not built (make efi) | | | | |"
		continue
	fi
	# the PE file's own sections (objdump knows pei-x86-64; the AArch64
	# image is a raw binary with a hand-made header, so use its .so)
	read -r t r d b <<<"$(sections "$B/efi/$a/vhdx.so")"
	rel=$("$SIZE" -A "$B/efi/$a/vhdx.so" | awk '$1 ~ /^\.rela/ { s += $2 } END { print s + 0 }')
	echo "| $a | $(stat -c %s "$f") | $t | $r | $((d + b)) | $rel |"
done
echo
for dir in host efi/x86_64 efi/aarch64; do
for part in core app; do
	objs=("$B/$dir/$part"/*.o)
	[ -f "${objs[0]}" ] || continue
	case $dir in
	efi/aarch64) SIZE=aarch64-linux-gnu-size ;;
	*) SIZE=size ;;
	esac
	command -v "$SIZE" >/dev/null || continue
	echo "## $part/, $dir build ($B/$dir/$part)"
	echo
	echo "| object | .text | .rodata | .data | .bss |"
	echo "|---|---|---|---|---|"
	tt=0 tr=0 td=0 tb=0
	for o in "${objs[@]}"; do
		read -r t r d b <<<"$(sections "$o")"
		echo "| $(basename "$o" .o) | $t | $r | $d | $b |"
		tt=$((tt + t)) tr=$((tr + r)) td=$((td + d)) tb=$((tb + b))
	done
	echo "| **total** | **$tt** | **$tr** | **$td** | **$tb** |"
	echo
done
done
SIZE=size
if [ -f "$B/host/vhdx" ]; then
	read -r t r d b <<<"$(sections "$B/host/vhdx")"
	echo "host tool $B/host/vhdx: $(stat -c %s "$B/host/vhdx") bytes on disk (with debug info), .text $t, .rodata $r, .data $d, .bss $b"
fi
