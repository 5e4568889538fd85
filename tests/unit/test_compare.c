/* SPDX-License-Identifier: MIT */
/*
 * test_compare.c - vhdx_compare and its readers (vhdx_data.h) on RAM
 * sources and RAM chains: images written by the core's writer into sparse
 * files, blocks set FULLY_PRESENT here, opened by the decoder and the
 * chain walk; raw disks held as byte arrays (the model of the virtual
 * disk).  Checked: identical disks, a difference at the first and the last
 * byte of a compare chunk, in a ZERO extent of one side, different sizes
 * with zero and non-zero tails, raw against VHDX (512 and 4096 sectors, a
 * child over its parent), zeros in both never read, raw reads at any
 * alignment page-aligned on the source, failing reads, the progress stop.
 */
#include <stdio.h>

#include "mem_source.h"
#include "sparse_file.h"
#include "test_util.h"
#include "vhdx_data.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define SCRATCH_LEN (1024u * 1024u)

/* ---- images ---- */

struct img {
	char name[32];
	struct sparse_file f;
	uint64_t vds;
	uint32_t bs, lss;
	uint64_t bat_offset;
};

static struct img *imgs[4];
static unsigned img_count;

static void img_make(struct img *im, const char *name, enum vhdx_type type, uint64_t vds, uint32_t lss,
		     uint8_t dwg_seed, uint8_t parent_seed)
{
	struct vhdx_params p = test_params(type, vds);
	struct vhdx_plan plan;
	struct vhdx_guid pg = test_guid(parent_seed);
	char linkage[VHDX_GUID_TEXT_SIZE + 2];
	struct vhdx_kv kv[2];
	void *scratch = malloc(SCRATCH_LEN);

	memset(im, 0, sizeof(*im));
	snprintf(im->name, sizeof(im->name), "%s", name);
	p.block_size = (uint32_t)MiB;
	p.logical_sector_size = lss;
	p.data_write_guid = test_guid(dwg_seed);
	if (type == VHDX_TYPE_DIFFERENCING) {
		linkage[0] = '{';
		vhdx_guid_to_text(&pg, linkage + 1, false);
		strcat(linkage, "}");
		kv[0] = (struct vhdx_kv){ "parent_linkage", linkage };
		kv[1] = (struct vhdx_kv){ "relative_path", ".\\parent.vhdx" };
		p.parent_locator = kv;
		p.parent_locator_count = 2;
	}
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	sparse_file_init(&im->f, 0);
	assert_int_equal(vhdx_image_write(&plan, &im->f.sink, scratch, SCRATCH_LEN), VHDX_OK);
	free(scratch);
	sparse_file_resize(&im->f, plan.file_size);
	im->vds = vds;
	im->bs = (uint32_t)MiB;
	im->lss = lss;
	im->bat_offset = plan.bat_offset;
	assert_true(img_count < 4);
	imgs[img_count++] = im;
}

static void img_free(struct img *im)
{
	sparse_file_free(&im->f);
	img_count = 0;
}

/* Block @b FULLY_PRESENT [2.5.1], holding @vdisk's bytes of that block. */
static void block_full(struct img *im, uint64_t b, const uint8_t *vdisk)
{
	uint64_t cr = ((uint64_t)1 << 23) * im->lss / im->bs;
	uint64_t fo = (im->f.size + MiB - 1) / MiB * MiB;
	uint64_t len = im->vds - b * im->bs < im->bs ? im->vds - b * im->bs : im->bs;

	sparse_file_resize(&im->f, fo + im->bs);
	sparse_file_put_le64(&im->f, im->bat_offset + 8 * (b + b / cr), fo | 6u);
	sparse_file_write(&im->f, fo, vdisk + b * im->bs, (size_t)len);
}

