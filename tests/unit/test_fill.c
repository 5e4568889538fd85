/* SPDX-License-Identifier: MIT */
/*
 * test_fill.c - the writer with payload (vhdx_image_write_from) and its
 * estimate (vhdx_fill_estimate), issue 13.
 *
 * Sources are raw disks held in sparse RAM files (optionally with a
 * raw_map that reports holes, so a disk of 8 or 32 GiB stays cheap) and a
 * dynamic VHDX opened as a chain.  Targets are sparse RAM files behind a
 * sink that checks alignment and capacity, logs every operation, fails
 * the Nth write or flush and aborts at the Nth progress call.  Each image
 * is then judged independently of the writer:
 * - vhdx_check: no error, no warning;
 * - read back through vhdx_chain_open/vhdx_map/vhdx_read_at: the source's
 *   disk, byte for byte (zeros past a short source);
 * - BAT entries: dynamic ZERO (2, offset 0) for an all-zero block, else
 *   FULLY_PRESENT (6) in virtual order from data_offset, contiguous;
 *   fixed FULLY_PRESENT at data_offset + b * block size;
 * - every byte of [0, file_size) written or zeroed through the sink, none
 *   past it; the signature comes with the very last write, after the
 *   payload and the BAT, which all precede the metadata;
 * - ret: blocks_stored, blocks_zero, file_size.
 * Then: ranges a raw_map calls ZERO are never read (their bytes are not
 * even zero); every write, flush and source read failing in turn and the
 * progress callback stopping at each call (the right error, ret set, no
 * signature); DEVFULL; power cuts at every prefix and torn write of one
 * payload image of each type; the estimate.
 */
#include <stdio.h>

#include "sparse_file.h"
#include "test_util.h"
#include "vhdx_data.h"
#include "vhdx_internal.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

#define BAT_ZERO  2u
#define BAT_FULL  6u
#define READ_SCRATCH (1024u * 1024u) /* the chain's scratch when reading back */

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---- the target: a sparse file behind a checking, logging sink ---- */

enum top_kind { TOP_WRITE, TOP_ZERO, TOP_FLUSH };

struct top {
	enum top_kind kind;
	uint64_t off, len;
};

struct tgt {
	struct sparse_file f;
	struct vhdx_sink sink;
	struct top *ops;
	size_t n, cap;
	long writes, flushes, progress_calls;
	long fail_write_at, fail_flush_at, abort_at; /* 1-based; 0 never */
	uint64_t failed_write_off;                   /* the offset of the write that failed */
	uint64_t last_done, total;
	long sig_op;                                 /* op index that made the signature appear; -1 */
	bool sig_lost;                               /* the signature came and went */
};

static void top_add(struct tgt *t, enum top_kind kind, uint64_t off, uint64_t len)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 256;
		t->ops = realloc(t->ops, t->cap * sizeof(*t->ops));
		assert_non_null(t->ops);
	}
	t->ops[t->n++] = (struct top){ kind, off, len };
}

static bool tgt_has_signature(const struct tgt *t)
{
	uint8_t b[8];

	sparse_file_read(&t->f, 0, b, 8);
	return memcmp(b, "vhdxfile", 8) == 0;
}

static void tgt_range(const struct tgt *t, uint64_t off, uint64_t len)
{
	assert_true(len > 0);
	assert_true(off % 4096 == 0 && len % 4096 == 0); /* the core's promise */
	assert_true(off % t->sink.block_size == 0);
	if (t->sink.capacity)
		assert_true(off + len <= t->sink.capacity);
}

static void tgt_signature_watch(struct tgt *t)
{
	bool sig = tgt_has_signature(t);

	if (sig && t->sig_op < 0)
		t->sig_op = (long)t->n - 1;
	if (!sig && t->sig_op >= 0)
		t->sig_lost = true;
}

static int tgt_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct tgt *t = s->ctx;

	if (++t->writes == t->fail_write_at) {
		t->failed_write_off = off;
		return VHDX_ERR_IO;
	}
	tgt_range(t, off, len);
	sparse_file_write(&t->f, off, buf, len);
	top_add(t, TOP_WRITE, off, len);
	tgt_signature_watch(t);
	return VHDX_OK;
}

static int tgt_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct tgt *t = s->ctx;

	tgt_range(t, off, len);
	assert_true(len <= VHDX_ZERO_CHUNK);
	sparse_file_zero(&t->f, off, len);
	if (off + len > t->f.size)
		sparse_file_resize(&t->f, off + len);
	top_add(t, TOP_ZERO, off, len);
	tgt_signature_watch(t);
	return VHDX_OK;
}

static int tgt_flush(const struct vhdx_sink *s)
{
	struct tgt *t = s->ctx;

	if (++t->flushes == t->fail_flush_at)
		return VHDX_ERR_IO;
	top_add(t, TOP_FLUSH, 0, 0);
	return VHDX_OK;
}

/* Progress: done only grows (each call reports something new), never
 * past a total that does not change. */
static int tgt_progress(const struct vhdx_sink *s, uint64_t done, uint64_t total)
{
	struct tgt *t = s->ctx;

	assert_true(done > t->last_done || (done == 0 && t->progress_calls == 0));
	assert_true(done <= total);
	assert_true(t->total == 0 || t->total == total);
	t->last_done = done;
	t->total = total;
	return ++t->progress_calls == t->abort_at;
}

/* @garbage: the old bytes on the target over [0, @garbage_len) (a
 * non-blank device); @capacity 0: a file that grows. */
static void tgt_init(struct tgt *t, uint64_t capacity, bool with_zero, uint32_t block_size, uint64_t garbage_len)
{
	memset(t, 0, sizeof(*t));
	sparse_file_init(&t->f, 0);
	if (garbage_len) {
		uint8_t *g = malloc(SPARSE_PAGE);
		uint64_t x = 0x1234567 + garbage_len, off;
		size_t i;

		assert_non_null(g);
		for (off = 0; off < garbage_len; off += SPARSE_PAGE) {
			for (i = 0; i < SPARSE_PAGE; i++)
				g[i] = (uint8_t)(xorshift(&x) | 1);
			sparse_file_write(&t->f, off, g, (size_t)min64(SPARSE_PAGE, garbage_len - off));
		}
		free(g);
	}
	t->sink.ctx = t;
	t->sink.write = tgt_write;
	t->sink.zero = with_zero ? tgt_zero : NULL;
	t->sink.flush = tgt_flush;
	t->sink.progress = tgt_progress;
	t->sink.block_size = block_size;
	t->sink.capacity = capacity;
	t->sig_op = -1;
}

static void tgt_free(struct tgt *t)
{
	sparse_file_free(&t->f);
	free(t->ops);
	t->ops = NULL;
}

/* ---- raw sources ---- */

enum map_kind {
	MAP_NONE,   /* no raw_map: everything is DATA */
	MAP_PAGES,  /* a sparse file's holes: absent 64 KiB pages are ZERO */
	MAP_HOLES,  /* the list in holes[]: ZERO, whatever the bytes there are */
};

#define MAX_HOLES 16

struct tsrc {
	struct sparse_file data;        /* what the source holds */
	struct sparse_file *expect;     /* the disk it stands for (data, or data with holes zeroed) */
	struct sparse_file expect_own;
	struct vhdx_source src;
	struct vhdx_reader r;
	uint8_t rscratch[VHDX_READER_PAGE];
	enum map_kind map;
	uint64_t holes[MAX_HOLES][2];   /* [start, end), sorted, 4096-aligned */
	size_t nholes;
	long reads, fail_at;            /* 1-based; 0 never */
	uint64_t failed_read_off;
	uint64_t bytes_read;
};

