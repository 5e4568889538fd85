/* SPDX-License-Identifier: MIT */
/*
 * test_image.c - whole images through a RAM sink that held old data:
 * every byte defined, the crash-safe order, the same bytes for any scratch
 * size and with or without the sink's zero(), clean failure at every
 * write, flush and progress call, and golden fingerprints.
 */
#include <stdio.h>

#include "mem_sink.h"
#include "test_util.h"

#define MiB (1024ull * 1024)

struct image_case {
	const char *name;
	enum vhdx_type type;
	uint64_t size;
	uint32_t block_size, lss, pss;
	bool zero_blocks;
	uint32_t golden_crc; /* CRC-32C of the whole image (see test_golden) */
};

static const struct vhdx_kv locator[] = {
	{ "parent_linkage", "{20212223-2425-2627-2829-2a2b2c2d2e2f}" },
	{ "relative_path", ".\\parent.vhdx" },
	{ "absolute_win32_path", "C:\\vms\\parent.vhdx" },
};

static const struct image_case cases[] = {
	{ "dynamic 1 GiB default", VHDX_TYPE_DYNAMIC, 1ull << 30, 0, 0, 0, false, 0xa32a7635 },
	{ "dynamic 4097 MiB 1M zero", VHDX_TYPE_DYNAMIC, 4097 * MiB, 1 * MiB, 512, 512, true, 0x86e74db3 },
	{ "fixed 8 MiB 1M 4Kn", VHDX_TYPE_FIXED, 8 * MiB, 1 * MiB, 4096, 4096, false, 0x53b2ac31 },
	{ "fixed 10 MiB - 512 2M", VHDX_TYPE_FIXED, 10 * MiB - 512, 2 * MiB, 512, 4096, false, 0x6117063f },
	{ "differencing 64 MiB", VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 512, 4096, false, 0x41fabc97 },
};

static struct vhdx_plan make_plan(const struct image_case *c)
{
	struct vhdx_params p = test_params(c->type, c->size);
	struct vhdx_plan plan;

	p.block_size = c->block_size;
	p.logical_sector_size = c->lss;
	p.physical_sector_size = c->pss;
	p.zero_blocks = c->zero_blocks;
	if (c->type == VHDX_TYPE_DIFFERENCING) {
		p.parent_locator = locator;
		p.parent_locator_count = 3;
	}
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	return plan;
}

static int write_image(const struct vhdx_plan *plan, struct mem_sink *m, size_t scratch_len)
{
	void *scratch = malloc(scratch_len);
	int err;

	assert_non_null(scratch);
	memset(scratch, 0xCD, scratch_len);
	err = vhdx_image_write(plan, &m->sink, scratch, scratch_len);
	free(scratch);
	return err;
}

/* Structural check of a written image: each structure where the plan
 * puts it, and every other byte zero although the target held 0xFF. */
