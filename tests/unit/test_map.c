/* SPDX-License-Identifier: MIT */
/*
 * test_map.c - the data path (vhdx_data.h) on chains built by hand: images
 * written in RAM by the core's writer into sparse files, blocks, states
 * and sector bitmaps set here, levels filled from the plans.  Every result
 * is held against a reference model: a sparse byte array of the virtual
 * disk built alongside, level over level, from what the test wrote.
 *
 * Checked: every block state in dynamic, fixed and differencing disks;
 * bitmap runs starting and ending mid-byte and across chunk boundaries
 * (P > CR); 512 and 4096 logical sectors; parents with larger and smaller
 * blocks than the child; extents that cover the disk exactly, are maximal,
 * and agree from any offset and for any scratch size; random reads byte
 * for byte; corrupt entries; failing sources; each BAT and bitmap page
 * read once by a convert's calls (the scratch's memo); the zero test.
 */
#include <stdio.h>

#include "sparse_file.h"
#include "test_util.h"
#include "vhdx_data.h"
#include "vhdx_internal.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

#define ST_NOT_PRESENT 0u
#define ST_UNDEFINED 1u
#define ST_ZERO 2u
#define ST_UNMAPPED 3u
#define ST_FULL 6u
#define ST_PARTIAL 7u
#define SB_PRESENT 6u

/* xorshift64*: the test's only source of randomness, seeded per case */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void seed(uint64_t s)
{
	rng_state = s * 0x9E3779B97F4A7C15ull + 1;
}

/* ---- images ---- */

struct img {
	struct sparse_file f;
	enum vhdx_type type;
	struct vhdx_geometry g;  /* vhdx_geometry_init: what the decoder fills */
	uint64_t vds;
	uint32_t bs, lss;
	uint64_t cr;             /* chunk ratio, computed here: 2^23 * LSS / BS [2.5] */
	uint64_t spb;            /* sectors per block */
	uint64_t blocks;         /* P */
	uint64_t bat_offset;
	uint32_t bat_length;
};

static const struct vhdx_kv locator[] = {
	{ "parent_linkage", "{20212223-2425-2627-2829-2a2b2c2d2e2f}" },
	{ "relative_path", ".\\parent.vhdx" },
};

static void img_make(struct img *im, enum vhdx_type type, uint64_t vds, uint32_t bs, uint32_t lss)
{
	struct vhdx_params p = test_params(type, vds);
	struct vhdx_plan plan;
	void *scratch = malloc(1 << 20);

	memset(im, 0, sizeof(*im));
	p.block_size = bs;
	p.logical_sector_size = lss;
	if (type == VHDX_TYPE_DIFFERENCING) {
		p.parent_locator = locator;
		p.parent_locator_count = 2;
	}
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	sparse_file_init(&im->f, 0);
	assert_int_equal(vhdx_image_write(&plan, &im->f.sink, scratch, 1 << 20), VHDX_OK);
	free(scratch);
	sparse_file_resize(&im->f, plan.file_size);
	assert_int_equal(vhdx_geometry_init(&im->g, vds, bs, lss, type == VHDX_TYPE_DIFFERENCING), VHDX_OK);
	im->type = type;
	im->vds = vds;
	im->bs = bs;
	im->lss = lss;
	im->cr = ((uint64_t)1 << 23) * lss / bs;
	im->spb = bs / lss;
	im->blocks = (vds + bs - 1) / bs;
	im->bat_offset = plan.bat_offset;
	im->bat_length = (uint32_t)plan.bat_length;
}

static void img_free(struct img *im)
{
	sparse_file_free(&im->f);
}

/* BAT indexes by the formulas of [2.5], independently of the core */
static uint64_t idx_block(const struct img *im, uint64_t b)
{
	return b + b / im->cr;
}

static uint64_t idx_bitmap(const struct img *im, uint64_t chunk)
{
	return chunk * (im->cr + 1) + im->cr;
}

static uint64_t entry_get(const struct img *im, uint64_t index)
{
	return sparse_file_get_le64(&im->f, im->bat_offset + 8 * index);
}

static void entry_set(struct img *im, uint64_t index, uint64_t v)
{
	sparse_file_put_le64(&im->f, im->bat_offset + 8 * index, v);
}

/* @len bytes (rounded up to MiB) at the file's end, which moves on */
static uint64_t img_alloc(struct img *im, uint64_t len)
{
	uint64_t fo = (im->f.size + MiB - 1) / MiB * MiB;

	sparse_file_resize(&im->f, fo + (len + MiB - 1) / MiB * MiB);
	return fo;
}

static void fill_random(struct sparse_file *f, uint64_t off, uint64_t len)
{
	uint8_t buf[4096];

	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf), i;

		for (i = 0; i < n; i++)
			buf[i] = (uint8_t)(rnd() | 1); /* never 0: a stored byte is visible */
		sparse_file_write(f, off, buf, n);
		off += n;
		len -= n;
	}
}

/* Data in a block: all of it in a small disk; else a few ranges (the rest
 * reads as zeros, as a sparse file would): the head, the tail, two more */
static void fill_block(struct img *im, uint64_t fo)
{
	int k;

	if (im->bs <= 2 * MiB && im->blocks <= 32) {
		fill_random(&im->f, fo, im->bs);
		return;
	}
	fill_random(&im->f, fo, 4096 + rnd_below(9000));
	fill_random(&im->f, fo + im->bs - 7000, 7000);
	for (k = 0; k < 2; k++) {
		uint64_t len = 1 + rnd_below(40 * 1024);

		fill_random(&im->f, fo + rnd_below(im->bs - len), len);
	}
}

static void block_state(struct img *im, uint64_t b, unsigned state, uint64_t fo)
{
	entry_set(im, idx_block(im, b), fo | state);
}

static uint64_t block_full(struct img *im, uint64_t b)
{
	uint64_t fo = img_alloc(im, im->bs);

	block_state(im, b, ST_FULL, fo);
	fill_block(im, fo);
	return fo;
}

/* The chunk's sector bitmap block, allocated (PRESENT) on first use */
static uint64_t bitmap_of(struct img *im, uint64_t b)
{
	uint64_t c = b / im->cr, e = entry_get(im, idx_bitmap(im, c));

	if ((e & 7) != SB_PRESENT) {
		e = img_alloc(im, MiB) | SB_PRESENT;
		entry_set(im, idx_bitmap(im, c), e);
	}
	return e & ~(MiB - 1);
}

/* Sets sectors [first, first + count) of block @b to @v in its bitmap */
static void bits_set(struct img *im, uint64_t b, uint64_t first, uint64_t count, int v)
{
	uint64_t sb = bitmap_of(im, b), base = (b % im->cr) * im->spb + first, k;
	uint64_t byte0 = base / 8, nbytes = (base + count + 7) / 8 - byte0;
	uint8_t *buf = malloc(nbytes);

	sparse_file_read(&im->f, sb + byte0, buf, nbytes);
	for (k = base; k < base + count; k++) {
		uint8_t bit = (uint8_t)(1u << (k % 8));

		if (v)
			buf[k / 8 - byte0] |= bit;
		else
			buf[k / 8 - byte0] &= (uint8_t)~bit;
	}
	sparse_file_write(&im->f, sb + byte0, buf, nbytes);
	free(buf);
}

/* PARTIALLY_PRESENT with data; bits left for the caller */
static uint64_t block_partial(struct img *im, uint64_t b)
{
	uint64_t fo = img_alloc(im, im->bs);

	bitmap_of(im, b);
	block_state(im, b, ST_PARTIAL, fo);
	fill_block(im, fo);
	return fo;
}

/* The bytes of block @b's bits in its chunk's bitmap (whole bytes: a
 * block has at least 256 sectors) */
static uint64_t bits_offset(struct img *im, uint64_t b)
{
	return bitmap_of(im, b) + (b % im->cr) * im->spb / 8;
}

/* Random runs over the whole block, alternating, 1 to @max sectors each */
static void bits_random(struct img *im, uint64_t b, uint64_t max)
{
	uint64_t s = 0, k;
	uint8_t *bm = calloc(1, im->spb / 8);
	int v = (int)(rnd() & 1);

	while (s < im->spb) {
		uint64_t n = 1 + rnd_below(max);

		if (n > im->spb - s)
			n = im->spb - s;
		if (v)
			for (k = s; k < s + n; k++)
				bm[k / 8] |= (uint8_t)(1u << (k % 8));
		s += n;
		v = !v;
	}
	sparse_file_write(&im->f, bits_offset(im, b), bm, im->spb / 8);
	free(bm);
}

/* ---- the reference model: the virtual disk, level over level ---- */

static uint64_t used_of(const struct img *im, uint64_t b)
{
	uint64_t start = b * im->bs;

	return im->vds - start < im->bs ? im->vds - start : im->bs;
}

