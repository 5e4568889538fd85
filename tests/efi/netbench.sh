#!/bin/bash
# tests/efi/netbench.sh - issue 20's speed goal in vhdx.efi (make
# bench-efi-net; not make check: one OVMF boot of several minutes under
# TCG).  In one boot, against nginx on loopback (netrig.sh, as net.sh):
#   ours   vhdx.efi convert of FULL (64 MiB virtual, every block stored)
#          onto a virtio disk
#   shell  the UEFI shell's `http` command downloading the same file to the
#          ESP (the firmware's own download path, the same HttpDxe)
#   sparse vhdx.efi convert --sparse of SPARSE (640 MiB virtual, 64 MiB of
#          it stored: a tenth) onto a zeroed disk
#   ours_tls, shell_tls  the first two over HTTPS (the firmware's TlsDxe,
#          our CA from fw_cfg; TLS 1.2 AES256-GCM-SHA384, as net.sh)
#   copy, tcp4, tcp4d  issue 20's experiment, convert --bench-raw MODE of
#          FULL (efi_bench.c): the same 64 MiB of the file written to the
#          disk with no VHDX logic, read through our EFI_HTTP_PROTOCOL
#          source (copy), or in one GET over EFI_TCP4 directly with a 4 MiB
#          receive buffer and window scaling (tcp4) or TcpDxe's default
#          options (tcp4d); copy_tls the copy over HTTPS
#   ours2, shell2  ours and shell again at the end (TCG's speed follows the
#          host's load: the same row twice shows how much it moved)
# Each timed by the shell's `time` before and after (1 s resolution), and
# ours also by the app's own "done: ... in N ms" line.  Prints the table
# for BENCHMARKS.md.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
W=$BUILD/tests/efi/netbench-$$
. "$HERE/lib.sh"
. "$HERE/netrig.sh"
APP=$BUILD/efi/x86_64/vhdx.efi
V=$BUILD/host/vhdx
rm -rf "$W"
mkdir -p "$W/www"
chmod 755 "$W" "$W/www"
trap netrig_stop EXIT

"$V" create -q -s 64M -b 2M "$W/www/full.vhdx" &&
	qemu-io -f vhdx -c "write -P 0x5a 0 64M" "$W/www/full.vhdx" >/dev/null &&
	"$V" create -q -s 640M -b 2M "$W/www/sparse.vhdx" || { echo "netbench: cannot make the images"; exit 1; }
for i in $(seq 0 31); do # every tenth 2 MiB block, 64 MiB in all
	echo "write -P 0x$(printf %02x $((i + 1))) $((i * 20))M 2M"
done | qemu-io -f vhdx "$W/www/sparse.vhdx" >/dev/null || { echo "netbench: qemu-io"; exit 1; }
chmod 644 "$W"/www/*.vhdx
truncate -s 64M "$W/full.img"
truncate -s 640M "$W/sparse.img"
truncate -s 64M "$W/tls.img"
truncate -s 64M "$W/raw.img"
netrig_ca ca && netrig_cert srv ca && netrig_cacerts ca || { echo "netbench: openssl"; exit 1; }

read -r P_HTTP P_HTTPS < <(netrig_ports 2)
netrig_nginx "server { listen 127.0.0.1:$P_HTTP; }
	server { listen 127.0.0.1:$P_HTTPS ssl; $NETRIG_TLS ssl_certificate $W/srv.crt; ssl_certificate_key $W/srv.key; }" ||
	{ echo "netbench: nginx: $(cat "$W/nginx.out")"; exit 1; }
netrig_netdev "$(netrig_fwd 80 "$P_HTTP")" "$(netrig_fwd 443 "$P_HTTPS")"

U=http://10.0.2.100
S=https://10.0.2.100
N=$W/startup.nsh
mark() { printf 'echo "=== %s"\r\ntime\r\n' "$1" >> "$N"; }
nsh_begin "$N"
nsh_run "$N" up info "$U/full.vhdx?case=up"
mark t0
nsh_run "$N" ours convert -f -y "$U/full.vhdx?case=ours" "PciRoot(0x0)/Pci(0x5,0x0)"
mark t1
printf 'http %s/full.vhdx?case=shell fs0:\\shell.vhdx\r\n' "$U" >> "$N"
mark t2
nsh_run "$N" sparse convert --sparse -f -y "$U/sparse.vhdx?case=sparse" "PciRoot(0x0)/Pci(0x6,0x0)"
mark t3
nsh_run "$N" ours_tls convert -f -y "$S/full.vhdx?case=ours_tls" "PciRoot(0x0)/Pci(0x7,0x0)"
mark t4
printf 'http %s/full.vhdx?case=shell_tls fs0:\\shelltls.vhdx\r\n' "$S" >> "$N"
mark t5
nsh_run "$N" copy convert -f -y --bench-raw copy "$U/full.vhdx?case=copy" "PciRoot(0x0)/Pci(0x8,0x0)"
mark t6
nsh_run "$N" tcp4 convert -f -y --bench-raw tcp4 "$U/full.vhdx?case=tcp4" "PciRoot(0x0)/Pci(0x8,0x0)"
mark t7
nsh_run "$N" tcp4d convert -f -y --bench-raw tcp4d "$U/full.vhdx?case=tcp4d" "PciRoot(0x0)/Pci(0x8,0x0)"
mark t8
nsh_run "$N" copy_tls convert -f -y --bench-raw copy "$S/full.vhdx?case=copy_tls" "PciRoot(0x0)/Pci(0x8,0x0)"
mark t9
nsh_run "$N" ours2 convert -f -y "$U/full.vhdx?case=ours2" "PciRoot(0x0)/Pci(0x5,0x0)"
mark t10
printf 'http %s/full.vhdx?case=shell2 fs0:\\shell2.vhdx\r\n' "$U" >> "$N"
mark t11
nsh_end "$N"
make_esp "$W/esp.img" "$APP" "$N" 307200 || { echo "netbench: ESP"; exit 1; }
BOOT_TIMEOUT=1800 boot_x86 "$W" "$W/esp.img" -global ide-hd.bootindex=1 "${NETRIG_NET[@]}" \
	-device virtio-rng-pci,addr=0x4 -fw_cfg "name=etc/edk2/https/cacerts,file=$W/cacerts.esl" \
	-drive "if=none,id=d0,format=raw,file=$W/full.img" -device virtio-blk-pci,drive=d0,addr=0x5 \
	-drive "if=none,id=d1,format=raw,file=$W/sparse.img" -device virtio-blk-pci,drive=d1,addr=0x6 \
	-drive "if=none,id=d2,format=raw,file=$W/tls.img" -device virtio-blk-pci,drive=d2,addr=0x7 \
	-drive "if=none,id=d3,format=raw,file=$W/raw.img" -device virtio-blk-pci,drive=d3,addr=0x8

L=$W/serial.txt
secs() { # the `time` after marker $1, in seconds of the day
	sed -n "/^=== $1\$/,\$p" "$L" | grep -m1 -o '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]' |
		awk -F: '{ print $1 * 3600 + $2 * 60 + $3 }'
}
t0=$(secs t0) t1=$(secs t1) t2=$(secs t2) t3=$(secs t3) t4=$(secs t4) t5=$(secs t5)
t6=$(secs t6) t7=$(secs t7) t8=$(secs t8) t9=$(secs t9) t10=$(secs t10) t11=$(secs t11)
ms() { out_of "$L" "$1" | sed -n 's/.*done: wrote [0-9]* bytes in \([0-9]*\) ms.*/\1/p'; }
bench_ms() { out_of "$L" "$1" | sed -n 's/^bench-raw .* bytes in \([0-9]*\) ms.*/\1/p' | tail -n 1; }
reqs() { python3 "$NETKIT" log "$W/access.log" "$1"; }
echo "rc: ours $(rc_of "$L" ours), sparse $(rc_of "$L" sparse), ours_tls $(rc_of "$L" ours_tls)"
for f in shell shelltls shell2; do
	mcopy -i "$W/esp.img" ::$f.vhdx "$W/$f.vhdx" 2>/dev/null && cmp -s "$W/$f.vhdx" "$W/www/full.vhdx" &&
		echo "$f: its file is the served file" || echo "$f: its file DIFFERS from the served file"
