/* SPDX-License-Identifier: MIT */
/*
 * test_read.c - the reader/checker on images the writer makes in RAM:
 * clean for every type and geometry, the same result for any scratch size,
 * every read inside the source and 4 KiB-aligned, clean failure at every
 * read, the overlap bitmap path (windows, passes), truncation, rendering.
 */
#include <stdio.h>

#include "mem_sink.h"
#include "mem_source.h"
#include "test_util.h"
#include "vhdx_read.h"
#include "vhdx_internal.h"
#include "vhdx_print.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

#define MAX_FOUND 128
struct found {
	int n;
	enum vhdx_rule rule[MAX_FOUND];
	uint64_t off[MAX_FOUND];
};

static void collect(void *ctx, const struct vhdx_finding *f)
{
	struct found *fd = ctx;
	char line[300];

	assert_non_null(f->where);
	assert_non_null(f->found);
	vhdx_finding_to_text(f, line, sizeof(line));
	if (getenv("TEST_READ_VERBOSE"))
		fprintf(stderr, "%s\n", line);
	if (fd->n < MAX_FOUND) {
		fd->rule[fd->n] = f->rule;
		fd->off[fd->n] = f->offset;
	}
	fd->n++;
}

static bool has(const struct found *fd, enum vhdx_rule r)
{
	int i;

	for (i = 0; i < fd->n && i < MAX_FOUND; i++)
		if (fd->rule[i] == r)
			return true;
	return false;
}

static const struct vhdx_kv locator[] = {
	{ "parent_linkage", "{20212223-2425-2627-2829-2a2b2c2d2e2f}" },
	{ "relative_path", ".\\parent.vhdx" },
	{ "absolute_win32_path", "C:\\vms\\parent.vhdx" },
};

/* Writes an image into a fresh mem_sink; the caller frees it. */
static struct vhdx_plan make(struct mem_sink *m, enum vhdx_type type, uint64_t size, uint32_t bs,
			     uint32_t lss)
{
	struct vhdx_params p = test_params(type, size);
	struct vhdx_plan plan;
	void *scratch = malloc(1 << 20);

	p.block_size = bs;
	p.logical_sector_size = lss;
	if (type == VHDX_TYPE_DIFFERENCING) {
		p.parent_locator = locator;
		p.parent_locator_count = 3;
	}
	assert_int_equal(vhdx_plan_init(&plan, &p, NULL, 0), VHDX_OK);
	mem_sink_init(m, plan.file_size, 0xFF, 512);
	assert_int_equal(vhdx_image_write(&plan, &m->sink, scratch, 1 << 20), VHDX_OK);
	free(scratch);
	return plan;
}

static uint8_t scratch_fill = 0xEE;

static int check(const uint8_t *data, uint64_t len, uint64_t size, size_t scratch_len,
		 struct vhdx_info *info, struct found *fd)
{
	struct mem_source s;
	uint8_t *scratch = malloc(scratch_len + 64);
	int err;
	size_t i;

	mem_source_init(&s, data, len, size);
	memset(scratch, scratch_fill, scratch_len);
	memset(scratch + scratch_len, 0xEE, 64);
	memset(fd, 0, sizeof(*fd));
	err = vhdx_check(&s.src, scratch, scratch_len, info, collect, fd);
	for (i = 0; i < 64; i++)
		assert_int_equal(scratch[scratch_len + i], 0xEE); /* nothing past scratch_len */
	free(scratch);
	return err;
}

