/* SPDX-License-Identifier: MIT */
/*
 * vhdx_read.h - the allocation-free VHDX reader and strict checker.
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
 *
 * Rendering (human text, JSON, one finding per line) is here too, so that
 * the host tool and the UEFI app print identical output.
 */
#ifndef VHDX_READ_H
#define VHDX_READ_H

#include "vhdx_base.h"
#include "vhdx_text.h"

/*
 * Scratch buffer [byte].  The minimum holds both 64 KiB region tables (or
 * the metadata table and a read window); more is used for larger BAT
 * windows and for the overlap bitmap (see vhdx_check).  With
 * VHDX_CHECK_SCRATCH_ONE_PASS bytes, the overlap check of a 64 TiB file
 * takes one pass over the BAT.
 */
#define VHDX_READ_SCRATCH_MIN        (128u * 1024u)
#define VHDX_CHECK_SCRATCH_ONE_PASS  (8u * 1024u * 1024u + 64u * 1024u)

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

/* Scratch for vhdx_disk_open and the locator look-ups [byte]. */
#define VHDX_OPEN_SCRATCH_MIN (128u * 1024u)
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

/* Scratch for vhdx_log_find and vhdx_log_replay [byte]. */
#define VHDX_LOG_SCRATCH_MIN (64u * 1024u)

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

/*
 * The parent chain of a differencing disk [2.6.2.6]: one policy for every
 * frontend.  A child names its parent by relative_path, then volume_path,
 * then absolute_win32_path; the core asks the frontend to open each path
 * (text as stored, '\' separators), and accepts a candidate only when it
 * opens as a VHDX whose current DataWriteGuid equals parent_linkage, with
 * the child's virtual size and logical sector size.  The chain ends at a
 * disk that is not differencing; it is refused when it is deeper than the
 * caller's array or comes back to a disk already in it (a cycle).
 */
enum vhdx_path_kind {
	VHDX_PATH_RELATIVE = 0,  /* ".\x.vhdx", "..\a\x.vhdx", "x.vhdx": from the child's folder */
	VHDX_PATH_ROOTED,        /* "\a\x.vhdx" or "/a/x.vhdx": from a volume or file system root */
	VHDX_PATH_DRIVE,         /* "C:\a\x.vhdx": a Windows drive letter */
	VHDX_PATH_VOLUME,        /* "\\?\Volume{GUID}\a\x.vhdx", "\\server\share\...": Windows only */
};
enum vhdx_path_kind vhdx_path_kind(const char *path);

/* What the frontend's open callback says about one candidate. */
enum vhdx_parent_open {
	VHDX_PARENT_OPENED = 0,  /* *ret_src is readable until close */
	VHDX_PARENT_ABSENT,      /* nothing there (why: "No such file or directory") */
	VHDX_PARENT_CANNOT,      /* a form this frontend cannot follow (a Windows drive here) */
	VHDX_PARENT_FAILED,      /* there, but it cannot be read (why says why) */
};

struct vhdx_parent_ops {
	void *ctx;
	/*
	 * Opens the file that locator value @path (of kind @kind, from key
	 * @key) names, as seen from @child_name (the name the previous open
	 * gave, or the one given to vhdx_chain_open for the first child).
	 * Fills @name with what it opened or tried (the path as this frontend
	 * spells it, for lines and messages; left empty, the stored text is
	 * shown), *ret_src when OPENED, and @why on anything else.  Windows
	 * forms (DRIVE, VOLUME) are never looked up relative to a current
	 * folder: a frontend that cannot follow them says CANNOT.
	 */
	enum vhdx_parent_open (*open)(void *ctx, const char *child_name, const char *key,
				      const char *path, enum vhdx_path_kind kind,
				      struct vhdx_source *ret_src, char *name, size_t name_len,
				      char *why, size_t why_len);
	/* Releases what open acquired for @src.  May be NULL. */
	void (*close)(void *ctx, struct vhdx_source *src);
	/*
	 * Memory for the index of a level's active log (vhdx_log_view_index),
	 * @len bytes (vhdx_log_view_index_size), or NULL: reads through that
	 * log then walk it (slower, the same bytes).  Given back through
	 * index_free when the level is closed or refused.  May be NULL.
	 */
	void *(*index_alloc)(void *ctx, size_t len);
	void (*index_free)(void *ctx, void *mem, size_t len);
};

