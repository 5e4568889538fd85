#!/bin/bash
# tests/efi/net.sh - issue 20 in vhdx.efi: images deployed from http:// and
# https:// URLs under OVMF (x86_64, TCG), in one boot, with no `ifconfig`
# in the script (the app connects the NIC and asks DHCP itself).
#
# Hermetic: every server listens on 127.0.0.1; the guest's network is
# QEMU's user network with restrict=on and one guestfwd per port, to
# 10.0.2.100, each connection relayed to a loopback port by netkit.py.
#   10.0.2.100:80    nginx (nginx-light, our own configuration)
#   10.0.2.100:443   nginx, TLS with a certificate of our CA (trusted: its
#                    EFI_SIGNATURE_LIST is OVMF's etc/edk2/https/cacerts)
#   10.0.2.100:8443  nginx, TLS with a certificate of another CA (untrusted)
#   10.0.2.100:9443  nginx, TLS with a certificate of a third CA, whose
#                    certificate is fs0:\third.pem (for --cacert)
#   10.0.2.100:8080  python3 http.server: ignores Range (200)
#   10.0.2.100:81    netkit.py flaky: nginx behind a proxy that cuts the
#                    first connection mid-body
#   10.0.2.100:82    netkit.py tricky: chunked bodies, a Content-Range off
#                    the range asked, a 500 once the deploy has begun
# Cases (the query ?case=TAG tells them apart in nginx's log):
#   nhttp   deploy over HTTP onto a disk of old data: the disk reads as
#           qemu-img reads the image; nginx's log: no byte asked twice, the
#           bytes fetched at least the image's allocated bytes and at most
#           its file size
#   ninfo   info of the URL; ncmp compare of the URL with the deployed disk
#   nhttps  deploy over HTTPS: the same disk
#   n404    a missing file: 0x2, "HTTP 404", its disk untouched
#   ntls    a certificate of another CA: 0x2, "TLS", its disk untouched
#   nrange  a server that ignores Range: 0x2, "ignores Range", disk untouched
#   ncut    a connection cut mid-body: retried from that byte, 0x0, the
#           same disk
#   nchain  a differencing child whose parent is found by its relative_path
#           (..\golden.vhdx) resolved against the child's URL: the same disk
#   nchunk  206 answers with chunked bodies (de-chunked by the app): the
#           same disk
#   nshift  a Content-Range that is not the range asked: 0x2, untouched
#   nlate   a 500 after the deploy began: 0x7, "HTTP 500", the disk's first
#           MiB zero (written last)
#   nbefore the third CA's server without --cacert: 0x2, TLS
#   ncacert the same with --cacert fs0:\third.pem: 0x0, the same disk.  The
#           firmware's list (TlsCaCertificate) is put back after the command,
#           but edk2's TlsDxe keeps every CA it was given in one store until
#           reset: the third CA stays trusted for the rest of the boot, so the
#           put-back is not observable here
# Prints PASS/FAIL lines and "N passed, M failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
W=$BUILD/tests/efi/net-$$
. "$HERE/lib.sh"
APP=$BUILD/efi/x86_64/vhdx.efi
V=$BUILD/host/vhdx
KIT=$HERE/netkit.py
PIDS=()