static void test_clean_matrix(void **state)
{
	static const struct {
		enum vhdx_type type;
		uint64_t size;
		uint32_t bs, lss;
	} cases[] = {
		{ VHDX_TYPE_DYNAMIC, 1 * GiB, 0, 512 },
		{ VHDX_TYPE_DYNAMIC, 4097 * MiB, 1 * MiB, 512 },   /* P > CR: a bitmap entry */
		{ VHDX_TYPE_DYNAMIC, 64ull << 40, 1 * MiB, 512 },  /* 513 MiB BAT */
		{ VHDX_TYPE_DYNAMIC, 100 * GiB, 256 * MiB, 4096 },
		{ VHDX_TYPE_FIXED, 8 * MiB, 1 * MiB, 4096 },
		{ VHDX_TYPE_FIXED, 10 * MiB - 512, 2 * MiB, 512 },
		{ VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 512 },
		{ VHDX_TYPE_DIFFERENCING, 20 * GiB, 2 * MiB, 4096 },
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct mem_sink m;
		struct vhdx_plan plan = make(&m, cases[c].type, cases[c].size, cases[c].bs, cases[c].lss);
		struct vhdx_info *info = malloc(sizeof(*info));
		struct found fd;

		assert_int_equal(check(m.data, plan.file_size, plan.file_size, VHDX_READ_SCRATCH_MIN, info, &fd),
				 VHDX_OK);
		assert_int_equal(fd.n, 0);
		assert_int_equal(info->errors, 0);
		assert_int_equal(info->warnings, 0);
		assert_true(info->is_vhdx && info->geometry_ok && info->bat_walked);
		assert_int_equal(info->type, cases[c].type);
		assert_int_equal(info->virtual_size, cases[c].size);
		assert_int_equal(info->block_size, plan.params.block_size);
		assert_int_equal(info->logical_sector_size, plan.params.logical_sector_size);
		assert_int_equal(info->physical_sector_size, plan.params.physical_sector_size);
		assert_memory_equal(&info->geom, &plan.geom, sizeof(plan.geom));
		assert_int_equal(info->bat_offset, plan.bat_offset);
		assert_int_equal(info->meta_offset, plan.meta_offset);
		assert_int_equal(info->current_header, 1);
		assert_string_equal(info->creator, "vhdx test");
		assert_memory_equal(&info->page83, &plan.params.page83, 16);
		if (cases[c].type == VHDX_TYPE_FIXED) {
			assert_int_equal(info->payload_states[VHDX_COUNT_FULLY_PRESENT], plan.geom.payload_blocks);
			assert_int_equal(info->data_start, plan.data_offset);
			assert_int_equal(info->data_end, plan.file_size);
			assert_true(info->overlap_fast_path);
		} else {
			assert_int_equal(info->payload_states[VHDX_COUNT_NOT_PRESENT], plan.geom.payload_blocks);
		}
		if (cases[c].type == VHDX_TYPE_DIFFERENCING) {
			assert_true(info->has_locator);
			assert_int_equal(info->locator_count, 3);
			assert_string_equal(vhdx_info_locator_value(info, "relative_path"), ".\\parent.vhdx");
			assert_string_equal(vhdx_info_locator_value(info, "parent_linkage"), locator[0].value);
		}
		free(info);
		mem_sink_free(&m);
	}
}

static void test_scratch_sizes(void **state)
{
	struct mem_sink m;
	struct vhdx_plan plan = make(&m, VHDX_TYPE_FIXED, 300 * MiB, 1 * MiB, 512);
	struct vhdx_info *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	static const size_t lens[] = { VHDX_READ_SCRATCH_MIN, VHDX_READ_SCRATCH_MIN + 1,
				       VHDX_READ_SCRATCH_MIN + 4096 + 7, 1 << 20, 3 << 20 };
	struct found fd;
	struct mem_source s;
	uint8_t scratch[VHDX_READ_SCRATCH_MIN];
	size_t i;

	(void)state;
	assert_int_equal(check(m.data, plan.file_size, plan.file_size, lens[0], a, &fd), VHDX_OK);
	for (i = 1; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(check(m.data, plan.file_size, plan.file_size, lens[i], b, &fd), VHDX_OK);
		assert_memory_equal(a, b, sizeof(*a));
	}
	/* too small, NULLs */
	mem_source_init(&s, m.data, plan.file_size, plan.file_size);
	assert_int_equal(vhdx_check(&s.src, scratch, sizeof(scratch) - 1, a, NULL, NULL), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_check(&s.src, NULL, sizeof(scratch), a, NULL, NULL), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_check(NULL, scratch, sizeof(scratch), a, NULL, NULL), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_check(&s.src, scratch, sizeof(scratch), NULL, NULL, NULL), VHDX_ERR_INVAL);
	free(a);
	free(b);
	mem_sink_free(&m);
}

