/* SPDX-License-Identifier: MIT */
/*
 * vhdx_disk.h - the decoder: what a disk is and where its structures are
 * (struct vhdx_disk, vhdx_disk_open), and its parent locator's values.
 */
#ifndef VHDX_DISK_H
#define VHDX_DISK_H

#include "vhdx_base.h"

/*
 * The decoder: what a disk is and where its structures are, without
 * judging it.  vhdx_disk_open() reads the File Type Identifier, both
 * headers, the region tables and the metadata, and fills a small struct
 * vhdx_disk (under 1 KiB).  It reports no findings: when it cannot trust
 * what it read it returns VHDX_ERR_CORRUPT (or VHDX_ERR_UNSUPPORTED for a
 * valid image it cannot use) with a one-line reason in @why.  The strict
 * checker (vhdx_check, below) is a layer above; findings live only there.
 *
 * What open trusts: the signature; the current header (valid checksum,
 * larger sequence number; one valid copy is enough; two valid copies with
 * the same number must be identical), its Version 1 and LogVersion 0, its
 * log on 1 MiB multiples inside the file; region table 1, or table 2 when
 * table 1 is damaged; the BAT and metadata regions on 1 MiB multiples,
 * inside the file, apart from each other and from the log, no unknown
 * region marked Required; the metadata table, no unknown item marked
 * IsRequired, and the required items (file parameters, sizes, sectors)
 * with their defined lengths and within their rules; the Page 83 ID when
 * present (has_page83); a differencing disk's parent locator of the VHDX
 * type with every entry inside the item; a BAT region that holds every
 * entry of the geometry.  What is refused and why: tests/unit/test_open.c.
 * A non-zero LogGuid is not an error here: log_replay_needed says that
 * the BAT and metadata on disk may be stale.
 */
struct vhdx_disk {
	uint64_t file_size;             /* [byte] source size */
	enum vhdx_type type;
	struct vhdx_geometry geom;
	uint32_t physical_sector_size;  /* [byte] */
	uint32_t file_parameters_flags; /* raw: LeaveBlockAllocated 1, HasParent 2 */
	struct vhdx_guid page83;        /* Virtual Disk ID; zero when the item is absent */
	bool has_page83;
	int current_header;             /* 0 or 1 */
	uint64_t sequence;              /* of the current header */
	struct vhdx_guid file_write_guid, data_write_guid, log_guid;
	bool log_replay_needed;         /* log_guid non-zero */
	uint64_t log_offset;            /* [byte] */
	uint32_t log_length;            /* [byte] */
	int region_table_used;          /* 0 or 1 */
	uint64_t bat_offset, meta_offset;  /* [byte] */
	uint32_t bat_length, meta_length;  /* [byte] */
	uint64_t locator_offset;        /* [byte] file offset of the parent locator item; 0: none */
	uint32_t locator_length;        /* [byte] */
	uint16_t locator_count;         /* key/value entries */
};

#define VHDX_WHY_SIZE 160u /* a reason line, NUL included: enough for every reason */

/*
 * vhdx_disk_open - decode @src into @ret.
 * Returns VHDX_OK, VHDX_ERR_INVAL (NULL, scratch too small),
 * VHDX_ERR_IO (a read failed), VHDX_ERR_CORRUPT or VHDX_ERR_UNSUPPORTED
 * (@why says why, e.g. "not a VHDX: no vhdxfile signature", "no valid
 * header: both checksums fail [2.2.2]").  Reads only inside [0, src->size).
 */
int vhdx_disk_open(struct vhdx_disk *ret, const struct vhdx_source *src, void *scratch,
		   size_t scratch_len, char *why, size_t why_len);

/*
 * vhdx_disk_locator_get - the value of parent locator key @key (ASCII,
 * compared exactly) as NUL-terminated UTF-8 in @buf.  Returns VHDX_OK,
 * VHDX_ERR_RANGE (absent: no such key, or no locator), VHDX_ERR_NOSPACE
 * (@buf too small: nothing usable in it), VHDX_ERR_CORRUPT (an entry
 * outside the item), VHDX_ERR_IO.  @scratch: at least 4096 bytes.
 */
int vhdx_disk_locator_get(const struct vhdx_disk *d, const struct vhdx_source *src,
			  const char *key, char *buf, size_t len, void *scratch, size_t scratch_len);

#endif /* VHDX_DISK_H */