static void verify_image(const struct vhdx_plan *plan, const struct mem_sink *m)
{
	const uint8_t *d = m->data;
	uint8_t buf[65536];
	uint64_t i, used;

	assert_true(mem_sink_has_signature(m));
	assert_int_equal(m->high_water, plan->file_size);
	/* File Type Identifier, then zeros to 64 KiB */
	assert_int_equal(vhdx_file_id_encode(plan, buf, sizeof(buf)), VHDX_OK);
	used = vhdx_file_id_size(plan);
	assert_memory_equal(d, buf, used);
	assert_true(is_zero(d + used, 65536 - used));
	/* headers: 4 KiB each with valid CRC, zeros to the slot end */
	for (i = 0; i < 2; i++) {
		const uint8_t *h = d + 65536 * (i + 1);

		assert_int_equal(vhdx_header_encode(plan, (unsigned)i, buf, 4096), VHDX_OK);
		assert_memory_equal(h, buf, 4096);
		memcpy(buf, h, 4096);
		memset(buf + 4, 0, 4);
		assert_int_equal(le32(h + 4), ref_crc32c(buf, 4096));
		assert_true(is_zero(h + 4096, 65536 - 4096));
	}
	/* both region tables identical, CRC over 64 KiB */
	assert_memory_equal(d + 3 * 65536, d + 4 * 65536, 65536);
	memcpy(buf, d + 3 * 65536, 65536);
	memset(buf + 4, 0, 4);
	assert_int_equal(le32(d + 3 * 65536 + 4), ref_crc32c(buf, 65536));
	assert_true(is_zero(d + 5 * 65536, MiB - 5 * 65536));
	/* the log: all zero */
	assert_true(is_zero(d + plan->log_offset, plan->log_length));
	/* metadata: table, zeros, items, zeros */
	used = vhdx_meta_table_size(plan);
	assert_int_equal(vhdx_meta_table_encode(plan, buf, sizeof(buf)), VHDX_OK);
	assert_memory_equal(d + plan->meta_offset, buf, used);
	assert_true(is_zero(d + plan->meta_offset + used, 65536 - used));
	used = vhdx_meta_items_size(plan);
	assert_int_equal(vhdx_meta_items_encode(plan, buf, sizeof(buf)), VHDX_OK);
	assert_memory_equal(d + plan->meta_offset + 65536, buf, used);
	assert_true(is_zero(d + plan->meta_offset + 65536 + used, MiB - 65536 - used));
	/* BAT entries as planned; the rest of the region zero */
	for (i = 0; i < plan->bat_length / 8; i++)
		if (le64(d + plan->bat_offset + 8 * i) != vhdx_bat_entry(plan, i))
			fail_msg("BAT entry %llu", (unsigned long long)i);
	/* a fixed payload reads as zeros */
	if (plan->params.type == VHDX_TYPE_FIXED)
		assert_true(is_zero(d + plan->data_offset, plan->file_size - plan->data_offset));
}

static void test_every_byte_defined(void **state)
{
	static const size_t scratches[] = { 4096, 4096 * 3 + 100, 1 << 20, 8 << 20 };
	size_t c, s;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct vhdx_plan plan = make_plan(&cases[c]);
		uint8_t *first = NULL;

		for (s = 0; s < 4; s++) {
			int zero_mode;

			for (zero_mode = 0; zero_mode < 3; zero_mode++) {
				struct mem_sink m;

				mem_sink_init(&m, plan.file_size, 0xFF, cases[c].lss ? cases[c].lss : 512);
				if (zero_mode == 1)
					m.sink.zero = NULL;
				else if (zero_mode == 2)
					m.zero_result = VHDX_ERR_UNSUPPORTED;
				assert_int_equal(write_image(&plan, &m, scratches[s]), VHDX_OK);
				verify_image(&plan, &m);
				assert_true(mem_sink_canary_intact(&m));
				assert_int_equal(m.progress_last_done, vhdx_image_total(&plan));
				if (!first) {
					first = malloc(plan.file_size);
					memcpy(first, m.data, plan.file_size);
				} else {
					assert_memory_equal(first, m.data, plan.file_size);
				}
				mem_sink_free(&m);
			}
		}
		free(first);
	}
}

/* VHDX-FORMAT.md section 4: the first MiB is zeroed and flushed first;
 * region tables, header 1, header 2, file identifier come last, each
 * flushed; the signature is the very last write. */