static int tsrc_map(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret);

/* True when some byte of [off, off+len) is mapped ZERO. */
static bool tsrc_touches_zero(struct tsrc *s, uint64_t off, uint64_t len)
{
	struct vhdx_extent e;

	while (len) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(tsrc_map(&s->r, off, len, &e), VHDX_OK);
		assert_true(e.length > 0 && e.length <= len);
		if (e.kind == VHDX_EXTENT_ZERO)
			return true;
		off += e.length;
		len -= e.length;
	}
	return false;
}

static int tsrc_read(const struct vhdx_source *src, uint64_t off, void *buf, size_t len)
{
	struct tsrc *s = src->ctx;

	assert_true(len > 0);
	assert_true(off < src->size && len <= src->size - off);
	assert_true(off % 4096 == 0);
	assert_true(len % 4096 == 0 || off + len == src->size);
	/* ranges the map calls ZERO are never read */
	if (s->map != MAP_NONE && tsrc_touches_zero(s, off, len))
		fail_msg("source read [%llu, +%zu) touches a ZERO extent", (unsigned long long)off, len);
	if (++s->reads == s->fail_at) {
		s->failed_read_off = off;
		return VHDX_ERR_IO;
	}
	s->bytes_read += len;
	sparse_file_read(&s->data, off, buf, len);
	return VHDX_OK;
}

static int tsrc_map(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret)
{
	struct tsrc *s = r->ctx;

	ret->file_offset = offset;
	if (s->map == MAP_PAGES) {
		uint64_t at = offset - offset % SPARSE_PAGE;
		bool absent = sparse_file_absent(&s->data, at, SPARSE_PAGE);

		while (at < offset + len && sparse_file_absent(&s->data, at, SPARSE_PAGE) == absent)
			at += SPARSE_PAGE;
		ret->kind = absent ? VHDX_EXTENT_ZERO : VHDX_EXTENT_DATA;
		ret->length = min64(at, offset + len) - offset;
		return VHDX_OK;
	}
	if (s->map == MAP_HOLES) {
		size_t i;

		for (i = 0; i < s->nholes; i++) {
			if (offset < s->holes[i][0]) {
				ret->kind = VHDX_EXTENT_DATA;
				ret->length = min64(len, s->holes[i][0] - offset);
				return VHDX_OK;
			}
			if (offset < s->holes[i][1]) {
				ret->kind = VHDX_EXTENT_ZERO;
				ret->length = min64(len, s->holes[i][1] - offset);
				return VHDX_OK;
			}
		}
	}
	ret->kind = VHDX_EXTENT_DATA;
	ret->length = len;
	return VHDX_OK;
}

static void tsrc_init(struct tsrc *s, uint64_t size, enum map_kind map)
{
	memset(s, 0, sizeof(*s));
	sparse_file_init(&s->data, size);
	s->expect = &s->data;
	s->map = map;
	s->src.ctx = s;
	s->src.read = tsrc_read;
	s->src.size = size;
	s->r.raw = &s->src;
	s->r.size = size;
	s->r.scratch = s->rscratch;
	s->r.scratch_len = sizeof(s->rscratch);
	s->r.raw_map = map == MAP_NONE ? NULL : tsrc_map;
	s->r.ctx = s;
}

/* After the data is in place: the disk as it reads (holes zeroed). */
static void tsrc_seal(struct tsrc *s)
{
	size_t i;

	sparse_file_resize(&s->data, s->src.size);
	if (s->map != MAP_HOLES)
		return;
	sparse_file_init(&s->expect_own, 0);
	sparse_file_copy(&s->expect_own, 0, &s->data, 0, s->src.size);
	sparse_file_resize(&s->expect_own, s->src.size);
	for (i = 0; i < s->nholes; i++)
		sparse_file_zero(&s->expect_own, s->holes[i][0], s->holes[i][1] - s->holes[i][0]);
	s->expect = &s->expect_own;
}

static void tsrc_free(struct tsrc *s)
{
	sparse_file_free(&s->data);
	if (s->expect == &s->expect_own)
		sparse_file_free(&s->expect_own);
}

/* ---- patterns ---- */

enum pattern {
	PAT_SCATTER,    /* random bytes in about a third of the blocks, partial pages elsewhere */
	PAT_EDGES,      /* blocks all zero but one byte: the first, the last, the middle; the disk's last byte */
	PAT_CHUNK,      /* a few bytes at blocks CR-1, CR, CR+1 and in the last block */
	PAT_ZERO,       /* nothing: every block ZERO */
	PAT_FULL,       /* i % 251 + 1 everywhere: every block stored */
	PAT_ZERO_DATA,  /* data, then zeros written over it: present pages that read as zeros */
};

static void put_byte(struct sparse_file *f, uint64_t off, uint8_t v)
{
	if (off < f->size)
		sparse_file_write(f, off, &v, 1);
}

static void put_random(struct sparse_file *f, uint64_t off, uint64_t len, uint64_t seed)
{
	uint8_t buf[4096];
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 7;

	len = off < f->size ? min64(len, f->size - off) : 0;
	while (len) {
		size_t n = (size_t)min64(len, sizeof(buf)), i;

		for (i = 0; i < n; i++)
			buf[i] = (uint8_t)xorshift(&x);
		sparse_file_write(f, off, buf, n);
		off += n;
		len -= n;
	}
}

static void fill_pattern(struct sparse_file *f, enum pattern pat, uint64_t vds, uint32_t bs, uint32_t lss)
{
	uint64_t blocks = (vds + bs - 1) / bs, b, cr = (1ull << 23) * lss / bs;

	switch (pat) {
	case PAT_SCATTER:
		for (b = 0; b < blocks; b++) {
			uint64_t base = b * bs;

			if ((b * 7 + 3) % 3 == 0)
				put_random(f, base, bs, b + 1);
			else if (b % 5 == 1)
				put_random(f, base + bs / 2 - 100, 4096 + 200, b + 100); /* straddles windows */
			else if (b % 5 == 2)
				put_random(f, base + bs - 8192, 8192, b + 200);         /* the block's tail */
		}
		put_random(f, vds - 1000, 1000, 99); /* the disk's last bytes */
		break;
	case PAT_EDGES:
		for (b = 0; b < blocks; b++) {
			uint64_t base = b * bs;

			switch (b % 4) {
			case 0: put_byte(f, base, 0x5A); break;                         /* first byte */
			case 1: put_byte(f, base + bs - 1, 0xA5); break;                /* last byte */
			case 2: break;                                                  /* all zero */
			case 3: put_byte(f, base + bs / 2 + 4095, 1); break;            /* a window's last */
			}
		}
		put_byte(f, vds - 1, 0x77);
		break;
	case PAT_CHUNK:
		put_random(f, (cr - 1) * bs + bs - 512, 512, 1);  /* the last sector before the chunk boundary */
		put_random(f, cr * bs, 4096, 2);                  /* the first page after it */
		put_byte(f, (cr + 1) * bs + 12345, 9);
		put_random(f, 3 * bs + 64 * KiB, 64 * KiB, 3);
		put_byte(f, vds - 1, 0x42);
		break;
	case PAT_ZERO:
		break;
	case PAT_FULL: {
		uint8_t buf[4096];
		uint64_t off;
		size_t i;

		for (off = 0; off < f->size; off += sizeof(buf)) {
			for (i = 0; i < sizeof(buf); i++)
				buf[i] = (uint8_t)((off + i) % 251 + 1);
			sparse_file_write(f, off, buf, (size_t)min64(sizeof(buf), f->size - off));
		}
		break;
	}
	case PAT_ZERO_DATA:
		put_random(f, 0, bs, 5);
		sparse_file_zero(f, 0, bs);                /* block 0: present, all zero */
		put_random(f, 2 * bs + 4096, 4096, 6);
		sparse_file_zero(f, 2 * bs + 4096, 4095);  /* block 2: one byte left */
		break;
	}
}

