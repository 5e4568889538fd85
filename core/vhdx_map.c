/* SPDX-License-Identifier: MIT */
/*
 * vhdx_map.c - the virtual disk of a chain read through the BAT and the
 * sector bitmaps [2.4, 2.5, 2.5.1]: vhdx_map, vhdx_read_at, vhdx_is_zero.
 *
 * Resolution works on runs.  At one level a run is a stretch of the
 * virtual disk of one kind as that level alone sees it: FILE (in its file,
 * contiguous), ZERO (states ZERO, UNMAPPED, UNDEFINED; NOT_PRESENT outside
 * a differencing disk) or PARENT (NOT_PRESENT in a differencing disk, and
 * the 0 bits of a PARTIALLY_PRESENT block's sector bitmap).  A PARENT run
 * of level i is resolved at level i + 1 within its length; the result (a
 * piece) is ZERO or DATA of one level.  vhdx_map joins pieces while they
 * continue each other, so an extent is as long as the chain allows.
 *
 * Memory: the caller's scratch, cut into 4 KiB-aligned windows over the
 * levels' files, each tagged with (level, file offset): BAT windows (one
 * per level while there are enough, shared round-robin beyond), and one or
 * more pages for sector bitmaps, stray BAT pages and the read bounce.  A
 * BAT window is read one page at a time for a look-up and grows (doubling,
 * up to its share of the scratch) while a run is scanned sequentially.
 * Nothing is kept between calls.
 *
 * I/O: every source read starts at a multiple of 4096 and is a multiple of
 * 4096 long, except a read that ends at the source's end (a file whose
 * size is not a page multiple); no read leaves [0, size).  Arithmetic is
 * in shifts: no 64-bit division.
 */
#include "vhdx_internal.h"

#define PAGE            4096u   /* [byte] unit of every source read */
#define PAGE_SHIFT      12u
#define BITS_PER_PAGE   (PAGE * 8u)  /* sectors a bitmap page covers [2.4] */
#define BITS_PAGE_SHIFT 15u
#define SLOTS_MAX       8u      /* BAT windows; levels beyond share them */
#define BOUNCE_MAX      4u      /* bounce pages; levels beyond share them */
#define HEADER_SECTION  VHDX_HEADER_SECTION_SIZE /* [byte] no block lives in the first MiB [2.2] */
#define SB_BLOCK_SIZE   VHDX_MiB /* [byte] a sector bitmap block [2.4] */
#define BAT_OFFSET_MASK (~(uint64_t)(VHDX_MiB - 1)) /* FileOffsetMB << 20 [2.5] */

/* An internal answer of a look-up that may not read: not in the scratch. */
#define MISS 1

/* A window of one level's file in the scratch. */
struct win {
	uint8_t *buf;
	size_t cap;        /* [byte] multiple of PAGE */
	unsigned level;
	uint64_t off;      /* [byte] file offset of buf[0], PAGE-aligned */
	size_t len;        /* [byte] valid bytes from buf[0]; 0: empty */
};

/* The last sector bitmap entry a level looked up. */
struct sb_memo {
	bool valid;
	unsigned level;
	uint64_t chunk;
	uint64_t entry;    /* raw BAT entry */
};

struct mapper {
	const struct vhdx_chain *chain;
	struct win bat[SLOTS_MAX];
	unsigned nbat;
	struct win bm;        /* sector bitmap pages, stray BAT pages */
	struct win pages[BOUNCE_MAX];
	struct win *bounce[BOUNCE_MAX]; /* one per level up to BOUNCE_MAX; or &bm */
	unsigned nbounce;
	struct sb_memo sb[SLOTS_MAX];
};

enum run_kind { RUN_ZERO, RUN_FILE, RUN_PARENT };

/* A run of one level: kind, length from the position asked for. */
struct run {
	enum run_kind kind;
	uint64_t len;          /* [byte] */
	uint64_t file_offset;  /* [byte] FILE: where it starts in the level's file */
	bool cut;              /* stopped at a limit (window, page, length), not at a change */
};

static const struct vhdx_source *level_source(const struct vhdx_chain_level *l)
{
	return l->through_log ? &l->view.source : &l->src;
}

