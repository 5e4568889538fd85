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
 * per level while there are enough, shared round-robin beyond), and for
 * each level a page for its sector bitmaps and stray BAT pages and a page
 * for the read bounce.  A BAT window is read one page at a time for a
 * look-up and grows (each read twice its length so far, appended while
 * there is room, up to its share of the scratch) while a run is scanned
 * sequentially.
 *
 * Memory across calls: with at least MEMO_MIN_PAGES of scratch its first
 * page is a memo of what the windows hold (their tags, a mark of each page,
 * the sector bitmap entries last looked up) and of the chain it was read
 * from (the chain's and the scratch's addresses, each level's source,
 * size, BAT region, header sequence and DataWriteGuid).  The next call
 * with the same chain and scratch starts from there: a whole convert reads
 * each BAT and bitmap page once while the BAT fits the windows.  A memo
 * of another chain or scratch, or whose CRC-32C fails, is dropped, and a
 * page whose mark changed (written by someone else) is read again;
 * vhdx_map_forget drops the memo (a level's file changed under an open
 * chain).  A page's mark samples it (page_mark): checking whole pages
 * on every call would cost more than the reads it saves.
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
#define SLOTS_MAX       8u      /* BAT, bitmap and bounce windows; levels beyond share them */
#define HEADER_SECTION  VHDX_HEADER_SECTION_SIZE /* [byte] no block lives in the first MiB [2.2] */
#define SB_BLOCK_SIZE   VHDX_MiB /* [byte] a sector bitmap block [2.4] */
#define BAT_OFFSET_MASK (~(uint64_t)(VHDX_MiB - 1)) /* FileOffsetMB << 20 [2.5] */
#define MEMO_MIN_PAGES  4u      /* scratch pages from which the first one is a memo */
#define MEMO_PAGES      768u    /* window pages a memo describes (3 MiB): more are not used */
#define MEMO_MAGIC      0x6f6d656du /* "memo" */
#define WINS_MAX        (3u * SLOTS_MAX)

/* An internal answer of a look-up that may not read: not in the scratch. */
#define MISS 1

/* The last sector bitmap entry a level looked up. */
struct sb_memo {
	uint32_t valid;
	uint32_t level;
	uint64_t chunk;
	uint64_t entry;    /* raw BAT entry */
};

/* A window's tag in the memo. */
struct win_tag {
	uint32_t level;
	uint32_t len;      /* [byte] */
	uint64_t off;      /* [byte] */
};

/*
 * The first page of a scratch of at least MEMO_MIN_PAGES pages, between
 * calls: what the windows hold, for the chain and scratch named by the key.
 * @crc: CRC-32C of everything after it.
 */
struct memo {
	uint32_t magic;
	uint32_t crc;
	uint64_t chain;           /* address of the struct vhdx_chain */
	uint64_t scratch;         /* address and length of the scratch */
	uint64_t scratch_len;
	uint32_t depth;
	uint32_t levels_crc;      /* levels_crc_of the chain */
	struct win_tag win[WINS_MAX];
	struct sb_memo sb[SLOTS_MAX];
	uint32_t page_mark[MEMO_PAGES]; /* page_mark() of each window page, as read */
};

_Static_assert(sizeof(struct memo) <= PAGE, "the memo is one page");

