# tests/efi/netrig.sh - the network rig of net.sh, netbench.sh and demo.sh
# (issue 20), sourced after lib.sh.  Hermetic: nginx (nginx-light, our own
# configuration) and netkit.py's servers listen on 127.0.0.1 only; the
# guest's network is QEMU's user network with restrict=on and one guestfwd
# per port of 10.0.2.100, each connection relayed to a loopback port by
# netkit.py (NETWORK.md).  Needs $W (the test's folder) and $HERE.

NETKIT=$HERE/netkit.py
NETRIG_PIDS=()

# netrig_ports N: N free loopback ports on one line
netrig_ports() {
	python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])' "$1"
}

# netrig_ca NAME: a self-signed CA, $W/NAME.crt and .key
netrig_ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vhdx test $1" \
		-keyout "$W/$1.key" -out "$W/$1.crt" 2>/dev/null
}

# netrig_cert NAME CA: a server certificate for IP 10.0.2.100 signed by CA
netrig_cert() {
	openssl req -new -newkey rsa:2048 -nodes -subj "/CN=10.0.2.100" -keyout "$W/$1.key" \
		-out "$W/$1.csr" 2>/dev/null &&
		printf 'subjectAltName=IP:10.0.2.100\n' > "$W/$1.ext" &&
		openssl x509 -req -in "$W/$1.csr" -CA "$W/$2.crt" -CAkey "$W/$2.key" -CAcreateserial \
			-days 2 -extfile "$W/$1.ext" -out "$W/$1.crt" 2>/dev/null
}

# netrig_cacerts CA: $W/cacerts.esl, the EFI_SIGNATURE_LIST of CA that OVMF
# takes as etc/edk2/https/cacerts (the firmware then trusts CA)
netrig_cacerts() {
	openssl x509 -in "$W/$1.crt" -outform DER -out "$W/$1.der" &&
		python3 "$NETKIT" esl "$W/$1.der" "$W/cacerts.esl"
}

# netrig_nginx SERVERS: nginx serving $W/www (world-readable: its workers
# run as nobody) with the server blocks SERVERS (nginx syntax; $NETRIG_TLS
# is the TLS part of one: add ssl_certificate lines), every request logged
# in $W/access.log as "URI status body-bytes Range" (netkit.py log)
NETRIG_TLS="ssl_protocols TLSv1.2; ssl_ciphers AES256-GCM-SHA384:AES128-GCM-SHA256:@SECLEVEL=0;"
netrig_nginx() {
	mkdir -p "$W/tmp"
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
	$1
}
EOF
	/usr/sbin/nginx -c "$W/nginx.conf" -p "$W" -e "$W/nginx-error.log" 2>"$W/nginx.out"
}

# netrig_bg CMD...: a server of the test's, stopped by netrig_stop
netrig_bg() {
	"$@" &
	NETRIG_PIDS+=($!)
}

netrig_stop() {
	local p
	for p in "${NETRIG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	NETRIG_PIDS=()
	[ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
	rm -f "$W/nginx.pid"
}

# netrig_fwd GUEST-PORT LOOPBACK-PORT: the guestfwd of 10.0.2.100:GUEST-PORT
netrig_fwd() {
	printf 'guestfwd=tcp:10.0.2.100:%s-cmd:python3 %s relay %s' "$1" "$NETKIT" "$2"
}

# netrig_netdev FWD...: NETRIG_NET, QEMU's arguments for the NIC
# (virtio-net at PCI 0x3, edk2's VirtioNetDxe: no option ROM) on a
# restricted user network with the guestfwds FWD (netrig_fwd's).  dns= is
# an address nobody answers: a name lookup fails inside QEMU and never
# reaches the host's resolver (restrict=on drops it anyway; this does not
# rely on that alone).
netrig_netdev() {
	local fwds
	fwds=$(IFS=,; echo "$*")
	NETRIG_NET=(-netdev "user,id=n0,restrict=on,dns=10.0.2.5,$fwds"
		-device virtio-net-pci,netdev=n0,romfile=,addr=0x3)
}