/* Block @b ZERO [2.5.1]: reads zeros whatever a parent holds. */
static void block_zero(struct img *im, uint64_t b)
{
	uint64_t cr = ((uint64_t)1 << 23) * im->lss / im->bs;

	sparse_file_put_le64(&im->f, im->bat_offset + 8 * (b + b / cr), 2u);
}

static enum vhdx_parent_open open_cb(void *ctx, const char *child_name, const char *key, const char *path,
				     enum vhdx_path_kind kind, struct vhdx_source *ret_src, char *name,
				     size_t name_len, char *why, size_t why_len)
{
	unsigned i;

	(void)ctx;
	(void)child_name;
	(void)key;
	(void)kind;
	snprintf(name, name_len, "%s", path);
	for (i = 0; i < img_count; i++) {
		if (!strcmp(imgs[i]->name, path + 2)) {
			*ret_src = imgs[i]->f.src;
			return VHDX_PARENT_OPENED;
		}
	}
	snprintf(why, why_len, "absent");
	return VHDX_PARENT_ABSENT;
}

static const struct vhdx_parent_ops ops = { .open = open_cb };

struct rchain {
	struct vhdx_chain c;
	struct vhdx_chain_level levels[4];
	struct vhdx_reader r;
	void *scratch;
};

static void rchain_open(struct rchain *rc, struct img *child)
{
	char why[VHDX_WHY_SIZE];

	memset(rc, 0, sizeof(*rc));
	rc->scratch = malloc(SCRATCH_LEN);
	assert_int_equal(vhdx_chain_open(&rc->c, rc->levels, 4, &child->f.src, child->name, &ops, rc->scratch,
					 SCRATCH_LEN, why, sizeof(why)),
			 VHDX_OK);
	assert_int_equal(rc->c.verdict, VHDX_CHAIN_COMPLETE);
	rc->r.chain = &rc->c;
	rc->r.size = child->vds;
	rc->r.scratch = rc->scratch;
	rc->r.scratch_len = SCRATCH_LEN;
}

static void rchain_close(struct rchain *rc)
{
	vhdx_chain_close(&rc->c, &ops);
	free(rc->scratch);
}

/* ---- raw disks ---- */

struct rraw {
	struct mem_source m;
	struct vhdx_reader r;
	uint8_t scratch[4096];
};

static void rraw_init(struct rraw *rr, const uint8_t *data, uint64_t len, uint64_t size)
{
	memset(rr, 0, sizeof(*rr));
	mem_source_init(&rr->m, data, len, size);
	rr->r.raw = &rr->m.src;
	rr->r.size = size;
	rr->r.scratch = rr->scratch;
	rr->r.scratch_len = sizeof(rr->scratch);
}

/* A raw_map that knows the whole source reads as zeros (a hole). */
static int all_hole(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret)
{
	(void)r;
	(void)offset;
	ret->kind = VHDX_EXTENT_ZERO;
	ret->length = len;
	return VHDX_OK;
}

/* Data everywhere but [ctx[0], ctx[1]), said to be a hole. */
static int one_hole(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret)
{
	const uint64_t *h = r->ctx;

	if (offset >= h[0] && offset < h[1]) {
		ret->kind = VHDX_EXTENT_ZERO;
		ret->length = h[1] - offset < len ? h[1] - offset : len;
	} else {
		ret->kind = VHDX_EXTENT_DATA;
		ret->length = offset < h[0] && h[0] - offset < len ? h[0] - offset : len;
	}
	return VHDX_OK;
}

/* i % 251 with no zero byte: stored bytes are visible */
static uint8_t *pattern(uint64_t len)
{
	uint8_t *p = malloc((size_t)len);
	uint64_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i % 251 + 1);
	return p;
}

