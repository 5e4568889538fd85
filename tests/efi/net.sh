#!/bin/bash
# tests/efi/net.sh - issue 20 in vhdx.efi: images deployed from http:// and
# https:// URLs under OVMF (x86_64, TCG), in one boot (keys over the serial
# port, for ESC), with no `ifconfig` in the script (the app connects the
# NIC and asks DHCP itself); beside it one AAVMF (aarch64) boot deploying
# over HTTP; then the disk deployed from a URL booted alone.
#
# Hermetic (netrig.sh): every server listens on 127.0.0.1; the guest's
# network is QEMU's user network with restrict=on and one guestfwd per
# port, to 10.0.2.100, each connection relayed to a loopback port by
# netkit.py; the DNS server DHCP hands out (10.0.2.5) answers nobody.
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
#                    the range asked, a 500 once the deploy has begun, a
#                    body longer than its Content-Length, a chunked body
#                    longer than the range, a slow body (for ESC), a cut at
#                    one file offset that no retry gets past (/cutoff/)
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
#   nshift  a Content-Range that is not the range asked: 0x2, one line,
#           untouched; nishift info of that URL: 0x7, one line
#   nlate   a 500 after the deploy began: 0x7, one line naming "HTTP 500" and
#           what the disk holds, the disk's first
#           MiB zero (written last)
#   nbefore the third CA's server without --cacert: 0x2, TLS
#   ncacert the same with --cacert fs0:\third.pem: 0x0, the same disk.  The
#           firmware's list (TlsCaCertificate) is put back after the command,
#           but edk2's TlsDxe keeps every CA it was given in one store until
#           reset: the third CA stays trusted for the rest of the boot, so the
#           put-back is not observable here
#   n403, n503  nginx answers 403 / 503: 0x2, "HTTP 403" / "HTTP 503", disk
#           untouched
#   nlong   4 KiB of body past the first answer's Content-Length: 0x2, one
#           line naming it, disk untouched
#   nwide   a chunked body longer than the range asked, in the copy: 0x7, one line,
#           "longer than the range", first MiB zero, nothing written past
#           the image's 8 MiB
#   ndns    a host name (nosuch.invalid) no DNS server answers: 0x2, "DNS",
#           disk untouched; the seconds it took are printed
#   ndirty  DiscUtils' Windows 10 image with a dirty log (1 GiB virtual, one
#           32 MiB block after the log's replay), --sparse onto a blank disk:
#           the disk is qemu-img's reading after its own replay on a copy;
#           the served file unchanged
#   ngold   the golden disk of deploy.sh (GPT, an ESP holding the marker) by
#           URL onto old data: the disk is the golden raw disk; then booted
#           alone (no ESP, no shell), OVMF starts its marker
#   nesc    ESC sent while a slow server trickles the blocks: 0x15, one line,
#           the disk's first MiB zero
#   nchanged  a server that inverts every byte it sent before (tricky's
#           /changed/), a 256 GiB image whose 2 MiB BAT the copy reads
#           again (the reader keeps 1 MiB): 0x7, one line naming the rule
#           ("other bytes for offset N than before"), first MiB zero; the
#           server's log shows bytes it sent twice
#   nescp   ESC while the slow server trickles a chain's PARENT (tricky's
#           /slow/vm/child.vhdx: the child's few MiB come at once, the
#           parent's blocks slowly): 0x15 "aborted by ESC", one line, first
#           MiB zero (before: the child's status, 0x7 "reading ... failed")
#   nlatep  a chain whose parent's URL answers 500 once the deploy has
#           begun (tricky's /late500/vm/child.vhdx): 0x7, one line naming
#           the parent's "HTTP 500", first MiB zero
# Issue 21 by URL (manifests made on the host: golden.bmap and span.bmap
# by `vhdx bmap`, tamper.bmap golden.bmap with its last range's chksum
# changed and resealed; served by nginx, span.bmap also on the ESP):
#   nbmap   bmap of golden.vhdx's URL onto fs0:\g.bmap: 0x0, the host's
#           `vhdx bmap` of the same file byte for byte
#   nbconv  convert --bmap URL --bmap-sha256 (the right one) --json, source
#           a URL, onto old data: 0x0, the disk is qemu-img's raw, the JSON
#           says every range checked before writing, and 9 MiB put on the
#           disk (bytes_written + bytes_zeroed: the 8 MiB, and the first
#           MiB zeroed first): what a full deploy onto old data puts
#   nbver   verify --bmap URL of that disk: 0x0; nbvbad with tamper.bmap's
#           URL: 0x21, the tampered range named
#   nbtamp  convert --bmap tamper.bmap's URL: 0x21, one line naming range
#           1280 and its expected hash, the disk's first MiB zero
#   nbpin   tamper.bmap's URL with --bmap-sha256 of the good manifest (the
#           pin in startup.nsh, the server's copy tampered): 0x2, one line,
#           disk untouched
#   nbmiss  --bmap a URL that answers 404: 0x2, one line "HTTP 404", the
#           n404 disk still untouched; nbvmiss the same URL for verify:
#           0x2, one line "HTTP 404" (said when the URL is opened)
#   nbvcut  verify --bmap big.bmap (8 MiB) by tricky's /cutoff/: the read
#           of the manifest gives up at 7.5 MiB: 0x2, one line naming it
#           ("gave up after"; before efi_bmap_read_manifest the network's
#           line, then a second "read failed: ..."); nbccut the same for
#           convert --bmap: 0x2, one line, "; nothing written", the n404
#           disk still untouched
#   nbmlate bmap of tricky's /late500/vm/child.vhdx (its parent answers 500
#           from 5 MiB of its file on) onto fs0:\latep.bmap: 0x7, one line
#           naming the parent's HTTP 500 (before: that line, then "read
#           failed near offset N: Success"), no latep.bmap or .tmp left
#   nbcut   convert --bmap fs0:\span.bmap --json of span.vhdx by tricky's
#           /cutoff/ (no byte past 7.5 MiB of the file: its data blocks at
#           4, 5, 6, 7, 8 MiB hold virtual MiB 0, 1, 2, 3, 6): retried,
#           then 0x7, one line ("gave up after"), the first MiB zero
#   nbcutz  verify of that disk against zhead.bmap (its one range the
#           first MiB, as zeros): 0x0, the first MiB is zero
#   nbres   convert --bmap span.bmap's URL --resume --json from nginx's
#           copy onto that disk: 0x0, the disk is qemu-img's raw of
#           span.vhdx (8 MiB too), ranges kept, fewer bytes put on the
#           disk than nbconv's full deploy;
#           nbresz zhead.bmap again: 0x21 (the control: the first MiB now
#           holds span's data)
#   aarch64 (AAVMF) one deploy over HTTP: the disk is the image as qemu-img
#           reads it
# Prints PASS/FAIL lines and "N passed, M failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
W=$BUILD/tests/efi/net-$$
. "$HERE/lib.sh"
. "$HERE/netrig.sh"
. "$ROOT/tests/bmap_lib.sh"
APP=$BUILD/efi/x86_64/vhdx.efi
APP_ARM=$BUILD/efi/aarch64/vhdx.efi
V=$BUILD/host/vhdx
SAMPLES=$ROOT/../shared/samples
ARM_PID=

