#!/usr/bin/env bash
# tests/linker.sh - the linker scripts under linker/ and the two checks the
# build runs on every vhdx.efi (linker/check-so.sh, linker/check-pe.sh):
#  - the built images pass, and their PE headers say what the scripts
#    promise (AArch64: the file is exactly SizeOfImage long);
#  - each check fails, with its message, on an image that breaks its rule:
#    a relocation _relocate cannot apply, a relocation into read-only
#    data, crt0's entry moved off 0x1000, SizeOfImage or a section RVA off
#    alignment, a writable code section, a wrong Subsystem.
# The bad images are made here: tiny objects linked with our scripts, and
# byte patches of the real vhdx.efi.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
out=$B/tests/linker
rm -rf "$out"
mkdir -p "$out"
pass=0 fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# expect_fail NAME MESSAGE-PART COMMAND...: the check must exit non-zero and
# say MESSAGE-PART
expect_fail() {
	local name=$1 msg=$2
	shift 2
	if "$@" >"$out/$name.log" 2>&1; then
		bad "$name: the check passed a broken image"
	elif ! grep -qF -- "$msg" "$out/$name.log"; then
		bad "$name: wrong message, expected '$msg':"; cat "$out/$name.log"
	else
		ok "$name: $(head -n1 "$out/$name.log")"
	fi
}

G64=/usr/lib
GA64=$B/gnu-efi-arm64/usr/lib
X=$B/efi/x86_64
A=$B/efi/aarch64
for f in "$X/vhdx.so" "$X/vhdx.efi" "$A/vhdx.so" "$A/vhdx.efi" "$G64/crt0-efi-x86_64.o" "$GA64/crt0-efi-aarch64.o"; do
	[ -f "$f" ] || { echo "FAIL $f is missing: run make efi first"; exit 1; }
done

# --- the real images
if sh linker/check-so.sh "$X/vhdx.so" x86_64 2>"$out/so-x86_64.log"; then ok "x86_64 vhdx.so: $(cat "$out/so-x86_64.log")"; else bad "x86_64 vhdx.so"; cat "$out/so-x86_64.log"; fi
if sh linker/check-so.sh "$A/vhdx.so" aarch64 2>"$out/so-aarch64.log"; then ok "aarch64 vhdx.so: $(cat "$out/so-aarch64.log")"; else bad "aarch64 vhdx.so"; cat "$out/so-aarch64.log"; fi
if sh linker/check-pe.sh objdump "$X/vhdx.efi" 2>"$out/pe-x86_64.log"; then ok "x86_64 vhdx.efi: $(cat "$out/pe-x86_64.log")"; else bad "x86_64 vhdx.efi"; cat "$out/pe-x86_64.log"; fi
if sh linker/check-pe.sh aarch64-linux-gnu-objdump "$A/vhdx.efi" 2>"$out/pe-aarch64.log"; then ok "aarch64 vhdx.efi: $(cat "$out/pe-aarch64.log")"; else bad "aarch64 vhdx.efi"; cat "$out/pe-aarch64.log"; fi

# the AArch64 file is the memory image: its length is SizeOfImage
size_of_image=$(printf '%d' "0x$(aarch64-linux-gnu-objdump -p "$A/vhdx.efi" | awk '$1 == "SizeOfImage" { print $2 }')")
file_size=$(stat -c %s "$A/vhdx.efi")
if [ "$size_of_image" = "$file_size" ]; then ok "aarch64 vhdx.efi is $file_size bytes = SizeOfImage"
else bad "aarch64 vhdx.efi is $file_size bytes, SizeOfImage $size_of_image"; fi

# x86_64: the PE has the base-relocation directory crt0's .reloc gives
if objdump -p "$X/vhdx.efi" | grep -q 'Entry 5 [0-9a-f]* 0000000c Base Relocation Directory'; then
	ok "x86_64 vhdx.efi has crt0's base-relocation directory"
else bad "x86_64 vhdx.efi has no base-relocation directory"; fi

# no section of the ELF is writable and executable (RWX warnings are fatal in the link too)
for so in "$X/vhdx.so" "$A/vhdx.so"; do
	if readelf -lW "$so" | awk '$1 == "LOAD" && $7 ~ /W/ && $7 ~ /E/ { found = 1 } END { exit !found }'; then
		bad "$so has a writable and executable segment"
	else ok "$so: no writable and executable segment"; fi
done