/* ---- plans and the write ---- */

static struct vhdx_plan make_plan(enum vhdx_type type, uint64_t vds, uint32_t bs, uint32_t lss)
{
	struct vhdx_params p = test_params(type, vds);
	struct vhdx_plan plan;

	p.block_size = bs;
	p.logical_sector_size = lss;
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	return plan;
}

static int write_from(const struct vhdx_plan *plan, struct tgt *t, const struct vhdx_reader *r, size_t scratch_len,
		      struct vhdx_fill_result *res)
{
	uint8_t *scratch = malloc(scratch_len + 1);
	int err;

	assert_non_null(scratch);
	memset(res, 0xEE, sizeof(*res));
	/* an odd scratch address too: nothing may assume alignment */
	err = vhdx_image_write_from(plan, &t->sink, r, scratch + (scratch_len & 1), scratch_len, res);
	free(scratch);
	return err;
}

/* ---- judging an image ---- */

static bool equal_buf(const struct sparse_file *f, uint64_t off, const uint8_t *buf, size_t len)
{
	uint8_t *tmp = malloc(len);
	bool same;

	assert_non_null(tmp);
	sparse_file_read(f, off, tmp, len);
	same = memcmp(tmp, buf, len) == 0;
	free(tmp);
	return same;
}

static enum vhdx_parent_open no_parent(void *ctx, const char *child_name, const char *key, const char *path,
				       enum vhdx_path_kind kind, struct vhdx_source *ret_src, char *name,
				       size_t name_len, char *why, size_t why_len)
{
	(void)ctx;
	(void)child_name;
	(void)key;
	(void)path;
	(void)kind;
	(void)ret_src;
	(void)name;
	(void)name_len;
	snprintf(why, why_len, "no parents here");
	return VHDX_PARENT_ABSENT;
}

static const struct vhdx_parent_ops no_parent_ops = { .open = no_parent };

struct judged {
	uint64_t stored, zero; /* expected block counts */
};

/* The image in @t (its file cut at res->file_size) against the disk @expect. */
static struct judged judge(const struct vhdx_plan *plan, struct tgt *t, const struct sparse_file *expect,
			   const struct vhdx_fill_result *res, const char *name)
{
	const struct vhdx_geometry *g = &plan->geom;
	bool fixed = plan->params.type == VHDX_TYPE_FIXED;
	struct vhdx_info *info = malloc(sizeof(*info));
	uint8_t *scratch = malloc(READ_SCRATCH), *buf = malloc(READ_SCRATCH);
	struct vhdx_chain chain;
	struct vhdx_chain_level levels[2];
	struct judged j = { 0, 0 };
	char why[VHDX_WHY_SIZE];
	uint64_t b, next = plan->data_offset, off, end, covered;
	size_t i, last_payload = 0, first_meta = (size_t)-1, last_meta = 0;
	struct top *sorted;

	assert_true(info && scratch && buf);
	/* the expected outcome, block by block */
	for (b = 0; b < g->payload_blocks; b++) {
		uint64_t start = b * g->block_size, len = min64(g->block_size, g->virtual_size - start);
		uint64_t e = sparse_file_get_le64(&t->f, plan->bat_offset + 8 * vhdx_geometry_block_index(g, b));
		bool zero = start >= expect->size || sparse_file_is_zero(expect, start, min64(len, expect->size - start));

		if (fixed) {
			if (e != ((plan->data_offset + start) | BAT_FULL))
				fail_msg("%s: fixed block %llu entry %llx", name, (unsigned long long)b,
					 (unsigned long long)e);
			j.stored++;
		} else if (zero) {
			if (e != BAT_ZERO)
				fail_msg("%s: zero block %llu entry %llx, not ZERO", name, (unsigned long long)b,
					 (unsigned long long)e);
			j.zero++;
		} else {
			if (e != (next | BAT_FULL))
				fail_msg("%s: block %llu entry %llx, expected %llx", name, (unsigned long long)b,
					 (unsigned long long)e, (unsigned long long)(next | BAT_FULL));
			next += g->block_size;
			j.stored++;
		}
	}
	/* sector bitmap entries stay 0 */
	for (b = 0; b < g->bitmap_blocks; b++)
		assert_int_equal(sparse_file_get_le64(&t->f, plan->bat_offset + 8 * vhdx_geometry_bitmap_index(g, b)),
				 0);
	assert_int_equal(res->blocks_stored, j.stored);
	assert_int_equal(res->blocks_zero, fixed ? 0 : j.zero);
	assert_int_equal(res->file_size, fixed ? plan->file_size : plan->data_offset + j.stored * g->block_size);
	assert_false(res->source_failed);
	assert_int_equal(res->failed_offset, 0);

	/* the sink: every byte of [0, file_size) written or zeroed, nothing past it */
	sorted = malloc((t->n + 1) * sizeof(*sorted));
	assert_non_null(sorted);
	memcpy(sorted, t->ops, t->n * sizeof(*sorted));
	for (i = 1; i < t->n; i++) { /* insertion sort by offset: ops are mostly in order */
		struct top x = sorted[i];
		size_t k = i;

		while (k && sorted[k - 1].off > x.off) {
			sorted[k] = sorted[k - 1];
			k--;
		}
		sorted[k] = x;
	}
	covered = 0;
	for (i = 0; i < t->n; i++) {
		if (sorted[i].kind == TOP_FLUSH)
			continue;
		/* a fresh file (dynamic): holes in stored blocks are its zeros */
		if (sorted[i].off > covered && t->sink.zeroed && !fixed && covered >= plan->data_offset)
			covered = sorted[i].off;
		if (sorted[i].off > covered)
			fail_msg("%s: [%llu, %llu) never written", name, (unsigned long long)covered,
				 (unsigned long long)sorted[i].off);
		if (sorted[i].off + sorted[i].len > covered)
			covered = sorted[i].off + sorted[i].len;
	}
	free(sorted);
	assert_int_equal(covered, res->file_size);

	/* the order: the signature with the last write only, after everything;
	 * the payload and the BAT before the metadata, which precedes the
	 * headers and region tables (written after the first MiB's zeroing) */
	assert_true(t->sig_op >= 0);
	assert_false(t->sig_lost);
	assert_int_equal(t->ops[t->sig_op].kind, TOP_WRITE);
	assert_int_equal(t->ops[t->sig_op].off, 0);
	for (i = (size_t)t->sig_op + 1; i < t->n; i++)
		assert_int_equal(t->ops[i].kind, TOP_FLUSH);
	for (i = 0; i < t->n; i++) {
		const struct top *o = &t->ops[i];

		if (o->kind == TOP_FLUSH)
			continue;
		if (o->off >= plan->data_offset || (o->off >= plan->bat_offset && o->off < plan->data_offset))
			last_payload = i;
		if (o->off >= plan->meta_offset && o->off < plan->meta_offset + plan->meta_length) {
			if (first_meta == (size_t)-1)
				first_meta = i;
			last_meta = i;
		}
	}
	assert_true(last_payload < first_meta);
	for (i = 0; i < t->n && (t->ops[i].kind == TOP_FLUSH || t->ops[i].off < MiB); i++)
		; /* the first MiB zeroed: then come the log, payload, BAT, metadata */
	for (; i < t->n; i++)
		if (t->ops[i].kind == TOP_WRITE && t->ops[i].off >= 64 * KiB && t->ops[i].off < 320 * KiB)
			assert_true(i > last_meta);

	/* the strict checker */
	sparse_file_resize(&t->f, res->file_size);
	assert_int_equal(vhdx_check(&t->f.src, scratch, READ_SCRATCH, info, NULL, NULL), VHDX_OK);
	if (info->errors || info->warnings)
		fail_msg("%s: vhdx_check: %u errors, %u warnings", name, info->errors, info->warnings);
	assert_true(info->is_vhdx);
	assert_int_equal(info->payload_states[BAT_FULL], j.stored);
	assert_int_equal(info->payload_states[BAT_ZERO], fixed ? 0 : j.zero);

	/* read back: the map says where, vhdx_read_at what */
	assert_int_equal(vhdx_chain_open(&chain, levels, 2, &t->f.src, "out.vhdx", &no_parent_ops, scratch,
					 READ_SCRATCH, why, sizeof(why)), VHDX_OK);
	assert_int_equal(chain.verdict, VHDX_CHAIN_COMPLETE);
	for (off = 0; off < g->virtual_size; off = end) {
		struct vhdx_extent e;

		assert_int_equal(vhdx_map(&chain, off, g->virtual_size - off, &e, scratch, READ_SCRATCH), VHDX_OK);
		end = off + e.length;
		if (e.kind == VHDX_EXTENT_ZERO) {
			assert_false(fixed);
			if (off < expect->size && !sparse_file_is_zero(expect, off, min64(end, expect->size) - off))
				fail_msg("%s: [%llu, %llu) reads zeros", name, (unsigned long long)off,
					 (unsigned long long)end);
			continue;
		}
		if (!sparse_file_equal(&t->f, e.file_offset, expect, off, e.length))
			fail_msg("%s: the file at %llu differs from the disk at %llu", name,
				 (unsigned long long)e.file_offset, (unsigned long long)off);
	}
	/* vhdx_read_at: every 64 KiB page that holds data, and all of a
	 * small disk */
	for (off = 0; off < g->virtual_size; off += SPARSE_PAGE) {
		uint64_t n = min64(SPARSE_PAGE, g->virtual_size - off);

		if (g->virtual_size > 256 * MiB && sparse_file_absent(expect, off, n) && off % (256 * MiB))
			continue;
		assert_int_equal(vhdx_read_at(&chain, off, buf, (size_t)n, scratch, READ_SCRATCH), VHDX_OK);
		if (!equal_buf(expect, off, buf, (size_t)n))
			fail_msg("%s: vhdx_read_at at %llu differs", name, (unsigned long long)off);
	}
	vhdx_chain_close(&chain, &no_parent_ops);
	free(info);
	free(scratch);
	free(buf);
	return j;
}