finish() {
	[ -n "$ARM_PID" ] && wait "$ARM_PID" 2>/dev/null
	netrig_stop
	if [ "$FAIL" -eq 0 ]; then
		find "$W" \( -name '*.img' -o -name '*.vhdx' -o -name '*.raw' -o -name '*.fd' \) -delete 2>/dev/null
	fi
	echo "logs: $W"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}

ok=1
need qemu-system-x86_64 qemu-system-aarch64 qemu-img qemu-io mkfs.vfat mcopy mmd sha256sum timeout cmp \
	python3 openssl gunzip || ok=0
need_file /usr/sbin/nginx "Debian package nginx-light" || ok=0
need_file "$OVMF_CODE" "Debian package ovmf" || ok=0
need_file "$AAVMF_CODE" "Debian package qemu-efi-aarch64" || ok=0
need_file "$APP" "make efi" || ok=0
need_file "$APP_ARM" "make efi" || ok=0
need_file "$V" "make host" || ok=0
need_file "$BUILD/tests/efi/x86_64/marker.efi" "make efi-markers" || ok=0
need_file "$BUILD/tests/efi/aarch64/marker.efi" "make efi-markers" || ok=0
need_file "$SAMPLES/discutils-vhdx-log-replay.vhdx.gz" "the shared samples folder" || ok=0
[ $ok = 1 ] || finish
for old in "$BUILD"/tests/efi/net-*; do
	[ -d "$old" ] || continue
	kill -0 "${old##*/net-}" 2>/dev/null || rm -rf "$old"
done
rm -rf "$W"
mkdir -p "$W/www" "$W/arm"
chmod 755 "$W" "$W/www"

# one_line TAG WHAT: the failure was said in one line (no other "vhdx:" line)
one_line() {
	local n
	n=$(out_of "$W/serial.txt" "$1" | grep -c '^vhdx: ')
	if [ "$n" = 1 ]; then
		pass "$2: one line"
	else
		fail "$2: $n lines starting 'vhdx: ', expected one: $(out_of "$W/serial.txt" "$1" | grep '^vhdx: ' | tr '\n' '|')"
	fi
}

# ---- the images ----
# golden.vhdx: 8 MiB, 1 MiB blocks, three of them holding data
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
# gold.vhdx: deploy.sh's golden disk (GPT, an ESP holding the marker, data
# in partition 2), 64 MiB, 2 MiB blocks
make_golden "$W/gold.raw" "$BUILD/tests/efi/x86_64/marker.efi" "$BUILD/tests/efi/aarch64/marker.efi" &&
	"$V" convert -q -b 2M "$W/gold.raw" "$W/www/gold.vhdx" ||
	{ fail "cannot make the golden disk (make_golden, host vhdx convert)"; finish; }
# dirty.vhdx: DiscUtils' log-replay sample (Windows 10, a dirty log)
gunzip -c "$SAMPLES/discutils-vhdx-log-replay.vhdx.gz" > "$W/www/dirty.vhdx" ||
	{ fail "cannot unpack the dirty-log sample"; finish; }
sha256sum < "$W/www/dirty.vhdx" > "$W/dirty.vhdx.sha"
# bigbat.vhdx: 256 GiB, 1 MiB blocks: a BAT of 2 MiB, more than the
# reader's 1 MiB of scratch, so the copy reads its pages again; blocks
# stored in reverse order (each read alone, the read-ahead windows move on)
"$V" create -q -s 256G -b 1M "$W/www/bigbat.vhdx" &&
	python3 -S "$ROOT/tests/host/vhdx_poke.py" blocks "$W/www/bigbat.vhdx" /dev/null 0 full:9 full:8 full:7 \
		full:6 full:5 full:4 full:3 full:2 full:1 full:0 full:600 full:3000 full:200000 >/dev/null &&
	chmod 644 "$W/www/bigbat.vhdx" || { fail "cannot make bigbat.vhdx (host vhdx, vhdx_poke.py)"; finish; }
