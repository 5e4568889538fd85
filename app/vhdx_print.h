/* SPDX-License-Identifier: MIT */
/*
 * vhdx_print.h - an image's check as text, identical in both frontends:
 * struct vhdx_info as human lines or one JSON object, a finding as one
 * line, a chain's lines, the closing line of `check`.
 */
#ifndef VHDX_PRINT_H
#define VHDX_PRINT_H

#include "vhdx_chain.h"

/* A line of text without its newline; valid only during the call. */
typedef void (*vhdx_line_fn)(void *ctx, const char *line);

/*
 * vhdx_info_print - render info as human-readable lines, or as one JSON
 * object (stable keys, several lines).
 */
void vhdx_info_print(const struct vhdx_info *info, bool json, vhdx_line_fn line, void *ctx);

/* "VHDX (dynamic, 64 GiB)" or "not a VHDX"; returns the length. */
size_t vhdx_info_summary(const struct vhdx_info *info, char *buf, size_t len);

/*
 * vhdx_finding_to_text - one line:
 * "error: header 1 @0x10004: <rule text>: found <value> (hdr.checksum)".
 * Returns the length (the text is cut to fit, always NUL-terminated).
 */
size_t vhdx_finding_to_text(const struct vhdx_finding *f, char *buf, size_t len);

/* The chain's verdict in words ("complete", "parent absent", ...). */
const char *vhdx_chain_verdict_name(enum vhdx_chain_verdict v);
/* "VHDX (dynamic, 1 GiB)"; returns the length. */
size_t vhdx_disk_summary(const struct vhdx_disk *d, char *buf, size_t len);

/*
 * vhdx_chain_print - the chain of a differencing disk as `info` shows it:
 * "parent chain:" and one line per level, or (@json) the "parent_chain"
 * member of info's object (@last: no comma after it).  Nothing for a disk
 * that is not differencing.
 */
void vhdx_chain_print(const struct vhdx_chain *chain, bool json, bool last, vhdx_line_fn line,
		      void *ctx);

/* The closing line of `check`: "NAME: VHDX (dynamic, 1 GiB): 0 errors,
 * 1 warning" (a NAME ending in ':' takes no second one).  Returns the length. */
size_t vhdx_check_line(const char *name, const struct vhdx_info *info, char *buf, size_t len);

/* vhdx_info_print with the chain (may be NULL) in it: its lines after the
 * rest, or its member in the JSON object. */
void vhdx_info_print_chain(const struct vhdx_info *info, const struct vhdx_chain *chain, bool json,
			   vhdx_line_fn line, void *ctx);

#endif /* VHDX_PRINT_H */
