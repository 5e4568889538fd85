/* SPDX-License-Identifier: MIT */
/*
 * test_log.c - the log [2.3]: the active sequence (one entry, several
 * wrapping around the ring, two sequences, a torn head, zero
 * descriptors), what is corrupt (descriptors at the headers, in the log,
 * misaligned; no valid entry; a truncated file), the read-only view
 * against a model of the file after replay (walking the log, and through
 * its index: many entries, overlapping and zero descriptors, wraps; source
 * reads per read the same for 8 entries or 300), replay (equal to the view,
 * dry run, idempotent, cut at every write and flush), the bound on the
 * scan over garbage, and the two dirty samples of ../shared/samples.
 *
 * Logs are written by tests/unit/support/log_builder.c into images the
 * core's writer made; struct vhdx_disk is filled from their headers.
 */
#include <stdio.h>
#include <unistd.h>

#include "log_builder.h"
#include "test_util.h"
#include "vhdx_read.h"
#include "vhdx_internal.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define SEC 4096u
#define WHY VHDX_WHY_SIZE

/* An image in a RAM file, its ring, and the model of the file after replay. */
struct fx {
	struct lb_file f;
	struct vhdx_plan plan;
	struct vhdx_disk d;
	struct vhdx_guid g;      /* LogGuid */
	uint8_t *ring;
	uint32_t ring_len;       /* [byte] */
	uint8_t *model;          /* cap bytes */
	uint64_t model_size;     /* [byte] */
	uint64_t cap;
};

static uint8_t pat[16][SEC];

static void patterns(void)
{
	for (int k = 0; k < 16; k++)
		for (int i = 0; i < (int)SEC; i++)
			pat[k][i] = (uint8_t)((i + 37 * k + 1) % 251);
}

static void fx_make(struct fx *x, uint32_t log_size, uint64_t cap)
{
	memset(x, 0, sizeof(*x));
	patterns();
	x->cap = cap;
	x->plan = lb_image_make(&x->f, 256 * MiB, 1 * MiB, log_size, cap);
	x->ring = x->f.data + x->plan.log_offset;
	x->ring_len = (uint32_t)x->plan.log_length;
	x->g = test_guid(0x70);
	x->model = calloc(1, cap);
	assert_non_null(x->model);
	memcpy(x->model, x->f.data, x->f.size);
	x->model_size = x->f.size;
	lb_disk_from_image(&x->d, x->f.data, x->f.size);
}

static void fx_free(struct fx *x)
{
	lb_file_free(&x->f);
	free(x->model);
}

/* LogGuid in both headers (as Windows leaves them); the model's headers follow. */
static void fx_dirty(struct fx *x)
{
	lb_set_log_guid(x->f.data, &x->g, true);
	memcpy(x->model + 64 * KiB, x->f.data + 64 * KiB, 128 * KiB);
	memcpy(x->model + x->plan.log_offset, x->ring, x->ring_len); /* replay leaves the log as it is */
	lb_disk_from_image(&x->d, x->f.data, x->f.size);
}

static uint32_t put(struct fx *x, uint32_t pos, uint64_t seq, uint32_t tail, const struct lb_desc *d, size_t n,
		    uint64_t flushed, uint64_t last)
{
	struct lb_entry e = { seq, tail, x->g, flushed, last, d, n };

	return lb_entry_write(x->ring, x->ring_len, pos, &e);
}

/* What replaying these descriptors does to the model. */
static void model_apply(struct fx *x, const struct lb_desc *d, size_t n, uint64_t last)
{
	if (last > x->model_size)
		x->model_size = last;
	for (size_t i = 0; i < n; i++) {
		if (d[i].zero)
			memset(x->model + d[i].file_offset, 0, d[i].zero_length);
		else
			memcpy(x->model + d[i].file_offset, d[i].data, SEC);
	}
}

/* The checksum of the entry at @pos (not wrapping), recomputed after an edit. */
static void fix_crc(struct fx *x, uint32_t pos)
{
	uint8_t *e = x->ring + pos;

	set_le32(e + 4, 0);
	set_le32(e + 4, ref_crc32c(e, le32(e + 8)));
}

static int find_with(struct fx *x, struct vhdx_log *log, size_t scratch_len, char *why)
{
	uint8_t *s = malloc(scratch_len + 64);
	int err;

	memset(s + scratch_len, 0xEE, 64);
	err = vhdx_log_find(log, &x->d, &x->f.src, s, scratch_len, why, WHY);
	for (int i = 0; i < 64; i++)
		assert_int_equal(s[scratch_len + i], 0xEE);
	free(s);
	return err;
}

static int find(struct fx *x, struct vhdx_log *log, char *why)
{
	return find_with(x, log, VHDX_LOG_SCRATCH_MIN, why);
}

static const struct vhdx_guid *new_fwg(void)
{
	static struct vhdx_guid g;

	g = test_guid(0x90);
	return &g;
}

static int replay(struct fx *x, bool dry, struct vhdx_replay_stats *st, char *why)
{
	uint8_t *s = malloc(VHDX_LOG_SCRATCH_MIN);
	int err;

	lb_disk_from_image(&x->d, x->f.data, x->f.size);
	err = vhdx_log_replay(&x->d, &x->f.src, &x->f.sink, new_fwg(), dry, s, VHDX_LOG_SCRATCH_MIN, st, why, WHY);
	free(s);
	return err;
}

static bool in_header(uint64_t off)
{
	return (off >= 64 * KiB && off < 64 * KiB + SEC) || (off >= 128 * KiB && off < 128 * KiB + SEC);
}

/* The file equals the model, the two header sectors left out. */
static void assert_file_is_model(const struct fx *x)
{
	assert_int_equal(x->f.size, x->model_size);
	for (uint64_t off = 0; off < x->model_size; off += SEC) {
		if (in_header(off))
			continue;
		if (memcmp(x->f.data + off, x->model + off, SEC)) {
			fprintf(stderr, "file differs from the model in the sector at 0x%llx\n",
				(unsigned long long)off);
			fail();
		}
	}
}

static uint32_t crc_of_header(const uint8_t *h)
{
	uint8_t c[SEC];

	memcpy(c, h, SEC);
	memset(c + 4, 0, 4);
	return ref_crc32c(c, SEC);
}

