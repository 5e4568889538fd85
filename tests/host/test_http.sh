#!/usr/bin/env bash
# test_http.sh - http:// and https:// URLs as sources (platform/host_http.c)
# against real servers on 127.0.0.1 only (tests/host/http_rig.sh): Debian's
# nginx over HTTP and HTTPS (a CA and server certificate made here),
# python3's http.server (it ignores Range) and a flaky proxy of our own that
# cuts every third response mid-body.
#   - deploy (raw file, an old file of the disk's size overwritten, VHDX)
#     over HTTP and HTTPS, byte for byte what qemu-img reads from the same
#     image on disk; a chain by URL (parents relative to the child's URL, a
#     folder with a space in its name) equal to 7-Zip's reading; a dirty
#     log read through the overlay;
#   - refusals with one line, exit 2 and the target untouched: 404, 403,
#     503, an untrusted certificate, a server that ignores Range, a name
#     that does not resolve (a network namespace of its own, and
#     getaddrinfo failed by faultshim.c: no query leaves the machine), a
#     redirect loop, lies (another range, a body longer than its range or
#     than its Content-Length, a header line of 1 MiB, ...);
#   - a 403 or 503 mid-deploy: exit 1, the first MiB zeros;
#   - --nic N: accepted with one note (vhdx.efi's option), checked as
#     vhdx.efi checks it;
#   - transfers cut mid-block resumed, the result identical;
#   - info/check/compare of a URL print what they print for the file;
#   - what nginx logged: a sparse image costs about its allocated bytes,
#     not its virtual size, and no byte is fetched twice;
#   - a server that sends other bytes for a range it sent before
#     (tests/efi/netkit.py's /changed/): a deploy stops with exit 1, the
#     rule named once, the first MiB zeros; compare stops with exit 2;
#   - a bmap manifest by URL: convert --bmap and verify --bmap (issue 21).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_rig.sh"
need_samples
need openssl curl
[ -x /usr/sbin/nginx ] || { bad "nginx is not installed (apt-get install nginx-light)"; finish; exit 1; }
M=$((1024 * 1024))
POKE="python3 -S $PWD/tests/host/vhdx_poke.py"
W=$T/www
mkdir -p "$W/images" "$W/golden images" "$W/vm"

# -- the images served
bzip2 -dc "$SAMPLES/hyperv2012-dynamic-1G.vhdx.bz2" >"$W/images/golden.vhdx"
gzip -dc "$SAMPLES/discutils-vhdx-log-replay.vhdx.gz" >"$W/images/dirty.vhdx"
# sparse: 1 GiB virtual, 1 MiB blocks, 3 of them stored far apart
"$VHDX" create -q -b 1M -s 1G "$W/images/sparse.vhdx" || bad "create sparse.vhdx"
truncate -s 1G "$T/sparse.model"
$POKE blocks "$W/images/sparse.vhdx" "$T/sparse.model" 0 full:7 full:300 full:1000 >/dev/null ||
	bad "vhdx_poke sparse.vhdx"
# a chain: base in "golden images", the child in vm/ (relative_path
# ..\golden images\base.vhdx: a space to percent-encode)
"$VHDX" create -q -b 1M -s $((40 * M)) "$W/golden images/base.vhdx" || bad "create base"
truncate -s $((40 * M)) "$T/base.model"
$POKE blocks "$W/golden images/base.vhdx" "$T/base.model" 0 full:0 full:3 full:9 full:39 >/dev/null ||
	bad "poke base"
"$VHDX" create -q -t differencing --parent "$W/golden images/base.vhdx" "$W/vm/child.avhdx" || bad "create child"
cp "$T/base.model" "$T/child.model"
$POKE blocks "$W/vm/child.avhdx" "$T/child.model" 1 partial:0:1 full:2 zero:4 partial:5:2 >/dev/null ||
	bad "poke child"