chmod 755 "$W/www/vm"
chmod 644 "$G" "$W/www/vm/child.vhdx" "$W/www/gold.vhdx" "$W/www/dirty.vhdx"
# issue 21: golden.vhdx's manifest, a tampered one; span.vhdx (8 MiB, 1 MiB
# blocks, 4 KiB of data at virtual 0, 1, 2, 3 and 6 MiB, stored in that
# order from file offset 4 MiB) and its manifest, for the cut and resume
"$V" create -q -s 8M -b 1M "$W/www/span.vhdx" &&
	qemu-io -f vhdx -c "write -P 0x11 0 4k" -c "write -P 0x22 1M 4k" -c "write -P 0x33 2M 4k" \
		-c "write -P 0x44 3M 4k" -c "write -P 0x66 6M 4k" "$W/www/span.vhdx" >/dev/null &&
	qemu-img convert -f vhdx -O raw "$W/www/span.vhdx" "$W/span.raw" &&
	"$V" bmap "$W/www/span.vhdx" "$W/www/span.bmap" >/dev/null &&
	"$V" bmap "$G" "$W/www/golden.bmap" >/dev/null &&
	TCHK=$(edit_chksum "$W/www/golden.bmap" "$W/www/tamper.bmap" last) && reseal "$W/www/tamper.bmap" &&
	! cmp -s "$W/www/golden.bmap" "$W/www/tamper.bmap" &&
	head -c $((8 << 20)) /dev/zero >"$W/www/big.bmap" &&
	chmod 644 "$W/www/span.vhdx" "$W/www/span.bmap" "$W/www/golden.bmap" "$W/www/tamper.bmap" "$W/www/big.bmap" ||
	{ fail "cannot make span.vhdx and the manifests (host vhdx, qemu-io, qemu-img)"; finish; }
# zhead.bmap: an 8 MiB image whose one range is its first MiB, as zeros
# (chksum of 1 MiB of zeros, resealed): verify of a disk against it is 0x0
# exactly when the disk's first MiB is zero (the host checks that here)
head -c $((1 << 20)) /dev/zero | tr '\0' '\377' > "$W/zhead.raw" && truncate -s 8M "$W/zhead.raw" &&
	"$V" bmap "$W/zhead.raw" "$W/zhead.bmap" >/dev/null &&
	sed -i "s/chksum=\"[0-9a-f]*\"> 0-255 </chksum=\"$(sha256_of <(head -c $((1 << 20)) /dev/zero))\"> 0-255 </" \
		"$W/zhead.bmap" && reseal "$W/zhead.bmap" && truncate -s 8M "$W/zero8.raw" &&
	"$V" verify --bmap "$W/zhead.bmap" "$W/zero8.raw" >/dev/null &&
	! "$V" verify --bmap "$W/zhead.bmap" "$W/zhead.raw" >/dev/null 2>&1 ||
	{ fail "cannot make zhead.bmap (host vhdx bmap and verify)"; finish; }
PIN=$(sha256_of "$W/www/golden.bmap")
SPAN_RANGES=$(grep -c "</Range>" "$W/www/span.bmap")
GOLD_RANGES=$(grep -c "</Range>" "$W/www/golden.bmap")
FILE_SIZE=$(stat -c %s "$G")
# the allocated bytes: the 1 MiB blocks of qemu-img's reading that are not all zeros
ALLOC=$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
print(sum(1 << 20 for i in range(0, len(d), 1 << 20) if d[i:i + (1 << 20)].strip(b"\0")))' "$W/golden.raw")

# ---- disks: old data (0xA5) everywhere, 16 MiB (gold 64); dirty blank ----
DISKS="http https cut e404 etls erange chain chunk eshift late cacert e403 e503 elong wide edns gold esc dirty"
DISKS="$DISKS changed latep escp bconv btamp bpin bcut"
declare -A DP
i=5
for d in $DISKS; do
	DP[$d]=$(printf 'PciRoot(0x0)/Pci(0x%X,0x0)' $i)
	i=$((i + 1))
	case $d in
	dirty) truncate -s 1G "$W/$d.img"; continue ;;
	changed) # old data in the first 2 MiB, 256 GiB sparse
		head -c $((2 << 20)) /dev/zero | tr '\0' '\245' > "$W/$d.img"
		truncate -s 256G "$W/$d.img"
		continue ;;
	gold) mib=64 ;;
	*) mib=16 ;;
	esac
	head -c $((mib << 20)) /dev/zero | tr '\0' '\245' > "$W/$d.img"
	sha256sum < "$W/$d.img" > "$W/$d.sha"
done

# ---- certificates: our CA (trusted), another CA (not), a third (--cacert) ----
for ca in ca other third; do
	netrig_ca $ca || { fail "openssl: CA $ca"; finish; }
done
netrig_cert srv ca && netrig_cert srv2 other && netrig_cert srv3 third ||
	{ fail "openssl: server certificates"; finish; }
netrig_cacerts ca || { fail "cacerts: EFI_SIGNATURE_LIST"; finish; }

