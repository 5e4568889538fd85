#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/mapper.py - source reads of a convert: preads per MiB of data and wall time.

Images (made once in DIR/mapper, reused while their stamp matches):

  m1     dynamic VHDX, 1 GiB virtual, 1 MiB blocks, 128 of 1024 blocks written
         whole with random data at seeded random places (128 MiB of data)
  chain  three levels, 64 MiB virtual, 1 MiB blocks: the base with 24 blocks of
         random data (qemu-io on a raw file, then `vhdx convert -O vhdx`), the middle (`vhdx create -t differencing`) with
         4 blocks FULLY_PRESENT and 8 PARTIALLY_PRESENT, the child with 2 and 6
         (tests/host/vhdx_poke.py blocks: sector bitmaps with runs that start
         and end mid-byte), all at seeded random places; 44 MiB of blocks

Rows: `vhdx convert -q -O raw IMG out`, `vhdx convert -q -O vhdx IMG out.vhdx`
(two passes over the source: the estimate, then the copy) and
`qemu-img convert -f vhdx -O raw IMG out`, side by side in the same run
(m1 only: QEMU reads no differencing VHDX).
preads: one untimed run under `strace -f -y -e trace=pread64,preadv,preadv2`
per row; every read call of the image files counts, and a re-read is a call
whose (file, offset, length) an earlier call of the same run already read.
per MiB: calls / MiB of blocks stored in the image or chain.  Wall: bench/spawn, one
uncounted warm-up round, then RUNS rounds, the order rotated every round, the
output removed and `sync` before each run (untimed); median (min-max); then
the same command once more for its CPU time (user + system, wait4), which a
loaded machine disturbs less than the wall time.
The outputs are compared with the source once (`vhdx compare`).

--before PATH adds the rows of another build of vhdx (say, one from before a
change) to the same run: `make bench-mapper BENCH_BEFORE=PATH`.

Usage: bench/mapper.py [--runs N] [--dir DIR] [--vhdx PATH] [--spawn PATH]
                       [--label TEXT] [--before PATH]
