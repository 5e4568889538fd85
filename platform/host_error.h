/* SPDX-License-Identifier: MIT */
/*
 * host_error.h - how the host command says that something failed: one line
 * on stderr, and the exit status (VHDX_EXIT_*, DESIGN.md) of a core error
 * (enum vhdx_err), by one table (host_error.c).
 */
#ifndef VHDX_HOST_ERROR_H
#define VHDX_HOST_ERROR_H

/* printf-style one-line error to stderr, "vhdx: " prefixed. */
void host_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status of a core error met in the writing work (an I/O error of
 * repair's replay): VHDX_OK 0; INVAL, RANGE, DEVFULL, UNSUPPORTED, CORRUPT 2
 * (refused: the core finds these before its first write); IO, NOSPACE,
 * STATE 1 (failed part-way, or by a fault of ours); ABORTED 1 (interrupted
 * by a signal); anything else 1. */
int host_exit_of(int err);

/* The exit status of a core error met while nothing is written: opening,
 * reading or checking a source, a parent or the target, planning.  2,
 * "could not run", whatever the error; but ABORTED 1 (interrupted), and
 * VHDX_OK 0. */
int host_exit_before_write(int err);

/* Says "out of memory" and returns its exit status: 2, could not run (every
 * allocation comes before the first write; a file created for the work is
 * removed by the caller's cleanup). */
int host_out_of_memory(void);

#endif /* VHDX_HOST_ERROR_H */
