#!/usr/bin/env python3
"""tests/efi/cutqmp.py SOCKET DIR MODE NODE=IMAGE... - the power cuts of
tests/efi/bmapcut.sh, driven through QEMU's QMP socket (QEMU's
docs/interop/qmp-spec: a greeting, qmp_capabilities, then commands and
events as JSON objects, one a line).

Each NODE (a format node's node-name) sits over a blkdebug layer that
fails each write request once, its first attempt (EIO), and its disk has
werror=stop: every write to the volume stops the VM (BLOCK_IO_ERROR,
action "stop", then STOP) before a byte of it reaches IMAGE.  QEMU
drains the disks' requests before it reports STOP, so IMAGE then holds
exactly the writes before that one: what a power cut there leaves on a
disk that completes its writes in order.

MODE
  snap       at the Nth stop of NODE, IMAGE is copied (sparse) to
             DIR/NODE-NNN.img (N from 1: writes 1..N-1 landed), and the VM
             continued (`cont`: QEMU retries the write, which now lands).
             The end: the guest powers off (QEMU runs with -no-shutdown:
             SHUTDOWN, the VM stays paused); each NODE's query-blockstats
             then, and `quit`.
  kill:N:PIDFILE  at the Nth stop of the first NODE, SIGKILL to the QEMU
             whose pid PIDFILE holds: a real cut, IMAGE left as it is.

Prints "NODE stop N" per stop and at the end "NODE writes W stops S" for
each NODE (wr_operations: the writes that landed).  Exit 0 when the run
ended as MODE asks (the guest powered off; QEMU killed at the Nth stop),
1 otherwise.
"""
import json
import os
import signal
import socket
import sys
import time

CHUNK = 65536


class Qmp:
    def __init__(self, path, timeout):
        self.deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > self.deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""
        self.events = []
        self.recv()  # the greeting
        self.cmd("qmp_capabilities")

    def recv(self):
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("QMP: nothing within the time given")
            self.sock.settimeout(left)
            data = self.sock.recv(CHUNK)
            if not data:
                raise EOFError("QMP: QEMU closed the socket")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self.recv()
            if "event" in r:
                self.events.append(r)
            elif "error" in r:
                raise RuntimeError("QMP %s: %s" % (name, r["error"]))
            elif "return" in r:
                return r["return"]

    def event(self):
        if self.events:
            return self.events.pop(0)
        while True:
            r = self.recv()
            if "event" in r:
                return r


def sparse_copy(src, dst):
    """src to dst, runs of zero chunks left as holes (the volumes are
    mostly zeros)."""
    zero = bytes(CHUNK)
    with open(src, "rb") as f, open(dst, "wb") as g:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            if b == zero[:len(b)]:
                g.seek(len(b), os.SEEK_CUR)
            else:
                g.write(b)
        g.truncate()


def main():
    sock, outdir, mode = sys.argv[1:4]
    images = dict(a.split("=", 1) for a in sys.argv[4:])
    first = sys.argv[4].split("=", 1)[0]
    kill_at = pidfile = None
    if mode.startswith("kill:"):
        _, n, pidfile = mode.split(":", 2)
        kill_at = int(n)
    q = Qmp(sock, float(os.environ.get("CUT_TIMEOUT", "240")))
    stops = {n: 0 for n in images}
    while True:
        try:
            e = q.event()
        except EOFError:
            print("QEMU went away after %s stops" % stops)
            return 1
        name = e["event"]
        if name == "BLOCK_IO_ERROR":
            d = e["data"]
            node = d.get("node-name")
            if node not in images or d.get("action") != "stop" or d.get("operation") != "write":
                print("unexpected BLOCK_IO_ERROR %s" % json.dumps(d))
                return 1
            while q.event()["event"] != "STOP":
                pass
            stops[node] += 1
            n = stops[node]
            print("%s stop %d" % (node, n), flush=True)
            if kill_at is not None and node == first and n == kill_at:
                with open(pidfile) as f:
                    os.kill(int(f.read().split()[0]), signal.SIGKILL)
                print("%s: QEMU killed at its stop %d" % (node, n))
                return 0
            if kill_at is None:
                sparse_copy(images[node], os.path.join(outdir, "%s-%03d.img" % (node, n)))
            q.cmd("cont")
        elif name == "SHUTDOWN":
            for s in q.cmd("query-blockstats"):
                if s.get("node-name") in images:
                    node = s["node-name"]
                    print("%s writes %d stops %d" % (node, s["stats"]["wr_operations"], stops[node]))
            q.cmd("quit")
            return 0 if kill_at is None else 1


if __name__ == "__main__":
    sys.exit(main())