/*
 * A chain level's name: the path the frontend opened it by, and the
 * folder its own parent's relative_path starts from, so never cut: as
 * long as Linux's PATH_MAX (4096 bytes, NUL included).  A longer path is
 * refused as too long, with that reason.
 */
#define VHDX_NAME_SIZE 4096u
/*
 * The deepest chain any verb reads or creates, the child included: 16
 * levels, 15 parents.  Readers size their level arrays by it; create
 * refuses a child whose parent's chain already has this many levels
 * (vhdx_parent_depth), with the words the readers use.
 */
#define VHDX_CHAIN_DEPTH_MAX 16u
#define VHDX_CHAIN_WHY_SIZE 2304u /* [byte] chain->why: refused and tried notes, NUL included */

/* One disk of a chain: level 0 is the child that was opened. */
struct vhdx_chain_level {
	struct vhdx_disk disk;          /* as after replay when through_log */
	struct vhdx_source src;         /* the file; owned by the frontend (close) */
	bool through_log;               /* its log is active: read through view.source */
	struct vhdx_log_view view;
	void *log_index;                /* the view's index (ops->index_alloc), or NULL */
	size_t log_index_len;           /* [byte] */
	char name[VHDX_NAME_SIZE];      /* display name */
	const char *key;                /* locator key that found it; NULL for level 0 */
};

enum vhdx_chain_verdict {
	VHDX_CHAIN_COMPLETE = 0,  /* every parent found and accepted, ends at a non-differencing disk */
	VHDX_CHAIN_ABSENT,        /* a level's parent was not found at any path */
	VHDX_CHAIN_MISMATCH,      /* a candidate was found but refused (linkage, size, sectors, not a VHDX) */
	VHDX_CHAIN_CYCLE,         /* a parent is already in the chain */
	VHDX_CHAIN_TOO_DEEP,      /* more levels than the caller's array */
	VHDX_CHAIN_BAD_LOCATOR,   /* the child's locator has no usable parent_linkage */
};

struct vhdx_chain {
	struct vhdx_chain_level *levels;  /* caller's array */
	unsigned max_levels;
	unsigned depth;                   /* levels opened, child included */
	enum vhdx_chain_verdict verdict;
	unsigned failed_level;            /* the level whose parent failed (verdict != COMPLETE) */
	char why[VHDX_CHAIN_WHY_SIZE];    /* names the path rejected or tried, for lines and findings */
};

/*
 * vhdx_chain_open - open @levels[0] from @src (named @name) and walk its
 * parents through @ops.  Returns VHDX_OK when the walk ran (the verdict
 * says how it ended: a broken chain is not an error here), the errors of
 * vhdx_disk_open for level 0 (nothing kept open then), or
 * VHDX_ERR_INVAL.  Parents that were opened stay open until
 * vhdx_chain_close.  @scratch: at least VHDX_OPEN_SCRATCH_MIN bytes.
 */
int vhdx_chain_open(struct vhdx_chain *chain, struct vhdx_chain_level *levels, unsigned max_levels,
		    const struct vhdx_source *src, const char *name, const struct vhdx_parent_ops *ops,
		    void *scratch, size_t scratch_len, char *why, size_t why_len);
/* Closes every parent (not level 0's source, which the caller gave) and
 * gives back every log index (ops->index_free); once.  The levels' disks
 * and names stay readable for printing. */
void vhdx_chain_close(struct vhdx_chain *chain, const struct vhdx_parent_ops *ops);

enum vhdx_severity {
	VHDX_SEV_ERROR = 0,    /* a MUST of the specification is broken */
	VHDX_SEV_WARNING = 1,  /* legal but unusual, or only a reader's convention */
};

/*
 * Every rule the checker knows.  The stable short name (vhdx_rule_id(),
 * e.g. "hdr.checksum") is what scripts and tests match on; the text
 * (vhdx_rule_text()) says what the specification requires and where.
 */
