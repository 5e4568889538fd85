#!/bin/bash
# tests/efi/netbench.sh - issue 20's speed goal in vhdx.efi (make
# bench-efi-net; not make check: one OVMF boot of a few minutes under TCG).
# In one boot, against nginx on loopback (the net.sh rig):
#   ours   vhdx.efi convert of FULL (64 MiB virtual, every block stored)
#          onto a virtio disk
#   shell  the UEFI shell's `http` command downloading the same file to the
#          ESP (the firmware's own download path, the same HttpDxe)
#   sparse vhdx.efi convert --sparse of SPARSE (640 MiB virtual, 64 MiB of
#          it stored: a tenth) onto a zeroed disk
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
APP=$BUILD/efi/x86_64/vhdx.efi
V=$BUILD/host/vhdx
KIT=$HERE/netkit.py
rm -rf "$W"
mkdir -p "$W/www" "$W/tmp"
chmod 755 "$W" "$W/www"
cleanup() {
	[ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
}
trap cleanup EXIT

"$V" create -q -s 64M -b 2M "$W/www/full.vhdx" &&
	qemu-io -f vhdx -c "write -P 0x5a 0 64M" "$W/www/full.vhdx" >/dev/null &&
	"$V" create -q -s 640M -b 2M "$W/www/sparse.vhdx" || { echo "netbench: cannot make the images"; exit 1; }
for i in $(seq 0 31); do # every tenth 2 MiB block, 64 MiB in all
	echo "write -P 0x$(printf %02x $((i + 1))) $((i * 20))M 2M"
done | qemu-io -f vhdx "$W/www/sparse.vhdx" >/dev/null || { echo "netbench: qemu-io"; exit 1; }
chmod 644 "$W"/www/*.vhdx
truncate -s 64M "$W/full.img"
truncate -s 640M "$W/sparse.img"

read -r P_HTTP < <(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$W/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 64; }
http {
	log_format ranges '\$request_uri \$status \$body_bytes_sent \$http_range';
	access_log $W/access.log ranges;
	client_body_temp_path $W/tmp;
	proxy_temp_path $W/tmp;
	fastcgi_temp_path $W/tmp;
	uwsgi_temp_path $W/tmp;
	scgi_temp_path $W/tmp;
	default_type application/octet-stream;
	root $W/www;
	server { listen 127.0.0.1:$P_HTTP; }
}
EOF
/usr/sbin/nginx -c "$W/nginx.conf" -p "$W" -e "$W/nginx-error.log" || { echo "netbench: nginx"; exit 1; }

U=http://10.0.2.100
N=$W/startup.nsh
nsh_begin "$N"
nsh_run "$N" up info "$U/full.vhdx?case=up"
printf 'echo "=== t0"\r\ntime\r\n' >> "$N"
nsh_run "$N" ours convert -f -y "$U/full.vhdx?case=ours" "PciRoot(0x0)/Pci(0x5,0x0)"
printf 'echo "=== t1"\r\ntime\r\n' >> "$N"
printf 'http %s/full.vhdx?case=shell fs0:\\shell.vhdx\r\n' "$U" >> "$N"
printf 'echo "=== t2"\r\ntime\r\n' >> "$N"
nsh_run "$N" sparse convert --sparse -f -y "$U/sparse.vhdx?case=sparse" "PciRoot(0x0)/Pci(0x6,0x0)"
printf 'echo "=== t3"\r\ntime\r\n' >> "$N"
nsh_end "$N"
make_esp "$W/esp.img" "$APP" "$N" 102400 || { echo "netbench: ESP"; exit 1; }
BOOT_TIMEOUT=1200 boot_x86 "$W" "$W/esp.img" -global ide-hd.bootindex=1 \
	-netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:python3 $KIT relay $P_HTTP" \
	-device virtio-net-pci,netdev=n0,romfile=,addr=0x3 \
	-drive "if=none,id=d0,format=raw,file=$W/full.img" -device virtio-blk-pci,drive=d0,addr=0x5 \
	-drive "if=none,id=d1,format=raw,file=$W/sparse.img" -device virtio-blk-pci,drive=d1,addr=0x6

L=$W/serial.txt
secs() { # the `time` after marker $1, in seconds of the day
	sed -n "/^=== $1\$/,\$p" "$L" | grep -m1 -o '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]' |
		awk -F: '{ print $1 * 3600 + $2 * 60 + $3 }'
}
t0=$(secs t0) t1=$(secs t1) t2=$(secs t2) t3=$(secs t3)
ms() { out_of "$L" "$1" | sed -n 's/.*done: wrote [0-9]* bytes in \([0-9]*\) ms.*/\1/p'; }
reqs() { python3 "$KIT" log "$W/access.log" "$1"; }
echo "rc: ours $(rc_of "$L" ours), sparse $(rc_of "$L" sparse)"
mcopy -i "$W/esp.img" ::shell.vhdx "$W/shell.vhdx" 2>/dev/null && cmp -s "$W/shell.vhdx" "$W/www/full.vhdx" &&
	echo "shell: its file is the served file" || echo "shell: its file DIFFERS from the served file"
qemu-img convert -f vhdx -O raw "$W/www/full.vhdx" "$W/full.raw" && cmp -s "$W/full.img" "$W/full.raw" &&
	echo "ours: the disk is the image" || echo "ours: the disk DIFFERS"
printf '| path | bytes on the wire | requests | time (shell `time`) | app ms | MiB/s of the file |\n'
printf '|---|---|---|---|---|---|\n'
read -r r b _ < <(reqs ours)
printf '| vhdx.efi convert, 64 MiB full | %s | %s | %s s | %s | %s |\n' "$b" "$r" "$((t1 - t0))" "$(ms ours)" \
	"$(python3 -c "print(round($b / 1048576 / max(1, $t1 - $t0), 2))")"
read -r r b _ < <(reqs shell)
printf '| shell http, the same file | %s | %s | %s s | - | %s |\n' "$b" "$r" "$((t2 - t1))" \
	"$(python3 -c "print(round($b / 1048576 / max(1, $t2 - $t1), 2))")"
read -r r b _ < <(reqs sparse)
printf '| vhdx.efi convert --sparse, 640 MiB a tenth stored | %s | %s | %s s | %s | %s |\n' "$b" "$r" "$((t3 - t2))" "$(ms sparse)" \
	"$(python3 -c "print(round($b / 1048576 / max(1, $t3 - $t2), 2))")"
echo "logs: $W"
