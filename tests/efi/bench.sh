#!/bin/bash
# tests/efi/bench.sh - vhdx.efi under OVMF (TCG).  Not part of make check:
# prints a table (and asserts only that every run completed).
#
#   bash tests/efi/bench.sh [ROUNDS]        (default 6)
#     issue 7 part 4: `create -t fixed -s 1G` on a virtio-blk disk against
#     the same app's plain WriteBlocks loop over the same bytes with the same
#     chunk size (`create --bench-raw write`, efi/efi_bench.c), in one boot,
#     alternating (ABBA: create/raw, raw/create, ...).  Each row is one
#     round; the last lines give medians and the ratio of the medians.
#     A first raw pass (not counted) writes every block of the fresh
#     sparse disk file once: the host allocates them then, and the first
#     measured run would pay for that (7 s against 0.6-1.2 s seen).
#     After the last create, `vhdx check` in the same boot and qemu-img
#     check / 7zz t on the host.
#
#   bash tests/efi/bench.sh scratch [SIZE_MIB]
#     zeroing throughput by scratch buffer size (shell variable
#     vhdx_scratch) and device kind: a fixed image of SIZE_MIB (default
#     1024) - 4 MiB over disks of SIZE_MIB on virtio-blk, NVMe and AHCI.
#
#   bash tests/efi/bench.sh deploy [ROUNDS]   (default 4; issue 14)
#     `vhdx.efi convert -f -y fs0:\full.vhdx DEV` (a 1 GiB dynamic VHDX made
#     by the host tool from 1 GiB of random bytes: all 32 blocks present,
#     read from a file on the FAT ESP) against the raw WriteBlocks loop
#     (`create -t fixed -s 1G --bench-raw write`, zeros from memory, no
#     reads) on the same virtio-blk disk, ABBA in one boot after a raw
#     warm-up pass; then `--sparse` against the default on an image one
#     tenth allocated (every tenth 2 MiB block random, the rest never
#     stored), and the 1 GiB image once more beside them.  Afterwards the
#     disks equal the images' raw disks on the host (cmp).  Prints the
#     table of BENCHMARKS.md "UEFI deploy".
#
# Ends with "N passed, M failed"; exits non-zero on failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
. "$HERE/lib.sh"
APP=$BUILD/efi/x86_64/vhdx.efi