static void test_crash_safe_order(void **state)
{
	size_t c, i;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct vhdx_plan plan = make_plan(&cases[c]);
		struct mem_sink m;
		const struct mem_op *op;
		size_t n, rt1 = 0, rt2 = 0, h1 = 0, h2 = 0, fid = 0;

		mem_sink_init(&m, plan.file_size, 0xFF, 512);
		m.ops_cap = 64;
		m.ops = malloc(m.ops_cap * sizeof(*m.ops));
		assert_int_equal(write_image(&plan, &m, 1 << 20), VHDX_OK);
		op = m.ops;
		n = m.ops_len;
		assert_true(n > 8);
		/* the signature's sector, durable on its own, then the rest */
		assert_int_equal(op[0].kind, MEM_OP_ZERO);
		assert_int_equal(op[0].off, 0);
		assert_int_equal(op[0].len, 4096);
		assert_int_equal(op[1].kind, MEM_OP_FLUSH);
		assert_int_equal(op[2].kind, MEM_OP_ZERO);
		assert_int_equal(op[2].off, 4096);
		assert_int_equal(op[2].len, MiB - 4096);
		assert_int_equal(op[3].kind, MEM_OP_FLUSH);
		for (i = 4; i < n; i++) {
			if (op[i].kind != MEM_OP_WRITE)
				continue;
			if (op[i].off == 192 * 1024)
				rt1 = i;
			if (op[i].off == 256 * 1024)
				rt2 = i;
			if (op[i].off == 64 * 1024)
				h1 = i;
			if (op[i].off == 128 * 1024)
				h2 = i;
			if (op[i].off == 0) {
				/* before the last write, the identifier has no signature */
				if (fid)
					assert_true(rt1 && fid < rt1);
				fid = i;
			}
			/* nothing else lands in the first MiB */
			if (op[i].off < MiB)
				assert_int_equal(op[i].len, 4096);
		}
		assert_true(rt1 && rt1 < rt2 && rt2 < h1 && h1 < h2 && h2 < fid);
		assert_int_equal(op[rt2 + 1].kind, MEM_OP_FLUSH);
		assert_int_equal(op[h1 + 1].kind, MEM_OP_FLUSH);
		assert_int_equal(op[h2 + 1].kind, MEM_OP_FLUSH);
		assert_int_equal(fid, n - 2);
		assert_int_equal(op[n - 1].kind, MEM_OP_FLUSH);
		mem_sink_free(&m);
	}
}

/* Fail the Nth write, flush or progress call, for every N: a clean error
 * and no signature, on a target that held a valid VHDX before. */
static void test_fault_injection(void **state)
{
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct vhdx_plan plan = make_plan(&cases[c]);
		struct mem_sink clean;
		long writes, flushes, progress, n;

		mem_sink_init(&clean, plan.file_size, 0xFF, 512);
		clean.sink.zero = NULL; /* more writes, more places to fail */
		assert_int_equal(write_image(&plan, &clean, 65536), VHDX_OK);
		writes = clean.writes;
		flushes = clean.flushes;
		progress = clean.progress_calls;
		assert_true(writes > 10 && flushes >= 5);
		for (n = 1; n <= writes + flushes + progress; n++) {
			struct mem_sink m;
			int err, expect = VHDX_ERR_IO;

			/* the target held an older valid image */
			mem_sink_init(&m, plan.file_size, 0xFF, 512);
			memcpy(m.data, clean.data, plan.file_size);
			m.sink.zero = NULL;
			if (n <= writes) {
				m.fail_write_at = n;
			} else if (n <= writes + flushes) {
				m.fail_flush_at = n - writes;
			} else {
				m.abort_progress_at = n - writes - flushes;
				expect = VHDX_ERR_ABORTED;
			}
			err = write_image(&plan, &m, 65536);
			assert_int_equal(err, expect);
			/* the first write is the zeroing of the first MiB: when it
			 * fails, the old image is untouched, not half-overwritten */
			if (n == 1) {
				assert_memory_equal(m.data, clean.data, plan.file_size);
			} else {
				if (mem_sink_has_signature(&m))
					print_error("%s: signature after failure %ld of %ld+%ld+%ld\n",
						    cases[c].name, n, writes, flushes, progress);
				assert_false(mem_sink_has_signature(&m));
			}
			mem_sink_free(&m);
		}
		mem_sink_free(&clean);
	}
}

