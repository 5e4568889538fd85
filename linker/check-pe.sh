#!/bin/sh
# SPDX-License-Identifier: MIT
# linker/check-pe.sh OBJDUMP EFI - the PE/COFF rules (PE/COFF spec 3.4,
# "Optional Header Windows-Specific Fields" and "Section Table") that
# vhdx.efi must meet and that a lenient loader would not enforce:
#  - Subsystem 10, EFI application;
#  - every section's RVA a multiple of SectionAlignment, its file offset a
#    multiple of FileAlignment, in ascending order without overlap;
#  - SizeOfImage a multiple of SectionAlignment, covering every section;
#  - no section both writable and executable;
#  - AddressOfEntryPoint inside an executable section.
# OBJDUMP is the one that reads the target's PE (objdump for x86_64,
# aarch64-linux-gnu-objdump for AArch64).
set -eu
objdump=$1 efi=$2

{ "$objdump" -p "$efi"; echo "--sections--"; "$objdump" -h "$efi"; } | awk -v efi="$efi" '
function hex(s,   i, v) {
	v = 0; s = tolower(s)
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
function fail(msg) { printf "%s: %s\n", efi, msg; bad++ }
/^--sections--$/ { in_sections = 1; next }
!in_sections && $1 == "SectionAlignment" { sa = hex($2) }
!in_sections && $1 == "FileAlignment" { fa = hex($2) }
!in_sections && $1 == "SizeOfImage" { image = hex($2) }
!in_sections && $1 == "AddressOfEntryPoint" { entry = hex($2) }
!in_sections && $1 == "Subsystem" { subsystem = hex($2) }
in_sections && $1 ~ /^[0-9]+$/ && NF >= 7 {
	n++; name[n] = $2; size[n] = hex($3); vma[n] = hex($4); off[n] = hex($6)
	getline flags
	code[n] = flags ~ /CODE/; writable[n] = flags !~ /READONLY/
}
END {
	if (!sa || !fa || !image) { fail("no PE optional header: not a PE32+ image"); exit 1 }
	if (subsystem != 10) fail(sprintf("Subsystem %d, not 10 (EFI application)", subsystem))
	if (image % sa) fail(sprintf("SizeOfImage 0x%x is not a multiple of SectionAlignment 0x%x", image, sa))
	if (n == 0) fail("no sections")
	entry_ok = 0
	for (i = 1; i <= n; i++) {
		if (vma[i] % sa) fail(sprintf("section %s at RVA 0x%x is not SectionAlignment-aligned", name[i], vma[i]))
		if (off[i] % fa) fail(sprintf("section %s at file offset 0x%x is not FileAlignment-aligned", name[i], off[i]))
		if (i > 1 && vma[i] < vma[i - 1] + size[i - 1]) fail(sprintf("section %s overlaps %s", name[i], name[i - 1]))
		if (vma[i] + size[i] > image) fail(sprintf("section %s ends past SizeOfImage", name[i]))
		if (code[i] && writable[i]) fail(sprintf("section %s is writable and executable", name[i]))
		if (code[i] && entry >= vma[i] && entry < vma[i] + size[i]) entry_ok = 1
	}
	if (!entry_ok) fail(sprintf("AddressOfEntryPoint 0x%x is in no executable section", entry))
	if (bad) exit 1
	printf "  %s: %d sections, SizeOfImage 0x%x, aligned, W^X, entry 0x%x\n", efi, n, image, entry
}' >&2