/* What @im shows over what lies below it (the model so far) */
static void model_apply(struct sparse_file *model, const struct img *im)
{
	bool diff = im->type == VHDX_TYPE_DIFFERENCING;
	uint64_t b;

	for (b = 0; b < im->blocks; b++) {
		uint64_t e = entry_get(im, idx_block(im, b)), fo = e & ~(MiB - 1);
		uint64_t start = b * im->bs, used = used_of(im, b), sectors = used / im->lss, s, t, sb;

		switch (e & 7) {
		case ST_NOT_PRESENT:
			if (!diff)
				sparse_file_zero(model, start, used);
			break;
		case ST_UNDEFINED:
		case ST_ZERO:
		case ST_UNMAPPED:
			sparse_file_zero(model, start, used);
			break;
		case ST_FULL:
			sparse_file_copy(model, start, &im->f, fo, used);
			break;
		case ST_PARTIAL: {
			uint8_t *bm = malloc(im->spb / 8);

			sb = entry_get(im, idx_bitmap(im, b / im->cr)) & ~(MiB - 1);
			sparse_file_read(&im->f, sb + (b % im->cr) * im->spb / 8, bm, im->spb / 8);
			for (s = 0; s < sectors; s = t) {
				int v = (bm[s / 8] >> (s % 8)) & 1;

				for (t = s + 1; t < sectors && ((bm[t / 8] >> (t % 8)) & 1) == v; t++)
					;
				if (v)
					sparse_file_copy(model, start + s * im->lss, &im->f, fo + s * im->lss,
							 (t - s) * im->lss);
			}
			free(bm);
			break;
		}
		default:
			break; /* reserved: only the fault tests make them, without a model */
		}
	}
}

/* ---- chains ---- */

struct tchain {
	struct vhdx_chain c;
	struct vhdx_chain_level *levels;
	struct img *imgs[4];
	unsigned depth;
	struct sparse_file model;
	uint64_t vds;
};

/* Levels from the images as they are now (imgs[0] the child); the model
 * from the bottom up. */
static void tchain_init(struct tchain *t, struct img **imgs, unsigned depth)
{
	unsigned i;

	memset(t, 0, sizeof(*t));
	t->levels = calloc(depth, sizeof(*t->levels));
	assert_non_null(t->levels);
	assert_true(depth >= 1 && depth <= 4);
	memcpy(t->imgs, imgs, depth * sizeof(*imgs));
	t->depth = depth;
	t->vds = imgs[0]->vds;
	for (i = 0; i < depth; i++) {
		struct vhdx_chain_level *l = &t->levels[i];
		struct img *im = imgs[i];

		l->disk.file_size = im->f.size;
		l->disk.type = im->type;
		l->disk.geom = im->g;
		l->disk.bat_offset = im->bat_offset;
		l->disk.bat_length = im->bat_length;
		l->src = im->f.src;
		snprintf(l->name, sizeof(l->name), "level%u", i);
	}
	t->c.levels = t->levels;
	t->c.max_levels = depth;
	t->c.depth = depth;
	t->c.verdict = VHDX_CHAIN_COMPLETE;
	sparse_file_init(&t->model, t->vds);
	for (i = depth; i-- > 0;)
		model_apply(&t->model, imgs[i]);
}

static void tchain_free(struct tchain *t)
{
	sparse_file_free(&t->model);
	free(t->levels);
}

/* ---- checks ---- */

static const size_t scratch_lens[] = {
	VHDX_DATA_SCRATCH_MIN,              /* one BAT page, one shared bitmap/bounce page */
	VHDX_DATA_SCRATCH_MIN + 4096 + 5,   /* three pages and change */
	16 * 1024,
	64 * 1024 + 100,
	1 << 20,
};
#define N_SCRATCH (sizeof(scratch_lens) / sizeof(scratch_lens[0]))
#define CANARY 64

static uint8_t *scratch_new(size_t len)
{
	uint8_t *p = malloc(len + CANARY);

	assert_non_null(p);
	memset(p, 0xE7, len + CANARY);
	return p;
}

static void scratch_free(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < CANARY; i++)
		assert_int_equal(p[len + i], 0xE7); /* nothing past scratch_len */
	free(p);
}

struct elist {
	struct vhdx_extent *e;
	uint64_t *off;
	size_t n, cap;
};

static void elist_free(struct elist *l)
{
	free(l->e);
	free(l->off);
	memset(l, 0, sizeof(*l));
}

/* The extents from @from to the end of the disk (at most @max of them),
 * each asked for up to the end */
static void map_walk(const struct vhdx_chain *c, uint64_t from, uint64_t vds, size_t max, size_t scratch_len,
		     struct elist *l)
{
	uint8_t *scratch = scratch_new(scratch_len);
	uint64_t off = from;

	l->n = 0;
	while (off < vds && l->n < max) {
		struct vhdx_extent e;

		memset(&e, 0xAB, sizeof(e));
		assert_int_equal(vhdx_map(c, off, vds - off, &e, scratch, scratch_len), VHDX_OK);
		assert_true(e.length > 0 && e.length <= vds - off);
		assert_true(e.kind == VHDX_EXTENT_ZERO || e.kind == VHDX_EXTENT_DATA);
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			l->e = realloc(l->e, l->cap * sizeof(*l->e));
			l->off = realloc(l->off, l->cap * sizeof(*l->off));
		}
		l->e[l->n] = e;
		l->off[l->n++] = off;
		off += e.length;
	}
	assert_true(off == vds || l->n == max);
	scratch_free(scratch, scratch_len);
}

static void map_all(const struct vhdx_chain *c, uint64_t vds, size_t scratch_len, struct elist *l)
{
	map_walk(c, 0, vds, SIZE_MAX, scratch_len, l);
}

static bool continues(const struct vhdx_extent *a, const struct vhdx_extent *b)
{
	if (a->kind != b->kind)
		return false;
	return a->kind == VHDX_EXTENT_ZERO ||
	       (a->level == b->level && a->file_offset + a->length == b->file_offset);
}

static bool same_extent(const struct vhdx_extent *a, const struct vhdx_extent *b)
{
	if (a->kind != b->kind || a->length != b->length)
		return false;
	return a->kind == VHDX_EXTENT_ZERO || (a->level == b->level && a->file_offset == b->file_offset);
}

/* Cover exactly (map_all), maximal, and true to the model */
static void verify_extents(const struct tchain *t, const struct elist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct vhdx_extent *e = &l->e[i];

		if (i)
			assert_false(continues(&l->e[i - 1], e)); /* as long as possible */
		if (e->kind == VHDX_EXTENT_ZERO) {
			assert_true(sparse_file_is_zero(&t->model, l->off[i], e->length));
		} else {
			const struct img *im;

			assert_true(e->level < t->depth);
			im = t->imgs[e->level];
			assert_true(e->file_offset >= MiB && e->file_offset <= im->f.size &&
				    e->length <= im->f.size - e->file_offset);
			if (!sparse_file_equal(&im->f, e->file_offset, &t->model, l->off[i], e->length))
				fail_msg("extent %zu at %#llx (+%#llx) level %u file %#llx differs from the model", i,
					 (unsigned long long)l->off[i], (unsigned long long)e->length, e->level,
					 (unsigned long long)e->file_offset);
		}
	}
}

