/* SPDX-License-Identifier: MIT */
/*
 * vhdx_bmap_job.h - `bmap` and `verify` as jobs of the application layer,
 * the same in both frontends: a disk (a core reader: a VHDX chain or raw
 * bytes) in, a bmap 2.0 manifest out (vhdx_bmap_make), or a disk checked
 * against a manifest (vhdx_verify_open, vhdx_verify_run).  A frontend
 * names and opens the files and devices, reads the manifest whole, writes
 * the new one beside its name and renames it, shows progress and turns
 * the outcome into a status; the lines it prints come from here.
 *
 * Allocation-free: every buffer is the caller's.
 */
#ifndef VHDX_BMAP_JOB_H
#define VHDX_BMAP_JOB_H

#include "vhdx.h"
#include "vhdx_data.h"
#include "vhdx_bmap.h"

/* [byte] a range we write never crosses a multiple of it (it fits one
 * aligned buffer: a deploy checks each range before it writes it), and
 * the unit the disk is read in */
#define VHDX_BMAP_WINDOW (1024u * 1024u)
#define VHDX_BMAP_TEXT   16384u  /* [byte] of the manifest emitted per write() */
/* [byte] the smallest buffer of vhdx_bmap_make: a window and the text; the
 * rest holds ranges found in the first pass (48 bytes each) */
#define VHDX_BMAP_MAKE_BUF_MIN (VHDX_BMAP_WINDOW + VHDX_BMAP_TEXT)
/* [byte] the smallest buffer of vhdx_verify_run (any larger size is used) */
#define VHDX_VERIFY_BUF_MIN VHDX_READER_PAGE

/* Called between reads with the offset reached; non-zero stops the job
 * (VHDX_ERR_ABORTED). */
typedef int (*vhdx_bmap_progress)(void *ctx, uint64_t done, uint64_t total);

/*
 * vhdx_bmap_make - the manifest of @disk: its mapped ranges are the runs of
 * 4096-byte blocks that hold a non-zero byte, cut at each VHDX_BMAP_WINDOW
 * boundary; windows the disk maps as ZERO are not read.  MappedBlocksCount
 * comes before the ranges in the file, so the disk is read once to count
 * (each range hashed and kept while the buffer holds it) and, when the
 * buffer cannot hold every range, read again from the window of the first
 * range not kept to hash and emit the rest.
 */
struct vhdx_bmap_make {
	/* set by the caller */
	const struct vhdx_reader *disk;
	/* @len bytes of the manifest at @offset: first in order from 0, last
	 * the 64 digits of BmapFileChecksum at their place (checksum_offset).
	 * 0 or VHDX_ERR_IO (the frontend keeps its own reason). */
	int (*write)(void *ctx, uint64_t offset, const void *data, size_t len);
	vhdx_bmap_progress progress;      /* or NULL */
	void *ctx;

	/* the outcome, also on failure */
	uint64_t ranges;                  /* Range elements */
	uint64_t mapped_blocks;           /* MappedBlocksCount */
	uint64_t blocks_count;            /* BlocksCount */
	uint64_t file_size;               /* [byte] of the manifest */
	uint64_t kept;                    /* ranges held from the first pass */
	uint64_t read;                    /* [byte] of the disk read, both passes */
	uint64_t reread;                  /* [byte] of it read a second time */
	bool source_failed;               /* the error was the disk's, at failed_offset */
	bool write_failed;                /* the error was write()'s */
	bool source_changed;              /* the second pass found other ranges (VHDX_ERR_CORRUPT) */
	uint64_t failed_offset;           /* [byte] of the disk */
};

/*
 * @buf: at least VHDX_BMAP_MAKE_BUF_MIN bytes, 4096-aligned, not the
 * reader's scratch.  Returns VHDX_OK; VHDX_ERR_INVAL for an empty disk
 * (ImageSize 0); VHDX_ERR_NOSPACE for a smaller buffer; VHDX_ERR_ABORTED;
 * the reader's error (source_failed); VHDX_ERR_IO from write()
 * (write_failed); VHDX_ERR_CORRUPT when the disk read differently the
 * second time (source_changed).
 */
