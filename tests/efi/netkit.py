#!/usr/bin/env python3
# tests/efi/netkit.py - the small programs of tests/efi/net.sh (loopback only):
#   relay PORT                 stdin/stdout <-> 127.0.0.1:PORT (QEMU guestfwd cmd:,
#                              one process per guest connection)
#   flaky PORT UPSTREAM CUT    a proxy on 127.0.0.1:PORT to 127.0.0.1:UPSTREAM that
#                              closes the first connection whose answers pass CUT
#                              bytes, right there (mid-body), once; later ones pass
#   tricky PORT DIR            a server of DIR's files on 127.0.0.1:PORT that honours
#                              single ranges, by the path's first folder:
#                              /chunked/F  206 with a chunked body (chunk
#                                          extensions now and then)
#                              /shifted/F  a Content-Range 512 bytes off the range
#                                          asked for ranges from 2 MiB on
#                              /late500/F  HTTP 500 for ranges from 5 MiB on
#                              /long/F     4 KiB more body than its Content-Length
#                                          on the first range (bytes=0-...)
#                              /wide/F     a chunked body 4 KiB longer than the
#                                          range asked for ranges from 5 MiB on
#                              /slow/F     bodies trickled at 160 KiB/s for ranges
#                                          from 4 MiB on (time to press ESC); a
#                                          body the client cut short is logged
#                              /cutoff/F   no byte from file offset CUTOFF (7.5 MiB)
#                                          on, ever: a body reaching it is cut there
#                                          (its headers promise all of it) and the
#                                          connection closed ("cutoff: ..." logged):
#                                          a network cut no retry gets past
#                              /changed/F  every byte sent before (by this path
#                                          and query) comes back inverted, the
#                                          length the same: a file that changes
#                                          between two reads of the same range
#                                          ("changed: ..." logged per request)
#   esl CA.der OUT             an EFI_SIGNATURE_LIST of one X.509 certificate, what
#                              OVMF takes as etc/edk2/https/cacerts (NETWORK.md)
#   log LOG TAG                nginx's log lines of query ?case=TAG (* all): requests,
#                              body bytes, and the bytes asked twice (ranges overlapping)
import os
import socket
import struct
import sys
import threading
import time
import uuid


def pump(src, dst):
    try:
        while True:
            data = src(65536)
            if not data:
                break
            dst(data)
    except OSError:
        pass


def relay(port):
    s = socket.create_connection(("127.0.0.1", port))
    out = sys.stdout.buffer

    def to_guest():
        def write(d):
            out.write(d)
            out.flush()
        pump(s.recv, write)
        os._exit(0)

    threading.Thread(target=to_guest, daemon=True).start()
    pump(lambda n: os.read(0, n), s.sendall)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    threading.Event().wait(30)


def flaky(port, upstream, cut):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    state = {"cut": False}
    lock = threading.Lock()

    def serve(c):
        u = socket.create_connection(("127.0.0.1", upstream))
        threading.Thread(target=pump, args=(c.recv, u.sendall), daemon=True).start()
        sent = 0
        try:
            while True:
                data = u.recv(65536)
                if not data:
                    break
                with lock:
                    armed = not state["cut"]
                if armed and sent + len(data) > cut:
                    c.sendall(data[:cut - sent])
                    with lock:
                        state["cut"] = True
                    sys.stderr.write("flaky: cut a connection after %d bytes\n" % cut)
                    break
                c.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for x in (c, u):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


INVERT = bytes(255 - i for i in range(256))
CUTOFF = 15 << 19  # [byte] tricky's /cutoff/: the file offset no body passes


