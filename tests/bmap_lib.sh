# tests/bmap_lib.sh - helpers of issue 21's bmap tests, host and UEFI
# (tests/host/test_bmap*.sh, tests/efi/bmap.sh): manifests and images
# edited on purpose.  Source it (bash); it needs python3, od, dd and
# sha256sum, and defines no pass/fail of its own.

# sha256_of FILE: its SHA-256, 64 hex digits
sha256_of() {
	sha256sum <"$1" | cut -c1-64
}

# reseal BMAP: its BmapFileChecksum made right again after an edit (the
# SHA-256 of the file with that field's 64 digits written as zeros)
reseal() {
	python3 -S -c 'import hashlib, re, sys
p = sys.argv[1]; t = open(p, "rb").read()
m = re.search(rb"<BmapFileChecksum> ([0-9a-f]{64}) ", t)
z = t[:m.start(1)] + b"0" * 64 + t[m.end(1):]
open(p, "wb").write(t[:m.start(1)] + hashlib.sha256(z).hexdigest().encode() + t[m.end(1):])' "$1"
}

# flip_byte FILE OFFSET: the byte at OFFSET replaced by 255 minus it
flip_byte() {
	local old
	old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\x$(printf %02x $((255 - ${old:-0})))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# edit_chksum BMAP OUT first|last: OUT is BMAP with the first digit of its
# first (or last) range's chksum changed (not resealed); prints that
# range's new chksum
edit_chksum() {
	python3 -S -c 'import sys
t = open(sys.argv[1]).read()
i = (t.index if sys.argv[3] == "first" else t.rindex)("chksum=\"") + 8
t = t[:i] + ("1" if t[i] != "1" else "2") + t[i + 1:]
open(sys.argv[2], "w").write(t); print(t[i:i + 64])' "$1" "$2" "$3"
}

# bad_file_checksum BMAP OUT: OUT is BMAP with its BmapFileChecksum's first
# two digits changed
bad_file_checksum() {
	sed 's/<BmapFileChecksum> ./<BmapFileChecksum> 0/;s/<BmapFileChecksum> 00/<BmapFileChecksum> 11/' "$1" >"$2"
}

# truncate_bmap BMAP OUT: OUT is BMAP without its last 30 bytes
truncate_bmap() {
	head -c $(($(stat -c %s "$1") - 30)) "$1" >"$2"
}

# json_key KEY: a value of the JSON object on stdin (KEY dotted: bmap.ranges);
# None for null, nothing when the key is missing
json_key() {
	python3 -S -c 'import json, sys
o = json.loads(sys.stdin.read())
for k in sys.argv[1].split("."):
    o = o[k]
print(o)' "$1" 2>/dev/null
}