/* The extent covering @off in @l */
static size_t elist_find(const struct elist *l, uint64_t off)
{
	size_t lo = 0, hi = l->n;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (l->off[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* From any offset and for any length: the covering extent, clipped */
static void check_submaps(const struct tchain *t, const struct elist *l, int n, size_t scratch_len)
{
	uint8_t *scratch = scratch_new(scratch_len);
	int k;

	for (k = 0; k < n; k++) {
		size_t i = rnd_below(l->n);
		uint64_t off = l->off[i] + rnd_below(l->e[i].length), len, end;
		struct vhdx_extent got, want = l->e[i];

		if (rnd() & 1) {
			/* near a boundary */
			uint64_t d = rnd_below(3 * 4096);

			off = l->off[i] >= d ? l->off[i] - d : 0;
			i = elist_find(l, off);
			want = l->e[i];
		}
		len = 1 + rnd_below(rnd() & 1 ? 70000 : t->vds);
		if (len > t->vds - off)
			len = t->vds - off;
		end = l->off[i] + want.length;
		if (want.kind == VHDX_EXTENT_DATA)
			want.file_offset += off - l->off[i];
		want.length = end - off < len ? end - off : len;
		assert_int_equal(vhdx_map(&t->c, off, len, &got, scratch, scratch_len), VHDX_OK);
		if (!same_extent(&got, &want))
			fail_msg("map(%#llx, %#llx): kind %d len %#llx level %u fo %#llx, want kind %d len %#llx "
				 "level %u fo %#llx", (unsigned long long)off, (unsigned long long)len, got.kind,
				 (unsigned long long)got.length, got.level, (unsigned long long)got.file_offset,
				 want.kind, (unsigned long long)want.length, want.level,
				 (unsigned long long)want.file_offset);
	}
	scratch_free(scratch, scratch_len);
}

/* Random reads, byte for byte against the model; the buffer's canary */
static void check_reads(const struct tchain *t, const struct elist *l, int n, size_t scratch_len)
{
	uint8_t *scratch = scratch_new(scratch_len);
	int k;

	for (k = 0; k < n; k++) {
		uint64_t off, len;
		uint8_t *buf, *ref;
		size_t i;

		switch (rnd() % 3) {
		case 0:
			off = rnd_below(t->vds);
			break;
		default: { /* around an extent boundary */
			uint64_t d = rnd_below(20000);

			i = rnd_below(l->n);
			off = rnd() & 1 ? l->off[i] + d : (l->off[i] >= d ? l->off[i] - d : 0);
			if (off >= t->vds)
				off = t->vds - 1;
		}
		}
		switch (rnd() % 4) {
		case 0:
			len = 1 + rnd_below(600);
			break;
		case 1:
			len = 1 + rnd_below(20000);
			break;
		case 2:
			len = 1 + rnd_below(300000);
			break;
		default:
			len = 1 + rnd_below(3 * MiB);
		}
		if (len > t->vds - off)
			len = t->vds - off;
		buf = malloc(len + CANARY);
		ref = malloc(len);
		memset(buf, 0x5A, len + CANARY);
		assert_int_equal(vhdx_read_at(&t->c, off, buf, len, scratch, scratch_len), VHDX_OK);
		sparse_file_read(&t->model, off, ref, len);
		if (memcmp(buf, ref, len)) {
			for (i = 0; buf[i] == ref[i]; i++)
				;
			fail_msg("read_at(%#llx, %#llx) differs at +%#zx", (unsigned long long)off,
				 (unsigned long long)len, i);
		}
		for (i = 0; i < CANARY; i++)
			assert_int_equal(buf[len + i], 0x5A);
		free(buf);
		free(ref);
	}
	scratch_free(scratch, scratch_len);
}

/* Everything on one chain: map_all with every scratch size (the same
 * extents), true to the model, maximal; submaps; random reads; a whole
 * read of a small disk */
static void check_chain(struct tchain *t, uint64_t s, int reads)
{
	struct elist first = { 0 }, other = { 0 };
	size_t k, i;

	seed(s);
	map_all(&t->c, t->vds, scratch_lens[0], &first);
	verify_extents(t, &first);
	if (getenv("TEST_MAP_VERBOSE"))
		fprintf(stderr, "chain %llu: depth %u, %#llx bytes, %zu extents\n", (unsigned long long)s, t->depth,
			(unsigned long long)t->vds, first.n);
	/* the same extents with every scratch size, from any extent on (a
	 * stretch of 1500 of them when there are many) */
	for (k = 1; k < N_SCRATCH; k++) {
		size_t from = first.n > 1500 ? rnd_below(first.n - 1500) : 0;

		map_walk(&t->c, first.off[from], t->vds, 1500, scratch_lens[k], &other);
		assert_int_equal(other.n, first.n - from < 1500 ? first.n - from : 1500);
		for (i = 0; i < other.n; i++)
			assert_true(same_extent(&first.e[from + i], &other.e[i]));
	}
	for (k = 0; k < N_SCRATCH; k++) {
		check_submaps(t, &first, 60, scratch_lens[k]);
		check_reads(t, &first, reads, scratch_lens[k]);
	}
	if (t->vds <= 64 * MiB) {
		uint8_t *buf = malloc(t->vds), *ref = malloc(t->vds), *scratch = scratch_new(scratch_lens[0]);

		assert_int_equal(vhdx_read_at(&t->c, 0, buf, t->vds, scratch, scratch_lens[0]), VHDX_OK);
		sparse_file_read(&t->model, 0, ref, t->vds);
		assert_memory_equal(buf, ref, t->vds);
		scratch_free(scratch, scratch_lens[0]);
		free(buf);
		free(ref);
	}
	elist_free(&first);
	elist_free(&other);
}

/* One extent at @off, up to the end, as expected */
static void expect_map(const struct tchain *t, uint64_t off, enum vhdx_extent_kind kind, uint64_t len,
		       unsigned level, uint64_t fo)
{
	uint8_t *scratch = scratch_new(VHDX_DATA_SCRATCH_MIN);
	struct vhdx_extent got, want;

	want.kind = kind;
	want.length = len;
	want.level = level;
	want.file_offset = fo;
	assert_int_equal(vhdx_map(&t->c, off, t->vds - off, &got, scratch, VHDX_DATA_SCRATCH_MIN), VHDX_OK);
	if (!same_extent(&got, &want))
		fail_msg("map(%#llx): kind %d len %#llx level %u fo %#llx, want kind %d len %#llx level %u fo %#llx",
			 (unsigned long long)off, got.kind, (unsigned long long)got.length, got.level,
			 (unsigned long long)got.file_offset, want.kind, (unsigned long long)want.length,
			 want.level, (unsigned long long)want.file_offset);
	scratch_free(scratch, VHDX_DATA_SCRATCH_MIN);
}

#define ZERO VHDX_EXTENT_ZERO
#define DATA VHDX_EXTENT_DATA

/* ---- block states ---- */

/* Dynamic: NOT_PRESENT, UNDEFINED, ZERO, UNMAPPED read zeros (offsets of
 * UNDEFINED and UNMAPPED may be kept, NOT_PRESENT's is ignored);
 * FULLY_PRESENT blocks contiguous in the file make one extent */
static void test_states_dynamic(void **state)
{
	struct img a, *imgs[1] = { &a };
	struct tchain t;
	uint64_t fo4, fo5, fo6, fo12;

	(void)state;
	seed(1);
	img_make(&a, VHDX_TYPE_DYNAMIC, 16 * MiB, 1 * MiB, 512);
	block_state(&a, 1, ST_UNDEFINED, 5 * MiB);
	block_state(&a, 2, ST_ZERO, 0);
	block_state(&a, 3, ST_UNMAPPED, 900 * MiB); /* outside: never read */
	fo4 = block_full(&a, 4);
	fo5 = block_full(&a, 5);
	assert_int_equal(fo5, fo4 + MiB);
	img_alloc(&a, MiB); /* a gap */
	fo6 = block_full(&a, 6);
	block_state(&a, 7, ST_NOT_PRESENT, 2 * MiB);
	fo12 = block_full(&a, 12);
	assert_int_equal(fo12, fo6 + MiB);
	tchain_init(&t, imgs, 1);
	expect_map(&t, 0, ZERO, 4 * MiB, 0, 0);
	expect_map(&t, 4 * MiB, DATA, 2 * MiB, 0, fo4);
	expect_map(&t, 5 * MiB + 1, DATA, MiB - 1, 0, fo5 + 1);
	expect_map(&t, 6 * MiB, DATA, MiB, 0, fo6);
	expect_map(&t, 7 * MiB, ZERO, 5 * MiB, 0, 0);
	expect_map(&t, 12 * MiB, DATA, MiB, 0, fo12);
	expect_map(&t, 13 * MiB, ZERO, 3 * MiB, 0, 0);
	check_chain(&t, 1, 40);
	tchain_free(&t);
	img_free(&a);
}

/* Fixed (4096-byte sectors, a short last block): the writer's contiguous
 * payload is one extent; states 0-3 in a fixed disk read zeros */
static void test_states_fixed(void **state)
{
	struct img a, *imgs[1] = { &a };
	struct tchain t;
	uint64_t b, fo0;

	(void)state;
	seed(2);
	img_make(&a, VHDX_TYPE_FIXED, 9 * MiB, 2 * MiB, 4096);
	assert_int_equal(a.blocks, 5);
	fo0 = entry_get(&a, 0) & ~(MiB - 1);
	for (b = 0; b < a.blocks; b++) {
		assert_int_equal(entry_get(&a, b), (fo0 + b * 2 * MiB) | ST_FULL);
		fill_random(&a.f, fo0 + b * 2 * MiB, used_of(&a, b));
	}
	tchain_init(&t, imgs, 1);
	expect_map(&t, 0, DATA, 9 * MiB, 0, fo0);
	expect_map(&t, 9 * MiB - 4096, DATA, 4096, 0, fo0 + 9 * MiB - 4096);
	check_chain(&t, 2, 30);
	tchain_free(&t);

	block_state(&a, 2, ST_ZERO, 0);
	block_state(&a, 3, ST_NOT_PRESENT, 0);
	tchain_init(&t, imgs, 1);
	expect_map(&t, 0, DATA, 4 * MiB, 0, fo0);
	expect_map(&t, 4 * MiB, ZERO, 4 * MiB, 0, 0);
	expect_map(&t, 8 * MiB, DATA, MiB, 0, fo0 + 8 * MiB);
	check_chain(&t, 3, 30);
	tchain_free(&t);

	block_state(&a, 2, ST_UNDEFINED, fo0 + 4 * MiB);
	block_state(&a, 3, ST_UNMAPPED, fo0 + 6 * MiB);
	block_state(&a, 4, ST_ZERO, 0);
	tchain_init(&t, imgs, 1);
	expect_map(&t, 0, DATA, 4 * MiB, 0, fo0);
	expect_map(&t, 4 * MiB, ZERO, 5 * MiB, 0, 0);
	check_chain(&t, 4, 30);
	tchain_free(&t);
	img_free(&a);
}

/* Differencing over a dynamic parent full of data: NOT_PRESENT reads the
 * parent, ZERO/UNDEFINED/UNMAPPED read zeros without it, FULLY_PRESENT
 * the child, PARTIALLY_PRESENT by its bitmap; data contiguous in the
 * child's file joins across a FULLY and a PARTIALLY_PRESENT block */
static void test_states_differencing(void **state)
{
	struct img p, c, *imgs[2] = { &c, &p };
	struct tchain t;
	uint64_t b, fop0 = 0, fo4, fo5;
	const uint64_t S = 512;

	(void)state;
	seed(3);
	img_make(&p, VHDX_TYPE_DYNAMIC, 12 * MiB, 1 * MiB, 512);
	for (b = 0; b < p.blocks; b++) {
		uint64_t fo = block_full(&p, b);

		if (b == 0)
			fop0 = fo;
		assert_int_equal(fo, fop0 + b * MiB);
	}
	img_make(&c, VHDX_TYPE_DIFFERENCING, 12 * MiB, 1 * MiB, 512);
	block_state(&c, 1, ST_UNDEFINED, 0);
	block_state(&c, 2, ST_ZERO, 0);
	block_state(&c, 3, ST_UNMAPPED, 0);
	bitmap_of(&c, 0);
	fo4 = block_full(&c, 4);
	fo5 = block_partial(&c, 5);
	assert_int_equal(fo5, fo4 + MiB);
	bits_set(&c, 5, 0, 100, 1);
	tchain_init(&t, imgs, 2);
	expect_map(&t, 0, DATA, MiB, 1, fop0);
	expect_map(&t, 100, DATA, MiB - 100, 1, fop0 + 100);
	expect_map(&t, MiB, ZERO, 3 * MiB, 0, 0);
	expect_map(&t, 4 * MiB, DATA, MiB + 100 * S, 0, fo4);
	expect_map(&t, 5 * MiB + 100 * S, DATA, 7 * MiB - 100 * S, 1, fop0 + 5 * MiB + 100 * S);
	check_chain(&t, 5, 40);
	tchain_free(&t);

	/* NOT_PRESENT over NOT_PRESENT: zeros at every level, one extent with
	 * the child's own zeros */
	block_state(&p, 0, ST_NOT_PRESENT, 0);
	block_state(&p, 6, ST_ZERO, 0);
	block_state(&p, 7, ST_NOT_PRESENT, 0);
	block_state(&c, 7, ST_ZERO, 0);
	tchain_init(&t, imgs, 2);
	expect_map(&t, 0, ZERO, 4 * MiB, 0, 0);
	expect_map(&t, 5 * MiB + 100 * S, DATA, MiB - 100 * S, 1, fop0 + 5 * MiB + 100 * S);
	expect_map(&t, 6 * MiB, ZERO, 2 * MiB, 0, 0);
	expect_map(&t, 8 * MiB, DATA, 4 * MiB, 1, fop0 + 8 * MiB);
	check_chain(&t, 6, 40);
	tchain_free(&t);
	img_free(&c);
	img_free(&p);
}

/* Bitmap runs that start and end mid-byte (LSB first [2.4]), a one-sector
 * run, and a run of 1 bits that continues into the next block contiguous
 * in the file; 512 and 4096 sectors */
static void test_bitmap_mid_byte(void **state)
{
	static const uint32_t lsss[] = { 512, 4096 };
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		const uint64_t S = lsss[k], spb = MiB / S;
		struct img p, c, *imgs[2] = { &c, &p };
		struct tchain t;
		uint64_t fp, fo1, fo2;

		seed(10 + k);
		img_make(&p, VHDX_TYPE_FIXED, 4 * MiB, 1 * MiB, lsss[k]);
		fp = entry_get(&p, 0) & ~(MiB - 1);
		fill_random(&p.f, fp, 4 * MiB);
		img_make(&c, VHDX_TYPE_DIFFERENCING, 4 * MiB, 1 * MiB, lsss[k]);
		bitmap_of(&c, 1);
		fo1 = block_partial(&c, 1);
		fo2 = block_partial(&c, 2);
		assert_int_equal(fo2, fo1 + MiB);
		bits_set(&c, 1, 3, 10, 1);        /* [3, 13): mid-byte to mid-byte */
		bits_set(&c, 1, 21, 1, 1);        /* one sector */
		bits_set(&c, 1, spb - 1, 1, 1);   /* the block's last sector ... */
		bits_set(&c, 2, 0, 5, 1);         /* ... and the next block's first five */
		tchain_init(&t, imgs, 2);
		expect_map(&t, 0, DATA, MiB + 3 * S, 1, fp);
		expect_map(&t, MiB + 3 * S, DATA, 10 * S, 0, fo1 + 3 * S);
		expect_map(&t, MiB + 5 * S + 7, DATA, 8 * S - 7, 0, fo1 + 5 * S + 7);
		expect_map(&t, MiB + 13 * S, DATA, 8 * S, 1, fp + MiB + 13 * S);
		expect_map(&t, MiB + 21 * S, DATA, S, 0, fo1 + 21 * S);
		expect_map(&t, MiB + 22 * S, DATA, (spb - 23) * S, 1, fp + MiB + 22 * S);
		expect_map(&t, 2 * MiB - S, DATA, 6 * S, 0, fo1 + MiB - S);
		expect_map(&t, 2 * MiB + 5 * S, DATA, 2 * MiB - 5 * S, 1, fp + 2 * MiB + 5 * S);
		check_chain(&t, 20 + k, 60);
		tchain_free(&t);
		img_free(&c);
		img_free(&p);
	}
}

/* ---- chunk boundaries (P > CR) ---- */

/*
 * For each geometry, a disk of CR + 2 blocks: the parent holds blocks
 * 0, CR-2 .. CR+1; the child's blocks CR-1 and CR are PARTIALLY_PRESENT,
 * contiguous in its file, their bitmaps in two chunks' bitmap blocks: a
 * run of 1 bits from the end of one chunk into the next is one extent.
 */
static void test_chunk_boundary(void **state)
{
	static const struct {
		uint32_t lss, bs;
	} geo[] = {
		{ 4096, 256 * MiB },  /* CR 128 */
		{ 4096, 1 * MiB },    /* CR 32768 */
		{ 4096, 2 * MiB },    /* CR 16384 */
		{ 512, 1 * MiB },     /* CR 4096 */
		{ 512, 32 * MiB },    /* CR 128 */
		{ 512, 256 * MiB },   /* CR 16 */
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(geo) / sizeof(geo[0]); k++) {
		const uint64_t S = geo[k].lss, bs = geo[k].bs;
		uint64_t cr = ((uint64_t)1 << 23) * S / bs, vds = (cr + 2) * bs, spb = bs / S;
		struct img p, c, *imgs[2] = { &c, &p };
		struct tchain t;
		uint64_t fa, fb, b, tail, head, gap;

		seed(30 + k);
		img_make(&p, VHDX_TYPE_DYNAMIC, vds, geo[k].bs, geo[k].lss);
		assert_int_equal(p.cr, cr);
		block_full(&p, 0);
		for (b = cr - 2; b < cr + 2; b++)
			block_full(&p, b);
		img_make(&c, VHDX_TYPE_DIFFERENCING, vds, geo[k].bs, geo[k].lss);
		bitmap_of(&c, cr - 1);
		bitmap_of(&c, cr);
		fa = block_partial(&c, cr - 1);
		fb = block_partial(&c, cr);
		assert_int_equal(fb, fa + bs);
		/* runs: a tail of block CR-1 and a head of block CR, a gap, three more */
		tail = spb / 4 < 1000 ? spb / 4 : 1000;
		head = spb / 4 < 777 ? spb / 4 - 5 : 777;
		gap = spb / 8 < 224 ? spb / 8 : 224;
		bits_set(&c, cr - 1, spb - tail, tail, 1);
		bits_set(&c, cr, 0, head, 1);
		bits_set(&c, cr, head + gap, 3, 1);
		block_partial(&c, 0);
		bits_random(&c, 0, 50);
		block_full(&c, cr + 1);
		tchain_init(&t, imgs, 2);
		expect_map(&t, cr * bs - tail * S, DATA, (tail + head) * S, 0, fa + bs - tail * S);
		expect_map(&t, cr * bs - tail * S - 1, DATA, 1, 1,
			   (entry_get(&p, idx_block(&p, cr - 1)) & ~(MiB - 1)) + bs - tail * S - 1);
		expect_map(&t, cr * bs + head * S, DATA, gap * S, 1,
			   (entry_get(&p, idx_block(&p, cr)) & ~(MiB - 1)) + head * S);
		expect_map(&t, cr * bs + (head + gap) * S, DATA, 3 * S, 0, fb + (head + gap) * S);
		check_chain(&t, 40 + k, 25);
		tchain_free(&t);
		img_free(&c);
		img_free(&p);
	}
}

/* ---- random chains ---- */

/* Blocks worth setting: all of a small disk; else block 0, the last, both
 * sides of every chunk boundary and a random sample */
static bool interesting(const struct img *im, uint64_t b, uint64_t keep)
{
	uint64_t r = b % im->cr;

	if (im->blocks <= 160)
		return true;
	return b == 0 || b + 1 == im->blocks || r < 2 || r + 2 >= im->cr || rnd_below(im->blocks) < keep;
}

/* Random states, data and bitmaps for one level */
static void populate(struct img *im)
{
	bool diff = im->type == VHDX_TYPE_DIFFERENCING;
	uint64_t b;

	for (b = 0; b < im->blocks; b++) {
		unsigned r = (unsigned)rnd_below(100);

		if (!interesting(im, b, 40))
			continue;
		if (im->type == VHDX_TYPE_FIXED) {
			uint64_t fo = entry_get(im, idx_block(im, b)) & ~(MiB - 1);

			if (r < 12)
				block_state(im, b, (unsigned)rnd_below(4), r & 1 ? fo : 0);
			else
				fill_block(im, fo);
		} else if (r < 30) {
			/* NOT_PRESENT */
		} else if (r < 42) {
			block_state(im, b, 1 + (unsigned)rnd_below(3), 0);
		} else if (!diff || r < 70) {
			block_full(im, b);
		} else {
			static const uint64_t runs[] = { 2, 9, 40, 700 };

			block_partial(im, b);
			bits_random(im, b, r < 76 ? im->spb / 2 : runs[rnd_below(4)]);
		}
	}
}

/* Chains of depth 1 to 3 with block sizes that differ between levels,
 * 512 and 4096 sectors, virtual sizes with a short last block */
static void test_random_chains(void **state)
{
	static const uint32_t bss[] = { 1 * MiB, 2 * MiB, 4 * MiB, 32 * MiB, 256 * MiB };
	int s;

	(void)state;
	for (s = 0; s < 24; s++) {
		unsigned depth = 1 + (unsigned)(s % 3), i;
		uint32_t lss = s & 4 ? 4096 : 512;
		uint64_t vds;
		struct img *imgs[3];
		struct tchain t;

		seed(100 + s);
		if (s % 8 == 7)
			vds = 4 * GiB + 40 * MiB + lss * rnd_below(1000); /* P > CR for 1 MiB/512 */
		else
			vds = MiB + lss * rnd_below(200 * MiB / lss);
		for (i = 0; i < depth; i++) {
			enum vhdx_type type = i + 1 < depth ? VHDX_TYPE_DIFFERENCING
							    : rnd() & 1 ? VHDX_TYPE_FIXED : VHDX_TYPE_DYNAMIC;
			uint32_t bs = bss[rnd_below(5)];

			if (type == VHDX_TYPE_FIXED && vds > GiB)
				type = VHDX_TYPE_DYNAMIC;
			if (s % 8 == 7 && i == 0)
				bs = 1 * MiB;
			imgs[i] = malloc(sizeof(*imgs[i]));
			img_make(imgs[i], type, vds, bs, lss);
			populate(imgs[i]);
		}
		tchain_init(&t, imgs, depth);
		check_chain(&t, 200 + s, 25);
		tchain_free(&t);
		for (i = 0; i < depth; i++) {
			img_free(imgs[i]);
			free(imgs[i]);
		}
	}
}

/* The block sizes of child and parent differ both ways, each size pair
 * with both sector sizes; three levels with three sizes */
static void test_block_sizes_differ(void **state)
{
	static const uint32_t pairs[][3] = {
		{ 2 * MiB, 32 * MiB, 1 * MiB },
		{ 32 * MiB, 2 * MiB, 256 * MiB },
		{ 1 * MiB, 256 * MiB, 4 * MiB },
		{ 256 * MiB, 1 * MiB, 32 * MiB },
	};
	size_t k;
	int lk;

	(void)state;
	for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		for (lk = 0; lk < 2; lk++) {
			uint32_t lss = lk ? 4096 : 512;
			struct img *imgs[3];
			struct tchain t;
			uint64_t vds;
			unsigned i;

			seed(300 + k * 2 + lk);
			vds = 300 * MiB + lss * rnd_below(MiB / lss);
			for (i = 0; i < 3; i++) {
				imgs[i] = malloc(sizeof(*imgs[i]));
				img_make(imgs[i], i < 2 ? VHDX_TYPE_DIFFERENCING : VHDX_TYPE_DYNAMIC, vds, pairs[k][i],
					 lss);
				populate(imgs[i]);
			}
			/* two levels, then three */
			tchain_init(&t, imgs + 1, 2);
			check_chain(&t, 500 + k * 2 + lk, 20);
			tchain_free(&t);
			tchain_init(&t, imgs, 3);
			check_chain(&t, 400 + k * 2 + lk, 30);
			tchain_free(&t);
			for (i = 0; i < 3; i++) {
				img_free(imgs[i]);
				free(imgs[i]);
			}
		}
	}
}

/* ---- faults ---- */

static int map_at(const struct tchain *t, uint64_t off, struct vhdx_extent *e)
{
	uint8_t scratch[VHDX_DATA_SCRATCH_MIN];

	return vhdx_map(&t->c, off, t->vds - off, e, scratch, sizeof(scratch));
}

static int read_range(const struct tchain *t, uint64_t off, uint64_t len)
{
	uint8_t scratch[VHDX_DATA_SCRATCH_MIN], *buf = malloc(len);
	int err = vhdx_read_at(&t->c, off, buf, len, scratch, sizeof(scratch));

	free(buf);
	return err;
}

/*
 * A bad block at 3 MiB of a 16 MiB disk (1 MiB blocks) behind zeros and a
 * good block: the extents before it end at it, the map at it and every
 * read that touches it say CORRUPT, reads before it work.
 */
static void expect_corrupt_at_3m(const struct tchain *t, const char *what)
{
	struct vhdx_extent e;

	if (map_at(t, 3 * MiB, &e) != VHDX_ERR_CORRUPT)
		fail_msg("%s: map at the bad block gives no CORRUPT", what);
	assert_int_equal(map_at(t, 3 * MiB + 4097, &e), VHDX_ERR_CORRUPT);
	assert_int_equal(map_at(t, 0, &e), VHDX_OK);
	assert_int_equal(e.kind, ZERO);
	assert_int_equal(e.length, 2 * MiB);
	assert_int_equal(map_at(t, 2 * MiB, &e), VHDX_OK);
	assert_int_equal(e.length, MiB); /* ends where the bad block starts */
	assert_int_equal(read_range(t, 0, 3 * MiB), VHDX_OK);
	assert_int_equal(read_range(t, 0, 16 * MiB), VHDX_ERR_CORRUPT);
	assert_int_equal(read_range(t, 3 * MiB - 1, 2), VHDX_ERR_CORRUPT);
	assert_int_equal(read_range(t, 4 * MiB - 1, 1), VHDX_ERR_CORRUPT);
	assert_int_equal(read_range(t, 4 * MiB, 12 * MiB), VHDX_OK);
}

enum fault {
	F_OUTSIDE,          /* FULLY_PRESENT past the file's end */
	F_STRADDLE,         /* FULLY_PRESENT whose block runs past the end */
	F_HEADERS,          /* FULLY_PRESENT at offset 0: the headers */
	F_RESERVED4,
	F_RESERVED5,
	F_PARTIAL_DYNAMIC,  /* PARTIALLY_PRESENT in a dynamic disk */
	F_PARTIAL_FIXED,    /* ... in a fixed disk */
	F_SB_ABSENT,        /* PARTIALLY_PRESENT, its chunk's bitmap NOT_PRESENT */
	F_SB_STATE,         /* ... bitmap entry in another state */
	F_SB_OUTSIDE,       /* ... bitmap past the file's end */
	F_SB_HEADERS,       /* ... bitmap at offset 0 */
	F_PARTIAL_OUTSIDE,  /* PARTIALLY_PRESENT block past the end */
	F_PARENT,           /* the child reads the parent's reserved state */
	F_BAT_OUTSIDE,      /* the BAT region lies past the file's end */
	F_BAT_SHORT,        /* a block's entry lies past the BAT region */
	F_COUNT
};

static void test_corrupt(void **state)
{
	int f;

	(void)state;
	for (f = 0; f < F_COUNT; f++) {
		struct img p, c, *imgs[2] = { &c, &p };
		enum vhdx_type type = f == F_PARTIAL_FIXED ? VHDX_TYPE_FIXED
				      : f >= F_SB_ABSENT && f <= F_PARENT ? VHDX_TYPE_DIFFERENCING
									  : VHDX_TYPE_DYNAMIC;
		unsigned depth = type == VHDX_TYPE_DIFFERENCING ? 2 : 1;
		struct tchain t;
		uint64_t b, fo;
		char what[32];

		seed(600 + f);
		snprintf(what, sizeof(what), "fault %d", f);
		img_make(&p, VHDX_TYPE_DYNAMIC, 16 * MiB, 1 * MiB, 512);
		img_make(&c, type, 16 * MiB, 1 * MiB, 512);
		if (type == VHDX_TYPE_FIXED) {
			for (b = 0; b < 3; b++)
				block_state(&c, b, b == 2 ? ST_FULL : ST_ZERO,
					    b == 2 ? entry_get(&c, 2) & ~(MiB - 1) : 0);
		} else {
			block_full(&c, 2);
		}
		/* an UNMAPPED block whose offset is outside is never read: no fault */
		block_state(&c, 5, ST_UNMAPPED, 4000 * MiB);
		switch (f) {
		case F_OUTSIDE:
			block_state(&c, 3, ST_FULL, c.f.size + 10 * MiB);
			break;
		case F_STRADDLE:
			fo = block_full(&c, 3);
			sparse_file_resize(&c.f, fo + MiB / 2);
			break;
		case F_HEADERS:
			block_state(&c, 3, ST_FULL, 0);
			break;
		case F_RESERVED4:
		case F_RESERVED5:
			block_state(&c, 3, f == F_RESERVED4 ? 4 : 5, img_alloc(&c, MiB));
			break;
		case F_PARTIAL_DYNAMIC:
		case F_PARTIAL_FIXED:
			/* with a PRESENT bitmap entry: only the disk's type is wrong */
			bitmap_of(&c, 3);
			bits_set(&c, 3, 0, 2048, 1);
			block_state(&c, 3, ST_PARTIAL, img_alloc(&c, MiB));
			break;
		case F_SB_ABSENT:
		case F_SB_STATE:
		case F_SB_OUTSIDE:
		case F_SB_HEADERS:
			block_partial(&c, 3);
			bits_set(&c, 3, 0, 2048, 1);
			fo = entry_get(&c, idx_bitmap(&c, 0)) & ~(MiB - 1);
			entry_set(&c, idx_bitmap(&c, 0),
				  f == F_SB_ABSENT    ? 0
				  : f == F_SB_STATE   ? fo | 2
				  : f == F_SB_OUTSIDE ? (c.f.size + 5 * MiB) | SB_PRESENT
						      : SB_PRESENT);
			break;
		case F_PARTIAL_OUTSIDE:
			block_partial(&c, 3);
			block_state(&c, 3, ST_PARTIAL, c.f.size + MiB);
			break;
		case F_PARENT:
			block_state(&p, 3, 5, 0);
			break;
		case F_BAT_OUTSIDE:
		case F_BAT_SHORT:
			break;
		}
		tchain_init(&t, imgs, depth);
		if (f == F_BAT_SHORT) {
			struct vhdx_extent e;

			/* 4 KiB of BAT (512 entries) for 1 GiB in 1 MiB blocks: block
			 * 512 has no entry */
			tchain_free(&t);
			img_free(&c);
			img_make(&c, VHDX_TYPE_DYNAMIC, GiB, 1 * MiB, 512);
			block_full(&c, 511);
			tchain_init(&t, imgs, 1);
			t.levels[0].disk.bat_length = 4096;
			assert_int_equal(map_at(&t, 0, &e), VHDX_OK);
			assert_int_equal(e.kind, ZERO);
			assert_int_equal(e.length, 511 * MiB);
			assert_int_equal(map_at(&t, 511 * MiB, &e), VHDX_OK);
			assert_int_equal(e.kind, DATA);
			assert_int_equal(e.length, MiB);
			assert_int_equal(map_at(&t, 512 * MiB, &e), VHDX_ERR_CORRUPT);
			assert_int_equal(read_range(&t, 512 * MiB - 1, 2), VHDX_ERR_CORRUPT);
		} else if (f == F_BAT_OUTSIDE) {
			struct vhdx_extent e;

			t.levels[0].disk.bat_offset = (c.f.size + MiB) & ~(MiB - 1);
			assert_int_equal(map_at(&t, 0, &e), VHDX_ERR_CORRUPT);
			assert_int_equal(read_range(&t, 5, 5), VHDX_ERR_CORRUPT);
		} else {
			expect_corrupt_at_3m(&t, what);
		}
		tchain_free(&t);
		img_free(&c);
		img_free(&p);
	}
}

/* A small three-level chain with bitmaps, for fault injection */
static void small_chain(struct img *a, struct img *b, struct img *c, struct tchain *t, uint64_t size,
			uint32_t lss)
{
	struct img *imgs[3] = { a, b, c };
	uint64_t k;

	img_make(a, VHDX_TYPE_DIFFERENCING, size + 3 * lss, 2 * MiB, lss);
	img_make(b, VHDX_TYPE_DIFFERENCING, size + 3 * lss, 1 * MiB, lss);
	img_make(c, VHDX_TYPE_DYNAMIC, size + 3 * lss, 4 * MiB, lss);
	for (k = 0; k < c->blocks; k += 2)
		block_full(c, k);
	for (k = 0; k < b->blocks; k += 3) {
		block_partial(b, k);
		bits_random(b, k, 30);
	}
	for (k = 1; k < a->blocks; k += 2) {
		block_partial(a, k);
		bits_random(a, k, 300);
	}
	block_full(a, 4);
	tchain_init(t, imgs, 3);
}

static void reset_reads(struct tchain *t)
{
	unsigned i;

	for (i = 0; i < t->depth; i++) {
		t->imgs[i]->f.reads = 0;
		t->imgs[i]->f.fail_read_at = 0;
	}
}

/*
 * The reads of a whole-disk read_at and of a map walk, failed in turn (every
 * one of the first 100 of each level, then a sample), with the minimum
 * scratch and a larger one: VHDX_ERR_IO comes back each time.
 */
static void test_source_fails(void **state)
{
	struct img a, b, c;
	struct tchain t;
	uint8_t *buf, *scratch = scratch_new(64 * 1024);
	unsigned lvl;
	int pass;

	(void)state;
	seed(700);
	small_chain(&a, &b, &c, &t, 6 * MiB, 512);
	buf = malloc(t.vds);
	for (pass = 0; pass < 4; pass++) {
		size_t sl = pass & 2 ? 64 * 1024 : VHDX_DATA_SCRATCH_MIN;

		for (lvl = 0; lvl < 3; lvl++) {
			long n, total;

			reset_reads(&t);
			vhdx_map_forget(scratch, sl); /* each run reads from the start */
			if (!(pass & 1)) {
				assert_int_equal(vhdx_read_at(&t.c, 0, buf, t.vds, scratch, sl), VHDX_OK);
			} else {
				struct elist l = { 0 };

				map_all(&t.c, t.vds, sl, &l);
				elist_free(&l);
			}
			total = t.imgs[lvl]->f.reads;
			if (getenv("TEST_MAP_VERBOSE"))
				fprintf(stderr, "pass %d level %u: %ld reads\n", pass, lvl, total);
			assert_true(total > 0);
			for (n = 1; n <= total; n += n < 100 ? 1 : 1 + (long)rnd_below(total / 50 + 1)) {
				int err = VHDX_OK;
				uint64_t off = 0;

				reset_reads(&t);
				vhdx_map_forget(scratch, sl);
				t.imgs[lvl]->f.fail_read_at = n;
				if (!(pass & 1)) {
					err = vhdx_read_at(&t.c, 0, buf, t.vds, scratch, sl);
				} else {
					while (off < t.vds && !err) {
						struct vhdx_extent e;

						err = vhdx_map(&t.c, off, t.vds - off, &e, scratch, sl);
						off += err ? 0 : e.length;
					}
				}
				if (err != VHDX_ERR_IO)
					fail_msg("pass %d level %u read %ld of %ld failed: got %d", pass, lvl, n, total,
						 err);
			}
		}
	}
	reset_reads(&t);
	scratch_free(scratch, 64 * 1024);
	free(buf);
	tchain_free(&t);
	img_free(&a);
	img_free(&b);
	img_free(&c);
}

/* ---- arguments ---- */

static void test_args(void **state)
{
	struct img a, p, *imgs[2] = { &a, &p };
	struct tchain t;
	struct vhdx_extent e;
	uint8_t scratch[VHDX_DATA_SCRATCH_MIN], buf[16];
	const size_t sl = sizeof(scratch);
	struct vhdx_chain_level saved;

	(void)state;
	seed(800);
	img_make(&a, VHDX_TYPE_DIFFERENCING, 8 * MiB, 1 * MiB, 512);
	img_make(&p, VHDX_TYPE_DYNAMIC, 8 * MiB, 1 * MiB, 512);
	block_full(&p, 1);
	tchain_init(&t, imgs, 2);
	assert_int_equal(vhdx_map(&t.c, 0, 8 * MiB, &e, scratch, sl), VHDX_OK);
	assert_int_equal(vhdx_read_at(&t.c, 8 * MiB - 16, buf, 16, scratch, sl), VHDX_OK);

	/* RANGE: past the end, zero length, overflow */
	assert_int_equal(vhdx_map(&t.c, 8 * MiB, 1, &e, scratch, sl), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_map(&t.c, 0, 8 * MiB + 1, &e, scratch, sl), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_map(&t.c, 5, 0, &e, scratch, sl), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_map(&t.c, 1, UINT64_MAX, &e, scratch, sl), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_map(&t.c, UINT64_MAX, 1, &e, scratch, sl), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_read_at(&t.c, 8 * MiB - 15, buf, 16, scratch, sl), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_read_at(&t.c, 0, buf, 0, scratch, sl), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_read_at(&t.c, 8 * MiB, buf, 1, scratch, sl), VHDX_ERR_RANGE);

	/* INVAL: NULLs, scratch too small */
	assert_int_equal(vhdx_map(NULL, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_map(&t.c, 0, 1, NULL, scratch, sl), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, NULL, sl), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl - 1), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_read_at(&t.c, 0, NULL, 1, scratch, sl), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_read_at(&t.c, 0, buf, 1, scratch, sl - 1), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_read_at(NULL, 0, buf, 1, scratch, sl), VHDX_ERR_INVAL);

	/* INVAL: a chain that is not complete and usable */
	t.c.verdict = VHDX_CHAIN_ABSENT;
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	t.c.verdict = VHDX_CHAIN_COMPLETE;
	t.c.depth = 0;
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	t.c.depth = 1; /* a differencing disk without its parent */
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_read_at(&t.c, 0, buf, 1, scratch, sl), VHDX_ERR_INVAL);
	t.c.depth = 2;
	saved = t.levels[1];
	t.levels[1].disk.geom.virtual_size += 512; /* sizes differ */
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	t.levels[1] = saved;
	t.levels[1].disk.geom.block_shift = 19;
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	t.levels[1] = saved;
	t.levels[1].disk.geom.chunk_ratio = 12;
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	t.levels[1] = saved;
	t.levels[1].disk.log_replay_needed = true; /* stale BAT, not read through its log */
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	t.levels[1] = saved;
	t.levels[1].src.read = NULL;
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_INVAL);
	t.levels[1] = saved;
	t.levels[1].disk.bat_offset += 512; /* not a page: the region is MiB-aligned [2.2.3] */
	assert_int_equal(vhdx_map(&t.c, 0, 1, &e, scratch, sl), VHDX_ERR_CORRUPT);
	t.levels[1] = saved;
	assert_int_equal(vhdx_map(&t.c, 0, 8 * MiB, &e, scratch, sl), VHDX_OK);
	assert_int_equal(e.kind, ZERO);
	assert_int_equal(e.length, MiB);
	tchain_free(&t);
	img_free(&a);
	img_free(&p);
}

