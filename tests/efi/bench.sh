#!/bin/bash
# tests/efi/bench.sh - zeroing throughput of vhdx.efi under OVMF (TCG) by
# scratch buffer size and device kind.  Not a test: prints a table.
#   bash tests/efi/bench.sh [SIZE_MIB]
# Each run writes a fixed image of SIZE_MIB (default 1024) - 4 MiB virtual
# size with 1 MiB blocks over a disk of SIZE_MIB, with the scratch size set
# through the shell variable vhdx_scratch.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
. "$HERE/lib.sh"
MIB=${1:-1024}
W=$BUILD/tests/efi/bench
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
make_esp "$W/esp.img" "$BUILD/efi/x86_64/vhdx.efi" "$N"
BOOT_TIMEOUT=1800 boot_x86 "$W" "$W/esp.img" \
	-drive "if=none,id=ah,format=raw,file=$W/ahci.img" -device ide-hd,bus=ide.1,drive=ah \
	-drive "if=none,id=v5,format=raw,file=$W/virtio.img" -device virtio-blk-pci,drive=v5,addr=0x5 \
	-drive "if=none,id=nv,format=raw,file=$W/nvme.img" -device nvme,drive=nv,serial=bench,addr=0x7
echo "boot: ${BOOT_SECONDS} s, qemu exit $BOOT_RC"
awk '/^=== .* begin/{tag=$2} /wrote [0-9]+ bytes in/{match($0,/wrote [0-9]+ bytes in [0-9]+ ms \([0-9]+ MiB\/s, [0-9]+ ms in the firmware/); print tag, substr($0,RSTART,RLENGTH)}' "$W/serial.txt"