# ---- servers, on free loopback ports ----
read -r P_HTTP P_HTTPS P_OTHER P_PY P_FLAKY P_TRICKY P_THIRD < <(netrig_ports 7)
tls() { # CERT: the TLS lines of a server
	echo "$NETRIG_TLS ssl_certificate $W/$1.crt; ssl_certificate_key $W/$1.key;"
}
if ! netrig_nginx "
	server { listen 127.0.0.1:$P_HTTP;
		location /e403/ { return 403; }
		location /e503/ { return 503; } }
	server { listen 127.0.0.1:$P_HTTPS ssl; $(tls srv) }
	server { listen 127.0.0.1:$P_OTHER ssl; $(tls srv2) }
	server { listen 127.0.0.1:$P_THIRD ssl; $(tls srv3) }"; then
	fail "nginx does not start: $(cat "$W/nginx.out")"
	finish
fi
(cd "$W/www" && exec python3 -m http.server --bind 127.0.0.1 "$P_PY" >"$W/pyhttp.log" 2>&1) &
NETRIG_PIDS+=($!)
# the cut: the first connection that carries more than 1.5 MiB (the first
# GET is 1 MiB; the blocks follow on that keep-alive connection)
netrig_bg python3 "$NETKIT" flaky "$P_FLAKY" "$P_HTTP" $((3 << 19)) 2>"$W/flaky.log"
netrig_bg python3 "$NETKIT" tricky "$P_TRICKY" "$W/www" 2>"$W/tricky.log"
sleep 1
if ! python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$P_HTTP/golden.vhdx?case=host').read()"; then
	fail "nginx does not serve golden.vhdx on 127.0.0.1:$P_HTTP"
	finish
fi
netrig_netdev "$(netrig_fwd 80 "$P_HTTP")" "$(netrig_fwd 443 "$P_HTTPS")" "$(netrig_fwd 8443 "$P_OTHER")" \
	"$(netrig_fwd 8080 "$P_PY")" "$(netrig_fwd 81 "$P_FLAKY")" "$(netrig_fwd 82 "$P_TRICKY")" \
	"$(netrig_fwd 9443 "$P_THIRD")"

# ---- aarch64 (AAVMF), beside the x86_64 boot: one deploy over HTTP ----
U=http://10.0.2.100
A=$W/arm
NA=$A/startup.nsh
nsh_begin "$NA"
nsh_run "$NA" arm convert -f -y "$U/golden.vhdx?case=arm" "PciRoot(0x0)/Pci(0x5,0x0)"
nsh_end "$NA"
head -c $((16 << 20)) /dev/zero | tr '\0' '\245' > "$A/arm.img"
make_esp "$A/esp.img" "$APP_ARM" "$NA" || { fail "aarch64 ESP"; finish; }
(
	BOOT_ESP_OPTS=,bootindex=1 boot_aarch64 "$A" "$A/esp.img" "${NETRIG_NET[@]}" \
		-drive "if=none,id=d0,format=raw,file=$A/arm.img" -device virtio-blk-pci,drive=d0,addr=0x5
	echo "$BOOT_RC $BOOT_SECONDS" > "$A/boot.result"
) &
ARM_PID=$!

# ---- the x86_64 boot ----
N=$W/startup.nsh
nsh_clock() { # TAG: the shell's clock (1 s) after a marker line
	printf 'echo "=== clock %s"\r\ntime\r\n' "$1" >> "$N"
}
nsh_begin "$N"
nsh_run "$N" nhttp convert -f -y "$U/golden.vhdx?case=http" "${DP[http]}"
nsh_run "$N" ninfo info "$U/golden.vhdx?case=info"
nsh_run "$N" ncmp compare "$U/golden.vhdx?case=cmp" "${DP[http]}"
nsh_run "$N" nhttps convert -f -y "https://10.0.2.100/golden.vhdx?case=https" "${DP[https]}"
nsh_run "$N" ncut convert -f -y "http://10.0.2.100:81/golden.vhdx?case=cut" "${DP[cut]}"
nsh_run "$N" n404 convert -f -y "$U/missing.vhdx?case=404" "${DP[e404]}"
nsh_run "$N" n403 convert -f -y "$U/e403/golden.vhdx?case=403" "${DP[e403]}"
nsh_run "$N" n503 convert -f -y "$U/e503/golden.vhdx?case=503" "${DP[e503]}"
nsh_run "$N" ntls convert -f -y "https://10.0.2.100:8443/golden.vhdx?case=tls" "${DP[etls]}"
nsh_run "$N" nrange convert -f -y "http://10.0.2.100:8080/golden.vhdx" "${DP[erange]}"
nsh_run "$N" nchain convert -f -y "$U/vm/child.vhdx?case=chain" "${DP[chain]}"
nsh_run "$N" nchunk convert -f -y "http://10.0.2.100:82/chunked/golden.vhdx" "${DP[chunk]}"
nsh_run "$N" nshift convert -f -y "http://10.0.2.100:82/shifted/golden.vhdx" "${DP[eshift]}"
nsh_run "$N" nishift info "http://10.0.2.100:82/shifted/golden.vhdx"
nsh_run "$N" nlate convert -f -y "http://10.0.2.100:82/late500/golden.vhdx" "${DP[late]}"
nsh_run "$N" nlong convert -f -y "http://10.0.2.100:82/long/golden.vhdx" "${DP[elong]}"
nsh_run "$N" nwide convert -f -y "http://10.0.2.100:82/wide/golden.vhdx" "${DP[wide]}"
nsh_run "$N" nchanged convert -f -y --sparse "http://10.0.2.100:82/changed/bigbat.vhdx" "${DP[changed]}"
nsh_run "$N" nlatep convert -f -y "http://10.0.2.100:82/late500/vm/child.vhdx" "${DP[latep]}"
nsh_run "$N" nbmap bmap "$U/golden.vhdx?case=bmap" 'fs0:\g.bmap'
nsh_run "$N" nbconv convert -f -y --json --bmap-sha256 "$PIN" --bmap "$U/golden.bmap?case=bconvm" \
	"$U/golden.vhdx?case=bconv" "${DP[bconv]}"
