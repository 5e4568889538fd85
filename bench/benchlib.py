# SPDX-License-Identifier: MIT
"""bench/benchlib.py - what the Python benches share: running a command,
timing it through bench/spawn.c, its CPU time, removing an output, and the
table's "median (min-max)" cells."""

import os
import statistics
import subprocess
import sys


def run(argv, **kw):
    """argv run to completion; a failure ends the bench (CalledProcessError)."""
    return subprocess.run(argv, check=True, **kw)


def spawn_fields(spawn, out, argv, check=True):
    """One run of argv through bench/spawn.c, which measures it and then
    stats OUT: its fields (wall s, durable s, peak RSS KiB, ...) as strings,
    and the exit status.  check=True ends the bench on a failed run."""
    res = subprocess.run([spawn, out] + argv, stdout=subprocess.PIPE, text=True)
    if check and res.returncode != 0:
        sys.exit("bench: %s failed" % " ".join(argv))
    return res.stdout.split(), res.returncode


def cpu_times(argv, check=True):
    """(user, system) CPU seconds of one run of argv, stdout discarded, by
    wait4 (so not disturbed by another run's RSS)."""
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    if check and status:
        sys.exit("bench: %s failed" % " ".join(argv))
    return ru.ru_utime, ru.ru_stime


def remove(path):
    """path unlinked if it exists (None: nothing)."""
    if not path:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def fmt_range(xs, scale=1.0, digits=3):
    """'median (min-max)' of xs divided by scale."""
    f = "%%.%df" % digits
    return (f + " (" + f + "-" + f + ")") % (statistics.median(xs) / scale, min(xs) / scale,
                                            max(xs) / scale)
