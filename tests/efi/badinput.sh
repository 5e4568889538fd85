# tests/efi/badinput.sh - sourced by run.sh: one x86_64 boot that only
# reads, with
#   - issue 6 part 3: the bad-invocation table of tests/host/test_cli.sh,
#     where it makes sense in the UEFI shell, plus the UEFI targets (no such
#     mapping, device path or folder, a folder on the ESP, too small,
#     read-only, the boot device, not blank, a FAT file over 4 GiB, the
#     ESP too full, parents that are not a usable VHDX, --bench-raw
#     misuse): each run must return 0x2 (EFI_INVALID_PARAMETER), print
#     exactly one line, "vhdx: " and the rule's fragment, and every disk
#     file (the ESP included) must be byte-for-byte as it was;
#   - issue 4 part 5: `vhdx check` of three corrupted images the host tool
#     made (header 1 CRC, region table 2, a BAT entry into the metadata
#     region): 0xA (EFI_VOLUME_CORRUPTED) and the rule id; the same image
#     unbroken: 0x0.
# Every create in the table carries -y: a case the app wrongly accepted
# would write, and the sha256 comparison would see it.
#
# bad_setup DIR APP; bad_boot DIR; bad_verify DIR.  Needs lib.sh, $BUILD.
. "$HERE/chains.sh"  # chains judged in UEFI and on the host: the same lines

# the blank 64 MiB target of the parse cases: accepted, it would be written
BT="PciRoot(0x0)/Pci(0x5,0x0)"
BSMALL="PciRoot(0x0)/Pci(0x6,0x0)"
BRO="PciRoot(0x0)/Pci(0x7,0x0)"
BHDR="PciRoot(0x0)/Pci(0x8,0x0)"
BRGN="PciRoot(0x0)/Pci(0x9,0x0)"
BBAT="PciRoot(0x0)/Pci(0xA,0x0)"
BGOOD="PciRoot(0x0)/Pci(0xB,0x0)"
BAD_DISKS="t small ro hdr rgn bat good"