/* After replay from a header with sequence @seq (slot @cur current). */
static void assert_headers_clean(const struct fx *x, const uint8_t *before, int cur, uint64_t seq)
{
	for (int which = 0; which < 2; which++) {
		const uint8_t *h = x->f.data + (which ? 128 : 64) * KiB;
		struct vhdx_guid zero;

		memset(&zero, 0, sizeof(zero));
		assert_memory_equal(h, "head", 4);
		assert_int_equal(le32(h + 4), crc_of_header(h));
		assert_int_equal(le64(h + 8), which == cur ? seq + 2 : seq + 1);
		assert_memory_equal(h + 16, new_fwg()->bytes, 16);
		assert_memory_equal(h + 32, before + 32, 16);     /* DataWriteGuid kept */
		assert_memory_equal(h + 48, zero.bytes, 16);      /* LogGuid zero */
		assert_memory_equal(h + 64, before + 64, SEC - 64); /* versions, log placement, reserved */
	}
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* Reads through @v equal the model: everything at once, then pieces of any
 * alignment around the log's range [low, high). */
static void assert_reads_are_model(struct fx *x, const struct vhdx_log *log, struct vhdx_log_view *v,
				   const char *what)
{
	uint8_t *buf = malloc(x->model_size);
	uint64_t seed = 7, span = log->high - log->low;

	assert_int_equal(v->source.size, x->model_size);
	assert_true(v->source.log_applied);
	assert_int_equal(v->source.read(&v->source, 0, buf, x->model_size), VHDX_OK);
	for (uint64_t off = 0; off < x->model_size; off += SEC)
		if (memcmp(buf + off, x->model + off, SEC))
			fail_msg("%s differs from the model in the sector at 0x%llx", what, (unsigned long long)off);
	for (int i = 0; i < 400; i++) {
		uint64_t off = log->low - (log->low > 5000 ? 5000 : 0) + lcg(&seed) % (span + 10000);
		uint64_t len = 1 + lcg(&seed) % (i % 2 ? 9000 : 3 * SEC);

		if (off >= x->model_size)
			off = x->model_size - 1;
		if (len > x->model_size - off)
			len = x->model_size - off;
		assert_int_equal(v->source.read(&v->source, off, buf, len), VHDX_OK);
		if (memcmp(buf, x->model + off, len))
			fail_msg("%s: read [0x%llx, +%llu) differs from the model", what, (unsigned long long)off,
				 (unsigned long long)len);
	}
	free(buf);
}

/*
 * The view equals the model three ways: walking the log on every read (no
 * index), through an index (in memory 1 byte off malloc's alignment, and
 * exactly vhdx_log_view_index_size long: ASan sees any byte past it), and
 * with one byte too few for the index (refused; the view walks again).
 */
static void assert_view_is_model(struct fx *x, const struct vhdx_log *log)
{
	struct vhdx_log_view *v = malloc(sizeof(*v));
	size_t need;
	uint8_t *mem;

	vhdx_log_view_init(v, log, &x->f.src);
	assert_null(v->data);
	assert_reads_are_model(x, log, v, "the view (walking the log)");

	need = vhdx_log_view_index_size(v);
	assert_int_equal(need, 12 + 64 * 1024 + 36 * log->data_descriptors + 24 * log->zero_descriptors);
	mem = malloc(need + 1);
	assert_int_equal(vhdx_log_view_index(v, mem + 1, need), VHDX_OK);
	assert_non_null(v->data);
	assert_true(v->data_count <= log->data_descriptors);
	assert_true(v->zero_count <= log->zero_descriptors);
	assert_reads_are_model(x, log, v, "the view through its index");
	free(mem);

	vhdx_log_view_init(v, log, &x->f.src);
	mem = malloc(need - 1);
	assert_int_equal(vhdx_log_view_index(v, mem, need - 1), VHDX_ERR_INVAL);
	assert_null(v->data);
	assert_reads_are_model(x, log, v, "the view refused an index");
	free(mem);
	free(v);
}

/* The view, then replay: the file becomes the model, headers clean; again: nothing to do. */
static void assert_replays_to_model(struct fx *x, const struct vhdx_log *log)
{
	struct vhdx_replay_stats st, dry;
	uint8_t before[SEC];
	char why[WHY];
	struct vhdx_log after;
	uint64_t seq = x->d.sequence, size = x->f.size;
	int cur = x->d.current_header;

	assert_view_is_model(x, log);
	memcpy(before, x->f.data + (cur ? 128 : 64) * KiB, SEC);
	assert_int_equal(replay(x, true, &dry, why), VHDX_OK);
	assert_int_equal(x->f.ops, 0);
	assert_int_equal(x->f.size, size);
	assert_int_equal(replay(x, false, &st, why), VHDX_OK);
	assert_memory_equal(&st, &dry, sizeof(st));
	assert_int_equal(st.data_sectors, log->data_descriptors);
	assert_int_equal(st.headers, 2);
	assert_int_equal(st.extended_to, log->last_file_offset > size ? x->model_size : 0);
	assert_file_is_model(x);
	assert_headers_clean(x, before, cur, seq);
	lb_disk_from_image(&x->d, x->f.data, x->f.size);
	assert_int_equal(find(x, &after, why), VHDX_OK);
	assert_false(after.active);
	lb_file_power_on(&x->f);
	assert_int_equal(replay(x, false, &st, why), VHDX_OK);
	assert_int_equal(x->f.ops, 0);
	assert_int_equal(st.headers, 0);
}

/* The checker's findings' rules, in order (up to 8). */
struct rules {
	int n;
	enum vhdx_rule rule[8];
};

static void collect_rule(void *ctx, const struct vhdx_finding *f)
{
	struct rules *fd = ctx;

	if (fd->n < 8)
		fd->rule[fd->n++] = f->rule;
}

/* --- cases ----------------------------------------------------------- */

static void test_no_log(void **state)
{
	struct fx x;
	struct vhdx_log log;
	struct vhdx_log_view *v = malloc(sizeof(*v));
	struct vhdx_replay_stats st;
	uint8_t *buf;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	memset(x.ring, 0x5A, x.ring_len); /* whatever the ring holds, LogGuid zero: empty */
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	assert_false(log.active);
	assert_int_equal(log.log_offset, x.plan.log_offset);
	assert_int_equal(x.f.reads, 0);
	vhdx_log_view_init(v, &log, &x.f.src);
	assert_int_equal(v->source.size, x.f.size);
	assert_false(v->source.log_applied);
	buf = malloc(x.f.size);
	assert_int_equal(v->source.read(&v->source, 3, buf, x.f.size - 3), VHDX_OK);
	assert_memory_equal(buf, x.f.data + 3, x.f.size - 3);
	assert_int_equal(replay(&x, false, &st, why), VHDX_OK);
	assert_int_equal(x.f.ops, 0);
	assert_int_equal(st.data_sectors + st.zeroed + st.extended_to + st.headers, 0);
	free(buf);
	free(v);
	fx_free(&x);
}

static void test_one_entry(void **state)
{
	struct fx x;
	struct vhdx_log log;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	const uint64_t end = x.f.size; /* 4 MiB */
	const struct lb_desc d[] = {
		{ false, x.plan.bat_offset, 0, pat[0] },
		{ true, x.plan.meta_offset + 64 * KiB, 8 * KiB, NULL },
		{ false, end, 0, pat[1] }, /* a new block past the old end */
	};
	put(&x, 0, 5, 0, d, 3, end, end + 1 * MiB);
	model_apply(&x, d, 3, end + 1 * MiB);
	fx_dirty(&x);
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	assert_true(log.active);
	assert_int_equal(log.log_offset, x.plan.log_offset);
	assert_int_equal(log.log_length, x.plan.log_length);
	assert_memory_equal(&log.log_guid, &x.g, 16);
	assert_int_equal(log.tail, 0);
	assert_int_equal(log.head, 0);
	assert_int_equal(log.tail_sequence, 5);
	assert_int_equal(log.head_sequence, 5);
	assert_int_equal(log.entries, 1);
	assert_int_equal(log.data_descriptors, 2);
	assert_int_equal(log.zero_descriptors, 1);
	assert_int_equal(log.flushed_file_offset, end);
	assert_int_equal(log.last_file_offset, end + 1 * MiB);
	assert_int_equal(log.low, x.plan.meta_offset + 64 * KiB);
	assert_int_equal(log.high, end + SEC);
	assert_replays_to_model(&x, &log);
	fx_free(&x);
}

/* Four entries from near the ring's end around to its start (one entry
 * itself wraps; one has two descriptor sectors), older entries of the
 * same log after them, entries of an older session elsewhere. */
static void build_wrap(struct fx *x, struct vhdx_log *log_expect)
{
	const uint32_t n = x->ring_len, t = n - 12 * (uint32_t)KiB;
	const uint64_t end = x->f.size, bat = x->plan.bat_offset;
	static struct lb_desc e4[130];
	const struct lb_desc e1[] = { { false, bat, 0, pat[2] } };
	const struct lb_desc e2[] = { { false, bat + SEC, 0, pat[3] }, { false, end + 8 * KiB, 0, pat[4] } };
	const struct lb_desc e3[] = { { true, bat, 2 * SEC, NULL }, { false, bat + SEC, 0, pat[5] } };
	const struct lb_desc old[] = { { false, bat, 0, pat[9] } };
	struct lb_entry stale = { 900, 0, test_guid(0x40), end, end, old, 1 };
	uint32_t pos;

	for (int i = 0; i < 128; i++)
		e4[i] = (struct lb_desc){ true, bat + 64 * KiB + (uint64_t)i * SEC, SEC, NULL };
	e4[128] = (struct lb_desc){ false, bat + 64 * KiB + 5 * SEC, 0, pat[6] };
	e4[129] = (struct lb_desc){ false, end + 1 * MiB - SEC, 0, pat[7] };
	/* an older session's entries (another LogGuid, higher numbers): dead */
	lb_entry_write(x->ring, n, 256 * KiB, &stale);
	lb_entry_write(x->ring, n, t - 64 * KiB, &stale);

	pos = t;
	pos = (pos + put(x, pos, 100, t, e1, 1, end, end)) % n;
	assert_int_equal(pos, n - SEC);
	pos = (pos + put(x, pos, 101, t, e2, 2, end, end + 1 * MiB)) % n; /* wraps */
	assert_int_equal(pos, 8 * KiB);
	pos = (pos + put(x, pos, 102, t, e3, 2, end, end + 1 * MiB)) % n;
	assert_int_equal(pos, 16 * KiB);
	pos = (pos + put(x, pos, 103, t, e4, 130, end, end + 1 * MiB)) % n;
	assert_int_equal(pos, 32 * KiB);
	/* the same log's older entries right after the head: not a continuation */
	put(x, pos, 60, 32 * KiB, old, 1, end, end);
	put(x, pos + 8 * KiB, 61, 32 * KiB, old, 1, end, end);

	model_apply(x, e1, 1, end);
	model_apply(x, e2, 2, end + 1 * MiB);
	model_apply(x, e3, 2, end + 1 * MiB);
	model_apply(x, e4, 130, end + 1 * MiB);
	fx_dirty(x);

	memset(log_expect, 0, sizeof(*log_expect));
	log_expect->active = true;
	log_expect->log_offset = x->plan.log_offset;
	log_expect->log_length = n;
	log_expect->log_guid = x->g;
	log_expect->tail = t;
	log_expect->head = 16 * KiB;
	log_expect->tail_sequence = 100;
	log_expect->head_sequence = 103;
	log_expect->entries = 4;
	log_expect->data_descriptors = 1 + 2 + 1 + 2;
	log_expect->zero_descriptors = 1 + 128;
	log_expect->flushed_file_offset = end;
	log_expect->last_file_offset = end + 1 * MiB;
	log_expect->low = bat;
	log_expect->high = end + 1 * MiB;
}

static void test_wrap(void **state)
{
	struct fx x;
	struct vhdx_log log, want;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	build_wrap(&x, &want);
	if (find(&x, &log, why))
		fail_msg("%s", why);
	assert_memory_equal(&log, &want, sizeof(log));
	assert_replays_to_model(&x, &log);
	fx_free(&x);
}

static void test_two_sequences(void **state)
{
	const struct vhdx_guid other = test_guid(0x41);
	struct fx x;
	struct vhdx_log log;
	char why[WHY];
	uint64_t end;

	(void)state;
	for (int variant = 0; variant < 2; variant++) {
		fx_make(&x, 1 * MiB, 8 * MiB);
		end = x.f.size;
		const struct lb_desc a[] = { { false, x.plan.bat_offset, 0, pat[0] } };
		const struct lb_desc b[] = { { false, x.plan.bat_offset, 0, pat[1] },
					     { true, x.plan.bat_offset + SEC, SEC, NULL } };
		const struct lb_entry c = { 5000, 512 * KiB, other, end, end, a, 1 };

		/* sequence A: 10, 11 at 0 */
		put(&x, 0, 10, 0, a, 1, end, end);
		put(&x, 8 * KiB, 11, 0, a, 1, end, end);
		/* sequence B: 20, 21, 22 at 256 KiB; variant 1: its head's Tail is not
		 * one of its entries, so B is no sequence and A is the active one */
		put(&x, 256 * KiB, 20, 256 * KiB, b, 2, end, end);
		put(&x, 264 * KiB, 21, 256 * KiB, b, 2, end, end);
		put(&x, 272 * KiB, 22, variant ? 0 : 264 * KiB, b, 2, end, end);
		/* an older session at 512 KiB: another LogGuid */
		lb_entry_write(x.ring, x.ring_len, 512 * KiB, &c);
		fx_dirty(&x);
		if (variant == 0) {
			model_apply(&x, b, 2, end);
			model_apply(&x, b, 2, end);
		} else {
			model_apply(&x, a, 1, end);
			model_apply(&x, a, 1, end);
		}
		assert_int_equal(find(&x, &log, why), VHDX_OK);
		assert_int_equal(log.head, variant ? 8 * KiB : 272 * KiB);
		assert_int_equal(log.tail, variant ? 0 : 264 * KiB);
		assert_int_equal(log.head_sequence, variant ? 11 : 22);
		assert_int_equal(log.tail_sequence, variant ? 10 : 21);
		assert_int_equal(log.entries, 2);
		assert_replays_to_model(&x, &log);
		fx_free(&x);
	}
}

/* The head entry torn (a data byte, or a data sector of another entry):
 * its checksum fails and the sequence ends before it. */
static void test_torn_head(void **state)
{
	struct fx x;
	struct vhdx_log log;
	char why[WHY];
	uint64_t end;

	(void)state;
	for (int variant = 0; variant < 3; variant++) {
		fx_make(&x, 1 * MiB, 8 * MiB);
		end = x.f.size;
		const struct lb_desc d1[] = { { false, x.plan.bat_offset, 0, pat[0] } };
		const struct lb_desc d2[] = { { false, x.plan.bat_offset + SEC, 0, pat[1] } };
		const struct lb_desc d3[] = { { false, x.plan.bat_offset, 0, pat[2] } };

		put(&x, 64 * KiB, 7, 64 * KiB, d1, 1, end, end);
		put(&x, 72 * KiB, 8, 64 * KiB, d2, 1, end, end);
		put(&x, 80 * KiB, 9, 64 * KiB, d3, 1, end, end);
		if (variant == 0)
			x.ring[80 * KiB + SEC + 100] ^= 1;        /* data byte: checksum */
		else if (variant == 1)
			x.ring[80 * KiB + SEC + 4092] ^= 1;       /* SequenceLow of the data sector */
		else
			memcpy(x.ring + 80 * KiB + SEC, x.ring + 72 * KiB + SEC, SEC); /* an older data sector */
		model_apply(&x, d1, 1, end);
		model_apply(&x, d2, 1, end);
		fx_dirty(&x);
		assert_int_equal(find(&x, &log, why), VHDX_OK);
		assert_int_equal(log.head, 72 * KiB);
		assert_int_equal(log.head_sequence, 8);
		assert_int_equal(log.entries, 2);
		assert_replays_to_model(&x, &log);
		fx_free(&x);
	}
}

static void test_zero_descriptors(void **state)
{
	struct fx x;
	struct vhdx_log log;
	struct vhdx_replay_stats st;
	char why[WHY];
	uint64_t end;

	(void)state;
	for (int variant = 0; variant < 2; variant++) {
		fx_make(&x, 1 * MiB, 16 * MiB);
		end = x.f.size;
		memset(x.f.data + x.plan.bat_offset, 0x77, 1 * MiB);
		memset(x.model + x.plan.bat_offset, 0x77, 1 * MiB);
		const struct lb_desc d[] = {
			{ false, x.plan.bat_offset + SEC, 0, pat[3] },
			{ true, x.plan.bat_offset, 1 * MiB, NULL },       /* zero wins over the data before it */
			{ true, end, 2 * MiB, NULL },                     /* past the old end */
			{ false, end + 1 * MiB, 0, pat[4] },              /* data wins over the zeros before it */
			{ true, end + 1 * MiB + SEC, 0, NULL },           /* ZeroLength 0: nothing */
		};
		put(&x, 0, 1, 0, d, 5, end, end + 2 * MiB);
		model_apply(&x, d, 5, end + 2 * MiB);
		fx_dirty(&x);
		if (variant)
			x.f.sink.zero = NULL; /* a sink without zero(): zeros written */
		assert_int_equal(find(&x, &log, why), VHDX_OK);
		assert_int_equal(log.zero_descriptors, 3);
		assert_int_equal(log.data_descriptors, 2);
		assert_int_equal(log.low, x.plan.bat_offset);
		assert_int_equal(log.high, end + 2 * MiB);
		assert_int_equal(replay(&x, true, &st, why), VHDX_OK);
		assert_int_equal(st.zeroed, 3 * MiB);
		assert_int_equal(st.data_sectors, 2);
		assert_replays_to_model(&x, &log);
		fx_free(&x);
	}
}

/* Descriptors aimed at the headers, at the log, misaligned, past LastFileOffset: corrupt, nothing written. */
static void test_corrupt_targets(void **state)
{
	struct fx x;
	struct vhdx_log log;
	struct vhdx_replay_stats st;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	const uint64_t end = x.f.size, lo = x.plan.log_offset;
	const struct {
		struct lb_desc d;
		const char *says;
	} cases[] = {
		{ { false, 64 * KiB, 0, pat[0] }, "headers" },
		{ { false, 128 * KiB, 0, pat[0] }, "headers" },
		{ { true, 0, SEC, NULL }, "headers" },
		{ { true, 188 * KiB, 8 * KiB, NULL }, "headers" },
		{ { false, lo, 0, pat[0] }, "log" },
		{ { false, lo + x.plan.log_length - SEC, 0, pat[0] }, "log" },
		{ { true, lo - SEC, 2 * SEC, NULL }, "log" },
		{ { true, 192 * KiB, 64 * MiB, NULL }, "log" },
		{ { false, x.plan.bat_offset + 512, 0, pat[0] }, "4 KiB" },
		{ { true, x.plan.bat_offset, 512, NULL }, "4 KiB" },
		{ { true, x.plan.bat_offset + 100, SEC, NULL }, "4 KiB" },
		{ { false, end, 0, pat[0] }, "LastFileOffset" },
		{ { true, end - SEC, 2 * SEC, NULL }, "LastFileOffset" },
		{ { true, 1ull << 63, 1ull << 63, NULL }, "2^64" },
	};
	const struct lb_desc ok = { false, x.plan.bat_offset, 0, pat[1] };

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct lb_desc d[] = { ok, cases[c].d };
		uint8_t *copy;

		memset(x.ring, 0, x.ring_len);
		put(&x, 0, 3, 0, &ok, 1, end, end);   /* a good first entry ... */
		put(&x, 8 * KiB, 4, 0, d, 2, end, end); /* ... the bad descriptor in the second */
		fx_dirty(&x);
		assert_int_equal(find(&x, &log, why), VHDX_ERR_CORRUPT);
		if (!strstr(why, cases[c].says))
			fail_msg("case %zu: \"%s\" does not say %s", c, why, cases[c].says);
		copy = malloc(x.f.size);
		memcpy(copy, x.f.data, x.f.size);
		lb_file_power_on(&x.f);
		assert_int_equal(replay(&x, false, &st, why), VHDX_ERR_CORRUPT);
		assert_int_equal(x.f.ops, 0);
		assert_memory_equal(copy, x.f.data, x.f.size);
		free(copy);
	}
	fx_free(&x);
}

