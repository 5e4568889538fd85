# tests/efi/lib.sh - shared by run.sh and demo.sh: boot OVMF/AAVMF under
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
# the second carries the returned status.
nsh_run() {
	local f=$1 tag=$2
	shift 2
	printf 'echo "=== %s begin"\r\nvhdx.efi %s\r\necho "=== %s rc %%lasterror%%"\r\n' \
		"$tag" "$*" "$tag" >> "$f"
}

nsh_end() {
	printf 'reset -s\r\n' >> "$1"
}

# make_esp IMG APP NSH: a 33 MiB FAT image (no partition table) holding
# vhdx.efi and startup.nsh.  No \EFI\BOOT\BOOT*.EFI: the firmware must
# fall through to the shell, which runs startup.nsh.
make_esp() {
	rm -f "$1"
	mkfs.vfat -C "$1" 33792 >/dev/null || return 1
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
# virtio-blk at PCI 0x4.
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
		-drive "if=none,id=esp,format=raw,file=$esp" -device virtio-blk-pci,drive=esp,addr=0x4 \
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

# arg_of TEXT OPTION: the value after OPTION in the plan's command line
arg_of() {
	grep '^  command ' <<<"$1" | head -n 1 | sed -n "s/.* $2 \([^ ]*\).*/\1/p"
}

# image_size TEXT: bytes of the image, from the done: line
image_size() {
	grep 'done: wrote' <<<"$1" | sed -n 's/.*image of \([0-9]*\) bytes.*/\1/p'
}

# validate NAME IMG VDS LSS: every independent reader we have.
#   qemu-img check + compare against zeros (512-byte logical only: qemu-img
#   rejects 4096), 7zz t (rc 0, no WARNING/ERROR), 7zz e compared with zeros
#   (virtual sizes up to 1 GiB), vhdiinfo.
validate() {
	local name=$1 img=$2 vds=$3 lss=$4 zeros out
	zeros=$img.zeros
	rm -f "$zeros"
	truncate -s "$vds" "$zeros"
	if [ "$lss" = 512 ]; then
		if out=$(qemu-img check -f vhdx "$img" 2>&1); then
			pass "$name: qemu-img check"
		else
			fail "$name: qemu-img check: $out"
		fi
		if out=$(qemu-img compare -f vhdx -F raw "$img" "$zeros" 2>&1); then
			pass "$name: qemu-img compare with $vds zero bytes"
		else
			fail "$name: qemu-img compare with zeros: $out"
		fi
	fi
	if out=$(7zz t -tvhdx "$img" 2>&1) && ! grep -qiE 'WARNING|ERROR' <<<"$out"; then
		pass "$name: 7zz t"
	else
		fail "$name: 7zz t: $(grep -iE 'WARNING|ERROR' <<<"$out" | head -n 3)"
	fi
	if [ "$vds" -le $((1 << 30)) ]; then
		if 7zz e -tvhdx -so "$img" 2>/dev/null | cmp -s - "$zeros"; then
			pass "$name: 7zz e reads $vds zero bytes"
		else
			fail "$name: 7zz e does not read back as $vds zero bytes"
		fi
	fi
	if out=$(vhdiinfo "$img" 2>&1); then
		pass "$name: vhdiinfo"
	else
		fail "$name: vhdiinfo: $(tail -n 3 <<<"$out")"
	fi
	rm -f "$zeros"
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
