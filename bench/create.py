#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/create.py - `vhdx create` against `qemu-img create -f vhdx`, side by side.

For every row (same image parameters for both tools) the two commands run
alternately, RUNS rounds at least (quick rows up to 3 x RUNS), the order
flipped on every round, so both see the same load.  Each timed run is measured from outside:

  wall      fork to exit of the command (bench/spawn.c, CLOCK_MONOTONIC)
  durable   wall + fsync(image) after the exit: qemu-img does not flush, we do
  RSS       ru_maxrss of the child from wait4 (peak resident set); spawned from
            a small static launcher, because a child's figure includes the
            resident set of whatever it was forked from (Python: ~15 MiB)
  dirtied   ru_oublock * 512 from the same rusage: bytes the child dirtied in
            the page cache or wrote with O_DIRECT (Linux task I/O accounting)
  allocated st_blocks * 512 of the image after the run and the fsync

Once per row and tool, an extra untimed run under `strace -ff -y` counts the
bytes passed to write(2)/pwrite(2)/pwritev(2) on the image file, and the
bytes allocated or zeroed with fallocate(2), without writing them.

Usage: bench/create.py [--runs N] [--dir DIR] [--vhdx PATH] [--spawn PATH]
                       [--json OUT] [--rows 0,3,...]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchlib import remove, fmt_range

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

