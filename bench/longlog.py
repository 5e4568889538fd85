#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/longlog.py - reading through a long dirty log against the same image after replay (issue 18).

Images (made once in DIR/longlog, reused while their stamp matches), for LOG in 1, 16, 64 MiB:

  base    `vhdx create -t dynamic -s 1G -b 1M --log-size LOG`, 256 of its 1024 blocks
          written with random data at seeded random places (qemu-io; qemu replays its own
          log on close, so base is clean; `vhdx repair` accepts it: regions Required)
  dLOG    base with a dirty log written here: as many entries as the ring holds, each
          one descriptor sector and one data sector (8 KiB): entry k writes the k-th
          4 KiB page of the BAT and metadata regions in turn, with the bytes base holds
          there (the first and the last entries too), LogGuid set in the current header.
          So dLOG after replay is base: 127 entries for 1 MiB, 2047 for 16 MiB, 8191
          for 64 MiB (the ring's size / 8 KiB, less one).
  rLOG    dLOG after `vhdx repair` (the log replayed in place)

Rows, each tool in turn (order rotated every round), one uncounted warm-up round, RUNS
rounds; out removed before each run (untimed):

  vhdx convert -q -O raw dLOG out.raw   (through the log: the view)
  vhdx convert -q -O raw rLOG out.raw   (after replay)
  qemu-img convert -f vhdx -O raw rLOG out.raw
  vhdx compare -q dLOG base.raw, vhdx compare -q rLOG base.raw
  qemu-img compare -q -f vhdx -F raw rLOG base.raw

qemu-img cannot read dLOG read-only (it wants to replay), hence rLOG for it.  Every
output is checked once against base.raw (cmp).  Wall: bench/spawn, fork to exit; medians
(min-max).  The ratio column: through the log / after replay.

Usage: bench/longlog.py [--runs N] [--dir DIR] [--vhdx PATH] [--spawn PATH] [--logs 1,16,64]
"""
import argparse
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import uuid

from benchlib import spawn_fields, fmt_range

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "host"))
from vhdx_poke import crc32c  # noqa: E402

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
SEC = 4096
VSIZE, BLOCK, WRITTEN = 1 * GiB, 1 * MiB, 256
BAT_GUID = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08").bytes_le
META_GUID = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E").bytes_le
STAMP = "longlog v1 %d %d %d\n" % (VSIZE, BLOCK, WRITTEN)


def run(argv, **kw):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kw)


def current_header(f):
    best = None
    for off in (64 * KiB, 128 * KiB):
        f.seek(off)
        h = f.read(SEC)
        if h[:4] != b"head" or struct.unpack_from("<I", h, 4)[0] != crc32c(h[:4] + b"\0" * 4 + h[8:]):
            continue
        seq = struct.unpack_from("<Q", h, 8)[0]
        if best is None or seq > best[1]:
            best = (off, seq, h)
    return best


def regions(f):
    f.seek(192 * KiB)
    t = f.read(64 * KiB)
    out = {}
    for i in range(struct.unpack_from("<I", t, 8)[0]):
        e = t[16 + 32 * i:48 + 32 * i]
        out[e[:16]] = struct.unpack_from("<QI", e, 16)
    return out


def entry(seq, guid, size, target, page):
    """One entry at ring offset pos: a descriptor sector with one data descriptor, its data sector."""
    head = bytearray(SEC)
    struct.pack_into("<4sIIIQII16sQQ", head, 0, b"loge", 0, 2 * SEC, 0, seq, 1, 0, guid, size, size)
    struct.pack_into("<4sIQQQ", head, 64, b"desc", struct.unpack_from("<I", page, SEC - 4)[0],
                     struct.unpack_from("<Q", page, 0)[0], target, seq)
    data = bytearray(SEC)
    struct.pack_into("<4sI", data, 0, b"data", seq >> 32)
    data[8:SEC - 4] = page[8:SEC - 4]
    struct.pack_into("<I", data, SEC - 4, seq & 0xFFFFFFFF)
    e = head + data
    struct.pack_into("<I", e, 4, crc32c(bytes(e)))
    return bytes(e)


def make_dirty(base, out, seed):
    shutil.copyfile(base, out)
    rnd = random.Random(seed)
    guid = rnd.randbytes(16)
    with open(out, "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        off, seq, h = current_header(f)
        log_length, log_offset = struct.unpack_from("<IQ", h, 68)
        reg = regions(f)
        pages = []
        for g in (BAT_GUID, META_GUID):
            start, length = reg[g]
            pages += [start + k for k in range(0, length, SEC)]
        count = log_length // (2 * SEC) - 1
        ring = bytearray(log_length)
        for k in range(count):
            target = pages[k % len(pages)]
            f.seek(target)
            ring[k * 2 * SEC:(k + 1) * 2 * SEC] = entry(1000 + k, guid, size, target, f.read(SEC))
        f.seek(log_offset)
        f.write(ring)
        h = bytearray(h)
        h[48:64] = guid
        struct.pack_into("<I", h, 4, 0)
        struct.pack_into("<I", h, 4, crc32c(bytes(h)))
        f.seek(off)
        f.write(h)
    return count


def make_images(d, vhdx, logs):
    os.makedirs(d, exist_ok=True)
    stamp = os.path.join(d, "stamp")
    want = STAMP + " ".join(map(str, logs)) + "\n"
    if os.path.exists(stamp) and open(stamp).read() == want:
        return {n: int(open(os.path.join(d, "entries%d" % n)).read()) for n in logs}
    entries = {}
    rnd = random.Random(18)
    blocks = sorted(rnd.sample(range(VSIZE // BLOCK), WRITTEN))
    for n in logs:
        base = os.path.join(d, "base%d.vhdx" % n)
        if os.path.exists(base):
            os.unlink(base)
        run([vhdx, "create", "-q", "-t", "dynamic", "-s", str(VSIZE), "-b", "1M", "--log-size", "%dM" % n, base])
        cmds = []
        for b in blocks:
            cmds += ["-c", "write -s %s %d %d" % (os.path.join(d, "rand"), b * BLOCK, BLOCK)]
        if not os.path.exists(os.path.join(d, "rand")):
            with open(os.path.join(d, "rand"), "wb") as r:
                r.write(random.Random(7).randbytes(BLOCK))
        run(["qemu-io", "-f", "vhdx"] + cmds + [base])
        entries[n] = make_dirty(base, os.path.join(d, "d%d.vhdx" % n), n)
        shutil.copyfile(os.path.join(d, "d%d.vhdx" % n), os.path.join(d, "r%d.vhdx" % n))
        run([vhdx, "repair", "-q", os.path.join(d, "r%d.vhdx" % n)])
        with open(os.path.join(d, "entries%d" % n), "w") as e:
            e.write("%d\n" % entries[n])
    run(["qemu-img", "convert", "-f", "vhdx", "-O", "raw", os.path.join(d, "base%d.vhdx" % logs[0]),
         os.path.join(d, "base.raw")])
    open(stamp, "w").write(want)
    return entries


def timed(spawn, out, argv):
    f, rc = spawn_fields(spawn, out, argv, check=False)
    return float(f[0]) if f else 0.0, rc


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(root, "build", "bench"))
    ap.add_argument("--vhdx", default=os.path.join(root, "build", "host", "vhdx"))
    ap.add_argument("--spawn", default=os.path.join(root, "build", "bench", "spawn"))
    ap.add_argument("--logs", default="1,16,64")
    a = ap.parse_args()
    logs = [int(x) for x in a.logs.split(",")]
    d = os.path.join(a.dir, "longlog")
    entries = make_images(d, a.vhdx, logs)
    raw = os.path.join(d, "base.raw")
    out = os.path.join(d, "out.raw")
    print("| log | entries | command | through the log: wall s | after replay: wall s | ratio "
          "| qemu-img on the replayed image: wall s |")
    print("|---|---|---|---|---|---|---|")
    for n in logs:
        dimg, rimg = os.path.join(d, "d%d.vhdx" % n), os.path.join(d, "r%d.vhdx" % n)
        rows = {
            "convert": [[a.vhdx, "convert", "-q", "-O", "raw", dimg, out],
                        [a.vhdx, "convert", "-q", "-O", "raw", rimg, out],
                        ["qemu-img", "convert", "-f", "vhdx", "-O", "raw", rimg, out]],
            "compare": [[a.vhdx, "compare", "-q", dimg, raw],
                        [a.vhdx, "compare", "-q", rimg, raw],
                        ["qemu-img", "compare", "-q", "-f", "vhdx", "-F", "raw", rimg, raw]],
        }
        for name, argvs in rows.items():
            times = [[], [], []]
            for r in range(a.runs + 1):
                order = [(t + r) % 3 for t in range(3)]
                for t in order:
                    if os.path.exists(out):
                        os.unlink(out)
                    w, rc = timed(a.spawn, out if name == "convert" else raw, argvs[t])
                    if rc:
                        sys.exit("%s: exit %d" % (" ".join(argvs[t]), rc))
                    if r == 0 and name == "convert":
                        subprocess.run(["cmp", "-s", out, raw], check=True)
                    if r:
                        times[t].append(w)
            ratio = statistics.median(times[0]) / statistics.median(times[1])
            print("| %d MiB | %d | %s | %s | %s | %.2fx | %s |" % (n, entries[n], name, fmt_range(times[0]),
                                                                  fmt_range(times[1]), ratio, fmt_range(times[2])))
    if os.path.exists(out):
        os.unlink(out)


if __name__ == "__main__":
    main()
