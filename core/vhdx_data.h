/* SPDX-License-Identifier: MIT */
/*
 * vhdx_data.h - what a disk holds: its virtual disk read through the BAT
 * and sector bitmaps [2.4, 2.5] over a chain of opened disks (vhdx_read.h:
 * the decoder, the log and the chain).
 *
 * Everything here is allocation-free and in constant memory: the BAT and
 * the bitmaps are read in pages through the caller's scratch buffer, never
 * whole; nothing reads outside a source.
 */
#ifndef VHDX_DATA_H
#define VHDX_DATA_H

#include "vhdx_read.h"

/*
 * Reading the virtual disk.  A chain (vhdx_read.h) is level 0, the disk
 * asked for, and its parents; a disk that is not differencing is a chain
 * of one.  The chain must be complete (verdict VHDX_CHAIN_COMPLETE) and
 * every level clean or opened through a log view.
 *
 * Block states [2.5.1]: FULLY_PRESENT reads the file; PARTIALLY_PRESENT
 * (differencing) reads the file where the sector bitmap has a 1 and the
 * parent where it has a 0; NOT_PRESENT reads the parent in a differencing
 * disk and zeros elsewhere; ZERO, UNMAPPED and UNDEFINED read zeros
 * without consulting the parent.
 */
enum vhdx_extent_kind {
	VHDX_EXTENT_ZERO = 0,   /* reads as zeros at every level: nothing stored */
	VHDX_EXTENT_DATA,       /* stored in level `level` at file offset `file_offset` */
};

struct vhdx_extent {
	enum vhdx_extent_kind kind;
	uint64_t length;        /* [byte] from the offset asked for; > 0 */
	unsigned level;         /* DATA: the chain level that holds it */
	uint64_t file_offset;   /* [byte] DATA: where in that level's file */
};

/* Scratch for vhdx_map and vhdx_read_at [byte]: a BAT page and a bitmap page. */
#define VHDX_DATA_SCRATCH_MIN (8u * 1024u)

/*
 * vhdx_map - the extent of the virtual disk that starts at @offset, no
 * longer than @len: a run of one kind, from one level and contiguous in
 * its file.  Returns VHDX_OK, VHDX_ERR_RANGE (@offset or @len past the
 * virtual size, or @len 0), VHDX_ERR_CORRUPT (a BAT entry or bitmap
 * outside its file, a reserved state, a PARTIALLY_PRESENT block whose
 * bitmap is absent), VHDX_ERR_IO, VHDX_ERR_INVAL.
 */
int vhdx_map(const struct vhdx_chain *chain, uint64_t offset, uint64_t len, struct vhdx_extent *ret,
	     void *scratch, size_t scratch_len);

/*
 * vhdx_read_at - @len bytes of the virtual disk from @offset, any offset
 * and length inside the virtual size, into @buf.  Reads the sources at
 * 4096-byte multiples only (head and tail bounce through the scratch).
 * Returns as vhdx_map.
 */
int vhdx_read_at(const struct vhdx_chain *chain, uint64_t offset, void *buf, size_t len, void *scratch,
		 size_t scratch_len);

/* True when @len bytes at @buf are all zero (word-wise, no libc). */
bool vhdx_is_zero(const void *buf, size_t len);

#endif /* VHDX_DATA_H */
