/* SPDX-License-Identifier: MIT */
/*
 * test_scratch.c - VHDX_SCRATCH_SIZE, the one scratch size of the public
 * API, is accepted by every call that takes a scratch buffer: each is
 * given a heap buffer of exactly that many bytes (ASan: any byte past it
 * is an error) on a clean image, and must succeed.
 */
#include <stdlib.h>
#include <string.h>

#include "log_builder.h"
#include "test_util.h"

#define MiB (1024u * 1024u)
#define DISK_SIZE (8u * MiB)

static struct lb_file file;
static struct vhdx_plan plan;
static struct vhdx_chain_level levels[1];

static enum vhdx_parent_open no_parent(void *ctx, const char *child, const char *key, const char *path,
				       enum vhdx_path_kind kind, struct vhdx_source *src, char *name,
				       size_t name_len, char *why, size_t why_len)
{
	(void)ctx; (void)child; (void)key; (void)path; (void)kind; (void)src; (void)name;
	(void)name_len; (void)why; (void)why_len;
	return VHDX_PARENT_ABSENT;
}

static const struct vhdx_parent_ops ops = { .open = no_parent };

static void *scratch_new(void)
{
	void *s = malloc(VHDX_SCRATCH_SIZE);

	assert_non_null(s);
	return s;
}

/* A dynamic 8 MiB image with 1 MiB blocks, its first block written. */
static int setup(void **state)
{
	struct vhdx_params p = { .type = VHDX_TYPE_DYNAMIC, .virtual_size = DISK_SIZE, .block_size = 1 * MiB };
	char why[VHDX_WHY_SIZE];
	void *s = scratch_new();

	(void)state;
	p.file_write_guid.bytes[0] = 1;
	p.data_write_guid.bytes[0] = 2;
	p.page83.bytes[0] = 3;
	assert_int_equal(vhdx_plan_init(&plan, &p, why, sizeof(why)), VHDX_OK);
	lb_file_init(&file, NULL, 0, 64 * MiB, 512);
	assert_int_equal(vhdx_image_write(&plan, &file.sink, s, VHDX_SCRATCH_SIZE), VHDX_OK);
	free(s);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lb_file_free(&file);
	return 0;
}

static void decoder_and_log(void **state)
{
	struct vhdx_disk d;
	struct vhdx_log log;
	struct vhdx_replay_stats stats;
	struct vhdx_guid g = { { 9 } };
	char why[VHDX_WHY_SIZE], value[64];
	void *s = scratch_new();

	(void)state;
	assert_int_equal(vhdx_disk_open(&d, &file.src, s, VHDX_SCRATCH_SIZE, why, sizeof(why)), VHDX_OK);
	/* no locator in a dynamic image: absent, not a scratch refusal */
	assert_int_equal(vhdx_disk_locator_get(&d, &file.src, "parent_linkage", value, sizeof(value), s,
					       VHDX_SCRATCH_SIZE), VHDX_ERR_RANGE);
	assert_int_equal(vhdx_log_find(&log, &d, &file.src, s, VHDX_SCRATCH_SIZE, why, sizeof(why)), VHDX_OK);
	assert_false(log.active);
	assert_int_equal(vhdx_log_replay(&d, &file.src, &file.sink, &g, true, s, VHDX_SCRATCH_SIZE, &stats, why,
					 sizeof(why)), VHDX_OK);
	free(s);
}

static void checker(void **state)
{
	static struct vhdx_info info;
	static struct vhdx_chain chain;
	struct vhdx_disk d;
	char why[VHDX_WHY_SIZE];
	bool walked;
	void *s = scratch_new();

	(void)state;
	assert_int_equal(vhdx_check(&file.src, s, VHDX_SCRATCH_SIZE, &info, NULL, NULL), VHDX_OK);
	assert_int_equal(info.errors, 0);
	assert_int_equal(vhdx_probe(&file.src, s, VHDX_SCRATCH_SIZE, &info), VHDX_OK);
	assert_true(info.is_vhdx);
	assert_int_equal(vhdx_examine(&file.src, "mem", &chain, levels, 1, &ops, s, VHDX_SCRATCH_SIZE, &info,
				      NULL, NULL, &walked), VHDX_OK);
	assert_true(walked);
	assert_int_equal(info.errors, 0);
	assert_int_equal(vhdx_parent_accept(&file.src, "mem", s, VHDX_SCRATCH_SIZE, &info, &d, why, sizeof(why)),
			 VHDX_OK);
	free(s);
}

static void readers_and_writers(void **state)
{
	static struct vhdx_chain chain;
	struct vhdx_extent ext;
	struct vhdx_compare_result cmp;
	struct vhdx_fill_result fill;
	struct lb_file copy;
	char why[VHDX_WHY_SIZE];
	uint8_t page[4096];
	void *s = scratch_new(), *s2 = scratch_new(), *buf = scratch_new();

	(void)state;
	assert_int_equal(vhdx_chain_open(&chain, levels, 1, &file.src, "mem", &ops, s, VHDX_SCRATCH_SIZE, why,
					 sizeof(why)), VHDX_OK);
	assert_int_equal(chain.verdict, VHDX_CHAIN_COMPLETE);
	assert_int_equal(vhdx_map(&chain, 0, DISK_SIZE, &ext, s, VHDX_SCRATCH_SIZE), VHDX_OK);
	assert_int_equal(vhdx_read_at(&chain, 4096, page, sizeof(page), s, VHDX_SCRATCH_SIZE), VHDX_OK);
	assert_true(vhdx_is_zero(page, sizeof(page)));

	struct vhdx_reader r = { .chain = &chain, .size = DISK_SIZE, .scratch = s, .scratch_len = VHDX_SCRATCH_SIZE };
	assert_int_equal(vhdx_compare(&r, &r, buf, VHDX_SCRATCH_SIZE, &cmp, NULL, NULL), VHDX_OK);
	assert_true(cmp.same);

	/* the same disk written again from the reader (its scratch another buffer) */
	lb_file_init(&copy, NULL, 0, 64 * MiB, 512);
	assert_int_equal(vhdx_image_write_from(&plan, &copy.sink, &r, s2, VHDX_SCRATCH_SIZE, &fill), VHDX_OK);
	vhdx_chain_close(&chain, &ops);
	lb_file_free(&copy);
	free(buf);
	free(s2);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decoder_and_log),
		cmocka_unit_test(checker),
		cmocka_unit_test(readers_and_writers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
