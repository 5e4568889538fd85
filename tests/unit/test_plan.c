/* SPDX-License-Identifier: MIT */
/*
 * test_plan.c - validation rules and layout math of vhdx_plan_init,
 * checked against the formulas of VHDX-FORMAT.md 2.5 computed here with
 * plain host division, at and around chunk boundaries and at 64 TiB.
 */
#include "test_util.h"

#define MiB (1024ull * 1024)
#define TiB (1024ull * 1024 * MiB)

static void expect_layout(enum vhdx_type type, uint64_t vds, uint32_t bs, uint32_t lss)
{
	struct vhdx_params p = test_params(type, vds);
	struct vhdx_plan plan;
	uint64_t cr, P, S, entries, bat_len, data;

	static const struct vhdx_kv locator[] = {
		{ "parent_linkage", "{01234567-89ab-cdef-0123-456789abcdef}" },
		{ "relative_path", ".\\parent.vhdx" },
	};

	p.block_size = bs;
	p.logical_sector_size = lss;
	if (type == VHDX_TYPE_DIFFERENCING) {
		p.parent_locator = locator;
		p.parent_locator_count = 2;
	}
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	cr = (8388608ull * lss) / bs;
	P = (vds + bs - 1) / bs;
	S = (P + cr - 1) / cr;
	entries = type == VHDX_TYPE_DIFFERENCING ? S * (cr + 1) : P + (P - 1) / cr;
	bat_len = (S * (cr + 1) * 8 + MiB - 1) / MiB * MiB;
	data = 3 * MiB + bat_len;
	assert_int_equal(plan.geom.chunk_ratio, cr);
	assert_int_equal((uint64_t)1 << plan.geom.chunk_shift, cr);
	assert_int_equal((uint64_t)1 << plan.geom.block_shift, bs);
	assert_int_equal(plan.geom.payload_blocks, P);
	assert_int_equal(plan.geom.bitmap_blocks, S);
	assert_int_equal(plan.geom.bat_entries, entries);
	assert_int_equal(plan.geom.bat_bytes, S * (cr + 1) * 8);
	assert_int_equal(plan.geom.virtual_size, vds);
	assert_int_equal(plan.geom.block_size, bs);
	assert_int_equal(plan.geom.logical_sector_size, lss);
	assert_int_equal(plan.geom.has_parent, type == VHDX_TYPE_DIFFERENCING);
	assert_int_equal(plan.log_offset, 1 * MiB);
	assert_int_equal(plan.log_length, 1 * MiB);
	assert_int_equal(plan.meta_offset, 2 * MiB);
	assert_int_equal(plan.meta_length, 1 * MiB);
	assert_int_equal(plan.bat_offset, 3 * MiB);
	assert_int_equal(plan.bat_length, bat_len);
	assert_int_equal(plan.data_offset, data);
	assert_int_equal(plan.file_size, type == VHDX_TYPE_FIXED ? data + P * bs : data);
	/* every entry that carries state lies inside the BAT region */
	assert_true(plan.geom.bat_entries * 8 <= plan.bat_length);
	/* the last block's entry index is the last entry of a fixed/dynamic BAT */
	if (type != VHDX_TYPE_DIFFERENCING)
		assert_int_equal(vhdx_geometry_block_index(&plan.geom, P - 1), entries - 1);
	assert_int_equal(vhdx_geometry_bitmap_index(&plan.geom, S - 1), S * (cr + 1) - 1);
	/* index of a block: b + floor(b / CR), at and around the chunk ends */
	{
		uint64_t b[] = { 0, cr - 1, cr, cr + 1, P - 1 };
		size_t i;

		for (i = 0; i < 5; i++)
			assert_int_equal(vhdx_geometry_block_index(&plan.geom, b[i]), b[i] + b[i] / cr);
		assert_int_equal(vhdx_geometry_bitmap_index(&plan.geom, 0), cr);
	}
}

