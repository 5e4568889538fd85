/* SPDX-License-Identifier: MIT */
/*
 * vhdx_rules.h - every rule the checker knows (stable id, severity, what
 * [MS-VHDX] requires) and a finding, the checker's unit of report.
 */
#ifndef VHDX_RULES_H
#define VHDX_RULES_H

#include "vhdx_base.h"

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

#endif /* VHDX_RULES_H */
