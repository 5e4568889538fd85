/* SPDX-License-Identifier: MIT */
/* vhdx_identify.h - name what a target holds (blank, partition table, filesystem, VHDX). */
#ifndef VHDX_IDENTIFY_H
#define VHDX_IDENTIFY_H

#include "vhdx.h"

#define VHDX_IDENTIFY_SPAN (1024u * 1024u) /* [byte] read at the start and at the end */

/*
 * vhdx_identify - NULL when the target is blank (head and tail all zero),
 * else a short phrase such as "a GPT partition table" or "unknown data".
 * @head: the first bytes of the target (VHDX_IDENTIFY_SPAN, or all of a
 *   smaller target); @tail: the last bytes, or NULL.
 */
const char *vhdx_identify(const void *head, size_t head_len, const void *tail, size_t tail_len);

#endif /* VHDX_IDENTIFY_H */
