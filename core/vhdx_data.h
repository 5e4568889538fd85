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

#include "vhdx_create.h"
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

/*
 * The scratch of vhdx_map and vhdx_read_at remembers: from 16 KiB on, it
 * keeps the BAT, sector bitmap and bounce pages it read, and the next call
 * with the same chain and the same scratch reads them from there.  A memo
 * in its first page names the chain, the scratch, each level's source,
 * size, BAT region, header sequence and DataWriteGuid; anything else that
 * writes the scratch from its start drops the memo, and a kept page found
 * changed (sampled) is read again.
 * vhdx_map_forget - drop what @scratch remembers: call it when a level's
 * file was written while its chain stayed open, or after writing into the
 * scratch other than from its start.
 */
void vhdx_map_forget(void *scratch, size_t scratch_len);

/* True when @len bytes at @buf are all zero (word-wise, no libc). */
bool vhdx_is_zero(const void *buf, size_t len);

/*
 * Comparing two disks (vhdx_compare.c), for `vhdx compare` in both
 * frontends.  A reader is either a chain (its virtual disk) or a raw
 * source (its bytes as they are: a raw file or block device).
 */
struct vhdx_reader {
	const struct vhdx_chain *chain;  /* a VHDX: read through vhdx_map/vhdx_read_at; else NULL */
	const struct vhdx_source *raw;   /* raw: this source's bytes; NULL for a chain */
	uint64_t size;                   /* [byte] the disk: virtual size, or raw->size */
	/* chain: VHDX_SCRATCH_SIZE; raw: at least VHDX_READER_PAGE
	 * (the bounce page for heads and tails).  Two readers may share one. */
	void *scratch;
	size_t scratch_len;
	/* raw, optional: where the source is known to read as zeros (a sparse
	 * file's holes); ret as vhdx_map, kind ZERO or DATA (file_offset =
	 * offset).  NULL: all DATA.  0 or a negative vhdx_err. */
	int (*raw_map)(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret);
	void *ctx;                       /* for raw_map */
};

/* Unit of raw source reads [byte]: offsets and lengths are multiples of it
 * unless a read ends at the source's size (any logical block up to 4096). */
#define VHDX_READER_PAGE 4096u

/*
 * vhdx_reader_map - as vhdx_map, for either kind of reader: the extent at
 * @offset, at most @len long.  VHDX_ERR_RANGE past r->size or @len 0.
 */
int vhdx_reader_map(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret);

/*
 * vhdx_reader_read - @len bytes at @offset, any alignment, inside r->size.
 * Raw sources are read in whole VHDX_READER_PAGE units (head and tail
 * bounce through the scratch), so a 4096-byte block device works.
 * Returns as vhdx_read_at.
 */
int vhdx_reader_read(const struct vhdx_reader *r, uint64_t offset, void *buf, size_t len);

/* What vhdx_compare found. */
struct vhdx_compare_result {
	bool same;                /* identical, the shorter zero-extended */
	uint64_t difference;      /* [byte] !same: the first differing offset */
	uint64_t compared;        /* [byte] how far the comparison went */
	/* Set on an error too (the one exception to ret_ on success only):
	 * which reader failed (0: a, 1: b) and the offset it was asked for. */
	unsigned failed;
	uint64_t failed_offset;
};

/* Called after each step; a non-zero return stops the compare (VHDX_ERR_ABORTED). */
typedef int (*vhdx_compare_progress)(void *ctx, uint64_t done, uint64_t total);

/* Smallest @buf_len for vhdx_compare [byte]: a page for each side. */
#define VHDX_COMPARE_BUF_MIN (2u * VHDX_READER_PAGE)

/*
 * vhdx_compare - byte for byte, the disks of @a and @b; sizes that differ
 * compare as if the shorter were zero-extended.  Ranges that are ZERO in
 * both are skipped without reading; a range ZERO in one is read in the
 * other only.  @buf: two halves, one per side (a multiple of
 * 2 * VHDX_READER_PAGE is best: the halves stay page aligned).
 * Returns VHDX_OK (see ret->same), VHDX_ERR_INVAL, VHDX_ERR_ABORTED, or
 * an error of a reader (ret->failed says which).
 */
int vhdx_compare(const struct vhdx_reader *a, const struct vhdx_reader *b, void *buf, size_t buf_len,
		 struct vhdx_compare_result *ret, vhdx_compare_progress progress, void *progress_ctx);

/*
 * Writing an image with content (`convert` to VHDX): the writer of
 * vhdx_create.h, fed from a reader.
 */
struct vhdx_fill_result {
	uint64_t blocks_stored;    /* payload blocks in the file */
	uint64_t blocks_zero;      /* dynamic: blocks that read as zeros, entry ZERO, no space */
	uint64_t file_size;        /* [byte] where the image ends */
	/* On an error: true when reading the source failed (failed_offset a
	 * virtual offset), else the target's offset that failed (a failed
	 * flush: the offset of the last write or zeroing before it). */
	bool source_failed;
	uint64_t failed_offset;
};

/*
 * vhdx_image_write_from - the image of @plan (dynamic or fixed) holding
 * the disk @source reads (its size at most the virtual size; past it the
 * disk reads as zeros), in the crash-safe order of vhdx_image_write: the
 * payload and the BAT first, then the metadata, region tables, headers,
 * and the signature last.  Dynamic: a block that reads as zeros is not
 * stored (BAT entry ZERO, FileOffsetMB 0); the others are FULLY_PRESENT,
 * in virtual order from plan->data_offset, and the file ends at the last.
 * Fixed: every block at its place, zeros zeroed through the sink.  Ranges
 * the source maps as ZERO are neither read nor tested.
 * @scratch: windows of (scratch_len rounded down to 4096, less 4096) are
 *   read and tested at a time; the last 4096 bytes hold a BAT page.  The
 *   reader's own scratch must be another buffer.
 * @ret: filled on success and on error.
 * Returns as vhdx_image_write, plus the reader's errors (ret->source_failed),
 * and VHDX_ERR_INVAL for a differencing plan or a source larger than it.
 */
int vhdx_image_write_from(const struct vhdx_plan *plan, const struct vhdx_sink *sink,
			  const struct vhdx_reader *source, void *scratch, size_t scratch_len,
			  struct vhdx_fill_result *ret);

/*
 * vhdx_fill_estimate - at most how many blocks a dynamic image of @source
 * stores: the blocks that hold any DATA extent (no byte is read; a block
 * of data extents that read as zeros is counted but will not be stored).
 * The file is then at most plan->data_offset + blocks * block size.
 */
int vhdx_fill_estimate(const struct vhdx_plan *plan, const struct vhdx_reader *source, uint64_t *ret_blocks);

#endif /* VHDX_DATA_H */