static void test_read_failures(void **state)
{
	struct mem_sink m;
	struct vhdx_plan plan = make(&m, VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 512);
	struct vhdx_info *info = malloc(sizeof(*info));
	uint8_t *scratch = malloc(VHDX_READ_SCRATCH_MIN);
	struct mem_source s;
	long n, total;

	(void)state;
	mem_source_init(&s, m.data, plan.file_size, plan.file_size);
	assert_int_equal(vhdx_check(&s.src, scratch, VHDX_READ_SCRATCH_MIN, info, NULL, NULL), VHDX_OK);
	total = s.reads;
	assert_true(total > 5);
	for (n = 1; n <= total; n++) {
		mem_source_init(&s, m.data, plan.file_size, plan.file_size);
		s.fail_at = n;
		assert_int_equal(vhdx_check(&s.src, scratch, VHDX_READ_SCRATCH_MIN, info, NULL, NULL),
				 VHDX_ERR_IO);
	}
	free(scratch);
	free(info);
	mem_sink_free(&m);
}

static void set_entry(uint8_t *bat, uint64_t idx, uint64_t state, uint64_t off)
{
	uint64_t v = state | (off >> 20) << 20;
	int i;

	for (i = 0; i < 8; i++)
		bat[idx * 8 + i] = (uint8_t)(v >> (8 * i));
}

/* Blocks in descending file order take the bitmap path; a sparse source
 * 1.5 TiB long needs three windows of 512 GiB with the minimum scratch. */
static void test_overlap_windows(void **state)
{
	struct mem_sink m;
	struct vhdx_plan plan = make(&m, VHDX_TYPE_DYNAMIC, 2ull << 40, 1 * MiB, 512);
	struct vhdx_info *info = malloc(sizeof(*info));
	uint8_t *bat = m.data + plan.bat_offset;
	uint64_t size = 1536 * GiB, far = 1200 * GiB;
	struct found fd;

	(void)state;
	set_entry(bat, 0, 6, far);
	set_entry(bat, 1, 6, 600 * GiB);
	set_entry(bat, 2, 6, plan.data_offset);
	assert_int_equal(check(m.data, plan.file_size, size, VHDX_READ_SCRATCH_MIN, info, &fd), VHDX_OK);
	assert_int_equal(info->errors, 0);
	assert_false(info->overlap_fast_path);
	assert_int_equal(info->overlap_passes, 3);
	assert_int_equal(info->data_start, plan.data_offset);
	assert_int_equal(info->data_end, far + MiB);
	assert_int_equal(info->payload_states[VHDX_COUNT_FULLY_PRESENT], 3);
	/* a big scratch: one pass */
	assert_int_equal(check(m.data, plan.file_size, size, VHDX_CHECK_SCRATCH_ONE_PASS, info, &fd), VHDX_OK);
	assert_int_equal(info->overlap_passes, 1);
	assert_int_equal(info->errors, 0);
	/* block 5 on block 0, in the last window: found */
	set_entry(bat, 5, 6, far);
	assert_int_equal(check(m.data, plan.file_size, size, VHDX_READ_SCRATCH_MIN, info, &fd), VHDX_OK);
	assert_int_equal(info->errors, 1);
	assert_true(has(&fd, VHDX_R_BAT_OVERLAP));
	assert_int_equal(fd.off[0], plan.bat_offset + 5 * 8);
	/* ascending but overlapping through the first block's length: also found */
	set_entry(bat, 5, 0, 0);
	set_entry(bat, 0, 6, plan.data_offset);
	set_entry(bat, 1, 6, plan.data_offset + MiB);
	set_entry(bat, 2, 6, plan.data_offset + MiB);
	assert_int_equal(check(m.data, plan.file_size, size, VHDX_READ_SCRATCH_MIN, info, &fd), VHDX_OK);
	assert_true(has(&fd, VHDX_R_BAT_OVERLAP));
	free(info);
	mem_sink_free(&m);
}