/* log2 of the logical sector size: 9 or 12 [2.6.2.4]. */
static unsigned lss_shift_of(const struct vhdx_geometry *g)
{
	return g->logical_sector_size == 4096u ? 12u : 9u;
}

/*
 * A chain the data path can use: complete, at least one level, every level
 * with the same virtual size, a geometry whose shifts are sane, a source
 * to read, a log that is either clean or read through its view, and a
 * last level that is not differencing.
 */
static int chain_check(const struct vhdx_chain *c)
{
	unsigned i;

	if (!c || !c->levels || c->depth == 0 || c->verdict != VHDX_CHAIN_COMPLETE)
		return VHDX_ERR_INVAL;
	for (i = 0; i < c->depth; i++) {
		const struct vhdx_chain_level *l = &c->levels[i];
		const struct vhdx_geometry *g = &l->disk.geom;
		const struct vhdx_source *src = level_source(l);
		unsigned lss_shift;

		if (!src->read || (l->disk.log_replay_needed && !l->through_log))
			return VHDX_ERR_INVAL;
		if (g->virtual_size != c->levels[0].disk.geom.virtual_size || g->virtual_size == 0)
			return VHDX_ERR_INVAL;
		if (g->logical_sector_size != 512u && g->logical_sector_size != 4096u)
			return VHDX_ERR_INVAL;
		lss_shift = lss_shift_of(g);
		/* BS 1..256 MiB [2.6.2.1]; CR = 2^23 * LSS / BS [2.5] */
		if (g->block_shift < 20u || g->block_shift > 28u ||
		    g->block_size != (uint32_t)1 << g->block_shift ||
		    g->chunk_shift != 23u + lss_shift - g->block_shift ||
		    g->chunk_ratio != (uint32_t)1 << g->chunk_shift ||
		    g->payload_blocks != (g->virtual_size + g->block_size - 1) >> g->block_shift)
			return VHDX_ERR_INVAL;
		/* the BAT region is MiB-aligned [2.2.3]: its pages are source pages */
		if ((l->disk.bat_offset & (PAGE - 1)) || (l->disk.bat_length & (PAGE - 1)) ||
		    l->disk.bat_offset + l->disk.bat_length < l->disk.bat_offset)
			return VHDX_ERR_CORRUPT;
	}
	if (c->levels[c->depth - 1].disk.type == VHDX_TYPE_DIFFERENCING)
		return VHDX_ERR_INVAL; /* its NOT_PRESENT blocks would have no parent */
	return VHDX_OK;
}

/*
 * Cuts the scratch (PAGE-aligned pieces from its start) into windows.
 * Two pages: a BAT window and one page for bitmaps and bounce.  More: a
 * bitmap page, BAT windows for up to SLOTS_MAX levels, bounce pages for up
 * to BOUNCE_MAX levels (levels beyond share them round-robin), and what is
 * left shared evenly by the BAT windows.
 */
static void mapper_init(struct mapper *m, const struct vhdx_chain *c, void *scratch, size_t scratch_len)
{
	uint8_t *p = scratch;
	size_t pages = scratch_len >> PAGE_SHIFT, rest, per;
	unsigned i;

	vhdx_mem_zero_(m, sizeof(*m));
	m->chain = c;
	m->bm.buf = p;
	m->bm.cap = PAGE;
	p += PAGE;
	rest = pages - 1;
	if (rest == 1) {
		m->nbat = 1;
		m->nbounce = 1;
		m->bounce[0] = &m->bm;
	} else {
		m->nbat = c->depth < SLOTS_MAX ? c->depth : SLOTS_MAX;
		if (m->nbat > rest - 1)
			m->nbat = (unsigned)(rest - 1);
		m->nbounce = c->depth < BOUNCE_MAX ? c->depth : BOUNCE_MAX;
		if (m->nbounce > rest - m->nbat)
			m->nbounce = (unsigned)(rest - m->nbat);
		for (i = 0; i < m->nbounce; i++) {
			m->pages[i].buf = p;
			m->pages[i].cap = PAGE;
			m->bounce[i] = &m->pages[i];
			p += PAGE;
		}
		rest -= m->nbounce;
	}
	per = (size_t)vhdx_udiv64_32_(rest, m->nbat, NULL);
	for (i = 0; i < m->nbat; i++) {
		m->bat[i].buf = p;
		m->bat[i].cap = per << PAGE_SHIFT;
		p += m->bat[i].cap;
	}
}