/* LogGuid non-zero and no valid entry of that log: corrupt. */
static void test_no_valid_entry(void **state)
{
	struct fx x;
	struct vhdx_log log;
	struct vhdx_replay_stats st;
	char why[WHY];
	uint64_t end;

	(void)state;
	for (int variant = 0; variant < 6; variant++) {
		fx_make(&x, 1 * MiB, 8 * MiB);
		end = x.f.size;
		const struct lb_desc d[] = { { false, x.plan.bat_offset, 0, pat[0] } };
		struct lb_entry e = { 3, 0, test_guid(0x42), end, end, d, 1 };

		if (variant == 1)
			lb_entry_write(x.ring, x.ring_len, 0, &e); /* another LogGuid */
		e.log_guid = x.g;
		if (variant == 2) {
			e.sequence = 0;                            /* SequenceNumber 0 */
			lb_entry_write(x.ring, x.ring_len, 0, &e);
		}
		if (variant == 3) {
			lb_entry_write(x.ring, x.ring_len, 0, &e);
			set_le32(x.ring + 64 + 24, 4);             /* a descriptor of another entry */
			fix_crc(&x, 0);
		}
		if (variant == 4) {
			lb_entry_write(x.ring, x.ring_len, 0, &e);
			set_le32(x.ring + 8, 1 * SEC);             /* EntryLength: no room for its data sector */
			fix_crc(&x, 0);
		}
		if (variant <= 1) {
			/* a sector that carries the LogGuid, its checksum wrong: not
			 * log.guid_unused (test_guid_unused), so corrupt */
			memcpy(x.ring + 64 * KiB, "loge", 4);
			memcpy(x.ring + 64 * KiB + 32, x.g.bytes, 16);
		}
		if (variant == 5) {
			e.tail = 8 * KiB;                          /* Tail outside the sequence */
			lb_entry_write(x.ring, x.ring_len, 0, &e);
		}
		fx_dirty(&x);
		assert_int_equal(find(&x, &log, why), VHDX_ERR_CORRUPT);
		assert_non_null(strstr(why, "no valid sequence"));
		assert_int_equal(replay(&x, false, &st, why), VHDX_ERR_CORRUPT);
		assert_int_equal(x.f.ops, 0);
		fx_free(&x);
	}
}