/* More findings of one rule than are listed: counted, one summary line. */
static void test_bat_flood(void **state)
{
	struct mem_sink m;
	struct vhdx_plan plan = make(&m, VHDX_TYPE_DYNAMIC, 1 * GiB, 1 * MiB, 512);
	struct vhdx_info *info = malloc(sizeof(*info));
	struct found fd;
	uint64_t i;

	(void)state;
	for (i = 0; i < plan.geom.payload_blocks; i++)
		set_entry(m.data + plan.bat_offset, i, 4, 0);
	assert_int_equal(check(m.data, plan.file_size, plan.file_size, VHDX_READ_SCRATCH_MIN, info, &fd),
			 VHDX_OK);
	assert_int_equal(info->errors, plan.geom.payload_blocks);
	assert_int_equal(fd.n, 16 + 1);
	assert_int_equal(fd.rule[16], VHDX_R_SUPPRESSED);
	free(info);
	mem_sink_free(&m);
}

/* Every prefix of an image is an error, never a crash or an outside read,
 * and what is found does not depend on what the scratch held before. */
static void test_truncated(void **state)
{
	struct mem_sink m;
	struct vhdx_plan plan = make(&m, VHDX_TYPE_FIXED, 4 * MiB, 1 * MiB, 512);
	struct vhdx_info *info = malloc(sizeof(*info)), *info2 = malloc(sizeof(*info2));
	struct found fd, fd2;
	uint64_t cut;

	(void)state;
	for (cut = 0; cut < plan.file_size; cut += (cut < 2 * MiB ? 4093 : 65536)) {
		scratch_fill = 0x00;
		assert_int_equal(check(m.data, cut, cut, VHDX_READ_SCRATCH_MIN, info, &fd), VHDX_OK);
		scratch_fill = 0xFF;
		assert_int_equal(check(m.data, cut, cut, VHDX_READ_SCRATCH_MIN, info2, &fd2), VHDX_OK);
		scratch_fill = 0xEE;
		assert_true(info->errors > 0);
		assert_memory_equal(info, info2, sizeof(*info));
		assert_int_equal(fd.n, fd2.n);
		assert_memory_equal(fd.rule, fd2.rule, sizeof(fd.rule));
	}
	free(info2);
	free(info);
	mem_sink_free(&m);
}

static void test_not_vhdx(void **state)
{
	uint8_t zeros[8192] = { 0 };
	struct vhdx_info *info = malloc(sizeof(*info));
	struct found fd;
	char sum[64];

	(void)state;
	assert_int_equal(check(zeros, 0, 0, VHDX_READ_SCRATCH_MIN, info, &fd), VHDX_OK);
	assert_false(info->is_vhdx);
	assert_int_equal(fd.n, 1);
	assert_int_equal(fd.rule[0], VHDX_R_FILE_SIGNATURE);
	assert_int_equal(check(zeros, sizeof(zeros), sizeof(zeros), VHDX_READ_SCRATCH_MIN, info, &fd), VHDX_OK);
	assert_int_equal(info->errors, 1);
	vhdx_info_summary(info, sum, sizeof(sum));
	assert_string_equal(sum, "not a VHDX");
	free(info);
}

struct lines {
	int n;
	char text[4096];
};

static void grab(void *ctx, const char *line)
{
	struct lines *l = ctx;
	size_t used = strlen(l->text);

	assert_true(strlen(line) < 1200);
	l->n++;
	if (used + strlen(line) + 2 < sizeof(l->text)) {
		strcat(l->text, line);
		strcat(l->text, "\n");
	}
}