/* ---- 1. raw sources: patterns, geometries, scratch sizes ---- */

struct fcase {
	const char *name;
	enum vhdx_type type;
	uint64_t vds;
	uint32_t bs, lss;
	size_t scratch;
	enum pattern pat;
	enum map_kind map;
	uint64_t src_size;   /* [byte] 0: the virtual size */
	bool no_zero;        /* the sink has no zero(): the core writes zeros */
	bool garbage;        /* the target held old bytes */
	uint32_t sink_block; /* [byte] */
	bool zeroed;         /* sink.zeroed: a fresh file, zeros in stored blocks may stay holes */
};

#define DYN VHDX_TYPE_DYNAMIC
#define FIX VHDX_TYPE_FIXED
#define MIN_S VHDX_FILL_SCRATCH_MIN
#define BIG_S ((size_t)(MiB + 4 * KiB))

static const struct fcase cases[] = {
	{ "dyn 64M 1M/512 scatter, scratch min", DYN, 64 * MiB, MiB, 512, MIN_S, PAT_SCATTER, MAP_NONE, 0, false,
	  true, 512, false },
	{ "dyn 64M 1M/512 scatter, 1M+4K, no zero()", DYN, 64 * MiB, MiB, 512, BIG_S, PAT_SCATTER, MAP_NONE, 0,
	  true, true, 4096, false },
	{ "dyn 16M+12K 1M/4096 edges, odd 13288", DYN, 16 * MiB + 12 * KiB, MiB, 4096, 13288, PAT_EDGES, MAP_NONE,
	  0, false, true, 4096, false },
	{ "dyn 16M+12K 1M/4096 edges, min, no zero()", DYN, 16 * MiB + 12 * KiB, MiB, 4096, MIN_S, PAT_EDGES,
	  MAP_NONE, 0, true, true, 512, false },
	{ "dyn 100M+3584 32M/512 edges, 64K+4K", DYN, 100 * MiB + 3584, 32 * MiB, 512, 68 * KiB, PAT_EDGES,
	  MAP_NONE, 0, false, false, 512, false },
	{ "dyn 96M+4K 32M/4096 scatter, 1M+4K, pages", DYN, 96 * MiB + 4096, 32 * MiB, 4096, BIG_S, PAT_SCATTER,
	  MAP_PAGES, 0, false, false, 4096, false },
	{ "dyn 8M 1M/512 full, odd 70001", DYN, 8 * MiB, MiB, 512, 70001, PAT_FULL, MAP_NONE, 0, false, true, 512, false },
	{ "dyn 16M 1M/512 all zero", DYN, 16 * MiB, MiB, 512, 68 * KiB, PAT_ZERO, MAP_NONE, 0, false, true, 512, false },
	{ "dyn 8M 1M/512 present zeros, pages", DYN, 8 * MiB, MiB, 512, 68 * KiB, PAT_ZERO_DATA, MAP_PAGES, 0,
	  false, true, 512, false },
	{ "dyn 10M 1M/512 short source 5M+1000", DYN, 10 * MiB, MiB, 512, 68 * KiB, PAT_FULL, MAP_NONE,
	  5 * MiB + 1000, false, true, 512, false },
	{ "dyn 10M 1M/512 short source 1000, min", DYN, 10 * MiB, MiB, 512, MIN_S, PAT_FULL, MAP_NONE, 1000,
	  true, true, 512, false },
	{ "fix 20M+512 1M/512 scatter, 64K+4K, no zero()", FIX, 20 * MiB + 512, MiB, 512, 68 * KiB, PAT_SCATTER,
	  MAP_NONE, 0, true, true, 512, false },
	{ "fix 9M+4K 1M/4096 edges, odd 20000", FIX, 9 * MiB + 4096, MiB, 4096, 20000, PAT_EDGES, MAP_NONE, 0,
	  false, true, 4096, false },
	{ "fix 70M 32M/4096 scatter, 1M+4K", FIX, 70 * MiB, 32 * MiB, 4096, BIG_S, PAT_SCATTER, MAP_NONE, 0, false,
	  false, 4096, false },
	{ "fix 10M 1M/512 short source 3M+512, min", FIX, 10 * MiB, MiB, 512, MIN_S, PAT_FULL, MAP_NONE,
	  3 * MiB + 512, false, true, 512, false },
	{ "fix 8M 1M/512 all zero, pages", FIX, 8 * MiB, MiB, 512, 68 * KiB, PAT_ZERO, MAP_PAGES, 0, false, true,
	  512, false },
	/* across a chunk boundary (P > CR): CR 8192, 32768 and 128 blocks */
	{ "dyn 8G+5M+512 1M/512 chunk, pages", DYN, 8 * GiB + 5 * MiB + 512, MiB, 512, 260 * KiB, PAT_CHUNK,
	  MAP_PAGES, 0, false, false, 512, false },
	{ "dyn 32G+1M+4K 1M/4096 chunk, pages", DYN, 32 * GiB + MiB + 4096, MiB, 4096, BIG_S, PAT_CHUNK,
	  MAP_PAGES, 0, false, false, 4096, false },
	{ "fix 4G+33M 32M/512 chunk, pages", FIX, 4 * GiB + 33 * MiB, 32 * MiB, 512, BIG_S, PAT_CHUNK, MAP_PAGES,
	  0, false, false, 512, false },
	{ "dyn 4G+33M 32M/512 chunk, pages, no zero()", DYN, 4 * GiB + 33 * MiB, 32 * MiB, 512, 68 * KiB,
	  PAT_CHUNK, MAP_PAGES, 0, true, false, 4096, false },
	/* a fresh file (sink.zeroed): holes inside stored blocks, the file still reaches its end */
	{ "dyn 40M+512 1M/512 scatter, zeroed sink", DYN, 40 * MiB + 512, MiB, 512, 68 * KiB, PAT_SCATTER, MAP_NONE,
	  0, false, false, 512, true },
	{ "dyn 16M+12K 1M/4096 edges, zeroed sink, min", DYN, 16 * MiB + 12 * KiB, MiB, 4096, MIN_S, PAT_EDGES,
	  MAP_PAGES, 0, true, false, 4096, true },
	{ "fix 9M+4K 1M/4096 edges, zeroed sink (ignored)", FIX, 9 * MiB + 4096, MiB, 4096, 20000, PAT_EDGES,
	  MAP_NONE, 0, false, false, 4096, true },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void run_fcase(const struct fcase *c, struct judged *ret_j)
{
	struct vhdx_plan plan = make_plan(c->type, c->vds, c->bs, c->lss);
	struct tsrc *s = malloc(sizeof(*s));
	struct tgt t;
	struct vhdx_fill_result res;
	uint64_t src_size = c->src_size ? c->src_size : c->vds, est;
	int err;

	assert_non_null(s);
	tsrc_init(s, src_size, c->map);
	fill_pattern(&s->data, c->pat, c->vds, c->bs, c->lss);
	tsrc_seal(s);
	tgt_init(&t, 0, !c->no_zero, c->sink_block,
		 c->garbage ? (c->type == FIX ? plan.file_size : plan.data_offset + c->vds) : 0);
	t.sink.zeroed = c->zeroed;
	err = write_from(&plan, &t, &s->r, c->scratch, &res);
	if (err)
		fail_msg("%s: %s", c->name, vhdx_strerror(err));
	assert_int_equal(t.last_done, t.total); /* progress ends at its total */
	*ret_j = judge(&plan, &t, s->expect, &res, c->name);
	/* the estimate bounds what was stored */
	assert_int_equal(vhdx_fill_estimate(&plan, &s->r, &est), VHDX_OK);
	if (c->type == DYN)
		assert_true(est >= res.blocks_stored);
	/* a raw_map saying where the data is: holes never read */
	if (c->map == MAP_PAGES)
		assert_true(s->bytes_read <= (uint64_t)s->data.used * SPARSE_PAGE);
	tgt_free(&t);
	tsrc_free(s);
	free(s);
}

static void test_raw_patterns(void **state)
{
	size_t i;
	struct judged j, sum = { 0, 0 };

	(void)state;
	for (i = 0; i < NCASES; i++) {
		run_fcase(&cases[i], &j);
		sum.stored += j.stored;
		sum.zero += j.zero;
	}
	print_message("fill: %zu raw cases, %llu blocks stored, %llu ZERO\n", NCASES,
		      (unsigned long long)sum.stored, (unsigned long long)sum.zero);
}

/* ---- 2. a raw_map's ZERO ranges are never read ---- */

/* The source holds i % 251 + 1 everywhere (no zero byte), and calls some
 * ranges ZERO: whole blocks, a page inside one, ranges across windows and
 * across a block boundary.  Reading there fails the test (tsrc_read);
 * the image holds zeros there; every DATA byte is read exactly once. */
static void test_zero_ranges_unread(void **state)
{
	static const uint64_t holes[][2] = {
		{ 0, MiB },                               /* block 0: ZERO */
		{ 2 * MiB + 4 * KiB, 2 * MiB + 64 * KiB },
		{ 3 * MiB, 3 * MiB + 4 * KiB },
		{ 3 * MiB + 68 * KiB, 3 * MiB + 200 * KiB },
		{ 5 * MiB - 4 * KiB, 6 * MiB + 4 * KiB }, /* block 5 ZERO, across its edges */
		{ 7 * MiB, 8 * MiB },                     /* block 7: ZERO */
		{ 15 * MiB + 512 * KiB, 16 * MiB },       /* the disk's tail */
	};
	static const size_t scratches[] = { VHDX_FILL_SCRATCH_MIN, 68 * KiB, 20000, MiB + 4 * KiB };
	static const enum vhdx_type types[] = { DYN, FIX };
	uint64_t hole_bytes = 0;
	size_t h, k, ty;
	unsigned runs = 0;

	(void)state;
	for (h = 0; h < sizeof(holes) / sizeof(holes[0]); h++)
		hole_bytes += holes[h][1] - holes[h][0];
	for (ty = 0; ty < 2; ty++) {
		for (k = 0; k < sizeof(scratches) / sizeof(scratches[0]); k++) {
			struct vhdx_plan plan = make_plan(types[ty], 16 * MiB, MiB, 512);
			struct tsrc *s = malloc(sizeof(*s));
			struct vhdx_fill_result res;
			struct judged j;
			struct tgt t;

			assert_non_null(s);
			tsrc_init(s, 16 * MiB, MAP_HOLES);
			fill_pattern(&s->data, PAT_FULL, 16 * MiB, MiB, 512);
			memcpy(s->holes, holes, sizeof(holes));
			s->nholes = sizeof(holes) / sizeof(holes[0]);
			tsrc_seal(s);
			tgt_init(&t, 0, k & 1, 512, plan.data_offset + 16 * MiB);
			assert_int_equal(write_from(&plan, &t, &s->r, scratches[k], &res), VHDX_OK);
			j = judge(&plan, &t, s->expect, &res, "holes");
			assert_int_equal(s->bytes_read, 16 * MiB - hole_bytes);
			if (types[ty] == DYN) {
				assert_int_equal(j.zero, 3);
				assert_int_equal(res.blocks_stored, 13);
			}
			tgt_free(&t);
			tsrc_free(s);
			free(s);
			runs++;
		}
	}
	print_message("fill: %u images from a source with ZERO ranges full of bytes: none read\n", runs);
}

/* ---- 3. a chain as the source ---- */

/* A dynamic VHDX in a sparse file, its blocks set by hand [2.5.1]. */
struct simg {
	struct sparse_file f;
	struct vhdx_plan plan;
};

static void simg_make(struct simg *im, uint64_t vds, uint32_t lss)
{
	void *scratch = malloc(MiB);

	im->plan = make_plan(DYN, vds, MiB, lss);
	sparse_file_init(&im->f, 0);
	assert_int_equal(vhdx_image_write(&im->plan, &im->f.sink, scratch, MiB), VHDX_OK);
	sparse_file_resize(&im->f, im->plan.file_size);
	free(scratch);
}

static void simg_block(struct simg *im, uint64_t b, uint64_t state, const struct sparse_file *disk)
{
	uint64_t entry = im->plan.bat_offset + 8 * vhdx_geometry_block_index(&im->plan.geom, b);

	if (state == BAT_FULL) {
		uint64_t fo = im->f.size;

		sparse_file_resize(&im->f, fo + MiB);
		sparse_file_copy(&im->f, fo, disk, b * MiB, min64(MiB, disk->size - b * MiB));
		sparse_file_put_le64(&im->f, entry, fo | BAT_FULL);
	} else {
		sparse_file_put_le64(&im->f, entry, state);
	}
}

static void test_chain_source(void **state)
{
	static const uint32_t lsss[] = { 512, 4096 };
	const uint64_t vds = 12 * MiB + 4096;
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		struct simg im;
		struct sparse_file disk;
		struct vhdx_chain chain;
		struct vhdx_chain_level levels[2];
		struct vhdx_reader r;
		struct vhdx_fill_result res;
		struct vhdx_plan out = make_plan(k ? FIX : DYN, vds, k ? 4 * MiB : MiB, lsss[k]);
		struct tgt t;
		void *cscratch = malloc(MiB);
		char why[VHDX_WHY_SIZE];
		uint64_t est;
		struct judged j;

		/* the disk: blocks 1, 4, 5 and the last (partial) hold data;
		 * block 2 is stored but all zero; 3 is ZERO; the rest absent */
		sparse_file_init(&disk, vds);
		put_random(&disk, 1 * MiB, MiB, 1);
		put_random(&disk, 4 * MiB + 4096, 8192, 2);
		put_random(&disk, 6 * MiB - 512, 512, 3);
		put_random(&disk, 12 * MiB, 4096, 4);
		simg_make(&im, vds, lsss[k]);
		simg_block(&im, 1, BAT_FULL, &disk);
		simg_block(&im, 2, BAT_FULL, &disk);
		simg_block(&im, 3, BAT_ZERO, &disk);
		simg_block(&im, 4, BAT_FULL, &disk);
		simg_block(&im, 5, BAT_FULL, &disk);
		simg_block(&im, 12, BAT_FULL, &disk);
		assert_int_equal(vhdx_chain_open(&chain, levels, 2, &im.f.src, "in.vhdx", &no_parent_ops, cscratch,
						 MiB, why, sizeof(why)), VHDX_OK);
		assert_int_equal(chain.verdict, VHDX_CHAIN_COMPLETE);
		memset(&r, 0, sizeof(r));
		r.chain = &chain;
		r.size = vds;
		r.scratch = cscratch;
		r.scratch_len = MiB;
		assert_int_equal(vhdx_fill_estimate(&out, &r, &est), VHDX_OK);
		/* DATA extents in blocks 1, 2, 4, 5, 12 (1 MiB), or 0, 1, 3 (4 MiB) */
		assert_int_equal(est, k ? 3 : 5);
		tgt_init(&t, 0, true, 512, 0);
		assert_int_equal(write_from(&out, &t, &r, 68 * KiB, &res), VHDX_OK);
		j = judge(&out, &t, &disk, &res, k ? "chain to fixed" : "chain to dynamic");
		if (!k)
			assert_int_equal(j.stored, 4); /* block 2 held only zeros */
		vhdx_chain_close(&chain, &no_parent_ops);
		tgt_free(&t);
		sparse_file_free(&im.f);
		sparse_file_free(&disk);
		free(cscratch);
	}
}