/* The BAT window of @level: its own, or shared round-robin. */
static struct win *bat_win(struct mapper *m, unsigned level)
{
	while (level >= m->nbat)
		level -= m->nbat;
	return &m->bat[level];
}

/* The bounce page of @level: its own, or shared round-robin. */
static struct win *bounce_win(struct mapper *m, unsigned level)
{
	while (level >= m->nbounce)
		level -= m->nbounce;
	return m->bounce[level];
}

/* Source errors pass up as they are (VHDX_ERR_IO); anything else a
 * callback returns that is not 0 becomes VHDX_ERR_IO. */
static int source_read(const struct vhdx_source *src, uint64_t off, void *buf, size_t len)
{
	int err = src->read(src, off, buf, len);

	VHDX_ASSERT(err <= 0);
	if (err > 0)
		return VHDX_ERR_IO;
	return err;
}

/*
 * Fills @w with [off, off + want) of @level's file, @off PAGE-aligned,
 * @want a PAGE multiple no larger than the window.  What lies past the
 * source's end is not read: w->len stops there.  VHDX_ERR_CORRUPT when
 * @off is not inside the source.
 */
static int win_fill(struct mapper *m, struct win *w, unsigned level, uint64_t off, size_t want)
{
	const struct vhdx_source *src = level_source(&m->chain->levels[level]);
	size_t n = want;
	int err;

	VHDX_ASSERT(!(off & (PAGE - 1)) && !(want & (PAGE - 1)) && want <= w->cap);
	w->len = 0;
	if (off >= src->size)
		return VHDX_ERR_CORRUPT;
	if (n > src->size - off)
		n = (size_t)(src->size - off); /* ends at the source's end */
	err = source_read(src, off, w->buf, n);
	if (err)
		return err;
	w->level = level;
	w->off = off;
	w->len = n;
	return VHDX_OK;
}

static bool win_has(const struct win *w, unsigned level, uint64_t off, size_t len)
{
	return w->len && w->level == level && off >= w->off && off - w->off + len <= w->len;
}

/*
 * The BAT entry @index of @level.  Looked up in the level's BAT window @w
 * and in the bitmap page; on a miss, MISS when @fill is NULL, else read into
 * @fill: a window that continues its own previous contents grows (twice
 * its last length, up to its size), anything else is one page.
 * VHDX_ERR_CORRUPT for an entry past the BAT region or the file.
 */
static int bat_entry(struct mapper *m, unsigned level, struct win *w, uint64_t index, struct win *fill,
		     uint64_t *ret)
{
	const struct vhdx_disk *d = &m->chain->levels[level].disk;
	uint64_t byte, page, region_end;
	size_t want = PAGE;
	int err;

	if (index >= (uint64_t)(d->bat_length >> 3))
		return VHDX_ERR_CORRUPT; /* past the BAT region [2.5] */
	byte = d->bat_offset + (index << 3);
	if (!win_has(w, level, byte, 8)) {
		w = &m->bm;
		if (!win_has(w, level, byte, 8)) {
			if (!fill)
				return MISS;
			w = fill;
			page = byte & ~(uint64_t)(PAGE - 1);
			if (w->len && w->level == level && page == w->off + w->len &&
			    !(w->len & (PAGE - 1))) {
				want = w->len << 1;
				if (want > w->cap || want < w->len)
					want = w->cap;
			}
			region_end = d->bat_offset + d->bat_length;
			if (want > region_end - page)
				want = (size_t)(region_end - page);
			err = win_fill(m, w, level, page, want);
			if (err)
				return err;
			if (!win_has(w, level, byte, 8))
				return VHDX_ERR_CORRUPT; /* the BAT runs past the file's end */
		}
	}
	*ret = vhdx_get_le64(w->buf + (byte - w->off));
	return VHDX_OK;
}