static void expect(const struct vhdx_reader *a, const struct vhdx_reader *b, size_t buf_len, bool same,
		   uint64_t difference)
{
	struct vhdx_compare_result res;
	uint8_t *buf = aligned_alloc(4096, (buf_len + 4095) / 4096 * 4096);

	assert_int_equal(vhdx_compare(a, b, buf, buf_len, &res, NULL, NULL), VHDX_OK);
	assert_int_equal(res.same, same);
	if (!same)
		assert_int_equal(res.difference, difference);
	else
		assert_int_equal(res.compared, a->size > b->size ? a->size : b->size);
	/* the other way round, the same answer */
	assert_int_equal(vhdx_compare(b, a, buf, buf_len, &res, NULL, NULL), VHDX_OK);
	assert_int_equal(res.same, same);
	if (!same)
		assert_int_equal(res.difference, difference);
	free(buf);
}

/* ---- cases ---- */

/* Two raw disks, equal, then one byte changed at the first and the last
 * byte of a compare chunk (a 64 KiB buffer: 32 KiB per side) */
static void test_raw_chunk_edges(void **state)
{
	const uint64_t size = 1 * MiB;
	uint8_t *a = pattern(size), *b = pattern(size);
	static const uint64_t at[] = { 0, 32 * KiB - 1, 32 * KiB, 5 * 32 * KiB - 1, 5 * 32 * KiB, MiB - 1 };
	struct rraw ra, rb;
	size_t k;

	(void)state;
	rraw_init(&ra, a, size, size);
	rraw_init(&rb, b, size, size);
	expect(&ra.r, &rb.r, 64 * KiB, true, 0);
	for (k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		b[at[k]] ^= 0x40;
		expect(&ra.r, &rb.r, 64 * KiB, false, at[k]);
		b[at[k]] ^= 0x40;
	}
	/* two differences: the first one is reported */
	b[100 * KiB + 3] = 0;
	b[200 * KiB] = 0;
	expect(&ra.r, &rb.r, 64 * KiB, false, 100 * KiB + 3);
	expect(&ra.r, &rb.r, VHDX_COMPARE_BUF_MIN, false, 100 * KiB + 3);
	free(a);
	free(b);
}

/* Different sizes: the shorter compared as if zero-extended; sizes that
 * are not page multiples read to the end only (the bounce page) */
static void test_sizes_differ(void **state)
{
	const uint64_t size = 256 * KiB + 1000;
	uint8_t *a = pattern(size), *b = calloc(1, (size_t)(size + 64 * KiB));
	struct rraw ra, rb;

	(void)state;
	memcpy(b, a, (size_t)size);
	rraw_init(&ra, a, size, size);
	rraw_init(&rb, b, size + 64 * KiB, size + 64 * KiB);
	expect(&ra.r, &rb.r, 64 * KiB, true, 0);
	expect(&ra.r, &rb.r, VHDX_COMPARE_BUF_MIN, true, 0);
	b[size] = 1; /* first byte of the tail */
	expect(&ra.r, &rb.r, 64 * KiB, false, size);
	b[size] = 0;
	b[size + 64 * KiB - 1] = 9; /* last byte of the longer disk */
	expect(&ra.r, &rb.r, 64 * KiB, false, size + 64 * KiB - 1);
	b[size + 64 * KiB - 1] = 0;
	/* a zero-length disk against zeros, and against data */
	rraw_init(&ra, a, 0, 0);
	expect(&ra.r, &rb.r, 64 * KiB, false, 0);
	memset(b, 0, (size_t)size);
	expect(&ra.r, &rb.r, 64 * KiB, true, 0);
	free(a);
	free(b);
}

/* A VHDX (512 and 4096 sectors; blocks FULLY_PRESENT, ZERO, NOT_PRESENT)
 * against its raw disk; changes in data, in a ZERO extent of one side */