nsh_run "$N" nbver verify --bmap "$U/golden.bmap?case=bver" "${DP[bconv]}"
nsh_run "$N" nbvbad verify --bmap "$U/tamper.bmap?case=bvbad" "${DP[bconv]}"
nsh_run "$N" nbtamp convert -f -y --bmap "$U/tamper.bmap?case=btampm" "$U/golden.vhdx?case=btamp" "${DP[btamp]}"
nsh_run "$N" nbpin convert -f -y --bmap-sha256 "$PIN" --bmap "$U/tamper.bmap?case=bpinm" \
	"$U/golden.vhdx?case=bpin" "${DP[bpin]}"
nsh_run "$N" nbmiss convert -f -y --bmap "$U/missing.bmap?case=bmiss" "$U/golden.vhdx?case=bmissv" "${DP[e404]}"
nsh_run "$N" nbvmiss verify --bmap "$U/missing.bmap?case=bvmiss" "${DP[bconv]}"
nsh_run "$N" nbvcut verify --bmap "http://10.0.2.100:82/cutoff/big.bmap" "${DP[bconv]}"
nsh_run "$N" nbccut convert -f -y --bmap "http://10.0.2.100:82/cutoff/big.bmap" "$U/golden.vhdx?case=bccut" "${DP[e404]}"
nsh_run "$N" nbmlate bmap "http://10.0.2.100:82/late500/vm/child.vhdx" 'fs0:\latep.bmap'
nsh_run "$N" nbcut convert -f -y --json --bmap 'fs0:\span.bmap' "http://10.0.2.100:82/cutoff/span.vhdx" "${DP[bcut]}"
nsh_run "$N" nbcutz verify --bmap 'fs0:\zhead.bmap' "${DP[bcut]}"
nsh_run "$N" nbres convert -f -y --resume --json --bmap "$U/span.bmap?case=bresm" "$U/span.vhdx?case=bres" \
	"${DP[bcut]}"
nsh_run "$N" nbresz verify --bmap 'fs0:\zhead.bmap' "${DP[bcut]}"
nsh_clock dns0
nsh_run "$N" ndns convert -f -y "http://nosuch.invalid/golden.vhdx" "${DP[edns]}"
nsh_clock dns1
nsh_run "$N" ndirty convert -y --sparse "$U/dirty.vhdx?case=dirty" "${DP[dirty]}"
nsh_run "$N" ngold convert -f -y "$U/gold.vhdx?case=gold" "${DP[gold]}"
nsh_run "$N" nbefore info "https://10.0.2.100:9443/golden.vhdx?case=before"
nsh_run "$N" ncacert convert -f -y --cacert 'fs0:\third.pem' "https://10.0.2.100:9443/golden.vhdx?case=cacert" "${DP[cacert]}"
nsh_run "$N" nesc convert -f -y "http://10.0.2.100:82/slow/golden.vhdx" "${DP[esc]}"
nsh_run "$N" nescp convert -f -y "http://10.0.2.100:82/slow/vm/child.vhdx" "${DP[escp]}"
nsh_end "$N"
make_esp "$W/esp.img" "$APP" "$N" && mcopy -i "$W/esp.img" "$W/third.crt" ::third.pem &&
	mcopy -i "$W/esp.img" "$W/www/span.bmap" "$W/zhead.bmap" :: || { fail "ESP"; finish; }
QARGS=(-global ide-hd.bootindex=1 "${NETRIG_NET[@]}"
	-device virtio-rng-pci,addr=0x4
	-fw_cfg "name=etc/edk2/https/cacerts,file=$W/cacerts.esl")
i=0
for d in $DISKS; do
	QARGS+=(-drive "if=none,id=d$i,format=raw,file=$W/$d.img"
		-device "virtio-blk-pci,drive=d$i,addr=$(printf 0x%x $((5 + i)))")
	i=$((i + 1))
done
BOOT_TIMEOUT=400 boot_x86_start "$W" "$W/esp.img" "${QARGS[@]}"
# ESC once the slow deploy's plan is out (its copy, from the network,
# begins: the server trickles each 1 MiB range for 6 s; the firmware's
# terminal holds a lone ESC back about 2 s, to tell it from a sequence)
esc_sent=0 escp_sent=0
if wait_for "$W" "=== nesc begin" 390 && wait_for "$W" "vhdx convert -O raw -f http://10.0.2.100:82/slow/golden" 60 &&
   send_keys '\033'; then
	esc_sent=1
	wait_for "$W" "=== nesc rc" 60
	# the same for the chain: the plan's line comes after the child's
	# structures and the parent's are read; its copy waits on the parent
	if wait_for "$W" "=== nescp begin" 60 && wait_for "$W" "vhdx convert -O raw -f http://10.0.2.100:82/slow/vm/" 60 &&
	   send_keys '\033'; then
		escp_sent=1
		wait_for "$W" "=== nescp rc" 60
	fi
	boot_x86_wait "$W"
else
	boot_x86_wait "$W" kill
fi
echo "boot: ${BOOT_SECONDS} s (qemu rc $BOOT_RC)"
# the disk deployed from a URL, alone: no ESP, no shell script
boot_marker x86_64 "$W/marker" \
	-drive "if=none,id=g,format=raw,file=$W/gold.img" -device virtio-blk-pci,drive=g,addr=0x5