/* A block (or bitmap) of @len bytes at @fo lies in a source of @size
 * bytes, past the first MiB (headers and region tables [2.2]). */
static bool in_file(uint64_t fo, uint64_t len, uint64_t size)
{
	return fo >= HEADER_SECTION && fo <= size && len <= size - fo;
}

/*
 * The first bit in [from, to) of @bm whose value is not @v, or @to.
 * LSB first: bit k is bit (k & 7) of byte k >> 3 [2.4].
 */
static uint32_t bit_change(const uint8_t *bm, uint32_t from, uint32_t to, unsigned v)
{
	const uint8_t same = v ? 0xFFu : 0x00u;
	const uint64_t same64 = v ? ~(uint64_t)0 : 0;
	uint32_t i = from;

	while (i < to && (i & 7u)) {
		if (((bm[i >> 3] >> (i & 7u)) & 1u) != v)
			return i;
		i++;
	}
	while (i + 64u <= to && vhdx_get_le64(bm + (i >> 3)) == same64)
		i += 64u;
	while (i + 8u <= to && bm[i >> 3] == same)
		i += 8u;
	while (i < to) {
		if (((bm[i >> 3] >> (i & 7u)) & 1u) != v)
			return i;
		i++;
	}
	return to;
}

/*
 * The bitmap run of PARTIALLY_PRESENT block @b of @level from byte @in of
 * the block, within its first @used bytes: *ret_kind FILE (1 bits) or
 * PARENT (0 bits), *ret_len its bytes from @in, *ret_cut when it stopped
 * at the end of a bitmap page rather than at a change.  MISS when
 * @may_read is false and something is not in the scratch.
 */
static int bitmap_run(struct mapper *m, unsigned level, uint64_t b, uint64_t in, uint64_t used,
		      bool may_read, enum run_kind *ret_kind, uint64_t *ret_len, bool *ret_cut)
{
	const struct vhdx_chain_level *l = &m->chain->levels[level];
	const struct vhdx_geometry *g = &l->disk.geom;
	const unsigned lss_shift = lss_shift_of(g), spb_shift = g->block_shift - lss_shift;
	struct sb_memo *memo = &m->sb[level & (SLOTS_MAX - 1)];
	uint64_t chunk = b >> g->chunk_shift, entry, sb, first, s0, s_end, page_first, bm_off;
	uint32_t from, to, end;
	unsigned v;
	int err;

	if (memo->valid && memo->level == level && memo->chunk == chunk) {
		entry = memo->entry;
	} else {
		err = bat_entry(m, level, bat_win(m, level), vhdx_geometry_bitmap_index(g, chunk),
				may_read ? &m->bm : NULL, &entry);
		if (err)
			return err;
		memo->valid = true;
		memo->level = level;
		memo->chunk = chunk;
		memo->entry = entry;
	}
	/* a chunk with PARTIALLY_PRESENT blocks has its bitmap PRESENT [2.5] */
	sb = entry & BAT_OFFSET_MASK;
	if ((entry & VHDX_BAT_STATE_MASK) != VHDX_SB_PRESENT ||
	    !in_file(sb, SB_BLOCK_SIZE, level_source(l)->size))
		return VHDX_ERR_CORRUPT;
	/* sectors counted from the chunk's first one: bit index in its bitmap */
	first = (b & (g->chunk_ratio - 1)) << spb_shift;
	s0 = first + (in >> lss_shift);
	s_end = first + (used >> lss_shift);
	page_first = s0 & ~(uint64_t)(BITS_PER_PAGE - 1);
	bm_off = sb + (page_first >> 3);
	if (!win_has(&m->bm, level, bm_off, PAGE)) {
		if (!may_read)
			return MISS;
		err = win_fill(m, &m->bm, level, bm_off, PAGE);
		if (err)
			return err;
	}
	from = (uint32_t)(s0 - page_first);
	to = s_end - page_first < BITS_PER_PAGE ? (uint32_t)(s_end - page_first) : BITS_PER_PAGE;
	v = (m->bm.buf[from >> 3] >> (from & 7u)) & 1u;
	end = bit_change(m->bm.buf, from, to, v);
	*ret_kind = v ? RUN_FILE : RUN_PARENT;
	*ret_len = ((page_first + end - first) << lss_shift) - in;
	*ret_cut = end == BITS_PER_PAGE && page_first + end < s_end;
	return VHDX_OK;
}