/* A source that must not be read */
static int no_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	(void)s;
	(void)off;
	(void)buf;
	(void)len;
	fail_msg("read from a level's file that is read through its log view");
	return VHDX_ERR_IO;
}

/* A level whose log is active is read through view.source only */
static void test_through_log(void **state)
{
	struct img a, b, c;
	struct tchain t;
	unsigned i;

	(void)state;
	seed(900);
	small_chain(&a, &b, &c, &t, 24 * MiB, 4096);
	check_chain(&t, 901, 10);
	for (i = 0; i < 3; i += 2) {
		t.levels[i].through_log = true;
		t.levels[i].disk.log_replay_needed = true;
		t.levels[i].view.source = t.levels[i].src;
		t.levels[i].view.source.log_applied = true;
		t.levels[i].src.read = no_read;
	}
	check_chain(&t, 902, 10);
	tchain_free(&t);
	img_free(&a);
	img_free(&b);
	img_free(&c);
}

/*
 * A file that ends inside a page (a writer that did not allocate the
 * whole last block): the last page is read up to the end and no further;
 * one byte less and the block is outside the file.
 */
static void test_file_end_unaligned(void **state)
{
	struct img a, *imgs[1] = { &a };
	struct tchain t;
	uint8_t scratch[VHDX_DATA_SCRATCH_MIN], buf[2048];
	struct vhdx_extent e;
	uint64_t fo;

	(void)state;
	seed(1000);
	img_make(&a, VHDX_TYPE_DYNAMIC, 2 * MiB + 1024, 1 * MiB, 512);
	block_full(&a, 0);
	fo = img_alloc(&a, MiB);
	block_state(&a, 2, ST_FULL, fo);
	fill_random(&a.f, fo, 1024);
	sparse_file_resize(&a.f, fo + 1024);
	a.f.loose_end = true;
	tchain_init(&t, imgs, 1);
	assert_int_equal(map_at(&t, 2 * MiB, &e), VHDX_OK);
	assert_int_equal(e.kind, DATA);
	assert_int_equal(e.length, 1024);
	assert_int_equal(e.file_offset, fo);
	check_chain(&t, 1001, 30);
	assert_int_equal(vhdx_read_at(&t.c, 2 * MiB + 1000, buf, 24, scratch, sizeof(scratch)), VHDX_OK);
	tchain_free(&t);

	sparse_file_resize(&a.f, fo + 1024 - 512);
	tchain_init(&t, imgs, 1);
	assert_int_equal(map_at(&t, 2 * MiB, &e), VHDX_ERR_CORRUPT);
	assert_int_equal(read_range(&t, 2 * MiB, 1), VHDX_ERR_CORRUPT);
	tchain_free(&t);
	img_free(&a);
}

