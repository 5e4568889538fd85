/* SPDX-License-Identifier: MIT */
/*
 * test_powercut.c - power cuts during a creation, simulated.
 *
 * The core writes an image through a sink that records every write, zero
 * and flush (with the bytes written).  The recording is then replayed onto
 * targets that held (a) zeros, (b) random bytes, (c) an older valid VHDX of
 * another size made by the core with other parameters, and the target is
 * checked with our reader at every point where power could go:
 *
 * - after every prefix of the operation sequence;
 * - inside every write or zero (torn): at each sector boundary of the
 *   target (512 or 4096), every one, big zero ranges included (they are
 *   cheap to simulate: the cut walks forward one sector at a time);
 * - reordered: between two flushes a device may make any subset of the
 *   writes durable, so every subset of each flush epoch (all 2^k when the
 *   epoch has at most 12 operations, else 4096 pseudo-random ones).
 *
 * Each state must be exactly one of: the old target untouched, not a VHDX
 * for our reader (no signature; a signature with errors is counted apart
 * and allowed only there), or the complete new image, byte for byte, that
 * checks clean.  The counts are printed.
 *
 * With VHDX_POWERCUT_DUMP=DIR set, only the prefix and torn walk runs, for
 * images of 512-byte sectors, and a sample of the states is written to DIR
 * as sparse files named by their class, for tests/host/test_powercut.sh to
 * run through qemu-img and 7zz.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "test_util.h"
#include "vhdx_read.h"
#include "vhdx_internal.h"

#define MiB (1024ull * 1024)
#define SUBSET_ENUM_MAX 12   /* epochs up to this many ops: every subset */
#define SUBSET_SAMPLES  4096 /* larger epochs: this many pseudo-random subsets */
#define VHDX_FILE_ID_CREATOR_OFF_ 8u /* [2.2.1] the creator's offset in the identifier */

enum op_kind { OP_WRITE, OP_ZERO, OP_FLUSH };

struct rec_op {
	enum op_kind kind;
	uint64_t off, len;
	uint8_t *data; /* OP_WRITE: a copy of the bytes */
};

struct recorder {
	struct rec_op *ops;
	size_t n, cap;
	struct vhdx_sink sink;
};

static struct rec_op *rec_add(struct recorder *r, enum op_kind kind, uint64_t off, uint64_t len)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->ops = realloc(r->ops, r->cap * sizeof(*r->ops));
		assert_non_null(r->ops);
	}
	r->ops[r->n].kind = kind;
	r->ops[r->n].off = off;
	r->ops[r->n].len = len;
	r->ops[r->n].data = NULL;
	return &r->ops[r->n++];
}

static int rec_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct rec_op *op = rec_add(s->ctx, OP_WRITE, off, len);

	assert_true(off + len <= s->capacity);
	op->data = malloc(len);
	assert_non_null(op->data);
	memcpy(op->data, buf, len);
	return VHDX_OK;
}

static int rec_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	assert_true(off + len <= s->capacity);
	rec_add(s->ctx, OP_ZERO, off, len);
	return VHDX_OK;
}

static int rec_flush(const struct vhdx_sink *s)
{
	rec_add(s->ctx, OP_FLUSH, 0, 0);
	return VHDX_OK;
}

static void rec_free(struct recorder *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->ops[i].data);
	free(r->ops);
	memset(r, 0, sizeof(*r));
}

/* A RAM source over the target. */
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

static const struct vhdx_kv locator[] = {
	{ "parent_linkage", "{20212223-2425-2627-2829-2a2b2c2d2e2f}" },
	{ "relative_path", ".\\parent.vhdx" },
};

struct pc_case {
	const char *name;
	enum vhdx_type type;
	uint64_t size;
	uint32_t block_size, lss;
	bool zero_blocks;
	bool no_sink_zero;      /* the sink cannot zero: the core writes zeros */
	size_t scratch;         /* [byte] the core's scratch: write sizes */
	const char *creator;    /* NULL: test_params' */
	/* the older image on target (c): other type, size, block size */
	enum vhdx_type old_type;
	uint64_t old_size;
	uint32_t old_block_size;
};

#define LONG_CREATOR \
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz" \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678" \
	"9abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"

