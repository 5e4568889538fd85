# tests/efi/lib.sh - shared by the scripts of tests/efi: boot OVMF/AAVMF under
# QEMU (TCG) with vhdx.efi on a FAT ESP and a startup.nsh, then read the
# serial log and check images on the host.  Source it; needs bash.

OVMF_CODE=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
AAVMF_CODE=${AAVMF_CODE:-/usr/share/AAVMF/AAVMF_CODE.fd}
AAVMF_VARS=${AAVMF_VARS:-/usr/share/AAVMF/AAVMF_VARS.fd}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}   # [s] per boot; a hung app must not hang the suite

PASS=0
FAIL=0
pass() { echo "PASS: $*"; PASS=$((PASS + 1)); }
fail() { echo "FAIL: $*"; FAIL=$((FAIL + 1)); }

# need TOOL... : each missing tool is a failure, never a silent skip.
need() {
	local t missing=0
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			fail "required tool '$t' is not installed"
			missing=1
		fi
	done
	return $missing
}

need_file() {
	if [ ! -f "$1" ]; then
		fail "required file $1 is missing ($2)"
		return 1
	fi
}

# nsh_begin FILE: a startup.nsh that stops echoing and moves to fs0:
nsh_begin() {
	printf '@echo -off\r\nfs0:\r\n' > "$1"
}

# nsh_run FILE TAG ARGS...: run vhdx.efi with ARGS between two marker lines;
# the second carries the returned status.  ARGS are kept in NSH_ARGS under
# "FILE|TAG": what the test asked for, which nsh_opt reads back.
declare -A NSH_ARGS
nsh_run() {
	local f=$1 tag=$2
	shift 2
	NSH_ARGS["$f|$tag"]=$*
	printf 'echo "=== %s begin"\r\nvhdx.efi %s\r\necho "=== %s rc %%lasterror%%"\r\n' \
		"$tag" "$*" "$tag" >> "$f"
}

# nsh_opt FILE TAG OPTION: the value after OPTION in what nsh_run FILE TAG
# was given ("" without it)
nsh_opt() {
	sed -n "s/.* $3 \([^ ]*\).*/\1/p" <<<" ${NSH_ARGS["$1|$2"]-}"
}

nsh_end() {
	printf 'reset -s\r\n' >> "$1"
}

# make_esp IMG APP NSH [KIB]: a FAT image of 33 MiB (or KIB) (no partition table) holding
# vhdx.efi and startup.nsh.  No \EFI\BOOT\BOOT*.EFI: the firmware must
# fall through to the shell, which runs startup.nsh.
make_esp() {
	rm -f "$1"
	mkfs.vfat -C "$1" "${4:-33792}" >/dev/null || return 1
	mcopy -i "$1" "$2" ::vhdx.efi || return 1
	mcopy -i "$1" "$3" ::startup.nsh || return 1
}

# clean_log RAW OUT: strip ANSI escapes and CRs from a serial log.
clean_log() {
	sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Z0-9]//g' -e 's/\r$//' -e 's/\r/\n/g' "$1" |
		grep -v '^Press ESC in' > "$2"
}

# boot_x86 DIR ESP QEMU-ARGS...: OVMF on q35, ESP on AHCI port 0.
# Sets BOOT_SECONDS and BOOT_RC; the cleaned log is DIR/serial.txt.
boot_x86() {
	local dir=$1 esp=$2 t0
	shift 2
	cp "$OVMF_VARS" "$dir/vars.fd"
	t0=$(date +%s%N)
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -machine q35 -m 256 \
		-display none -monitor none -no-reboot -nic none \
		-serial "file:$dir/serial.raw" \
		-drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" \
		-drive "if=pflash,format=raw,file=$dir/vars.fd" \
		-drive "if=none,id=esp,format=raw,file=$esp" -device ide-hd,bus=ide.0,drive=esp \
		"$@" < /dev/null > "$dir/qemu.out" 2>&1
	BOOT_RC=$?
	BOOT_SECONDS=$(( ($(date +%s%N) - t0) / 1000000000 ))
	clean_log "$dir/serial.raw" "$dir/serial.txt"
}

