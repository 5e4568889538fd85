/* SPDX-License-Identifier: MIT */
/* vhdx_describe.h - a plan as text lines, identical in both frontends. */
#ifndef VHDX_DESCRIBE_H
#define VHDX_DESCRIBE_H

#include "vhdx.h"

#define VHDX_DESCRIBE_LINE_MAX 512 /* [byte] longest line passed to the callback */

/* The equivalent command line, every default spelled out (@parent: the
 * --parent argument of a differencing image, or NULL).  Returns its length. */
size_t vhdx_plan_command_line(const struct vhdx_plan *plan, const char *target, const char *parent,
			      char *buf, size_t len);

/* Calls line() once per line (no trailing newline). */
void vhdx_plan_print(const struct vhdx_plan *plan, const char *target,
		     void (*line)(void *ctx, const char *text), void *ctx);
/* The same, naming the --parent argument in the command line. */
void vhdx_plan_print_ex(const struct vhdx_plan *plan, const char *target, const char *parent,
			void (*line)(void *ctx, const char *text), void *ctx);

#endif /* VHDX_DESCRIBE_H */