wait "$ARM_PID"
ARM_PID=
read -r ARM_RC ARM_SECONDS < "$A/boot.result"
echo "aarch64 boot: ${ARM_SECONDS} s (qemu rc $ARM_RC)"

# ---- what the app said ----
expect nhttp 0x0 "deploy over HTTP, no ifconfig before" &&
	grep -q "waiting up to .* for one by DHCP" <(out_of "$W/serial.txt" nhttp) &&
	pass "the app asked DHCP itself and said what it waited for"
expect ninfo 0x0 "info of the URL" "dynamic"
expect ncmp 0x0 "compare of the URL with the disk deployed from it"
expect nhttps 0x0 "deploy over HTTPS (the firmware's TLS, our CA from fw_cfg)"
expect ncut 0x0 "deploy through a connection cut mid-body" "retry 1"
expect n404 0x2 "a missing file" "HTTP 404"
expect n403 0x2 "a forbidden file" "HTTP 403" && one_line n403 "HTTP 403"
expect n503 0x2 "a server that is unavailable" "HTTP 503" && one_line n503 "HTTP 503"
expect ntls 0x2 "a certificate of a CA the firmware does not trust" "TLS"
expect nrange 0x2 "a server that ignores Range" "ignores Range"
expect nchain 0x0 "deploy of a differencing child, its parent by URL" "a chain of 2"
expect nchunk 0x0 "deploy from a server sending chunked bodies"
expect nshift 0x2 "a Content-Range that is not the range asked" "not the range asked" &&
	one_line nshift "a Content-Range that is not the range asked"
expect nishift 0x7 "info of the same URL: a read failed" "not the range asked" &&
	one_line nishift "info, a Content-Range that is not the range asked"
expect nlate 0x7 "a server error after the deploy began" "HTTP 500" &&
	one_line nlate "a server error after the deploy began"
expect nlong 0x2 "a body longer than its Content-Length" "longer than its Content-Length" &&
	one_line nlong "a body longer than its Content-Length"
expect nwide 0x7 "a chunked body longer than the range asked, in the copy" "longer than the range" &&
	one_line nwide "a chunked body longer than the range asked, in the copy"
expect ndns 0x2 "a host name no DNS server answers" "DNS" && one_line ndns "DNS"
expect nchanged 0x7 "other bytes for a range fetched before (a BAT changed between plan and copy)" \
	"than before: the image changed while being read" &&
	one_line nchanged "other bytes for a range fetched before"
expect nlatep 0x7 "a chain's parent answering 500 after the deploy began" "/late500/golden.vhdx: HTTP 500" &&
	one_line nlatep "a chain's parent answering 500 after the deploy began"
# issue 21 by URL
json() { # TAG KEY: a value of the JSON object the app printed for TAG
	out_of "$W/serial.txt" "$1" | grep '^{' | tail -1 | json_key "$2"
}
put() { # TAG: bytes_written + bytes_zeroed of its JSON object ("" without one)
	local a b
	a=$(json "$1" bytes_written)
	b=$(json "$1" bytes_zeroed)
	[ -n "$a" ] && [ -n "$b" ] && echo $((a + b))
}
expect nbmap 0x0 "bmap of a URL onto a file on the ESP" 'fs0:\g.bmap: '
rm -f "$W/efi-g.bmap"
mcopy -i "$W/esp.img" ::g.bmap "$W/efi-g.bmap" 2>/dev/null
if cmp -s "$W/efi-g.bmap" "$W/www/golden.bmap"; then
	pass "nbmap: the bmap of the URL is the host's bmap of the same file, byte for byte"
else
	fail "nbmap: the bmap of the URL differs from the host's: $(cmp "$W/efi-g.bmap" "$W/www/golden.bmap" 2>&1 | head -1)"
fi
expect nbconv 0x0 "convert --bmap URL --bmap-sha256, the source a URL"
# what a deploy puts on the disk: bytes_written + bytes_zeroed; onto old
# data, a full one puts the image's 8 MiB and the first MiB zeroed first
FULL=$(put nbconv)
if [ "$(json nbconv result)" = ok ] && [ "$(json nbconv bmap.checked_before_write)" = "$GOLD_RANGES" ] &&
   [ "$(json nbconv bmap.sha256)" = "$PIN" ] && [ "$FULL" = $((9 << 20)) ]; then
	pass "nbconv: --json: ok, $GOLD_RANGES ranges checked before writing, the manifest's sha256, $FULL bytes put on the disk (8 MiB and the first MiB zeroed first)"
else
	fail "nbconv: --json: $(out_of "$W/serial.txt" nbconv | grep '^{' | tail -c 600)"
fi
expect nbver 0x0 "verify --bmap URL of the disk deployed from it" "matches"
expect nbvbad 0x21 "verify --bmap with a tampered manifest's URL: the range named" "range 1280-1280"
expect nbtamp 0x21 "convert --bmap with a tampered manifest by URL: the range and its hash" "expected sha256 $TCHK" &&
	one_line nbtamp "a tampered manifest by URL"
expect nbpin 0x2 "--bmap-sha256 of the good manifest, the server's copy tampered" "not the --bmap-sha256 given" &&
	one_line nbpin "a pinned manifest whose server copy was tampered"