# boot_aarch64 DIR ESP QEMU-ARGS...: AAVMF on virt/cortex-a57, ESP on
# virtio-blk at PCI 0x4 (BOOT_ESP_OPTS: more of its options, e.g.
# ",bootindex=1" when a NIC would be tried first).
boot_aarch64() {
	local dir=$1 esp=$2 t0
	shift 2
	cp "$AAVMF_VARS" "$dir/vars.fd"
	t0=$(date +%s%N)
	timeout "$BOOT_TIMEOUT" qemu-system-aarch64 -accel tcg -M virt -cpu cortex-a57 -m 256 \
		-display none -monitor none -no-reboot -nic none \
		-serial "file:$dir/serial.raw" \
		-drive "if=pflash,format=raw,readonly=on,file=$AAVMF_CODE" \
		-drive "if=pflash,format=raw,file=$dir/vars.fd" \
		-drive "if=none,id=esp,format=raw,file=$esp" -device "virtio-blk-pci,drive=esp,addr=0x4${BOOT_ESP_OPTS:-}" \
		"$@" < /dev/null > "$dir/qemu.out" 2>&1
	BOOT_RC=$?
	BOOT_SECONDS=$(( ($(date +%s%N) - t0) / 1000000000 ))
	clean_log "$dir/serial.raw" "$dir/serial.txt"
}

# out_of LOG TAG: what the app printed for TAG.
out_of() {
	sed -n "/^=== $2 begin\$/,/^=== $2 rc /p" "$1" | sed '1d;$d'
}

# rc_of LOG TAG: the %lasterror% echoed after TAG ("" if the run never ended).
rc_of() {
	sed -n "s/^=== $2 rc \(.*\)\$/\1/p" "$1" | tr -d ' ' | head -n 1
}

# expect TAG RC WHAT [TEXT] [LOG]: TAG's run returned RC (%lasterror%) and
# printed TEXT (fixed string) in LOG (default $W/serial.txt): one PASS or
# one FAIL with the end of what it printed
expect() {
	local got out log=${5:-$W/serial.txt}
	got=$(rc_of "$log" "$1")
	out=$(out_of "$log" "$1")
	if [ "$got" != "$2" ]; then
		fail "$3: %lasterror% '${got:-none}', expected $2; output: $(tail -c 400 <<<"$out")"
		return 1
	fi
	if [ -n "${4:-}" ] && ! grep -qF -- "$4" <<<"$out"; then
		fail "$3: $2 but no '$4' in: $(tail -c 400 <<<"$out")"
		return 1
	fi
	pass "$3: %lasterror% $2${4:+, says '$4'}"
}

# bytes_of TEXT: "64M" / "1G" / "4096" -> bytes
bytes_of() {
	local v=$1 n u
	n=${v%[KMGTkmgt]}
	u=${v#"$n"}
	case $u in
	'') echo "$n" ;;
	[Kk]) echo $((n << 10)) ;;
	[Mm]) echo $((n << 20)) ;;
	[Gg]) echo $((n << 30)) ;;
	[Tt]) echo $((n << 40)) ;;
	esac
}

# image_size TEXT: bytes of the image, from the done: line
image_size() {
	grep 'done: wrote' <<<"$1" | sed -n 's/.*image of \([0-9]*\) bytes.*/\1/p'
}

