/* SPDX-License-Identifier: MIT */
/*
 * vhdx_text.h - text helpers without libc, shared by both frontends and the
 * core's own messages: sizes and numbers as text, a bounded text builder.
 */
#ifndef VHDX_TEXT_H
#define VHDX_TEXT_H

#include "vhdx_env.h"

/* Text helpers (no libc): "64 GiB" when exact in the largest binary unit,
 * else "<n> bytes"; a decimal number.  Return the length written (the text
 * is cut to fit len, always NUL-terminated when len > 0). */
size_t vhdx_size_to_text(uint64_t bytes, char *buf, size_t len);

/* Bounded text building, for both frontends' messages: appends never go
 * past len-1 and the text is always NUL-terminated; what does not fit is
 * dropped (vhdx_text_full tells). */
struct vhdx_text {
	char *buf;
	size_t len;
	size_t pos; /* [byte] text so far */
};
void vhdx_text_init(struct vhdx_text *t, char *buf, size_t len);
void vhdx_text_str(struct vhdx_text *t, const char *s);
void vhdx_text_u64(struct vhdx_text *t, uint64_t v);      /* decimal */
void vhdx_text_hex(struct vhdx_text *t, uint64_t v);      /* "0x1f" */
void vhdx_text_size(struct vhdx_text *t, uint64_t bytes); /* "64 GiB", "513 bytes" */
/* A size as the command line takes it: "64G", "1M", "4096" (exact). */
void vhdx_text_size_arg(struct vhdx_text *t, uint64_t bytes);
/* True when text was dropped, or may have been: the buffer is full. */
bool vhdx_text_full(const struct vhdx_text *t);

#endif /* VHDX_TEXT_H */