static void test_layout_chunk_boundaries(void **state)
{
	static const uint32_t block_sizes[] = { 1 * MiB, 2 * MiB, 32 * MiB, 256 * MiB };
	static const uint32_t sectors[] = { 512, 4096 };
	size_t b, s;
	int t;

	(void)state;
	for (b = 0; b < 4; b++) {
		for (s = 0; s < 2; s++) {
			uint64_t bs = block_sizes[b], cr = 8388608ull * sectors[s] / bs;
			uint64_t counts[] = { 1, cr - 1, cr, cr + 1, 2 * cr + 1 };
			size_t i;

			for (t = 0; t < 3; t++) {
				for (i = 0; i < 5; i++) {
					uint64_t vds = counts[i] * bs;

					if (!counts[i] || vds > 64 * TiB)
						continue;
					expect_layout((enum vhdx_type)t, vds, (uint32_t)bs, sectors[s]);
					/* a partial last block */
					expect_layout((enum vhdx_type)t, vds - sectors[s], (uint32_t)bs,
						      sectors[s]);
				}
				expect_layout((enum vhdx_type)t, 64 * TiB, (uint32_t)bs, sectors[s]);
			}
		}
	}
}

static void test_64tib_1mib_bat_is_513mib(void **state)
{
	struct vhdx_params p = test_params(VHDX_TYPE_DYNAMIC, 64 * TiB);
	struct vhdx_plan plan;

	(void)state;
	p.block_size = 1 * MiB;
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	assert_int_equal(plan.bat_length, 513 * MiB); /* VHDX-FORMAT.md 2.5 */
	assert_int_equal(plan.geom.chunk_ratio, 4096);
}

/* The one geometry: what it refuses, and its fields for a differencing
 * disk against a dynamic one of the same size. */
static void test_geometry_init(void **state)
{
	struct vhdx_geometry g, d;

	(void)state;
	memset(&g, 0x5A, sizeof(g));
	assert_int_equal(vhdx_geometry_init(&g, MiB, 3 * MiB, 512, false), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_geometry_init(&g, MiB, 512 * 1024, 512, false), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_geometry_init(&g, MiB, 512 * MiB, 512, false), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_geometry_init(&g, MiB, MiB, 1024, false), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_geometry_init(&g, 0, MiB, 512, false), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_geometry_init(&g, 64 * TiB + 4096, MiB, 4096, false), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_geometry_init(&g, MiB + 512, MiB, 4096, false), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_geometry_init(NULL, MiB, MiB, 512, false), VHDX_ERR_INVAL);
	assert_int_equal(((uint8_t *)&g)[0], 0x5A); /* untouched on failure */

	/* 4097 MiB at 1 MiB/512: CR 4096, P 4097, S 2 */
	assert_int_equal(vhdx_geometry_init(&g, 4097 * MiB, MiB, 512, false), VHDX_OK);
	assert_int_equal(vhdx_geometry_init(&d, 4097 * MiB, MiB, 512, true), VHDX_OK);
	assert_int_equal(g.chunk_ratio, 4096);
	assert_int_equal(g.chunk_shift, 12);
	assert_int_equal(g.block_shift, 20);
	assert_int_equal(g.payload_blocks, 4097);
	assert_int_equal(g.bitmap_blocks, 2);
	assert_int_equal(g.bat_entries, 4097 + 1);     /* the last entry is block 4096's */
	assert_int_equal(d.bat_entries, 2 * 4097);     /* both chunks' bitmaps */
	assert_int_equal(g.bat_bytes, d.bat_bytes);
	assert_int_equal(g.bat_bytes, 2 * 4097 * 8);
	assert_false(g.has_parent);
	assert_true(d.has_parent);
	assert_int_equal(vhdx_geometry_block_index(&g, 4095), 4095);
	assert_int_equal(vhdx_geometry_block_index(&g, 4096), 4097);
	assert_int_equal(vhdx_geometry_bitmap_index(&g, 0), 4096);
	assert_int_equal(vhdx_geometry_bitmap_index(&g, 1), 8193);
	/* 1 MiB at 256 MiB/512: CR 16, one block */
	assert_int_equal(vhdx_geometry_init(&g, MiB, 256 * MiB, 512, false), VHDX_OK);
	assert_int_equal(g.chunk_ratio, 16);
	assert_int_equal(g.payload_blocks, 1);
	assert_int_equal(g.bat_entries, 1);
	assert_int_equal(g.bat_bytes, 17 * 8);
	/* 1 MiB at 1 MiB/4096: CR 32768 */
	assert_int_equal(vhdx_geometry_init(&g, MiB, MiB, 4096, false), VHDX_OK);
	assert_int_equal(g.chunk_ratio, 32768);
}

