/* SPDX-License-Identifier: MIT */
/*
 * test_encode.c - every encoder against golden bytes, and the NOSPACE
 * sweep: each length below the need fails without writing a byte.
 *
 * The golden region table, metadata table and items are the bytes
 * Windows 10 (10.0.18363) wrote for a 10 MiB dynamic disk with 32 MiB
 * blocks (../shared/samples/win10-dynamic-10M.vhdx, offsets 0x30000 and
 * 0x200000); the header is Windows' header 1 from the same file with our
 * sequence number (1) and its CRC recomputed by a bitwise CRC-32C.
 */
#include "test_util.h"

#define MiB (1024u * 1024u)

static const uint8_t win_region_table[80] = {
	0x72, 0x65, 0x67, 0x69, 0xAE, 0x8C, 0x6B, 0xC6, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42,
	0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08, 0x00, 0x00, 0x30, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x06, 0xA2, 0x7C, 0x8B, 0x90, 0x47, 0x9A, 0x4B, 0xB8, 0xFE, 0x57, 0x5F,
	0x05, 0x0F, 0x88, 0x6E, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00,
};

static const uint8_t win_meta_table[192] = {
	0x6D, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x00, 0x00, 0x05, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x37, 0x67, 0xA1, 0xCA,
	0x36, 0xFA, 0x43, 0x4D, 0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B,
	0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x24, 0x42, 0xA5, 0x2F, 0x1B, 0xCD, 0x76, 0x48,
	0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8, 0x08, 0x00, 0x01, 0x00,
	0x08, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x1D, 0xBF, 0x41, 0x81, 0x6F, 0xA9, 0x09, 0x47, 0xBA, 0x47, 0xF2, 0x33,
	0xA8, 0xFA, 0xAB, 0x5F, 0x10, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00,
	0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC7, 0x48, 0xA3, 0xCD,
	0x5D, 0x44, 0x71, 0x44, 0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56,
	0x14, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xAB, 0x12, 0xCA, 0xBE, 0xE6, 0xB2, 0x23, 0x45,
	0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46, 0x18, 0x00, 0x01, 0x00,
	0x10, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t win_meta_items[40] = {
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xA0, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
	0xF0, 0x15, 0x80, 0x78, 0x93, 0x5E, 0xD2, 0x4B, 0xA5, 0xDE, 0xB0, 0xCD,
	0x84, 0x59, 0xDB, 0x11,
};

/* Windows' header 1, first 80 bytes (sequence 14, its own checksum). */
static const uint8_t win_header1[80] = {
	0x68, 0x65, 0x61, 0x64, 0x18, 0xf4, 0x5e, 0x20, 0x0e, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x38, 0x6e, 0xfd, 0xaf, 0x57, 0x6e, 0x64, 0x47,
	0x8c, 0xaa, 0x72, 0x18, 0x66, 0x9a, 0xff, 0xba, 0xe1, 0x9a, 0xe0, 0x28,
	0x94, 0xab, 0x15, 0x48, 0xa1, 0x55, 0xf1, 0x43, 0xe2, 0xd0, 0x0a, 0x3f,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static struct vhdx_plan windows_plan(void)
{
	struct vhdx_params p = test_params(VHDX_TYPE_DYNAMIC, 10 * MiB);
	struct vhdx_plan plan;

	memcpy(p.file_write_guid.bytes, win_header1 + 16, 16);
	memcpy(p.data_write_guid.bytes, win_header1 + 32, 16);
	memcpy(p.page83.bytes, win_meta_items + 24, 16);
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	return plan;
}

typedef int (*encode_fn)(const struct vhdx_plan *plan, void *buf, size_t len);

/* libfdt-style sweep: NOSPACE for every short length, with the buffer
 * untouched; success at exactly the size, with nothing written past it. */
static void nospace_sweep(const struct vhdx_plan *plan, encode_fn encode, size_t need)
{
	uint8_t *buf = malloc(need + 64);
	size_t len, i;

	assert_non_null(buf);
	for (len = 0; len < need; len++) {
		memset(buf, 0xEE, need + 64);
		assert_int_equal(encode(plan, buf, len), VHDX_ERR_NOSPACE);
		for (i = 0; i < need + 64; i++)
			assert_int_equal(buf[i], 0xEE);
	}
	memset(buf, 0xEE, need + 64);
	assert_int_equal(encode(plan, buf, need), VHDX_OK);
	for (i = need; i < need + 64; i++)
		assert_int_equal(buf[i], 0xEE);
	free(buf);
}

static int header1_encode(const struct vhdx_plan *plan, void *buf, size_t len)
{
	return vhdx_header_encode(plan, 0, buf, len);
}

static void test_region_table_matches_windows(void **state)
{
	struct vhdx_plan plan = windows_plan();
	uint8_t buf[80], full[65536];

	(void)state;
	assert_int_equal(vhdx_region_table_size(&plan), 80);
	assert_int_equal(vhdx_region_table_encode(&plan, buf, sizeof(buf)), VHDX_OK);
	assert_memory_equal(buf, win_region_table, 80);
	/* the checksum covers the whole 64 KiB with the field zero */
	memset(full, 0, sizeof(full));
	memcpy(full, buf, 80);
	memset(full + 4, 0, 4);
	assert_int_equal(le32(buf + 4), ref_crc32c(full, sizeof(full)));
	nospace_sweep(&plan, vhdx_region_table_encode, 80);
}

static void test_meta_matches_windows(void **state)
{
	struct vhdx_plan plan = windows_plan();
	uint8_t buf[192];

	(void)state;
	assert_int_equal(vhdx_meta_table_size(&plan), 192);
	assert_int_equal(vhdx_meta_table_encode(&plan, buf, sizeof(buf)), VHDX_OK);
	assert_memory_equal(buf, win_meta_table, 192);
	assert_int_equal(vhdx_meta_items_size(&plan), 40);
	assert_int_equal(vhdx_meta_items_encode(&plan, buf, 40), VHDX_OK);
	assert_memory_equal(buf, win_meta_items, 40);
	nospace_sweep(&plan, vhdx_meta_table_encode, 192);
	nospace_sweep(&plan, vhdx_meta_items_encode, 40);
}

static void test_header_matches_windows(void **state)
{
	struct vhdx_plan plan = windows_plan();
	uint8_t buf[4096], expect[4096];

	(void)state;
	memset(expect, 0, sizeof(expect));
	memcpy(expect, win_header1, 80);
	expect[8] = 1; /* our sequence number */
	memset(expect + 4, 0, 4);
	set_le32(expect + 4, ref_crc32c(expect, sizeof(expect)));
	assert_int_equal(vhdx_header_encode(&plan, 0, buf, sizeof(buf)), VHDX_OK);
	assert_memory_equal(buf, expect, sizeof(expect));
	/* header 2: sequence 2, otherwise the same fields */
	assert_int_equal(vhdx_header_encode(&plan, 1, buf, sizeof(buf)), VHDX_OK);
	assert_int_equal(le64(buf + 8), 2);
	assert_memory_equal(buf + 16, expect + 16, 4096 - 16);
	memset(buf + 4, 0, 4);
	assert_int_not_equal(ref_crc32c(buf, 4096), 0);
	assert_int_equal(vhdx_header_encode(&plan, 2, buf, sizeof(buf)), VHDX_ERR_INVAL);
	nospace_sweep(&plan, header1_encode, 4096);
}

static void test_file_id(void **state)
{
	static const uint8_t expect[] = {
		'v', 'h', 'd', 'x', 'f', 'i', 'l', 'e', 'v', 0, 'h', 0, 'd', 0, 'x', 0, ' ', 0,
		't', 0, 'e', 0, 's', 0, 't', 0, 0, 0,
	};
	struct vhdx_params p = test_params(VHDX_TYPE_DYNAMIC, MiB);
	struct vhdx_plan plan;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	assert_int_equal(vhdx_file_id_size(&plan), sizeof(expect));
	assert_int_equal(vhdx_file_id_encode(&plan, buf, sizeof(buf)), VHDX_OK);
	assert_memory_equal(buf, expect, sizeof(expect));
	nospace_sweep(&plan, vhdx_file_id_encode, sizeof(expect));
}

static void test_file_id_surrogates(void **state)
{
	/* U+00E9 and U+1F600 (a surrogate pair D83D DE00) */
	static const uint8_t expect[] = {
		'v', 'h', 'd', 'x', 'f', 'i', 'l', 'e', 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE, 0, 0,
	};
	struct vhdx_params p = test_params(VHDX_TYPE_DYNAMIC, MiB);
	struct vhdx_plan plan;
	uint8_t buf[64];

	(void)state;
	p.creator = "\xC3\xA9\xF0\x9F\x98\x80";
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	assert_int_equal(vhdx_file_id_encode(&plan, buf, sizeof(buf)), VHDX_OK);
	assert_memory_equal(buf, expect, sizeof(expect));
}

static void test_parent_locator_layout(void **state)
{
	static const struct vhdx_kv kv[] = {
		{ "parent_linkage", "{ab}" },
		{ "relative_path", ".\\p" },
	};
	static const uint8_t expect[] = {
		/* header: locator type GUID, reserved, count 2 */
		0xB7, 0xEF, 0x4A, 0xB0, 0x9E, 0xD1, 0x81, 0x4A, 0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44,
		0x59, 0x13, 0, 0, 2, 0,
		/* entries: key off, value off, key len, value len */
		44, 0, 0, 0, 72, 0, 0, 0, 28, 0, 8, 0,
		80, 0, 0, 0, 106, 0, 0, 0, 26, 0, 6, 0,
		/* strings, key then value */
		'p', 0, 'a', 0, 'r', 0, 'e', 0, 'n', 0, 't', 0, '_', 0, 'l', 0, 'i', 0, 'n', 0, 'k', 0,
		'a', 0, 'g', 0, 'e', 0, '{', 0, 'a', 0, 'b', 0, '}', 0,
		'r', 0, 'e', 0, 'l', 0, 'a', 0, 't', 0, 'i', 0, 'v', 0, 'e', 0, '_', 0, 'p', 0, 'a', 0,
		't', 0, 'h', 0, '.', 0, '\\', 0, 'p', 0,
	};
	struct vhdx_params p = test_params(VHDX_TYPE_DIFFERENCING, 10 * MiB);
	struct vhdx_plan plan;
	uint8_t buf[256], table[224];

	(void)state;
	p.parent_locator = kv;
	p.parent_locator_count = 2;
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	assert_int_equal(plan.locator_size, sizeof(expect));
	assert_int_equal(vhdx_meta_items_size(&plan), 40 + sizeof(expect));
	assert_int_equal(vhdx_meta_items_encode(&plan, buf, sizeof(buf)), VHDX_OK);
	assert_memory_equal(buf + 40, expect, sizeof(expect));
	assert_int_equal(le32(buf), 2 * MiB);  /* differencing default block size */
	assert_int_equal(le32(buf + 4), 2);     /* HasParent */
	/* table entry 6: parent locator at 0x10028, IsRequired only */
	assert_int_equal(vhdx_meta_table_size(&plan), 224);
	assert_int_equal(vhdx_meta_table_encode(&plan, table, sizeof(table)), VHDX_OK);
	assert_int_equal(le32(table + 10) & 0xFFFF, 6);
	assert_int_equal(le32(table + 192 + 16), 0x10028);
	assert_int_equal(le32(table + 192 + 20), sizeof(expect));
	assert_int_equal(le32(table + 192 + 24), 4);
	nospace_sweep(&plan, vhdx_meta_items_encode, 40 + sizeof(expect));
}

static void test_fixed_flags(void **state)
{
	struct vhdx_params p = test_params(VHDX_TYPE_FIXED, 10 * MiB);
	struct vhdx_plan plan;
	uint8_t buf[40];

	(void)state;
	p.block_size = 2 * MiB;
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	assert_int_equal(vhdx_meta_items_encode(&plan, buf, sizeof(buf)), VHDX_OK);
	assert_int_equal(le32(buf), 2 * MiB);
	assert_int_equal(le32(buf + 4), 1); /* LeaveBlockAllocated */
}

/* BAT windows agree with the per-entry function at every offset, across
 * chunk boundaries, for each type. */
static void check_bat(enum vhdx_type type, uint64_t blocks, uint32_t bs, uint32_t lss, bool zero_blocks)
{
	struct vhdx_params p = test_params(type, (uint64_t)blocks * bs);
	static const struct vhdx_kv kv[] = { { "parent_linkage", "{x}" }, { "relative_path", "p" } };
	struct vhdx_plan plan;
	uint64_t i, start, n, cr, fixed_seen = 0;
	uint8_t buf[8 * 37];

	p.block_size = bs;
	p.logical_sector_size = lss;
	p.zero_blocks = zero_blocks;
	if (type == VHDX_TYPE_DIFFERENCING) {
		p.parent_locator = kv;
		p.parent_locator_count = 2;
	}
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	cr = plan.geom.chunk_ratio;
	n = plan.geom.bitmap_blocks * (cr + 1);
	for (i = 0; i < n; i++) {
		uint64_t e = vhdx_bat_entry(&plan, i);
		uint64_t chunk = i / (cr + 1), pos = i % (cr + 1), block = chunk * cr + pos;

		if (pos == cr || block >= blocks) {
			assert_int_equal(e, 0);
			continue;
		}
		assert_int_equal(e & 0xFFFF8, 0); /* reserved bits */
		if (type == VHDX_TYPE_FIXED) {
			assert_int_equal(e & 7, 6);
			assert_int_equal(e >> 20 << 20, plan.data_offset + block * bs);
			fixed_seen++;
		} else {
			assert_int_equal(e, zero_blocks ? 2 : 0);
		}
	}
	if (type == VHDX_TYPE_FIXED)
		assert_int_equal(fixed_seen, blocks);
	/* windows starting anywhere, including on bitmap entries */
	for (start = 0; start < n; start += 13) {
		size_t cnt = sizeof(buf) / 8, k;

		assert_int_equal(vhdx_bat_encode(&plan, start, buf, sizeof(buf)), VHDX_OK);
		for (k = 0; k < cnt; k++)
			assert_int_equal(le64(buf + 8 * k), vhdx_bat_entry(&plan, start + k));
	}
	assert_int_equal(vhdx_bat_encode(&plan, 0, buf, 7), VHDX_ERR_INVAL);
}

static void test_bat_interleave(void **state)
{
	/* 256 MiB blocks at 512: CR 16; 32 MiB at 512: CR 128 */
	static const uint64_t counts[] = { 15, 16, 17, 33 };
	size_t i;
	int t;

	(void)state;
	for (i = 0; i < 4; i++)
		for (t = 0; t < 3; t++)
			check_bat((enum vhdx_type)t, counts[i], 256 * MiB, 512, false);
	check_bat(VHDX_TYPE_DYNAMIC, 257, 32 * MiB, 512, true);
	check_bat(VHDX_TYPE_FIXED, 129, 32 * MiB, 512, false);
	check_bat(VHDX_TYPE_FIXED, 127, 256 * MiB, 4096, false);
}

static void test_bat_64tib_last_entries(void **state)
{
	static const uint32_t bss[] = { 1 * MiB, 256 * MiB };
	static const uint32_t lsss[] = { 512, 4096 };
	size_t b, l;

	(void)state;
	for (b = 0; b < 2; b++) {
		for (l = 0; l < 2; l++) {
			struct vhdx_params p = test_params(VHDX_TYPE_FIXED, 64ull << 40);
			struct vhdx_plan plan;
			uint64_t last_block, idx, e;
			uint8_t buf[16];

			p.block_size = bss[b];
			p.logical_sector_size = lsss[l];
			assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
			last_block = plan.geom.payload_blocks - 1;
			idx = vhdx_geometry_block_index(&plan.geom, last_block);
			assert_int_equal(idx, plan.geom.bat_entries - 1);
			e = vhdx_bat_entry(&plan, idx);
			assert_int_equal(e, (plan.data_offset + last_block * bss[b]) | 6);
			assert_int_equal((e >> 20 << 20) + bss[b], plan.file_size);
			assert_int_equal(vhdx_bat_encode(&plan, idx, buf, 16), VHDX_OK);
			assert_int_equal(le64(buf), e);
			assert_int_equal(le64(buf + 8), 0); /* the last chunk's bitmap */
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_table_matches_windows),
		cmocka_unit_test(test_meta_matches_windows),
		cmocka_unit_test(test_header_matches_windows),
		cmocka_unit_test(test_file_id),
		cmocka_unit_test(test_file_id_surrogates),
		cmocka_unit_test(test_parent_locator_layout),
		cmocka_unit_test(test_fixed_flags),
		cmocka_unit_test(test_bat_interleave),
		cmocka_unit_test(test_bat_64tib_last_entries),
	};

	return cmocka_run_group_tests_name("encode", tests, NULL, NULL);
}
