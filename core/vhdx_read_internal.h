/* SPDX-License-Identifier: MIT */
/* vhdx_read_internal.h - state shared by the reader's files (vhdx_read*.c, vhdx_check*.c). */
#ifndef VHDX_READ_INTERNAL_H
#define VHDX_READ_INTERNAL_H

#include "vhdx_internal.h"
#include "vhdx_read.h"

#define RD_SECTOR 4096u  /* every read is aligned to this */
#define RD_RULE_FINDINGS_MAX 16u /* findings listed per rule; the rest are counted */

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
	uint64_t win_start;      /* small-read window at scratch + 64 KiB ... */
	uint64_t win_len;        /* ... holds these bytes; 0: nothing */
};

/* Reads [off, off+len) into buf.  1: the range is not inside the source
 * (nothing read); 0: read; VHDX_ERR_IO.  off must be 4096-aligned. */
int rd_read_(struct rd_ctx *c, uint64_t off, void *buf, size_t len);
/* Small unaligned read through the window at scratch + 64 KiB (<= 4 KiB). */
int rd_small_(struct rd_ctx *c, uint64_t off, void *buf, size_t len);

/* False once a rule's findings are only counted: skip building their text. */
static inline bool rd_listing_(const struct rd_ctx *c, enum vhdx_rule rule)
{
	return c->listed[rule] < RD_RULE_FINDINGS_MAX;
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

/* Metadata region: table, items, parent locator (vhdx_read_meta.c). */
int rd_metadata_(struct rd_ctx *c);
/* BAT walk and overlap check (vhdx_check_bat.c). */
int rd_bat_(struct rd_ctx *c);

/* UTF-16LE -> UTF-8 appended to t; bad surrogates become U+FFFD. */
void rd_utf16_to_text_(struct vhdx_text *t, const uint8_t *p, size_t bytes);

#endif /* VHDX_READ_INTERNAL_H */
