/* SPDX-License-Identifier: MIT */
/*
 * vhdx_convert.h - `convert` as one job of the core, the shape of create:
 * open the source, plan the output, describe the plan, write it through a
 * sink.  A frontend names and opens the files and devices, applies the
 * rules only it can (O_EXCL, the boot device, a target that holds the
 * source), asks, shows progress and turns the outcome into a status.
 *
 *   vhdx_convert_open_source  signature sniff, chain through the frontend's
 *                             parent callbacks, a dirty log read through
 *                             the overlay, the chain's verdict
 *   vhdx_convert_plan         the output (raw or VHDX), its parameters and
 *                             bounds, every refusal as an error and a line
 *   vhdx_convert_describe     the plan as lines (vhdx_describe.c)
 *   vhdx_convert_write        the crash-safe write: raw, the first MiB
 *                             zeroed first and written last; VHDX, payload
 *                             and BAT first, the signature last
 *
 * Allocation-free: every buffer is the caller's.
 */
#ifndef VHDX_CONVERT_H
#define VHDX_CONVERT_H

#include "vhdx.h"
#include "vhdx_cli.h"
#include "vhdx_identify.h"
#include "vhdx_bmap.h"

/*
 * vhdx_convert_open_source - the disk @src holds, for reading: a VHDX when
 * @format says so, or (AUTO) when it starts with the signature or
 * @want_vhdx (a *.vhdx name: a broken image is refused with its reason,
 * never copied as raw bytes); else raw bytes.  A VHDX is opened with its
 * chain (@levels: VHDX_CHAIN_DEPTH_MAX of them, parents through @ops),
 * which must be complete.
 * @scratch: at least VHDX_OPEN_SCRATCH_MIN; kept by @ret for a chain.
 * @ret: the reader, its size the virtual disk's; for raw bytes the caller
 *   sets ret->scratch (a VHDX_READER_PAGE bounce page) and may set raw_map.
 * Returns VHDX_OK; VHDX_ERR_IO (a read failed: @why names where, the
 * native error is the source's); any other error with @why one line
 * ("cannot be read as a VHDX: ...", "its chain is broken at ...").  Only
 * on VHDX_OK with ret->chain set must vhdx_chain_close follow.
 */
int vhdx_convert_open_source(const struct vhdx_source *src, const char *name, enum vhdx_format format,
			     bool want_vhdx, const struct vhdx_parent_ops *ops, struct vhdx_chain *chain,
			     struct vhdx_chain_level *levels, void *scratch, size_t scratch_len,
			     struct vhdx_reader *ret, char *why, size_t why_len);

/* True for a name that calls for a VHDX: *.vhdx or *.avhdx, any case. */
bool vhdx_convert_vhdx_name(const char *name);

enum vhdx_convert_output {
	VHDX_CONVERT_TO_RAW = 0,
	VHDX_CONVERT_TO_VHDX,
};

enum vhdx_convert_target_kind {
	VHDX_CONVERT_DEVICE = 0,   /* a block device: its size and blocks count */
	VHDX_CONVERT_NEW_FILE,     /* created by this run: reads as zeros */
	VHDX_CONVERT_OLD_FILE,     /* an existing file, overwritten */
};

/* What the frontend found the target to be. */
struct vhdx_convert_target {
	enum vhdx_convert_target_kind kind;
	uint64_t size;       /* [byte] a device's; an existing file's */
	uint32_t sector;     /* [byte] a device's logical block */
	uint64_t room;       /* [byte] a file may grow to this (its volume's free space and its own); 0: unknown */
	uint64_t file_max;   /* [byte] the largest file its volume holds; 0: no limit */
};

#define VHDX_CONVERT_NOTE_SIZE 320u    /* [byte] a note line's text */
#define VHDX_CONVERT_CHUNK_MIN 4096u   /* [byte] smallest chunk of vhdx_convert_write */
/* [byte] --bmap: a range up to this long is read whole, hashed and compared
 * before a byte of it is written (every range `vhdx bmap` writes); a longer
 * one (a foreign manifest) is hashed while written and compared at its end.
 * vhdx_convert_write with a manifest needs a chunk this large. */
#define VHDX_CONVERT_CHECKED_MAX (1024u * 1024u)
/* the most ranges read behind one hashed beside (each in a lent buffer
 * of its own, job->lender) */
#define VHDX_CONVERT_SPARES 4u

/*
 * Buffers of the sink's own (a writer thread's slots), lent to the job so
 * that nothing is copied between reading and writing: the job reads into
 * one, writes pieces of it through the sink (which takes them as they
 * are: the bytes must stay unchanged until given back) and gives it back,
 * in the order taken.  At most VHDX_CONVERT_SPARES + 1 are held at once;
 * take never fails (it waits for one to come back from the writer).
 */
