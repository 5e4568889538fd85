/* SPDX-License-Identifier: MIT */
/*
 * vhdx_internal.h - private helpers of the core: byte-wise little-endian
 * access, overflow-checked arithmetic, and a windowed output cursor.
 */
#ifndef VHDX_INTERNAL_H
#define VHDX_INTERNAL_H

#include "vhdx.h"
#include "vhdx_format.h"

#define VHDX_IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)
#define VHDX_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define VHDX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The least scratch each call accepts [byte] (VHDX_ERR_INVAL below it);
 * callers outside the core give VHDX_SCRATCH_SIZE, which holds them all.
 */
#define VHDX_SCRATCH_MIN      4096u             /* vhdx_image_write: one page */
#define VHDX_FILL_SCRATCH_MIN (2u * 4096u)      /* vhdx_image_write_from: a window and a BAT page */
#define VHDX_DATA_SCRATCH_MIN (8u * 1024u)      /* vhdx_map, vhdx_read_at: a BAT page and a bitmap page */
#define VHDX_LOG_SCRATCH_MIN  (64u * 1024u)     /* vhdx_log_find, vhdx_log_replay */
#define VHDX_OPEN_SCRATCH_MIN (128u * 1024u)    /* vhdx_disk_open, vhdx_chain_open: both region tables */
#define VHDX_READ_SCRATCH_MIN (128u * 1024u)    /* vhdx_check, vhdx_probe: the region tables, a window */
_Static_assert(VHDX_SCRATCH_MIN <= VHDX_SCRATCH_SIZE && VHDX_FILL_SCRATCH_MIN <= VHDX_SCRATCH_SIZE &&
	       VHDX_DATA_SCRATCH_MIN <= VHDX_SCRATCH_SIZE && VHDX_LOG_SCRATCH_MIN <= VHDX_SCRATCH_SIZE &&
	       VHDX_OPEN_SCRATCH_MIN <= VHDX_SCRATCH_SIZE && VHDX_READ_SCRATCH_MIN <= VHDX_SCRATCH_SIZE,
	       "VHDX_SCRATCH_SIZE satisfies every call");

