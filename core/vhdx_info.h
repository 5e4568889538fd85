/* SPDX-License-Identifier: MIT */
/*
 * vhdx_info.h - the strict checker: what it learns of an image (struct
 * vhdx_info), vhdx_check and its cheap part vhdx_probe.
 *
 * vhdx_check() walks any byte sequence through a struct vhdx_source and one
 * caller scratch buffer, fills a struct vhdx_info and reports every broken
 * rule of [MS-VHDX] (VHDX-FORMAT.md) through a callback.  Memory use is the
 * scratch buffer, the caller's struct vhdx_info (about 4.5 KiB) and under
 * 4 KiB of stack, whatever the image size: the BAT is walked in windows of
 * the scratch buffer.  No read ever goes outside [0, source->size); every
 * read offset is a multiple of 4096 and every length a multiple of 4096
 * unless the read ends at source->size (a source over 512- or 4096-byte
 * blocks never needs to bounce for the alignment of offsets or lengths).
 */
#ifndef VHDX_INFO_H
#define VHDX_INFO_H

#include "vhdx_rules.h"

/*
 * Scratch for vhdx_check [byte]: VHDX_SCRATCH_SIZE is enough; more is used
 * for larger BAT windows and for the overlap bitmap (see vhdx_check).  With
 * VHDX_CHECK_SCRATCH_ONE_PASS bytes, the overlap check of a 64 TiB file
 * takes one pass over the BAT.
 */
#define VHDX_CHECK_SCRATCH_ONE_PASS  (8u * 1024u * 1024u + 64u * 1024u)

/* Limits of what struct vhdx_info keeps (the checker checks all of it). */
#define VHDX_INFO_MAX_REGIONS   8
#define VHDX_INFO_MAX_ITEMS     16
#define VHDX_INFO_MAX_LOCATOR   16
#define VHDX_INFO_CREATOR_SIZE  772   /* 256 UTF-16 units as UTF-8, NUL */
#define VHDX_INFO_TEXT_SIZE     2048  /* parent locator keys and values, UTF-8 */
#define VHDX_INFO_NO_TEXT       0xFFFFu

struct vhdx_info_header {
	bool present;          /* read (inside the file) */
	bool signature_ok;
	bool checksum_ok;
	uint32_t checksum;
	uint64_t sequence;
	struct vhdx_guid file_write_guid;
	struct vhdx_guid data_write_guid;
	struct vhdx_guid log_guid;
	uint16_t log_version;
	uint16_t version;
	uint32_t log_length;   /* [byte] */
	uint64_t log_offset;   /* [byte] */
};

struct vhdx_info_region {
	struct vhdx_guid guid;
	uint64_t offset;       /* [byte] */
	uint32_t length;       /* [byte] */
	uint32_t required;     /* raw field */
};

struct vhdx_info_item {
	struct vhdx_guid id;
	uint32_t offset;       /* [byte] from the metadata region start */
	uint32_t length;       /* [byte] */
	uint32_t flags;        /* raw field: IsUser 1, IsVirtualDisk 2, IsRequired 4 */
};

struct vhdx_info_kv {
	uint64_t key_offset;   /* [byte] file offset of the UTF-16LE key */
	uint64_t value_offset; /* [byte] file offset of the UTF-16LE value */
	uint16_t key_length;   /* [byte] */
	uint16_t value_length; /* [byte] */
	uint16_t key_text;     /* index into vhdx_info.text (UTF-8, NUL), or VHDX_INFO_NO_TEXT */
	uint16_t value_text;
};

enum vhdx_bat_state_count {   /* index into payload_states[] */
	VHDX_COUNT_NOT_PRESENT = 0, VHDX_COUNT_UNDEFINED = 1, VHDX_COUNT_ZERO = 2,
	VHDX_COUNT_UNMAPPED = 3, VHDX_COUNT_RESERVED4 = 4, VHDX_COUNT_RESERVED5 = 5,
	VHDX_COUNT_FULLY_PRESENT = 6, VHDX_COUNT_PARTIALLY_PRESENT = 7,
};