expect nbmiss 0x2 "--bmap a URL that answers 404" "HTTP 404" && one_line nbmiss "--bmap a URL that answers 404"
expect nbvmiss 0x2 "verify --bmap a URL that answers 404" "HTTP 404" &&
	one_line nbvmiss "verify --bmap a URL that answers 404"
expect nbvcut 0x2 "verify --bmap a URL whose read gives up at 7.5 MiB" "gave up after" &&
	one_line nbvcut "verify --bmap a URL whose read gives up"
expect nbccut 0x2 "convert --bmap a URL whose read gives up at 7.5 MiB" "retries; nothing written" &&
	one_line nbccut "convert --bmap a URL whose read gives up"
expect nbmlate 0x7 "bmap of a chain whose parent's URL answers 500 part-way" "HTTP 500" &&
	one_line nbmlate "bmap of a chain whose parent's URL answers 500"
if out_of "$W/serial.txt" nbmlate | grep -q "Success"; then
	fail "nbmlate: a line says Success: $(out_of "$W/serial.txt" nbmlate | grep Success)"
elif mdir -b -i "$W/esp.img" :: 2>/dev/null | grep -qi latep; then
	fail "nbmlate: left on the ESP: $(mdir -b -i "$W/esp.img" :: 2>/dev/null | grep -i latep | tr '\n' ' ')"
else
	pass "nbmlate: no line says Success, no latep.bmap or latep.bmap.tmp left"
fi
expect nbcut 0x7 "convert --bmap from a URL cut for good at 7.5 MiB of its file" "gave up after" &&
	one_line nbcut "a URL cut for good"
CUTW=$(put nbcut)
expect nbcutz 0x0 "the cut disk's first MiB is zero (verify against zhead.bmap)"
expect nbres 0x0 "convert --bmap URL --resume from a healthy copy after the cut"
RESW=$(put nbres)
KEPT=$(json nbres bmap.kept_by_resume)
# span.vhdx is 8 MiB too: a full deploy onto old data puts $FULL bytes (nbconv)
if [ "$(json nbres result)" = ok ] && [ -n "$RESW" ] && [ -n "$FULL" ] && [ "$RESW" -lt "$FULL" ] && [ -n "$KEPT" ] && [ "$KEPT" -gt 0 ]; then
	pass "nbres: $RESW bytes put on the disk against $FULL for a full deploy (the cut one put $CUTW), $KEPT of $SPAN_RANGES ranges kept"
else
	fail "nbres: put '$RESW' bytes (full '$FULL'), kept '$KEPT': $(out_of "$W/serial.txt" nbres | grep '^{')"
fi
expect nbresz 0x21 "the resumed disk's first MiB is not zero (zhead.bmap's control)"
clock() { # TAG: the clock line after the marker, in seconds of the day
	sed -n "/^=== clock $1\$/,\$p" "$W/serial.txt" | grep -m1 -o '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]' |
		awk -F: '{ print $1 * 3600 + $2 * 60 + $3 }'
}
t0=$(clock dns0) t1=$(clock dns1)
[ -n "$t0" ] && [ -n "$t1" ] && echo "ndns: the failed lookup took $((t1 - t0)) s (the shell's clock, 1 s steps)"
expect ndirty 0x0 "deploy by URL of a VHDX whose log is dirty (Windows 10, DiscUtils' sample)" \
	"its log read through the overlay"
expect ngold 0x0 "deploy by URL of the golden disk (GPT, an ESP with the marker)"
expect nbefore 0x2 "a server of a third CA, without --cacert" "TLS"
expect ncacert 0x0 "--cacert: the same server, its CA in that file"
if [ $esc_sent = 1 ]; then
	expect nesc 0x15 "ESC during a deploy's network read: EFI_ABORTED" "aborted by ESC" && one_line nesc "ESC"
else
	fail "nesc: the slow deploy's plan never showed: no ESC sent"
fi
if [ $escp_sent = 1 ]; then
	expect nescp 0x15 "ESC while a chain's parent is read over the network: EFI_ABORTED" "aborted by ESC" &&
		one_line nescp "ESC in a parent's read"
else
	fail "nescp: the slow chain deploy's plan never showed: no ESC sent"
fi
expect arm 0x0 "aarch64 (AAVMF): deploy over HTTP" "" "$A/serial.txt"

# ---- the disks on the host ----
for d in http https cut chain chunk cacert; do
	if cmp -s -n $((8 << 20)) "$W/$d.img" "$W/golden.raw"; then
		pass "$d: the disk's first 8 MiB are the image as qemu-img reads it"
	else
		fail "$d: the disk differs from qemu-img's reading of the image: $(cmp -n $((8 << 20)) "$W/$d.img" "$W/golden.raw" 2>&1 | head -1)"
	fi
done
if cmp -s -n $((8 << 20)) "$A/arm.img" "$W/golden.raw"; then
	pass "aarch64: the disk's first 8 MiB are the image as qemu-img reads it"
else
	fail "aarch64: the disk differs from qemu-img's reading of the image: $(cmp -n $((8 << 20)) "$A/arm.img" "$W/golden.raw" 2>&1 | head -1)"
fi
if cmp -s -n $((8 << 20)) "$W/bconv.img" "$W/golden.raw"; then
	pass "bconv: the disk deployed with a manifest by URL is qemu-img's reading of the image"
else
	fail "bconv: the disk differs from qemu-img's reading: $(cmp -n $((8 << 20)) "$W/bconv.img" "$W/golden.raw" 2>&1 | head -1)"
fi
if cmp -s -n $((8 << 20)) "$W/bcut.img" "$W/span.raw"; then
	pass "bcut: the disk cut, then resumed from a healthy copy, is qemu-img's reading of span.vhdx"
