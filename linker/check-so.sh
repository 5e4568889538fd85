#!/bin/sh
# SPDX-License-Identifier: MIT
# linker/check-so.sh SO ARCH - what linker/ARCH.lds promises, checked on
# the linked vhdx.so before objcopy makes it a PE image:
#  - every dynamic relocation is R_X86_64_RELATIVE or R_AARCH64_RELATIVE:
#    gnu-efi's _relocate applies no other type and the image would fail to
#    start;
#  - every relocated word lies in [_data, _edata), the one writable PE
#    section: a relocation in .text or .rodata would be a write to memory
#    firmware may map read-only;
#  - aarch64: crt0's _start is at 0x1000, the AddressOfEntryPoint its
#    hand-made PE header gives.
# readelf is target-independent, so the host's serves both architectures.
set -eu
so=$1 arch=$2
case $arch in
x86_64) type=R_X86_64_RELATIVE ;;
aarch64) type=R_AARCH64_RELATIVE ;;
*) echo "check-so.sh: unknown architecture $arch" >&2; exit 2 ;;
esac

sym() {
	readelf -sW "$so" | awk -v n="$1" '$8 == n { print $2; exit }'
}
data=$(sym _data)
edata=$(sym _edata)
[ -n "$data" ] && [ -n "$edata" ] || { echo "$so: no _data/_edata symbol (linker script not used?)" >&2; exit 1; }

if [ "$arch" = aarch64 ]; then
	start=$(sym _start)
	[ "$start" = 0000000000001000 ] || {
		echo "$so: _start at 0x${start:-?}, but crt0-efi-aarch64.o's PE header enters at 0x1000" >&2
		exit 1
	}
fi

readelf -rW "$so" | awk -v type="$type" -v data="$data" -v edata="$edata" -v so="$so" '
function hex(s,   i, c, v) {
	v = 0; s = tolower(s)
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1)) - 1
		v = v * 16 + c
	}
	return v
}
BEGIN { lo = hex(data); hi = hex(edata); bad = 0; n = 0 }
$1 ~ /^[0-9a-f]+$/ && NF >= 3 {
	n++
	if ($3 != type) {
		printf "%s: relocation %s at 0x%s: only %s is applied by _relocate\n", so, $3, $1, type
		bad++
	} else if (hex($1) < lo || hex($1) >= hi) {
		printf "%s: relocation at 0x%s is outside the writable [_data 0x%s, _edata 0x%s)\n", so, $1, data, edata
		bad++
	}
}
END {
	if (bad) exit 1
	if (n == 0) { printf "%s: no relocations at all: was it linked -shared?\n", so; exit 1 }
	printf "  %s: %d relocations, all %s, all in [_data, _edata)\n", so, n, type
}' >&2