# expected fragment | arguments (split at spaces; no spaces inside one).
# From tests/host/test_cli.sh, then UEFI-only cases.
BAD_CASES=(
"missing command|"
"unknown command frobnicate|frobnicate"
"--size is required|create -y $BT"
"missing TARGET|create -y -s 1G"
"not a size (bytes, or K, M, G, T suffix): 12X|create -y -s 12X $BT"
"not a size (bytes, or K, M, G, T suffix): -5|create -y -s -5 $BT"
"not a size (bytes, or K, M, G, T suffix): 1.5G|create -y -s 1.5G $BT"
"not a size (bytes, or K, M, G, T suffix): G|create -y -s G $BT"
"not a size (bytes, or K, M, G, T suffix): 1GG|create -y -s 1GG $BT"
"not a size (bytes, or K, M, G, T suffix): 1KB|create -y -s 1KB $BT"
"not a size (bytes, or K, M, G, T suffix): 1P|create -y -s 1P $BT"
"not a size (bytes, or K, M, G, T suffix): 1e9|create -y -s 1e9 $BT"
"not a size (bytes, or K, M, G, T suffix): 0x100000|create -y -s 0x100000 $BT"
"not a size (bytes, or K, M, G, T suffix): +1G|create -y -s +1G $BT"
"number too large: 99999999999999999999|create -y -s 99999999999999999999 $BT"
"number too large: 17179869184T|create -y -s 17179869184T $BT"
"larger than 64 TiB|create -y -s 65T $BT"
"larger than 64 TiB|create -y -s 70368744177665 $BT"
"larger than 64 TiB|create -y -s 18446744073709551615 $BT"
"at least one logical sector|create -y -s 0 $BT"
"not a multiple of the logical sector size 512 (remainder 1)|create -y -s 1048577 $BT"
"not a multiple of the logical sector size 4096 (remainder 512)|create -y -s 1049088 --logical-sector-size 4096 $BT"
"power of two|create -y -s 1G -b 3M $BT"
"not a power of two|create -y -s 1G -b 1536K $BT"
"1 MiB to 256 MiB|create -y -s 1G -b 512K $BT"
"1 MiB to 256 MiB|create -y -s 1G -b 512M $BT"
"out of range: 8G|create -y -s 1G -b 8G $BT"
"out of range: 0|create -y -s 1G -b 0 $BT"
"out of range: 99999999999999999999|create -y -s 1G -b 99999999999999999999 $BT"
"must be 512 or 4096, not 1024|create -y -s 1G --logical-sector-size 1024 $BT"
"must be 512 or 4096, not 520|create -y -s 1G --physical-sector-size 520 $BT"
"must be 512 or 4096, not 0|create -y -s 1G --logical-sector-size 0 $BT"
"must be 512 or 4096, not 8192|create -y -s 1G --physical-sector-size 8192 $BT"
"multiple of 1 MiB|create -y -s 1G --log-size 1536K $BT"
"out of range: 4G|create -y -s 1G --log-size 4G $BT"
"out of range: 0|create -y -s 1G --log-size 0 $BT"
"out of range: 4096M|create -y -s 1G --log-size 4096M $BT"
"out of range: 18446744073709551616|create -y -s 1G --log-size 18446744073709551616 $BT"
"must be dynamic, fixed or differencing, not sparse|create -y -t sparse -s 1G $BT"
"unknown option --sise|create -y --sise 1G $BT"
"unknown option -z|create -y -z -s 1G $BT"
"short options cannot be combined|create -fy -s 1G $BT"
"option -s needs a value|create -y $BT -s"
"option -t needs a value|create -y -s 1G -t"
"option --force takes no value|create -y --force=yes -s 1G $BT"
"extra argument $BSMALL (one TARGET only)|create -y -s 1G $BT $BSMALL"
"option --size does not apply to this command|info --size 1G $BT"
"option --json does not apply to this command|create -y --json -s 1G $BT"
"list takes no TARGET|list $BT"
"info: missing TARGET|info"
"check: missing TARGET|check"
"creator is longer than 255|create -y -s 1G --creator $(printf 'x%.0s' {1..256}) $BT"
"--zero-blocks applies to dynamic images only|create -y -t fixed --zero-blocks -s 1G $BT"
"--no-zero applies to fixed images only|create -y --no-zero -s 1G $BT"
"--no-zero applies to fixed images only|create -y --zero-blocks --no-zero -s 1G $BT"
"--parent needs --type differencing|create -y --parent fs0:\\parent.vhdx -s 1G fs0:\\new.vhdx"
"--parent-win32-path needs --type differencing|create -y --parent-win32-path C:\\x.vhdx -s 1G fs0:\\new.vhdx"
"--type differencing needs --parent|create -y -t differencing fs0:\\new.vhdx"
"--size contradicts --type differencing|create -y -t differencing --parent fs0:\\parent.vhdx -s 1G fs0:\\new.vhdx"
"sector sizes contradict|create -y -t differencing --parent fs0:\\parent.vhdx --logical-sector-size 4096 fs0:\\new.vhdx"
"sector sizes contradict|create -y -t differencing --parent fs0:\\parent.vhdx --physical-sector-size 512 fs0:\\new.vhdx"
"--zero-blocks applies to dynamic images only|create -y -t differencing --parent fs0:\\parent.vhdx --zero-blocks fs0:\\new.vhdx"
# parents that are not a usable VHDX
"the child cannot be its own parent|create -y -t differencing --parent fs0:\\parent.vhdx fs0:\\parent.vhdx"
"--parent fs0:\\junk.bin: not a VHDX image|create -y -t differencing --parent fs0:\\junk.bin fs0:\\new.vhdx"
"--parent fs0:\\empty.bin: not a VHDX image|create -y -t differencing --parent fs0:\\empty.bin fs0:\\new.vhdx"
"--parent fs0:\\trunc.vhdx: does not check clean|create -y -t differencing --parent fs0:\\trunc.vhdx fs0:\\new.vhdx"
"fs0:\\nothere.vhdx: cannot open: Not Found|create -y -t differencing --parent fs0:\\nothere.vhdx fs0:\\new.vhdx"
"fs0:\\d: is a directory|create -y -t differencing --parent fs0:\\d fs0:\\new.vhdx"
"--parent $BGOOD: give a file|create -y -t differencing --parent $BGOOD fs0:\\new.vhdx"
# targets: nothing there, not storage, too small, not to be written
"fs0:\\d: is a directory|create -y -s 1G fs0:\\d"
"fs0:\\: is a directory|create -y -s 1G fs0:\\"
"no such folder \\no\\such|create -y -s 1G fs0:\\no\\such\\new.vhdx"
"\\junk.bin is not a folder|create -y -s 1G fs0:\\junk.bin\\new.vhdx"
"existing file of 65536 bytes; refusing to overwrite it without --force|create -y -s 1G fs0:\\junk.bin"
"--size: required, except for a fixed image on a block device|create -y -t fixed fs0:\\new.vhdx"
"a FAT file holds at most 4 GiB - 1|create -y -t fixed -s 5G fs0:\\new.vhdx"
"the volume has|create -y -t fixed -s 100M fs0:\\new.vhdx"
"blk99:: no such mapping|create -y -s 1G blk99:"
"fs9:\\new.vhdx: no such mapping fs9:|create -y -s 1G fs9:\\new.vhdx"
"no block device has this device path|create -y -s 1G PciRoot(0x0)/Pci(0x1C,0x0)"
"give a mapping (blk1:), a device path|create -y -s 1G new.vhdx"
"too small: the image needs 4 MiB (4194304 bytes), the device has 2 MiB (2097152 bytes)|create -y -s 1G $BSMALL"
"target too small: the smallest fixed image with 32 MiB blocks needs 36 MiB, the target has 2 MiB|create -y -t fixed $BSMALL"
"the media is read-only|create -y -s 1G $BRO"
"this is the device vhdx.efi was loaded from|create -y -s 1G fs0:"
"holds a VHDX image|create -y -s 1G $BGOOD"
"fs0:\\nothere.vhdx: cannot open: Not Found|info fs0:\\nothere.vhdx"
"fs0:\\nothere.vhdx: cannot open: Not Found|check fs0:\\nothere.vhdx"
"fs0:\\d: is a directory|check fs0:\\d"
"blk99:: no such mapping|info blk99:"
"--bench-raw: unknown mode read (write)|create -y -s 1G --bench-raw read $BT"
"--bench-raw: TARGET must be a block device|create -y -s 1G --bench-raw write fs0:\\new.vhdx"
)