static void test_defaults(void **state)
{
	struct vhdx_params p = test_params(VHDX_TYPE_DYNAMIC, 1 << 30);
	struct vhdx_plan plan;

	(void)state;
	p.creator = NULL;
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	assert_int_equal(plan.params.block_size, 32 * MiB);
	assert_int_equal(plan.params.logical_sector_size, 512);
	assert_int_equal(plan.params.physical_sector_size, 4096);
	assert_int_equal(plan.params.log_size, 1 * MiB);
	assert_string_equal(plan.params.creator, "vhdx " VHDX_VERSION);
	assert_int_equal(plan.meta_entry_count, 5);
	assert_int_equal(plan.meta_items_size, 40);
}

struct bad_case {
	const char *what;
	void (*mutate)(struct vhdx_params *p);
	int err;
	const char *rule; /* a fragment the reason must contain */
};

static void bs_3m(struct vhdx_params *p) { p->block_size = 3 * MiB; }
static void bs_512k(struct vhdx_params *p) { p->block_size = 512 * 1024; }
static void bs_512m(struct vhdx_params *p) { p->block_size = 512 * MiB; }
static void lss_1024(struct vhdx_params *p) { p->logical_sector_size = 1024; }
static void pss_2048(struct vhdx_params *p) { p->physical_sector_size = 2048; }
static void log_odd(struct vhdx_params *p) { p->log_size = 1536 * 1024; }
static void vds_zero(struct vhdx_params *p) { p->virtual_size = 0; }
static void vds_big(struct vhdx_params *p) { p->virtual_size = 64 * TiB + 512; }
static void vds_odd(struct vhdx_params *p) { p->virtual_size = MiB + 1; }
static void vds_odd4k(struct vhdx_params *p) { p->logical_sector_size = 4096; p->virtual_size = MiB + 512; }
static void type_bad(struct vhdx_params *p) { p->type = (enum vhdx_type)7; }
static void zero_fixed(struct vhdx_params *p) { p->type = VHDX_TYPE_FIXED; p->zero_blocks = true; }
static void leave_dyn(struct vhdx_params *p) { p->leave_payload = true; }
static void creator_long(struct vhdx_params *p)
{
	static char s[300];

	memset(s, 'x', 256);
	s[256] = 0;
	p->creator = s;
}
static void creator_utf8(struct vhdx_params *p) { p->creator = "bad \xC3\x28 utf8"; }
static void creator_overlong(struct vhdx_params *p) { p->creator = "\xC0\xAF"; }
static void diff_no_locator(struct vhdx_params *p) { p->type = VHDX_TYPE_DIFFERENCING; }
static void diff_no_linkage(struct vhdx_params *p)
{
	static const struct vhdx_kv kv[] = { { "relative_path", ".\\a.vhdx" } };

	p->type = VHDX_TYPE_DIFFERENCING;
	p->parent_locator = kv;
	p->parent_locator_count = 1;
}
static void diff_no_path(struct vhdx_params *p)
{
	static const struct vhdx_kv kv[] = { { "parent_linkage", "{00000000-0000-0000-0000-000000000000}" } };

	p->type = VHDX_TYPE_DIFFERENCING;
	p->parent_locator = kv;
	p->parent_locator_count = 1;
}
static void diff_dup(struct vhdx_params *p)
{
	static const struct vhdx_kv kv[] = {
		{ "parent_linkage", "{x}" }, { "relative_path", "a" }, { "relative_path", "b" } };

	p->type = VHDX_TYPE_DIFFERENCING;
	p->parent_locator = kv;
	p->parent_locator_count = 3;
}
static void dyn_with_locator(struct vhdx_params *p)
{
	static const struct vhdx_kv kv[] = { { "parent_linkage", "{x}" }, { "relative_path", "a" } };

	p->parent_locator = kv;
	p->parent_locator_count = 2;
}

