#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/convert.py - `vhdx convert -O raw` and `vhdx compare` against qemu-img, side by side.

Images (made once in DIR/convert, reused while their stamp matches):

  d32   dynamic VHDX, 4 GiB virtual, 32 MiB blocks, 13 of 128 blocks (10%)
        written whole with random data, at seeded random places
  d1    dynamic VHDX, 4 GiB virtual, 1 MiB blocks, 410 of 4096 blocks (10%)
  each with its equivalent raw file (qemu-img convert -O raw: sparse)
  big   dynamic VHDX, 64 TiB virtual, 1 MiB blocks (a 513 MiB BAT), 8 blocks
        written: only the peak RSS of the convert is of interest
  full  dynamic VHDX, 256 MiB, 1 MiB blocks, every block written (callgrind)
  fullz the same, every block written with zeros (stored: vhdx_is_zero scans it all)

All made with `qemu-img create -f vhdx` and `qemu-io -c "write -s RANDOM ..."`.

Convert rows: `vhdx convert -q -O raw IMG out`, `qemu-img convert -f vhdx -O raw IMG out`
and `cp --sparse=always EQUIVALENT.raw out` (the copy limit), one uncounted warm-up
round, then RUNS rounds, the order rotated every round; out removed and `sync` before
each run (untimed). Measured by bench/spawn (wall: fork to exit; durable: + fsync(out);
peak RSS of the child).  The outputs of the three are compared with cmp once.
Compare rows: `vhdx compare -q IMG EQUIVALENT.raw` against
`qemu-img compare -q -f vhdx -F raw IMG EQUIVALENT.raw`, same scheme.
One extra untimed run of each convert under `strace -f -c` gives syscalls per MiB,
and one under wait4 from here gives user and system CPU time.
Core cost: `valgrind --tool=callgrind` of `vhdx convert` on `full`, inclusive
instructions per MiB of the disk for vhdx_read_at, vhdx_map, vhdx_is_zero.