"""
import argparse
import os
import random
import re
import statistics
import subprocess
import sys

from benchlib import run, spawn_fields, cpu_times, remove

MiB, GiB = 1 << 20, 1 << 30
STAMP = "mapper-images v1"
POKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "host", "vhdx_poke.py")
# the chain's levels: (blocks written whole, blocks PARTIALLY_PRESENT)
CHAIN_BLOCKS = ((24, 0), (4, 8), (2, 6))


def qemu_io(img, cmds, fmt="vhdx"):
    for i in range(0, len(cmds), 200):
        run(["qemu-io", "-f", fmt] + cmds[i:i + 200] + [img], stdout=subprocess.DEVNULL)


def make_images(d, vhdx):
    stamp = os.path.join(d, "stamp")
    names = ("m1.vhdx", "base.vhdx", "mid.vhdx", "child.vhdx")
    if os.path.exists(stamp) and open(stamp).read() == STAMP and all(
            os.path.exists(os.path.join(d, n)) for n in names):
        return
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    rng = random.Random(19)
    pat = os.path.join(d, "pattern")
    with open(pat, "wb") as f:
        f.write(os.urandom(32 * MiB))
    m1 = os.path.join(d, "m1.vhdx")
    run(["qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=1M,subformat=dynamic", m1, "1G"])
    qemu_io(m1, [a for b in sorted(rng.sample(range(1024), 128))
                 for a in ("-c", "write -q -s %s %d %d" % (pat, b * MiB, MiB))])
    base, mid, child = (os.path.join(d, n) for n in names[1:])
    model = os.path.join(d, "model")
    run(["qemu-img", "create", "-q", "-f", "raw", model, "64M"])
    qemu_io(model, [a for b in sorted(rng.sample(range(64), CHAIN_BLOCKS[0][0]))
                    for a in ("-c", "write -q -s %s %d %d" % (pat, b * MiB, MiB))], fmt="raw")
    # a parent must check clean: qemu-img's VHDX does not (regions not Required)
    run([vhdx, "convert", "-q", "-y", "-O", "vhdx", "-b", "1M", model, base])
    for level, (img, parent) in ((1, (mid, base)), (2, (child, mid))):
        full, partial = CHAIN_BLOCKS[level]
        run([vhdx, "create", "-q", "-y", "-t", "differencing", "-b", "1M", "--parent", parent, img])
        picks = rng.sample(range(64), full + partial)
        specs = ["full:%d" % b for b in picks[:full]] + \
                ["partial:%d:%d" % (b, rng.randrange(1 << 30)) for b in picks[full:]]
        run([sys.executable, POKE, "blocks", img, model, str(level)] + specs)
    os.unlink(model)
    os.unlink(pat)
    with open(stamp, "w") as f:
        f.write(STAMP)


PREAD_RE = re.compile(r"^\d+\s+pread64\(\d+<([^>]*)>, .*, (\d+), (\d+)\)\s*=")
PREADV_RE = re.compile(r"^\d+\s+preadv2?\(\d+<([^>]*)>, .*, \d+, (\d+)(?:, \w+)?\)\s*=\s*(\d+)")


def preads(argv, files, tmpdir):
    """(calls, re-reads) of read calls at an offset on @files, from strace -f -y"""
    log = os.path.join(tmpdir, "strace-r.out")
    run(["strace", "-f", "-y", "-e", "trace=pread64,preadv,preadv2", "-o", log] + argv,
        stdout=subprocess.DEVNULL)
    seen, calls, again = set(), 0, 0
    with open(log) as f:
        for line in f:
            m = PREAD_RE.match(line)
            if m:
                path, length, off = m.group(1), int(m.group(2)), int(m.group(3))
            else:
                m = PREADV_RE.match(line)
                if not m:
                    continue
                path, off, length = m.group(1), int(m.group(2)), int(m.group(3))
            if os.path.basename(path) not in files:
                continue
            calls += 1
            key = (path, off, length)
            if key in seen:
                again += 1
            seen.add(key)
    os.unlink(log)
    return calls, again


def timed(spawn, out, argv):
    return float(spawn_fields(spawn, out, argv)[0][0])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(root, "build", "bench"))
    ap.add_argument("--vhdx", default=os.path.join(root, "build", "host", "vhdx"))
    ap.add_argument("--spawn", default=os.path.join(root, "build", "bench", "spawn"))
    ap.add_argument("--label", default="")
    ap.add_argument("--before", default="", help="another vhdx binary (an older build) to run alongside")
    args = ap.parse_args()
    d = os.path.join(os.path.abspath(args.dir), "mapper")
    os.makedirs(d, exist_ok=True)
    vhdx = os.path.abspath(args.vhdx)
    make_images(d, vhdx)
    chain_mib = sum(full + partial for full, partial in CHAIN_BLOCKS)
    cases = [("m1: 1 GiB, 1 MiB blocks", "m1.vhdx", ("m1.vhdx",), 128),
             ("chain: three levels, 64 MiB, 1 MiB blocks", "child.vhdx",
              ("child.vhdx", "mid.vhdx", "base.vhdx"), chain_mib)]
    print("## Source reads of a convert (make bench-mapper)%s" % (": " + args.label if args.label else ""))
    print()
    print("| image | tool | preads | re-reads | preads per MiB of data | wall s, median (min-max) | CPU s (user+sys), median |")
    print("|---|---|---|---|---|---|---|")
    for label, img, files, mib in cases:
        src = os.path.join(d, img)
        out = os.path.join(d, "out")
        outv = os.path.join(d, "out.vhdx")
        tools = {"vhdx convert -O raw": ([vhdx, "convert", "-q", "-O", "raw", src, out], out),
                 "vhdx convert -O vhdx": ([vhdx, "convert", "-q", "-O", "vhdx", src, outv], outv),
                 "qemu-img convert -O raw": (["qemu-img", "convert", "-f", "vhdx", "-O", "raw", src, out], out)}
        if args.before:
            old = os.path.abspath(args.before)
            tools["before: vhdx convert -O raw"] = ([old, "convert", "-q", "-O", "raw", src, out], out)
            tools["before: vhdx convert -O vhdx"] = ([old, "convert", "-q", "-O", "vhdx", src, outv], outv)
        if img == "child.vhdx":
            del tools["qemu-img convert -O raw"]  # QEMU reads no differencing VHDX
        counts = {}
        for t, (argv, o) in tools.items():
            remove(o)
            counts[t] = preads(argv, files, d)
            if "vhdx convert" in t:
                r = subprocess.run([vhdx, "compare", "-q", src, o])
                if r.returncode != 0:
                    sys.exit("bench: %s: the output differs from the source" % t)
            remove(o)
        walls = {t: [] for t in tools}
        cpus = {t: [] for t in tools}
        names = list(tools)
        for i in range(args.runs + 1):
            k = i % len(names)
            order = names[k:] + names[:k]
            for t in order:
                argv, o = tools[t]
                remove(o)
                os.sync()
                w = timed(args.spawn, o, argv)
                remove(o)
                c = sum(cpu_times(argv))
                if i:
                    walls[t].append(w)
                    cpus[t].append(c)
            remove(out)
            remove(outv)
        for t in names:
            calls, again = counts[t]
            xs = walls[t]
            print("| %s (%d MiB of data) | %s | %d | %d | %.1f | %.3f (%.3f-%.3f) | %.3f |" % (
                label, mib, t, calls, again, calls / mib, statistics.median(xs), min(xs), max(xs),
                statistics.median(cpus[t])))


if __name__ == "__main__":
    main()