struct vhdx_convert_lender {
	void *ctx;
	size_t size;                         /* [byte] each, 4096-aligned */
	void *(*take)(void *ctx);
	void (*give_back)(void *ctx, void *buf);
};

struct vhdx_convert {
	/* set by the caller before vhdx_convert_plan */
	const struct vhdx_cli *cli;          /* source, target, options */
	const struct vhdx_reader *source;    /* vhdx_convert_open_source */
	uint32_t source_sector;              /* [byte] a source device's block; 0: a file */
	struct vhdx_convert_target target;
	/* optional, raw output: once the body is written, before the first
	 * MiB, the target made exactly @size bytes long (an old longer file
	 * cut).  0 or VHDX_ERR_IO. */
	int (*set_size)(void *ctx, uint64_t size);
	void *ctx;
	/* optional, --bmap: the manifest file's text as read (not
	 * NUL-terminated), kept until the write ends */
	const char *bmap_text;
	size_t bmap_len;
	/* --resume: the target's bytes as they are (read only); NULL only
	 * for a new file (nothing to keep) */
	const struct vhdx_source *target_source;
	/* optional: a faster SHA-256 (the host's libcrypto); NULL: the core's */
	const struct vhdx_sha256_ops *sha256;
	/* optional, raw output: the sink's buffers, read into and written
	 * from without a copy (used when each holds a chunk, with --bmap
	 * VHDX_CONVERT_CHECKED_MAX); with sha256->start, ranges are read
	 * into them while those read before are hashed beside (two CPUs
	 * hash).  NULL: everything goes through @buf, one CPU hashes. */
	const struct vhdx_convert_lender *lender;

	/* the plan (vhdx_convert_plan) */
	enum vhdx_convert_output output;
	uint64_t size;                       /* [byte] the disk */
	uint64_t data_bytes;                 /* [byte] in DATA extents of the source */
	struct vhdx_plan plan;               /* VHDX output; GUIDs are the caller's to fill */
	uint64_t max_blocks;                 /* VHDX: at most this many blocks stored */
	uint64_t bound;                      /* [byte] VHDX: the file is at most this long */
	const char *may_not_fit;             /* VHDX: why the bound may not fit, or NULL */
	bool padded;                         /* VHDX: the source's size rounded up to sectors */
	bool sector_from_device;             /* VHDX: 4096-byte sectors of the source device */
	char mismatch[VHDX_CONVERT_NOTE_SIZE]; /* raw: the table written anyway, or "" */
	bool with_bmap;                      /* --bmap: the manifest below, checked */
	struct vhdx_bmap_parser bmap;        /* parsed (never advanced: copies iterate) */
	uint8_t bmap_sha256[VHDX_SHA256_SIZE]; /* of the whole manifest file */
	uint64_t bmap_long_ranges;           /* longer than VHDX_CONVERT_CHECKED_MAX */

	/* the write (vhdx_convert_write), also on failure */
	bool head_zeroed;                    /* raw: the target's first MiB reads as zeros */
	bool source_failed;                  /* the error was the source's, at failed_offset */
	uint64_t failed_offset;              /* [byte] of the disk */
	struct vhdx_fill_result fill;        /* VHDX */
	uint64_t bytes_written;              /* [byte] passed to the sink's write */
	uint64_t bytes_zeroed;               /* [byte] made zero through the sink's zero */
	uint64_t checked_before;             /* --bmap: ranges compared before written */
	uint64_t checked_after;              /* ... hashed while written, compared at the end */
	uint64_t kept;                       /* --resume: ranges already right on the target */
	/* --bmap: the source did not match the manifest (the error is
	 * VHDX_ERR_CORRUPT): bad_range, or (bad_unmapped) a non-zero byte at
	 * bad_at where the manifest maps nothing */
	bool bmap_failed;
	bool bad_unmapped;
	bool bad_written;                    /* the range was written before its check */
	struct vhdx_bmap_range bad_range;    /* its sha256 the manifest's */
	uint64_t bad_at, bad_end;            /* [byte] the range's bytes; bad_at alone when unmapped */
	uint8_t bad_sha256[VHDX_SHA256_SIZE]; /* what the source's bytes hash to */
	/* private to the write */
	struct vhdx_sha256 own_sha256;
	uint8_t cross_sha256[VHDX_SHA256_SIZE]; /* the first MiB's part of a range that crosses it */
	uint64_t cross_start;                /* [byte] that range's first; ~0: none */
	/* ranges read and hashed (beside, or here), not yet compared and
	 * written: a FIFO in disk order, settled oldest first when a buffer
	 * is needed, and whole before anything else is written */
	struct vhdx_convert_pending {
		struct vhdx_bmap_range range;
		uint64_t start, end;         /* [byte] of the disk */
		const uint8_t *buf;          /* @buf, or lent (given back once written) */
		bool beside;                 /* its digest from sha256->wait */
		uint8_t digest[VHDX_SHA256_SIZE]; /* !beside: hashed here */
	} pending[VHDX_CONVERT_SPARES + 1];
	unsigned pending_first, pending_count;
	unsigned beside_count;               /* of them beside: started, not waited for */
	bool lend;                           /* job->lender's buffers used this write */
};