struct mapper {
	const struct vhdx_chain *chain;
	uint8_t *pages0;       /* the first window page: page_mark[k] is page k from here */
	bool memo;             /* the scratch's first page is a memo */
	struct vhdx_window_ wins[WINS_MAX];
	struct vhdx_window_ *bat[SLOTS_MAX];
	unsigned nbat;
	struct vhdx_window_ *bm[SLOTS_MAX];    /* sector bitmap pages, stray BAT pages */
	unsigned nbm;
	struct vhdx_window_ *bounce[SLOTS_MAX]; /* one per level up to SLOTS_MAX; or the bitmap page */
	unsigned nbounce;
	unsigned nwins;
	size_t npages;         /* window pages */
	bool dirty;            /* the memo must be written back */
	uint8_t checked[MEMO_PAGES / 8];  /* the page's mark was checked or set in this call */
	struct memo mm;        /* last: page_mark is not zeroed by mapper_init */
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

/* What a memo's key holds of each level: its source (address, context,
 * size, read function), its BAT region, its current header's sequence
 * number and DataWriteGuid (both change when a writer following the
 * format's rules changes the file [2.2.2]). */
static uint32_t levels_crc_of(const struct vhdx_chain *c)
{
	uint32_t crc = 0;
	unsigned i;

	for (i = 0; i < c->depth; i++) {
		const struct vhdx_chain_level *l = &c->levels[i];
		const struct vhdx_source *src = level_source(l);
		uint64_t key[8];

		key[0] = (uint64_t)(uintptr_t)src;
		key[1] = (uint64_t)(uintptr_t)src->ctx;
		key[2] = src->size;
		key[3] = l->disk.bat_offset;
		key[4] = l->disk.bat_length;
		key[5] = l->disk.sequence;
		key[6] = vhdx_get_le64(l->disk.data_write_guid.bytes) ^
			 vhdx_get_le64(l->disk.data_write_guid.bytes + 8);
		key[7] = (uint64_t)l->through_log;
		crc = vhdx_crc32c(crc, key, sizeof(key));
		crc = vhdx_crc32c(crc, &src->read, sizeof(src->read));
	}
	return crc;
}

#define MEMO_FIXED offsetof(struct memo, page_mark) /* [byte] before the page marks */

/* The memo's bytes used with @npages window pages. */
static size_t memo_size(size_t npages)
{
	return MEMO_FIXED + npages * sizeof(uint32_t);
}

static uint32_t memo_crc(const struct memo *mm, size_t npages)
{
	return vhdx_crc32c(0, &mm->chain, memo_size(npages) - offsetof(struct memo, chain));
}

/*
 * A page's mark: CRC-32C of its first, middle and last 16 valid bytes
 * (all of them when 64 or fewer).  A scratch page written between two
 * calls changes its mark unless the write missed all three; a write from
 * the scratch's start overwrites the memo itself (not a memo then).
 */
static uint32_t page_mark(const uint8_t *p, size_t n)
{
	uint32_t crc;

	if (n <= 64)
		return vhdx_crc32c(0, p, n);
	crc = vhdx_crc32c(0, p, 16);
	crc = vhdx_crc32c(crc, p + (n >> 1) - 8, 16);
	return vhdx_crc32c(crc, p + n - 16, 16);
}

static struct vhdx_window_ *add_win(struct mapper *m, uint8_t **p, size_t cap)
{
	struct vhdx_window_ *w = &m->wins[m->nwins++];