# bigbat: 256 GiB virtual, 1 MiB blocks: a BAT of 2 MiB, more than the
# reader's 1 MiB of scratch holds, so the copy reads its pages again; the
# blocks stored in reverse order (each read a lone one)
"$VHDX" create -q -b 1M -s 256G "$W/images/bigbat.vhdx" || bad "create bigbat.vhdx"
$POKE blocks "$W/images/bigbat.vhdx" /dev/null 0 full:9 full:8 full:7 full:6 full:5 full:4 full:3 full:2 full:1 \
	full:0 full:600 full:3000 full:200000 >/dev/null || bad "poke bigbat"
sha256sum "$W"/images/* "$W"/vm/* "$W/golden images"/* >"$T/served.sha256"

if ! http_rig_start "$W"; then
	bad "nginx did not start: $(tail -3 "$RIG/error.log" 2>/dev/null)"
	finish
	exit 1
fi
H=http://127.0.0.1:$HTTP_PORT
S=https://127.0.0.1:$HTTPS_PORT
CA=(--cacert "$RIG/ca.pem")
curl -sf --cacert "$RIG/ca.pem" -r 0-7 "$S/images/golden.vhdx" | grep -q vhdxfile &&
	ok "the rig: nginx serves HTTPS with the test's CA" || bad "the rig: curl cannot fetch over HTTPS"

# the reference readings, from the files on disk
qemu-img convert -f vhdx -O raw "$W/images/golden.vhdx" "$T/golden.ref" || bad "qemu-img convert golden"

# -- deploy: raw file, old file overwritten, VHDX; HTTP and HTTPS
for base in "$H" "$S"; do
	scheme=${base%%:*}
	rm -f "$T/out.raw"
	if "$VHDX" convert -q "${CA[@]}" "$base/images/golden.vhdx" "$T/out.raw" 2>"$T/err"; then
		cmp -s "$T/out.raw" "$T/golden.ref" && ok "$scheme: deploy to a raw file equals qemu-img's reading" ||
			bad "$scheme: the raw file differs from qemu-img's reading"
	else
		bad "$scheme: convert to raw: $(cat "$T/err")"
	fi
	# an old file of the disk's size, full of other bytes (a disk that held data)
	# (old bytes where the image holds data and where it reads zeros)
	rm -f "$T/old.img"
	for at in 0 40 700; do
		head -c $((8 * M)) /dev/zero | tr '\0' '\307' |
			dd of="$T/old.img" bs=1M seek=$at conv=notrunc status=none
	done
	truncate -s 1G "$T/old.img"
	if "$VHDX" convert -q -f "${CA[@]}" "$base/images/golden.vhdx" "$T/old.img" 2>"$T/err"; then
		cmp -s "$T/old.img" "$T/golden.ref" && ok "$scheme: deploy over an old disk file equals qemu-img's reading" ||
			bad "$scheme: the overwritten file differs from qemu-img's reading"
	else
		bad "$scheme: convert onto the old file: $(cat "$T/err")"
	fi
	rm -f "$T/old.img" "$T/out.vhdx"
	if "$VHDX" convert -q "${CA[@]}" "$base/images/golden.vhdx" "$T/out.vhdx" 2>"$T/err"; then
		qemu-img compare -f vhdx -F raw "$T/out.vhdx" "$T/golden.ref" >/dev/null 2>&1 &&
			ok "$scheme: convert to a VHDX reads (qemu-img) as the image" ||
			bad "$scheme: the VHDX made from the URL differs from qemu-img's reading"
	else
		bad "$scheme: convert to vhdx: $(cat "$T/err")"
	fi
	rm -f "$T/out.vhdx"
done

# -- a sparse image: what nginx sent, against the image's allocated bytes
n0=$(log_count)
rm -f "$T/out.raw"
VHDX_HTTP_STATS=1 "$VHDX" convert -q "$H/images/sparse.vhdx" "$T/out.raw" 2>"$T/err" || bad "sparse: convert: $(cat "$T/err")"
cmp -s "$T/out.raw" "$T/sparse.model" && ok "sparse: the deployed disk is the model vhdx_poke wrote" ||
	bad "sparse: the deployed disk differs from the model"
bytes=$(log_bytes "$n0")
reqs=$(log_requests "$n0")
file=$(stat -c %s "$W/images/sparse.vhdx")
# allocated: the 3 stored blocks, and the headers, log, metadata and BAT
# (the file up to its first block: 4 MiB here)
[ "$bytes" -le "$file" ] && [ "$bytes" -ge $((3 * M)) ] &&
	ok "sparse: nginx sent $bytes bytes in $reqs requests for a 1 GiB disk in a $file-byte file" ||
	bad "sparse: nginx sent $bytes bytes (file $file bytes, 3 MiB of blocks)"
[ "$reqs" -le 12 ] && ok "sparse: $reqs requests (few: adjacent reads coalesced)" || bad "sparse: $reqs requests"
grep -q "0 bytes fetched twice" "$T/err" && ok "sparse: no byte fetched twice" ||
	bad "sparse: bytes fetched twice: $(grep 'http:' "$T/err")"
twice=$(log_twice "$n0")
[ "$twice" = 0 ] && ok "sparse: nginx's log: no byte sent twice (ranges do not overlap)" ||
	bad "sparse: nginx sent $twice bytes twice"
# -- --nic N picks vhdx.efi's interface; the same script runs here: taken,
# one note, the system's routing used; a value vhdx.efi refuses, refused
rm -f "$T/out.raw"
out=$("$VHDX" convert -q --nic 1 "$H/images/sparse.vhdx" "$T/out.raw" 2>&1); rc=$?
[ $rc = 0 ] && cmp -s "$T/out.raw" "$T/sparse.model" && [ "$(wc -l <<<"$out")" = 1 ] &&
	grep -q -- "--nic 1 is for vhdx.efi; on the host the system's routing picks the interface" <<<"$out" &&
	ok "--nic 1 on the host: deployed, one note ($out)" || bad "--nic 1 on the host: rc $rc: $out"
n0=$(log_count)
out=$("$VHDX" info --nic eth0 "$H/images/sparse.vhdx" 2>&1); rc=$?
[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q -- "--nic eth0: give the interface's number" <<<"$out" &&
	[ "$(log_count)" = "$n0" ] &&
	ok "--nic eth0: refused as vhdx.efi refuses it (exit 2, one line), nothing asked of the server" ||
	bad "--nic eth0: rc $rc: $out"
out=$("$VHDX" info --nic 0 "$W/images/sparse.vhdx" 2>&1 >/dev/null); rc=$?
[ $rc = 0 ] && [ -z "$out" ] && ok "--nic 0 with a file: no note" || bad "--nic 0 with a file: rc $rc: $out"
# a full image: about its file, once
n0=$(log_count)
VHDX_HTTP_STATS=1 "$VHDX" compare -q "$H/images/golden.vhdx" "$T/golden.ref" 2>"$T/err" &&
	ok "compare: the URL and qemu-img's reading are the same" || bad "compare URL with the reference: $(cat "$T/err")"
bytes=$(log_bytes "$n0")
file=$(stat -c %s "$W/images/golden.vhdx")
[ "$bytes" -le "$file" ] && ok "golden: compare fetched $bytes of its $file bytes, in $(log_requests "$n0") requests" ||
	bad "golden: compare fetched $bytes bytes, more than the $file-byte file"
grep -q "0 bytes fetched twice" "$T/err" && ok "golden: no byte fetched twice" ||
	bad "golden: bytes fetched twice: $(grep 'http:' "$T/err")"
twice=$(log_twice "$n0")
[ "$twice" = 0 ] && ok "golden: nginx's log: no byte sent twice (ranges do not overlap)" ||
	bad "golden: nginx sent $twice bytes twice"
grep -q "bytes=" "$NGINX_LOG" && ! awk '$3 != 206' "$NGINX_LOG" | grep -q . &&
	ok "every request was a ranged GET answered 206" || bad "requests other than 206: $(awk '$3 != 206' "$NGINX_LOG" | head -3)"
! grep -q 'bytes=[0-9]*-[0-9]*,' "$NGINX_LOG" && ok "single-range requests only" || bad "a multi-range request"

# -- a chain by URL
rm -f "$T/out.raw"
if "$VHDX" convert -q "$H/vm/child.avhdx" "$T/out.raw" 2>"$T/err"; then
	cmp -s "$T/out.raw" "$T/child.model" && ok "chain: the child by URL, its parent found by URL, is the model" ||
		bad "chain: the deployed chain differs from the model"
	# (7-Zip 26.02 does not follow a relative_path that starts with ..\, as
	# test_differencing.sh notes: the local files' own reading is the
	# second reference)
	"$VHDX" convert -q "$W/vm/child.avhdx" "$T/child.local" 2>/dev/null
	cmp -s "$T/out.raw" "$T/child.local" && ok "chain: equal to the reading of the local files" ||
		bad "chain: differs from the reading of the local files"
else
	bad "chain: convert: $(cat "$T/err")"
fi
grep -q 'GET /golden%20images/base.vhdx 206' "$NGINX_LOG" &&
	ok "chain: the parent asked as /golden%20images/base.vhdx (relative_path resolved, percent-encoded)" ||
	bad "chain: the parent was not fetched by its encoded URL: $(grep base.vhdx "$NGINX_LOG" | head -2)"
"$VHDX" info "$H/vm/child.avhdx" >"$T/info" 2>&1 &&
	grep -q "$H/golden%20images/base.vhdx" "$T/info" && ok "chain: info names the parent by its URL" ||
	bad "chain: info: $(grep -i parent "$T/info" | head -3)"
# the parent gone: the chain is broken, said, nothing written
mv "$W/golden images/base.vhdx" "$W/golden images/base.moved"
rm -f "$T/out.raw"
out=$("$VHDX" convert -q "$H/vm/child.avhdx" "$T/out.raw" 2>&1); rc=$?
[ $rc = 2 ] && [ ! -e "$T/out.raw" ] && grep -q "broken" <<<"$out" &&
	ok "chain: the parent's URL answering 404: the chain is broken, exit 2, nothing written" ||
	bad "chain: parent 404: rc $rc: $out"
mv "$W/golden images/base.moved" "$W/golden images/base.vhdx"

# -- a dirty log, read through the overlay (the served file stays as it is)
"$VHDX" convert -q "$W/images/dirty.vhdx" "$T/dirty.ref" 2>"$T/err" || bad "dirty: local convert: $(cat "$T/err")"
if "$VHDX" convert -q "$H/images/dirty.vhdx" "$T/dirty.raw" 2>"$T/err"; then
	cmp -s "$T/dirty.raw" "$T/dirty.ref" && ok "dirty log: the URL deploys as the local file does (log applied)" ||
		bad "dirty log: differs from the local file's deploy"
	[ "$(head -c 512 "$T/dirty.raw" | tail -c 2 | od -An -tx1 | tr -d ' ')" = 55aa ] &&
		ok "dirty log: the replayed MBR is there" || bad "dirty log: no MBR after the overlay"
else
	bad "dirty log: convert: $(cat "$T/err")"
fi
"$VHDX" info "$H/images/dirty.vhdx" 2>&1 | grep -q "replay" && ok "dirty log: info says the log is read through" ||
	bad "dirty log: info does not mention the log"

# -- info, check, compare of a URL: what the file gives, the name aside
for img in images/golden.vhdx images/sparse.vhdx images/dirty.vhdx vm/child.avhdx; do
	for verb in info "info --json" check; do
		"$VHDX" $verb "$W/$img" 2>&1 | sed "s|$W/||g" >"$T/local.txt"; lrc=${PIPESTATUS[0]}
		"$VHDX" $verb "$H/$img" 2>&1 | sed "s|$H/||g" >"$T/url.txt"; urc=${PIPESTATUS[0]}
		# a child's parent is named as its folder or URL spells it
		sed -i 's|golden%20images|golden images|g' "$T/url.txt"
		[ "$lrc" = "$urc" ] && cmp -s "$T/local.txt" "$T/url.txt" &&
			ok "$verb $img: the URL's output is the file's (exit $urc)" ||
			bad "$verb $img: exit $urc vs $lrc; $(diff "$T/local.txt" "$T/url.txt" | head -4)"
	done
done
"$VHDX" compare "$H/images/sparse.vhdx" "$W/images/sparse.vhdx" >"$T/out" 2>&1 &&
	ok "compare URL with its own file: same" || bad "compare URL with file: $(cat "$T/out")"
"$VHDX" compare "$H/images/sparse.vhdx" "$H/images/golden.vhdx" >/dev/null 2>&1
[ $? = 1 ] && ok "compare two different URLs: exit 1" || bad "compare two different URLs did not say different"

# -- refusals: one line naming it, exit 2, the target untouched
echo "precious" >"$T/keep.img"
keep=$(sha256sum <"$T/keep.img")
WRAP=() # a command to run vhdx under
refused() { # NAME WORDS URL [OPTIONS]
	local name=$1 words=$2 url=$3 out rc
	shift 3
	rm -f "$T/new.img"
	out=$("${WRAP[@]}" "$VHDX" convert -q "$@" "$url" "$T/new.img" 2>&1); rc=$?
	[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q -- "$words" <<<"$out" && [ ! -e "$T/new.img" ] &&
		ok "$name: exit 2, one line ($out), nothing written" || bad "$name: rc $rc, output: $out"
	out=$("${WRAP[@]}" "$VHDX" convert -q -f "$@" "$url" "$T/keep.img" 2>&1); rc=$?
	[ $rc = 2 ] && [ "$(sha256sum <"$T/keep.img")" = "$keep" ] &&
		ok "$name: an existing target is untouched" || bad "$name: existing target: rc $rc, $out"
}
refused "404" "404 (Not Found)" "$H/images/absent.vhdx"
refused "403" "answered 403 (Forbidden)" "$H/forbidden/golden.vhdx"
refused "503" "answered 503 (Service" "$H/unavailable/golden.vhdx"
refused "untrusted certificate" "certificate is not trusted" "$S/images/golden.vhdx"
refused "a CA file that is not one" "cacert" "$S/images/golden.vhdx" --cacert "$W/images/golden.vhdx"
# a name that does not resolve, in a network namespace of its own (only a
# loopback that is down): the lookup fails without a packet leaving
if unshare -n true 2>/dev/null; then
	WRAP=(unshare -n)
	refused "a name that does not resolve" "resolve" "http://vhdx-test.invalid/golden.vhdx"
	WRAP=()
else
	skipped "a name that does not resolve: unshare -n (a network namespace) is not allowed here"
fi
# the same with the real libcurl and getaddrinfo failed for every name by
# faultshim.c (FAULT_DNS=1): it asks no resolver, so nothing leaves
SHIM=$T/faultshim.so
if cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" tests/host/faultshim.c -ldl; then
	WRAP=(env LD_PRELOAD="$SHIM" FAULT_DNS=1)
	refused "a name that does not resolve (getaddrinfo fails)" "cannot resolve the host name (DNS)" \
		"http://vhdx-test.invalid/golden.vhdx"
	WRAP=()
	if command -v strace >/dev/null; then
		LD_PRELOAD="$SHIM" FAULT_DNS=1 strace -f -e trace=connect -o "$T/dns.trace" \
			"$VHDX" info "http://vhdx-test.invalid/golden.vhdx" >/dev/null 2>&1
		grep -q 'exited with 2' "$T/dns.trace" && ! grep -q 'connect(' "$T/dns.trace" &&
			ok "a name that does not resolve: no connect() at all (no resolver asked)" ||
			bad "the DNS failure connected somewhere: $(grep 'connect(' "$T/dns.trace" | head -2)"
	else
		skipped "the DNS failure's hermeticity: strace is not installed"
	fi
else
	bad "cannot build faultshim.so"
fi
refused "a malformed URL" "port" "http://127.0.0.1:99999/x.vhdx"
refused "another scheme" "http" "ftp://127.0.0.1/x.vhdx"
refused "a redirect loop" "more than 10 redirects" "$H/loop/golden.vhdx"
"$VHDX" compare -q "$H/moved/golden.vhdx" "$T/golden.ref" 2>"$T/err" &&
	ok "a redirect (302 to /images/) is followed" || bad "redirect: $(cat "$T/err")"
if plain_server_start "$W"; then
	refused "a server that ignores Range (python3 http.server)" "ignores Range" \
		"http://127.0.0.1:$PLAIN_PORT/images/golden.vhdx"
	out=$("$VHDX" info "http://127.0.0.1:$PLAIN_PORT/images/golden.vhdx" 2>&1)
	[ $? = 2 ] && grep -q "ignores Range" <<<"$out" && ok "info refuses a server that ignores Range" ||
		bad "info over a server that ignores Range: $out"
else
	bad "python3 http.server did not start"
fi

# -- a server that lies: each lie refused by name, nothing written
if liar_server_start "$W/images"; then
	L=http://127.0.0.1:$LIAR_PORT
	refused "a different range than asked" "answered bytes 512-66047 to a request for 0-65535" "$L/wrongrange/golden.vhdx"
	refused "a body longer than its range" "body longer than the range" "$L/long/golden.vhdx"
	refused "a 206 without Content-Range" "without one 'Content-Range" "$L/norange/golden.vhdx"
	refused "a length that changes" "length changed from" "$L/bigtotal/golden.vhdx"
	# bytes after a body of its Content-Length: taken as the next answer's
	# start by libcurl, refused there (nothing past the range is taken)
	refused "a body longer than its Content-Length" "not an HTTP/1.x response (a body longer than its Content-Length" \
		"$L/excess/golden.vhdx"
	refused "a header line of 1 MiB" "headers are larger than libcurl takes" "$L/hugeheader/golden.vhdx"
else
	bad "the lying server did not start"
fi

# -- a connection cut mid-body: resumed from the byte it stopped at
if flaky_proxy_start 3; then
	rm -f "$T/out.raw"
	n0=$(log_count)
	if VHDX_HTTP_STATS=1 "$VHDX" convert -q "http://127.0.0.1:$FLAKY_PORT/images/golden.vhdx" "$T/out.raw" 2>"$T/err"; then
		cmp -s "$T/out.raw" "$T/golden.ref" && ok "cut transfers: the deployed disk is identical" ||
			bad "cut transfers: the disk differs"
	else
		bad "cut transfers: convert failed: $(tail -2 "$T/err")"
	fi
	cuts=$(grep -c "^cut" "$FLAKY_LOG")
	retries=$(grep -c "transfer cut at byte .*retry" "$T/err")
	[ "$cuts" -ge 3 ] && [ "$retries" = "$cuts" ] &&
		ok "cut transfers: $cuts responses cut, $retries retries said on stderr" ||
		bad "cut transfers: $cuts cut, $retries retries said: $(head -2 "$T/err")"
	# resumed from where it stopped: a retry asks from the middle of a range
	grep -q "retry 1 of 5 from there" "$T/err" && ok "cut transfers: each retry says where it resumes" ||
		bad "cut transfers: no retry line"
	# nginx sends whole bodies to the proxy: what came through is counted
	# by the client
	bytes=$(sed -n 's/^vhdx: http: [0-9]* requests, \([0-9]*\) bytes.*/\1/p' "$T/err")
	file=$(stat -c %s "$W/images/golden.vhdx")
	[ -n "$bytes" ] && [ "$bytes" -le "$file" ] &&
		ok "cut transfers: $bytes bytes received for a $file-byte file (what came before a cut is kept)" ||
		bad "cut transfers: ${bytes:-?} bytes received for a $file-byte file"