# --- check-so.sh on objects linked with our scripts
# An object with efi_main and one pointer: in .data (fine), to an undefined
# weak symbol (a relocation _relocate cannot apply), in .rodata (read-only).
mkobj() { # ARCH NAME ASM
	local cc=gcc
	[ "$1" = aarch64 ] && cc=aarch64-linux-gnu-gcc
	printf '%s\n' "$3" >"$out/$2.s"
	$cc -fpic -Wa,--noexecstack -c "$out/$2.s" -o "$out/$2.o"
}
link() { # ARCH NAME [LDS]: ld's own warnings (a text relocation) go to the log
	link_"$1" "$2" "${3:-linker/$1.lds}" 2>"$out/$2.ld.log"
}
link_x86_64() {
	ld -nostdlib -shared -Bsymbolic -T "$2" "$G64/crt0-efi-x86_64.o" \
		"$out/$1.o" -L "$G64" -lgnuefi -o "$out/$1.so"
}
link_aarch64() {
	aarch64-linux-gnu-ld -nostdlib -shared -Bsymbolic --defsym=EFI_SUBSYSTEM=0xa \
		-T "$2" "$GA64/crt0-efi-aarch64.o" "$out/$1.o" -L "$GA64" -lgnuefi -o "$out/$1.so"
}
main_x86='.text
.globl efi_main
efi_main: ret'
main_a64='.text
.globl efi_main
efi_main: ret'

mkobj x86_64 good-x86 "$main_x86
.data
p: .quad p" && link x86_64 good-x86
if sh linker/check-so.sh "$out/good-x86.so" x86_64 >"$out/good-x86.log" 2>&1; then ok "a tiny x86_64 image passes check-so"
else bad "a tiny x86_64 image fails check-so"; cat "$out/good-x86.log"; fi

mkobj x86_64 weak-x86 "$main_x86
.weak absent
.data
p: .quad absent" && link x86_64 weak-x86
expect_fail x86-non-relative "only R_X86_64_RELATIVE is applied" sh linker/check-so.sh "$out/weak-x86.so" x86_64

mkobj x86_64 ro-x86 "$main_x86
.section .rodata
p: .quad p" && link x86_64 ro-x86
expect_fail x86-reloc-in-rodata "is outside the writable [_data" sh linker/check-so.sh "$out/ro-x86.so" x86_64

mkobj aarch64 weak-a64 "$main_a64
.weak absent
.data
p: .quad absent" && link aarch64 weak-a64
expect_fail aarch64-non-relative "only R_AARCH64_RELATIVE is applied" sh linker/check-so.sh "$out/weak-a64.so" aarch64

# crt0's header enters at 0x1000: put any code before .text.head and the check says so
sed 's/KEEP(\*(\.text\.head))/*(.text.first) KEEP(*(.text.head))/' linker/aarch64.lds >"$out/moved.lds"
mkobj aarch64 moved-a64 "$main_a64
.section .text.first, \"ax\"
.fill 16, 4, 0xd503201f
.data
p: .quad p" && link aarch64 moved-a64 "$out/moved.lds"
expect_fail aarch64-entry-moved "but crt0-efi-aarch64.o's PE header enters at 0x1000" sh linker/check-so.sh "$out/moved-a64.so" aarch64

# --- check-pe.sh on byte patches of the real x86_64 image
# patch SRC DST WHAT: WHAT = size-of-image | subsystem | text-writable | section-rva
patch() {
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
src, dst, what = sys.argv[1:]
b = bytearray(open(src, 'rb').read())
pe = struct.unpack_from('<I', b, 0x3c)[0]
nsec = struct.unpack_from('<H', b, pe + 6)[0]
opt = pe + 24
optsize = struct.unpack_from('<H', b, pe + 20)[0]
sec = opt + optsize
if what == 'size-of-image':
    v = struct.unpack_from('<I', b, opt + 56)[0]
    struct.pack_into('<I', b, opt + 56, v + 0x200)
elif what == 'subsystem':
    struct.pack_into('<H', b, opt + 68, 3)       # Windows CUI
elif what == 'text-writable':
    v = struct.unpack_from('<I', b, sec + 36)[0]  # first section: .text
    struct.pack_into('<I', b, sec + 36, v | 0x80000000)
elif what == 'section-rva':
    last = sec + 40 * (nsec - 1)
    v = struct.unpack_from('<I', b, last + 12)[0]
    struct.pack_into('<I', b, last + 12, v + 0x10)
open(dst, 'wb').write(b)
PY
}
patch "$X/vhdx.efi" "$out/size.efi" size-of-image
expect_fail pe-size-of-image "is not a multiple of SectionAlignment" sh linker/check-pe.sh objdump "$out/size.efi"
patch "$X/vhdx.efi" "$out/subsystem.efi" subsystem
expect_fail pe-subsystem "Subsystem 3, not 10" sh linker/check-pe.sh objdump "$out/subsystem.efi"
patch "$X/vhdx.efi" "$out/wx.efi" text-writable
expect_fail pe-writable-code "is writable and executable" sh linker/check-pe.sh objdump "$out/wx.efi"
patch "$X/vhdx.efi" "$out/rva.efi" section-rva
expect_fail pe-section-rva "is not SectionAlignment-aligned" sh linker/check-pe.sh objdump "$out/rva.efi"

echo "linker: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