/* ---- 4. failures: every write, flush, source read, progress call ---- */

struct fault_case {
	const char *name;
	enum vhdx_type type;
	uint64_t vds;
	uint32_t bs, lss;
	size_t scratch;
	enum map_kind map;
	bool no_zero;
	bool zeroed;
};

static const struct fault_case fault_cases[] = {
	{ "dyn 8M+4K 1M/512", DYN, 8 * MiB + 4096, MiB, 512, 260 * KiB, MAP_PAGES, false, false },
	{ "dyn 6M 1M/4096 no zero()", DYN, 6 * MiB, MiB, 4096, 516 * KiB, MAP_NONE, true, false },
	{ "dyn 6M+512 1M/512 zeroed", DYN, 6 * MiB + 512, MiB, 512, 260 * KiB, MAP_NONE, false, true },
	{ "fix 5M+512 1M/512", FIX, 5 * MiB + 512, MiB, 512, 260 * KiB, MAP_NONE, false, false },
	{ "fix 4M 2M/4096 no zero()", FIX, 4 * MiB, 2 * MiB, 4096, BIG_S, MAP_PAGES, true, false },
};

enum fault { F_WRITE, F_FLUSH, F_READ, F_PROGRESS, F_KINDS };
static const char *const fault_names[] = { "write", "flush", "source read", "progress" };