static void test_vhdx_vs_raw(void **state)
{
	static const uint32_t lsss[] = { 512, 4096 };
	const uint64_t vds = 8 * MiB + 8192; /* a short last block */
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		uint8_t *disk = calloc(1, (size_t)vds);
		uint8_t *data = pattern(vds);
		struct img im;
		struct rchain rc;
		struct rraw rr;

		img_make(&im, "child.vhdx", VHDX_TYPE_DYNAMIC, vds, lsss[k], 0x20, 0);
		/* blocks 1, 2, 5 and the last hold data; 3 is ZERO; the rest absent */
		memcpy(disk + 1 * MiB, data + 1 * MiB, 2 * MiB);
		memcpy(disk + 5 * MiB, data + 5 * MiB, MiB);
		memcpy(disk + 8 * MiB, data + 8 * MiB, 8192);
		block_full(&im, 1, disk);
		block_full(&im, 2, disk);
		block_full(&im, 5, disk);
		block_full(&im, 8, disk);
		block_zero(&im, 3);
		rchain_open(&rc, &im);
		rraw_init(&rr, disk, vds, vds);
		expect(&rc.r, &rr.r, 64 * KiB, true, 0);
		expect(&rc.r, &rr.r, 1 * MiB, true, 0);
		/* the raw disk with data where the VHDX has zeros: in an absent
		 * block, in the ZERO block, at its first and last byte */
		disk[0] = 1;
		expect(&rc.r, &rr.r, 64 * KiB, false, 0);
		disk[0] = 0;
		disk[3 * MiB + 777] = 1;
		expect(&rc.r, &rr.r, 64 * KiB, false, 3 * MiB + 777);
		disk[3 * MiB + 777] = 0;
		disk[4 * MiB - 1] = 1;
		expect(&rc.r, &rr.r, 64 * KiB, false, 4 * MiB - 1);
		disk[4 * MiB - 1] = 0;
		/* data that differs inside a present block, and its last byte */
		disk[5 * MiB + 4096 + 3] ^= 1;
		expect(&rc.r, &rr.r, 64 * KiB, false, 5 * MiB + 4096 + 3);
		disk[5 * MiB + 4096 + 3] ^= 1;
		disk[vds - 1] ^= 1;
		expect(&rc.r, &rr.r, 64 * KiB, false, vds - 1);
		disk[vds - 1] ^= 1;
		/* the VHDX holding zeros where the raw disk is a hole */
		memset(disk + 5 * MiB, 0, MiB);
		expect(&rc.r, &rr.r, 64 * KiB, false, 5 * MiB);
		memcpy(disk + 5 * MiB, data + 5 * MiB, MiB);
		/* a longer raw disk: zero tail, then one byte in it */
		{
			uint8_t *longer = calloc(1, (size_t)(vds + MiB));
			struct rraw rl;

			memcpy(longer, disk, (size_t)vds);
			rraw_init(&rl, longer, vds + MiB, vds + MiB);
			expect(&rc.r, &rl.r, 64 * KiB, true, 0);
			longer[vds + 4096] = 3;
			expect(&rc.r, &rl.r, 64 * KiB, false, vds + 4096);
			free(longer);
		}
		rchain_close(&rc);
		img_free(&im);
		free(disk);
		free(data);
	}
}

/* A child over its parent (NOT_PRESENT reads the parent, ZERO does not)
 * against the raw disk and against the parent alone */