else
	bad "the flaky proxy did not start"
fi

# -- a server that goes away mid-deploy: retries run out, exit 1, and the
# disk's first MiB (written last) reads as zeros: a cut deploy never boots
if flaky_proxy_start 1 14; then
	# an old disk with a boot sector, beyond the first request's reach
	head -c $((2 * M)) /dev/zero | tr '\0' '\125' >"$T/disk.img"
	truncate -s 1G "$T/disk.img"
	out=$("$VHDX" convert -q -f "http://127.0.0.1:$FLAKY_PORT/images/golden.vhdx" "$T/disk.img" 2>&1); rc=$?
	[ $rc = 1 ] && grep -q "cut 6 times.*; its first MiB is zero" <<<"$out" && [ "$(grep -vc retry <<<"$out")" = 1 ] &&
		ok "a server gone mid-deploy: 5 retries, then exit 1 naming it in one line with what the disk holds" || bad "server gone: rc $rc: $(tail -2 <<<"$out")"
	[ "$(grep -c "retry" <<<"$out")" = 5 ] && ok "a server gone mid-deploy: each of the 5 retries said" ||
		bad "server gone: $(grep -c retry <<<"$out") retry lines"
	cmp -s -n $M "$T/disk.img" /dev/zero && ok "a server gone mid-deploy: the first MiB reads as zeros" ||
		bad "server gone: the first MiB is not zeros"