struct vhdx_info {
	bool is_vhdx;              /* the File Type Identifier signature is there */
	bool geometry_ok;          /* block size, sizes and sectors are usable */
	bool bat_walked;
	char creator[VHDX_INFO_CREATOR_SIZE];
	uint64_t file_size;        /* [byte] source size: the file end (a device's size) */
	bool is_device;            /* the source is a block device: what follows the image is its own */

	struct vhdx_info_header header[2];
	int current_header;        /* 0 or 1; -1 when no header is valid */
	bool log_replay_needed;    /* current header's LogGuid is non-zero */

	bool region_table_ok[2];   /* signature and checksum */
	int region_table_used;     /* 0 or 1; -1 none */
	uint32_t region_count;     /* entries in the table used */
	struct vhdx_info_region regions[VHDX_INFO_MAX_REGIONS];
	uint64_t bat_offset, meta_offset;    /* [byte] 0 if absent */
	uint32_t bat_length, meta_length;    /* [byte] */

	uint32_t meta_count;
	struct vhdx_info_item items[VHDX_INFO_MAX_ITEMS];

	enum vhdx_type type;
	uint32_t block_size;       /* [byte] */
	uint32_t file_parameters_flags;
	uint64_t virtual_size;     /* [byte] */
	uint32_t logical_sector_size;
	uint32_t physical_sector_size;
	bool has_page83;
	struct vhdx_guid page83;

	bool has_locator;
	struct vhdx_guid locator_type;
	uint16_t locator_count;    /* entries in the item (kept: at most VHDX_INFO_MAX_LOCATOR) */
	struct vhdx_info_kv locator[VHDX_INFO_MAX_LOCATOR];
	char text[VHDX_INFO_TEXT_SIZE];
	uint16_t text_used;

	struct vhdx_geometry geom; /* valid when geometry_ok */
	uint64_t payload_states[8];
	uint64_t bitmap_states[8];
	uint64_t data_start;       /* [byte] first byte of an allocated block; 0: none */
	uint64_t data_end;         /* [byte] end of the last allocated block */
	uint64_t structures_end;   /* [byte] end of the last structure or block */
	bool bat_before_replay;    /* the BAT walked is the one on disk and the log needs replay:
				    * block counts and data extent may be stale */
	uint32_t findings_withheld; /* findings of the BAT walk withheld for that (log.withheld) */
	bool overlap_fast_path;    /* blocks were in ascending order: no bitmap pass */
	uint32_t overlap_passes;   /* bitmap passes over the BAT */

	uint32_t errors;
	uint32_t warnings;
};

/*
 * vhdx_check - read and check an image.
 * @src: the image; read only inside [0, src->size)
 * @scratch, @scratch_len: VHDX_SCRATCH_SIZE bytes or more.  After the
 *   first MiB and the metadata, the BAT is read in windows of half of it,
 *   and when allocated blocks are not in ascending file order the other
 *   half is a bitmap of 1 MiB units: one pass over the BAT per
 *   (scratch_len / 2 * 8) MiB of the allocated file range.
 * @info: filled (zeroed first)
 * @fn, @ctx: called for each finding, may be NULL
 * Returns VHDX_OK when the walk ran to its end (findings or not; "not a
 * VHDX" is a finding), VHDX_ERR_INVAL (NULL, scratch too small) or
 * VHDX_ERR_IO (a read failed: the check could not run).
 */
int vhdx_check(const struct vhdx_source *src, void *scratch, size_t scratch_len,
	       struct vhdx_info *info, vhdx_finding_fn fn, void *ctx);

/*
 * vhdx_probe - the cheap part of vhdx_check: file identifier, headers,
 * region tables and metadata, no BAT.  For `vhdx list`.  Findings are
 * counted in info->errors/warnings but not reported.
 */
int vhdx_probe(const struct vhdx_source *src, void *scratch, size_t scratch_len,
	       struct vhdx_info *info);

/* The parent locator value of @key (UTF-8), or NULL if absent or not kept. */
const char *vhdx_info_locator_value(const struct vhdx_info *info, const char *key);

#endif /* VHDX_INFO_H */