static void test_truncated(void **state)
{
	struct fx x;
	struct vhdx_log log;
	struct vhdx_replay_stats st;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	const uint64_t end = x.f.size;
	const struct lb_desc d[] = { { false, x.plan.bat_offset, 0, pat[0] } };

	put(&x, 0, 3, 0, d, 1, end + SEC, end + SEC);
	fx_dirty(&x);
	assert_int_equal(find(&x, &log, why), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(why, "truncated"));
	assert_int_equal(replay(&x, false, &st, why), VHDX_ERR_CORRUPT);
	assert_int_equal(x.f.ops, 0);
	/* exactly FlushedFileOffset long: fine */
	put(&x, 0, 3, 0, d, 1, end, end + SEC);
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	fx_free(&x);
}


/* Reads through the view at any offset and length: unaligned, across
 * descriptor edges, past the old end up to LastFileOffset. */
static void test_view_reads(void **state)
{
	struct fx x;
	struct vhdx_log log, want;
	struct vhdx_log_view *v = malloc(sizeof(*v));
	uint8_t *buf = malloc(64 * KiB);
	uint64_t seed = 1, size, old_end;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	old_end = x.f.size;
	build_wrap(&x, &want);
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	vhdx_log_view_init(v, &log, &x.f.src);
	size = v->source.size;
	assert_int_equal(size, old_end + 1 * MiB);
	for (int i = 0; i < 3000; i++) {
		uint64_t len = 1 + lcg(&seed) % (i % 3 ? 20000 : 64 * KiB);
		uint64_t off;

		if (i % 4 == 0) /* around the BAT and the old end, where the descriptors are */
			off = (i % 8 ? x.plan.bat_offset : old_end) - 8 * KiB + lcg(&seed) % (80 * KiB);
		else
			off = lcg(&seed) % size;
		if (len > size - off)
			len = size - off;
		assert_int_equal(v->source.read(&v->source, off, buf, len), VHDX_OK);
		if (memcmp(buf, x.model + off, len))
			fail_msg("view read [0x%llx, +%llu) differs", (unsigned long long)off,
				 (unsigned long long)len);
	}
	/* each descriptor edge, one byte each side */
	for (uint64_t e = x.plan.bat_offset; e < x.plan.bat_offset + 1 * MiB; e += SEC) {
		assert_int_equal(v->source.read(&v->source, e - 1, buf, 2), VHDX_OK);
		assert_memory_equal(buf, x.model + e - 1, 2);
	}
	/* the bytes past the old end, to LastFileOffset */
	assert_int_equal(v->source.read(&v->source, old_end - 3, buf, 3 + 16 * KiB), VHDX_OK);
	assert_memory_equal(buf, x.model + old_end - 3, 3 + 16 * KiB);
	assert_int_equal(v->source.read(&v->source, size - 5, buf, 5), VHDX_OK);
	assert_memory_equal(buf, x.model + size - 5, 5);
	/* outside the file, or past it */
	assert_int_equal(v->source.read(&v->source, size - 5, buf, 6), VHDX_ERR_IO);
	assert_int_equal(v->source.read(&v->source, UINT64_MAX, buf, 2), VHDX_ERR_IO);
	/* outside [low, high): no walk of the log, one read */
	x.f.reads = 0;
	assert_int_equal(v->source.read(&v->source, 10, buf, 100), VHDX_OK);
	assert_int_equal(x.f.reads, 1);
	x.f.reads = 0;
	assert_int_equal(v->source.read(&v->source, x.plan.bat_offset, buf, 8), VHDX_OK);
	assert_true(x.f.reads > 1);
	/* a device: is_device passed on */
	x.f.src.is_device = true;
	vhdx_log_view_init(v, &log, &x.f.src);
	assert_true(v->source.is_device);
	x.f.src.is_device = false;
	free(buf);
	free(v);
	fx_free(&x);
}

/*
 * Many entries from near the ring's end around its start (entries that
 * wrap): data descriptors on 24 pages of the BAT and metadata regions
 * written again and again, zero descriptors of 1 to 6 pages over the same
 * pages (a data page written after a zero range, a zero range after a data
 * page, zero ranges that overlap), data past the old end.  The view walking
 * the log, the view through its index and replay all give the model.
 */
static uint32_t build_many(struct fx *x, uint32_t entries, uint64_t seed, bool zeros)
{
	const uint32_t n = x->ring_len, t = n - 20 * (uint32_t)KiB;
	const uint64_t end = x->f.size;
	uint64_t pages[24];
	uint32_t pos = t;

	for (int k = 0; k < 24; k++)
		pages[k] = k < 16 ? x->plan.bat_offset + (uint64_t)k * SEC : x->plan.meta_offset + (uint64_t)(k - 16) * SEC;
	for (uint32_t e = 0; e < entries; e++) {
		struct lb_desc d[3];
		size_t count = 1 + lcg(&seed) % 3;

		for (size_t i = 0; i < count; i++) {
			uint64_t k = lcg(&seed) % 24;

			if (zeros && lcg(&seed) % 4 == 0)
				d[i] = (struct lb_desc){ true, pages[k], (1 + lcg(&seed) % (k < 16 ? 16 - k < 6 ? 16 - k : 6 : 1)) * SEC, NULL };
			else if (lcg(&seed) % 16 == 0)
				d[i] = (struct lb_desc){ false, end + (lcg(&seed) % 8) * SEC, 0, pat[lcg(&seed) % 16] };
			else
				d[i] = (struct lb_desc){ false, pages[k], 0, pat[lcg(&seed) % 16] };
		}
		pos = (pos + put(x, pos, 1000 + e, t, d, count, end, end + 64 * KiB)) % n;
		model_apply(x, d, count, end + 64 * KiB);
	}
	fx_dirty(x);
	return pos;
}

static void test_view_index_many(void **state)
{
	struct fx x;
	struct vhdx_log log;
	char why[WHY];

	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		fx_make(&x, 2 * MiB, 8 * MiB);
		build_many(&x, 120, seed, true);
		if (find(&x, &log, why))
			fail_msg("%s", why);
		assert_int_equal(log.entries, 120);
		assert_true(log.tail > log.head); /* it wraps */
		assert_true(log.zero_descriptors > 10);
		assert_replays_to_model(&x, &log);
		fx_free(&x);
	}
}

/*
 * The cost of a read: through the index, the same whatever the number of
 * entries (one read of the file underneath, one of the page's data sector);
 * walking the log, at least one read per entry.  Source reads counted.
 */
static void test_view_index_cost(void **state)
{
	const uint32_t counts[2] = { 8, 300 };
	long indexed[2], walked[2], built[2];
	struct vhdx_log_view *v = malloc(sizeof(*v));
	uint8_t buf[SEC];

	(void)state;
	for (int c = 0; c < 2; c++) {
		struct fx x;
		struct vhdx_log log;
		char why[WHY];
		size_t need;
		uint8_t *mem;

		fx_make(&x, 4 * MiB, 8 * MiB);
		build_many(&x, counts[c], 5, true);
		if (find(&x, &log, why))
			fail_msg("%s", why);
		assert_int_equal(log.entries, counts[c]);
		vhdx_log_view_init(v, &log, &x.f.src);
		x.f.reads = 0;
		assert_int_equal(v->source.read(&v->source, x.plan.bat_offset + 3 * SEC, buf, SEC), VHDX_OK);
		walked[c] = x.f.reads;
		need = vhdx_log_view_index_size(v);
		mem = malloc(need);
		x.f.reads = 0;
		assert_int_equal(vhdx_log_view_index(v, mem, need), VHDX_OK);
		built[c] = x.f.reads;
		/* a page the log writes (data, or zeros then data) and one it does not */
		x.f.reads = 0;
		for (int k = 0; k < 24; k++) {
			uint64_t off = k < 16 ? x.plan.bat_offset + (uint64_t)k * SEC : x.plan.meta_offset + (uint64_t)(k - 16) * SEC;

			assert_int_equal(v->source.read(&v->source, off, buf, SEC), VHDX_OK);
			assert_memory_equal(buf, x.model + off, SEC);
		}
		indexed[c] = x.f.reads;
		assert_true(indexed[c] <= 2 * 24);
		x.f.reads = 0;
		assert_int_equal(v->source.read(&v->source, x.plan.meta_offset + 64 * KiB, buf, SEC), VHDX_OK);
		assert_int_equal(x.f.reads, 1);
		free(mem);
		fx_free(&x);
	}
	/* walking: at least one descriptor sector per entry; building the index:
	 * one walk through a 64 KiB window, at most one read per 64 KiB of the
	 * 4 MiB ring and one more where the sequence wraps: not one per entry */
	assert_true(walked[0] >= 8 && walked[1] >= 300);
	assert_true(built[1] >= 1 && built[1] <= (long)(4 * MiB / (64 * KiB)) + 1);
	/* through the index: 1 or 2 reads per page with 8 entries or 300 */
	assert_true(indexed[0] >= 24 && indexed[1] >= 24);
	assert_true(indexed[1] <= indexed[0] + 24);
	free(v);
}