static void test_print_and_probe(void **state)
{
	struct mem_sink m;
	struct vhdx_plan plan = make(&m, VHDX_TYPE_DYNAMIC, 64ull << 30, 0, 512);
	struct vhdx_info *info = malloc(sizeof(*info));
	struct lines *l = calloc(1, sizeof(*l));
	uint8_t *scratch = malloc(VHDX_READ_SCRATCH_MIN);
	struct mem_source s;
	char sum[64], line[64];
	struct vhdx_finding f = { VHDX_SEV_ERROR, VHDX_R_HDR_CHECKSUM, 0x10004, "header 1", "0x1" };
	size_t len;

	(void)state;
	mem_source_init(&s, m.data, plan.file_size, plan.file_size);
	assert_int_equal(vhdx_probe(&s.src, scratch, VHDX_READ_SCRATCH_MIN, info), VHDX_OK);
	assert_false(info->bat_walked);
	vhdx_info_summary(info, sum, sizeof(sum));
	assert_string_equal(sum, "VHDX (dynamic, 64 GiB)");

	vhdx_info_print(info, true, grab, l);
	assert_true(strncmp(l->text, "{\n", 2) == 0);
	assert_non_null(strstr(l->text, "\n  \"virtual_size\": 68719476736,\n"));
	assert_non_null(strstr(l->text, "\n  \"type\": \"dynamic\",\n"));
	assert_non_null(strstr(l->text, "\n}\n"));
	memset(l, 0, sizeof(*l));
	vhdx_info_print(info, false, grab, l);
	assert_non_null(strstr(l->text, "type: dynamic\n"));
	assert_non_null(strstr(l->text, "virtual size: 64 GiB (68719476736 bytes)\n"));

	len = vhdx_finding_to_text(&f, line, sizeof(line));
	assert_int_equal(len, strlen(line));
	assert_true(strncmp(line, "error: header 1 @0x10004: header checksum", 41) == 0);
	for (len = 0; len < 20; len++) { /* cut, never past len */
		memset(line, 'Z', sizeof(line));
		vhdx_finding_to_text(&f, line, len);
		if (len)
			assert_int_equal(strlen(line), len - 1);
		assert_int_equal(line[len], 'Z');
	}
	assert_string_equal(vhdx_rule_id(VHDX_R_BAT_OVERLAP), "bat.overlap");
	assert_string_equal(vhdx_rule_id(VHDX_R_COUNT_), "unknown");
	for (len = 0; len < VHDX_R_COUNT_; len++)
		assert_true(strlen(vhdx_rule_text((enum vhdx_rule)len)) > 10);
	free(scratch);
	free(l);
	free(info);
	mem_sink_free(&m);
}

/* check with a source of @size bytes over @data[0..len), flags as given. */
static int check_src(const uint8_t *data, uint64_t len, uint64_t size, bool is_device, bool log_applied,
		     struct vhdx_info *info, struct found *fd)
{
	struct mem_source s;
	uint8_t *scratch = malloc(VHDX_READ_SCRATCH_MIN);
	int err;

	mem_source_init(&s, data, len, size);
	s.src.is_device = is_device;
	s.src.log_applied = log_applied;
	memset(fd, 0, sizeof(*fd));
	err = vhdx_check(&s.src, scratch, VHDX_READ_SCRATCH_MIN, info, collect, fd);
	free(scratch);
	return err;
}

static void set_log_guid(struct mem_sink *m, uint8_t v)
{
	uint8_t *h = m->data + 128 * 1024; /* header 2, current */

	h[48] = v;
	set_le32(h + 4, 0);
	set_le32(h + 4, ref_crc32c(h, 4096));
	/* an entry that carries the LogGuid (its checksum wrong): replay is
	 * pending, not a LogGuid that no entry carries (log.guid_unused) */
	memcpy(m->data + le64(h + 72), "loge", 4);
	memcpy(m->data + le64(h + 72) + 32, h + 48, 16);
}