# corrupted images: tag | disk | rule id | status
CHECK_CASES=(
"chkhdr|$BHDR|(hdr.checksum)|0xA"
"chkrgn|$BRGN|(rgn.checksum)|0xA"
"chkbat|$BBAT|(bat.overlap_struct)|0xA"
"chkgood|$BGOOD| 0 errors|0x0"
)

# xor_byte FILE OFFSET: flip bits of one byte (a different value for sure)
xor_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $(( b ^ 0x5a )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

bad_setup() {
	local d=$1 app=$2 V=$BUILD/host/vhdx i c args x
	mkdir -p "$d"
	truncate -s 64M "$d/t.img" "$d/ro.img"
	truncate -s 2M "$d/small.img"
	# a valid dynamic 1 GiB image (1 MiB blocks, 4 MiB of file) at the
	# start of a 16 MiB disk, made by the host tool; three copies broken
	for x in hdr rgn bat good; do
		rm -f "$d/$x.img"
		"$V" create -q -s 1G -b 1M "$d/$x.img" || return 1
		truncate -s 16M "$d/$x.img"
	done
	xor_byte "$d/hdr.img" $((65536 + 4))             # header 1 checksum
	xor_byte "$d/rgn.img" $((262144 + 100))          # region table 2, inside its CRC
	# BAT entry 0 (BAT at 3 MiB): FULLY_PRESENT (6) at 2 MiB, the metadata region
	printf '\x06\x00\x20\x00\x00\x00\x00\x00' | dd of="$d/bat.img" bs=1 seek=$((3 << 20)) conv=notrunc status=none
	# the ESP: a folder, an odd file, an empty one, a parent and a broken one
	head -c 65536 /dev/urandom > "$d/junk.bin"
	: > "$d/empty.bin"
	rm -f "$d/parent.vhdx"
	"$V" create -q -s 10M -b 1M "$d/parent.vhdx" || return 1
	head -c 1048576 "$d/parent.vhdx" > "$d/trunc.vhdx"
	BN=$d/startup.nsh
	nsh_begin "$BN"
	i=0
	for c in "${BAD_CASES[@]}"; do
		i=$((i + 1))
		args=${c#*|}
		nsh_run "$BN" "bad$i" "$args"
	done
	for c in "${CHECK_CASES[@]}"; do
		IFS='|' read -r x args _ _ <<<"$c"
		nsh_run "$BN" "$x" check "$args"
	done
	chain_setup "$d" "$BN" || return 1
	nsh_end "$BN"
	make_esp "$d/esp.img" "$app" "$BN" 147456 &&
		mmd -i "$d/esp.img" ::d &&
		mcopy -i "$d/esp.img" "$d/junk.bin" "$d/empty.bin" "$d/parent.vhdx" "$d/trunc.vhdx" :: &&
		chain_esp "$d" || return 1
	for x in $BAD_DISKS esp; do
		sha256sum < "$d/$x.img" > "$d/$x.sha"
	done
}

bad_boot() {
	local d=$1
	boot_x86 "$d" "$d/esp.img" \
		-drive "if=none,id=v5,format=raw,file=$d/t.img" -device virtio-blk-pci,drive=v5,addr=0x5 \
		-drive "if=none,id=v6,format=raw,file=$d/small.img" -device virtio-blk-pci,drive=v6,addr=0x6 \
		-drive "if=none,id=v7,format=raw,file=$d/ro.img,readonly=on" -device virtio-blk-pci,drive=v7,addr=0x7 \
		-drive "if=none,id=v8,format=raw,file=$d/hdr.img" -device virtio-blk-pci,drive=v8,addr=0x8 \
		-drive "if=none,id=v9,format=raw,file=$d/rgn.img" -device virtio-blk-pci,drive=v9,addr=0x9 \
		-drive "if=none,id=va,format=raw,file=$d/bat.img" -device virtio-blk-pci,drive=va,addr=0xa \
		-drive "if=none,id=vb,format=raw,file=$d/good.img" -device virtio-blk-pci,drive=vb,addr=0xb
}

bad_verify() {
	local d=$1 L=$1/serial.txt i=0 c want args got out n ok=0 x tag disk rule rc V=$BUILD/host/vhdx
	if [ "$BOOT_RC" = 0 ] && grep -q '^=== chkgood rc' "$L"; then
		pass "bad input: OVMF ran the ${#BAD_CASES[@]} bad invocations and ${#CHECK_CASES[@]} checks and powered off (${BOOT_SECONDS} s)"
	else
		fail "bad input: the boot did not complete (qemu exit $BOOT_RC; 124 = timeout); see $L"
	fi
	for c in "${BAD_CASES[@]}"; do
		i=$((i + 1))
		want=${c%%|*}
		args=${c#*|}
		got=$(rc_of "$L" "bad$i")
		out=$(out_of "$L" "bad$i" | sed '/^[[:space:]]*$/d')
		n=$(wc -l <<<"$out")
		if [ "$got" != 0x2 ]; then
			fail "bad input: vhdx.efi $args: %lasterror% '${got:-none}', expected 0x2; output: $(head -c 300 <<<"$out")"
		elif [ "$n" -ne 1 ] || [ -z "$out" ]; then
			fail "bad input: vhdx.efi $args: $n lines, expected one: $(head -c 300 <<<"$out")"
		elif [ "${out#vhdx: }" = "$out" ] || ! grep -qF -- "$want" <<<"$out"; then
			fail "bad input: vhdx.efi $args: '$out' lacks 'vhdx: ' or '$want'"
		else
			ok=$((ok + 1))
		fi
	done
	if [ "$ok" = "${#BAD_CASES[@]}" ]; then
		pass "bad input: all $ok bad invocations returned 0x2 with one 'vhdx: ' line naming the rule"
	fi
	echo "bad invocations tried in UEFI: ${#BAD_CASES[@]} ($ok as expected)"
	for x in $BAD_DISKS esp; do
		if sha256sum < "$d/$x.img" | cmp -s - "$d/$x.sha"; then
			pass "bad input: $x disk file byte-for-byte unchanged"
		else
			fail "bad input: $x disk file CHANGED"
		fi
	done
	for c in "${CHECK_CASES[@]}"; do
		IFS='|' read -r tag disk rule rc <<<"$c"
		expect_log "$L" "$tag" "$rc" "check $tag ($disk)" "$rule"
	done
	chain_verify "$d"
	# the host tool agrees on the same bytes (and the unbroken copy is clean)
	for x in hdr:hdr.checksum rgn:rgn.checksum bat:bat.overlap_struct; do
		if out=$("$V" check "$d/${x%%:*}.img" 2>&1); then
			fail "host vhdx check ${x%%:*}.img: exit 0 on a corrupted image"
		elif grep -qF "(${x#*:})" <<<"$out"; then
			pass "host vhdx check ${x%%:*}.img: exit 1, (${x#*:})"
		else
			fail "host vhdx check ${x%%:*}.img: no (${x#*:}): $out"
		fi
	done
}
