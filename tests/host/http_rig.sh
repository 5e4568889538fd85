# tests/host/http_rig.sh - web servers on 127.0.0.1 for the URL tests
# (sourced after lib.sh; everything lives in $T and stops with the test):
#   http_rig_start WWW   nginx (Debian's) serving WWW over HTTP on
#                        $HTTP_PORT and HTTPS on $HTTPS_PORT with a server
#                        certificate for 127.0.0.1 signed by a CA made here
#                        ($T/rig/ca.pem); its access log $NGINX_LOG holds
#                        "METHOD URI STATUS BODY_BYTES RANGE" per request
#                        (the URI as asked: percent-encoded)
#   plain_server_start WWW  python3's http.server (ignores Range) on $PLAIN_PORT
#   flaky_proxy_start CUT [AFTER [TOUCH [STATUS]]]  a proxy of our own to
#                        nginx's HTTP port on $FLAKY_PORT that cuts every
#                        CUT-th response after half its body (connection
#                        closed; CUT 0: none); with AFTER, only responses
#                        after the AFTER-th are cut; with TOUCH, the file
#                        TOUCH gets a new mtime (a new ETag) after the
#                        AFTER-th response; with STATUS (403, 503, ...),
#                        every response after the AFTER-th is that status
#                        with an empty body instead
# Test traffic never leaves the machine: every server listens on 127.0.0.1.

RIG=$T/rig
RIG_PIDS=()

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_port PORT: up to 10 s for a listener
wait_port() {
	local i
	for i in $(seq 100); do
		python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

rig_stop() {
	local pid
	[ -f "$RIG/nginx.pid" ] && kill "$(cat "$RIG/nginx.pid")" 2>/dev/null
	for pid in "${RIG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
}
trap 'rig_stop; rm -rf "$T"' EXIT

make_certs() {
	mkdir -p "$RIG"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vhdx test CA" \
		-keyout "$RIG/ca.key" -out "$RIG/ca.pem" -addext "basicConstraints=critical,CA:true" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 &&
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$RIG/server.key" \
		-out "$RIG/server.csr" >/dev/null 2>&1 &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:false\nextendedKeyUsage=serverAuth\n' \
		>"$RIG/server.ext" &&
	openssl x509 -req -in "$RIG/server.csr" -CA "$RIG/ca.pem" -CAkey "$RIG/ca.key" -CAcreateserial \
		-days 2 -extfile "$RIG/server.ext" -out "$RIG/server.pem" >/dev/null 2>&1
}

http_rig_start() {
	local www=$1
	make_certs || return 1
	HTTP_PORT=$(free_port)
	HTTPS_PORT=$(free_port)
	NGINX_LOG=$RIG/access.log
	mkdir -p "$RIG/tmp"
	# nginx's workers run as nobody: the served folder and the way to it
	# must be world-readable
	chmod 755 "$T" "$RIG"
	chmod -R a+rX "$www"
	cat >"$RIG/nginx.conf" <<EOF
worker_processes 1;
pid $RIG/nginx.pid;
error_log $RIG/error.log;
events { worker_connections 64; }
http {
	log_format ranges '\$request_method \$request_uri \$status \$body_bytes_sent "\$http_range"';
	access_log $NGINX_LOG ranges;
	client_body_temp_path $RIG/tmp/body;
	proxy_temp_path $RIG/tmp/proxy;
	fastcgi_temp_path $RIG/tmp/fastcgi;
	uwsgi_temp_path $RIG/tmp/uwsgi;
	scgi_temp_path $RIG/tmp/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$HTTP_PORT;
		root $www;
		# /moved/NAME: a redirect to /images/NAME; /loop/NAME: to itself
		location /moved/ { rewrite ^/moved/(.*)\$ /images/\$1 redirect; }
		location /loop/ { rewrite ^(.*)\$ \$1 redirect; }
		# /forbidden/NAME: 403; /unavailable/NAME: 503
		location /forbidden/ { return 403; }
		location /unavailable/ { return 503; }
	}
	server {
		listen 127.0.0.1:$HTTPS_PORT ssl;
		ssl_certificate $RIG/server.pem;
		ssl_certificate_key $RIG/server.key;
		root $www;
	}
}
EOF
	/usr/sbin/nginx -c "$RIG/nginx.conf" -p "$RIG" -e "$RIG/error.log" 2>"$RIG/start.log" || {
		cat "$RIG/start.log"; return 1; }
	wait_port "$HTTP_PORT" && wait_port "$HTTPS_PORT"
}

plain_server_start() {
	PLAIN_PORT=$(free_port)
	python3 -m http.server --bind 127.0.0.1 --directory "$1" "$PLAIN_PORT" >"$RIG/plain.log" 2>&1 &
	RIG_PIDS+=($!)
	wait_port "$PLAIN_PORT"
}

