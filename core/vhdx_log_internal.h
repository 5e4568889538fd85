/* SPDX-License-Identifier: MIT */
/*
 * vhdx_log_internal.h - private to the log's three units [2.3]:
 * vhdx_log_find.c (the active sequence, and the ring reading and walking
 * the others use), vhdx_log_view.c (the file as after replay, read-only)
 * and vhdx_log_replay.c (replay in place through a sink).  The on-disk
 * layout of entries, descriptors and data sectors; headers are read and
 * checked through the decoder (vhdx_decode.h).
 */
#ifndef VHDX_LOG_INTERNAL_H
#define VHDX_LOG_INTERNAL_H

#include "vhdx_decode.h"

#define LOG_SECTOR        VHDX_LOG_SECTOR_SIZE /* 4096 */
#define LOG_SECTOR_MASK   ((uint64_t)LOG_SECTOR - 1)
#define LOG_SECTOR_SHIFT  12u

/* 2.3.1.1 entry header: 64 bytes at the start of an entry's first sector */
#define LOGE_SIGNATURE     "loge"
#define LOGE_CHECKSUM_OFF  4u  /* u32 CRC-32C over EntryLength bytes, this field zero */
#define LOGE_LENGTH_OFF    8u  /* u32 [byte] EntryLength, multiple of 4 KiB */
#define LOGE_TAIL_OFF      12u /* u32 [byte] ring offset of the sequence's first entry */
#define LOGE_SEQUENCE_OFF  16u /* u64, > 0 */
#define LOGE_COUNT_OFF     24u /* u32 DescriptorCount */
#define LOGE_GUID_OFF      32u /* GUID, the header's LogGuid */
#define LOGE_FLUSHED_OFF   48u /* u64 [byte] FlushedFileOffset: the file size when written */
#define LOGE_LAST_OFF      56u /* u64 [byte] LastFileOffset: the size that holds every structure */
#define LOGE_HEADER_SIZE   64u

/* 2.3.1.2, 2.3.1.3 descriptors: 32 bytes each, packed after the header */
#define DESC_SIZE          32u
#define DESC_DATA_SIG      "desc"
#define DESC_ZERO_SIG      "zero"
#define DESC_TRAILING_OFF  4u  /* data: u32, the last 4 bytes of the sector written */
#define DESC_LEADING_OFF   8u  /* data: u64, its first 8 bytes */
#define DESC_ZERO_LEN_OFF  8u  /* zero: u64 [byte] ZeroLength, multiple of 4 KiB */
#define DESC_FILE_OFF      16u /* u64 [byte] FileOffset, multiple of 4 KiB */
#define DESC_SEQUENCE_OFF  24u /* u64, the entry's SequenceNumber */

/* 2.3.1.4 data sector: "data", SequenceHigh, Data[4084], SequenceLow */
#define DATA_SIGNATURE     "data"
#define DATA_SEQ_HIGH_OFF  4u    /* u32, SequenceNumber >> 32 */
#define DATA_SEQ_LOW_OFF   4092u /* u32, SequenceNumber & 0xFFFFFFFF */
#define DATA_TRAILING_SIZE 4u    /* the sector written: LeadingBytes (u64), Data, TrailingBytes (u32) */

/* The File Type Identifier and both headers are never logged [2.3]. */
#define LOG_PROTECTED_END  VHDX_REGION_TABLE1_OFFSET /* [byte] 192 KiB */

/* Fills @why with a, the hex of @n when @has_n, and b; returns @err. */
int vhdx_log_fail_(char *why, size_t why_len, int err, const char *a, bool has_n, uint64_t n, const char *b);

/* a + d in a ring of n bytes (a < n, d <= n) */
static inline uint64_t ring_add(uint64_t a, uint64_t d, uint64_t n)
{
	a += d;
	return a >= n ? a - n : a;
}

/* Bytes from a forward to b in a ring of n bytes. */
static inline uint64_t ring_dist(uint64_t a, uint64_t b, uint64_t n)
{
	return b >= a ? b - a : b + n - a;
}

/* Descriptor sectors of an entry with @count descriptors. */
static inline uint64_t desc_sectors(uint32_t count)
{
	return (LOGE_HEADER_SIZE + (uint64_t)count * DESC_SIZE + LOG_SECTOR - 1) >> LOG_SECTOR_SHIFT;
}

/*
 * The ring read through a window of the scratch buffer (sequential scan)
 * and a one-sector buffer (random sectors: Tail checks, the final walk).
 * Reads never cross the ring's end; offsets and lengths are multiples of
 * 4 KiB from LogOffset (a multiple of 1 MiB).
 */
struct ring_ {
	const struct vhdx_source *src;
	uint64_t base;     /* [byte] file offset of the ring */
	uint64_t len;      /* [byte] ring length, multiple of 4 KiB */
	uint8_t *one;      /* 4 KiB */
	struct vhdx_window_ win; /* over the file: start = base + a ring offset */
	bool guid_seen;    /* a sector starting "loge" carries the header's LogGuid */
};

/* @r over @log's ring in @src, read through @win (@win_cap bytes, at least 4 KiB); no one-sector buffer. */
void vhdx_log_ring_init_(struct ring_ *r, const struct vhdx_source *src, const struct vhdx_log *log, uint8_t *win,
			 size_t win_cap);
/* The sector at ring offset @pos (4 KiB-aligned), through the window. */
int vhdx_log_ring_sector_(struct ring_ *r, uint64_t pos, const uint8_t **ret);

/* One descriptor of the active sequence, in replay order. */
struct desc_ {
	bool zero;
	uint64_t file_offset;   /* [byte] */
	uint64_t length;        /* [byte] 4096 for data, ZeroLength for zero */
	uint64_t data_pos;      /* data: ring offset of its data sector */
	uint64_t leading;       /* data: LeadingBytes (8) */
	uint32_t trailing;      /* data: TrailingBytes (4) */
};

typedef int (*desc_fn)(void *ctx, const struct desc_ *d);

/* Every descriptor of the entries from @tail to @head, in order (vhdx_log_find.c). */
int vhdx_log_walk_(struct ring_ *r, uint64_t tail, uint64_t head, desc_fn fn, void *ctx,
		   uint32_t *ret_entries, uint64_t *ret_tail_seq);
/* vhdx_log_find with a scratch of at least 8 KiB; *ret_zeroed: bytes of the zero descriptors. */
int vhdx_log_find_(struct vhdx_log *ret, const struct vhdx_disk *d, const struct vhdx_source *src, uint8_t *scratch,
		   size_t scratch_len, char *why, size_t why_len, uint64_t *ret_zeroed);

/* The 4 KiB a data descriptor writes: LeadingBytes, Data[4084], TrailingBytes. */
void vhdx_log_restore_(uint8_t *s, const struct desc_ *d);

#endif /* VHDX_LOG_INTERNAL_H */