else
	bad "the second flaky proxy did not start"
fi

# -- a server that starts refusing mid-deploy (403, 503 after the 14th
# answer): one line naming it and what the disk holds, exit 1, the first
# MiB zeros
for status in 403 503; do
	if flaky_proxy_start 0 14 "" $status; then
		head -c $((2 * M)) /dev/zero | tr '\0' '\125' >"$T/disk.img"
		truncate -s 1G "$T/disk.img"
		out=$("$VHDX" convert -q -f "http://127.0.0.1:$FLAKY_PORT/images/golden.vhdx" "$T/disk.img" 2>&1); rc=$?
		[ $rc = 1 ] && grep -q "answered $status.*; its first MiB is zero" <<<"$out" && [ "$(wc -l <<<"$out")" = 1 ] &&
			! grep -q retry <<<"$out" &&
			ok "a $status mid-deploy: exit 1, said once, not retried ($(grep "answered" <<<"$out" | sed 's/.*: the/the/'))" ||
			bad "a $status mid-deploy: rc $rc: $out"
		cmp -s -n $M "$T/disk.img" /dev/zero && ok "a $status mid-deploy: the first MiB reads as zeros" ||
			bad "a $status mid-deploy: the first MiB is not zeros"
	else
		bad "the $status proxy did not start"
	fi