static void test_refusals_write_nothing(void **state)
{
	struct vhdx_plan plan = make_plan(&cases[0]);
	struct mem_sink m;
	uint8_t scratch[8192];

	(void)state;
	mem_sink_init(&m, plan.file_size - 4096, 0xFF, 512);
	assert_int_equal(vhdx_image_write(&plan, &m.sink, scratch, sizeof(scratch)), VHDX_ERR_DEVFULL);
	assert_int_equal(m.writes + m.zeros + m.flushes, 0);
	mem_sink_free(&m);

	mem_sink_init(&m, plan.file_size, 0xFF, 512);
	assert_int_equal(vhdx_image_write(&plan, &m.sink, scratch, 4095), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_image_write(&plan, &m.sink, NULL, 8192), VHDX_ERR_INVAL);
	m.sink.block_size = 8192;
	assert_int_equal(vhdx_image_write(&plan, &m.sink, scratch, sizeof(scratch)), VHDX_ERR_INVAL);
	m.sink.block_size = 3000;
	assert_int_equal(vhdx_image_write(&plan, &m.sink, scratch, sizeof(scratch)), VHDX_ERR_INVAL);
	assert_int_equal(m.writes + m.zeros + m.flushes, 0);
	mem_sink_free(&m);
}

static void test_leave_payload(void **state)
{
	struct vhdx_params p = test_params(VHDX_TYPE_FIXED, 4 * MiB);
	struct vhdx_plan plan;
	struct mem_sink m;

	(void)state;
	p.block_size = 1 * MiB;
	p.leave_payload = true;
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	mem_sink_init(&m, plan.file_size, 0xFF, 512);
	assert_int_equal(write_image(&plan, &m, 65536), VHDX_OK);
	assert_true(mem_sink_has_signature(&m));
	/* stale data shows through, as the user asked */
	assert_int_equal(m.data[plan.data_offset], 0xFF);
	assert_int_equal(m.data[plan.file_size - 1], 0xFF);
	mem_sink_free(&m);
}

/*
 * Golden fingerprints: CRC-32C of the whole image.  The values were taken
 * from images that qemu-img check, 7zz t and vhdiinfo accept (the host
 * integration test makes the same parameter sets); any change to the
 * bytes we write must be deliberate and update them.
 */
static void test_golden(void **state)
{
	const char *dump_dir = getenv("VHDX_TEST_DUMP_DIR");
	int mismatches = 0;
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct vhdx_plan plan = make_plan(&cases[c]);
		struct mem_sink m;
		uint32_t crc;

		mem_sink_init(&m, plan.file_size, 0x00, 512);
		assert_int_equal(write_image(&plan, &m, 1 << 20), VHDX_OK);
		crc = ref_crc32c(m.data, plan.file_size);
		if (crc != cases[c].golden_crc) {
			print_error("%s: image CRC 0x%08x, golden 0x%08x\n", cases[c].name, crc,
				    cases[c].golden_crc);
			mismatches++;
		}
		if (dump_dir) {
			/* for tests/host/test_golden.sh: the validators see these bytes */
			char path[512];
			FILE *f;

			snprintf(path, sizeof(path), "%s/golden-%zu-lss%u.vhdx", dump_dir, c,
				 plan.params.logical_sector_size);
			f = fopen(path, "wb");
			assert_non_null(f);
			assert_int_equal(fwrite(m.data, 1, plan.file_size, f), plan.file_size);
			assert_int_equal(fclose(f), 0);
		}
		mem_sink_free(&m);
	}
	assert_int_equal(mismatches, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_defined),
		cmocka_unit_test(test_crash_safe_order),
		cmocka_unit_test(test_fault_injection),
		cmocka_unit_test(test_refusals_write_nothing),
		cmocka_unit_test(test_leave_payload),
		cmocka_unit_test(test_golden),
	};

	if (getenv("VHDX_TEST_DUMP_DIR"))
		cmocka_set_test_filter("test_golden"); /* only the dump, for test_golden.sh */
	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