# (label, type, virtual size, block size, dynamic blocks ZERO rather than
# NOT_PRESENT).  NOT_PRESENT is our default (and Hyper-V's); ZERO is
# qemu-img's (block_state_zero=on): each dynamic row runs both ways, each
# time with the same setting for both tools.
ROWS = []
for _size, _name in ((1 * GiB, "1 GiB"), (100 * GiB, "100 GiB"), (10 * TiB, "10 TiB"),
                     (64 * TiB, "64 TiB")):
    for _block in (32 * MiB, 1 * MiB):
        for _zero in (False, True):
            ROWS.append(("dynamic %s, %d MiB blocks, %s" % (
                _name, _block // MiB, "ZERO" if _zero else "NOT_PRESENT"),
                "dynamic", _size, _block, _zero))
ROWS.append(("fixed 1 GiB, 32 MiB blocks", "fixed", 1 * GiB, 32 * MiB, False))
ROWS.append(("fixed 8 GiB, 32 MiB blocks", "fixed", 8 * GiB, 32 * MiB, False))


def cmd_vhdx(vhdx, kind, size, block, zero, target):
    # physical sector 512: qemu-img always writes 512 (it has no option)
    return [vhdx, "create", "-q", "-t", kind, "-s", str(size), "-b", str(block),
            "--logical-sector-size", "512", "--physical-sector-size", "512",
            "--log-size", str(MiB)] + (["--zero-blocks"] if zero else []) + [target]


def cmd_qemu(kind, size, block, zero, target):
    # qemu-img's defaults are 512/512 sectors and a 1 MiB log, like the
    # above; the block size is given because qemu picks its own by size.
    opts = "block_size=%d,log_size=%d,subformat=%s,block_state_zero=%s" % (
        block, MiB, kind, "on" if zero else "off")
    return ["qemu-img", "create", "-q", "-f", "vhdx", "-o", opts, target, str(size)]


def run_timed(spawn, argv, target):
    """One timed run through bench/spawn.c; returns a dict of measurements."""
    out = subprocess.run([spawn, target] + argv, check=True, stdout=subprocess.PIPE,
                         text=True).stdout.split()
    wall, durable, rss, dirtied, allocated, size = out
    return {"wall": float(wall), "durable": float(durable), "rss_kib": int(rss),
            "dirtied": int(dirtied), "allocated": int(allocated), "size": int(size)}


WRITE_RE = re.compile(r"^(write|pwrite64|pwritev|pwritev2|writev)\((\d+)<([^>]*)>.*\)\s+=\s+(\d+)")
FALLOC_RE = re.compile(r"^fallocate\((\d+)<([^>]*)>, ([^,]+), (\d+), (\d+)\)\s+=\s+0")


def run_traced(argv, target, tmp):
    """Bytes written and bytes fallocated on the target, from strace -ff."""
    prefix = os.path.join(tmp, "trace")
    subprocess.run(["strace", "-ff", "-y", "-qq", "-o", prefix, "-e",
                    "trace=write,pwrite64,pwritev,pwritev2,writev,fallocate", "-e", "signal=none"]
                   + argv, check=True)
    real = os.path.realpath(target)
    written = calls = fallocated = 0
    for name in os.listdir(tmp):
        if not name.startswith("trace."):
            continue
        with open(os.path.join(tmp, name), errors="replace") as f:
            for line in f:
                m = WRITE_RE.match(line)
                if m and m.group(3) == real:
                    written += int(m.group(4))
                    calls += 1
                    continue
                m = FALLOC_RE.match(line)
                if m and m.group(2) == real:
                    fallocated += int(m.group(5))
        os.unlink(os.path.join(tmp, name))
    return {"written": written, "write_calls": calls, "fallocated": fallocated}


def fmt_mib(n):
    if n < MiB:
        return "%.0f KiB" % (n / KiB) if n else "0"
    return "%.1f MiB" % (n / MiB)


def fmt_rss(xs):
    return fmt_range(xs, scale=1024, digits=1)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(root, "build", "bench"))
    ap.add_argument("--vhdx", default=os.path.join(root, "build", "host", "vhdx"))
    ap.add_argument("--spawn", default=os.path.join(root, "build", "bench", "spawn"))
    ap.add_argument("--json")
    ap.add_argument("--rows", help="comma-separated row numbers (0-based)")
    args = ap.parse_args()
    for tool in ("qemu-img", "strace"):
        if not shutil.which(tool):
            sys.exit("bench: %s not found (make deps)" % tool)
    os.makedirs(args.dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="create.", dir=args.dir)
    target = os.path.join(work, "image.vhdx")
    rows = ROWS
    if args.rows:
        rows = [ROWS[int(i)] for i in args.rows.split(",")]
    load = [os.getloadavg()[0]]
    results = []
    for label, kind, size, block, zero in rows:
        argvs = {"vhdx": cmd_vhdx(args.vhdx, kind, size, block, zero, target),
                 "qemu-img": cmd_qemu(kind, size, block, zero, target)}
        runs = {"vhdx": [], "qemu-img": []}
        # at least RUNS rounds; quick rows (both in tens of ms, where a
        # loaded machine's noise is of the same order) get up to 3 x RUNS
        # within about 2 s of measured time
        i, spent = 0, 0.0
        while i < args.runs or (i < 3 * args.runs and spent < 2.0):
            order = ("vhdx", "qemu-img") if i % 2 == 0 else ("qemu-img", "vhdx")
            for tool in order:
                remove(target)
                os.sync()
                runs[tool].append(run_timed(args.spawn, argvs[tool], target))
                spent += runs[tool][-1]["durable"]
            i += 1
        traced = {}
        for tool in ("vhdx", "qemu-img"):
            remove(target)
            traced[tool] = run_traced(argvs[tool], target, work)
        remove(target)
        os.sync()
        load.append(os.getloadavg()[0])
        row = {"label": label, "type": kind, "size": size, "block": block, "zero": zero}
        for tool in ("vhdx", "qemu-img"):
            row[tool] = {"argv": argvs[tool], "runs": runs[tool], **traced[tool]}
        results.append(row)
        print("bench: %-46s vhdx %6.3f s, qemu-img %6.3f s" % (
            label, statistics.median(r["wall"] for r in runs["vhdx"]),
            statistics.median(r["wall"] for r in runs["qemu-img"])), file=sys.stderr)
    shutil.rmtree(work)

    print("| image | tool | runs | wall s, median (min-max) | until durable s | peak RSS MiB | "
          "written (write calls) | fallocated | dirtied | allocated | file size |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        for tool in ("vhdx", "qemu-img"):
            r = row[tool]
            rs = r["runs"]
            print("| %s | %s | %d | %s | %s | %s | %s (%d) | %s | %s | %s | %s |" % (
                row["label"] if tool == "vhdx" else "", tool, len(rs),
                fmt_range([x["wall"] for x in rs]),
                fmt_range([x["durable"] for x in rs]),
                fmt_rss([x["rss_kib"] for x in rs]),
                fmt_mib(r["written"]), r["write_calls"], fmt_mib(r["fallocated"]),
                fmt_mib(statistics.median(x["dirtied"] for x in rs)),
                fmt_mib(statistics.median(x["allocated"] for x in rs)),
                fmt_mib(rs[-1]["size"])))
    print()
    print("%d to %d runs per tool and row, alternating; load average (1 min) %.2f at the start, "
          "%.2f-%.2f during, %s on %d CPUs" % (
              args.runs, 3 * args.runs, load[0], min(load), max(load), os.uname().release, os.cpu_count()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load": load, "rows": results}, f, indent=1)


if __name__ == "__main__":
    main()