/*
 * A large empty disk is one ZERO extent, child over parent too, found with
 * few reads when the scratch is large (the BAT windows grow); one block
 * of data in the middle of it splits it in three.
 */
static void test_large_sparse(void **state)
{
	const uint64_t vds = 1ull << 40;
	struct img p, c, *imgs[2] = { &c, &p };
	struct tchain t;
	struct vhdx_extent e;
	const size_t big = 4 << 20;
	uint8_t *scratch = scratch_new(big), buf[4096];
	uint64_t fo;

	(void)state;
	seed(1100);
	img_make(&p, VHDX_TYPE_DYNAMIC, vds, 1 * MiB, 512);
	img_make(&c, VHDX_TYPE_DIFFERENCING, vds, 2 * MiB, 512);
	tchain_init(&t, imgs + 1, 1);
	assert_int_equal(vhdx_map(&t.c, 0, vds, &e, scratch, big), VHDX_OK);
	assert_int_equal(e.kind, ZERO);
	assert_int_equal(e.length, vds);
	/* 8 MiB of BAT in windows of 4 KiB, 8 KiB, ... up to the scratch */
	if (p.f.reads > 16)
		fail_msg("%ld reads for an empty 1 TiB disk", p.f.reads);
	/* a look-up reads one page; a run that goes on reads twice as much each time */
	p.f.reads = 0;
	p.f.bytes_read = 0;
	assert_int_equal(vhdx_map(&t.c, 0, 600 * MiB, &e, scratch, big), VHDX_OK);
	assert_int_equal(e.length, 600 * MiB);
	assert_int_equal(p.f.reads, 2);
	assert_int_equal(p.f.bytes_read, 3 * 4096);
	assert_int_equal(vhdx_read_at(&t.c, vds - 4096, buf, 4096, scratch, big), VHDX_OK);
	assert_true(is_zero(buf, sizeof(buf)));
	tchain_free(&t);

	tchain_init(&t, imgs, 2);
	p.f.reads = 0;
	assert_int_equal(vhdx_map(&t.c, 0, vds, &e, scratch, big), VHDX_OK);
	assert_int_equal(e.kind, ZERO);
	assert_int_equal(e.length, vds);
	if (p.f.reads + c.f.reads > 40)
		fail_msg("%ld reads for an empty 1 TiB chain", p.f.reads + c.f.reads);
	tchain_free(&t);

	fo = block_full(&p, 600000);
	tchain_init(&t, imgs, 2);
	assert_int_equal(vhdx_map(&t.c, 0, vds, &e, scratch, big), VHDX_OK);
	assert_int_equal(e.kind, ZERO);
	assert_int_equal(e.length, 600000 * MiB);
	assert_int_equal(vhdx_map(&t.c, 600000 * MiB, vds - 600000 * MiB, &e, scratch, big), VHDX_OK);
	assert_int_equal(e.kind, DATA);
	assert_int_equal(e.level, 1);
	assert_int_equal(e.file_offset, fo);
	assert_int_equal(e.length, MiB);
	assert_int_equal(vhdx_map(&t.c, 600001 * MiB, vds - 600001 * MiB, &e, scratch, big), VHDX_OK);
	assert_int_equal(e.kind, ZERO);
	assert_int_equal(e.length, vds - 600001 * MiB);
	/* the minimum scratch gets the same answer */
	assert_int_equal(vhdx_map(&t.c, 4096, vds - 4096, &e, scratch, VHDX_DATA_SCRATCH_MIN), VHDX_OK);
	assert_int_equal(e.kind, ZERO);
	assert_int_equal(e.length, 600000 * MiB - 4096);
	tchain_free(&t);
	scratch_free(scratch, big);
	img_free(&c);
	img_free(&p);
}