# A lying server (python3, ours) on $LIAR_PORT, serving WWW with a fault
# chosen by the first path component: /wrongrange/NAME answers 512 bytes
# later than asked; /long/NAME sends 100 bytes more than its Content-Range
# (and says so in Content-Length); /norange/NAME a 206 without
# Content-Range; /bigtotal/NAME a length that grows at every answer;
# /excess/NAME the range and a Content-Length that says so, then 100 bytes
# more on the connection; /hugeheader/NAME a header line of 1 MiB.
liar_server_start() {
	LIAR_PORT=$(free_port)
	python3 -u - "$LIAR_PORT" "$1" >"$RIG/liar.log" 2>&1 <<'PY' &
import http.server, os, re, sys
port, root = int(sys.argv[1]), sys.argv[2]
seen = set()

class Liar(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        fault, name = self.path.lstrip("/").split("/", 1)
        data = open(os.path.join(root, name), "rb").read()
        m = re.match(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        a, b = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
        total = len(data)
        if fault == "wrongrange":
            a, b = a + 512, b + 512
        if fault == "bigtotal":  # one more page at every answer
            seen.add(len(seen))
            total += 4096 * len(seen)
        body = data[a:b + 1]
        if fault == "long":
            body += b"x" * 100
        self.send_response(206)
        if fault != "norange":
            self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, total))
        self.send_header("Content-Length", str(len(body)))
        if fault == "hugeheader":
            self.send_header("X-Padding", "y" * (1 << 20))
        self.end_headers()
        if fault == "excess":  # one write: the extra bytes come with the body's end
            body += b"z" * 100
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("127.0.0.1", port), Liar).serve_forever()
PY
	RIG_PIDS+=($!)
	wait_port "$LIAR_PORT"
}

# The flaky proxy: one thread per connection; responses are counted across
# connections, and every CUT-th one is forwarded up to half its body, then
# the connection is closed.  Requests pass unchanged.
flaky_proxy_start() {
	FLAKY_PORT=$(free_port)
	FLAKY_LOG=$RIG/flaky.$FLAKY_PORT.log
	python3 -u - "$FLAKY_PORT" "$HTTP_PORT" "$1" "${2:-0}" "${3:-}" "${4:-0}" >"$FLAKY_LOG" 2>&1 <<'PY' &
import os, socket, sys, threading
listen_port, upstream, cut_every, after = (int(a) for a in sys.argv[1:5])
touch, status = sys.argv[5], int(sys.argv[6])
count = [0]
lock = threading.Lock()

def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        b = sock.recv(65536)
        if not b:
            return None, buf
        buf += b
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]

def serve(client):
    try:
        relay(client)
    except OSError:
        pass  # the client went away (it refused what it was sent)

def relay(client):
    up = socket.create_connection(("127.0.0.1", upstream))
    cbuf, ubuf = b"", b""
    try:
        while True:
            req, cbuf = read_head(client, cbuf)
            if req is None:
                return
            up.sendall(req)
            head, ubuf = read_head(up, ubuf)
            if head is None:
                return
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = ubuf
            while len(body) < length:
                b = up.recv(1 << 20)
                if not b:
                    break
                body += b
            body, ubuf = body[:length], body[length:]
            with lock:
                count[0] += 1
                cut = cut_every and count[0] > after and (count[0] - after) % cut_every == 0 and length > 1
                if touch and count[0] == after:
                    st = os.stat(touch)
                    os.utime(touch, (st.st_atime, st.st_mtime + 1000))
                    print("touched %s after response %d" % (touch, after), flush=True)
                answer = status and count[0] > after
            if answer:
                print("answered %d to request %d" % (status, count[0]), flush=True)
                client.sendall(b"HTTP/1.1 %d Refused by the test\r\nContent-Length: 0\r\n\r\n" % status)
                continue
            if cut:
                print("cut response %d after %d of %d bytes" % (count[0], length // 2, length), flush=True)
                client.sendall(head + body[:length // 2])
                return
            client.sendall(head + body)
    finally:
        client.close()
        up.close()

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	RIG_PIDS+=($!)
	wait_port "$FLAKY_PORT"
}

# log_since LINE: nginx's access log from line LINE on (after the run)
log_count() { wc -l <"$NGINX_LOG"; }
# log_bytes FROM: the body bytes nginx sent from log line FROM+1 on
log_bytes() { tail -n +"$(($1 + 1))" "$NGINX_LOG" | awk '{s += $4} END {print s + 0}'; }
log_requests() { tail -n +"$(($1 + 1))" "$NGINX_LOG" | wc -l; }
# log_twice FROM [URI]: bytes of the file at URI (default: every URI)
# that nginx sent more than once from log line FROM+1 on, by the ranges
# it logged (a 200's whole body counts as bytes 0-LENGTH-1)
log_twice() {
	local from=$1
	shift
	tail -n +"$((from + 1))" "$NGINX_LOG" | python3 -c '
import re, sys
uri = sys.argv[1] if len(sys.argv) > 1 else None
spans = {}
for line in sys.stdin:
    f = line.split()
    if len(f) < 4 or (uri and f[1] != uri) or f[2] not in ("200", "206"):
        continue
    m = re.search(r"bytes=(\d+)-(\d+)", line)
    a = int(m.group(1)) if m and f[2] == "206" else 0
    n = int(f[3])  # what was sent: a cut response sends less than asked
    if n:
        spans.setdefault(f[1], []).append((a, a + n))
twice = 0
for s in spans.values():
    s.sort()
    end = 0
    for a, b in s:
        twice += max(0, min(b, end) - a)
        end = max(end, b)
print(twice)' "$@"
}