/*
 * A log that needs replay (issue 11): the BAT on disk may be stale, so
 * what the BAT walk finds (bat.*, file.trailing) is withheld and counted
 * in one log.withheld warning, and info says the counts are the BAT on
 * disk.  Through a log view (log_applied) the walk reports as usual.
 */
static void test_dirty_log_withholds(void **state)
{
	struct mem_sink m;
	struct vhdx_plan plan = make(&m, VHDX_TYPE_DYNAMIC, 1 * GiB, 1 * MiB, 512);
	struct vhdx_info *info = malloc(sizeof(*info));
	struct lines *l = calloc(1, sizeof(*l));
	uint64_t size = plan.file_size + 32 * MiB; /* 32 MiB after the image */
	struct found fd;
	int i;

	(void)state;
	set_entry(m.data + plan.bat_offset, 0, 4, 0);                 /* bat.state */
	set_entry(m.data + plan.bat_offset, 1, 0, 5 * MiB);           /* bat.offset_reserved */
	/* clean log: all three found, nothing withheld */
	assert_int_equal(check_src(m.data, plan.file_size, size, false, false, info, &fd), VHDX_OK);
	assert_int_equal(fd.n, 3);
	assert_true(has(&fd, VHDX_R_BAT_STATE) && has(&fd, VHDX_R_BAT_OFFSET_RESERVED) &&
		    has(&fd, VHDX_R_FILE_TRAILING));
	assert_false(info->bat_before_replay);
	assert_int_equal(info->findings_withheld, 0);
	/* dirty: log.replay, and one warning for the three withheld */
	set_log_guid(&m, 0x42);
	assert_int_equal(check_src(m.data, plan.file_size, size, false, false, info, &fd), VHDX_OK);
	assert_int_equal(fd.n, 2);
	assert_int_equal(fd.rule[0], VHDX_R_LOG_REPLAY);
	assert_int_equal(fd.rule[1], VHDX_R_LOG_WITHHELD);
	assert_int_equal(fd.off[1], plan.bat_offset);
	assert_int_equal(info->findings_withheld, 3);
	assert_int_equal(info->errors, 1);    /* log.replay */
	assert_int_equal(info->warnings, 1);  /* log.withheld */
	assert_true(info->bat_walked && info->bat_before_replay);
	assert_int_equal(info->payload_states[VHDX_COUNT_RESERVED4], 1); /* still counted */
	vhdx_info_print(info, false, grab, l);
	assert_non_null(strstr(l->text, "\nblocks: not_present 1023 reserved4 1\n"
				     "sector bitmaps present: 0\n"));
	assert_non_null(strstr(l->text, "\n  (the BAT on disk, before the log is replayed: the counts may be stale)\n"));
	memset(l, 0, sizeof(*l));
	vhdx_info_print(info, true, grab, l);
	assert_non_null(strstr(l->text, "\n  \"bat_before_log_replay\": true,\n"));
	assert_non_null(strstr(l->text, "\n  \"findings_withheld\": 3,\n"));
	/* many withheld: counted, none listed, no findings.suppressed for them */
	for (i = 2; i < 100; i++)
		set_entry(m.data + plan.bat_offset, (uint64_t)i, 5, 0);
	assert_int_equal(check_src(m.data, plan.file_size, size, false, false, info, &fd), VHDX_OK);
	assert_int_equal(fd.n, 2);
	assert_int_equal(info->findings_withheld, 101);
	assert_int_equal(info->errors + info->warnings, 2);
	/* read through the log (a log view): reported as usual */
	assert_int_equal(check_src(m.data, plan.file_size, size, false, true, info, &fd), VHDX_OK);
	assert_true(has(&fd, VHDX_R_LOG_REPLAY) && has(&fd, VHDX_R_BAT_STATE) && has(&fd, VHDX_R_FILE_TRAILING));
	assert_false(has(&fd, VHDX_R_LOG_WITHHELD));
	assert_false(info->bat_before_replay);
	assert_int_equal(info->findings_withheld, 0);
	memset(l, 0, sizeof(*l));
	vhdx_info_print(info, true, grab, l);
	assert_null(strstr(l->text, "bat_before_log_replay"));
	assert_null(strstr(l->text, "findings_withheld"));
	/* dirty and nothing to withhold: no warning, the counts still marked */
	for (i = 0; i < 100; i++)
		set_entry(m.data + plan.bat_offset, (uint64_t)i, 0, 0);
	assert_int_equal(check_src(m.data, plan.file_size, plan.file_size, false, false, info, &fd), VHDX_OK);
	assert_int_equal(fd.n, 1);
	assert_int_equal(fd.rule[0], VHDX_R_LOG_REPLAY);
	assert_true(info->bat_before_replay);
	free(l);
	free(info);
	mem_sink_free(&m);
}

