/* SPDX-License-Identifier: MIT */
/*
 * vhdx_create.h - creating an image: parameters and defaults, the validated plan
 * (layout), the encoders of every structure, and the crash-safe writer
 * that streams a whole image through a sink.
 */
#ifndef VHDX_CREATE_H
#define VHDX_CREATE_H

#include "vhdx_base.h"

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
	struct vhdx_geometry geom;  /* chunk ratio, block counts, BAT entries (vhdx_geometry_init) */
	uint32_t creator_units;     /* UTF-16 units of the creator, NUL not counted */
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

/* BAT indexes of blocks and bitmaps: vhdx_geometry_block_index(&plan->geom, b)
 * and vhdx_geometry_bitmap_index(&plan->geom, c) (vhdx_base.h). */
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
 * vhdx_image_total - bytes vhdx_image_write will write or zero (its
 * progress total).
 */
uint64_t vhdx_image_total(const struct vhdx_plan *plan);

/*
 * vhdx_image_write - write a whole image in the crash-safe order of
 * VHDX-FORMAT.md section 4: until the final File Type Identifier write,
 * nothing on the target identifies it as VHDX.
 * @scratch: caller buffer of VHDX_SCRATCH_SIZE bytes (or more); only a
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

#endif /* VHDX_CREATE_H */