done
qemu-img convert -f vhdx -O raw "$W/www/full.vhdx" "$W/full.raw"
for d in full tls; do
	cmp -s "$W/$d.img" "$W/full.raw" && echo "ours ($d.img): the disk is the image" || echo "ours ($d.img): the disk DIFFERS"
done
row() { # TEXT TAG T-BEFORE T-AFTER APP-MS
	local r b
	read -r r b _ < <(reqs "$2")
	printf '| %s | %s | %s | %s s | %s | %s |\n' "$1" "$b" "$r" "$(($4 - $3))" "$5" \
		"$(python3 -c "print(round($b / 1048576 / max(1, $4 - $3), 2))")"
}
printf '| path | bytes on the wire | requests | time (shell `time`) | app ms | MiB/s of the file |\n'
printf '|---|---|---|---|---|---|\n'
row "vhdx.efi convert, 64 MiB full" ours "$t0" "$t1" "$(ms ours)"
row "shell http, the same file" shell "$t1" "$t2" -
row "vhdx.efi convert --sparse, 640 MiB a tenth stored" sparse "$t2" "$t3" "$(ms sparse)"
row "vhdx.efi convert https://, 64 MiB full" ours_tls "$t3" "$t4" "$(ms ours_tls)"
row "shell http https://, the same file" shell_tls "$t4" "$t5" -
row "bench-raw copy: 64 MiB of the file through our HTTP source, no VHDX logic" copy "$t5" "$t6" "$(bench_ms copy)"
row "bench-raw tcp4: the same in one GET over EFI_TCP4, 4 MiB receive buffer, window scaling" tcp4 "$t6" "$t7" "$(bench_ms tcp4)"
row "bench-raw tcp4d: the same over EFI_TCP4, TcpDxe's default options" tcp4d "$t7" "$t8" "$(bench_ms tcp4d)"
row "bench-raw copy over https://" copy_tls "$t8" "$t9" "$(bench_ms copy_tls)"
row "vhdx.efi convert, 64 MiB full, again" ours2 "$t9" "$t10" "$(ms ours2)"
row "shell http, the same file, again" shell2 "$t10" "$t11" -
for t in copy tcp4 tcp4d copy_tls; do
	echo "$t: $(out_of "$L" "$t" | grep 'bench-raw' | tail -n 1) (rc $(rc_of "$L" "$t"))"
done
# FULL's blocks lie in order in its file: the raw copies equal the disk
cmp -s "$W/raw.img" "$W/full.raw" && echo "after tcp4d: its disk is the image" || echo "after tcp4d: its disk DIFFERS"
echo "logs: $W"