# validate NAME IMG VDS LSS: every independent reader we have, and the host
# tool.  VDS (the virtual size in bytes) and LSS are what the test asked
# for, never what the app says it did.
#   qemu-img (512-byte logical sectors only: it rejects 4096): check, and
#     compare -s with a VHDX of exactly VDS zero bytes that qemu-img makes
#     (-s: a different virtual size fails; not a raw file, whose block
#     status strict mode would find different from any VHDX's);
#   7zz t (rc 0, no WARNING/ERROR); 7zz e read back as exactly VDS zero
#     bytes, except above 1 GiB when qemu-img compare has already read
#     every byte (said in a note);
#   vhdiinfo, its media size VDS bytes;
#   the host `vhdx check`: rc 0, 0 errors and 0 warnings.
validate() {
	local name=$1 img=$2 vds=$3 lss=$4 out st zeros=$2.zeros.vhdx compared=0
	local host=$BUILD/host/vhdx
	if [ "$lss" = 512 ]; then
		if out=$(qemu-img check -f vhdx "$img" 2>&1); then
			pass "$name: qemu-img check"
		else
			fail "$name: qemu-img check: $out"
		fi
		rm -f "$zeros"
		if ! out=$(qemu-img create -q -f vhdx "$zeros" "$vds" 2>&1); then
			fail "$name: qemu-img create of $vds zero bytes to compare with: $out"
		elif out=$(qemu-img compare -s -f vhdx -F vhdx "$img" "$zeros" 2>&1); then
			pass "$name: qemu-img compare -s with exactly $vds zero bytes"
			compared=1
		else
			fail "$name: qemu-img compare -s with exactly $vds zero bytes: $out"
		fi
		rm -f "$zeros"
	else
		echo "  note: qemu-img not run on $name: it does not open $lss-byte logical sectors (7zz e reads the disk instead)"
	fi
	if out=$(7zz t -tvhdx "$img" 2>&1) && ! grep -qiE 'WARNING|ERROR' <<<"$out"; then
		pass "$name: 7zz t"
	else
		fail "$name: 7zz t: $(grep -iE 'WARNING|ERROR' <<<"$out" | head -n 3)"
	fi
	if [ "$vds" -gt $((1 << 30)) ] && [ $compared = 1 ]; then
		echo "  note: 7zz e not run on $name: reading its $vds bytes through 7-Zip and a pipe takes half a minute or more, and qemu-img compare -s has read every one of them as zero"
	else
		7zz e -tvhdx -so "$img" 2>/dev/null | cmp -s - <(head -c "$vds" /dev/zero)
		st=("${PIPESTATUS[@]}")
		if [ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ]; then
			pass "$name: 7zz e reads exactly $vds zero bytes"
		else
			fail "$name: 7zz e does not read back as exactly $vds zero bytes (7zz exit ${st[0]}, cmp exit ${st[1]})"
		fi
	fi
	if out=$(vhdiinfo "$img" 2>&1) && grep -q "Media size.*($vds bytes)" <<<"$out"; then
		pass "$name: vhdiinfo, media size $vds bytes"
	else
		fail "$name: vhdiinfo, media size not $vds bytes: $(grep -i -e 'media size' -e error <<<"$out" | head -n 3)"
	fi
	if [ ! -x "$host" ]; then
		fail "$name: host vhdx check: $host is missing (make host)"
		return
	fi
	out=$("$host" check "$img" 2>&1)
	st=$?
	if [ $st = 0 ] && grep -q ': 0 errors, 0 warnings$' <<<"$out"; then
		pass "$name: host vhdx check, 0 errors and 0 warnings"
	else
		fail "$name: host vhdx check (exit $st): $(tail -n 3 <<<"$out")"
	fi
}

# ---- interactive boots: keys sent through the serial port ----

# boot_x86_start DIR ESP QEMU-ARGS...: like boot_x86, in the background, with
# the serial port on the FIFOs DIR/io.in (keys) and DIR/io.out (log, copied
# to DIR/serial.raw).  Then drive it with wait_for/send_keys, and
# boot_x86_wait.
boot_x86_start() {
	local dir=$1 esp=$2
	shift 2
	cp "$OVMF_VARS" "$dir/vars.fd"
	rm -f "$dir/io.in" "$dir/io.out"
	mkfifo "$dir/io.in" "$dir/io.out"
	: > "$dir/serial.raw"
	BOOT_T0=$(date +%s%N)
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -machine q35 -m 256 \
		-display none -monitor none -no-reboot -nic none \
		-serial "pipe:$dir/io" \
		-drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" \
		-drive "if=pflash,format=raw,file=$dir/vars.fd" \
		-drive "if=none,id=esp,format=raw,file=$esp" -device ide-hd,bus=ide.0,drive=esp \
		"$@" < /dev/null > "$dir/qemu.out" 2>&1 &
	BOOT_PID=$!
	cat "$dir/io.out" >> "$dir/serial.raw" &
	BOOT_CAT=$!
	exec {BOOT_KEYS}> "$dir/io.in"
}