/* The chain asks for the index (ops.index_alloc) and gives it back at close. */
struct index_ops_count {
	long allocs, frees;
	size_t last_len;
	bool refuse;
};

static void *count_alloc(void *ctx, size_t len)
{
	struct index_ops_count *c = ctx;

	if (c->refuse)
		return NULL;
	c->allocs++;
	c->last_len = len;
	return malloc(len);
}

static void count_free(void *ctx, void *mem, size_t len)
{
	struct index_ops_count *c = ctx;

	assert_int_equal(len, c->last_len);
	c->frees++;
	free(mem);
}

static enum vhdx_parent_open no_parent(void *ctx, const char *child_name, const char *key, const char *path,
				       enum vhdx_path_kind kind, struct vhdx_source *ret_src, char *name,
				       size_t name_len, char *why, size_t why_len)
{
	(void)ctx, (void)child_name, (void)key, (void)path, (void)kind, (void)ret_src, (void)name;
	(void)name_len, (void)why, (void)why_len;
	return VHDX_PARENT_ABSENT;
}

static void test_view_index_chain(void **state)
{
	struct vhdx_chain_level *levels = calloc(2, sizeof(*levels));
	uint8_t *scratch = malloc(VHDX_OPEN_SCRATCH_MIN), *bat = malloc(64 * KiB);
	struct vhdx_chain chain;
	struct index_ops_count c;
	struct vhdx_parent_ops ops = { .open = no_parent, .index_alloc = count_alloc, .index_free = count_free };
	char why[WHY];

	(void)state;
	for (int refuse = 0; refuse < 2; refuse++) {
		struct fx x;
		const struct vhdx_source *s;

		fx_make(&x, 1 * MiB, 8 * MiB);
		/* entries that write the BAT's first 16 pages with what they hold */
		memcpy(bat, x.f.data + x.plan.bat_offset, 64 * KiB);
		for (uint32_t e = 0, pos = 0; e < 40; e++) {
			struct lb_desc d = { false, x.plan.bat_offset + (e % 16) * SEC, 0, bat + (e % 16) * SEC };

			pos += put(&x, pos, 10 + e, 0, &d, 1, x.f.size, x.f.size);
		}
		fx_dirty(&x);
		memset(&c, 0, sizeof(c));
		c.refuse = refuse;
		ops.ctx = &c;
		assert_int_equal(vhdx_chain_open(&chain, levels, 2, &x.f.src, "dirty", &ops, scratch,
						 VHDX_OPEN_SCRATCH_MIN, why, WHY), VHDX_OK);
		assert_true(levels[0].through_log);
		assert_int_equal(c.allocs, refuse ? 0 : 1);
		assert_true(refuse ? !levels[0].view.data : levels[0].view.data != NULL);
		s = &levels[0].view.source;
		assert_int_equal(s->read(s, x.plan.bat_offset, scratch, 64 * KiB), VHDX_OK);
		assert_memory_equal(scratch, bat, 64 * KiB);
		vhdx_chain_close(&chain, &ops);
		assert_int_equal(c.frees, c.allocs);
		assert_null(levels[0].view.data);
		fx_free(&x);
	}
	free(bat);
	free(scratch);
	free(levels);
}

/* A file whose end is not on 4 KiB (trailing bytes): extended, the partial sector kept. */
static void test_unaligned_end(void **state)
{
	struct fx x;
	struct vhdx_log log;
	char why[WHY];
	uint64_t end;

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	memset(x.f.data + x.f.size, 0xCD, 512);
	memset(x.model + x.f.size, 0xCD, 512);
	x.f.size += 512;
	x.f.src.size = x.f.size;
	end = x.f.size;
	const struct lb_desc d[] = { { false, x.plan.bat_offset, 0, pat[0] } };

	put(&x, 0, 3, 0, d, 1, end, end - 512 + 1 * MiB);
	model_apply(&x, d, 1, end - 512 + 1 * MiB);
	fx_dirty(&x);
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	x.f.sink.block_size = 512;
	assert_replays_to_model(&x, &log);
	fx_free(&x);
}

static void test_dry_run_and_args(void **state)
{
	struct fx x;
	struct vhdx_log log, want;
	struct vhdx_replay_stats st;
	uint8_t *s = malloc(VHDX_LOG_SCRATCH_MIN), *copy;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	build_wrap(&x, &want);
	copy = malloc(x.f.size);
	memcpy(copy, x.f.data, x.f.size);
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, NULL, new_fwg(), true, s, VHDX_LOG_SCRATCH_MIN, &st, why,
					 WHY),
			 VHDX_OK);
	assert_int_equal(st.data_sectors, 6);
	assert_int_equal(st.zeroed, 2 * SEC + 128 * SEC);
	assert_int_equal(st.extended_to, x.model_size);
	assert_int_equal(st.headers, 2);
	assert_int_equal(x.f.ops, 0);
	assert_memory_equal(copy, x.f.data, x.f.size);
	/* scratch sizes: the same answer */
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	for (size_t len = VHDX_LOG_SCRATCH_MIN + 1; len < 4 * MiB; len = len * 3 + 4099) {
		struct vhdx_log other;

		assert_int_equal(find_with(&x, &other, len, why), VHDX_OK);
		assert_memory_equal(&log, &other, sizeof(log));
	}
	/* bad arguments */
	assert_int_equal(vhdx_log_find(&log, &x.d, &x.f.src, s, VHDX_LOG_SCRATCH_MIN - 1, why, WHY), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_log_find(NULL, &x.d, &x.f.src, s, VHDX_LOG_SCRATCH_MIN, why, WHY), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_log_find(&log, NULL, &x.f.src, s, VHDX_LOG_SCRATCH_MIN, NULL, 0), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_log_find(&log, &x.d, NULL, s, VHDX_LOG_SCRATCH_MIN, why, WHY), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_log_find(&log, &x.d, &x.f.src, NULL, VHDX_LOG_SCRATCH_MIN, why, WHY), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, NULL, new_fwg(), false, s, VHDX_LOG_SCRATCH_MIN, &st, why,
					 WHY),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, &x.f.sink, NULL, false, s, VHDX_LOG_SCRATCH_MIN, &st, why,
					 WHY),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, &x.f.sink, new_fwg(), false, s, 8192, &st, why, WHY),
			 VHDX_ERR_INVAL);
	x.f.sink.block_size = 8192;
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, &x.f.sink, new_fwg(), false, s, VHDX_LOG_SCRATCH_MIN, &st,
					 why, WHY),
			 VHDX_ERR_INVAL);
	x.f.sink.block_size = 4096;
	/* a disk that is not this file's: its sequence number differs */
	x.d.sequence++;
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, &x.f.sink, new_fwg(), false, s, VHDX_LOG_SCRATCH_MIN, &st,
					 why, WHY),
			 VHDX_ERR_CORRUPT);
	x.d.sequence--;
	/* a device that would have to grow */
	x.f.src.is_device = true;
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, &x.f.sink, new_fwg(), false, s, VHDX_LOG_SCRATCH_MIN, &st,
					 why, WHY),
			 VHDX_ERR_DEVFULL);
	x.f.src.is_device = false;
	x.f.sink.capacity = x.f.size;
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, &x.f.sink, new_fwg(), false, s, VHDX_LOG_SCRATCH_MIN, &st,
					 why, WHY),
			 VHDX_ERR_DEVFULL);
	x.f.sink.capacity = 0;
	assert_int_equal(x.f.ops, 0);
	assert_memory_equal(copy, x.f.data, x.f.size);
	free(copy);
	free(s);
	fx_free(&x);
}

/* A read failing anywhere: VHDX_ERR_IO; replay run again then ends as an uncut one. */
static void test_read_failures(void **state)
{
	struct fx x;
	struct vhdx_log log, want;
	struct vhdx_replay_stats st;
	uint8_t *dirty;
	uint64_t dirty_size;
	long total;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	build_wrap(&x, &want);
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	total = x.f.reads;
	for (long n = 1; n <= total; n++) {
		lb_file_power_on(&x.f);
		x.f.fail_read_at = n;
		assert_int_equal(find(&x, &log, why), VHDX_ERR_IO);
	}
	dirty_size = x.f.size;
	dirty = malloc(dirty_size);
	memcpy(dirty, x.f.data, dirty_size);
	lb_file_power_on(&x.f);
	assert_int_equal(replay(&x, false, &st, why), VHDX_OK);
	total = x.f.reads;
	for (long n = 1; n <= total; n++) {
		struct fx y = x;

		lb_file_init(&y.f, dirty, dirty_size, x.cap, 4096);
		y.f.fail_read_at = n;
		assert_int_equal(replay(&y, false, &st, why), VHDX_ERR_IO);
		lb_file_power_on(&y.f);
		assert_int_equal(replay(&y, false, &st, why), VHDX_OK);
		assert_int_equal(y.f.size, x.f.size);
		assert_memory_equal(y.f.data, x.f.data, x.f.size);
		lb_file_free(&y.f);
	}
	free(dirty);
	fx_free(&x);
}

