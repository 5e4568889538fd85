/* SPDX-License-Identifier: MIT */
/*
 * vhdx.h - public API of the freestanding VHDX core: plan, encode, write.
 *
 * The core never allocates, never prints and keeps no writable globals.
 * Every byte it produces goes into a buffer the caller passed with its
 * length, or through a sink the caller filled.  All sizes are in bytes
 * unless a name says otherwise.
 *
 * Return values: 0 (VHDX_OK) or a negative enum vhdx_err.  Sizes come
 * back through ret_* parameters or *_size() functions, never mixed with
 * error codes.
 */
#ifndef VHDX_H
#define VHDX_H

#include "vhdx_env.h"

#define VHDX_VERSION "0.1.0"

enum vhdx_err {
	VHDX_OK              = 0,
	VHDX_ERR_NOSPACE     = -1,  /* caller buffer too small; see the *_size() call */
	VHDX_ERR_INVAL       = -2,  /* bad parameter: not a power of two, misaligned, NULL */
	VHDX_ERR_RANGE       = -3,  /* a value VHDX cannot encode (too big, too small) */
	VHDX_ERR_DEVFULL     = -4,  /* the image does not fit the sink's capacity */
	VHDX_ERR_IO          = -5,  /* a sink or source callback failed; native code in its ctx */
	VHDX_ERR_STATE       = -6,  /* call out of sequence */
	VHDX_ERR_CORRUPT     = -7,  /* input is not a consistent VHDX */
	VHDX_ERR_UNSUPPORTED = -8,  /* valid, but not something this core does */
	VHDX_ERR_ABORTED     = -9,  /* the progress callback asked to stop */
};

/* A short constant name for an error ("NOSPACE", "IO", ...). */
const char *vhdx_strerror(int err);

/* A GUID in its on-disk byte order (Data1/2/3 little-endian, then 8 bytes). */
struct vhdx_guid {
	uint8_t bytes[16];
};

#define VHDX_GUID_TEXT_SIZE 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/* Canonical upper- or lower-case text; buf must hold VHDX_GUID_TEXT_SIZE. */
void vhdx_guid_to_text(const struct vhdx_guid *g, char *buf, bool upper);
/* Parses "xxxxxxxx-...", with or without braces.  VHDX_ERR_INVAL if malformed. */
int vhdx_guid_from_text(struct vhdx_guid *ret, const char *text, size_t len);
/* Marks 16 random bytes as an RFC 4122 version 4 GUID. */
void vhdx_guid_make_v4(struct vhdx_guid *g);
bool vhdx_guid_is_zero(const struct vhdx_guid *g);
bool vhdx_guid_equal(const struct vhdx_guid *a, const struct vhdx_guid *b);

/* Text helpers (no libc): "64 GiB" when exact in the largest binary unit,
 * else "<n> bytes"; a decimal number.  Return the length written (the text
 * is cut to fit len, always NUL-terminated when len > 0). */
size_t vhdx_size_to_text(uint64_t bytes, char *buf, size_t len);
size_t vhdx_u64_to_text(uint64_t v, char *buf, size_t len);

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

/* CRC-32C (Castagnoli).  Pass crc = 0 to start; chain by passing the result
 * back.  The pre- and post-inversion are done inside, so a split buffer
 * gives the same value as the whole. */
uint32_t vhdx_crc32c(uint32_t crc, const void *buf, size_t len);
/* The same as feeding len zero bytes. */
uint32_t vhdx_crc32c_zeros(uint32_t crc, uint64_t len);

enum vhdx_type {
	VHDX_TYPE_DYNAMIC = 0,
	VHDX_TYPE_FIXED = 1,
	VHDX_TYPE_DIFFERENCING = 2,
};

/* One key/value of a parent locator, as NUL-terminated UTF-8. */
struct vhdx_kv {
	const char *key;
	const char *value;
};

/* Defaults (a zero field takes them): DESIGN.md "Defaults". */
#define VHDX_DEFAULT_BLOCK_SIZE      (32u * 1024u * 1024u)
#define VHDX_DEFAULT_DIFF_BLOCK_SIZE (2u * 1024u * 1024u)
#define VHDX_DEFAULT_LOGICAL_SECTOR  512u
#define VHDX_DEFAULT_PHYSICAL_SECTOR 4096u
#define VHDX_DEFAULT_LOG_SIZE        (1024u * 1024u)
#define VHDX_CREATOR_MAX_UNITS       255u /* UTF-16 code units, NUL not counted */