/* The output of @cli: -O, else by TARGET's name (vhdx_convert_vhdx_name). */
enum vhdx_convert_output vhdx_convert_output_of(const struct vhdx_cli *cli);

/*
 * vhdx_convert_plan - every check before anything is written, and the
 * plan.  With --bmap (job->bmap_text): --bmap-sha256 against the whole
 * file, the manifest's every rule and BmapFileChecksum (vhdx_bmap_parse),
 * its ImageSize against the source's virtual size, a raw output.  @head: VHDX_PARTITION_HEAD bytes (the source's first sectors are
 * read into it for vhdx_sector_mismatch).
 * Returns VHDX_OK, or the error with @why one line naming the rule
 * (the source's or target's name first): VHDX_ERR_IO when reading the
 * source failed (the native error is its own), VHDX_ERR_INVAL for options
 * that contradict, VHDX_ERR_RANGE for sizes that do not fit,
 * VHDX_ERR_CORRUPT when the source cannot be mapped.
 */
int vhdx_convert_plan(struct vhdx_convert *job, void *head, char *why, size_t why_len);

/*
 * vhdx_convert_describe - the plan as lines (no newline), the same in
 * every frontend; @platform lines (the target as the frontend sees it,
 * where GUIDs come from) go before the order and command lines.
 */
void vhdx_convert_describe(const struct vhdx_convert *job, const char *const *platform, size_t platform_count,
			   void (*line)(void *ctx, const char *text), void *ctx);

/*
 * vhdx_convert_write - the plan through @sink, with progress through it.
 * Raw: the first MiB zeroed and flushed first (unless a new file), the
 * rest extent by extent in chunks of the largest power of two in
 * (buf_len - 4096), zeros zeroed or (a new file, --sparse) left; then
 * set_size, a flush, the first MiB, a flush.  VHDX: vhdx_image_write_from.
 * @buf: at least VHDX_CONVERT_CHUNK_MIN + 4096 bytes, 4096-aligned; not the
 * reader's scratch.
 * --bmap: each range read from the source and hashed before it is written
 * (longer than VHDX_CONVERT_CHECKED_MAX: while written, compared at its
 * end); the unmapped bytes must read as zeros (ZERO extents are not read);
 * ranges in or crossing the first MiB checked before it is written.  A
 * mismatch stops the write with VHDX_ERR_CORRUPT and job->bmap_failed;
 * the first MiB reads as zeros.  --resume: a range whose bytes on
 * job->target_source hash right is not written (job->kept); an unmapped
 * stretch is read there and made zero only where it is not.
 * @buf: with --bmap at least VHDX_CONVERT_CHECKED_MAX + 4096.  With
 * job->lender and sha256->start, a short range of the body is hashed beside
 * when the other CPU has at most one waiting, else here, and the next ones
 * are read meanwhile; still none is written before its digest matched, in
 * disk order (a failed read of a later range may be said before an
 * earlier one's mismatch: neither was written).
 * Returns VHDX_OK or the error (job->source_failed says whose).
 */
int vhdx_convert_write(struct vhdx_convert *job, const struct vhdx_sink *sink, void *buf, size_t buf_len);

/*
 * vhdx_convert_json - the outcome of vhdx_convert_write (its @err) as one
 * JSON object on one line, the same from both frontends: "source",
 * "target", "output", "result" (ok, mismatch, aborted, failed),
 * "bytes_written", "bytes_zeroed", "bmap" (null, or the manifest's
 * "sha256", "ranges", "checked_before_write", "checked_after_write",
 * "kept_by_resume", "failed_range": null or what did not match).
 */
void vhdx_convert_json(const struct vhdx_convert *job, int err, void (*line)(void *ctx, const char *text),
		       void *ctx);

/* After job->bmap_failed: one line, "SOURCE: range F-L (bytes A-B) does
 * not match F.bmap: expected sha256 X, found Y (...)" or the unmapped
 * block that does not read as zeros.  About 400 bytes. */
void vhdx_convert_mismatch(const struct vhdx_convert *job, char *why, size_t why_len);

#endif /* VHDX_CONVERT_H */