	w->buf = *p;
	w->size = cap;
	*p += cap;
	return w;
}

/*
 * Cuts the scratch (PAGE-aligned pieces from its start) into windows:
 * with MEMO_MIN_PAGES or more, the first page is the memo and at most
 * MEMO_PAGES follow.  Two window pages: a BAT window and one page for
 * bitmaps and bounce.  More: for up to SLOTS_MAX levels (as many as there
 * are three pages for) a bounce page, a bitmap window and a BAT window
 * each; after the bounce pages, a quarter of the pages go to the bitmap
 * windows (a page each for a single disk: it has no bitmaps [2.5]) and
 * the rest to the BAT windows.  Levels beyond share them round-robin.
 */
static void mapper_init(struct mapper *m, const struct vhdx_chain *c, void *scratch, size_t scratch_len)
{
	uint8_t *p = scratch;
	size_t pages = scratch_len >> PAGE_SHIFT, rest, per, bm_per;
	unsigned i, n = c->depth < SLOTS_MAX ? c->depth : SLOTS_MAX, k;

	vhdx_mem_zero_(m, offsetof(struct mapper, mm) + MEMO_FIXED);
	m->chain = c;
	if (pages >= MEMO_MIN_PAGES) {
		m->memo = true;
		p += PAGE;
		pages--;
		if (pages > MEMO_PAGES)
			pages = MEMO_PAGES;
	}
	m->pages0 = p;
	m->npages = pages;
	if (pages == 2) {
		m->nbm = m->nbounce = m->nbat = 1;
		m->bm[0] = m->bounce[0] = add_win(m, &p, PAGE);
		m->bat[0] = add_win(m, &p, PAGE);
		return;
	}
	k = (unsigned)vhdx_udiv64_32_(pages, 3, NULL) < n ? (unsigned)vhdx_udiv64_32_(pages, 3, NULL) : n;
	m->nbm = m->nbounce = m->nbat = k;
	rest = pages - k;         /* after the bounce pages: the bitmap windows get */
	bm_per = (size_t)vhdx_udiv64_32_(rest, 2 * k, NULL); /* a quarter... */
	bm_per = bm_per > 1 && c->depth > 1 ? bm_per >> 1 : 1; /* ... of it, at least a page */
	per = (size_t)vhdx_udiv64_32_(rest - k * bm_per, k, NULL);
	for (i = 0; i < k; i++) {
		m->bounce[i] = add_win(m, &p, PAGE);
		m->bm[i] = add_win(m, &p, bm_per << PAGE_SHIFT);
		m->bat[i] = add_win(m, &p, per << PAGE_SHIFT);
	}
}

/* The windows of the memo in @scratch when it was left by this chain
 * with this scratch, else none (the memo is then dropped).  Copied: the
 * scratch need not be aligned. */
static void memo_load(struct mapper *m, void *scratch, size_t scratch_len)
{
	struct memo *mm = &m->mm;
	uint32_t levels_crc;
	unsigned i;

	if (!m->memo)
		return;
	levels_crc = levels_crc_of(m->chain);
	vhdx_mem_copy_(mm, scratch, MEMO_FIXED);
	if (mm->magic == MEMO_MAGIC && mm->chain == (uint64_t)(uintptr_t)m->chain &&
	    mm->scratch == (uint64_t)(uintptr_t)scratch && mm->scratch_len == scratch_len &&
	    mm->depth == m->chain->depth && mm->levels_crc == levels_crc) {
		vhdx_mem_copy_(mm->page_mark, (const uint8_t *)scratch + MEMO_FIXED, memo_size(m->npages) - MEMO_FIXED);
		if (mm->crc == memo_crc(mm, m->npages)) {
			for (i = 0; i < m->nwins; i++) {
				struct vhdx_window_ *w = &m->wins[i];

				if (mm->win[i].len > w->size || mm->win[i].level >= m->chain->depth)
					continue;
				w->tag = mm->win[i].level;
				w->start = mm->win[i].off;
				w->len = mm->win[i].len;
			}
			return;
		}
	}
	vhdx_mem_zero_(mm, MEMO_FIXED);
	mm->levels_crc = levels_crc;
	m->dirty = true;
}

/* Leaves the memo for the next call when something changed (after a
 * fault or a source error too: what the windows hold was read). */
static void memo_save(struct mapper *m, void *scratch, size_t scratch_len)
{
	struct memo *mm = &m->mm;
	unsigned i;

	if (!m->memo || !m->dirty)
		return;
	mm->chain = (uint64_t)(uintptr_t)m->chain;
	mm->scratch = (uint64_t)(uintptr_t)scratch;
	mm->scratch_len = scratch_len;
	mm->depth = m->chain->depth;
	for (i = 0; i < WINS_MAX; i++) {
		mm->win[i].level = i < m->nwins ? m->wins[i].tag : 0;
		mm->win[i].off = i < m->nwins ? m->wins[i].start : 0;
		mm->win[i].len = i < m->nwins ? (uint32_t)m->wins[i].len : 0;
	}
	mm->magic = MEMO_MAGIC;
	mm->crc = memo_crc(mm, m->npages);
	vhdx_mem_copy_(scratch, mm, memo_size(m->npages));
}

void vhdx_map_forget(void *scratch, size_t scratch_len)
{
	if (scratch && (scratch_len >> PAGE_SHIFT) >= MEMO_MIN_PAGES)
		vhdx_mem_zero_(scratch, 4); /* the magic */
}

/* The BAT window of @level: its own, or shared round-robin. */
static struct vhdx_window_ *bat_win(struct mapper *m, unsigned level)
{
	while (level >= m->nbat)
		level -= m->nbat;
	return m->bat[level];
}

/* The bitmap page of @level: its own, or shared round-robin. */
static struct vhdx_window_ *bm_win(struct mapper *m, unsigned level)
{
	while (level >= m->nbm)
		level -= m->nbm;
	return m->bm[level];
}

/* The bounce page of @level: its own, or shared round-robin. */
static struct vhdx_window_ *bounce_win(struct mapper *m, unsigned level)
{
	while (level >= m->nbounce)
		level -= m->nbounce;
	return m->bounce[level];
}

/*
 * The pages of window @w that hold [off, off + len): with @set, record
 * their marks (just read); else check them, once per call, when the memo
 * gave them (false: a page was written since).
 */
static bool win_mark(struct mapper *m, const struct vhdx_window_ *w, uint64_t off, size_t len, bool set)
{
	size_t at = (size_t)(off - w->start) & ~(size_t)(PAGE - 1), end = (size_t)(off - w->start) + len;
	size_t k = (size_t)(w->buf - m->pages0) >> PAGE_SHIFT;

	if (!m->memo)
		return true;
	for (k += at >> PAGE_SHIFT; at < end; at += PAGE, k++) {
		const uint8_t bit = (uint8_t)(1u << (k & 7u));
		uint32_t mark;

		if (!set && (m->checked[k >> 3] & bit))
			continue;
		mark = page_mark(w->buf + at, w->len - at < PAGE ? w->len - at : PAGE);
		if (set)
			m->mm.page_mark[k] = mark;
		else if (mark != m->mm.page_mark[k])
			return false;
		m->checked[k >> 3] |= bit;
	}
	return true;
}

/*
 * Reads [off, off + want) of @level's file into @w, @off PAGE-aligned,
 * @want a PAGE multiple: with @append after what @w holds (@off its end),
 * else in place of it.  What lies past the source's end is not read:
 * w->len stops there.  VHDX_ERR_CORRUPT when @off is not inside the
 * source.
 */
static int win_fill(struct mapper *m, struct vhdx_window_ *w, unsigned level, uint64_t off, size_t want, bool append)
{
	const struct vhdx_source *src = level_source(&m->chain->levels[level]);
	size_t at = append ? w->len : 0, n = want;
	int err;

	VHDX_ASSERT(!(off & (PAGE - 1)) && !(want & (PAGE - 1)) && at + want <= w->size);
	VHDX_ASSERT(!append || (w->len && w->tag == level && off == w->start + w->len));
	m->dirty = true;
	if (!append)
		w->len = 0;
	if (off >= src->size)
		return VHDX_ERR_CORRUPT;
	if (n > src->size - off)
		n = (size_t)(src->size - off); /* ends at the source's end */
	err = vhdx_dev_read_(src, off, w->buf + at, n);
	if (err)
		return err;
	if (!append) {
		w->tag = level;
		w->start = off;
	}
	w->len = at + n;
	win_mark(m, w, off, n, true);
	return VHDX_OK;
}

/* @w holds [off, off + len) of @level's file, intact (a memo's page whose
 * mark changed empties the window). */
static bool win_has(struct mapper *m, struct vhdx_window_ *w, unsigned level, uint64_t off, size_t len)
{
	if (!vhdx_window_holds_(w, level, off, len))
		return false;
	if (win_mark(m, w, off, len, false))
		return true;
	w->len = 0;
	m->dirty = true;
	return false;
}

/*
 * Makes @w hold the page at @page of @level's file, in a structure that
 * ends at @limit: a window that holds pages of that structure before it,
 * with room up to and including it, grows (appended: at least twice its
 * length, up to its size and @limit, so that a sequential scan reads each
 * page once); a full window that ends where @page starts is read again
 * from there, its size; anything else is that page alone.
 */
static int grow_or_fill(struct mapper *m, struct vhdx_window_ *w, unsigned level, uint64_t page, uint64_t limit)
{
	size_t want = PAGE;
	bool append = false;

	if (w->len && w->tag == level && !(w->len & (PAGE - 1)) && page >= w->start + w->len) {
		uint64_t end = w->start + w->len, need = page + PAGE - end;

		if (need <= w->size - w->len) {
			append = true;
			want = w->len << 1 > need ? w->len << 1 : (size_t)need;
			if (want > w->size - w->len)
				want = w->size - w->len;
		} else if (page == end) {
			want = w->size;
		}
		if (append)
			page = end;
	}
	if (want > limit - page)
		want = (size_t)(limit - page);
	return win_fill(m, w, level, page, want, append);
}

/*
 * The BAT entry @index of @level.  Looked up in the level's BAT window @w
 * and in its bitmap window; on a miss, MISS when @fill is NULL, else read:
 * into @w when it can grow to hold it (grow_or_fill), else into @fill.
 * VHDX_ERR_CORRUPT for an entry past the BAT region or the file.
 */
static int bat_entry(struct mapper *m, unsigned level, struct vhdx_window_ *w, uint64_t index, struct vhdx_window_ *fill,
		     uint64_t *ret)
{
	const struct vhdx_disk *d = &m->chain->levels[level].disk;
	uint64_t byte, page;
	int err;

	if (index >= (uint64_t)(d->bat_length >> 3))
		return VHDX_ERR_CORRUPT; /* past the BAT region [2.5] */
	byte = d->bat_offset + (index << 3);
	if (!win_has(m, w, level, byte, 8)) {
		struct vhdx_window_ *bm = bm_win(m, level);

		if (!win_has(m, bm, level, byte, 8)) {
			if (!fill)
				return MISS;
			page = byte & ~(uint64_t)(PAGE - 1);
			if (fill != w && w->len && w->tag == level && page >= w->start + w->len &&
			    page + PAGE - w->start <= w->size)
				fill = w; /* a stray page the window reaches: it will be read anyway */
			err = grow_or_fill(m, fill, level, page, d->bat_offset + d->bat_length);
			if (err)
				return err;
			w = fill;
			if (!win_has(m, w, level, byte, 8))
				return VHDX_ERR_CORRUPT; /* the BAT runs past the file's end */
		} else {
			w = bm;
		}
	}
	*ret = vhdx_get_le64(w->buf + (byte - w->start));
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
	struct sb_memo *memo = &m->mm.sb[level & (SLOTS_MAX - 1)];
	uint64_t chunk = b >> g->chunk_shift, entry, sb, first, s0, s_end, page_first, bm_off;
	struct vhdx_window_ *bm = bm_win(m, level);
	const uint8_t *bits;
	uint32_t from, to, end;
	unsigned v;
	int err;

	if (memo->valid && memo->level == level && memo->chunk == chunk) {
		entry = memo->entry;
	} else {
		err = bat_entry(m, level, bat_win(m, level), vhdx_geometry_bitmap_index(g, chunk),
				may_read ? bm_win(m, level) : NULL, &entry);
		if (err)
			return err;
		m->dirty = true;
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
	if (!win_has(m, bm, level, bm_off, PAGE)) {
		if (!may_read)
			return MISS;
		err = grow_or_fill(m, bm, level, bm_off, sb + SB_BLOCK_SIZE);
		if (err)
			return err;
	}
	bits = bm->buf + (bm_off - bm->start);
	from = (uint32_t)(s0 - page_first);
	to = s_end - page_first < BITS_PER_PAGE ? (uint32_t)(s_end - page_first) : BITS_PER_PAGE;
	v = (bits[from >> 3] >> (from & 7u)) & 1u;
	end = bit_change(bits, from, to, v);
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
	struct vhdx_window_ *w = bat_win(m, level);
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

/* The checks of vhdx_map and vhdx_read_at, then a mapper over @scratch
 * with what its memo says the scratch still holds. */
static int mapper_open(struct mapper *m, const struct vhdx_chain *chain, uint64_t offset, uint64_t len,
		       void *scratch, size_t scratch_len)
{
	int err = args_check(chain, offset, len, scratch, scratch_len);

	if (err)
		return err;
	mapper_init(m, chain, scratch, scratch_len);
	memo_load(m, scratch, scratch_len);
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
	err = mapper_open(&m, chain, offset, len, scratch, scratch_len);
	if (err)
		return err;
	err = map_extent(&m, offset, len, &ext);
	memo_save(&m, scratch, scratch_len);
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
	struct vhdx_window_ *bounce = bounce_win(m, level);
	size_t n;
	int err;

	while (len) {
		if ((fo & (PAGE - 1)) || len < PAGE) {
			uint64_t page = fo & ~(uint64_t)(PAGE - 1);

			if (!win_has(m, bounce, level, page, 1)) {
				err = win_fill(m, bounce, level, page, PAGE, false);
				if (err)
					return err;
			}
			n = PAGE - (size_t)(fo - page);
			if (n > len)
				n = len;
			vhdx_mem_copy_(dst, bounce->buf + (fo - page), n);
		} else {
			n = len & ~(size_t)(PAGE - 1);
			err = vhdx_dev_read_(src, fo, dst, n);
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
	err = mapper_open(&m, chain, offset, len, scratch, scratch_len);
	if (err)
		return err;
	while (len) {
		err = map_extent(&m, offset, len, &ext);
		if (err)
			break;
		if (ext.kind == VHDX_EXTENT_ZERO)
			fill_zero(dst, (size_t)ext.length);
		else if ((err = read_file(&m, ext.level, ext.file_offset, dst, (size_t)ext.length)))
			break;
		offset += ext.length;
		dst += ext.length;
		len -= (size_t)ext.length;
	}
	memo_save(&m, scratch, scratch_len);
	return err;
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
