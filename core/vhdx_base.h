/* SPDX-License-Identifier: MIT */
/*
 * vhdx_base.h - the core's foundation: errors, GUIDs, CRC-32C, disk types, the
 * geometry of a disk (chunk ratio, block counts, BAT index math) and the
 * sink and source callbacks through which every image is written and read.
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
#ifndef VHDX_BASE_H
#define VHDX_BASE_H

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

/* The File Type Identifier's signature "vhdxfile" [2.2.1] at the file's
 * start: true when @buf (@len bytes read from offset 0) begins with it;
 * false when not, or when @len is under 8. */
bool vhdx_has_signature(const void *buf, size_t len);

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


/*
 * The geometry of a disk [2.5]: the same numbers for the plan (create), the
 * encoders, the decoder and the checker.  LSS logical sector size, BS block
 * size, VDS virtual size.
 */
struct vhdx_geometry {
	uint64_t virtual_size;          /* [byte] VDS */
	uint32_t block_size;            /* [byte] BS, power of two, 1..256 MiB */
	uint32_t logical_sector_size;   /* [byte] LSS, 512 or 4096 */
	uint32_t chunk_ratio;           /* CR = 2^23 * LSS / BS */
	uint8_t block_shift;            /* log2(BS) */
	uint8_t chunk_shift;            /* log2(CR) */
	bool has_parent;                /* differencing: bitmap entries carry state */
	uint64_t payload_blocks;        /* P = ceil(VDS / BS) */
	uint64_t bitmap_blocks;         /* S = ceil(P / CR) */
	uint64_t bat_entries;           /* entries that carry state: P + (P-1)/CR, or S*(CR+1) */
	uint64_t bat_bytes;             /* [byte] 8 * S * (CR+1): what the BAT region must hold */
};

/*
 * vhdx_geometry_init - the geometry of a disk with these parameters.
 * Returns VHDX_OK, VHDX_ERR_INVAL (block size not a power of two in
 * 1..256 MiB, sector size not 512/4096) or VHDX_ERR_RANGE (virtual size 0,
 * above 64 TiB, or not a multiple of the logical sector).  @g is filled
 * only on success.
 */
int vhdx_geometry_init(struct vhdx_geometry *g, uint64_t virtual_size, uint32_t block_size,
		       uint32_t logical_sector_size, bool has_parent);

/* BAT index of payload block @block: block + floor(block / CR). */
uint64_t vhdx_geometry_block_index(const struct vhdx_geometry *g, uint64_t block);
/* BAT index of the sector bitmap entry of chunk @chunk: chunk * (CR+1) + CR. */
uint64_t vhdx_geometry_bitmap_index(const struct vhdx_geometry *g, uint64_t chunk);

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
	/* The target reads as zeros wherever nothing has been written (a file
	 * this run created): zeros inside a dynamic image's stored blocks are
	 * then left as holes (vhdx_image_write_from).  Never set for a fixed
	 * image's sake: its payload is always zeroed through zero(). */
	bool zeroed;
};

/* A source: where an image is read from. */
struct vhdx_source {
	void *ctx;
	/* Reads exactly len bytes; 0 or VHDX_ERR_IO. */
	int (*read)(const struct vhdx_source *s, uint64_t off, void *buf, size_t len);
	uint64_t size;        /* [byte] */
	/* A block device (or a partition), not a file: what follows the image
	 * up to size is the device's, not the image's trailing data. */
	bool is_device;
	/* Reads see an active log applied (a vhdx_log_view): the BAT and
	 * metadata are as after replay, the headers still name the log. */
	bool log_applied;
};

/*
 * The scratch buffer [byte] that every call taking one accepts: the
 * decoder, the checker, the log, the chain, the readers, the writers.
 * Some calls need less and some use more when given it (the checker's BAT
 * windows, VHDX_CHECK_SCRATCH_ONE_PASS); a multiple of 4 KiB.
 */
#define VHDX_SCRATCH_SIZE (128u * 1024u)
#define VHDX_ZERO_CHUNK   (64u * 1024u * 1024u) /* [byte] largest single zero() call */

#endif /* VHDX_BASE_H */