def tricky(port, root):
    import http.server
    import re

    sent = {}  # /changed/: the path's byte ranges [a, b] sent so far
    lock = threading.Lock()

    def changed(key, a, body):
        # the bytes of body (file bytes from a) sent before, inverted once
        b = a + len(body) - 1
        out = bytearray(body)
        flipped = 0
        with lock:
            spans = sorted(sent.get(key, []))
            sent.setdefault(key, []).append((a, b))
        reach = a - 1  # the last byte inverted: earlier spans overlap
        for x, y in spans:
            lo, hi = max(a, x, reach + 1), min(b, y)
            if lo <= hi:
                out[lo - a:hi - a + 1] = bytes(out[lo - a:hi - a + 1]).translate(INVERT)
                flipped += hi - lo + 1
                reach = hi
        return bytes(out), flipped

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("tricky: %s %s\n" % (self.path, self.headers.get("Range")))

        def do_GET(self):
            parts = self.path.split("?")[0].split("/")
            mode, name = parts[1], "/".join(parts[2:])
            data = open(os.path.join(root, name), "rb").read()
            m = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
            if not m:
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            a, b = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
            if mode == "late500" and a >= 5 << 20:
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            shift = 512 if mode == "shifted" and a >= 2 << 20 else 0
            body = data[a + shift:b + shift + 1]
            if mode == "changed":
                body, flipped = changed(self.path, a, body)
                sys.stderr.write("changed: %s bytes=%d-%d: %d bytes sent before, inverted\n"
                                 % (self.path, a, b, flipped))
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (a + shift, b + shift, len(data)))
            if mode == "wide" and a >= 5 << 20:
                body += b"\xee" * 4096
                mode = "chunked"
            if mode == "chunked":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                k = 0
                for i in range(0, len(body), 3000):
                    piece = body[i:i + 3000]
                    ext = ";k=%d" % k if k % 3 == 0 else ""
                    self.wfile.write(b"%x%s\r\n" % (len(piece), ext.encode()) + piece + b"\r\n")
                    k += 1
                self.wfile.write(b"0\r\n\r\n")
            elif mode == "slow" and a >= 4 << 20:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(0, len(body), 16384):
                        self.wfile.write(body[i:i + 16384])
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    sys.stderr.write("tricky: %s %s: the client closed the connection mid-body, at %d of %d bytes\n"
                                     % (self.path, self.headers.get("Range"), i, len(body)))
            elif mode == "cutoff" and b >= CUTOFF:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:max(0, CUTOFF - a)])
                self.close_connection = True
                sys.stderr.write("cutoff: %s bytes=%d-%d: cut at byte %d\n" % (self.path, a, b, max(a, CUTOFF)))
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if mode == "long" and a == 0:
                    self.wfile.write(b"\xee" * 4096)

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def esl(der_path, out_path):
    der = open(der_path, "rb").read()
    x509 = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072").bytes_le
    owner = uuid.UUID("77fa9abd-0359-4d32-bd60-28f4e78f784b").bytes_le
    size = 16 + len(der)
    head = x509 + struct.pack("<III", 28 + size, 0, size)
    open(out_path, "wb").write(head + owner + der)


def log(path, tag):
    requests = body = 0
    ranges = []
    for line in open(path):
        f = line.split()
        # log_format: $request_uri $status $body_bytes_sent $http_range
        if len(f) < 3 or (tag != "*" and not f[0].endswith("case=" + tag)):
            continue
        requests += 1
        body += int(f[2])
        if len(f) > 3 and f[3].startswith("bytes="):
            a, b = f[3][6:].split("-")
            ranges.append((int(a), int(b)))
    ranges.sort()
    twice = 0
    reach = -1
    for a, b in ranges:
        if a <= reach:
            twice += min(b, reach) - a + 1
        reach = max(reach, b)
    print(requests, body, twice)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "relay":
        relay(int(sys.argv[2]))
    elif cmd == "flaky":
        flaky(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "tricky":
        tricky(int(sys.argv[2]), sys.argv[3])
    elif cmd == "esl":
        esl(sys.argv[2], sys.argv[3])
    elif cmd == "log":
        log(sys.argv[2], sys.argv[3])
    else:
        sys.exit("netkit: unknown command " + cmd)