/* One run with fault @f at @n; true when it failed as it must, false when
 * @n was past the last such call (the write then succeeded). */
static bool fault_run(const struct fault_case *c, enum fault f, long n)
{
	struct vhdx_plan plan = make_plan(c->type, c->vds, c->bs, c->lss);
	struct tsrc *s = malloc(sizeof(*s));
	struct vhdx_fill_result res;
	struct tgt t;
	bool failed;
	int err;

	assert_non_null(s);
	tsrc_init(s, c->vds, c->map);
	fill_pattern(&s->data, PAT_SCATTER, c->vds, c->bs, c->lss);
	tsrc_seal(s);
	tgt_init(&t, 0, !c->no_zero, 512, c->zeroed ? 0 : plan.data_offset + c->vds);
	t.sink.zeroed = c->zeroed;
	if (f == F_WRITE)
		t.fail_write_at = n;
	else if (f == F_FLUSH)
		t.fail_flush_at = n;
	else if (f == F_READ)
		s->fail_at = n;
	else
		t.abort_at = n;
	err = write_from(&plan, &t, &s->r, c->scratch, &res);
	failed = err != VHDX_OK;
	if (!failed) {
		/* past the last call: the image is whole */
		assert_true(f != F_WRITE || t.writes < n);
		assert_true(f != F_FLUSH || t.flushes < n);
		assert_true(f != F_READ || s->reads < n);
		assert_true(f != F_PROGRESS || t.progress_calls < n);
		judge(&plan, &t, s->expect, &res, c->name);
	} else {
		if (tgt_has_signature(&t))
			fail_msg("%s: %s %ld failed and left a signature", c->name, fault_names[f], n);
		switch (f) {
		case F_WRITE:
			assert_int_equal(err, VHDX_ERR_IO);
			assert_false(res.source_failed);
			assert_int_equal(res.failed_offset, t.failed_write_off);
			break;
		case F_FLUSH: {
			size_t i = t.n;

			assert_int_equal(err, VHDX_ERR_IO);
			assert_false(res.source_failed);
			/* the last write or zero before the flush */
			while (i && t.ops[i - 1].kind == TOP_FLUSH)
				i--;
			assert_true(i > 0);
			/* after the final write fails to be durable, the
			 * signature's retraction is the last op */
			if (t.ops[t.n - 1].kind == TOP_WRITE && t.ops[t.n - 1].off == 0 && t.sig_lost)
				i--;
			while (i && t.ops[i - 1].kind == TOP_FLUSH)
				i--;
			assert_int_equal(res.failed_offset, t.ops[i - 1].off);
			break;
		}
		case F_READ:
			assert_int_equal(err, VHDX_ERR_IO);
			assert_true(res.source_failed);
			assert_true(res.failed_offset <= s->failed_read_off);
			assert_true(s->failed_read_off - res.failed_offset < c->scratch);
			break;
		case F_PROGRESS:
			assert_int_equal(err, VHDX_ERR_ABORTED);
			assert_false(res.source_failed);
			break;
		default:
			break;
		}
	}
	tgt_free(&t);
	tsrc_free(s);
	free(s);
	return failed;
}

static void test_faults(void **state)
{
	size_t c;
	int f;
	long n, total = 0;

	(void)state;
	for (c = 0; c < sizeof(fault_cases) / sizeof(fault_cases[0]); c++) {
		long per[F_KINDS];

		for (f = 0; f < F_KINDS; f++) {
			for (n = 1; fault_run(&fault_cases[c], (enum fault)f, n); n++)
				assert_true(n < 100000);
			per[f] = n - 1;
			total += n - 1;
			assert_true(per[f] > 0);
		}
		print_message("fill faults %s: %ld writes, %ld flushes, %ld source reads, %ld progress calls, "
			      "each failing in turn\n", fault_cases[c].name, per[F_WRITE], per[F_FLUSH], per[F_READ],
			      per[F_PROGRESS]);
	}
	print_message("fill faults: %ld failing runs, none left a signature\n", total);
}