/*
 * Power cut at every write, zero and flush of a replay, the cut write lost
 * or torn (its first 512 or 2048 bytes land): the headers never say clean
 * before every descriptor is applied, and replay run again ends with the
 * bytes of an uncut replay.  (A header's fields all lie in its first 512
 * bytes, and the rest is zero in both copies: a torn header write is
 * either the old header or the new one, never a broken one.)
 */
static void test_power_cut(void **state)
{
	static const uint32_t torn[] = { 0, 512, 2048 };
	struct fx x;
	struct vhdx_log log, want;
	struct vhdx_replay_stats st;
	uint8_t *dirty;
	uint64_t dirty_size;
	long total, second_header_only = 0;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	build_wrap(&x, &want);
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	dirty_size = x.f.size;
	dirty = malloc(dirty_size);
	memcpy(dirty, x.f.data, dirty_size);
	assert_int_equal(replay(&x, false, &st, why), VHDX_OK); /* x: the uncut result */
	total = x.f.ops;
	assert_true(total > 10);
	for (size_t t = 0; t < sizeof(torn) / sizeof(torn[0]); t++) {
		for (long cut = 1; cut <= total; cut++) {
			struct fx y = x;
			struct vhdx_disk d;

			lb_file_init(&y.f, dirty, dirty_size, x.cap, 4096);
			y.f.cut_at = cut;
			y.f.torn = torn[t];
			assert_int_equal(replay(&y, false, &st, why), VHDX_ERR_IO);
			/* clean headers only once every descriptor is applied */
			lb_disk_from_image(&d, y.f.data, y.f.size);
			if (vhdx_guid_is_zero(&d.log_guid))
				assert_file_is_model(&y);
			lb_file_power_on(&y.f);
			assert_int_equal(replay(&y, false, &st, why), VHDX_OK);
			second_header_only += st.headers == 1;
			assert_int_equal(y.f.size, x.f.size);
			if (memcmp(y.f.data, x.f.data, x.f.size))
				fail_msg("cut at operation %ld (%u bytes torn): replay again differs", cut, torn[t]);
			lb_file_free(&y.f);
		}
	}
	/* cut between the two header writes: the second run wrote only the other copy */
	assert_true(second_header_only >= 3);
	free(dirty);
	fx_free(&x);
}

/*
 * LogGuid set, and no entry in the log carries it (qemu's crash window:
 * it writes the header before the entry): nothing was logged under it,
 * so nothing was applied; find says so (not active, guid_unused), the
 * checker warns (log.guid_unused, no log.replay error), and replay writes
 * only the two headers, LogGuid zero, in the usual order.  Entries of
 * another LogGuid do not count.
 */
static void test_guid_unused(void **state)
{
	struct fx x;
	struct vhdx_log log;
	struct vhdx_replay_stats st, dry;
	struct vhdx_info *info = malloc(sizeof(*info));
	uint8_t *scratch = malloc(VHDX_READ_SCRATCH_MIN), *before, hdr[SEC];
	struct rules fd;
	char why[WHY];

	(void)state;
	for (int variant = 0; variant < 2; variant++) {
		fx_make(&x, 1 * MiB, 8 * MiB);
		if (variant) {
			const struct lb_desc d[] = { { false, x.plan.bat_offset, 0, pat[0] } };
			struct lb_entry e = { 3, 0, test_guid(0x42), x.f.size, x.f.size, d, 1 };

			lb_entry_write(x.ring, x.ring_len, 0, &e); /* another LogGuid's entry */
		}
		fx_dirty(&x);
		assert_int_equal(find(&x, &log, why), VHDX_OK);
		assert_false(log.active);
		assert_true(log.guid_unused);
		/* the checker: a warning of its own, nothing withheld */
		memset(&fd, 0, sizeof(fd));
		assert_int_equal(vhdx_check(&x.f.src, scratch, VHDX_READ_SCRATCH_MIN, info, collect_rule, &fd), VHDX_OK);
		assert_int_equal(info->errors, 0);
		assert_false(info->log_replay_needed);
		assert_true(fd.n >= 1);
		assert_int_equal(fd.rule[0], VHDX_R_LOG_GUID_UNUSED);
		/* replay: the headers only */
		before = malloc(x.f.size);
		memcpy(before, x.f.data, x.f.size);
		memcpy(hdr, x.f.data + (x.d.current_header ? 128 : 64) * KiB, SEC);
		const uint64_t seq = x.d.sequence;
		const int cur = x.d.current_header;
		assert_int_equal(replay(&x, true, &dry, why), VHDX_OK);
		assert_int_equal(x.f.ops, 0);
		assert_int_equal(replay(&x, false, &st, why), VHDX_OK);
		assert_memory_equal(&st, &dry, sizeof(st));
		assert_true(st.guid_unused);
		assert_int_equal(st.headers, 2);
		assert_int_equal(st.data_sectors, 0);
		assert_int_equal(x.f.writes, 2);
		assert_int_equal(x.f.flushes, 2);
		assert_headers_clean(&x, hdr, cur, seq);
		for (uint64_t off = 0; off < x.f.size; off += SEC)
			if (!in_header(off))
				assert_memory_equal(x.f.data + off, before + off, SEC);
		free(before);
		fx_free(&x);
	}
	free(info);
	free(scratch);
}

/*
 * EntryLength longer than the descriptor and data sectors (padding after
 * the data sectors, one of its sectors starting "loge"): in the checksum,
 * not interpreted; the entry is valid and replays like the same entry
 * unpadded.  A byte of the padding changed breaks the checksum.
 */
static void test_padded_entry(void **state)
{
	struct fx x;
	struct vhdx_log log;
	char why[WHY];

	(void)state;
	for (int variant = 0; variant < 2; variant++) {
		fx_make(&x, 1 * MiB, 8 * MiB);
		const uint64_t end = x.f.size;
		const struct lb_desc d[] = {
			{ false, x.plan.bat_offset, 0, pat[0] },
			{ true, x.plan.meta_offset + 64 * KiB, 8 * KiB, NULL },
		};
		uint32_t len = put(&x, 0, 5, 0, d, 2, end, end);

		assert_int_equal(len, 2 * SEC);
		set_le32(x.ring + 8, len + 2 * SEC);            /* EntryLength: two sectors of padding */
		memset(x.ring + len, 0xA5, 2 * SEC);
		memcpy(x.ring + len + SEC, "loge", 4);           /* padding that looks like an entry */
		fix_crc(&x, 0);
		if (variant)
			x.ring[len + 100] ^= 1;                  /* padding changed: checksum wrong */
		model_apply(&x, d, 2, end);
		fx_dirty(&x);
		if (variant) {
			assert_int_equal(find(&x, &log, why), VHDX_ERR_CORRUPT);
			assert_non_null(strstr(why, "no valid sequence"));
		} else {
			assert_int_equal(find(&x, &log, why), VHDX_OK);
			assert_true(log.active);
			assert_int_equal(log.entries, 1);
			assert_int_equal(log.data_descriptors, 1);
			assert_replays_to_model(&x, &log);
		}
		fx_free(&x);
	}
}

/*
 * LastFileOffset past anything the image can need (4 TiB on a 4 MiB
 * image): corrupt, nothing written.  The bound: the file end (or a block
 * a logged BAT sector allocates) + 1 GiB.  A legitimate extension is
 * sparse: replay writes one sector at the new end, zeroes nothing.
 */
static void test_last_offset_bound(void **state)
{
	static uint8_t bat_page[SEC];
	struct fx x;
	struct vhdx_log log;
	struct vhdx_replay_stats st;
	char why[WHY];
	uint64_t end;

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	end = x.f.size;
	const struct lb_desc d[] = { { false, x.plan.bat_offset, 0, pat[0] } };

	put(&x, 0, 3, 0, d, 1, end, 4ull << 40);
	fx_dirty(&x);
	assert_int_equal(find(&x, &log, why), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(why, "LastFileOffset"));
	assert_int_equal(replay(&x, false, &st, why), VHDX_ERR_CORRUPT);
	assert_int_equal(x.f.ops, 0);
	assert_int_equal(x.f.size, end);
	/* at the bound: fine; one MiB past it: refused */
	put(&x, 0, 3, 0, d, 1, end, end + 1024 * MiB);
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	put(&x, 0, 3, 0, d, 1, end, end + 1025 * MiB);
	assert_int_equal(find(&x, &log, why), VHDX_ERR_CORRUPT);
	/* a BAT sector in the log that allocates a block far out raises the bound */
	const uint64_t far = end + 3000 * MiB;
	const struct lb_desc e[] = { { false, x.plan.bat_offset, 0, bat_page } };

	memcpy(bat_page, x.f.data + x.plan.bat_offset, SEC);
	set_le32(bat_page, (uint32_t)(far | 6));
	set_le32(bat_page + 4, (uint32_t)(far >> 32));                           /* block 0 FULLY_PRESENT at far */
	put(&x, 0, 3, 0, e, 1, end, far + 1 * MiB);
	x.d.bat_offset = x.plan.bat_offset; /* lb_disk_from_image fills the log's fields only */
	x.d.bat_length = (uint32_t)x.plan.bat_length;
	x.d.geom.block_size = 1 * MiB;
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	put(&x, 0, 3, 0, e, 1, end, far + 1 * MiB + 1025 * MiB);
	assert_int_equal(find(&x, &log, why), VHDX_ERR_CORRUPT);
	fx_free(&x);

	/* a legitimate extension by 6 MiB */
	for (int run = 0; run < 2; run++) {
		fx_make(&x, 1 * MiB, 16 * MiB);
		end = x.f.size;
		put(&x, 0, 3, 0, d, 1, end, end + 6 * MiB);
		model_apply(&x, d, 1, end + 6 * MiB);
		fx_dirty(&x);
		assert_int_equal(find(&x, &log, why), VHDX_OK);
		if (!run) {
			assert_replays_to_model(&x, &log);
		} else {
			assert_int_equal(replay(&x, false, &st, why), VHDX_OK);
			assert_int_equal(st.extended_to, end + 6 * MiB);
			assert_int_equal(x.f.zeros, 0);  /* nothing zeroed: the extension is a hole */
			assert_int_equal(x.f.writes, 4); /* the descriptor, the sector at the new end, two headers */
			assert_file_is_model(&x);
		}
		fx_free(&x);
	}
}

