/* SPDX-License-Identifier: MIT */
/*
 * host_error.c - the host command's error line and its exit statuses: the
 * only place a core error (enum vhdx_err) becomes one.  The statuses are
 * DESIGN.md's: 0 done; 1 the work failed part-way (I/O error, interrupted)
 * or, for check, errors found; 2 bad invocation, refused target or could
 * not run (nothing written).
 */
#include <stdarg.h>
#include <stdio.h>

#include "host.h"

/* [-err] = { once a target is open for writing, while nothing is written } */
static const unsigned char host_exit_table[][2] = {
	[-VHDX_OK]              = { VHDX_EXIT_OK, VHDX_EXIT_OK },
	[-VHDX_ERR_NOSPACE]     = { VHDX_EXIT_FAILED, VHDX_EXIT_USAGE }, /* our buffer too small */
	[-VHDX_ERR_INVAL]       = { VHDX_EXIT_USAGE, VHDX_EXIT_USAGE },  /* checked before any write */
	[-VHDX_ERR_RANGE]       = { VHDX_EXIT_USAGE, VHDX_EXIT_USAGE },  /* a value VHDX cannot hold */
	[-VHDX_ERR_DEVFULL]     = { VHDX_EXIT_USAGE, VHDX_EXIT_USAGE },  /* does not fit */
	[-VHDX_ERR_IO]          = { VHDX_EXIT_FAILED, VHDX_EXIT_USAGE }, /* errno in the ctx */
	[-VHDX_ERR_STATE]       = { VHDX_EXIT_FAILED, VHDX_EXIT_USAGE }, /* out of sequence: ours */
	[-VHDX_ERR_CORRUPT]     = { VHDX_EXIT_USAGE, VHDX_EXIT_USAGE },  /* not a consistent VHDX */
	[-VHDX_ERR_UNSUPPORTED] = { VHDX_EXIT_USAGE, VHDX_EXIT_USAGE },  /* valid, not ours to do */
	[-VHDX_ERR_ABORTED]     = { VHDX_EXIT_FAILED, VHDX_EXIT_FAILED }, /* a signal */
};

enum { IN_WORK, BEFORE_WRITE };

static int exit_of(int err, int when)
{
	if (err > 0 || (unsigned)-err >= sizeof(host_exit_table) / sizeof(host_exit_table[0]))
		return VHDX_EXIT_FAILED;
	return host_exit_table[-err][when];
}

int host_exit_of(int err)
{
	return exit_of(err, IN_WORK);
}

int host_exit_before_write(int err)
{
	return exit_of(err, BEFORE_WRITE);
}

void host_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vhdx: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int host_out_of_memory(void)
{
	host_error("out of memory");
	return VHDX_EXIT_USAGE;
}