done

# -- the file replaced on the server while it is read (a new ETag after
# the third answer): refused before the new bytes are taken
if flaky_proxy_start 0 3 "$W/images/golden.vhdx"; then
	rm -f "$T/new.img"
	out=$("$VHDX" convert -q "http://127.0.0.1:$FLAKY_PORT/images/golden.vhdx" "$T/new.img" 2>&1); rc=$?
	grep -q "touched" "$FLAKY_LOG" && [ $rc = 2 ] && [ ! -e "$T/new.img" ] &&
		grep -q "changed on the server while being read (ETag" <<<"$out" &&
		ok "a file changed on the server between two requests: refused ($(head -1 <<<"$out" | sed 's/.*: the file/the file/'))" ||
		bad "a file changed on the server: rc $rc: $out"
else
	bad "the third proxy did not start"
fi

# -- other bytes for the same range on a second request (issue 20, "a BAT
# that changes between the plan and the copy"): netkit.py tricky's
# /changed/ inverts every byte it sent before (per path and query).  The
# host fetches bigbat's BAT pages and blocks again once its streams have
# moved on; each page fetched twice must come back with its first CRC
CHANGED_PORT=$(free_port)
python3 -u tests/efi/netkit.py tricky "$CHANGED_PORT" "$W/images" 2>"$RIG/changed.log" &
RIG_PIDS+=($!)
if wait_port "$CHANGED_PORT"; then
	C=http://127.0.0.1:$CHANGED_PORT/changed/bigbat.vhdx
	rule="the server sent other bytes for offset [0-9]* than before: the image changed while being read"
	head -c $((2 * M)) /dev/zero | tr '\0' '\125' >"$T/disk.img"
	truncate -s 256G "$T/disk.img"
	out=$("$VHDX" convert -q -f --sparse "$C?deploy" "$T/disk.img" 2>&1); rc=$?
	grep -q "^changed: /changed/bigbat.vhdx?deploy .* [1-9][0-9]* bytes sent before, inverted" "$RIG/changed.log" ||
		bad "changed bytes, deploy: the server never sent a range twice (the case proves nothing)"
	[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "$rule; its first MiB is zero" <<<"$out" &&
		ok "changed bytes mid-deploy: exit 1, one line with the rule and what the disk holds ($(grep -o 'the server sent other bytes for offset [0-9]*' <<<"$out"))" ||
		bad "changed bytes mid-deploy: rc $rc: $out"
	cmp -s -n $M "$T/disk.img" /dev/zero && ok "changed bytes mid-deploy: the first MiB reads as zeros" ||
		bad "changed bytes mid-deploy: the first MiB is not zeros"
	rm -f "$T/disk.img"
	out=$("$VHDX" compare -q "$C?compare" "$W/images/bigbat.vhdx" 2>&1); rc=$?
	[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "$rule" <<<"$out" &&
		ok "changed bytes in a compare: exit 2, one line" || bad "changed bytes in a compare: rc $rc: $out"
else
	bad "netkit.py tricky did not start"
fi

# -- a bmap manifest by URL (convert --bmap, verify --bmap, as vhdx.efi
# takes it): the deploy equals qemu-img's reading and verify matches; a
# manifest that is not there: exit 2, one line, the target untouched; one
# whose last range's hash was changed (resealed): exit 1, one line naming
# the range, the first MiB zero
source tests/bmap_lib.sh
"$VHDX" bmap "$W/images/golden.vhdx" "$W/images/golden.bmap" >/dev/null || bad "vhdx bmap golden.vhdx"
edit_chksum "$W/images/golden.bmap" "$W/images/tampered.bmap" last >/dev/null && reseal "$W/images/tampered.bmap"
rm -f "$T/bm.raw"
out=$("$VHDX" convert -q --bmap "$H/images/golden.bmap" "$H/images/golden.vhdx" "$T/bm.raw" 2>&1) &&
	cmp -s "$T/bm.raw" "$T/golden.ref" && ok "convert --bmap URL from a URL: qemu-img's reading" ||
	bad "convert --bmap URL: $out"
out=$("$VHDX" verify --bmap "$H/images/golden.bmap" "$T/bm.raw" 2>&1) && grep -q "matches" <<<"$out" &&
	ok "verify --bmap URL: the disk matches" || bad "verify --bmap URL: $out"
out=$("$VHDX" convert -q -f --bmap "$H/images/absent.bmap" "$H/images/golden.vhdx" "$T/keep.img" 2>&1); rc=$?
[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "absent.bmap: .*404.*; nothing written" <<<"$out" &&
	[ "$(sha256sum <"$T/keep.img")" = "$keep" ] && ok "convert --bmap with a 404 manifest: exit 2, one line, untouched" ||
	bad "convert --bmap with a 404 manifest: rc $rc: $out"
out=$("$VHDX" verify --bmap "$H/images/absent.bmap" "$T/bm.raw" 2>&1); rc=$?
[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "absent.bmap: .*404" <<<"$out" &&
	ok "verify --bmap with a 404 manifest: exit 2, one line" || bad "verify --bmap, 404: rc $rc: $out"
out=$("$VHDX" convert -q -f --bmap "$H/images/tampered.bmap" "$H/images/golden.vhdx" "$T/bm.raw" 2>&1); rc=$?
[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "does not match $H/images/tampered.bmap" <<<"$out" &&
	cmp -s -n $M "$T/bm.raw" /dev/zero && ok "convert --bmap with a tampered manifest URL: exit 1, one line, first MiB zero" ||
	bad "convert --bmap, tampered manifest URL: rc $rc: $out"

sha256sum -c --quiet "$T/served.sha256" && ok "the served files are unchanged" || bad "a served file changed"
finish