static const struct pc_case cases[] = {
	{ "dynamic 64M 1M 512", VHDX_TYPE_DYNAMIC, 64 * MiB, 1 * MiB, 512, false, false, 64 << 10, NULL,
	  VHDX_TYPE_FIXED, 6 * MiB, 2 * MiB },
	{ "dynamic 64M 1M 4096 zero-blocks, no sink zero", VHDX_TYPE_DYNAMIC, 64 * MiB, 1 * MiB, 4096,
	  true, true, 256 << 10, NULL, VHDX_TYPE_FIXED, 6 * MiB, 2 * MiB },
	{ "fixed 6M 1M 512", VHDX_TYPE_FIXED, 6 * MiB, 1 * MiB, 512, false, false, 64 << 10, NULL,
	  VHDX_TYPE_DYNAMIC, 3ull << 30, 1 * MiB },
	{ "fixed 4M 2M 512, no sink zero", VHDX_TYPE_FIXED, 4 * MiB, 2 * MiB, 512, false, true, 1 << 20, NULL,
	  VHDX_TYPE_FIXED, 8 * MiB, 1 * MiB },
	{ "fixed 4M 1M 4096", VHDX_TYPE_FIXED, 4 * MiB, 1 * MiB, 4096, false, false, 64 << 10, NULL,
	  VHDX_TYPE_DYNAMIC, 1ull << 30, 2 * MiB },
	{ "differencing 64M 2M 512", VHDX_TYPE_DIFFERENCING, 64 * MiB, 2 * MiB, 512, false, false,
	  64 << 10, NULL, VHDX_TYPE_FIXED, 2 * MiB, 1 * MiB },
	{ "differencing 32M 1M 4096, no sink zero", VHDX_TYPE_DIFFERENCING, 32 * MiB, 1 * MiB, 4096,
	  false, true, 128 << 10, NULL, VHDX_TYPE_DYNAMIC, 16ull << 30, 1 * MiB },
	/* the creator fills the File Type Identifier past its first sector */
	{ "dynamic 16M 1M 512, 255-unit creator", VHDX_TYPE_DYNAMIC, 16 * MiB, 1 * MiB, 512, false, false,
	  64 << 10, LONG_CREATOR, VHDX_TYPE_DYNAMIC, 8 * MiB, 2 * MiB },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

enum target_kind { TGT_ZEROS, TGT_RANDOM, TGT_OLD_VHDX, TGT_COUNT };
static const char *const target_names[] = { "zeros", "random", "old VHDX" };

enum state_class { ST_OLD, ST_NOT_VHDX, ST_BROKEN_VHDX, ST_NEW, ST_TORN_CREATOR, ST_CLASSES };
static const char *const class_names[] = { "old", "none", "broken", "new", "torncreator" };

struct counts {
	unsigned long prefix, torn, reordered;
	unsigned long by_class[ST_CLASSES];
	unsigned long ops, cuts_512, cuts_4096;
};

/* One simulation: the recording, the target before and the expected end. */
struct sim {
	const struct pc_case *c;
	struct vhdx_plan plan;
	struct recorder rec;
	uint64_t cap;          /* [byte] target size: the larger of new and old image */
	uint8_t *initial;      /* the target before the creation */
	uint8_t *state;        /* the target now */
	uint8_t *final;        /* the new image, plan.file_size bytes */
	uint8_t *scratch;      /* the reader's */
	struct vhdx_info *info;
	struct counts *n;
	const char *dump_dir;
	unsigned dump_seq;
	int target;
	uint32_t sector;
};

static void make_params(struct vhdx_params *p, enum vhdx_type type, uint64_t size, uint32_t bs,
			uint32_t lss, uint8_t seed, const char *creator)
{
	*p = test_params(type, size);
	if (creator)
		p->creator = creator;
	p->file_write_guid = test_guid(seed);
	p->data_write_guid = test_guid((uint8_t)(seed + 0x10));
	p->block_size = bs;
	p->logical_sector_size = lss;
	if (type == VHDX_TYPE_DIFFERENCING) {
		p->parent_locator = locator;
		p->parent_locator_count = 2;
	}
}

/* The older image of target (c), written by the core into buf. */
static uint64_t write_old_image(const struct pc_case *c, uint8_t *buf, uint64_t cap)
{
	struct vhdx_params p;
	struct vhdx_plan plan;
	struct recorder r;
	void *scratch = malloc(1 << 20);
	size_t i;

	make_params(&p, c->old_type, c->old_size, c->old_block_size, c->lss, 0x70, NULL);
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	assert_true(plan.file_size <= cap);
	memset(&r, 0, sizeof(r));
	r.sink.ctx = &r;
	r.sink.write = rec_write;
	r.sink.zero = rec_zero;
	r.sink.flush = rec_flush;
	r.sink.block_size = 512;
	r.sink.capacity = cap;
	assert_int_equal(vhdx_image_write(&plan, &r.sink, scratch, 1 << 20), VHDX_OK);
	for (i = 0; i < r.n; i++) {
		if (r.ops[i].kind == OP_WRITE)
			memcpy(buf + r.ops[i].off, r.ops[i].data, r.ops[i].len);
		else if (r.ops[i].kind == OP_ZERO)
			memset(buf + r.ops[i].off, 0, r.ops[i].len);
	}
	rec_free(&r);
	free(scratch);
	return plan.file_size;
}

static uint64_t old_file_size(const struct pc_case *c)
{
	struct vhdx_params p;
	struct vhdx_plan plan;

	make_params(&p, c->old_type, c->old_size, c->old_block_size, c->lss, 0x70, NULL);
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	return plan.file_size;
}

static void fill_random(uint8_t *p, uint64_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1, i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* Writes the target as a sparse file (all-zero 4 KiB blocks are holes). */
static void dump_state(struct sim *s, const char *kind, enum state_class cls)
{
	char path[600];
	uint64_t off;
	int fd;

	snprintf(path, sizeof(path), "%s/c%zu-t%d-%04u-%s-%s-lss%u.img", s->dump_dir,
		 (size_t)(s->c - cases), s->target, s->dump_seq++, kind, class_names[cls], s->c->lss);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	for (off = 0; off < s->cap; off += 4096)
		if (!is_zero(s->state + off, 4096))
			assert_int_equal(pwrite(fd, s->state + off, 4096, (off_t)off), 4096);
	assert_int_equal(ftruncate(fd, (off_t)s->cap), 0);
	assert_int_equal(close(fd), 0);
}

/*
 * The new image but for the end of the creator: the File Type Identifier
 * write torn after its first sector, the creator longer than 252 units.
 * A known gap of the write order (the whole identifier is the last write),
 * counted apart; the creator is informational only.
 */
static bool creator_torn(const struct sim *s)
{
	const uint64_t lo = 512, hi = VHDX_FILE_ID_CREATOR_OFF_ + 2 * VHDX_CREATOR_MAX_UNITS + 2;

	return s->plan.creator_units > 252 && memcmp(s->state, s->final, lo) == 0 &&
	       memcmp(s->state + hi, s->final + hi, s->plan.file_size - hi) == 0;
}

/* Classifies the target now; fails the test on a state that is none of
 * the allowed ones. */
static enum state_class classify(struct sim *s, const char *what, size_t op_index, uint64_t cut)
{
	struct buf_src b;
	enum state_class cls;

	memset(&b, 0, sizeof(b));
	b.data = s->state;
	b.src.ctx = &b;
	b.src.read = buf_read;
	b.src.size = s->cap;
	assert_int_equal(vhdx_check(&b.src, s->scratch, VHDX_READ_SCRATCH_MIN, s->info, NULL, NULL),
			 VHDX_OK);
	if (!s->info->is_vhdx) {
		cls = ST_NOT_VHDX;
	} else if (memcmp(s->state, s->final, s->plan.file_size) == 0) {
		if (s->info->errors)
			fail_msg("%s, target %s, sector %u: %s after op %zu cut %llu: the complete "
				 "new image has %u errors", s->c->name, target_names[s->target], s->sector,
				 what, op_index, (unsigned long long)cut, s->info->errors);
		cls = ST_NEW;
	} else if (memcmp(s->state, s->initial, s->cap) == 0) {
		cls = ST_OLD;
	} else if (!s->info->errors && creator_torn(s)) {
		cls = ST_TORN_CREATOR;
	} else if (s->info->errors) {
		cls = ST_BROKEN_VHDX;
	} else {
		fail_msg("%s, target %s, sector %u: %s after op %zu cut %llu: a VHDX that checks "
			 "clean but is neither the old nor the new image", s->c->name,
			 target_names[s->target], s->sector, what, op_index, (unsigned long long)cut);
		cls = ST_BROKEN_VHDX; /* not reached */
	}
	s->n->by_class[cls]++;
	return cls;
}

static void apply(uint8_t *state, const struct rec_op *op, uint64_t from, uint64_t to)
{
	if (op->kind == OP_WRITE)
		memcpy(state + op->off + from, op->data + from, to - from);
	else if (op->kind == OP_ZERO)
		memset(state + op->off + from, 0, to - from);
}

/*
 * Dump sampling (host test), about 30 files per image: on the random
 * target every prefix, on the old-VHDX target every prefix and torn writes
 * (every cut of the File Type Identifier, the middle of each other 4 KiB
 * structure in the first MiB and of the first zeroing); on the zeros
 * target only the end (a control: the validators accept the new image).
 * The 255-unit creator image: only its torn identifier and its end.
 */
static bool dump_prefix(const struct sim *s, size_t done)
{
	if (s->target == TGT_ZEROS || s->c->creator)
		return done == s->rec.n;
	return done == 0 || s->rec.ops[done - 1].kind != OP_FLUSH;
}

static bool dump_torn(const struct sim *s, size_t i, uint64_t cut)
{
	const struct rec_op *op = &s->rec.ops[i];

	if (op->kind == OP_WRITE && op->off == 0)
		return s->target != TGT_ZEROS;
	if (s->target != TGT_OLD_VHDX || s->c->creator)
		return false;
	if (op->off < MiB && op->len == 4096)
		return cut == 2048;
	return i == 0 && cut == op->len / 2;
}

/*
 * Which torn cuts are checked.  Every one in an operation up to
 * TORN_ALL_MAX; in a longer one (big zero ranges: log, BAT, metadata
 * tail, fixed payload) every sector boundary in its first and last
 * TORN_EDGE bytes and every TORN_STRIDE bytes in between.  The cut still
 * walks every sector; only the checks are sampled.
 */
#define TORN_ALL_MAX (256u * 1024u)
#define TORN_EDGE    (64u * 1024u)
#define TORN_STRIDE  (32u * 1024u)

static bool cut_sampled(uint64_t len, uint64_t cut)
{
	return len <= TORN_ALL_MAX || cut <= TORN_EDGE || cut >= len - TORN_EDGE ||
	       cut % TORN_STRIDE == 0;
}

/* Every prefix and every torn operation, walking forward sector by sector. */
static void walk_prefixes(struct sim *s)
{
	size_t i;
	enum state_class cls;

	memcpy(s->state, s->initial, s->cap);
	cls = classify(s, "prefix", 0, 0);
	assert_true(cls == ST_OLD || (s->target != TGT_OLD_VHDX && cls == ST_NOT_VHDX));
	s->n->prefix++;
	if (s->dump_dir && dump_prefix(s, 0))
		dump_state(s, "prefix", cls);
	for (i = 0; i < s->rec.n; i++) {
		const struct rec_op *op = &s->rec.ops[i];
		uint64_t cut;

		for (cut = s->sector; op->kind != OP_FLUSH && cut < op->len; cut += s->sector) {
			apply(s->state, op, cut - s->sector, cut);
			if (!cut_sampled(op->len, cut))
				continue;
			cls = classify(s, "torn", i, cut);
			s->n->torn++;
			if (s->dump_dir && dump_torn(s, i, cut))
				dump_state(s, "torn", cls);
		}
		if (op->kind != OP_FLUSH)
			apply(s->state, op, op->len - s->sector, op->len);
		cls = classify(s, "prefix", i + 1, 0);
		s->n->prefix++;
		if (s->dump_dir && dump_prefix(s, i + 1))
			dump_state(s, "prefix", cls);
	}
	/* the whole sequence: the new image, which every target ends with */
	assert_int_equal(cls, ST_NEW);
	assert_memory_equal(s->state, s->final, s->plan.file_size);
}

/* Adds op j of the epoch to the target, or takes it back (from base). */
static void toggle(struct sim *s, const uint8_t *base, const struct rec_op *op, bool *in)
{
	if (*in)
		memcpy(s->state + op->off, base + op->off, op->len);
	else
		apply(s->state, op, 0, op->len);
	*in = !*in;
}

/*
 * Between two flushes the device may persist any subset of the writes.
 * base: the target at the epoch's start; ops [first, end) the epoch, which
 * never overlap each other (asserted), so a subset is the same state in any
 * order.  Subsets are visited one toggle apart: in Gray-code order when the
 * epoch is small enough to try them all, else along a pseudo-random walk.
 */
static void walk_epoch_subsets(struct sim *s, const uint8_t *base, size_t first, size_t end)
{
	const struct rec_op *ops = &s->rec.ops[first];
	size_t k = end - first, i, j;
	uint64_t step, steps, x = 0x2545F4914F6CDD1Dull ^ first;
	bool in[128];

	if (k < 2)
		return; /* empty and whole: prefix states already */
	assert_true(k <= 128);
	for (i = 0; i < k; i++) {
		in[i] = false;
		for (j = 0; j < i; j++)
			assert_true(ops[i].off >= ops[j].off + ops[j].len ||
				    ops[j].off >= ops[i].off + ops[i].len);
	}
	steps = k <= SUBSET_ENUM_MAX ? (1ull << k) - 1 : SUBSET_SAMPLES;
	for (step = 1; step <= steps; step++) {
		size_t bit = 0, count = 0;

		if (k <= SUBSET_ENUM_MAX) {
			/* Gray code: step s toggles its lowest set bit */
			while (!(step >> bit & 1))
				bit++;
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			bit = (size_t)(x % k);
		}
		toggle(s, base, &ops[bit], &in[bit]);
		for (i = 0; i < k; i++)
			count += in[i];
		if (count == 0 || count == k)
			continue; /* prefix states already */
		classify(s, "reordered", first, step);
		s->n->reordered++;
	}
	/* back to the epoch's start */
	for (i = 0; i < k; i++)
		if (in[i])
			toggle(s, base, &ops[i], &in[i]);
}

static void walk_reorderings(struct sim *s)
{
	uint8_t *base = malloc(s->cap);
	size_t i, first = 0;

	assert_non_null(base);
	memcpy(s->state, s->initial, s->cap);
	memcpy(base, s->state, s->cap);
	for (i = 0; i <= s->rec.n; i++) {
		if (i < s->rec.n && s->rec.ops[i].kind != OP_FLUSH)
			continue;
		walk_epoch_subsets(s, base, first, i);
		for (; first < i; first++)
			apply(s->state, &s->rec.ops[first], 0, s->rec.ops[first].len);
		memcpy(base, s->state, s->cap);
		first = i + 1;
	}
	assert_memory_equal(s->state, s->final, s->plan.file_size);
	free(base);
}

static void record(struct sim *s, const struct pc_case *c)
{
	struct vhdx_params p;
	void *scratch = malloc(c->scratch);
	size_t i;

	make_params(&p, c->type, c->size, c->block_size, c->lss, 0x10, c->creator);
	assert_int_equal(vhdx_plan_init(&s->plan, &p, NULL, 0), VHDX_OK);
	if (c->creator)
		assert_int_equal(s->plan.creator_units, VHDX_CREATOR_MAX_UNITS);
	s->cap = s->plan.file_size > old_file_size(c) ? s->plan.file_size : old_file_size(c);
	memset(&s->rec, 0, sizeof(s->rec));
	s->rec.sink.ctx = &s->rec;
	s->rec.sink.write = rec_write;
	s->rec.sink.zero = c->no_sink_zero ? NULL : rec_zero;
	s->rec.sink.flush = rec_flush;
	s->rec.sink.block_size = 512;
	s->rec.sink.capacity = s->cap;
	assert_int_equal(vhdx_image_write(&s->plan, &s->rec.sink, scratch, c->scratch), VHDX_OK);
	free(scratch);
	/* the new image: every byte is written, so any target gives these */
	s->final = calloc(1, s->cap);
	assert_non_null(s->final);
	for (i = 0; i < s->rec.n; i++)
		apply(s->final, &s->rec.ops[i], 0, s->rec.ops[i].len);
	assert_int_equal(s->rec.ops[s->rec.n - 1].kind, OP_FLUSH);
	assert_int_equal(s->rec.ops[s->rec.n - 2].off, 0); /* the signature last */
}

static void run_case(const struct pc_case *c, struct counts *n, const char *dump_dir, bool reorder)
{
	static const uint32_t sectors[] = { 512, 4096 };
	struct sim s;
	size_t i;
	int t, si;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.n = n;
	s.dump_dir = dump_dir;
	record(&s, c);
	s.initial = malloc(s.cap);
	s.state = malloc(s.cap);
	s.scratch = malloc(VHDX_READ_SCRATCH_MIN);
	s.info = malloc(sizeof(*s.info));
	assert_true(s.initial && s.state && s.scratch && s.info);
	n->ops += s.rec.n;
	for (i = 0; i < s.rec.n; i++)
		if (s.rec.ops[i].kind != OP_FLUSH) {
			uint64_t cut, len = s.rec.ops[i].len;

			for (cut = 512; cut < len; cut += 512) {
				n->cuts_512 += cut_sampled(len, cut);
				n->cuts_4096 += cut % 4096 == 0 && cut_sampled(len, cut);
			}
		}
	for (si = 0; si < 2; si++) {
		s.sector = sectors[si];
		if (dump_dir && s.sector != 512)
			continue;
		for (t = 0; t < TGT_COUNT; t++) {
			s.target = t;
			if (t == TGT_ZEROS) {
				memset(s.initial, 0, s.cap);
			} else if (t == TGT_RANDOM) {
				fill_random(s.initial, s.cap, (uint64_t)(c - cases) * 7 + 1);
			} else {
				struct buf_src b = { .data = s.initial, .src = { .ctx = &b, .read = buf_read } };

				fill_random(s.initial, s.cap, (uint64_t)(c - cases) * 7 + 3);
				b.src.size = write_old_image(c, s.initial, s.cap);
				/* the old image is valid, and not the new one */
				assert_int_equal(vhdx_check(&b.src, s.scratch, VHDX_READ_SCRATCH_MIN,
							    s.info, NULL, NULL), VHDX_OK);
				assert_true(s.info->is_vhdx);
				assert_int_equal(s.info->errors, 0);
				assert_int_not_equal(s.info->virtual_size, c->size);
			}
			walk_prefixes(&s);
			/* whole operations: the same states for any sector size */
			if (reorder && s.sector == 512)
				walk_reorderings(&s);
		}
	}
	rec_free(&s.rec);
	free(s.initial);
	free(s.state);
	free(s.final);
	free(s.scratch);
	free(s.info);
}

static void print_counts(const char *what, const struct counts *n)
{
	print_message("powercut %s: %lu ops recorded; states tried: %lu prefixes, %lu torn, "
		      "%lu reordered = %lu; old untouched %lu, not VHDX %lu, VHDX with errors %lu, "
		      "complete new image %lu, new image with a torn creator %lu\n",
		      what, n->ops, n->prefix, n->torn, n->reordered, n->prefix + n->torn + n->reordered,
		      n->by_class[ST_OLD], n->by_class[ST_NOT_VHDX], n->by_class[ST_BROKEN_VHDX],
		      n->by_class[ST_NEW], n->by_class[ST_TORN_CREATOR]);
}

static void test_power_cuts(void **state)
{
	struct counts n;
	size_t c;

	(void)state;
	memset(&n, 0, sizeof(n));
	for (c = 0; c < NCASES; c++)
		run_case(&cases[c], &n, NULL, true);
	print_counts("(8 images x 2 sector sizes x 3 targets)", &n);
	/* every state was classified, every walk ended with the new image,
	 * every torn cut was tried */
	assert_int_equal(n.by_class[ST_OLD] + n.by_class[ST_NOT_VHDX] + n.by_class[ST_BROKEN_VHDX] +
			 n.by_class[ST_NEW] + n.by_class[ST_TORN_CREATOR], n.prefix + n.torn + n.reordered);
	assert_int_equal(n.torn, TGT_COUNT * (n.cuts_512 + n.cuts_4096));
	assert_int_equal(n.prefix, 2 * TGT_COUNT * (n.ops + NCASES));
	assert_true(n.by_class[ST_NEW] >= NCASES * 2 * TGT_COUNT);
	/* the old-VHDX target before anything durable, for every image and
	 * sector size (zeros and random bytes are "not a VHDX" from the start) */
	assert_true(n.by_class[ST_OLD] >= NCASES * 2);
	assert_true(n.reordered > 1000);
	/* the write order leaves no gap: the signature's sector is zeroed and
	 * flushed before the rest of the first MiB, and the identifier's later
	 * sectors are written before its last write (see core/vhdx_image.c) */
	assert_int_equal(n.by_class[ST_BROKEN_VHDX], 0);
	assert_int_equal(n.by_class[ST_TORN_CREATOR], 0);
}

int main(void)
{
	const char *dump_dir = getenv("VHDX_POWERCUT_DUMP");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_cuts),
	};

	if (dump_dir) {
		struct counts n;
		size_t c;

		memset(&n, 0, sizeof(n));
		const char *only = getenv("VHDX_POWERCUT_CASE");

		for (c = 0; c < NCASES; c++)
			if (cases[c].lss == 512 && !cases[c].no_sink_zero &&
			    (!only || (size_t)atoi(only) == c))
				run_case(&cases[c], &n, dump_dir, false);
		print_counts("dump", &n);
		return 0;
	}
	return cmocka_run_group_tests_name("powercut", tests, NULL, NULL);
}