finish() {
	echo "logs: $W"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

scratch_sweep() {
	local MIB=${1:-1024} scratch dev
	W=$BUILD/tests/efi/bench-scratch
	rm -rf "$W"
	mkdir -p "$W"
	truncate -s "${MIB}M" "$W/virtio.img" "$W/nvme.img" "$W/ahci.img"
	N=$W/startup.nsh
	nsh_begin "$N"
	for scratch in ${SCRATCH_SIZES:-65536 262144 1048576 4194304 16777216}; do
		printf 'set vhdx_scratch %s\r\n' "$scratch" >> "$N"
		for dev in virtio:blk2: nvme:blk3: ahci:blk1:; do
			nsh_run "$N" "${dev%%:*}-$scratch" create -y -f -t fixed -b 1M "${dev#*:}"
		done
	done
	nsh_end "$N"
	make_esp "$W/esp.img" "$APP" "$N" || { fail "cannot build the ESP"; finish; }
	BOOT_TIMEOUT=1800 boot_x86 "$W" "$W/esp.img" \
		-drive "if=none,id=ah,format=raw,file=$W/ahci.img" -device ide-hd,bus=ide.1,drive=ah \
		-drive "if=none,id=v5,format=raw,file=$W/virtio.img" -device virtio-blk-pci,drive=v5,addr=0x5 \
		-drive "if=none,id=nv,format=raw,file=$W/nvme.img" -device nvme,drive=nv,serial=bench,addr=0x7
	echo "boot: ${BOOT_SECONDS} s, qemu exit $BOOT_RC"
	awk '/^=== .* begin/{tag=$2} /wrote [0-9]+ bytes in/{match($0,/wrote [0-9]+ bytes in [0-9]+ ms \([0-9]+ MiB\/s, [0-9]+ ms in the firmware/); print tag, substr($0,RSTART,RLENGTH)}' "$W/serial.txt"
	if [ "$BOOT_RC" = 0 ] && [ "$(grep -c 'done: wrote' "$W/serial.txt")" -gt 0 ]; then
		pass "scratch sweep: boot completed"
	else
		fail "scratch sweep: boot did not complete"
	fi
	rm -f "$W"/*.img "$W"/*.fd
	finish
}

if [ "${1:-}" = scratch ]; then
	shift
	scratch_sweep "$@"
fi

# "bytes ms" of a deploy (done: line) or a raw loop, or nothing
deploy_figures() {
	out_of "$L" "$1" | sed -n -e 's/^done: wrote \([0-9]*\) bytes in \([0-9]*\) ms .*/\1 \2/p' \
		-e 's/^bench-raw write: wrote \([0-9]*\) bytes in \([0-9]*\) ms .*/\1 \2/p' | head -n 1
}

deploy_bench() {
	local ROUNDS=${1:-4} r k pair rows V=$BUILD/host/vhdx f
	[ $((ROUNDS % 2)) = 0 ] || ROUNDS=$((ROUNDS + 1))
	W=$BUILD/tests/efi/bench-deploy
	rm -rf "$W"
	mkdir -p "$W"
	need qemu-system-x86_64 mkfs.vfat mcopy python3 cmp timeout || finish
	need_file "$APP" "make efi" && need_file "$OVMF_CODE" "Debian package ovmf" &&
		need_file "$V" "make host" || finish
	echo "making the images: 1 GiB of random bytes, and 1 GiB with every tenth 2 MiB block random..."
	head -c $((1 << 30)) /dev/urandom > "$W/full.raw"
	python3 - "$W/tenth.raw" <<'PY' || { fail "cannot make tenth.raw"; finish; }
import os, sys
MiB = 1 << 20
with open(sys.argv[1], 'wb') as f:
    f.truncate(1024 * MiB)
    for b in range(0, 512, 10):
        f.seek(b * 2 * MiB)
        f.write(os.urandom(2 * MiB))
PY
	"$V" convert -q "$W/full.raw" "$W/full.vhdx" && "$V" convert -q -b 2M "$W/tenth.raw" "$W/tenth.vhdx" ||
		{ fail "host vhdx convert of the bench images"; finish; }
	for f in full tenth; do
		echo "  $f.vhdx: $(stat -c %s "$W/$f.vhdx") bytes, $("$V" info "$W/$f.vhdx" | sed -n 's/^blocks: //p')"
	done
	truncate -s 1100M "$W/virtio.img" "$W/sparse.img"
	# the same VHDX as the bytes of a virtio-blk disk: the deploy's reads
	# without the AHCI ESP and its FAT driver
	cp "$W/full.vhdx" "$W/src.img"
	DEV="PciRoot(0x0)/Pci(0x5,0x0)"
	SDEV="PciRoot(0x0)/Pci(0x6,0x0)"
	N=$W/startup.nsh
	nsh_begin "$N"
	nsh_run "$N" warmup create -y -f -t fixed -s 1G --bench-raw write "$DEV"
	nsh_run "$N" swarmup create -y -f -t fixed -s 1G --bench-raw write "$SDEV"
	for ((r = 1; r <= ROUNDS; r++)); do
		if [ $((r % 2)) = 1 ]; then pair="deploy raw"; else pair="raw deploy"; fi
		for k in $pair; do
			if [ "$k" = deploy ]; then
				nsh_run "$N" "deploy-$r" convert -f -y 'fs0:\full.vhdx' "$DEV"
			else
				nsh_run "$N" "raw-$r" create -y -f -t fixed -s 1G --bench-raw write "$DEV"
			fi
		done
	done
	for ((r = 1; r <= ROUNDS / 2; r++)); do
		nsh_run "$N" "devdeploy-$r" convert -f -y "PciRoot(0x0)/Pci(0x7,0x0)" "$DEV"
	done
	# the raw loop wrote zeros onto the sparse disk: it reads as zeros again
	for ((r = 1; r <= ROUNDS / 2; r++)); do
		nsh_run "$N" "tsparse-$r" convert -f -y --sparse 'fs0:\tenth.vhdx' "$SDEV"
		nsh_run "$N" "tfull-$r" convert -f -y 'fs0:\tenth.vhdx' "$DEV"
	done
	nsh_end "$N"
	make_esp "$W/esp.img" "$APP" "$N" $((1300 * 1024)) &&
		mcopy -i "$W/esp.img" "$W/full.vhdx" "$W/tenth.vhdx" :: || { fail "cannot build the ESP"; finish; }
	echo "booting OVMF (TCG): $ROUNDS rounds of deploy 1 GiB / --bench-raw write, then --sparse..."
	BOOT_TIMEOUT=1800 boot_x86 "$W" "$W/esp.img" \
		-drive "if=none,id=v5,format=raw,file=$W/virtio.img,cache=writeback" \
		-device virtio-blk-pci,drive=v5,addr=0x5 \
		-drive "if=none,id=v6,format=raw,file=$W/sparse.img,cache=writeback" \
		-device virtio-blk-pci,drive=v6,addr=0x6 \
		-drive "if=none,id=v7,format=raw,file=$W/src.img,readonly=on,cache=writeback" \
		-device virtio-blk-pci,drive=v7,addr=0x7
	L=$W/serial.txt
	echo "boot: ${BOOT_SECONDS} s, qemu exit $BOOT_RC; log $L"
	if [ "$BOOT_RC" = 0 ] && grep -q "^=== tfull-$((ROUNDS / 2)) rc" "$L"; then
		pass "boot completed"
	else
		fail "boot did not complete (qemu exit $BOOT_RC)"
	fi
	rows=$W/rows.txt
	: > "$rows"
	for ((r = 1; r <= ROUNDS; r++)); do
		for k in deploy raw; do
			if [ "$(rc_of "$L" "$k-$r")" = 0x0 ]; then
				pass "round $r: $k returned 0x0"
			else
				fail "round $r: $k returned '$(rc_of "$L" "$k-$r")': $(out_of "$L" "$k-$r" | tail -n 2)"
			fi
		done
		echo "$r $(deploy_figures "deploy-$r") $(deploy_figures "raw-$r")" >> "$rows"
	done
	for ((r = 1; r <= ROUNDS / 2; r++)); do
		for k in tsparse tfull devdeploy; do
			if [ "$(rc_of "$L" "$k-$r")" = 0x0 ]; then
				pass "round $r: $k returned 0x0"
			else
				fail "round $r: $k returned '$(rc_of "$L" "$k-$r")': $(out_of "$L" "$k-$r" | tail -n 2)"
			fi
		done
	done
	echo
	echo "UEFI deploy: vhdx.efi convert of a 1 GiB dynamic VHDX (all 32 blocks present, a file on the"
	echo "FAT ESP) onto virtio-blk, against the raw WriteBlocks loop of zeros over the same disk, one"
	echo "boot (OVMF, q35, TCG), ABBA; load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	awk '
		function med(a, k,   i, j, t, b) {
			for (i = 1; i <= k; i++) b[i] = a[i]
			for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
			return (k % 2) ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
		}
		NF == 5 { n++; r[n] = $1; db[n] = $2; dm[n] = $3; wb[n] = $4; wm[n] = $5
			dr[n] = db[n] / 1048576 * 1000 / dm[n]; wr[n] = wb[n] / 1048576 * 1000 / wm[n] }
		END {
			printf "| round | deploy bytes | deploy ms | deploy MiB/s | raw bytes | raw ms | raw MiB/s | deploy/raw throughput |\n"
			printf "|---|---|---|---|---|---|---|---|\n"
			for (i = 1; i <= n; i++)
				printf "| %d | %d | %d | %.0f | %d | %d | %.0f | %.2f |\n", r[i], db[i], dm[i], dr[i], wb[i], wm[i], wr[i], dr[i] / wr[i]
			if (n) {
				md = med(dr, n); mw = med(wr, n)
				printf "| median | | %d | %.0f | | %d | %.0f | %.2f |\n", med(dm, n), md, med(wm, n), mw, md / mw
			}
		}' "$rows"
	echo
	echo "The same 1 GiB VHDX read from a virtio-blk disk (no FAT, no AHCI), same target:"
	echo
	echo "| round | bytes | ms | MiB/s | firmware's writes ms |"
	echo "|---|---|---|---|---|"
	for ((r = 1; r <= ROUNDS / 2; r++)); do
		out_of "$L" "devdeploy-$r" | sed -n "s/^done: wrote \([0-9]*\) bytes in \([0-9]*\) ms (.*, \([0-9]*\) ms in the firmware's writes.*/| $r | \1 | \2 | X | \3 |/p" |
			awk -F'|' '{ printf "|%s|%s|%s| %.0f |%s|\n", $2, $3, $4, $3 / 1048576 * 1000 / $4, $6 }'
	done
	echo
	echo "--sparse on a 1 GiB image one tenth allocated (52 of 512 2 MiB blocks), onto a disk that reads as zeros,"
	echo "against the default (zero ranges written) onto the other disk:"
	echo
	echo "| round | --sparse bytes | --sparse ms | default bytes | default ms | sparse/default time |"
	echo "|---|---|---|---|---|---|"
	for ((r = 1; r <= ROUNDS / 2; r++)); do
		read -r sb sm <<<"$(deploy_figures "tsparse-$r")"
		read -r fb fm <<<"$(deploy_figures "tfull-$r")"
		if [ -n "${sm:-}" ] && [ -n "${fm:-}" ]; then
			echo "| $r | $sb | $sm | $fb | $fm | $(awk -v a="$sm" -v b="$fm" 'BEGIN { printf "%.2f", a / b }') |"
		else
			fail "sparse round $r: figures missing"
		fi
	done
	echo
	if [ "$ROUNDS" -gt 0 ] && cmp -n $((1 << 30)) "$W/virtio.img" "$W/tenth.raw" >/dev/null 2>&1; then
		pass "the default deploy's disk equals tenth.raw (cmp, 1 GiB)"
	else
		fail "the default deploy's disk differs from tenth.raw"
	fi
	if cmp -n $((1 << 30)) "$W/sparse.img" "$W/tenth.raw" >/dev/null 2>&1; then
		pass "the --sparse deploy's disk equals tenth.raw (cmp, 1 GiB)"
	else
		fail "the --sparse deploy's disk differs from tenth.raw"
	fi
	rm -f "$W"/*.img "$W"/*.vhdx "$W"/*.raw "$W"/*.fd
	finish
}

if [ "${1:-}" = deploy ]; then
	shift
	deploy_bench "$@"
fi

ROUNDS=${1:-6}
# an even number of rounds: ABBA ends with a create, checked at the end
[ $((ROUNDS % 2)) = 0 ] || ROUNDS=$((ROUNDS + 1))
W=$BUILD/tests/efi/bench-raw
rm -rf "$W"
mkdir -p "$W"
need qemu-system-x86_64 qemu-img 7zz mkfs.vfat mcopy timeout || finish
need_file "$APP" "make efi" && need_file "$OVMF_CODE" "Debian package ovmf" || finish
# 1 GiB fixed with the default 32 MiB blocks: 1028 MiB of file
truncate -s 1100M "$W/virtio.img"
DEV="PciRoot(0x0)/Pci(0x5,0x0)"
N=$W/startup.nsh
nsh_begin "$N"
nsh_run "$N" warmup create -y -f -t fixed -s 1G --bench-raw write "$DEV"
order=()
for ((r = 1; r <= ROUNDS; r++)); do
	if [ $((r % 2)) = 1 ]; then pair="create raw"; else pair="raw create"; fi
	for k in $pair; do
		order+=("$k-$r")
		if [ "$k" = create ]; then
			nsh_run "$N" "$k-$r" create -y -f -t fixed -s 1G "$DEV"
		else
			nsh_run "$N" "$k-$r" create -y -f -t fixed -s 1G --bench-raw write "$DEV"
		fi
	done
done
nsh_run "$N" check check "$DEV"
nsh_end "$N"
make_esp "$W/esp.img" "$APP" "$N" || { fail "cannot build the ESP"; finish; }
echo "booting OVMF (TCG): $ROUNDS rounds of create -t fixed -s 1G and --bench-raw write on virtio-blk..."
BOOT_TIMEOUT=1800 boot_x86 "$W" "$W/esp.img" \
	-drive "if=none,id=v5,format=raw,file=$W/virtio.img,cache=writeback" \
	-device virtio-blk-pci,drive=v5,addr=0x5
L=$W/serial.txt
echo "boot: ${BOOT_SECONDS} s, qemu exit $BOOT_RC; log $L"
if [ "$BOOT_RC" = 0 ] && grep -q '^=== check rc' "$L"; then
	pass "boot completed"
else
	fail "boot did not complete (qemu exit $BOOT_RC)"
fi

# "ms MiB/s bytes flush-ms flushes" of one run, or nothing
figures() {
	local out
	out=$(out_of "$L" "$1")
	sed -n -e 's/^done: wrote \([0-9]*\) bytes in \([0-9]*\) ms (\([0-9]*\) MiB\/s, .*, \([0-9]*\) ms in \([0-9]*\) flush.*/\2 \3 \1 \4 \5/p' \
		-e 's/^bench-raw write: wrote \([0-9]*\) bytes in \([0-9]*\) ms (\([0-9]*\) MiB\/s.*, \([0-9]*\) ms in 1 flush.*/\2 \3 \1 \4 1/p' <<<"$out" |
		head -n 1
}

rows=$W/rows.txt
: > "$rows"
for ((r = 1; r <= ROUNDS; r++)); do
	c=$(figures "create-$r")
	w=$(figures "raw-$r")
	for k in create raw; do
		rc=$(rc_of "$L" "$k-$r")
		if [ "$rc" = 0x0 ]; then
			pass "round $r: $k returned 0x0"
		else
			fail "round $r: $k returned '${rc:-none}': $(out_of "$L" "$k-$r" | tail -n 2)"
		fi
	done
	if [ -n "$c" ] && [ -n "$w" ]; then
		read -r cms cmb cby cfl cfn <<<"$c"
		read -r wms wmb wby wfl _ <<<"$w"
		if [ "$cby" = "$wby" ]; then
			pass "round $r: both wrote $cby bytes"
		else
			fail "round $r: create wrote $cby bytes, the raw loop $wby"
		fi
		echo "$r $cms $cmb $wms $wmb $cby $cfl $cfn $wfl" >> "$rows"
	else
		fail "round $r: figures missing (create '$c', raw '$w')"
	fi
done
chunk=$(out_of "$L" "raw-1" | sed -n 's/.* WriteBlocks of up to \([0-9]*\) bytes.*/\1/p' | head -n 1)
rtc=$(out_of "$L" "raw-1" | sed -n 's/.*; RTC \([0-9]*\) s$/\1/p' | head -n 1)

echo
echo "UEFI: create -t fixed -s 1G on virtio-blk (OVMF, q35, TCG) vs a plain WriteBlocks loop"
echo "of zeros over the same bytes, ${chunk:-?}-byte chunks, one boot; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
awk -v chunk="${chunk:-?}" '
	{ n++; r[n]=$1; cms[n]=$2; cmb[n]=$3; wms[n]=$4; wmb[n]=$5; by=$6; cfl[n]=$7; cfn[n]=$8; wfl[n]=$9 }
	function med(a, k,   i, j, t, b) {
		for (i = 1; i <= k; i++) b[i] = a[i]
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
		return (k % 2) ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
	}
	END {
		printf "| round | create ms | create MiB/s | of which flushes | raw loop ms | raw MiB/s | of which flush | create/raw time |\n"
		printf "|---|---|---|---|---|---|---|---|\n"
		for (i = 1; i <= n; i++)
			printf "| %d | %d | %d | %d ms (%d) | %d | %d | %d ms | %.2f |\n", r[i], cms[i], cmb[i], cfl[i], cfn[i], wms[i], wmb[i], wfl[i], cms[i] / wms[i]
		if (n) {
			mc = med(cms, n); mw = med(wms, n)
			printf "| median | %d | %d | %d ms | %d | %d | %d ms | %.2f |\n", mc, by / 1048576 * 1000 / mc, med(cfl, n), mw, by / 1048576 * 1000 / mw, med(wfl, n), mc / mw
			printf "\nbytes per run: %d (both); ratio of the medians: %.2f\n", by, mc / mw
		}
	}' "$rows"
echo
[ -n "$rtc" ] && echo "(calibration check, round 1 raw loop: RTC says $rtc s)"

expect_check=$(rc_of "$L" check)
if [ "$expect_check" = 0x0 ] && out_of "$L" check | grep -q ' 0 errors'; then
	pass "vhdx check of the last image in the same boot: 0x0, 0 errors"
else
	fail "vhdx check of the last image: '${expect_check:-none}'"
fi
size=$(out_of "$L" "create-$ROUNDS" | sed -n 's/.*image of \([0-9]*\) bytes.*/\1/p')
if [ "${order[${#order[@]}-1]}" = "create-$ROUNDS" ] && [ -n "$size" ]; then
	head -c "$size" "$W/virtio.img" > "$W/last.vhdx"
	if out=$(qemu-img check -f vhdx "$W/last.vhdx" 2>&1); then
		pass "last image: qemu-img check"
	else
		fail "last image: qemu-img check: $out"
	fi
	if out=$(7zz t -tvhdx "$W/last.vhdx" 2>&1) && ! grep -qiE 'WARNING|ERROR' <<<"$out"; then
		pass "last image: 7zz t"
	else
		fail "last image: 7zz t"
	fi
fi
rm -f "$W"/*.img "$W"/*.vhdx "$W"/*.fd
finish