/* DEVFULL, and what is refused */
static void test_devfull_inval(void **state)
{
	struct vhdx_plan dyn = make_plan(DYN, 8 * MiB, MiB, 512), fix = make_plan(FIX, 4 * MiB, MiB, 512);
	struct vhdx_plan diff;
	struct vhdx_params dp = test_params(VHDX_TYPE_DIFFERENCING, 8 * MiB);
	static const struct vhdx_kv kv[] = {
		{ "parent_linkage", "{20212223-2425-2627-2829-2a2b2c2d2e2f}" },
		{ "relative_path", ".\\parent.vhdx" },
	};
	struct tsrc *s = malloc(sizeof(*s));
	struct vhdx_fill_result res;
	struct tgt t;
	uint8_t scratch[VHDX_FILL_SCRATCH_MIN];

	(void)state;
	assert_non_null(s);
	tsrc_init(s, 8 * MiB, MAP_NONE);
	fill_pattern(&s->data, PAT_FULL, 8 * MiB, MiB, 512); /* 8 blocks to store */
	tsrc_seal(s);
	/* a fixed image larger than the sink: refused before any write */
	tgt_init(&t, fix.file_size - 4096, true, 512, 0);
	s->r.size = s->src.size = 4 * MiB;
	assert_int_equal(write_from(&fix, &t, &s->r, 68 * KiB, &res), VHDX_ERR_DEVFULL);
	assert_int_equal(t.n, 0);
	tgt_free(&t);
	s->r.size = s->src.size = 8 * MiB;
	/* a dynamic image that outgrows the sink at its third block */
	tgt_init(&t, dyn.data_offset + 2 * MiB, true, 512, dyn.data_offset + 2 * MiB);
	assert_int_equal(write_from(&dyn, &t, &s->r, 68 * KiB, &res), VHDX_ERR_DEVFULL);
	assert_int_equal(res.failed_offset, dyn.data_offset + 2 * MiB);
	assert_false(res.source_failed);
	assert_false(tgt_has_signature(&t));
	assert_true(t.sig_op < 0);
	tgt_free(&t);
	/* exactly enough: fits */
	tgt_init(&t, dyn.data_offset + 8 * MiB, true, 512, 0);
	assert_int_equal(write_from(&dyn, &t, &s->r, 68 * KiB, &res), VHDX_OK);
	assert_int_equal(res.file_size, dyn.data_offset + 8 * MiB);
	tgt_free(&t);
	/* refused: a differencing plan, a source larger than the disk, a
	 * short scratch, NULLs, a sink block over 4096 */
	dp.parent_locator = kv;
	dp.parent_locator_count = 2;
	assert_int_equal(vhdx_plan_init(&diff, &dp, NULL, 0), VHDX_OK);
	tgt_init(&t, 0, true, 512, 0);
	assert_int_equal(vhdx_image_write_from(&diff, &t.sink, &s->r, scratch, sizeof(scratch), &res),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_image_write_from(&fix, &t.sink, &s->r, scratch, sizeof(scratch), &res),
			 VHDX_ERR_INVAL); /* 8 MiB source, 4 MiB disk */
	assert_int_equal(vhdx_fill_estimate(&fix, &s->r, &res.blocks_stored), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_image_write_from(&dyn, &t.sink, &s->r, scratch, sizeof(scratch) - 1, &res),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_image_write_from(&dyn, &t.sink, &s->r, scratch, sizeof(scratch), NULL),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_image_write_from(&dyn, &t.sink, NULL, scratch, sizeof(scratch), &res),
			 VHDX_ERR_INVAL);
	t.sink.block_size = 8192;
	assert_int_equal(vhdx_image_write_from(&dyn, &t.sink, &s->r, scratch, sizeof(scratch), &res),
			 VHDX_ERR_INVAL);
	assert_int_equal(t.n, 0);
	tgt_free(&t);
	tsrc_free(s);
	free(s);
}

/* ---- 5. the estimate ---- */

static void test_estimate(void **state)
{
	struct vhdx_plan plan = make_plan(DYN, 64 * MiB, MiB, 512);
	struct vhdx_plan big = make_plan(DYN, 64 * MiB, 32 * MiB, 512);
	struct tsrc *s = malloc(sizeof(*s));
	uint64_t est;

	(void)state;
	assert_non_null(s);
	/* pages present in blocks 0 (zeros only), 3, 4 (one extent across
	 * them), 10 (two extents) and 63 */
	tsrc_init(s, 64 * MiB, MAP_PAGES);
	put_random(&s->data, 0, 4096, 1);
	sparse_file_zero(&s->data, 0, 4096);
	put_random(&s->data, 4 * MiB - 64 * KiB, 128 * KiB, 2);
	put_random(&s->data, 10 * MiB, 4096, 3);
	put_random(&s->data, 10 * MiB + 512 * KiB, 4096, 4);
	put_random(&s->data, 64 * MiB - 1, 1, 5);
	tsrc_seal(s);
	assert_int_equal(vhdx_fill_estimate(&plan, &s->r, &est), VHDX_OK);
	assert_int_equal(est, 5);
	assert_int_equal(s->reads, 0); /* no byte read */
	assert_int_equal(vhdx_fill_estimate(&big, &s->r, &est), VHDX_OK);
	assert_int_equal(est, 2); /* blocks 0 and 1 of 32 MiB */
	/* no map: every block the source covers; a short source: only its blocks */
	s->r.raw_map = NULL;
	assert_int_equal(vhdx_fill_estimate(&plan, &s->r, &est), VHDX_OK);
	assert_int_equal(est, 64);
	s->r.size = s->src.size = 5 * MiB + 512;
	assert_int_equal(vhdx_fill_estimate(&plan, &s->r, &est), VHDX_OK);
	assert_int_equal(est, 6);
	s->r.size = s->src.size = 0;
	assert_int_equal(vhdx_fill_estimate(&plan, &s->r, &est), VHDX_OK);
	assert_int_equal(est, 0);
	tsrc_free(s);
	free(s);
}

/* ---- 4b. power cuts (the idea of test_powercut.c, for payload images) ---- */

struct rec_op {
	struct top op;
	uint8_t *data; /* TOP_WRITE: a copy of the bytes */
};

struct recorder {
	struct rec_op *ops;
	size_t n, cap;
	struct vhdx_sink sink;
};

static struct rec_op *rec_add(struct recorder *r, enum top_kind kind, uint64_t off, uint64_t len)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->ops = realloc(r->ops, r->cap * sizeof(*r->ops));
		assert_non_null(r->ops);
	}
	r->ops[r->n] = (struct rec_op){ { kind, off, len }, NULL };
	return &r->ops[r->n++];
}

static int rec_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct rec_op *op = rec_add(s->ctx, TOP_WRITE, off, len);

	assert_true(off + len <= s->capacity);
	op->data = malloc(len);
	assert_non_null(op->data);
	memcpy(op->data, buf, len);
	return VHDX_OK;
}

static int rec_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	assert_true(off + len <= s->capacity);
	rec_add(s->ctx, TOP_ZERO, off, len);
	return VHDX_OK;
}

static int rec_flush(const struct vhdx_sink *s)
{
	rec_add(s->ctx, TOP_FLUSH, 0, 0);
	return VHDX_OK;
}