else
	fail "bcut: the resumed disk differs from qemu-img's reading: $(cmp -n $((8 << 20)) "$W/bcut.img" "$W/span.raw" 2>&1 | head -1)"
fi
if "$V" convert -q "$W/www/vm/child.vhdx" "$W/child.raw" >/dev/null 2>&1 &&
   cmp -s -n $((8 << 20)) "$W/chain.img" "$W/child.raw"; then
	pass "chain: the disk is also the host tool's reading of the chain"
else
	fail "chain: the disk differs from the host tool's reading of the chain"
fi
if cmp -s "$W/gold.img" "$W/gold.raw"; then
	pass "gold: the disk is the golden raw disk (64 MiB, cmp)"
else
	fail "gold: the disk differs from the golden raw disk: $(cmp "$W/gold.img" "$W/gold.raw" 2>&1 | head -1)"
fi
marker_verify "gold, deployed from a URL" "$W/marker" "PciRoot(0)/Pci(0x5,0x0)/"
# the dirty log judged by qemu's reading: qemu-img replays the log of a
# copy (check -r all), its raw conversion compared with the disk
cp --sparse=always "$W/www/dirty.vhdx" "$W/dirty.qemu.vhdx"
if qemu-img check -q -r all -f vhdx "$W/dirty.qemu.vhdx" >/dev/null 2>&1 &&
   qemu-img convert -f vhdx -O raw "$W/dirty.qemu.vhdx" "$W/dirty.want" &&
   cmp -s "$W/dirty.img" "$W/dirty.want"; then
	pass "dirty: the disk equals qemu-img's reading after its replay on a copy (1 GiB, cmp)"
else
	fail "dirty: the disk differs from qemu-img's reading after its replay: $(cmp "$W/dirty.img" "$W/dirty.want" 2>&1 | head -1)"
fi
rm -f "$W/dirty.want" "$W/dirty.qemu.vhdx"
if sha256sum < "$W/www/dirty.vhdx" | cmp -s - "$W/dirty.vhdx.sha"; then
	pass "dirty: the served file byte for byte unchanged"
else
	fail "dirty: the served file CHANGED"
fi
for d in late wide esc changed latep escp btamp; do
	if cmp -s -n $((1 << 20)) "$W/$d.img" /dev/zero; then
		pass "$d: the disk's first MiB is zero (no partition table left after the failure)"
	else
		fail "$d: the disk's first MiB is not zero after the failure"
	fi
done
for d in wide esc; do
	if tail -c +$(((8 << 20) + 1)) "$W/$d.img" | cmp -s - <(head -c $((8 << 20)) /dev/zero | tr '\0' '\245'); then
		pass "$d: nothing written past the image's 8 MiB"
	else
		fail "$d: bytes past the image's 8 MiB CHANGED"
	fi
done
for d in e404 etls erange eshift e403 e503 elong edns bpin; do
	if sha256sum < "$W/$d.img" | cmp -s - "$W/$d.sha"; then
		pass "$d: disk byte-for-byte untouched"
	else
		fail "$d: disk CHANGED"
	fi
done

# ---- what the servers served ----
read -r REQS BYTES TWICE < <(python3 "$NETKIT" log "$W/access.log" http)
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
read -r REQS BYTES TWICE < <(python3 "$NETKIT" log "$W/access.log" dirty)
DIRTY_SIZE=$(stat -c %s "$W/www/dirty.vhdx")
if [ "${TWICE:-x}" = 0 ] && [ "${BYTES:-0}" -le "$DIRTY_SIZE" ]; then
	pass "ndirty: no byte asked twice, $BYTES bytes of the $DIRTY_SIZE-byte file in $REQS requests"
else
	fail "ndirty: ${TWICE:-?} bytes asked twice, $BYTES bytes of the $DIRTY_SIZE-byte file in $REQS requests"
fi
if grep -q '^cutoff: /cutoff/span.vhdx' "$W/tricky.log"; then
	pass "nbcut: the server cut bodies at 7.5 MiB: $(grep -c '^cutoff: ' "$W/tricky.log") times"
else
	fail "nbcut: the server never cut (the case proves nothing)"
fi
read -r REQS BYTES TWICE < <(python3 "$NETKIT" log "$W/access.log" bres)
echo "nbres: fetched $BYTES body bytes of span.vhdx ($(stat -c %s "$W/www/span.vhdx") bytes) in $REQS requests"
if grep -q "cut a connection" "$W/flaky.log"; then
	pass "ncut: the proxy did cut a connection mid-body"
else
	fail "ncut: the proxy never cut (the case proves nothing)"
fi
if grep -q '^changed: /changed/bigbat.vhdx .* [1-9][0-9]* bytes sent before, inverted' "$W/tricky.log"; then
	pass "nchanged: the app asked bytes again and the server changed them: $(grep -m1 '[1-9][0-9]* bytes sent before' "$W/tricky.log")"
else
	fail "nchanged: the server never sent a byte twice (the case proves nothing)"
fi
# ESC landed in a network read: the app closed the connection while the
# slow server was sending a body (between two reads none is in flight)
if grep -q '^tricky: /slow/.*closed the connection mid-body' "$W/tricky.log"; then
	pass "nesc: ESC stopped the read mid-body: $(grep -m1 'closed the connection mid-body' "$W/tricky.log")"
else
	fail "nesc: the slow server sent every body it began: ESC was not seen during a network read"
fi
finish
