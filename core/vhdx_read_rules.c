/* SPDX-License-Identifier: MIT */
/*
 * vhdx_read_rules.c - every rule the checker knows: stable id, severity and
 * what [MS-VHDX] v20240423 requires (section in brackets).
 */
#include "vhdx_internal.h"

/* Arrays, not pointers: the table stays in .rodata without relocations. */
struct rule_def {
	char id[24];
	char text[144];
	enum vhdx_severity severity;
};

#define E VHDX_SEV_ERROR
#define W VHDX_SEV_WARNING

static const struct rule_def rules[VHDX_R_COUNT_] = {
	[VHDX_R_FILE_SIGNATURE] = { "file.signature", "File Type Identifier must start with \"vhdxfile\" [2.2.1]", E },
	[VHDX_R_FILE_TRUNCATED] = { "file.truncated", "structure must lie inside the file [2.2]", E },
	[VHDX_R_HDR_SIGNATURE] = { "hdr.signature", "header signature must be \"head\" [2.2.2]", E },
	[VHDX_R_HDR_CHECKSUM] = { "hdr.checksum", "header checksum must be the CRC-32C of the 4 KiB header with the field zero [2.2.2]", E },
	[VHDX_R_HDR_VERSION] = { "hdr.version", "header Version must be 1 [2.2.2]", E },
	[VHDX_R_HDR_LOG_VERSION] = { "hdr.log_version", "header LogVersion must be 0 [2.2.2]", E },
	[VHDX_R_HDR_RESERVED] = { "hdr.reserved", "header reserved bytes 80..4095 must be zero [2.2.2]", E },
	[VHDX_R_HDR_LOG_ALIGN] = { "hdr.log_align", "LogOffset and LogLength must be multiples of 1 MiB, LogOffset >= 1 MiB [2.2.2]", E },
	[VHDX_R_HDR_LOG_PLACE] = { "hdr.log_place", "the log must lie inside the file and overlap no other structure [2.2.2, 2.1]", E },
	[VHDX_R_HDR_NONE_VALID] = { "hdr.none_valid", "at least one header must be valid [2.2.2]", E },
	[VHDX_R_HDR_SAME_SEQ_IDENTICAL] = { "hdr.same_sequence", "valid headers should have different sequence numbers (identical copies accepted) [2.2.2]", W },
	[VHDX_R_HDR_SAME_SEQ_DIFFERENT] = { "hdr.ambiguous", "two valid headers with the same sequence number must not differ: the current one is undefined [2.2.2]", E },
	[VHDX_R_LOG_REPLAY] = { "log.replay", "LogGuid is non-zero: the log must be replayed before the data can be trusted [2.2.2, 2.3]", E },
	[VHDX_R_RGN_SIGNATURE] = { "rgn.signature", "region table signature must be \"regi\" [2.2.3]", E },
	[VHDX_R_RGN_CHECKSUM] = { "rgn.checksum", "region table checksum must be the CRC-32C of the 64 KiB table with the field zero [2.2.3]", E },
	[VHDX_R_RGN_COUNT] = { "rgn.count", "region table EntryCount must be <= 2047 [2.2.3.1]", E },
	[VHDX_R_RGN_RESERVED] = { "rgn.reserved", "region table reserved field must be zero [2.2.3.1]", E },
	[VHDX_R_RGN_OFFSET] = { "rgn.offset", "region FileOffset must be a multiple of 1 MiB and >= 1 MiB [2.2.3.2]", E },
	[VHDX_R_RGN_LENGTH] = { "rgn.length", "region Length must be a non-zero multiple of 1 MiB [2.2.3.2]", E },
	[VHDX_R_RGN_REQUIRED_BITS] = { "rgn.required_bits", "region Required: bits 1..31 are reserved and must be zero [2.2.3.2]", E },
	[VHDX_R_RGN_OVERLAP] = { "rgn.overlap", "regions must not overlap each other or the first MiB [2.1, 2.2.3.2]", E },
	[VHDX_R_RGN_DUPLICATE] = { "rgn.duplicate", "each region GUID must appear once in a table [2.2.3.2]", E },
	[VHDX_R_RGN_UNKNOWN_REQUIRED] = { "rgn.unknown_required", "a region marked Required that the reader does not know: the file must not be opened [2.2.3.2]", E },
	[VHDX_R_RGN_KNOWN_NOT_REQUIRED] = { "rgn.not_required", "the BAT and metadata regions must be marked Required [2.2.3.2]", E },
	[VHDX_R_RGN_MISSING] = { "rgn.missing", "the region table must list the BAT and the metadata region [2.2.3.2]", E },
	[VHDX_R_RGN_OUTSIDE] = { "rgn.outside", "a region must lie inside the file [2.2.3.2]", E },
	[VHDX_R_RGN_TABLES_DIFFER] = { "rgn.tables_differ", "region table 1 and region table 2 must be identical [2.2.3]", E },
	[VHDX_R_RGN_NONE_VALID] = { "rgn.none_valid", "at least one region table must be valid [2.2.3]", E },
	[VHDX_R_META_SIGNATURE] = { "meta.signature", "metadata table signature must be \"metadata\" [2.6.1.1]", E },
	[VHDX_R_META_RESERVED] = { "meta.reserved", "metadata table header reserved fields must be zero [2.6.1.1]", E },
	[VHDX_R_META_COUNT] = { "meta.count", "metadata EntryCount must be <= 2047 [2.6.1.1]", E },
	[VHDX_R_META_ENTRY_OFFSET] = { "meta.offset", "metadata item Offset must be >= 64 KiB (0 only with Length 0) [2.6.1.2]", E },
	[VHDX_R_META_ENTRY_LENGTH] = { "meta.length", "metadata item Length must be <= 1 MiB and the item inside the metadata region [2.6.1.2]", E },
	[VHDX_R_META_OVERLAP] = { "meta.overlap", "metadata items must not overlap [2.6.1.2]", E },
	[VHDX_R_META_DUPLICATE] = { "meta.duplicate", "ItemId and IsUser must be unique in the metadata table [2.6.1.2]", E },
	[VHDX_R_META_FLAGS_RESERVED] = { "meta.flags_reserved", "metadata entry flag bits 3..31 are reserved and must be zero [2.6.1.2]", E },
	[VHDX_R_META_ENTRY_RESERVED] = { "meta.entry_reserved", "metadata entry Reserved2 must be zero [2.6.1.2]", E },
	[VHDX_R_META_FLAGS] = { "meta.flags", "a known metadata item must carry its IsUser/IsVirtualDisk/IsRequired flags [2.6.2]", E },
	[VHDX_R_META_UNKNOWN_REQUIRED] = { "meta.unknown_required", "an item marked IsRequired that the reader does not know: the file must not be opened [2.6.1.2]", E },
	[VHDX_R_META_MISSING] = { "meta.missing", "a required metadata item is missing [2.6.2]", E },
	[VHDX_R_META_ITEM_LENGTH] = { "meta.item_length", "a known metadata item must have its defined length [2.6.2]", E },
	[VHDX_R_FP_BLOCK_SIZE] = { "fp.block_size", "BlockSize must be a power of two from 1 MiB to 256 MiB [2.6.2.1]", E },
	[VHDX_R_FP_FLAGS] = { "fp.flags", "File Parameters bits 2..31 are reserved and must be zero [2.6.2.1]", E },
	[VHDX_R_VDS_RANGE] = { "vds.range", "VirtualDiskSize must be from 1 byte to 64 TiB [2.6.2.2]", E },
	[VHDX_R_VDS_MULTIPLE] = { "vds.multiple", "VirtualDiskSize must be a multiple of the logical sector size [2.6.2.2]", E },
	[VHDX_R_LSS_VALUE] = { "lss.value", "LogicalSectorSize must be 512 or 4096 [2.6.2.4]", E },
	[VHDX_R_PSS_VALUE] = { "pss.value", "PhysicalSectorSize must be 512 or 4096 [2.6.2.5]", E },
	[VHDX_R_PL_TYPE] = { "pl.type", "parent locator LocatorType must be the VHDX locator B04AEFB7-D19E-4A81-B789-25B8E9445913 [2.6.2.6]", E },
	[VHDX_R_PL_RESERVED] = { "pl.reserved", "parent locator header Reserved must be zero [2.6.2.6.1]", E },
	[VHDX_R_PL_LENGTH] = { "pl.length", "the parent locator entries must fit the item [2.6.2.6.1]", E },
	[VHDX_R_PL_ENTRY] = { "pl.entry", "parent locator key and value must be non-empty, UTF-16 (even length) and inside the item [2.6.2.6.2]", E },
	[VHDX_R_PL_DUPLICATE_KEY] = { "pl.duplicate_key", "parent locator keys must be unique [2.6.2.6.2]", E },
	[VHDX_R_PL_LINKAGE] = { "pl.parent_linkage", "parent_linkage must be present and hold a GUID {xxxxxxxx-...} [2.6.2.6.3]", E },
	[VHDX_R_PL_PATH] = { "pl.path", "at least one of relative_path, volume_path, absolute_win32_path must be present [2.6.2.6.3]", E },
	[VHDX_R_PL_MISSING] = { "pl.missing", "a differencing image (HasParent) must have a parent locator [2.6.2.1, 2.6.2.6]", E },
	[VHDX_R_PL_UNEXPECTED] = { "pl.unexpected", "a parent locator without HasParent is ignored [2.6.2.6]", W },
	[VHDX_R_PARENT_ABSENT] = { "parent.absent", "the parent named by the locator was not found: the virtual disk cannot be read [2.6.2.6.3]", W },
	[VHDX_R_PARENT_MISMATCH] = { "parent.mismatch", "the parent found must have DataWriteGuid = parent_linkage and the child's virtual size and logical sector [2.6.2.6.3]", E },
	[VHDX_R_BAT_REGION_SIZE] = { "bat.region_size", "the BAT region must hold every BAT entry of the disk [2.5]", E },
	[VHDX_R_BAT_RESERVED] = { "bat.reserved", "BAT entry bits 3..19 are reserved and must be zero [2.5]", E },
	[VHDX_R_BAT_STATE] = { "bat.state", "payload BAT state must be 0,1,2,3,6, or 7 (7 only in a differencing image) [2.5.1.1]", E },
	[VHDX_R_BAT_STATE_FIXED] = { "bat.state_fixed", "a fixed image's blocks should be FULLY_PRESENT [2.5.1.1]", W },
	[VHDX_R_BAT_OFFSET_RESERVED] = { "bat.offset_reserved", "FileOffsetMB is reserved (zero) for NOT_PRESENT and ZERO entries [2.5.1.1, 2.5.1.2]", E },
	[VHDX_R_BAT_SB_STATE] = { "bat.sb_state", "sector bitmap BAT state must be NOT_PRESENT (0), or PRESENT (6) in a differencing image [2.5.1.2]", E },
	[VHDX_R_BAT_SB_MISSING] = { "bat.sb_missing", "a chunk with PARTIALLY_PRESENT blocks must have its sector bitmap PRESENT [2.5.1.2]", E },
	[VHDX_R_BAT_OUTSIDE] = { "bat.outside", "an allocated block must lie wholly inside the file [2.5]", E },
	[VHDX_R_BAT_OVERLAP_STRUCT] = { "bat.overlap_struct", "an allocated block must not overlap the headers, log, BAT, metadata or another region [2.1, 2.5]", E },
	[VHDX_R_BAT_OVERLAP] = { "bat.overlap", "allocated blocks must not overlap each other [2.1, 2.5]", E },
	[VHDX_R_BAT_BEYOND_DISK] = { "bat.beyond_disk", "an entry for a block past the virtual disk end should be NOT_PRESENT [2.5]", W },
	[VHDX_R_SUPPRESSED] = { "findings.suppressed", "further findings of rules listed above were counted, not listed", E },
	[VHDX_R_FILE_TRAILING] = { "file.trailing", "data after the last structure or block [2.1]", W },
	[VHDX_R_LOG_WITHHELD] = { "log.withheld", "findings about the BAT and the file end are withheld until the log is replayed: they would describe the image before replay [2.3]", W },
	[VHDX_R_LOG_GUID_UNUSED] = { "log.guid_unused", "LogGuid is non-zero but no log entry carries it: nothing was logged, the file as it stands is the disk; repair clears it [2.3.3]", W },
	[VHDX_R_LOG_CORRUPT] = { "log.corrupt", "the log must hold a valid sequence that replay can apply: entries, targets, FlushedFileOffset, LastFileOffset [2.3.1, 2.3.3]", E },
};

#undef E
#undef W

const char *vhdx_rule_id(enum vhdx_rule rule)
{
	if ((unsigned)rule >= VHDX_R_COUNT_)
		return "unknown";
	return rules[rule].id;
}

const char *vhdx_rule_text(enum vhdx_rule rule)
{
	if ((unsigned)rule >= VHDX_R_COUNT_)
		return "unknown rule";
	return rules[rule].text;
}

enum vhdx_severity vhdx_rule_severity(enum vhdx_rule rule)
{
	if ((unsigned)rule >= VHDX_R_COUNT_)
		return VHDX_SEV_ERROR;
	return rules[rule].severity;
}

bool vhdx_rule_blocks_replay(enum vhdx_rule rule)
{
	switch (rule) {
	case VHDX_R_FILE_SIGNATURE:
	case VHDX_R_FILE_TRUNCATED:
	case VHDX_R_HDR_LOG_VERSION:
	case VHDX_R_HDR_LOG_ALIGN:
	case VHDX_R_HDR_LOG_PLACE:
	case VHDX_R_HDR_NONE_VALID:
	case VHDX_R_HDR_SAME_SEQ_DIFFERENT:
	case VHDX_R_LOG_CORRUPT:
		return true;
	default:
		return false;
	}
}