/*
 * The run of @level at virtual offset @pos, at most @lim bytes.  The first
 * block's entry (and bitmap) is read if need be and a fault there is the
 * answer (VHDX_ERR_CORRUPT: reserved state, PARTIALLY_PRESENT outside a
 * differencing disk, a block outside the file, a bad bitmap entry); later
 * blocks are looked at only while they are in the scratch, and one that
 * is faulty or missing ends the run (the next call meets it first).
 */
static int level_run(struct mapper *m, unsigned level, uint64_t pos, uint64_t lim, struct run *r)
{
	const struct vhdx_chain_level *l = &m->chain->levels[level];
	const struct vhdx_geometry *g = &l->disk.geom;
	const bool diff = l->disk.type == VHDX_TYPE_DIFFERENCING;
	const uint64_t size = level_source(l)->size;
	const uint64_t bs_mask = ((uint64_t)1 << g->block_shift) - 1;
	uint64_t b = pos >> g->block_shift, in = pos & bs_mask;
	struct win *w = bat_win(m, level);
	bool first = true;

	r->kind = RUN_ZERO;
	r->len = 0;
	r->cut = false;
	r->file_offset = 0;
	for (;;) {
		uint64_t start = b << g->block_shift, used, n, entry, fo, foff = 0;
		enum run_kind kind;
		bool inside = false, page_cut = false;
		int err;

		err = bat_entry(m, level, w, vhdx_geometry_block_index(g, b), first ? w : NULL, &entry);
		if (err == MISS) {
			r->cut = true;
			return VHDX_OK;
		}
		if (err)
			return first ? err : VHDX_OK;
		/* the block's bytes inside the virtual disk: the last one may be short */
		used = g->virtual_size - start < g->block_size ? g->virtual_size - start : g->block_size;
		n = used - in;
		fo = entry & BAT_OFFSET_MASK;
		switch (entry & VHDX_BAT_STATE_MASK) {
		case VHDX_PAYLOAD_NOT_PRESENT:
			kind = diff ? RUN_PARENT : RUN_ZERO;
			break;
		case VHDX_PAYLOAD_UNDEFINED:
		case VHDX_PAYLOAD_ZERO:
		case VHDX_PAYLOAD_UNMAPPED:
			kind = RUN_ZERO; /* the parent is not consulted [2.5.1] */
			break;
		case VHDX_PAYLOAD_FULLY_PRESENT:
			if (!in_file(fo, used, size))
				return first ? VHDX_ERR_CORRUPT : VHDX_OK;
			kind = RUN_FILE;
			foff = fo + in;
			break;
		case VHDX_PAYLOAD_PARTIALLY_PRESENT:
			if (!diff || !in_file(fo, used, size))
				return first ? VHDX_ERR_CORRUPT : VHDX_OK;
			err = bitmap_run(m, level, b, in, used, first, &kind, &n, &page_cut);
			if (err == MISS) {
				r->cut = true;
				return VHDX_OK;
			}
			if (err)
				return first ? err : VHDX_OK;
			inside = n < used - in;
			foff = fo + in;
			break;
		default: /* 4, 5: reserved [2.5] */
			return first ? VHDX_ERR_CORRUPT : VHDX_OK;
		}
		if (first) {
			r->kind = kind;
			r->file_offset = foff;
		} else if (kind != r->kind || (kind == RUN_FILE && foff != r->file_offset + r->len)) {
			return VHDX_OK; /* a change: the run ends here */
		}
		first = false;
		if (n >= lim - r->len) {
			r->len = lim;
			r->cut = true;
			return VHDX_OK;
		}
		r->len += n;
		if (page_cut) {
			r->cut = true;
			return VHDX_OK;
		}
		if (inside)
			return VHDX_OK; /* the bitmap changes inside the block */
		b++;
		in = 0;
	}
}