static void test_chain_vs_raw(void **state)
{
	const uint64_t vds = 6 * MiB;
	uint8_t *pdata = pattern(vds), *cdata = pattern(vds), *disk = calloc(1, (size_t)vds);
	struct img parent, child;
	struct rchain rc, rp;
	struct rraw rr;
	uint64_t i;

	(void)state;
	for (i = 0; i < vds; i++)
		cdata[i] = (uint8_t)(cdata[i] ^ 0x80);
	img_make(&parent, "parent.vhdx", VHDX_TYPE_DYNAMIC, vds, 512, 0x40, 0);
	img_make(&child, "child.avhdx", VHDX_TYPE_DIFFERENCING, vds, 512, 0x50, 0x40);
	block_full(&parent, 0, pdata);
	block_full(&parent, 1, pdata);
	block_full(&parent, 2, pdata);
	block_full(&child, 1, cdata);
	block_zero(&child, 2);
	block_full(&child, 4, cdata);
	memcpy(disk, pdata, MiB);
	memcpy(disk + MiB, cdata + MiB, MiB);
	memcpy(disk + 4 * MiB, cdata + 4 * MiB, MiB);
	rchain_open(&rc, &child);
	assert_int_equal(rc.c.depth, 2);
	rraw_init(&rr, disk, vds, vds);
	expect(&rc.r, &rr.r, 128 * KiB, true, 0);
	disk[2 * MiB + 5] = 7; /* ZERO in the child, data in the parent */
	expect(&rc.r, &rr.r, 128 * KiB, false, 2 * MiB + 5);
	disk[2 * MiB + 5] = 0;
	disk[512] ^= 2; /* read from the parent */
	expect(&rc.r, &rr.r, 128 * KiB, false, 512);
	disk[512] ^= 2;
	/* child against parent: first difference at the child's block 1 */
	rchain_open(&rp, &parent);
	assert_int_equal(rp.c.depth, 1);
	expect(&rc.r, &rp.r, 128 * KiB, false, MiB);
	/* two readers may share one scratch buffer */
	rp.r.scratch = rc.scratch;
	expect(&rc.r, &rc.r, 128 * KiB, true, 0);
	expect(&rp.r, &rc.r, 128 * KiB, false, MiB);
	rp.r.scratch = rp.scratch;
	rchain_close(&rp);
	rchain_close(&rc);
	sparse_file_free(&parent.f);
	img_free(&child);
	free(pdata);
	free(cdata);
	free(disk);
}

/* Zeros in both sides are never read: two empty VHDX read only their BAT;
 * raw holes said by raw_map against ZERO extents cost no read */
static void test_zeros_not_read(void **state)
{
	const uint64_t vds = 64 * MiB;
	struct img a;
	struct rchain ra;
	struct rraw rr;
	uint64_t hole[2] = { MiB, 3 * MiB };
	uint8_t *disk = calloc(1, (size_t)(4 * MiB));

	(void)state;
	img_make(&a, "a.vhdx", VHDX_TYPE_DYNAMIC, vds, 512, 0x20, 0);
	rchain_open(&ra, &a);
	rraw_init(&rr, NULL, 0, vds);
	rr.r.raw_map = all_hole;
	expect(&ra.r, &rr.r, 1 * MiB, true, 0);
	assert_int_equal(rr.m.reads, 0);
	rchain_close(&ra);
	img_free(&a);
	/* a hole in the middle of data: only the data is read */
	rraw_init(&rr, disk, 4 * MiB, 4 * MiB);
	rr.r.raw_map = one_hole;
	rr.r.ctx = hole;
	{
		struct rraw rz;

		rraw_init(&rz, NULL, 0, 4 * MiB);
		rz.r.raw_map = all_hole;
		expect(&rr.r, &rz.r, 1 * MiB, true, 0);
		assert_int_equal(rz.m.reads, 0);
		assert_int_equal(rr.m.reads, 2 * 2 * (MiB / (512 * KiB))); /* both directions */
	}
	free(disk);
}

/* The reader alone: any offset and length; a raw source sees whole pages
 * only (mem_source asserts it), the tail of an odd size included */