int vhdx_bmap_make(struct vhdx_bmap_make *job, void *buf, size_t buf_len);

/* "OUT: 12 ranges, 300 of 2560 blocks of 4096 bytes hold data (ImageSize
 * 10485760 bytes)", no newline. */
void vhdx_bmap_make_say(const struct vhdx_bmap_make *job, const char *out, char *line, size_t len);

enum vhdx_verify_outcome {
	VHDX_VERIFY_MATCH = 0,       /* every range matches (and with zeros, the rest reads as zeros) */
	VHDX_VERIFY_RANGE_DIFFERS,   /* range, start, end, found */
	VHDX_VERIFY_NOT_ZERO,        /* nonzero_at: a byte outside the ranges (zeros only) */
};

#define VHDX_VERIFY_WHY_SIZE 400u  /* [byte] @why of vhdx_verify_open */

struct vhdx_verify {
	/* set by the caller before vhdx_verify_open */
	const struct vhdx_reader *disk;
	bool zeros;                       /* unmapped blocks must read as zeros too */
	vhdx_bmap_progress progress;      /* or NULL */
	void *ctx;

	struct vhdx_bmap_parser parser;   /* its info: the manifest's fields */
	uint64_t device_tail;             /* [byte] of a raw device past ImageSize: not verified */

	/* the outcome */
	enum vhdx_verify_outcome outcome;
	struct vhdx_bmap_range range;     /* RANGE_DIFFERS: the bad range, its expected hash */
	uint8_t found[VHDX_SHA256_SIZE];  /* RANGE_DIFFERS: what the disk holds */
	uint64_t start, end;              /* [byte] RANGE_DIFFERS: the range's bytes [start, end) */
	uint64_t nonzero_at;              /* [byte] NOT_ZERO: the first non-zero byte */
	uint64_t failed_offset;           /* [byte] an error's: the disk's offset read */
};

/*
 * vhdx_verify_open - the manifest @text (@len bytes, kept by @v until the
 * run ends) checked before the disk is read: its SHA-256 against @pin when
 * given (vhdx_bmap_check_pin), then parsed (vhdx_bmap_parse, its
 * BmapFileChecksum), then its ImageSize against the disk's size: equal, or
 * a raw block device larger (an image deployed onto it; its tail is not
 * verified).  @bmap_name, @disk_name: for @why.
 * Returns VHDX_OK; VHDX_ERR_CORRUPT (the pin or the manifest) or
 * VHDX_ERR_RANGE (another size, a number too large) with @why one line.
 */
int vhdx_verify_open(struct vhdx_verify *v, const char *text, size_t len, const char *pin, const char *bmap_name,
		     const char *disk_name, char *why, size_t why_len);

/*
 * vhdx_verify_run - every range read and hashed in order, stopping at the
 * first that differs; with zeros, the bytes between ranges (and after the
 * last, up to ImageSize) read as zeros, ZERO extents not read.  @buf: at
 * least VHDX_VERIFY_BUF_MIN bytes, 4096-aligned, not the reader's scratch.
 * Returns VHDX_OK with v->outcome; VHDX_ERR_ABORTED; or the reader's error
 * (failed_offset).
 */
int vhdx_verify_run(struct vhdx_verify *v, void *buf, size_t buf_len);

/* The outcome as one line, no newline: "TARGET matches F: ...", "TARGET:
 * range A-B (bytes X-Y) does not match F: expected sha256 E, found G",
 * "TARGET: block N (byte O) is not in the bmap's ranges but does not read
 * as zeros". */
void vhdx_verify_say(const struct vhdx_verify *v, const char *target, const char *bmap_name, char *line,
		     size_t len);

#endif /* VHDX_BMAP_JOB_H */
