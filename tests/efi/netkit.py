#!/usr/bin/env python3
# tests/efi/netkit.py - the small programs of tests/efi/net.sh (loopback only):
#   relay PORT                 stdin/stdout <-> 127.0.0.1:PORT (QEMU guestfwd cmd:,
#                              one process per guest connection)
#   flaky PORT UPSTREAM CUT    a proxy on 127.0.0.1:PORT to 127.0.0.1:UPSTREAM that
#                              closes the first connection whose answers pass CUT
#                              bytes, right there (mid-body), once; later ones pass
#   esl CA.der OUT             an EFI_SIGNATURE_LIST of one X.509 certificate, what
#                              OVMF takes as etc/edk2/https/cacerts (NETWORK.md)
#   log LOG TAG                nginx's log lines of query ?case=TAG: requests,
#                              body bytes, and the bytes asked twice (ranges overlapping)
import os
import socket
import struct
import sys
import threading
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
        if len(f) < 3 or not f[0].endswith("case=" + tag):
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
    elif cmd == "esl":
        esl(sys.argv[2], sys.argv[3])
    elif cmd == "log":
        log(sys.argv[2], sys.argv[3])
    else:
        sys.exit("netkit: unknown command " + cmd)