/* --- lost unflushed writes ------------------------------------------- */

/* One operation of a replay as the device saw it: a write (data NULL: zeros) or a flush. */
struct rec_op {
	bool flush;
	uint64_t off, len;      /* [byte] */
	uint8_t *data;
};

/* A sink recording every operation and passing it on to the RAM file. */
struct rec {
	struct vhdx_sink sink;
	const struct vhdx_sink *under;
	struct rec_op *ops;
	size_t n, cap;
};

static struct rec_op *rec_add(struct rec *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->ops = realloc(r->ops, r->cap * sizeof(*r->ops));
		assert_non_null(r->ops);
	}
	memset(&r->ops[r->n], 0, sizeof(r->ops[0]));
	return &r->ops[r->n++];
}

static int rec_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct rec *r = s->ctx;
	struct rec_op *op = rec_add(r);

	op->off = off;
	op->len = len;
	op->data = malloc(len);
	memcpy(op->data, buf, len);
	return r->under->write(r->under, off, buf, len);
}

static int rec_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct rec *r = s->ctx;
	struct rec_op *op = rec_add(r);

	op->off = off;
	op->len = len;
	return r->under->zero(r->under, off, len);
}

static int rec_flush(const struct vhdx_sink *s)
{
	struct rec *r = s->ctx;

	rec_add(r)->flush = true;
	return r->under->flush(r->under);
}

/* @buf (size *size, capacity @cap) with write @op applied. */
static void op_apply(uint8_t *buf, uint64_t *size, const struct rec_op *op)
{
	if (op->data)
		memcpy(buf + op->off, op->data, op->len);
	else
		memset(buf + op->off, 0, op->len);
	if (op->off + op->len > *size)
		*size = op->off + op->len;
}

/*
 * What a power cut leaves of state @buf: when its current header no longer
 * names the log, every descriptor must be durable (the file is the model);
 * otherwise the next replay must finish to @want's bytes.  Returns 1 when
 * the header was clean.
 */
static int judge_state(struct fx *x, const uint8_t *buf, uint64_t size, const struct lb_file *want, bool rerun)
{
	struct vhdx_disk d;

	lb_disk_from_image(&d, buf, size);
	if (vhdx_guid_is_zero(&d.log_guid)) {
		if (size != x->model_size)
			fail_msg("LogGuid cleared but the file is %llu bytes, not %llu: a write was lost",
				 (unsigned long long)size, (unsigned long long)x->model_size);
		for (uint64_t off = 0; off < size; off += SEC)
			if (!in_header(off) && memcmp(buf + off, x->model + off, SEC))
				fail_msg("LogGuid cleared but the sector at 0x%llx is not the replayed one: "
					 "a descriptor's write was lost", (unsigned long long)off);
	}
	if (rerun) {
		struct fx y = *x;
		struct vhdx_replay_stats st;
		char why[WHY];

		lb_file_init(&y.f, buf, size, x->cap, 4096);
		assert_int_equal(replay(&y, false, &st, why), VHDX_OK);
		assert_int_equal(y.f.size, want->size);
		assert_memory_equal(y.f.data, want->data, want->size);
		lb_file_free(&y.f);
	}
	return vhdx_guid_is_zero(&d.log_guid);
}

/*
 * Lost unflushed writes: between two flushes a device may keep any subset
 * of the writes issued since the last flush (and make them durable in any
 * order: the replay's writes of one epoch never overlap but for a
 * descriptor a later entry overwrites, kept in issue order here).  Every
 * such state of a replay (build_wrap: 4 entries, 135 descriptors and the
 * extension; every subset of the small epochs, 1024 random ones and every
 * one-write loss of the large one) either still names the log, and the
 * next replay finishes it to the same bytes, or is the model.  Without the
 * flush between the descriptors and the first header write (or between
 * the two headers) a state with a clean header and a lost write exists.
 */
static void test_replay_lost_writes(void **state)
{
	struct fx x;
	struct vhdx_log want_log;
	struct rec rec;
	struct lb_file done;
	struct vhdx_replay_stats st;
	uint8_t *s = malloc(VHDX_LOG_SCRATCH_MIN), *dirty, *base, *cur;
	uint64_t dirty_size, base_size;
	unsigned long states = 0, clean = 0, epochs = 0;
	uint64_t seed = 99;
	char why[WHY];

	(void)state;
	fx_make(&x, 1 * MiB, 8 * MiB);
	build_wrap(&x, &want_log);
	dirty_size = x.f.size;
	dirty = calloc(1, x.cap);
	memcpy(dirty, x.f.data, dirty_size);
	/* the uncut replay, recorded */
	memset(&rec, 0, sizeof(rec));
	rec.under = &x.f.sink;
	rec.sink = x.f.sink;
	rec.sink.ctx = &rec;
	rec.sink.write = rec_write;
	rec.sink.zero = rec_zero;
	rec.sink.flush = rec_flush;
	lb_disk_from_image(&x.d, x.f.data, x.f.size);
	assert_int_equal(vhdx_log_replay(&x.d, &x.f.src, &rec.sink, new_fwg(), false, s, VHDX_LOG_SCRATCH_MIN, &st,
					 why, WHY),
			 VHDX_OK);
	assert_file_is_model(&x);
	lb_file_init(&done, x.f.data, x.f.size, x.cap, 4096);

	base = calloc(1, x.cap);
	cur = calloc(1, x.cap);
	memcpy(base, dirty, dirty_size);
	base_size = dirty_size;
	for (size_t a = 0; a < rec.n;) {
		size_t b = a, k;

		while (b < rec.n && !rec.ops[b].flush)
			b++;
		k = b - a;                             /* the writes of this epoch */
		epochs++;
		memcpy(cur, base, x.cap);
		for (unsigned long t = 0;; t++) {
			uint64_t size = base_size;
			bool last;

			if (k <= 10) {                         /* every subset */
				last = t + 1 >= (1ul << k);
				for (size_t i = 0; i < k; i++)
					if (t >> i & 1)
						op_apply(cur, &size, &rec.ops[a + i]);
			} else if (t < k) {                    /* all but write t */
				last = false;
				for (size_t i = 0; i < k; i++)
					if (i != t)
						op_apply(cur, &size, &rec.ops[a + i]);
			} else {                               /* random subsets */
				last = t + 1 >= k + 1024;
				for (size_t i = 0; i < k; i++)
					if (lcg(&seed) & 1)
						op_apply(cur, &size, &rec.ops[a + i]);
			}
			clean += judge_state(&x, cur, size, &done, k <= 10 || t % 128 == 0);
			states++;
			for (size_t i = a; i < b; i++)         /* back to base (zero past its end) */
				memcpy(cur + rec.ops[i].off, base + rec.ops[i].off, rec.ops[i].len);
			if (last)
				break;
		}
		for (size_t i = a; i < b; i++)
			op_apply(base, &base_size, &rec.ops[i]);
		a = b + 1;                                 /* past the flush */
	}
	print_message("replay lost writes: %zu operations, %lu flush epochs, %lu states, %lu with LogGuid cleared\n",
		      rec.n, epochs, states, clean);
	assert_true(epochs >= 3);
	assert_true(clean >= 1);
	for (size_t i = 0; i < rec.n; i++)
		free(rec.ops[i].data);
	free(rec.ops);
	free(dirty);
	free(base);
	free(cur);
	free(s);
	lb_file_free(&done);
	fx_free(&x);
}