finish() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	[ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
	if [ "$FAIL" -eq 0 ]; then
		find "$W" \( -name '*.img' -o -name '*.vhdx' -o -name '*.raw' -o -name '*.fd' \) -delete 2>/dev/null
	fi
	echo "logs: $W"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

ok=1
need qemu-system-x86_64 qemu-img qemu-io mkfs.vfat mcopy sha256sum timeout cmp python3 openssl || ok=0
need_file /usr/sbin/nginx "Debian package nginx-light" || ok=0
need_file "$OVMF_CODE" "Debian package ovmf" || ok=0
need_file "$APP" "make efi" || ok=0
need_file "$V" "make host" || ok=0
[ $ok = 1 ] || finish
for old in "$BUILD"/tests/efi/net-*; do
	[ -d "$old" ] || continue
	kill -0 "${old##*/net-}" 2>/dev/null || rm -rf "$old"
done
rm -rf "$W"
mkdir -p "$W/www" "$W/tmp"
chmod 755 "$W" "$W/www"

expect() { # TAG RC WHAT [TEXT]
	local got out
	got=$(rc_of "$W/serial.txt" "$1")
	out=$(out_of "$W/serial.txt" "$1")
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

# ---- the image: 8 MiB, 1 MiB blocks, three of them holding data ----
G=$W/www/golden.vhdx
if ! "$V" create -q -s 8M -b 1M "$G" ||
   ! qemu-io -f vhdx -c "write -P 0x5a 512 1M" -c "write -P 0xc3 5M 4096" "$G" >/dev/null ||
   ! qemu-img convert -f vhdx -O raw "$G" "$W/golden.raw"; then
	fail "cannot make the image (host vhdx, qemu-io, qemu-img)"
	finish
fi
mkdir -p "$W/www/vm"
"$V" create -q -t differencing --parent "$G" "$W/www/vm/child.vhdx" ||
	{ fail "cannot make the differencing child (host vhdx)"; finish; }
chmod 755 "$W/www/vm"
chmod 644 "$G" "$W/www/vm/child.vhdx"
FILE_SIZE=$(stat -c %s "$G")
# the allocated bytes: the 1 MiB blocks of qemu-img's reading that are not all zeros
ALLOC=$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
print(sum(1 << 20 for i in range(0, len(d), 1 << 20) if d[i:i + (1 << 20)].strip(b"\0")))' "$W/golden.raw")

# ---- disks: old data (0xA5) everywhere ----
DISKS="http https cut e404 etls erange chain chunk eshift late cacert"
for d in $DISKS; do
	head -c $((16 << 20)) /dev/zero | tr '\0' '\245' > "$W/$d.img"
	sha256sum < "$W/$d.img" > "$W/$d.sha"
done

# ---- certificates: our CA (trusted), another CA (not), a server cert of each ----
cert() { # NAME CA
	openssl req -new -newkey rsa:2048 -nodes -subj "/CN=10.0.2.100" -keyout "$W/$1.key" \
		-out "$W/$1.csr" 2>/dev/null &&
		printf 'subjectAltName=IP:10.0.2.100\n' > "$W/$1.ext" &&
		openssl x509 -req -in "$W/$1.csr" -CA "$W/$2.crt" -CAkey "$W/$2.key" -CAcreateserial \
			-days 2 -extfile "$W/$1.ext" -out "$W/$1.crt" 2>/dev/null
}
for ca in ca other third; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vhdx test $ca" \
		-keyout "$W/$ca.key" -out "$W/$ca.crt" 2>/dev/null || { fail "openssl: CA $ca"; finish; }
done
cert srv ca && cert srv2 other && cert srv3 third || { fail "openssl: server certificates"; finish; }
openssl x509 -in "$W/ca.crt" -outform DER -out "$W/ca.der" &&
	python3 "$KIT" esl "$W/ca.der" "$W/cacerts.esl" || { fail "cacerts: EFI_SIGNATURE_LIST"; finish; }

# ---- servers, on free loopback ports ----
read -r P_HTTP P_HTTPS P_OTHER P_PY P_FLAKY P_TRICKY P_THIRD < <(python3 -c '
import socket
s = [socket.socket() for _ in range(7)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
cat > "$W/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 64; }
http {
	access_log off;
	log_format ranges '\$request_uri \$status \$body_bytes_sent \$http_range';
	client_body_temp_path $W/tmp;
	proxy_temp_path $W/tmp;
	fastcgi_temp_path $W/tmp;
	uwsgi_temp_path $W/tmp;
	scgi_temp_path $W/tmp;
	default_type application/octet-stream;
	root $W/www;
	ssl_protocols TLSv1.2;
	ssl_ciphers AES256-GCM-SHA384:AES128-GCM-SHA256:@SECLEVEL=0;
	server { listen 127.0.0.1:$P_HTTP; access_log $W/access.log ranges; }
	server { listen 127.0.0.1:$P_HTTPS ssl; ssl_certificate $W/srv.crt; ssl_certificate_key $W/srv.key;
		access_log $W/access.log ranges; }
	server { listen 127.0.0.1:$P_OTHER ssl; ssl_certificate $W/srv2.crt; ssl_certificate_key $W/srv2.key;
		access_log $W/access.log ranges; }
	server { listen 127.0.0.1:$P_THIRD ssl; ssl_certificate $W/srv3.crt; ssl_certificate_key $W/srv3.key;
		access_log $W/access.log ranges; }
}
EOF
if ! /usr/sbin/nginx -c "$W/nginx.conf" -p "$W" -e "$W/nginx-error.log" 2>"$W/nginx.out"; then
	fail "nginx does not start: $(cat "$W/nginx.out")"
	finish
fi
(cd "$W/www" && exec python3 -m http.server --bind 127.0.0.1 "$P_PY" >"$W/pyhttp.log" 2>&1) &
PIDS+=($!)
# the cut: the first connection that carries more than 1.5 MiB (the first
# GET is 1 MiB; the blocks follow on that keep-alive connection)
python3 "$KIT" flaky "$P_FLAKY" "$P_HTTP" $((3 << 19)) 2>"$W/flaky.log" &
PIDS+=($!)
python3 "$KIT" tricky "$P_TRICKY" "$W/www" 2>"$W/tricky.log" &
PIDS+=($!)
sleep 1
if ! python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$P_HTTP/golden.vhdx?case=host').read()"; then
	fail "nginx does not serve golden.vhdx on 127.0.0.1:$P_HTTP"
	finish
fi

# ---- the boot ----
U=http://10.0.2.100
DP=()
for i in 5 6 7 8 9 A B C D E F; do
	DP+=("PciRoot(0x0)/Pci(0x$i,0x0)")
done
N=$W/startup.nsh
nsh_begin "$N"
nsh_run "$N" nhttp convert -f -y "$U/golden.vhdx?case=http" "${DP[0]}"
nsh_run "$N" ninfo info "$U/golden.vhdx?case=info"
nsh_run "$N" ncmp compare "$U/golden.vhdx?case=cmp" "${DP[0]}"
nsh_run "$N" nhttps convert -f -y "https://10.0.2.100/golden.vhdx?case=https" "${DP[1]}"
nsh_run "$N" ncut convert -f -y "http://10.0.2.100:81/golden.vhdx?case=cut" "${DP[2]}"
nsh_run "$N" n404 convert -f -y "$U/missing.vhdx?case=404" "${DP[3]}"
nsh_run "$N" ntls convert -f -y "https://10.0.2.100:8443/golden.vhdx?case=tls" "${DP[4]}"
nsh_run "$N" nrange convert -f -y "http://10.0.2.100:8080/golden.vhdx" "${DP[5]}"
nsh_run "$N" nchain convert -f -y "$U/vm/child.vhdx?case=chain" "${DP[6]}"
nsh_run "$N" nchunk convert -f -y "http://10.0.2.100:82/chunked/golden.vhdx" "${DP[7]}"
nsh_run "$N" nshift convert -f -y "http://10.0.2.100:82/shifted/golden.vhdx" "${DP[8]}"
nsh_run "$N" nlate convert -f -y "http://10.0.2.100:82/late500/golden.vhdx" "${DP[9]}"
nsh_run "$N" nbefore info "https://10.0.2.100:9443/golden.vhdx?case=before"
nsh_run "$N" ncacert convert -f -y --cacert 'fs0:\third.pem' "https://10.0.2.100:9443/golden.vhdx?case=cacert" "${DP[10]}"
nsh_end "$N"
make_esp "$W/esp.img" "$APP" "$N" && mcopy -i "$W/esp.img" "$W/third.crt" ::third.pem || { fail "ESP"; finish; }
fwd() { # GUEST-PORT LOOPBACK-PORT
	printf 'guestfwd=tcp:10.0.2.100:%s-cmd:python3 %s relay %s' "$1" "$KIT" "$2"
}
QARGS=(-global ide-hd.bootindex=1
	-netdev "user,id=n0,restrict=on,$(fwd 80 "$P_HTTP"),$(fwd 443 "$P_HTTPS"),$(fwd 8443 "$P_OTHER"),$(fwd 8080 "$P_PY"),$(fwd 81 "$P_FLAKY"),$(fwd 82 "$P_TRICKY"),$(fwd 9443 "$P_THIRD")"
	-device virtio-net-pci,netdev=n0,romfile=,addr=0x3
	-device virtio-rng-pci,addr=0x4
	-fw_cfg "name=etc/edk2/https/cacerts,file=$W/cacerts.esl")
i=0
for d in $DISKS; do
	QARGS+=(-drive "if=none,id=d$i,format=raw,file=$W/$d.img"
		-device "virtio-blk-pci,drive=d$i,addr=$(printf 0x%x $((5 + i)))")
	i=$((i + 1))
done
boot_x86 "$W" "$W/esp.img" "${QARGS[@]}"
echo "boot: ${BOOT_SECONDS} s (qemu rc $BOOT_RC)"

# ---- what the app said ----
expect nhttp 0x0 "deploy over HTTP, no ifconfig before" &&
	grep -q "waiting up to .* for one by DHCP" <(out_of "$W/serial.txt" nhttp) &&
	pass "the app asked DHCP itself and said what it waited for"
expect ninfo 0x0 "info of the URL" "dynamic"
expect ncmp 0x0 "compare of the URL with the disk deployed from it"
expect nhttps 0x0 "deploy over HTTPS (the firmware's TLS, our CA from fw_cfg)"
expect ncut 0x0 "deploy through a connection cut mid-body" "retry 1"
expect n404 0x2 "a missing file" "HTTP 404"
expect ntls 0x2 "a certificate of a CA the firmware does not trust" "TLS"
expect nrange 0x2 "a server that ignores Range" "ignores Range"
expect nchain 0x0 "deploy of a differencing child, its parent by URL" "a chain of 2"
expect nchunk 0x0 "deploy from a server sending chunked bodies"
expect nshift 0x2 "a Content-Range that is not the range asked" "not the range asked"
expect nlate 0x7 "a server error after the deploy began" "HTTP 500"
expect nbefore 0x2 "a server of a third CA, without --cacert" "TLS"
expect ncacert 0x0 "--cacert: the same server, its CA in that file"

# ---- the disks on the host ----
for d in http https cut chain chunk cacert; do
	if cmp -s -n $((8 << 20)) "$W/$d.img" "$W/golden.raw"; then
		pass "$d: the disk's first 8 MiB are the image as qemu-img reads it"
	else
		fail "$d: the disk differs from qemu-img's reading of the image: $(cmp -n $((8 << 20)) "$W/$d.img" "$W/golden.raw" 2>&1 | head -1)"
	fi
done
if "$V" convert -q "$W/www/vm/child.vhdx" "$W/child.raw" >/dev/null 2>&1 &&
   cmp -s -n $((8 << 20)) "$W/chain.img" "$W/child.raw"; then
	pass "chain: the disk is also the host tool's reading of the chain"
else
	fail "chain: the disk differs from the host tool's reading of the chain"
fi
if cmp -s -n $((1 << 20)) "$W/late.img" /dev/zero; then
	pass "late: the disk's first MiB is zero (no partition table left after the failure)"
else
	fail "late: the disk's first MiB is not zero after the failure"
fi
for d in e404 etls erange eshift; do
	if sha256sum < "$W/$d.img" | cmp -s - "$W/$d.sha"; then
		pass "$d: disk byte-for-byte untouched"
	else
		fail "$d: disk CHANGED"
	fi
done

# ---- what nginx served ----
read -r REQS BYTES TWICE < <(python3 "$KIT" log "$W/access.log" http)
echo "nhttp: $REQS requests, $BYTES body bytes; image file $FILE_SIZE bytes, $ALLOC allocated"
if [ "${TWICE:-x}" = 0 ]; then
	pass "nhttp: no byte asked twice ($REQS requests)"
else
	fail "nhttp: ${TWICE:-?} bytes asked twice"
fi
if [ "${BYTES:-0}" -ge "$ALLOC" ] && [ "${BYTES:-0}" -le "$FILE_SIZE" ]; then
	pass "nhttp: $BYTES bytes fetched: at least the $ALLOC allocated, at most the file's $FILE_SIZE"
else
	fail "nhttp: $BYTES bytes fetched, not within [$ALLOC, $FILE_SIZE]"
fi
if grep -q "cut a connection" "$W/flaky.log"; then
	pass "ncut: the proxy did cut a connection mid-body"
else
	fail "ncut: the proxy never cut (the case proves nothing)"
fi
finish