static void test_bad_parameters(void **state)
{
	static const struct bad_case cases[] = {
		{ "block 3 MiB", bs_3m, VHDX_ERR_INVAL, "power of two" },
		{ "block 512 KiB", bs_512k, VHDX_ERR_INVAL, "1 MiB to 256 MiB" },
		{ "block 512 MiB", bs_512m, VHDX_ERR_INVAL, "1 MiB to 256 MiB" },
		{ "lss 1024", lss_1024, VHDX_ERR_INVAL, "logical sector size" },
		{ "pss 2048", pss_2048, VHDX_ERR_INVAL, "physical sector size" },
		{ "log 1.5 MiB", log_odd, VHDX_ERR_INVAL, "multiple of 1 MiB" },
		{ "size 0", vds_zero, VHDX_ERR_RANGE, "at least one logical sector" },
		{ "size > 64 TiB", vds_big, VHDX_ERR_RANGE, "64 TiB" },
		{ "size % 512", vds_odd, VHDX_ERR_INVAL, "remainder 1" },
		{ "size % 4096", vds_odd4k, VHDX_ERR_INVAL, "remainder 512" },
		{ "type", type_bad, VHDX_ERR_INVAL, "type" },
		{ "zero blocks fixed", zero_fixed, VHDX_ERR_INVAL, "dynamic images only" },
		{ "no-zero dynamic", leave_dyn, VHDX_ERR_INVAL, "fixed images only" },
		{ "creator 256 units", creator_long, VHDX_ERR_RANGE, "255" },
		{ "creator bad UTF-8", creator_utf8, VHDX_ERR_INVAL, "UTF-8" },
		{ "creator overlong", creator_overlong, VHDX_ERR_INVAL, "UTF-8" },
		{ "diff no locator", diff_no_locator, VHDX_ERR_INVAL, "parent locator" },
		{ "diff no linkage", diff_no_linkage, VHDX_ERR_INVAL, "parent_linkage" },
		{ "diff no path", diff_no_path, VHDX_ERR_INVAL, "relative_path" },
		{ "diff duplicate key", diff_dup, VHDX_ERR_INVAL, "duplicate" },
		{ "dynamic with locator", dyn_with_locator, VHDX_ERR_INVAL, "differencing" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vhdx_params p = test_params(VHDX_TYPE_DYNAMIC, 1 << 30);
		struct vhdx_plan plan;
		char why[200];

		memset(&plan, 0x5A, sizeof(plan));
		cases[i].mutate(&p);
		assert_int_equal(vhdx_plan_init(&plan, &p, why, sizeof(why)), cases[i].err);
		if (!strstr(why, cases[i].rule))
			fail_msg("%s: reason '%s' lacks '%s'", cases[i].what, why, cases[i].rule);
		/* ret_ untouched on failure */
		assert_int_equal(((uint8_t *)&plan)[0], 0x5A);
	}
}

static void test_creator_255_units_ok(void **state)
{
	static char s[300];
	struct vhdx_params p = test_params(VHDX_TYPE_DYNAMIC, MiB);
	struct vhdx_plan plan;

	(void)state;
	memset(s, 'x', 253);
	memcpy(s + 253, "\xF0\x9F\x98\x80", 5); /* one code point, two UTF-16 units */
	p.creator = s;
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	assert_int_equal(plan.creator_units, 255);
}

static void test_why_truncates(void **state)
{
	struct vhdx_params p = test_params(VHDX_TYPE_DYNAMIC, 1 << 30);
	struct vhdx_plan plan;
	char why[8];

	(void)state;
	p.block_size = 3 * MiB;
	memset(why, 0x77, sizeof(why));
	assert_int_equal(vhdx_plan_init(&plan, &p, why, 5), VHDX_ERR_INVAL);
	assert_int_equal(why[4], '\0');
	assert_int_equal((uint8_t)why[5], 0x77);
}

static void test_largest_fixed(void **state)
{
	struct vhdx_params p = test_params(VHDX_TYPE_FIXED, 0);
	struct vhdx_plan plan, next;
	char why[200];
	uint64_t caps[] = { 5 * MiB, 100 * MiB + 4096, 1ull << 40, 64 * TiB + 600 * MiB };
	size_t i;

	(void)state;
	p.block_size = 1 * MiB;
	for (i = 0; i < 4; i++) {
		assert_int_equal(vhdx_plan_largest_fixed(&plan, &p, caps[i], why, sizeof(why)), VHDX_OK);
		assert_true(plan.file_size <= caps[i]);
		assert_int_equal(plan.params.type, VHDX_TYPE_FIXED);
		if (plan.params.virtual_size < 64 * TiB) {
			struct vhdx_params q = plan.params;

			q.virtual_size += MiB;
			assert_int_equal(vhdx_plan_init(&next, &q, NULL, 0), VHDX_OK);
			assert_true(next.file_size > caps[i]);
		}
	}
	assert_int_equal(vhdx_plan_largest_fixed(&plan, &p, 4 * MiB, why, sizeof(why)), VHDX_ERR_DEVFULL);
	assert_non_null(strstr(why, "too small"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_chunk_boundaries),
		cmocka_unit_test(test_64tib_1mib_bat_is_513mib),
		cmocka_unit_test(test_geometry_init),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_parameters),
		cmocka_unit_test(test_creator_255_units_ok),
		cmocka_unit_test(test_why_truncates),
		cmocka_unit_test(test_largest_fixed),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
