/* SPDX-License-Identifier: MIT */
/*
 * vhdx_decode.h - private: the bottom layer under the decoder
 * (vhdx_open.c) and the checker (vhdx_check*.c).  Reading a source through
 * a window of the caller's scratch, checksums, and the field parsers of
 * every structure of the first MiB and the metadata region.  Nothing here
 * judges beyond the predicates below, and nothing reports findings: what
 * a broken rule means (a finding, or a refusal) is the caller's.
 */
#ifndef VHDX_DECODE_H
#define VHDX_DECODE_H

#include "vhdx_internal.h"

#define VHDX_IO_ALIGN 4096u /* every read offset is a multiple of this [byte] */

/*
 * Reads [off, off+len) of @src into @buf.  1: the range is not inside the
 * source, or @off is not 4096-aligned (nothing read); 0: read;
 * VHDX_ERR_IO.
 */
int vhdx_source_read_(const struct vhdx_source *src, uint64_t off, void *buf, size_t len);

/* [off, off+len) lies inside [0, size). */
static inline bool vhdx_inside_(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Intervals [a, a+al) and [b, b+bl) intersect (lengths may be zero). */
static inline bool vhdx_overlaps_(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return al && bl && a < b + bl && b < a + al;
}

/* Two on-disk GUIDs are equal (inline: the pairwise table checks are O(n^2)). */
static inline bool vhdx_guid_bytes_equal_(const uint8_t *a, const uint8_t *b)
{
	return vhdx_get_le64(a) == vhdx_get_le64(b) && vhdx_get_le64(a + 8) == vhdx_get_le64(b + 8);
}

/*
 * The checksum of a header [2.2.2] or region table [2.2.3]: CRC-32C of
 * buf[0..len) with the 4-byte field at @csum_off taken as zero.  True when
 * it matches the stored field (always, in a VHDX_FUZZ_IGNORE_CRC build);
 * *ret_computed gets the computed value.
 */
bool vhdx_checksum_ok_(const uint8_t *buf, size_t len, size_t csum_off, uint32_t *ret_computed);
/* A stored checksum against the computed one: equal, or always true in a
 * VHDX_FUZZ_IGNORE_CRC build (headers, region tables, log entries). */
bool vhdx_crc_matches_(uint32_t stored, uint32_t computed);

/* --- 2.2.2 headers ------------------------------------------------------ */

/*
 * Decodes the 4 KiB header @p into @h (zeroed first): present, the
 * signature, and when it is there every field and whether the checksum
 * matches (*ret_computed: the computed checksum).
 */
void vhdx_header_decode_(const uint8_t *p, struct vhdx_info_header *h, uint32_t *ret_computed);
/* The current header [2.2.2]: the valid one with the larger sequence
 * number; 0 when both are valid with equal numbers; -1 when none is. */
int vhdx_header_current_(const struct vhdx_info_header h[2]);
/* The index of the first non-zero reserved byte (80..4095), or 4096. */
size_t vhdx_header_reserved_at_(const uint8_t *p);
/* LogOffset and LogLength are 1 MiB multiples and LogOffset >= 1 MiB. */
static inline bool vhdx_log_aligned_(const struct vhdx_info_header *h)
{
	return !(h->log_offset & (VHDX_MiB - 1)) && !(h->log_length & (VHDX_MiB - 1)) &&
	       h->log_offset >= VHDX_MiB;
}

/* --- 2.2.3 region table --------------------------------------------------- */

enum vhdx_region_kind_ { VHDX_REGION_OTHER_ = 0, VHDX_REGION_BAT_, VHDX_REGION_META_ };

struct vhdx_region_entry_ {
	struct vhdx_guid guid;
	uint64_t offset;       /* [byte] */
	uint32_t length;       /* [byte] */
	uint32_t required;     /* raw field */
	enum vhdx_region_kind_ kind;
};

/* The entry @j of region table @table (64 KiB). */
void vhdx_region_entry_decode_(const uint8_t *table, uint32_t j, struct vhdx_region_entry_ *r);
/* FileOffset a multiple of 1 MiB and >= 1 MiB. */
static inline bool vhdx_region_offset_ok_(uint64_t off)
{
	return !(off & (VHDX_MiB - 1)) && off >= VHDX_MiB;
}
/* Length a non-zero multiple of 1 MiB. */
static inline bool vhdx_region_length_ok_(uint32_t len)
{
	return len && !(len & (VHDX_MiB - 1));
}

/* --- 2.6 metadata --------------------------------------------------------- */

struct vhdx_meta_entry_ {
	struct vhdx_guid id;
	uint32_t offset;       /* [byte] from the region start */
	uint32_t length;       /* [byte] */
	uint32_t flags;        /* raw field */
	uint32_t reserved;
	int kind;              /* enum vhdx_item_kind_, or -1 */
};

/* The entry @j of metadata table @table (64 KiB). */
void vhdx_meta_entry_decode_(const uint8_t *table, uint32_t j, struct vhdx_meta_entry_ *m);
/* Offset >= 64 KiB, or 0 with Length 0 [2.6.1.2]. */
static inline bool vhdx_meta_offset_ok_(const struct vhdx_meta_entry_ *m)
{
	return m->length ? m->offset >= VHDX_META_TABLE_SIZE : m->offset == 0;
}
/* Length <= 1 MiB and the item inside a region of @region_len bytes. */
static inline bool vhdx_meta_inside_(const struct vhdx_meta_entry_ *m, uint32_t region_len)
{
	return m->length <= VHDX_META_ITEM_MAX_LENGTH && vhdx_inside_(m->offset, m->length, region_len);
}
/*
 * Which entry holds each known item: ret_pos[kind] is the first entry of
 * that ItemId without IsUser (a system item), or -1.  @count is clamped
 * to the table's 2047 entries.
 */
void vhdx_meta_find_items_(const uint8_t *table, uint32_t count, int32_t ret_pos[VHDX_ITEM_COUNT_]);

/* File Parameters [2.6.2.1]: BlockSize a power of two from 1 to 256 MiB. */
static inline bool vhdx_block_size_ok_(uint32_t bs)
{
	return VHDX_IS_POW2(bs) && bs >= VHDX_BLOCK_SIZE_MIN && bs <= VHDX_BLOCK_SIZE_MAX;
}
#define VHDX_FP_FLAGS_KNOWN (VHDX_FP_LEAVE_BLOCKS_ALLOCATED | VHDX_FP_HAS_PARENT)
/* The disk type the File Parameters flags make: HasParent wins. */
static inline enum vhdx_type vhdx_type_of_flags_(uint32_t flags)
{
	return (flags & VHDX_FP_HAS_PARENT) ? VHDX_TYPE_DIFFERENCING :
	       (flags & VHDX_FP_LEAVE_BLOCKS_ALLOCATED) ? VHDX_TYPE_FIXED : VHDX_TYPE_DYNAMIC;
}
/* Logical [2.6.2.4] and physical [2.6.2.5] sector sizes: 512 or 4096. */
static inline bool vhdx_sector_size_ok_(uint64_t v)
{
	return v == 512 || v == 4096;
}
/* VirtualDiskSize from 1 byte to 64 TiB [2.6.2.2]. */
static inline bool vhdx_virtual_size_ok_(uint64_t v)
{
	return v != 0 && v <= VHDX_VIRTUAL_SIZE_MAX;
}

/* --- 2.6.2.6 parent locator ----------------------------------------------- */

/* Header: LocatorType GUID, Reserved u16, KeyValueCount u16. */
#define VHDX_PL_RESERVED_OFF 16u
#define VHDX_PL_COUNT_OFF    18u

struct vhdx_pl_entry_ {
	uint32_t key_offset, value_offset;   /* [byte] from the item start */
	uint16_t key_length, value_length;   /* [byte] */
};

void vhdx_pl_entry_decode_(const uint8_t e[VHDX_PL_ENTRY_SIZE], struct vhdx_pl_entry_ *ret);
/* Key and value non-empty, UTF-16 (even lengths) and inside an item of
 * @item_len bytes [2.6.2.6.2]. */
static inline bool vhdx_pl_entry_ok_(const struct vhdx_pl_entry_ *e, uint32_t item_len)
{
	return e->key_length && e->value_length && !(e->key_length & 1) && !(e->value_length & 1) &&
	       vhdx_inside_(e->key_offset, e->key_length, item_len) &&
	       vhdx_inside_(e->value_offset, e->value_length, item_len);
}

/*
 * UTF-16LE @p[0..bytes) appended to @t as UTF-8; unpaired surrogates
 * become U+FFFD.  Never cuts a sequence: false when it stopped because
 * the next character did not fit (what fitted is in @t), true when all of
 * it was appended.
 */
bool vhdx_utf16_to_text_(struct vhdx_text *t, const uint8_t *p, size_t bytes);

#endif /* VHDX_DECODE_H */