/*
 * The piece at @pos, at most @lim bytes: the runs of levels 0, 1, ...
 * while they are PARENT, each bounding the next.  *ret_more: the piece
 * ends at a limit, not where a level changes, so the next one may continue
 * it (a run ends at the piece's end either because it was cut there or
 * because a shorter run above it ended there; every run that ends exactly
 * there must have been cut).
 */
static int piece_at(struct mapper *m, uint64_t pos, uint64_t lim, struct vhdx_extent *ret, bool *ret_more)
{
	unsigned level = 0;
	bool above_cut = true; /* every PARENT run above that ends at lim was cut */
	struct run r;
	int err;

	for (;;) {
		err = level_run(m, level, pos, lim, &r);
		if (err)
			return err;
		if (r.kind != RUN_PARENT)
			break;
		above_cut = (r.len == lim ? above_cut : true) && r.cut;
		lim = r.len;
		level++;
		VHDX_ASSERT(level < m->chain->depth);
	}
	*ret_more = r.cut && (r.len < lim || above_cut);
	ret->length = r.len;
	if (r.kind == RUN_ZERO) {
		ret->kind = VHDX_EXTENT_ZERO;
		ret->level = 0;
		ret->file_offset = 0;
	} else {
		ret->kind = VHDX_EXTENT_DATA;
		ret->level = level;
		ret->file_offset = r.file_offset;
	}
	return VHDX_OK;
}

/* Field by field: a struct assignment may become a memcpy call (no libc). */
static void extent_copy(struct vhdx_extent *dst, const struct vhdx_extent *src)
{
	dst->kind = src->kind;
	dst->length = src->length;
	dst->level = src->level;
	dst->file_offset = src->file_offset;
}

/* @b continues @a: zeros after zeros, or the next bytes of the same file. */
static bool continues(const struct vhdx_extent *a, const struct vhdx_extent *b)
{
	if (a->kind != b->kind)
		return false;
	return a->kind == VHDX_EXTENT_ZERO ||
	       (a->level == b->level && a->file_offset + a->length == b->file_offset);
}

/*
 * vhdx_map on a mapper: pieces joined while they continue each other.
 * After zeros the next piece is always looked at (a PARENT run may read
 * zeros); after data only when the piece ended at a limit.  A fault met
 * while looking ahead ends the extent before it (the next call returns
 * it); a source error is returned at once.
 */
static int map_extent(struct mapper *m, uint64_t offset, uint64_t len, struct vhdx_extent *ret)
{
	struct vhdx_extent ext, piece;
	uint64_t pos = offset, end = offset + len;
	bool more;
	int err;

	ext.kind = VHDX_EXTENT_ZERO;
	ext.length = 0;
	ext.level = 0;
	ext.file_offset = 0;
	while (pos < end) {
		err = piece_at(m, pos, end - pos, &piece, &more);
		if (err) {
			if (ext.length && err == VHDX_ERR_CORRUPT)
				break;
			return err;
		}
		if (!ext.length)
			extent_copy(&ext, &piece);
		else if (continues(&ext, &piece))
			ext.length += piece.length;
		else
			break;
		pos += piece.length;
		if (ext.kind == VHDX_EXTENT_DATA && !more)
			break;
	}
	extent_copy(ret, &ext);
	return VHDX_OK;
}

static int args_check(const struct vhdx_chain *chain, uint64_t offset, uint64_t len, const void *scratch,
		      size_t scratch_len)
{
	int err;

	if (!scratch || scratch_len < VHDX_DATA_SCRATCH_MIN)
		return VHDX_ERR_INVAL;
	err = chain_check(chain);
	if (err)
		return err;
	if (len == 0 || offset >= chain->levels[0].disk.geom.virtual_size ||
	    len > chain->levels[0].disk.geom.virtual_size - offset)
		return VHDX_ERR_RANGE;
	return VHDX_OK;
}

int vhdx_map(const struct vhdx_chain *chain, uint64_t offset, uint64_t len, struct vhdx_extent *ret,
	     void *scratch, size_t scratch_len)
{
	struct mapper m;
	struct vhdx_extent ext;
	int err;

	if (!ret)
		return VHDX_ERR_INVAL;
	err = args_check(chain, offset, len, scratch, scratch_len);
	if (err)
		return err;
	mapper_init(&m, chain, scratch, scratch_len);
	err = map_extent(&m, offset, len, &ext);
	if (err)
		return err;
	extent_copy(ret, &ext);
	return VHDX_OK;
}