enum vhdx_rule {
	VHDX_R_FILE_SIGNATURE = 0,
	VHDX_R_FILE_TRUNCATED,
	VHDX_R_HDR_SIGNATURE,
	VHDX_R_HDR_CHECKSUM,
	VHDX_R_HDR_VERSION,
	VHDX_R_HDR_LOG_VERSION,
	VHDX_R_HDR_RESERVED,
	VHDX_R_HDR_LOG_ALIGN,
	VHDX_R_HDR_LOG_PLACE,
	VHDX_R_HDR_NONE_VALID,
	VHDX_R_HDR_SAME_SEQ_IDENTICAL,
	VHDX_R_HDR_SAME_SEQ_DIFFERENT,
	VHDX_R_LOG_REPLAY,
	VHDX_R_RGN_SIGNATURE,
	VHDX_R_RGN_CHECKSUM,
	VHDX_R_RGN_COUNT,
	VHDX_R_RGN_RESERVED,
	VHDX_R_RGN_OFFSET,
	VHDX_R_RGN_LENGTH,
	VHDX_R_RGN_REQUIRED_BITS,
	VHDX_R_RGN_OVERLAP,
	VHDX_R_RGN_DUPLICATE,
	VHDX_R_RGN_UNKNOWN_REQUIRED,
	VHDX_R_RGN_KNOWN_NOT_REQUIRED,
	VHDX_R_RGN_MISSING,
	VHDX_R_RGN_OUTSIDE,
	VHDX_R_RGN_TABLES_DIFFER,
	VHDX_R_RGN_NONE_VALID,
	VHDX_R_META_SIGNATURE,
	VHDX_R_META_RESERVED,
	VHDX_R_META_COUNT,
	VHDX_R_META_ENTRY_OFFSET,
	VHDX_R_META_ENTRY_LENGTH,
	VHDX_R_META_OVERLAP,
	VHDX_R_META_DUPLICATE,
	VHDX_R_META_FLAGS_RESERVED,
	VHDX_R_META_ENTRY_RESERVED,
	VHDX_R_META_FLAGS,
	VHDX_R_META_UNKNOWN_REQUIRED,
	VHDX_R_META_MISSING,
	VHDX_R_META_ITEM_LENGTH,
	VHDX_R_FP_BLOCK_SIZE,
	VHDX_R_FP_FLAGS,
	VHDX_R_VDS_RANGE,
	VHDX_R_VDS_MULTIPLE,
	VHDX_R_LSS_VALUE,
	VHDX_R_PSS_VALUE,
	VHDX_R_PL_TYPE,
	VHDX_R_PL_RESERVED,
	VHDX_R_PL_LENGTH,
	VHDX_R_PL_ENTRY,
	VHDX_R_PL_DUPLICATE_KEY,
	VHDX_R_PL_LINKAGE,
	VHDX_R_PL_PATH,
	VHDX_R_PL_MISSING,
	VHDX_R_PL_UNEXPECTED,
	VHDX_R_PARENT_ABSENT,
	VHDX_R_PARENT_MISMATCH,
	VHDX_R_BAT_REGION_SIZE,
	VHDX_R_BAT_RESERVED,
	VHDX_R_BAT_STATE,
	VHDX_R_BAT_STATE_FIXED,
	VHDX_R_BAT_OFFSET_RESERVED,
	VHDX_R_BAT_SB_STATE,
	VHDX_R_BAT_SB_MISSING,
	VHDX_R_BAT_OUTSIDE,
	VHDX_R_BAT_OVERLAP_STRUCT,
	VHDX_R_BAT_OVERLAP,
	VHDX_R_BAT_BEYOND_DISK,
	VHDX_R_SUPPRESSED,
	VHDX_R_FILE_TRAILING,
	VHDX_R_LOG_WITHHELD,
	VHDX_R_LOG_GUID_UNUSED,
	VHDX_R_LOG_CORRUPT,
	VHDX_R_COUNT_
};

const char *vhdx_rule_id(enum vhdx_rule rule);    /* "hdr.checksum" */
const char *vhdx_rule_text(enum vhdx_rule rule);  /* "... [2.2.2]" */
enum vhdx_severity vhdx_rule_severity(enum vhdx_rule rule);
/* True for the rules whose error makes a log replay unsafe (the log
 * misplaced or overlapping a structure, no current header to write after,
 * the file truncated, the log unreadable): `repair` refuses them.  Any
 * other error remains after the replay and is reported then. */
bool vhdx_rule_blocks_replay(enum vhdx_rule rule);

