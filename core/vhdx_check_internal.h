/* SPDX-License-Identifier: MIT */
/*
 * vhdx_check_internal.h - private: the strict checker's state, shared by
 * its files.  Layers, each calling only the ones below it:
 *
 *   vhdx_check.c         entry points (vhdx_check, vhdx_probe)
 *   vhdx_check_head.c    the first MiB: file identifier, headers, region tables
 *   vhdx_check_meta.c    the metadata region and the parent locator
 *   vhdx_check_bat.c     the BAT walk, overlaps, what follows the image
 *   vhdx_check_report.c  findings: where/found text, listing, counting, withholding
 *   vhdx_decode.c        field parsers and reads, shared with the decoder (vhdx_open.c)
 */
#ifndef VHDX_CHECK_INTERNAL_H
#define VHDX_CHECK_INTERNAL_H

#include "vhdx_decode.h"
#include "vhdx_read.h"

#define RD_RULE_FINDINGS_MAX 16u /* findings listed per rule; the rest are counted */
#define RD_WINDOW_SIZE (32u * 1024u) /* [byte] small-read window at scratch + 64 KiB */

struct rd_ctx {
	const struct vhdx_source *src;
	uint8_t *scratch;
	size_t scratch_len;
	struct vhdx_info *info;
	vhdx_finding_fn fn;
	void *fn_ctx;
	char where[80];
	char found[128];
	uint16_t listed[VHDX_R_COUNT_]; /* findings listed per rule */
	uint32_t suppressed;     /* counted, not listed */
	uint32_t suppressed_errors;
	bool withhold;           /* findings are withheld, not reported (rd_withhold_) */
	uint32_t withheld;
	uint32_t withheld_errors;
	struct vhdx_window_ win;  /* small reads (rd_small_) */
};

/* Reads [off, off+len) into buf.  1: the range is not inside the source
 * (nothing read); 0: read; VHDX_ERR_IO.  off must be 4096-aligned. */
static inline int rd_read_(struct rd_ctx *c, uint64_t off, void *buf, size_t len)
{
	c->win.len = 0; /* buf may overlap the small-read window */
	return vhdx_source_read_(c->src, off, buf, len);
}

/* Small unaligned read through the window at scratch + 64 KiB; as rd_read_. */
static inline int rd_small_(struct rd_ctx *c, uint64_t off, void *buf, size_t len)
{
	return vhdx_window_read_(&c->win, off, buf, len);
}

/* False once a rule's findings are only counted (or withheld): skip
 * building their text. */
static inline bool rd_listing_(const struct rd_ctx *c, enum vhdx_rule rule)
{
	return !c->withhold && c->listed[rule] < RD_RULE_FINDINGS_MAX;
}

/* Reports a finding with c->where and c->found as they stand. */
void rd_report_(struct rd_ctx *c, enum vhdx_rule rule, uint64_t off);
/* Builders for c->where and c->found. */
void rd_where_(struct rd_ctx *c, const char *a, uint64_t n, const char *b);
void rd_found_(struct rd_ctx *c, const char *prefix, uint64_t v, bool hex);
void rd_found_more_(struct rd_ctx *c, const char *prefix, uint64_t v, bool hex);
void rd_found_str_(struct rd_ctx *c, const char *s, bool reset);
/* A signature as "text" with \xNN for other bytes (n <= 8). */
void rd_found_sig_(struct rd_ctx *c, const uint8_t *sig, size_t n);

/*
 * From rd_withhold_(c, true) until rd_withhold_(c, false), findings are
 * counted as withheld instead of being reported (and counted in info).
 * Ending it reports what was withheld as one VHDX_R_LOG_WITHHELD warning.
 */
void rd_withhold_(struct rd_ctx *c, bool on);
/* The closing finding for what was counted but not listed. */
void rd_report_suppressed_(struct rd_ctx *c);

/* The first MiB: File Type Identifier, headers, region tables
 * (vhdx_check_head.c).  0: go on; 1: nothing further can be read. */
int rd_file_identifier_(struct rd_ctx *c);
int rd_headers_(struct rd_ctx *c);
int rd_region_tables_(struct rd_ctx *c);
/* Metadata region: table, items, parent locator (vhdx_check_meta.c). */
int rd_metadata_(struct rd_ctx *c);
/* BAT walk, overlap check and the end of the image (vhdx_check_bat.c). */
int rd_bat_(struct rd_ctx *c);

#endif /* VHDX_CHECK_INTERNAL_H */