static void apply(uint8_t *state, const struct rec_op *r, uint64_t from, uint64_t to)
{
	if (r->op.kind == TOP_WRITE)
		memcpy(state + r->op.off + from, r->data + from, to - from);
	else if (r->op.kind == TOP_ZERO)
		memset(state + r->op.off + from, 0, to - from);
}

struct buf_src {
	const uint8_t *data;
	struct vhdx_source src;
};

static int buf_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	const struct buf_src *b = s->ctx;

	assert_true(off <= s->size && len <= s->size - off);
	memcpy(buf, b->data + off, len);
	return VHDX_OK;
}

enum pc_class { PC_OLD, PC_NONE, PC_NEW, PC_CLASSES };

struct pc {
	uint8_t *state, *initial, *final;
	uint64_t cap, file_size;
	uint8_t *scratch;
	struct vhdx_info *info;
	unsigned long by_class[PC_CLASSES], states;
	const char *name;
};

/* Every state is the old target untouched, not a VHDX, or the new image
 * whole and checking without errors. */
static enum pc_class pc_classify(struct pc *p, size_t op, uint64_t cut)
{
	struct buf_src b = { .data = p->state, .src = { .ctx = &b, .read = buf_read, .size = p->cap } };
	enum pc_class cls;

	assert_int_equal(vhdx_check(&b.src, p->scratch, VHDX_READ_SCRATCH_MIN, p->info, NULL, NULL), VHDX_OK);
	if (!p->info->is_vhdx) {
		cls = PC_NONE;
	} else if (memcmp(p->state, p->initial, p->cap) == 0) {
		cls = PC_OLD;
	} else if (memcmp(p->state, p->final, p->file_size) == 0) {
		if (p->info->errors)
			fail_msg("%s: op %zu cut %llu: the new image has %u errors", p->name, op,
				 (unsigned long long)cut, p->info->errors);
		cls = PC_NEW;
	} else {
		fail_msg("%s: op %zu cut %llu: a VHDX that is neither the old nor the new image", p->name, op,
			 (unsigned long long)cut);
		cls = PC_NONE; /* not reached */
	}
	p->by_class[cls]++;
	p->states++;
	return cls;
}

/* Torn cuts tried: every 512 bytes in an op up to 64 KiB, else every
 * sector in its first and last 8 KiB and every 32 KiB between. */
static bool pc_cut_sampled(uint64_t len, uint64_t cut)
{
	return len <= 64 * KiB || cut <= 8 * KiB || cut >= len - 8 * KiB || cut % (32 * KiB) == 0;
}

static void powercut_image(struct pc *p, enum vhdx_type type, uint64_t vds, uint32_t lss, size_t scratch_len,
			   bool with_zero, int target)
{
	struct vhdx_plan plan = make_plan(type, vds, MiB, lss);
	struct tsrc *s = malloc(sizeof(*s));
	struct vhdx_fill_result res;
	struct recorder rec;
	uint8_t *scratch = malloc(scratch_len);
	enum pc_class cls = PC_NONE;
	size_t i;

	assert_true(s && scratch);
	tsrc_init(s, vds, MAP_NONE);
	fill_pattern(&s->data, PAT_SCATTER, vds, MiB, lss);
	tsrc_seal(s);
	p->cap = plan.data_offset + vds + MiB; /* room for any layout of the old image too */
	memset(&rec, 0, sizeof(rec));
	rec.sink.ctx = &rec;
	rec.sink.write = rec_write;
	rec.sink.zero = with_zero ? rec_zero : NULL;
	rec.sink.flush = rec_flush;
	rec.sink.block_size = 512;
	rec.sink.capacity = p->cap;
	assert_int_equal(vhdx_image_write_from(&plan, &rec.sink, &s->r, scratch, scratch_len, &res), VHDX_OK);
	p->file_size = res.file_size;
	p->initial = malloc(p->cap);
	p->state = malloc(p->cap);
	p->final = calloc(1, p->cap);
	assert_true(p->initial && p->state && p->final);
	for (i = 0; i < rec.n; i++)
		apply(p->final, &rec.ops[i], 0, rec.ops[i].op.len);
	/* the target: random bytes, or an older VHDX (another size and type) over them */
	{
		uint64_t x = 77 + (uint64_t)target, k;

		for (k = 0; k < p->cap; k++)
			p->initial[k] = (uint8_t)xorshift(&x);
	}
	if (target) {
		struct vhdx_plan old = make_plan(type == FIX ? DYN : FIX, 2 * MiB, MiB, lss);
		struct tgt o;

		assert_true(old.file_size <= p->cap);
		tgt_init(&o, 0, true, 512, 0);
		assert_int_equal(vhdx_image_write(&old, &o.sink, scratch, scratch_len), VHDX_OK);
		sparse_file_read(&o.f, 0, p->initial, (size_t)old.file_size);
		tgt_free(&o);
	}
	memcpy(p->state, p->initial, p->cap);
	cls = pc_classify(p, 0, 0);
	assert_true(cls == (target ? PC_OLD : PC_NONE));
	for (i = 0; i < rec.n; i++) {
		const struct rec_op *r = &rec.ops[i];
		uint64_t cut;

		bool last = i + 2 == rec.n; /* the signature's write, then a flush */

		for (cut = 512; r->op.kind != TOP_FLUSH && cut < r->op.len; cut += 512) {
			apply(p->state, r, cut - 512, cut);
			if (pc_cut_sampled(r->op.len, cut))
				assert_true(pc_classify(p, i, cut) != PC_NEW || last);
		}
		if (r->op.kind != TOP_FLUSH)
			apply(p->state, r, r->op.len - 512, r->op.len);
		cls = pc_classify(p, i + 1, 0);
		/* the new image appears only with the signature's write */
		assert_true(cls != PC_NEW || i + 2 >= rec.n);
	}
	assert_int_equal(rec.ops[rec.n - 2].op.kind, TOP_WRITE);
	assert_int_equal(rec.ops[rec.n - 2].op.off, 0);
	assert_int_equal(cls, PC_NEW);
	for (i = 0; i < rec.n; i++)
		free(rec.ops[i].data);
	free(rec.ops);
	free(p->initial);
	free(p->state);
	free(p->final);
	free(scratch);
	tsrc_free(s);
	free(s);
}

static void test_power_cuts(void **state)
{
	struct pc p;
	int target;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.scratch = malloc(VHDX_READ_SCRATCH_MIN);
	p.info = malloc(sizeof(*p.info));
	assert_true(p.scratch && p.info);
	for (target = 0; target < 2; target++) {
		p.name = "dynamic 6M+512 1M/512";
		powercut_image(&p, DYN, 6 * MiB + 512, 512, 132 * KiB, true, target);
		p.name = "fixed 5M 1M/4096, no zero()";
		powercut_image(&p, FIX, 5 * MiB, 4096, 132 * KiB + 100, false, target);
	}
	print_message("fill powercut: 2 payload images x 2 targets: %lu states (prefixes and torn writes): "
		      "old untouched %lu, not VHDX %lu, complete new image %lu\n", p.states, p.by_class[PC_OLD],
		      p.by_class[PC_NONE], p.by_class[PC_NEW]);
	assert_true(p.by_class[PC_OLD] >= 2);
	assert_true(p.by_class[PC_NEW] >= 4 * 2); /* at least the last write's prefix and its flush */
	free(p.scratch);
	free(p.info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_patterns),
		cmocka_unit_test(test_zero_ranges_unread),
		cmocka_unit_test(test_chain_source),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_power_cuts),
		cmocka_unit_test(test_devfull_inval),
		cmocka_unit_test(test_estimate),
	};

	return cmocka_run_group_tests_name("fill", tests, NULL, NULL);
}