/* Garbage in a 8 MiB ring: the scan reads the ring once, checksums each sector at most twice. */
static void test_find_bound(void **state)
{
	struct fx x;
	struct vhdx_log log;
	char why[WHY];
	uint64_t seed = 7;

	(void)state;
	fx_make(&x, 8 * MiB, 24 * MiB);
	const uint32_t n = x.ring_len;
	fx_dirty(&x);
	for (int pattern = 0; pattern < 6; pattern++) {
		memset(x.ring, 0, n);
		for (uint32_t p = 0; p < n; p += SEC) {
			uint8_t *s = x.ring + p;

			switch (pattern) {
			case 0: /* every sector an entry header claiming the whole ring */
			case 1: /* ... with more descriptors than the ring holds */
				memcpy(s, "loge", 4);
				set_le32(s + 8, pattern ? n - SEC : n);
				set_le32(s + 24, pattern ? 0xFFFFFFF0u : 0);
				s[16] = 1;
				memcpy(s + 32, x.g.bytes, 16);
				break;
			case 2: /* headers and data sectors alternating, lengths too long */
				if (p % (2 * SEC) == 0) {
					memcpy(s, "loge", 4);
					set_le32(s + 8, n);
					set_le32(s + 24, 1);
					s[16] = 1;
					memcpy(s + 32, x.g.bytes, 16);
					memcpy(s + 64, "desc", 4);
					s[64 + 24] = 1;
				} else {
					memcpy(s, "data", 4);
					s[4092] = 1;
				}
				break;
			case 3: /* random bytes (one sector carries the LogGuid: else
				 * the log would be unused, not corrupt) */
				for (int i = 0; i < (int)SEC; i += 4)
					set_le32(s + i, (uint32_t)lcg(&seed));
				if (p == n / 2) {
					memcpy(s, "loge", 4);
					memcpy(s + 32, x.g.bytes, 16);
				}
				break;
			}
		}
		if (pattern >= 4) {
			/* one entry spanning the ring, every sector in order, checksum
			 * wrong; pattern 5: starting at its last sector, wrapping */
			const uint32_t data = n / SEC - 16;
			struct lb_desc *d = calloc(data, sizeof(*d));
			uint32_t len;

			for (uint32_t i = 0; i < data; i++)
				d[i] = (struct lb_desc){ false, 4 * MiB, 0, pat[0] };
			len = put(&x, pattern == 5 ? n - SEC : 0, 1, 0, d, data, x.f.size, x.f.size);
			assert_int_equal(len, n);
			x.ring[(pattern == 5 ? n - SEC : 0) + 100] ^= 1;
			free(d);
		}
		lb_file_power_on(&x.f);
		assert_int_equal(find(&x, &log, why), VHDX_ERR_CORRUPT);
		if (getenv("TEST_LOG_VERBOSE"))
			print_message("pattern %d: %llu bytes read for a %u-byte ring\n", pattern,
				      (unsigned long long)x.f.read_bytes, n);
		if (x.f.read_bytes > (pattern == 5 ? 2ull : 1ull) * n + VHDX_LOG_SCRATCH_MIN)
			fail_msg("pattern %d: %llu bytes read for a %u-byte ring", pattern,
				 (unsigned long long)x.f.read_bytes, n);
	}
	/* the same garbage with a valid sequence in it: found */
	const struct lb_desc d[] = { { false, x.plan.bat_offset, 0, pat[0] } };
	put(&x, 4 * MiB, 42, 4 * MiB, d, 1, x.f.size, x.f.size);
	put(&x, 4 * MiB + 8 * KiB, 43, 4 * MiB, d, 1, x.f.size, x.f.size);
	lb_file_power_on(&x.f);
	assert_int_equal(find(&x, &log, why), VHDX_OK);
	assert_int_equal(log.head_sequence, 43);
	assert_int_equal(log.entries, 2);
	assert_true(x.f.read_bytes <= 2ull * n + VHDX_LOG_SCRATCH_MIN + 4 * SEC); /* the wrapping garbage again */
	fx_free(&x);
}

/* --- the dirty samples of ../shared/samples -------------------------- */

static uint8_t *load_sample(const char *name, const char *tool, uint64_t *ret_size)
{
	char path[512], cmd[600];
	uint8_t *buf;
	size_t cap = 64 * MiB, n;
	FILE *p;

	snprintf(path, sizeof(path), "%s/%s", getenv("VHDX_SAMPLES") ? getenv("VHDX_SAMPLES") : "../shared/samples",
		 name);
	if (access(path, R_OK))
		return NULL;
	snprintf(cmd, sizeof(cmd), "%s -dc '%s'", tool, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	buf = malloc(cap);
	n = fread(buf, 1, cap, p);
	assert_int_equal(pclose(p), 0);
	assert_true(n < cap);
	*ret_size = n;
	return buf;
}

static void sample_replay(struct lb_file *f, uint64_t size, const struct vhdx_log *log, uint8_t *view_copy)
{
	struct vhdx_disk d;
	struct vhdx_replay_stats st;
	struct vhdx_log_view *v = malloc(sizeof(*v));
	uint8_t *s = malloc(VHDX_LOG_SCRATCH_MIN);
	char why[WHY];

	vhdx_log_view_init(v, log, &f->src);
	assert_int_equal(v->source.size, size);
	assert_int_equal(v->source.read(&v->source, 0, view_copy, v->source.size), VHDX_OK);
	lb_disk_from_image(&d, f->data, size);
	assert_int_equal(vhdx_log_replay(&d, &f->src, &f->sink, new_fwg(), false, s, VHDX_LOG_SCRATCH_MIN, &st, why,
					 WHY),
			 VHDX_OK);
	assert_int_equal(st.headers, 2);
	assert_int_equal(st.data_sectors, log->data_descriptors);
	for (uint64_t off = 0; off < f->size; off += SEC)
		if (!in_header(off) && memcmp(f->data + off, view_copy + off, SEC))
			fail_msg("sample: replay and view differ at 0x%llx", (unsigned long long)off);
	lb_disk_from_image(&d, f->data, f->size);
	assert_true(vhdx_guid_is_zero(&d.log_guid));
	free(s);
	free(v);
}

static void test_samples(void **state)
{
	struct lb_file f;
	struct vhdx_disk d;
	struct vhdx_log log;
	uint8_t *img, *view;
	uint64_t size;
	char why[WHY];
	uint8_t *s = malloc(VHDX_LOG_SCRATCH_MIN);
	int parts = 0;

	(void)state;
	img = load_sample("discutils-vhdx-log-replay.vhdx.gz", "gzip", &size);
	if (!img) {
		free(s);
		print_message("../shared/samples absent: the dirty samples are not checked\n");
		skip();
	}
	/* Windows: 5 entries in one run (sequence numbers ...553 to ...557); the
	 * head's Tail names the fourth: the active sequence is the last two */
	lb_file_init(&f, img, size, size + 64 * MiB, 4096);
	lb_disk_from_image(&d, img, size);
	assert_int_equal(vhdx_log_find(&log, &d, &f.src, s, VHDX_LOG_SCRATCH_MIN, why, WHY), VHDX_OK);
	assert_true(log.active);
	assert_int_equal(log.tail, 0x5000);
	assert_int_equal(log.head, 0x7000);
	assert_int_equal(log.tail_sequence, 0x11ca264063fe556ull);
	assert_int_equal(log.head_sequence, 0x11ca264063fe557ull);
	assert_int_equal(log.entries, 2);
	assert_int_equal(log.data_descriptors, 2);
	assert_int_equal(log.zero_descriptors, 0);
	assert_int_equal(log.flushed_file_offset, 0x2400000);
	assert_int_equal(log.last_file_offset, 0x2400000);
	assert_int_equal(log.low, 0x300000);
	assert_int_equal(log.high, 0x301000);
	assert_int_equal(le64(img + 0x300000), 0); /* BAT[0] on disk: NOT_PRESENT */
	view = malloc(size);
	sample_replay(&f, size, &log, view);
	assert_int_equal(f.size, size);
	/* BAT[0] FULLY_PRESENT at 0x400000; the block starts with an MBR of two partitions */
	assert_int_equal(le64(f.data + 0x300000), 0x400006);
	assert_int_equal(f.data[0x400000 + 510], 0x55);
	assert_int_equal(f.data[0x400000 + 511], 0xAA);
	for (int i = 0; i < 4; i++)
		parts += f.data[0x400000 + 446 + 16 * i + 4] != 0;
	assert_int_equal(parts, 2);
	lb_file_free(&f);
	free(view);
	free(img);

	/* QEMU 1.6: seven entries, each of its own session (LogGuid); the
	 * header names the last one's */
	img = load_sample("qemu1.6-dirtylog-10G.vhdx.bz2", "bzip2", &size);
	assert_non_null(img);
	lb_file_init(&f, img, size, size + 64 * MiB, 4096);
	lb_disk_from_image(&d, img, size);
	assert_int_equal(vhdx_log_find(&log, &d, &f.src, s, VHDX_LOG_SCRATCH_MIN, why, WHY), VHDX_OK);
	assert_int_equal(log.tail, 0xc000);
	assert_int_equal(log.head, 0xc000);
	assert_int_equal(log.head_sequence, 7);
	assert_int_equal(log.entries, 1);
	assert_int_equal(log.data_descriptors, 1);
	assert_int_equal(log.last_file_offset, 0x1e00000);
	view = malloc(size);
	sample_replay(&f, size, &log, view);
	lb_file_free(&f);
	free(view);
	free(img);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_log),
		cmocka_unit_test(test_one_entry),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_two_sequences),
		cmocka_unit_test(test_torn_head),
		cmocka_unit_test(test_zero_descriptors),
		cmocka_unit_test(test_corrupt_targets),
		cmocka_unit_test(test_no_valid_entry),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_view_reads),
		cmocka_unit_test(test_view_index_many),
		cmocka_unit_test(test_view_index_cost),
		cmocka_unit_test(test_view_index_chain),
		cmocka_unit_test(test_unaligned_end),
		cmocka_unit_test(test_dry_run_and_args),
		cmocka_unit_test(test_read_failures),
		cmocka_unit_test(test_power_cut),
		cmocka_unit_test(test_find_bound),
		cmocka_unit_test(test_guid_unused),
		cmocka_unit_test(test_padded_entry),
		cmocka_unit_test(test_last_offset_bound),
		cmocka_unit_test(test_replay_lost_writes),
		cmocka_unit_test(test_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