/*
 * A block device (issue 11): what follows the image is the device's, not
 * trailing data: no file.trailing, and info says the device's size and
 * where the image ends.
 */
static void test_device_end(void **state)
{
	struct mem_sink m;
	struct vhdx_plan plan = make(&m, VHDX_TYPE_FIXED, 8 * MiB, 1 * MiB, 4096);
	struct vhdx_info *info = malloc(sizeof(*info));
	struct lines *l = calloc(1, sizeof(*l));
	uint64_t size = 1 * GiB;
	struct found fd;
	char want[128];

	(void)state;
	assert_int_equal(check_src(m.data, plan.file_size, size, false, false, info, &fd), VHDX_OK);
	assert_int_equal(fd.n, 1);
	assert_int_equal(fd.rule[0], VHDX_R_FILE_TRAILING);
	assert_false(info->is_device);
	vhdx_info_print(info, false, grab, l);
	assert_null(strstr(l->text, "device"));
	memset(l, 0, sizeof(*l));
	vhdx_info_print(info, true, grab, l);
	assert_null(strstr(l->text, "device_size"));
	assert_null(strstr(l->text, "image_end"));

	assert_int_equal(check_src(m.data, plan.file_size, size, true, false, info, &fd), VHDX_OK);
	assert_int_equal(fd.n, 0);
	assert_int_equal(info->warnings + info->errors, 0);
	assert_true(info->is_device);
	assert_int_equal(info->structures_end, plan.file_size);
	memset(l, 0, sizeof(*l));
	vhdx_info_print(info, false, grab, l);
	snprintf(want, sizeof(want), "\nfile size: 1 GiB (1073741824 bytes)\ndevice: 1 GiB (1073741824 bytes), "
		 "the image ends at 0x%llx\n", (unsigned long long)plan.file_size);
	assert_non_null(strstr(l->text, want));
	memset(l, 0, sizeof(*l));
	vhdx_info_print(info, true, grab, l);
	assert_non_null(strstr(l->text, "\n  \"device_size\": 1073741824,\n"));
	snprintf(want, sizeof(want), "\n  \"image_end\": %llu,\n", (unsigned long long)plan.file_size);
	assert_non_null(strstr(l->text, want));
	/* the device exactly the image: the same, nothing after it */
	assert_int_equal(check_src(m.data, plan.file_size, plan.file_size, true, false, info, &fd), VHDX_OK);
	assert_int_equal(fd.n, 0);
	free(l);
	free(info);
	mem_sink_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_matrix),
		cmocka_unit_test(test_scratch_sizes),
		cmocka_unit_test(test_read_failures),
		cmocka_unit_test(test_overlap_windows),
		cmocka_unit_test(test_bat_flood),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_not_vhdx),
		cmocka_unit_test(test_print_and_probe),
		cmocka_unit_test(test_dirty_log_withholds),
		cmocka_unit_test(test_device_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
