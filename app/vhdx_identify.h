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

/* [byte] of a disk's start that vhdx_sector_mismatch reads: GPT's header
 * at LBA 1 of a 4096-byte-sector disk */
#define VHDX_PARTITION_HEAD (4096u + 512u)

/*
 * vhdx_sector_mismatch - whether a disk image written raw onto a device
 * would carry a partition table that counts other sectors than the
 * device's: its partitions would not be found and it would not boot (GPT
 * at LBA 1 is byte 512 of a 512-byte-sector disk, byte 4096 of a
 * 4096-byte-sector one; MBR entries count sectors too).
 * A partition table: "EFI PART" at byte 512 or 4096 (GPT at LBA 1; it
 * counts the sector size it sits at), else an MBR: the boot signature
 * 0x55AA at byte 510, four entries of status 0x00 or 0x80, one at least
 * with a type and a length (a protective MBR is one), counting the image's
 * own sectors.  A filesystem's boot sector without a table, or no
 * signature at all, is no partition table.
 * @head: the image's first bytes (VHDX_PARTITION_HEAD, or all of a smaller
 *   image); @image_sector: the image's logical sector size, 0 when it has
 *   none of its own (a raw file: then only a GPT tells);
 *   @device_sector: the device's logical block size.
 * Returns true on a mismatch, with @why (one line, no target name): what
 * was found, both sector sizes, the rule; false otherwise (why untouched).
 */
bool vhdx_sector_mismatch(const void *head, size_t head_len, uint32_t image_sector, uint32_t device_sector,
			  char *why, size_t why_len);

#endif /* VHDX_IDENTIFY_H */