static void test_reader_any_alignment(void **state)
{
	const uint64_t size = 64 * KiB + 1234;
	uint8_t *data = pattern(size), got[20000];
	static const uint64_t offs[] = { 0, 1, 511, 4095, 4096, 4097, 60000, 64 * KiB, 64 * KiB + 1233 };
	static const size_t lens[] = { 1, 2, 512, 4095, 4096, 4097, 8192, 12345, 20000 };
	struct rraw rr;
	struct vhdx_extent e;
	size_t i, j;

	(void)state;
	rraw_init(&rr, data, size, size);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			if (offs[i] + lens[j] > size) {
				assert_int_equal(vhdx_reader_read(&rr.r, offs[i], got, lens[j]), VHDX_ERR_RANGE);
				continue;
			}
			memset(got, 0, sizeof(got));
			assert_int_equal(vhdx_reader_read(&rr.r, offs[i], got, lens[j]), VHDX_OK);
			assert_memory_equal(got, data + offs[i], lens[j]);
		}
	}
	assert_int_equal(vhdx_reader_map(&rr.r, 100, 50, &e), VHDX_OK);
	assert_int_equal(e.kind, VHDX_EXTENT_DATA);
	assert_int_equal(e.length, 50);
	assert_int_equal(e.file_offset, 100);
	assert_int_equal(vhdx_reader_map(&rr.r, size, 1, &e), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_reader_map(&rr.r, 0, 0, &e), VHDX_ERR_RANGE);
	/* bad readers */
	rr.r.scratch_len = 4095;
	assert_int_equal(vhdx_reader_read(&rr.r, 0, got, 1), VHDX_ERR_INVAL);
	rr.r.scratch_len = 4096;
	rr.r.size = size + 1;
	assert_int_equal(vhdx_reader_read(&rr.r, 0, got, 1), VHDX_ERR_INVAL);
	free(data);
}

/* A failing read is returned with the side and the offset; a progress
 * callback that says stop stops; buffers too small are refused */
static int stop_after_two(void *ctx, uint64_t done, uint64_t total)
{
	int *calls = ctx;

	assert_true(done <= total);
	return ++*calls >= 2;
}

static void test_errors_and_progress(void **state)
{
	const uint64_t size = 1 * MiB;
	uint8_t *a = pattern(size), *buf = aligned_alloc(4096, 64 * KiB);
	struct rraw ra, rb;
	struct vhdx_compare_result res;
	int calls = 0;

	(void)state;
	rraw_init(&ra, a, size, size);
	rraw_init(&rb, a, size, size);
	rb.m.fail_at = 3; /* the third read of b: 64 KiB in */
	assert_int_equal(vhdx_compare(&ra.r, &rb.r, buf, 64 * KiB, &res, NULL, NULL), VHDX_ERR_IO);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.failed_offset, 64 * KiB);
	rb.m.fail_at = 0;
	ra.m.fail_at = ra.m.reads + 1;
	assert_int_equal(vhdx_compare(&ra.r, &rb.r, buf, 64 * KiB, &res, NULL, NULL), VHDX_ERR_IO);
	assert_int_equal(res.failed, 0);
	assert_int_equal(res.failed_offset, 0);
	ra.m.fail_at = 0;
	assert_int_equal(vhdx_compare(&ra.r, &rb.r, buf, 64 * KiB, &res, stop_after_two, &calls),
			 VHDX_ERR_ABORTED);
	assert_int_equal(calls, 2);
	assert_int_equal(vhdx_compare(&ra.r, &rb.r, buf, VHDX_COMPARE_BUF_MIN - 1, &res, NULL, NULL),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_compare(&ra.r, &rb.r, NULL, 64 * KiB, &res, NULL, NULL), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_compare(&ra.r, &rb.r, buf, 64 * KiB, NULL, NULL, NULL), VHDX_ERR_INVAL);
	rb.r.chain = (const struct vhdx_chain *)&rb; /* both a chain and raw */
	assert_int_equal(vhdx_compare(&ra.r, &rb.r, buf, 64 * KiB, &res, NULL, NULL), VHDX_ERR_INVAL);
	free(a);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_chunk_edges),
		cmocka_unit_test(test_sizes_differ),
		cmocka_unit_test(test_vhdx_vs_raw),
		cmocka_unit_test(test_chain_vs_raw),
		cmocka_unit_test(test_zeros_not_read),
		cmocka_unit_test(test_reader_any_alignment),
		cmocka_unit_test(test_errors_and_progress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