struct vhdx_params {
	enum vhdx_type type;
	uint64_t virtual_size;          /* [byte] multiple of logical sector, <= 64 TiB */
	uint32_t block_size;            /* [byte] power of two, 1..256 MiB; 0: default */
	uint32_t logical_sector_size;   /* 512 or 4096; 0: 512 */
	uint32_t physical_sector_size;  /* 512 or 4096; 0: 4096 */
	uint32_t log_size;              /* [byte] MiB multiple, 1..4095 MiB; 0: 1 MiB */
	bool zero_blocks;               /* dynamic: BAT entries ZERO, not NOT_PRESENT */
	bool leave_payload;             /* fixed: do not zero the payload (stale data shows) */
	struct vhdx_guid file_write_guid;
	struct vhdx_guid data_write_guid;
	struct vhdx_guid page83;        /* Virtual Disk ID; a child copies its parent's */
	const char *creator;            /* UTF-8, NUL-terminated; NULL: "vhdx VERSION" */
	const struct vhdx_kv *parent_locator; /* differencing only; must include parent_linkage */
	size_t parent_locator_count;
};

/*
 * A validated, normalised plan: the parameters with defaults filled in and
 * the whole layout.  Windows' layout: log @ 1 MiB, metadata 1 MiB after the
 * log, BAT after the metadata (rounded up to 1 MiB), payload after the BAT.
 * Strings (creator, locator) are referenced, not copied: they must outlive
 * the plan.
 */
struct vhdx_plan {
	struct vhdx_params params;
	uint32_t chunk_ratio;       /* CR = 2^23 * logical sector / block size */
	uint32_t creator_units;     /* UTF-16 units of the creator, NUL not counted */
	uint64_t payload_blocks;    /* P = ceil(VDS / BS) */
	uint64_t bitmap_blocks;     /* S = ceil(P / CR) */
	uint64_t bat_entries;       /* entries that carry state: P + (P-1)/CR, or S*(CR+1) */
	uint64_t log_offset, log_length;
	uint64_t meta_offset, meta_length;
	uint64_t bat_offset, bat_length;
	uint64_t data_offset;       /* first payload byte (fixed) or where blocks would go */
	uint64_t file_size;         /* [byte] end of the image as written */
	uint32_t meta_items_size;   /* [byte] packed items from meta_offset + 64 KiB */
	uint32_t locator_size;      /* [byte] parent locator item, 0 if none */
	uint32_t meta_entry_count;
};

/*
 * vhdx_plan_init - validate parameters and compute the layout.
 * @ret: filled only on success
 * @why, @why_len: optional buffer for a one-line, NUL-terminated reason
 *   naming the rule that broke (may be NULL/0)
 * Returns VHDX_OK, VHDX_ERR_INVAL (bad value) or VHDX_ERR_RANGE (too big/small).
 */
int vhdx_plan_init(struct vhdx_plan *ret, const struct vhdx_params *p,
		   char *why, size_t why_len);

/*
 * vhdx_plan_largest_fixed - the largest fixed image (whole blocks) whose
 * file fits @capacity bytes; p->virtual_size is ignored.
 * Returns VHDX_OK, VHDX_ERR_DEVFULL (not even one block fits; @why says
 * how much is needed) or the errors of vhdx_plan_init.
 */
int vhdx_plan_largest_fixed(struct vhdx_plan *ret, const struct vhdx_params *p, uint64_t capacity,
			    char *why, size_t why_len);

/* Size and offset of BAT entry for payload block b / bitmap of chunk c. */
uint64_t vhdx_bat_index_of_block(const struct vhdx_plan *plan, uint64_t block);
uint64_t vhdx_bat_index_of_bitmap(const struct vhdx_plan *plan, uint64_t chunk);
/* The value of BAT entry @index as this plan writes it (0 past the end). */
uint64_t vhdx_bat_entry(const struct vhdx_plan *plan, uint64_t index);

/*
 * Encoders.  Each writes exactly vhdx_<x>_size() bytes at buf and nothing
 * past it; the rest of the on-disk structure (up to its slot) is zero, and
 * checksums are computed as if it were.  VHDX_ERR_NOSPACE when len is short;
 * nothing is written then.
 */