/* Zeros @len bytes: eight words per step where aligned. */
typedef uint64_t __attribute__((__may_alias__)) vhdx_word_;

static void fill_zero(uint8_t *p, size_t len)
{
	vhdx_word_ *w, *end;

	while (len && ((uintptr_t)p & 7u)) {
		*p++ = 0;
		len--;
	}
	w = (vhdx_word_ *)(void *)p;
	for (end = w + ((len >> 6) << 3); w != end; w += 8) {
		w[0] = 0;
		w[1] = 0;
		w[2] = 0;
		w[3] = 0;
		w[4] = 0;
		w[5] = 0;
		w[6] = 0;
		w[7] = 0;
	}
	for (len &= 63; len >= 8; len -= 8)
		*w++ = 0;
	p = (uint8_t *)w;
	while (len--)
		*p++ = 0;
}

/*
 * @len bytes of @level's file at @fo into @dst: whole pages straight from
 * the source, a head or tail that is not a whole page through the bounce
 * window (a page read once serves the small runs that share it).
 */
static int read_file(struct mapper *m, unsigned level, uint64_t fo, uint8_t *dst, size_t len)
{
	const struct vhdx_source *src = level_source(&m->chain->levels[level]);
	struct win *bounce = bounce_win(m, level);
	size_t n;
	int err;

	while (len) {
		if ((fo & (PAGE - 1)) || len < PAGE) {
			uint64_t page = fo & ~(uint64_t)(PAGE - 1);

			if (!win_has(bounce, level, page, 1)) {
				err = win_fill(m, bounce, level, page, PAGE);
				if (err)
					return err;
			}
			n = PAGE - (size_t)(fo - page);
			if (n > len)
				n = len;
			vhdx_mem_copy_(dst, bounce->buf + (fo - page), n);
		} else {
			n = len & ~(size_t)(PAGE - 1);
			err = source_read(src, fo, dst, n);
			if (err)
				return err;
		}
		fo += n;
		dst += n;
		len -= n;
	}
	return VHDX_OK;
}

int vhdx_read_at(const struct vhdx_chain *chain, uint64_t offset, void *buf, size_t len, void *scratch,
		 size_t scratch_len)
{
	struct mapper m;
	struct vhdx_extent ext;
	uint8_t *dst = buf;
	int err;

	if (!buf)
		return VHDX_ERR_INVAL;
	err = args_check(chain, offset, len, scratch, scratch_len);
	if (err)
		return err;
	mapper_init(&m, chain, scratch, scratch_len);
	while (len) {
		err = map_extent(&m, offset, len, &ext);
		if (err)
			return err;
		if (ext.kind == VHDX_EXTENT_ZERO)
			fill_zero(dst, (size_t)ext.length);
		else if ((err = read_file(&m, ext.level, ext.file_offset, dst, (size_t)ext.length)))
			return err;
		offset += ext.length;
		dst += ext.length;
		len -= (size_t)ext.length;
	}
	return VHDX_OK;
}

/*
 * Word-wise: bytes up to an 8-byte boundary, the first word alone (a
 * buffer with data usually fails there), then 128 bytes per test (sixteen
 * words or'ed: about 160 instructions per KiB on x86-64 at -O2), then the
 * rest.
 */
bool vhdx_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	const vhdx_word_ *w, *end;

	while (len && ((uintptr_t)p & 7u)) {
		if (*p++)
			return false;
		len--;
	}
	w = (const vhdx_word_ *)(const void *)p;
	if (len >= 8 && *w)
		return false;
	for (end = w + ((len >> 7) << 4); w != end; w += 16)
		if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7] | w[8] | w[9] | w[10] | w[11] | w[12] |
		    w[13] | w[14] | w[15])
			return false;
	for (len &= 127; len >= 8; len -= 8)
		if (*w++)
			return false;
	p = (const uint8_t *)w;
	while (len--)
		if (*p++)
			return false;
	return true;
}