/*
 * What a read costs: a PARTIALLY_PRESENT block of one-sector runs over a
 * fixed parent, read whole with 32 KiB of scratch, reads the child's BAT
 * page, the page with its bitmap entry, its bitmap page and each data
 * page once (the bitmap and each level's bounce have a page each), the
 * parent's BAT page and each of its data pages once.
 */
static void test_read_cost(void **state)
{
	struct img p, c, *imgs[2] = { &c, &p };
	struct tchain t;
	uint8_t *buf = malloc(MiB), *ref = malloc(MiB), scratch[32 * 1024];
	uint64_t s;

	(void)state;
	seed(1200);
	img_make(&p, VHDX_TYPE_FIXED, 8 * MiB, 1 * MiB, 512);
	fill_random(&p.f, entry_get(&p, 0) & ~(MiB - 1), 8 * MiB);
	img_make(&c, VHDX_TYPE_DIFFERENCING, 8 * MiB, 1 * MiB, 512);
	block_partial(&c, 2);
	for (s = 0; s < 2048; s += 2)
		bits_set(&c, 2, s, 1, 1);
	tchain_init(&t, imgs, 2);
	p.f.reads = c.f.reads = 0;
	assert_int_equal(vhdx_read_at(&t.c, 2 * MiB, buf, MiB, scratch, sizeof(scratch)), VHDX_OK);
	sparse_file_read(&t.model, 2 * MiB, ref, MiB);
	assert_memory_equal(buf, ref, MiB);
	assert_int_equal(c.f.reads, 3 + 256);
	assert_int_equal(p.f.reads, 1 + 256);
	tchain_free(&t);
	img_free(&c);
	img_free(&p);
	free(buf);
	free(ref);
}