size_t vhdx_file_id_size(const struct vhdx_plan *plan);
int vhdx_file_id_encode(const struct vhdx_plan *plan, void *buf, size_t len);

/* which: 0 = header 1 (sequence 1), 1 = header 2 (sequence 2, current). */
size_t vhdx_header_size(const struct vhdx_plan *plan);
int vhdx_header_encode(const struct vhdx_plan *plan, unsigned which, void *buf, size_t len);

/* Region table (both copies are identical); CRC over the 64 KiB. */
size_t vhdx_region_table_size(const struct vhdx_plan *plan);
int vhdx_region_table_encode(const struct vhdx_plan *plan, void *buf, size_t len);

/* Metadata table (region offset 0) and packed items (region offset 64 KiB). */
size_t vhdx_meta_table_size(const struct vhdx_plan *plan);
int vhdx_meta_table_encode(const struct vhdx_plan *plan, void *buf, size_t len);
size_t vhdx_meta_items_size(const struct vhdx_plan *plan);
int vhdx_meta_items_encode(const struct vhdx_plan *plan, void *buf, size_t len);

/* BAT entries first..first+len/8 (len a multiple of 8). */
int vhdx_bat_encode(const struct vhdx_plan *plan, uint64_t first, void *buf, size_t len);

/*
 * A sink: where a whole image goes.  Filled by the frontend, read-only to
 * the core.  Every offset and length the core passes is a multiple of 4096.
 */
struct vhdx_sink {
	void *ctx;
	/* 0 or VHDX_ERR_IO (keep errno/EFI_STATUS in ctx). */
	int (*write)(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len);
	/* Makes data written so far durable.  May be NULL. */
	int (*flush)(const struct vhdx_sink *s);
	/* Makes [off, off+len) read as zeros and allocated (never a hole in a
	 * fixed image).  May be NULL; VHDX_ERR_UNSUPPORTED makes the core write
	 * zeros itself from then on. */
	int (*zero)(const struct vhdx_sink *s, uint64_t off, uint64_t len);
	/* Allocates [off, off+len) without defining its content (fixed image
	 * with leave_payload).  May be NULL: a device needs nothing. */
	int (*allocate)(const struct vhdx_sink *s, uint64_t off, uint64_t len);
	/* Called after each step with bytes done and total; non-zero stops the
	 * write with VHDX_ERR_ABORTED.  May be NULL. */
	int (*progress)(const struct vhdx_sink *s, uint64_t done, uint64_t total);
	uint32_t block_size;  /* [byte] power of two, 1..4096; offsets and lengths are multiples */
	uint64_t capacity;    /* [byte] 0: grows (a file) */
};

/* A source: where an image is read from. */
struct vhdx_source {
	void *ctx;
	/* Reads exactly len bytes; 0 or VHDX_ERR_IO. */
	int (*read)(const struct vhdx_source *s, uint64_t off, void *buf, size_t len);
	uint64_t size;        /* [byte] */
};

#define VHDX_SCRATCH_MIN  4096u
#define VHDX_ZERO_CHUNK   (64u * 1024u * 1024u) /* [byte] largest single zero() call */

/*
 * vhdx_image_total - bytes vhdx_image_write will write or zero (its
 * progress total).
 */
uint64_t vhdx_image_total(const struct vhdx_plan *plan);

/*
 * vhdx_image_write - write a whole image in the crash-safe order of
 * VHDX-FORMAT.md section 4: until the final File Type Identifier write,
 * nothing on the target identifies it as VHDX.
 * @scratch: caller buffer of at least VHDX_SCRATCH_MIN bytes; only a
 *   multiple of 4096 of it is used.  Larger means fewer, larger writes.
 * Returns VHDX_OK, VHDX_ERR_INVAL (scratch, sink geometry), VHDX_ERR_DEVFULL,
 * VHDX_ERR_IO, VHDX_ERR_ABORTED.  On error the target holds no signature,
 * unless the very first step (zeroing the signature's 4 KiB) failed: then
 * the target is as it was.  If the last flush fails or the progress
 * callback aborts after the final write, the signature is taken back (best
 * effort: a write of zeros that may itself fail).
 */
int vhdx_image_write(const struct vhdx_plan *plan, const struct vhdx_sink *sink,
		     void *scratch, size_t scratch_len);

#endif /* VHDX_H */