static inline void vhdx_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void vhdx_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void vhdx_put_le64(uint8_t *p, uint64_t v)
{
	vhdx_put_le32(p, (uint32_t)v);
	vhdx_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t vhdx_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t vhdx_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t vhdx_get_le64(const uint8_t *p)
{
	return (uint64_t)vhdx_get_le32(p) | ((uint64_t)vhdx_get_le32(p + 4) << 32);
}

/* The GUIDs that name regions and the locator type [3], each defined once
 * (vhdx_format.c); the metadata items' GUIDs are in vhdx_items_. */
extern const struct vhdx_guid vhdx_guid_bat_region_;
extern const struct vhdx_guid vhdx_guid_metadata_region_;
extern const struct vhdx_guid vhdx_guid_locator_type_;

/* The known metadata items [2.6.2], in Windows' order (vhdx_format.c). */
enum vhdx_item_kind_ {
	VHDX_ITEM_FP_ = 0,  /* File Parameters */
	VHDX_ITEM_VDS_,     /* Virtual Disk Size */
	VHDX_ITEM_LSS_,     /* Logical Sector Size */
	VHDX_ITEM_PSS_,     /* Physical Sector Size */
	VHDX_ITEM_PAGE83_,  /* Virtual Disk ID */
	VHDX_ITEM_PL_,      /* Parent Locator */
	VHDX_ITEM_COUNT_
};

struct vhdx_item_def_ {
	struct vhdx_guid id;
	char name[24];           /* an array, not a pointer: no relocation */
	uint32_t flags;          /* IsUser 1, IsVirtualDisk 2, IsRequired 4 [2.6.1.2] */
	uint32_t length;         /* [byte]; 0: variable (the parent locator) */
	uint32_t windows_offset; /* [byte] from the region start, where Windows packs it */
	bool required;           /* must be present (the locator only when HasParent) */
};

extern const struct vhdx_item_def_ vhdx_items_[VHDX_ITEM_COUNT_];

/* The enum vhdx_item_kind_ of item @id, or -1 for an item not known. */
int vhdx_item_kind_(const struct vhdx_guid *id);

/* The core's own memory primitives: no libc, and -fno-builtin keeps the
 * compiler from turning them back into calls (see core.mk). */
void vhdx_mem_zero_(void *buf, size_t len);
void vhdx_mem_copy_(void *dst, const void *src, size_t len);
bool vhdx_mem_equal_(const void *a, const void *b, size_t len);
/* The value of hexadecimal digit @c (either case), or -1. */
int vhdx_hex_digit_(int c);
size_t vhdx_str_len_(const char *s);

/*
 * The device seam (vhdx_dev.c): every source read, sink write and flush of
 * the core.  0, or VHDX_ERR_IO whatever the callback said (its native code
 * stays in its ctx).  A sink without flush() is durable as it goes: 0.
 */
int vhdx_dev_read_(const struct vhdx_source *src, uint64_t off, void *buf, size_t len);
int vhdx_dev_write_(const struct vhdx_sink *sink, uint64_t off, const void *buf, size_t len);
int vhdx_dev_flush_(const struct vhdx_sink *sink);
/* The sink's zero() on [off, off+len): 0, VHDX_ERR_IO, or
 * VHDX_ERR_UNSUPPORTED (no zero(), or it said so: the caller writes zeros). */
int vhdx_dev_zero_(const struct vhdx_sink *sink, uint64_t off, uint64_t len);

/*
 * The one read window (vhdx_dev.c): a piece of a source in the caller's
 * scratch, @size bytes (a multiple of 4096), loaded from 4096-aligned
 * offsets.  The decoder and checker read small structures at any offset
 * through it, the log scans its ring with it, the mapper keeps BAT,
 * bitmap and bounce pages in them (@tag: the chain level of @src).
 */
struct vhdx_window_ {
	const struct vhdx_source *src;
	uint8_t *buf;
	size_t size;           /* [byte] of buf */
	uint64_t start;        /* file offset of buf[0] */
	uint64_t len;          /* [byte] valid from start; 0: empty */
	unsigned tag;
};

void vhdx_window_init_(struct vhdx_window_ *w, const struct vhdx_source *src, void *buf, size_t size);
/* @w holds [off, off+n) of the file tagged @tag. */
static inline bool vhdx_window_holds_(const struct vhdx_window_ *w, unsigned tag, uint64_t off, uint64_t n)
{
	return w->len && w->tag == tag && off >= w->start && off - w->start <= w->len &&
	       n <= w->len - (off - w->start);
}
/* Loads [start, start+n) (4096-aligned start, n <= size, inside the
 * source) in place of what @w held: 0, or VHDX_ERR_IO (@w empty). */
int vhdx_window_load_(struct vhdx_window_ *w, uint64_t start, uint64_t n);
/* Copies [off, off+n) into @out, loading the window as needed: as much as
 * it holds from the aligned offset, up to the source's end.  1: not inside
 * the source (nothing copied); 0; VHDX_ERR_IO. */
int vhdx_window_read_(struct vhdx_window_ *w, uint64_t off, void *out, size_t n);

/* Overflow-checked: false when the result does not fit. */
static inline bool vhdx_add_u64_(uint64_t a, uint64_t b, uint64_t *ret)
{
	if (a + b < a)
		return false;
	*ret = a + b;
	return true;
}

/* 64-by-32 division without libgcc helpers (32-bit targets). */
uint64_t vhdx_udiv64_32_(uint64_t n, uint32_t d, uint32_t *ret_rem);

/* log2 of a power of two. */
unsigned vhdx_log2_(uint64_t pow2);

/*
 * The chunk of BAT entry @index (index / (CR + 1)); *ret_pos is its place
 * in the chunk: below CR a payload block's entry (block chunk * CR + pos),
 * CR the chunk's sector bitmap entry [2.5].
 */
uint64_t vhdx_geometry_chunk_of_(const struct vhdx_geometry *g, uint64_t index, uint32_t *ret_pos);

/*
 * A windowed cursor: a structure is emitted as a stream of bytes from
 * position 0, and only the bytes inside [start, start + len) land in buf
 * (at buf[pos - start]).  The same emitter then serves a whole-buffer
 * encoder (start 0) and a scratch buffer smaller than the structure.
 */
struct vhdx_cursor_ {
	uint8_t *buf;
	uint64_t start;   /* stream position of buf[0] */
	size_t len;
	uint64_t pos;     /* current stream position */
};

void vhdx_emit_bytes_(struct vhdx_cursor_ *c, const void *data, size_t n);
void vhdx_emit_le16_(struct vhdx_cursor_ *c, uint16_t v);
void vhdx_emit_le32_(struct vhdx_cursor_ *c, uint32_t v);
void vhdx_emit_le64_(struct vhdx_cursor_ *c, uint64_t v);
/* UTF-8 to UTF-16LE; returns the number of units, or -1 if invalid UTF-8.
 * With c == NULL it only counts. */
long vhdx_emit_utf16_(struct vhdx_cursor_ *c, const char *utf8);

/* Renderers used by the writer: bytes [off, off+len) of the structure. */
void vhdx_meta_items_render_(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len);

/* Public functions no frontend calls: the checker's and the printers'. */
size_t vhdx_u64_to_text(uint64_t v, char *buf, size_t len);
enum vhdx_severity vhdx_rule_severity(enum vhdx_rule rule);
/* Name of a known region / metadata item GUID, or NULL. */
const char *vhdx_region_name(const struct vhdx_guid *g);
const char *vhdx_item_name(const struct vhdx_guid *g);

/* "more than 15 parents: a chain this deep is refused": the readers' and
 * create's words for a chain past @max_levels levels (vhdx_chain.c). */
void vhdx_chain_too_deep_text_(struct vhdx_text *t, unsigned max_levels);

#endif /* VHDX_INTERNAL_H */