raw -> VHDX rows (issue 13), on the raw equivalents of d32 and d1 (4 GiB, sparse,
scattered random data), all with 32 MiB blocks:
  `vhdx convert -q -O vhdx -b 32M RAW out.vhdx` against
  `qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=33554432 RAW out.vhdx`
  and `cp --sparse=always RAW out.raw` (the copy limit); `-t fixed` against
  `-o subformat=fixed,block_size=33554432`.  Same scheme (warm-up, rotated rounds,
  outputs removed and `sync` before each run); columns from bench/spawn (wall,
  peak RSS, the output's apparent and allocated size), bytes written = the sum of
  what write, pwrite64, pwritev and copy_file_range returned in one untimed
  `strace -f` run.  Every output is compared once with RAW (`vhdx compare`); ours
  also pass `vhdx check` (qemu-img's fail it by design: regions not Required).

Usage: bench/convert.py [--runs N] [--dir DIR] [--vhdx PATH] [--spawn PATH]
                        [--big-timeout S] [--keep]
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys

from benchlib import run, spawn_fields, cpu_times, remove, fmt_range

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

IMAGES = {
    # name: (virtual size, block size, blocks written, label)
    "d32": (4 * GiB, 32 * MiB, 13, "dynamic 4 GiB, 32 MiB blocks, 13/128 written (416 MiB)"),
    "d1": (4 * GiB, 1 * MiB, 410, "dynamic 4 GiB, 1 MiB blocks, 410/4096 written (410 MiB)"),
    "full": (256 * MiB, 1 * MiB, 256, "dynamic 256 MiB, 1 MiB blocks, all written (random)"),
    "fullz": (256 * MiB, 1 * MiB, 256, "dynamic 256 MiB, 1 MiB blocks, all written (zeros)"),
    "big": (64 * TiB, 1 * MiB, 8, "dynamic 64 TiB, 1 MiB blocks, 8 written"),
}
STAMP = "convert-images v2"


def make_images(d):
    stamp = os.path.join(d, "stamp")
    if os.path.exists(stamp) and open(stamp).read() == STAMP and all(
            os.path.exists(os.path.join(d, n + ".vhdx")) for n in IMAGES):
        return
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    rng = random.Random(12)
    pats = []
    for i in range(4):  # a few distinct random patterns, 32 MiB each
        p = os.path.join(d, "pattern%d" % i)
        with open(p, "wb") as f:
            f.write(os.urandom(32 * MiB))
        pats.append(p)
    for name, (size, block, nwritten, _) in IMAGES.items():
        img = os.path.join(d, name + ".vhdx")
        run(["qemu-img", "create", "-q", "-f", "vhdx", "-o",
             "block_size=%d,subformat=dynamic" % block, img, str(size)])
        nblocks = size // block
        if name == "big":
            picks = sorted(rng.sample(range(nblocks), nwritten))
        else:
            picks = sorted(rng.sample(range(nblocks), nwritten))
        cmds = []
        for k, b in enumerate(picks):
            src = "-P 0" if name == "fullz" else "-s " + pats[k % len(pats)]
            cmds += ["-c", "write -q %s %d %d" % (src, b * block, block)]
        for i in range(0, len(cmds), 200):
            run(["qemu-io", "-f", "vhdx"] + cmds[i:i + 200] + [img], stdout=subprocess.DEVNULL)
        if name in ("d32", "d1"):
            run(["qemu-img", "convert", "-f", "vhdx", "-O", "raw", img,
                 os.path.join(d, name + ".raw")])
    for p in pats:
        os.unlink(p)
    with open(stamp, "w") as f:
        f.write(STAMP)


SYSCALL_RE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$")


def syscalls(argv, tmpdir):
    """{syscall: calls} over all threads, from strace -f -c."""
    log = os.path.join(tmpdir, "strace.out")
    subprocess.run(["strace", "-f", "-c", "-o", log] + argv, check=True,
                   stdout=subprocess.DEVNULL)
    counts = {}
    with open(log) as f:
        for line in f:
            m = SYSCALL_RE.match(line)
            if m and m.group(2) != "total":
                counts[m.group(2)] = int(m.group(1))
    os.unlink(log)
    return counts


WRITE_RE = re.compile(r"(?:^|\s)(write|pwrite64|pwritev|pwritev2|writev|copy_file_range)"
                      r"(?:\(| resumed>).*=\s+(\d+)\s*$")


def write_bytes(argv, tmpdir):
    """bytes the command's write calls returned (all threads), from strace -f"""
    log = os.path.join(tmpdir, "strace-w.out")
    subprocess.run(["strace", "-f", "-e", "trace=write,pwrite64,pwritev,pwritev2,writev,copy_file_range",
                    "-o", log] + argv, check=True, stdout=subprocess.DEVNULL)
    total = 0
    with open(log) as f:
        for line in f:
            m = WRITE_RE.search(line)
            if m:
                total += int(m.group(2))
    os.unlink(log)
    return total


def alternate_outs(spawn, argvs, outs, runs):
    """as alternate(), each tool with its own output; {tool: [(wall, durable, rss KiB, alloc, size)]}"""
    tools = list(argvs)
    res = {t: [] for t in tools}
    for i in range(runs + 1):
        k = i % len(tools)
        order = tools[k:] + tools[:k]
        if i % 2:
            order.reverse()
        for t in order:
            for o in set(outs.values()):
                remove(o)
            os.sync()
            r = subprocess.run([spawn, outs[t]] + argvs[t], stdout=subprocess.PIPE, text=True)
            if r.returncode != 0:
                sys.exit("bench: %s failed" % " ".join(argvs[t]))
            f = r.stdout.split()
            if i:
                res[t].append((float(f[0]), float(f[1]), int(f[2]), int(f[4]), int(f[5])))
    for o in set(outs.values()):
        remove(o)
    return res


def timed(spawn, out, argv):
    f, _ = spawn_fields(spawn, out, argv)
    return float(f[0]), float(f[1]), int(f[2])


def fmt_t(xs):
    return fmt_range(xs)


def fmt_rss(xs):
    return fmt_range(xs, scale=1024, digits=1)


def alternate(spawn, argvs, out, runs, check_file):
    """one warm-up round, then RUNS rounds with the order rotated; {tool: [(wall, durable, rss)]}"""
    tools = list(argvs)
    res = {t: [] for t in tools}
    for i in range(runs + 1):
        k = i % len(tools)
        order = tools[k:] + tools[:k]
        if i % 2:
            order.reverse()
        for t in order:
            remove(out)
            os.sync()
            r = timed(spawn, out if out else check_file, argvs[t])
            if i:
                res[t].append(r)
    remove(out)
    return res


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(root, "build", "bench"))
    ap.add_argument("--vhdx", default=os.path.join(root, "build", "host", "vhdx"))
    ap.add_argument("--spawn", default=os.path.join(root, "build", "bench", "spawn"))
    ap.add_argument("--big-timeout", type=int, default=120)
    ap.add_argument("--keep", action="store_true", help="keep the images for the next run")
    args = ap.parse_args()
    for tool in ("qemu-img", "qemu-io", "strace", "valgrind", "callgrind_annotate", "cmp"):
        if not shutil.which(tool):
            sys.exit("bench: %s not found (make deps)" % tool)
    d = os.path.join(args.dir, "convert")
    os.makedirs(d, exist_ok=True)
    print("bench: making images in %s" % d, file=sys.stderr)
    make_images(d)
    vhdx = os.path.abspath(args.vhdx)
    out = os.path.join(d, "out.raw")
    load = [os.getloadavg()[0]]

    conv_rows, cmp_rows, extra = [], [], {}
    for name in ("d32", "d1"):
        img, raw = os.path.join(d, name + ".vhdx"), os.path.join(d, name + ".raw")
        argvs = {"vhdx convert": [vhdx, "convert", "-q", "-O", "raw", img, out],
                 "qemu-img convert": ["qemu-img", "convert", "-f", "vhdx", "-O", "raw", img, out],
                 "cp --sparse=always": ["cp", "--sparse=always", raw, out]}
        # the three outputs equal (once)
        outs = []
        for t, a in argvs.items():
            remove(out)
            run(a)
            keep = os.path.join(d, "out.%d" % len(outs))
            os.rename(out, keep)
            outs.append(keep)
        same = all(subprocess.run(["cmp", "-s", outs[0], o]).returncode == 0 for o in outs[1:])
        same = same and subprocess.run(["cmp", "-s", outs[0], raw]).returncode == 0
        alloc = [os.stat(o).st_blocks * 512 for o in outs]
        for o in outs:
            remove(o)
        if not same:
            sys.exit("bench: outputs of %s differ" % name)
        res = alternate(args.spawn, argvs, out, args.runs, None)
        info = {}
        for t, a in argvs.items():
            remove(out)
            info[t] = {"sys": syscalls(a, d)}
            remove(out)
            info[t]["cpu"] = cpu_times(a, check=False)
        remove(out)
        conv_rows.append((name, res, alloc, info))
        load.append(os.getloadavg()[0])
        print("bench: %s convert %s" % (name, ", ".join(
            "%s %.3f s" % (t, statistics.median(x[0] for x in r)) for t, r in res.items())),
            file=sys.stderr)
        argvs = {"vhdx compare": [vhdx, "compare", "-q", img, raw],
                 "qemu-img compare": ["qemu-img", "compare", "-q", "-f", "vhdx", "-F", "raw", img, raw]}
        res = alternate(args.spawn, argvs, None, args.runs, raw)
        cmp_rows.append((name, res))
        load.append(os.getloadavg()[0])

    # raw -> VHDX (issue 13): 32 MiB blocks for both tools
    vx_rows = []
    for name in ("d32", "d1"):
        raw = os.path.join(d, name + ".raw")
        outv, outr = os.path.join(d, "out.vhdx"), os.path.join(d, "out.raw")
        argvs = {
            "vhdx convert": [vhdx, "convert", "-q", "-O", "vhdx", "-b", "32M", raw, outv],
            "qemu-img convert": ["qemu-img", "convert", "-f", "raw", "-O", "vhdx", "-o",
                                 "subformat=dynamic,block_size=33554432", raw, outv],
            "cp --sparse=always": ["cp", "--sparse=always", raw, outr],
            "vhdx convert -t fixed": [vhdx, "convert", "-q", "-O", "vhdx", "-t", "fixed", "-b", "32M", raw, outv],
            "qemu-img convert fixed": ["qemu-img", "convert", "-f", "raw", "-O", "vhdx", "-o",
                                       "subformat=fixed,block_size=33554432", raw, outv],
        }
        outs = {t: outr if t.startswith("cp") else outv for t in argvs}
        info = {}
        for t, a in argvs.items():
            remove(outs[t])
            run(a)
            if t != "cp --sparse=always":
                # qemu-img's output fails our check by design (BAT and metadata
                # regions not Required, issue 13): its content is compared only
                checks = [[vhdx, "compare", "-q", outv, raw]]
                if t.startswith("vhdx"):
                    checks.append([vhdx, "check", outv])
                for check in checks:
                    if subprocess.run(check, stdout=subprocess.DEVNULL).returncode != 0:
                        sys.exit("bench: %s: %s fails on its output" % (t, " ".join(check[:2])))
            remove(outs[t])
            info[t] = {"wbytes": write_bytes(a, d)}
            remove(outs[t])
            info[t]["sys"] = syscalls(a, d)
            remove(outs[t])
            info[t]["cpu"] = cpu_times(a, check=False)
            remove(outs[t])
        res = alternate_outs(args.spawn, argvs, outs, args.runs)
        vx_rows.append((name, res, info))
        load.append(os.getloadavg()[0])
        print("bench: %s raw -> vhdx %s" % (name, ", ".join(
            "%s %.3f s" % (t, statistics.median(x[0] for x in r)) for t, r in res.items())), file=sys.stderr)

    # 64 TiB: peak RSS; the target on tmpfs (ext4 files end at 16 TiB)
    big = os.path.join(d, "big.vhdx")
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else d
    bout = os.path.join(shm, "vhdx-bench-big.raw")
    bigres = {}
    for t, a in (("vhdx convert", [vhdx, "convert", "-q", "-O", "raw", big, bout]),
                 ("qemu-img convert", ["timeout", str(args.big_timeout), "qemu-img", "convert",
                                       "-f", "vhdx", "-O", "raw", big, bout])):
        remove(bout)
        r = subprocess.run([args.spawn, bout] + a, stdout=subprocess.PIPE, text=True)
        bigres[t] = tuple(map(float, r.stdout.split()[:3])) if r.returncode == 0 else None
        if bigres[t] is None and t.startswith("qemu"):
            # killed by the timeout: its RSS so far from a second run watched from here
            remove(bout)
            p = subprocess.Popen(a[2:], stdout=subprocess.DEVNULL)
            try:
                p.wait(args.big_timeout)
            except subprocess.TimeoutExpired:
                try:
                    with open("/proc/%d/status" % p.pid) as f:
                        hwm = [l for l in f if l.startswith("VmHWM")][0].split()[1]
                    extra["qemu_big_hwm"] = int(hwm)
                except (OSError, IndexError):
                    pass
                p.kill()
                p.wait()
        remove(bout)
    load.append(os.getloadavg()[0])

    # core cost: callgrind on the all-data images (user space; the kernel's copy is sys time)
    cost = {}
    for name in ("full", "fullz"):
        cg = os.path.join(d, "callgrind.out")
        remove(out)
        argv = [vhdx, "convert", "-q", "-O", "raw", os.path.join(d, name + ".vhdx"), out]
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg] + argv,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remove(out)
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", cg],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        total, incl = None, {}
        for line in ann.splitlines():
            m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?PROGRAM TOTALS", line)
            if m:
                total = int(m.group(1).replace(",", ""))
            m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\S*:(\w+)(?:\.\w+)* \[", line)
            if m and m.group(2) not in incl:
                incl[m.group(2)] = int(m.group(1).replace(",", ""))
        remove(cg)
        cpu = []
        for _ in range(3):
            remove(out)
            cpu.append(cpu_times(argv, check=False))
        remove(out)
        cost[name] = (total, incl, min(c[0] for c in cpu), min(c[1] for c in cpu))

    # output
    print("| image | command | runs | wall s, median (min-max) | until durable s | peak RSS MiB | "
          "user+sys CPU s | syscalls (per MiB of data) | output allocated |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, res, alloc, info in conv_rows:
        data = IMAGES[name][2] * IMAGES[name][1] / MiB
        for k, (t, rs) in enumerate(res.items()):
            sc = info[t]["sys"]
            n = sum(sc.values())
            top = sorted(sc.items(), key=lambda x: -x[1])[:3]
            print("| %s | %s | %d | %s | %s | %s | %.2f+%.2f | %d (%.1f): %s | %.0f MiB |" % (
                IMAGES[name][3] if k == 0 else "", t, len(rs),
                fmt_t([x[0] for x in rs]), fmt_t([x[1] for x in rs]),
                fmt_rss([x[2] for x in rs]), info[t]["cpu"][0], info[t]["cpu"][1],
                n, n / data, " ".join("%s %d" % kv for kv in top), alloc[k] / MiB))
        med = {t: statistics.median(x[0] for x in rs) for t, rs in res.items()}
        print("| | ratios | | vhdx is %.2fx qemu-img's speed, %.2fx the copy limit's time | | | | | |" % (
            med["qemu-img convert"] / med["vhdx convert"], med["vhdx convert"] / med["cp --sparse=always"]))
    print()
    print("| image | command | runs | wall s, median (min-max) | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for name, res in cmp_rows:
        for k, (t, rs) in enumerate(res.items()):
            print("| %s | %s | %d | %s | %s |" % (IMAGES[name][3] if k == 0 else "", t, len(rs),
                                                 fmt_t([x[0] for x in rs]), fmt_rss([x[2] for x in rs])))
    print()
    print("raw -> VHDX, 32 MiB blocks for every tool:")
    print()
    print("| raw source | command | runs | wall s, median (min-max) | until durable s | peak RSS MiB | "
          "user+sys CPU s | bytes written MiB | output size MiB | output allocated MiB | syscalls (top 3) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, res, info in vx_rows:
        for k, (t, rs) in enumerate(res.items()):
            sc = info[t]["sys"]
            top = sorted(sc.items(), key=lambda x: -x[1])[:3]
            print("| %s | %s | %d | %s | %s | %s | %.2f+%.2f | %.0f | %.0f | %.0f | %d: %s |" % (
                IMAGES[name][3].replace("dynamic", "raw equivalent of the") if k == 0 else "", t, len(rs),
                fmt_t([x[0] for x in rs]), fmt_t([x[1] for x in rs]), fmt_rss([x[2] for x in rs]),
                info[t]["cpu"][0], info[t]["cpu"][1], info[t]["wbytes"] / MiB,
                statistics.median(x[4] for x in rs) / MiB, statistics.median(x[3] for x in rs) / MiB,
                sum(sc.values()), " ".join("%s %d" % kv for kv in top)))
        med = {t: statistics.median(x[0] for x in rs) for t, rs in res.items()}
        size = {t: (statistics.median(x[4] for x in rs), statistics.median(x[3] for x in rs)) for t, rs in res.items()}
        print("| | ratios | | dynamic: vhdx is %.2fx qemu-img's speed, %.2fx the copy limit's time; "
              "fixed: %.2fx qemu-img's speed; output vs qemu-img's: dynamic %.2fx size %.2fx allocated, "
              "fixed %.2fx size %.2fx allocated | | | | | | | | |" % (
                  med["qemu-img convert"] / med["vhdx convert"], med["vhdx convert"] / med["cp --sparse=always"],
                  med["qemu-img convert fixed"] / med["vhdx convert -t fixed"],
                  size["vhdx convert"][0] / size["qemu-img convert"][0],
                  size["vhdx convert"][1] / max(1, size["qemu-img convert"][1]),
                  size["vhdx convert -t fixed"][0] / size["qemu-img convert fixed"][0],
                  size["vhdx convert -t fixed"][1] / max(1, size["qemu-img convert fixed"][1])))
    print()
    print("%s, target on %s:" % (IMAGES["big"][3], shm))
    for t, r in bigres.items():
        if r:
            print("  %-17s wall %.3f s, peak RSS %.1f MiB" % (t, r[0], r[2] / 1024))
        else:
            hwm = extra.get("qemu_big_hwm")
            print("  %-17s did not finish within %d s (timeout)%s" % (
                t, args.big_timeout, ", peak RSS %.1f MiB by then" % (hwm / 1024) if hwm else ""))
    print()
    for name, (total, incl, ut, st) in cost.items():
        mib = IMAGES[name][0] / MiB
        print("core cost, vhdx convert of %s (callgrind, user space; CPU: best of 3 runs):" % IMAGES[name][3])
        print("  total %s Ir, %.0f per MiB; user %.3f s, sys %.3f s (%.2f ms per MiB in the kernel)" % (
            format(total or 0, ","), (total or 0) / mib, ut, st, st * 1000 / mib))
        for fn in ("vhdx_disk_open", "vhdx_crc32c", "vhdx_read_at", "vhdx_map", "vhdx_is_zero",
                   "host_disk_read", "posix_write"):
            if fn in incl:
                print("  %-20s %15s Ir inclusive, %9.0f per MiB" % (fn, format(incl[fn], ","), incl[fn] / mib))
        print()
    print("%d runs per command and row after one uncounted warm-up, order rotated each round; "
          "load average (1 min) %.2f at the start, %.2f-%.2f during, %s on %d CPUs" % (
              args.runs, load[0], min(load), max(load), os.uname().release, os.cpu_count()))
    if not args.keep:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