# wait_for DIR TEXT SECONDS [N]: until TEXT shows (N times, default 1) in
# the raw log (fixed string)
wait_for() {
	local i n=${4:-1}
	for ((i = 0; i < $3 * 10; i++)); do
		if [ "$(tr -d '\r' < "$1/serial.raw" | grep -cF -- "$2")" -ge "$n" ]; then
			return 0
		fi
		kill -0 "$BOOT_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# send_keys BYTES: printf-style bytes to the VM's serial input
send_keys() {
	printf "$1" >&"$BOOT_KEYS"
}

# boot_x86_wait DIR [kill]: wait for the VM (or stop it first)
boot_x86_wait() {
	local dir=$1
	if [ "${2:-}" = kill ]; then
		kill "$BOOT_PID" 2>/dev/null
	fi
	wait "$BOOT_PID"
	BOOT_RC=$?
	exec {BOOT_KEYS}>&-
	wait "$BOOT_CAT" 2>/dev/null
	BOOT_SECONDS=$(( ($(date +%s%N) - BOOT_T0) / 1000000000 ))
	clean_log "$dir/serial.raw" "$dir/serial.txt"
}

# make_gpt_esp IMG APP NSH P2GUID: an 80 MiB disk with a GPT: partition 1
# (1 MiB + 20 MiB) an ESP holding vhdx.efi and startup.nsh, partition 2
# (44 MiB + 16 MiB, unique GUID P2GUID) blank.
make_gpt_esp() {
	local img=$1 part=$1.p1
	rm -f "$img" "$part"
	python3 "$HERE/mkgpt.py" "$img" 80 "1:20:esp:0E5F0E5F-0000-4000-8000-000000000001" \
		"44:16:linux:$4" || return 1
	mkfs.vfat -C "$part" 20480 >/dev/null || return 1
	mcopy -i "$part" "$2" ::vhdx.efi || return 1
	mcopy -i "$part" "$3" ::startup.nsh || return 1
	dd if="$part" of="$img" bs=1M seek=1 conv=notrunc status=none || return 1
	rm -f "$part"
}

# ---- golden disks and booting what was deployed (tests/efi/deploy.sh, demo.sh) ----

GOLDEN_ESP_GUID=60D0E5F0-0000-4000-8000-000000000001
GOLDEN_DATA_GUID=60D0E5F0-0000-4000-8000-000000000002

# make_golden IMG MARKER_X86 MARKER_ARM: a 64 MiB disk with a GPT (512-byte
# sectors): partition 1 (1 MiB + 32 MiB, unique GUID GOLDEN_ESP_GUID) an
# ESP holding \EFI\BOOT\BOOTX64.EFI and BOOTAA64.EFI (the markers) and
# \golden.txt; partition 2 (34 MiB + 28 MiB, Linux) with data scattered
# through it (deterministic bytes, runs that start and end off any block
# boundary); the rest zeros.  Partition 1 is 1..33 MiB: with 2 MiB blocks
# blocks 0..16, partition 2 blocks 17..30, the backup GPT in block 31.
make_golden() {
	local img=$1 part=$1.p1
	rm -f "$img" "$part"
	python3 "$HERE/mkgpt.py" "$img" 64 "1:32:esp:$GOLDEN_ESP_GUID" "34:28:linux:$GOLDEN_DATA_GUID" || return 1
	mkfs.vfat -n GOLDEN -i 60D0E5F0 -C "$part" 32768 >/dev/null || return 1
	echo "golden disk of the vhdx UEFI tests" > "$img.txt"
	mmd -i "$part" ::EFI ::EFI/BOOT &&
		mcopy -i "$part" "$2" ::EFI/BOOT/BOOTX64.EFI &&
		mcopy -i "$part" "$3" ::EFI/BOOT/BOOTAA64.EFI &&
		mcopy -i "$part" "$img.txt" ::golden.txt || return 1
	dd if="$part" of="$img" bs=1M seek=1 conv=notrunc status=none || return 1
	rm -f "$part" "$img.txt"
	python3 - "$img" <<'PY' || return 1
import random, sys
MiB = 1 << 20
r = random.Random(14)
with open(sys.argv[1], 'r+b') as f:
    # offset, length: inside partition 2 (34..62 MiB)
    for off, n in ((34 * MiB + 3 * 512, 65536 + 700), (40 * MiB - 5000, MiB + 9000),
                   (47 * MiB + 123, 3 * 4096), (55 * MiB, 2 * MiB), (61 * MiB + 4096, 512)):
        f.seek(off)
        f.write(r.randbytes(n))
PY
}

# boot_marker ARCH DIR QEMU-ARGS...: boot OVMF (x86_64) or AAVMF (aarch64)
# with only the disks in QEMU-ARGS: no ESP, no shell script; the firmware
# boots a disk's \EFI\BOOT\BOOT{X64,AA64}.EFI by itself.  A marker powers
# the VM off; without one the firmware ends in its shell, and the timeout
# (MARKER_TIMEOUT, 90 s) stops it.  Sets BOOT_RC, BOOT_SECONDS; the cleaned
# log is DIR/serial.txt.
boot_marker() {
	local arch=$1 dir=$2 t0
	shift 2
	mkdir -p "$dir"
	t0=$(date +%s%N)
	if [ "$arch" = aarch64 ]; then
		cp "$AAVMF_VARS" "$dir/vars.fd"
		timeout "${MARKER_TIMEOUT:-90}" qemu-system-aarch64 -accel tcg -M virt -cpu cortex-a57 -m 256 \
			-display none -monitor none -no-reboot -nic none \
			-serial "file:$dir/serial.raw" \
			-drive "if=pflash,format=raw,readonly=on,file=$AAVMF_CODE" \
			-drive "if=pflash,format=raw,file=$dir/vars.fd" \
			"$@" < /dev/null > "$dir/qemu.out" 2>&1
	else
		cp "$OVMF_VARS" "$dir/vars.fd"
		timeout "${MARKER_TIMEOUT:-90}" qemu-system-x86_64 -accel tcg -machine q35 -m 256 \
			-display none -monitor none -no-reboot -nic none \
			-serial "file:$dir/serial.raw" \
			-drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" \
			-drive "if=pflash,format=raw,file=$dir/vars.fd" \
			"$@" < /dev/null > "$dir/qemu.out" 2>&1
	fi
	BOOT_RC=$?
	BOOT_SECONDS=$(( ($(date +%s%N) - t0) / 1000000000 ))
	clean_log "$dir/serial.raw" "$dir/serial.txt"
}

MARKER_LINE="VHDX-DEPLOY-MARKER booted from deployed disk"

# marker_verify WHAT DIR PATH-PREFIX: the boot in DIR powered off (qemu exit
# 0) after the marker printed its line, loaded from partition 1 of the
# golden disk (HD(1,GPT,GOLDEN_ESP_GUID)) on the device PATH-PREFIX names
# (gnu-efi's spelling: PciRoot(0)/...).
marker_verify() {
	local what=$1 dir=$2 want=$3 line
	line=$(grep -F -- "$MARKER_LINE" "$dir/serial.txt" | head -n 1)
	if [ "$BOOT_RC" = 0 ] && [ -n "$line" ] && grep -qF -- "$want" <<<"$line" &&
	   grep -qF -- "HD(1,GPT,$GOLDEN_ESP_GUID)" <<<"$line" && grep -q 'VHDX-DEPLOY-MARKER powering off' "$dir/serial.txt"; then
		pass "$what: booted alone, the firmware started the deployed ESP's marker, which powered off (${BOOT_SECONDS} s): '$line'"
	else
		fail "$what: the deployed disk did not boot to the marker (qemu exit $BOOT_RC; 124 = timeout; marker line '${line:-none}', wanted $want/HD(1,GPT,$GOLDEN_ESP_GUID)); see $dir/serial.txt"
	fi
}