/* One finding; the strings live only during the callback. */
struct vhdx_finding {
	enum vhdx_severity severity;
	enum vhdx_rule rule;
	uint64_t offset;      /* [byte] file offset of the offending field */
	const char *where;    /* "header 1", "BAT entry 7 (block 7)", ... */
	const char *found;    /* the value found (and what was expected), or "" */
};

typedef void (*vhdx_finding_fn)(void *ctx, const struct vhdx_finding *f);

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
 * @scratch, @scratch_len: at least VHDX_READ_SCRATCH_MIN bytes.  After the
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

/* A line of text without its newline; valid only during the call. */
typedef void (*vhdx_line_fn)(void *ctx, const char *line);

/*
 * vhdx_info_print - render info as human-readable lines, or as one JSON
 * object (stable keys, several lines).
 */
void vhdx_info_print(const struct vhdx_info *info, bool json, vhdx_line_fn line, void *ctx);

/* "VHDX (dynamic, 64 GiB)" or "not a VHDX"; returns the length. */
size_t vhdx_info_summary(const struct vhdx_info *info, char *buf, size_t len);

/*
 * vhdx_finding_to_text - one line:
 * "error: header 1 @0x10004: <rule text>: found <value> (hdr.checksum)".
 * Returns the length (the text is cut to fit, always NUL-terminated).
 */
size_t vhdx_finding_to_text(const struct vhdx_finding *f, char *buf, size_t len);

/* Name of a known region / metadata item GUID, or NULL. */
const char *vhdx_region_name(const struct vhdx_guid *g);
const char *vhdx_item_name(const struct vhdx_guid *g);
const char *vhdx_type_name(enum vhdx_type type);

/* The parent locator value of @key (UTF-8), or NULL if absent or not kept. */
const char *vhdx_info_locator_value(const struct vhdx_info *info, const char *key);

/* The chain's verdict in words ("complete", "parent absent", ...). */
const char *vhdx_chain_verdict_name(enum vhdx_chain_verdict v);
/* "VHDX (dynamic, 1 GiB)"; returns the length. */
size_t vhdx_disk_summary(const struct vhdx_disk *d, char *buf, size_t len);

/*
 * vhdx_chain_report - the checker's finding about a chain that did not
 * end well: parent.absent (a warning: the parent may live elsewhere) or
 * parent.mismatch (an error: a candidate was there and refused, a cycle,
 * too deep), counted in @info (may be NULL) and passed to @fn.
 */
void vhdx_chain_report(const struct vhdx_chain *chain, struct vhdx_info *info, vhdx_finding_fn fn,
		       void *ctx);

/*
 * vhdx_chain_print - the chain of a differencing disk as `info` shows it:
 * "parent chain:" and one line per level, or (@json) the "parent_chain"
 * member of info's object (@last: no comma after it).  Nothing for a disk
 * that is not differencing.
 */
void vhdx_chain_print(const struct vhdx_chain *chain, bool json, bool last, vhdx_line_fn line,
		      void *ctx);

/*
 * vhdx_examine - what `info` and `check` report, one call for every
 * frontend: the image checked as it is after replay when its log is
 * active (read through the view of @levels[0]; the findings still say
 * that replay is pending), and for a differencing image its chain walked
 * through @ops and judged (vhdx_chain_report).  Parents are closed again
 * before it returns; *ret_walked says whether @chain holds levels to print
 * (false when the decoder refused the image: the checker's findings say
 * why).  Returns as vhdx_check.
 */
int vhdx_examine(const struct vhdx_source *src, const char *name, struct vhdx_chain *chain,
		 struct vhdx_chain_level *levels, unsigned max_levels, const struct vhdx_parent_ops *ops,
		 void *scratch, size_t scratch_len, struct vhdx_info *info, vhdx_finding_fn fn, void *ctx,
		 bool *ret_walked);

/* The closing line of `check`: "NAME: VHDX (dynamic, 1 GiB): 0 errors,
 * 1 warning" (a NAME ending in ':' takes no second one).  Returns the length. */
size_t vhdx_check_line(const char *name, const struct vhdx_info *info, char *buf, size_t len);

/* vhdx_info_print with the chain (may be NULL) in it: its lines after the
 * rest, or its member in the JSON object. */
void vhdx_info_print_chain(const struct vhdx_info *info, const struct vhdx_chain *chain, bool json,
			   vhdx_line_fn line, void *ctx);

#endif /* VHDX_READ_H */