/* ---- what a convert reads ---- */

/* A level's source that records every read: which BAT and bitmap pages. */
struct counted {
	struct vhdx_source src;       /* this level's source in the chain */
	const struct vhdx_source *inner;
	const struct img *im;
	unsigned *page_reads;         /* per 4 KiB page of the file */
	size_t pages;
};

static int counted_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct counted *c = s->ctx;
	uint64_t p;

	for (p = off / 4096; p < (off + len + 4095) / 4096 && p < c->pages; p++)
		c->page_reads[p]++;
	return c->inner->read(c->inner, off, buf, len);
}

/* Pages of @c's file that hold its BAT or a sector bitmap and were read
 * more than once; each is named once. */
static unsigned pages_read_again(const struct counted *c, unsigned level)
{
	const struct img *im = c->im;
	uint64_t p, chunk, chunks = (im->blocks + im->cr - 1) / im->cr;
	unsigned again = 0;

	for (p = im->bat_offset / 4096; p < (im->bat_offset + im->bat_length) / 4096; p++)
		if (c->page_reads[p] > 1) {
			fprintf(stderr, "level %u: BAT page at %#llx read %u times\n", level,
				(unsigned long long)(p * 4096), c->page_reads[p]);
			again++;
		}
	for (chunk = 0; chunk < chunks && im->type == VHDX_TYPE_DIFFERENCING; chunk++) {
		uint64_t e = entry_get(im, idx_bitmap(im, chunk));

		if ((e & 7) != SB_PRESENT)
			continue;
		for (p = (e & ~(MiB - 1)) / 4096; p < ((e & ~(MiB - 1)) + MiB) / 4096; p++)
			if (c->page_reads[p] > 1) {
				fprintf(stderr, "level %u: bitmap page at %#llx read %u times\n", level,
					(unsigned long long)(p * 4096), c->page_reads[p]);
				again++;
			}
	}
	return again;
}

