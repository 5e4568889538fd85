/* SPDX-License-Identifier: MIT */
/*
 * vhdx_log.h - the log [2.3]: its active sequence, a read-only view of a
 * dirty image as it is after replay (and the view's index), the replay.
 */
#ifndef VHDX_LOG_H
#define VHDX_LOG_H

#include "vhdx_disk.h"

/*
 * The log's active sequence [2.3.3]: physically consecutive valid entries
 * whose sequence numbers rise by one, the one with the highest head
 * sequence number whose head's Tail lies inside it.
 */
struct vhdx_log {
	bool active;                  /* LogGuid non-zero and a sequence found: replay pending */
	bool guid_unused;             /* LogGuid non-zero, no entry carries it: the file is the disk */
	uint64_t log_offset;          /* [byte] file offset of the ring */
	uint32_t log_length;          /* [byte] */
	struct vhdx_guid log_guid;
	uint64_t tail;                /* [byte] ring offset of the sequence's first entry */
	uint64_t head;                /* [byte] ring offset of its last entry */
	uint64_t tail_sequence, head_sequence;
	uint32_t entries;             /* in the sequence */
	uint64_t data_descriptors, zero_descriptors;
	uint64_t flushed_file_offset; /* [byte] of the head entry */
	uint64_t last_file_offset;    /* [byte] of the head entry */
	uint64_t low, high;           /* [byte] file range the descriptors write, [low, high) */
};

/*
 * vhdx_log_find - the active sequence of @d's log.  VHDX_OK with
 * ret->active false when the current header's LogGuid is zero (nothing
 * to replay), or when no entry in the log carries it (ret->guid_unused:
 * qemu's crash window between its header and entry writes; write-ahead
 * order means nothing was applied under it, so the file as it stands is
 * the disk).  VHDX_ERR_CORRUPT with @why when entries carry LogGuid but
 * none forms a valid sequence, when the file is shorter than the head's
 * FlushedFileOffset (truncated), when LastFileOffset is past anything the
 * image can need (vhdx_log_need), or when a descriptor is aimed at the
 * headers (the first 192 KiB), at the log itself, or is misaligned.
 * VHDX_ERR_IO; VHDX_ERR_INVAL.
 */
int vhdx_log_find(struct vhdx_log *ret, const struct vhdx_disk *d, const struct vhdx_source *src,
		  void *scratch, size_t scratch_len, char *why, size_t why_len);

/*
 * A read-only view of a dirty image: reads through view->source see the
 * file as it is after replay (every descriptor of the sequence applied in
 * order, the file extended to LastFileOffset with zeros), without writing.
 * The caller owns the struct (about 8 KiB); it refers to @under, which
 * must outlive it.  Open the disk again through view->source to get its
 * metadata and BAT as they are after replay.
 */
struct vhdx_log_view {
	struct vhdx_source source;    /* read through this (log_applied = log->active) */
	const struct vhdx_source *under;
	struct vhdx_log log;
	uint8_t page[2][4096];        /* a descriptor sector, a data sector */
	/* the index (vhdx_log_view_index), in the caller's memory; none: data == NULL */
	const struct vhdx_log_page *data;  /* last data descriptor per 4 KiB page, by file offset */
	const struct vhdx_log_zeros *zeros; /* union of the zero descriptors' ranges, by file offset */
	uint32_t data_count, zero_count;
};
void vhdx_log_view_init(struct vhdx_log_view *view, const struct vhdx_log *log,
			const struct vhdx_source *under);

/*
 * Without an index every read that meets [log.low, log.high) walks the
 * whole active sequence (its descriptor sectors read again each time).
 * vhdx_log_view_index builds, in memory the caller owns and keeps for the
 * view's life, an index of the sequence's descriptors sorted by file
 * offset: then a read costs two binary searches and one source read per
 * logged data sector it meets, whatever the number of entries.
 * vhdx_log_view_index_size: the bytes it needs, 36 per data descriptor and
 * 24 per zero descriptor, plus 12, plus 64 KiB through which the log is
 * read while the index is built (at most 36 per 4 KiB of a log of data
 * descriptors: 36 MiB for the largest log, 4095 MiB; 0 when the log is
 * not active).  Given less (or misaligned memory rounded up below it),
 * vhdx_log_view_index returns VHDX_ERR_INVAL and the view keeps walking
 * the sequence: slower, the same bytes.  VHDX_ERR_IO / VHDX_ERR_CORRUPT
 * when the log cannot be read again or changed since vhdx_log_find (the
 * view then stays without an index).  Reads are the same with or without.
 */
struct vhdx_log_page {
	uint64_t file_offset;         /* [byte] multiple of 4 KiB */
	uint64_t leading;             /* LeadingBytes */
	uint32_t data_pos;            /* [byte] ring offset of the data sector */
	uint32_t trailing;            /* TrailingBytes */
	uint32_t order;               /* descriptor number in the sequence */
	uint32_t zeroed;              /* 1: a later zero descriptor covers it */
};
struct vhdx_log_zeros {
	uint64_t start, end;          /* [byte] [start, end) */
	uint64_t order;               /* descriptor number (while the index is built) */
};
size_t vhdx_log_view_index_size(const struct vhdx_log_view *view);
int vhdx_log_view_index(struct vhdx_log_view *view, void *mem, size_t len);

/*
 * vhdx_log_replay - replay the active sequence in place [2.3.3], crash
 * safe and idempotent: the file extended to LastFileOffset (sparse: one
 * zero sector written at the new end, the rest past the old end reads as
 * zeros; first, so that no zero lands on a sector a descriptor wrote past the
 * old end), every descriptor applied through @sink (data sectors written,
 * zero descriptors zeroed), a flush; then the headers with LogGuid zero,
 * sequence numbers above the current one and FileWriteGuid
 * @file_write_guid: the non-current copy first, a flush, then the other, a
 * flush.  Replaying again after an interruption at any point gives the
 * same bytes.  When no entry carries LogGuid (vhdx_log_find's
 * guid_unused), only the two headers are written, in the same order.
 * When the log is not active but the two headers disagree in
 * a way only an interrupted replay leaves (the current one clean, the
 * other still naming the log), only the second header is written.  @src
 * and @sink are the same file.  Returns VHDX_OK, VHDX_ERR_IO,
 * VHDX_ERR_CORRUPT (as vhdx_log_find; nothing written), VHDX_ERR_DEVFULL
 * (the file must grow past the sink's capacity; nothing written),
 * VHDX_ERR_INVAL.  @ret_stats, when not NULL, counts what was (or, with
 * @dry_run, would be) written.
 */
struct vhdx_replay_stats {
	uint64_t data_sectors;        /* 4 KiB sectors written from the log */
	uint64_t zeroed;              /* [byte] zeroed by zero descriptors */
	uint64_t extended_to;         /* [byte] new file size, 0: not extended */
	unsigned headers;             /* header copies written */
	bool guid_unused;             /* no entry carried LogGuid: only the headers written */
};
int vhdx_log_replay(const struct vhdx_disk *d, const struct vhdx_source *src, const struct vhdx_sink *sink,
		    const struct vhdx_guid *file_write_guid, bool dry_run, void *scratch, size_t scratch_len,
		    struct vhdx_replay_stats *ret_stats, char *why, size_t why_len);

#endif /* VHDX_LOG_H */