static int map_first(const struct tchain *t, void *scratch, size_t sl, struct vhdx_extent *e)
{
	return vhdx_map(&t->c, 0, t->vds, e, scratch, sl);
}

/*
 * A convert's reads, as the frontends make them with one scratch per disk
 * (1 MiB, as both frontends have): an estimate (every extent mapped), then
 * the copy (every extent mapped again, its data read in pieces of at most
 * 1 MiB).  Over a three-level chain of 2 GiB with 4096-byte sectors (4 BAT
 * pages a level, 16 bitmap pages in a child: what the windows of that
 * scratch hold) each BAT and sector bitmap page is read once.
 * Then the memo is dropped by vhdx_map_forget (a walk reads them again),
 * by a scratch written from its start, and is not used for another chain;
 * pages of the scratch written behind the memo's back are read again.
 */
static void test_pages_once(void **state)
{
	const size_t sl = 1 << 20;
	struct img a, b, c, *imgs[3] = { &a, &b, &c };
	struct counted cnt[3];
	struct tchain t;
	uint8_t *scratch = scratch_new(sl), *buf = malloc(MiB), *ref = malloc(MiB);
	struct vhdx_extent e0;
	unsigned i, pass;
	uint64_t k, off;

	(void)state;
	seed(1300);
	img_make(&c, VHDX_TYPE_DYNAMIC, 2 * GiB, 1 * MiB, 4096);
	img_make(&b, VHDX_TYPE_DIFFERENCING, 2 * GiB, 2 * MiB, 4096);
	img_make(&a, VHDX_TYPE_DIFFERENCING, 2 * GiB, 1 * MiB, 4096);
	for (k = 0; k < c.blocks; k += 37)
		block_full(&c, k);
	for (k = 5; k < b.blocks; k += 23) {
		block_partial(&b, k);
		bits_random(&b, k, 100);
	}
	for (k = 3; k < a.blocks; k += 29) {
		block_partial(&a, k);
		bits_random(&a, k, 60);
	}
	tchain_init(&t, imgs, 3);
	for (i = 0; i < 3; i++) {
		cnt[i].inner = &imgs[i]->f.src;
		cnt[i].im = imgs[i];
		cnt[i].pages = (imgs[i]->f.size + 4095) / 4096;
		cnt[i].page_reads = calloc(cnt[i].pages, sizeof(unsigned));
		cnt[i].src = imgs[i]->f.src;
		cnt[i].src.ctx = &cnt[i];
		cnt[i].src.read = counted_read;
		t.levels[i].src = cnt[i].src;
	}
	for (pass = 0; pass < 2; pass++) {
		for (off = 0; off < t.vds;) {
			struct vhdx_extent e;
			uint64_t at;

			assert_int_equal(vhdx_map(&t.c, off, t.vds - off, &e, scratch, sl), VHDX_OK);
			for (at = 0; pass && e.kind == DATA && at < e.length; at += MiB) {
				size_t n = e.length - at < MiB ? (size_t)(e.length - at) : MiB;

				assert_int_equal(vhdx_read_at(&t.c, off + at, buf, n, scratch, sl), VHDX_OK);
				sparse_file_read(&t.model, off + at, ref, n);
				assert_memory_equal(buf, ref, n);
			}
			off += e.length;
		}
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(pages_read_again(&cnt[i], i), 0);

	/* dropped: the next look-up reads each level's first BAT page again */
	vhdx_map_forget(scratch, sl);
	assert_int_equal(map_first(&t, scratch, sl, &e0), VHDX_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(cnt[i].page_reads[imgs[i]->bat_offset / 4096], 2);
	/* overwritten from its start (another user of the scratch): read again */
	memset(scratch, 0x5a, 4096);
	assert_int_equal(map_first(&t, scratch, sl, &e0), VHDX_OK);
	assert_int_equal(cnt[0].page_reads[a.bat_offset / 4096], 3);
	/* kept: not read */
	assert_int_equal(map_first(&t, scratch, sl, &e0), VHDX_OK);
	assert_int_equal(cnt[0].page_reads[a.bat_offset / 4096], 3);
	/* the window pages overwritten behind the memo: read again */
	memset(scratch + 4096, 0xa5, sl - 4096);
	assert_int_equal(map_first(&t, scratch, sl, &e0), VHDX_OK);
	assert_int_equal(cnt[0].page_reads[a.bat_offset / 4096], 4);
	assert_int_equal(e0.kind, DATA);
	assert_int_equal(e0.level, 2);
	/* the child's block 0 made ZERO in place, and its header with it (a
	 * writer's new sequence number [2.2.2]): read again, the new answer */
	entry_set(&a, idx_block(&a, 0), ST_ZERO);
	t.levels[0].disk.sequence++;
	assert_int_equal(map_first(&t, scratch, sl, &e0), VHDX_OK);
	assert_int_equal(cnt[0].page_reads[a.bat_offset / 4096], 5);
	assert_int_equal(e0.kind, ZERO);

	for (i = 0; i < 3; i++)
		free(cnt[i].page_reads);
	tchain_free(&t);
	scratch_free(scratch, sl);
	free(buf);
	free(ref);
	img_free(&a);
	img_free(&b);
	img_free(&c);
}

/* ---- the zero test ---- */

static void test_is_zero(void **state)
{
	uint8_t *buf = calloc(1, 70000 + 16);
	size_t len, at, start;

	(void)state;
	assert_true(vhdx_is_zero(buf, 0));
	assert_true(vhdx_is_zero(buf, 70000));
	for (start = 0; start < 9; start++) {
		for (len = 0; len < 300; len++) {
			assert_true(vhdx_is_zero(buf + start, len));
			for (at = 0; at < len; at++) {
				buf[start + at] = (uint8_t)(1u << (at % 8));
				assert_false(vhdx_is_zero(buf + start, len));
				buf[start + at] = 0;
			}
			/* a byte just outside is not looked at */
			buf[start + len] = 0xFF;
			assert_true(vhdx_is_zero(buf + start, len));
			if (start) {
				buf[start - 1] = 0xFF;
				assert_true(vhdx_is_zero(buf + start, len));
				buf[start - 1] = 0;
			}
			buf[start + len] = 0;
		}
	}
	for (at = 0; at < 70000; at += 997) {
		buf[at + 3] = 0x80;
		assert_false(vhdx_is_zero(buf + 3, 70000));
		assert_true(at == 0 || vhdx_is_zero(buf + 3, at));
		buf[at + 3] = 0;
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states_dynamic),
		cmocka_unit_test(test_states_fixed),
		cmocka_unit_test(test_states_differencing),
		cmocka_unit_test(test_bitmap_mid_byte),
		cmocka_unit_test(test_chunk_boundary),
		cmocka_unit_test(test_block_sizes_differ),
		cmocka_unit_test(test_random_chains),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_source_fails),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_through_log),
		cmocka_unit_test(test_file_end_unaligned),
		cmocka_unit_test(test_large_sparse),
		cmocka_unit_test(test_read_cost),
		cmocka_unit_test(test_pages_once),
		cmocka_unit_test(test_is_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
