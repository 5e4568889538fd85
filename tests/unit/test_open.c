/* SPDX-License-Identifier: MIT */
/*
 * test_open.c - the decoder (vhdx_disk_open, vhdx_disk_locator_get) on
 * images the writer makes in RAM: what it decodes for every type and
 * sector size; a damaged header or region table 1 that falls back to the
 * other copy; every refusal with its error and a reason that names the
 * rule; NOSPACE and the scratch bounds; a failure at every read; and, on
 * random damage, never an outside read and never a refusal of an image
 * the checker finds no error in.
 */
#include <stdio.h>

#include "mem_sink.h"
#include "mem_source.h"
#include "test_util.h"
#include "vhdx_format.h"
#include "vhdx_read.h"
#include "vhdx_internal.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

static const struct vhdx_kv locator[] = {
	{ "parent_linkage", "{20212223-2425-2627-2829-2a2b2c2d2e2f}" },
	{ "relative_path", ".\\parent.vhdx" },
	/* a surrogate pair and a 2-byte character: UTF-16 to UTF-8 */
	{ "absolute_win32_path", "C:\\vms\\\xC3\xBC\xF0\x9F\x98\x80.vhdx" },
};

struct img {
	struct mem_sink m;
	struct vhdx_plan plan;
};

/* Writes an image with the writer; diff: the locator above (or @kv). */
static void make_kv(struct img *im, enum vhdx_type type, uint64_t size, uint32_t bs, uint32_t lss,
		    const struct vhdx_kv *kv, size_t kv_count)
{
	struct vhdx_params p = test_params(type, size);
	void *scratch = malloc(1 << 20);

	p.block_size = bs;
	p.logical_sector_size = lss;
	p.physical_sector_size = lss == 4096 ? 4096 : 512;
	if (type == VHDX_TYPE_DIFFERENCING) {
		p.parent_locator = kv;
		p.parent_locator_count = kv_count;
	}
	assert_int_equal(vhdx_plan_init(&im->plan, &p, NULL, 0), VHDX_OK);
	mem_sink_init(&im->m, im->plan.file_size, 0xFF, 512);
	assert_int_equal(vhdx_image_write(&im->plan, &im->m.sink, scratch, 1 << 20), VHDX_OK);
	free(scratch);
}

static void make(struct img *im, enum vhdx_type type, uint64_t size, uint32_t bs, uint32_t lss)
{
	make_kv(im, type, size, bs, lss, locator, 3);
}

/* Opens bytes [0, len) of @data as a source of @size bytes. */
static int open_at(const uint8_t *data, uint64_t len, uint64_t size, struct vhdx_disk *d, char *why,
		   size_t scratch_len)
{
	struct mem_source s;
	uint8_t *scratch = malloc(scratch_len + 64);
	int err;
	size_t i;

	mem_source_init(&s, data, len, size);
	memset(scratch, 0xEE, scratch_len + 64);
	memset(d, 0x5A, sizeof(*d));
	err = vhdx_disk_open(d, &s.src, scratch, scratch_len, why, VHDX_WHY_SIZE);
	for (i = 0; i < 64; i++)
		assert_int_equal(scratch[scratch_len + i], 0xEE); /* nothing past scratch_len */
	free(scratch);
	if (err)
		assert_int_equal(((uint8_t *)d)[0], 0x5A); /* ret untouched on refusal */
	return err;
}

static int open_img(const struct img *im, struct vhdx_disk *d, char *why)
{
	return open_at(im->m.data, im->plan.file_size, im->plan.file_size, d, why, VHDX_OPEN_SCRATCH_MIN);
}

/* The refusal of @im: @err, and a reason that holds @fragment and a section. */
static void expect_refusal(const struct img *im, int err, const char *fragment)
{
	struct vhdx_disk d;
	char why[VHDX_WHY_SIZE];

	assert_int_equal(open_img(im, &d, why), err);
	if (!strstr(why, fragment) || !strchr(why, '['))
		fail_msg("reason '%s' lacks '%s' or a section", why, fragment);
	assert_true(strlen(why) < VHDX_WHY_SIZE - 1); /* never cut */
}

static uint8_t *hdr(struct img *im, unsigned i)
{
	return im->m.data + (i ? 128 * KiB : 64 * KiB);
}

static void fix_header(struct img *im, unsigned i)
{
	uint8_t *h = hdr(im, i);

	set_le32(h + 4, 0);
	set_le32(h + 4, ref_crc32c(h, 4096));
}

static uint8_t *rgn(struct img *im, unsigned i)
{
	return im->m.data + (i ? 256 * KiB : 192 * KiB);
}

static void fix_regions(struct img *im)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		set_le32(rgn(im, i) + 4, 0);
		set_le32(rgn(im, i) + 4, ref_crc32c(rgn(im, i), 64 * KiB));
	}
}

/* Region table entry @j of both tables. */
static void set_region(struct img *im, unsigned j, const struct vhdx_guid *g, uint64_t off, uint32_t len,
		       uint32_t required)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		uint8_t *e = rgn(im, i) + 16 + 32 * j;

		if (g)
			memcpy(e, g->bytes, 16);
		set_le32(e + 16, (uint32_t)off);
		set_le32(e + 20, (uint32_t)(off >> 32));
		set_le32(e + 24, len);
		set_le32(e + 28, required);
	}
	fix_regions(im);
}

static uint8_t *meta_entry(struct img *im, unsigned j)
{
	return im->m.data + im->plan.meta_offset + 32 + 32 * j;
}

static uint8_t *item(struct img *im, uint32_t off)
{
	return im->m.data + im->plan.meta_offset + off;
}

static void test_good(void **state)
{
	static const struct {
		enum vhdx_type type;
		uint64_t size;
		uint32_t bs, lss;
	} cases[] = {
		{ VHDX_TYPE_DYNAMIC, 1 * GiB, 0, 512 },
		{ VHDX_TYPE_DYNAMIC, 4097 * MiB, 1 * MiB, 4096 },
		{ VHDX_TYPE_FIXED, 8 * MiB, 1 * MiB, 4096 },
		{ VHDX_TYPE_FIXED, 10 * MiB - 512, 2 * MiB, 512 },
		{ VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 512 },
		{ VHDX_TYPE_DIFFERENCING, 20 * GiB, 2 * MiB, 4096 },
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct img im;
		struct vhdx_disk d;
		char why[VHDX_WHY_SIZE];
		const struct vhdx_plan *p = &im.plan;

		make(&im, cases[c].type, cases[c].size, cases[c].bs, cases[c].lss);
		memset(why, 'x', sizeof(why));
		assert_int_equal(open_img(&im, &d, why), VHDX_OK);
		assert_string_equal(why, "");
		assert_int_equal(d.file_size, p->file_size);
		assert_int_equal(d.type, cases[c].type);
		assert_memory_equal(&d.geom, &p->geom, sizeof(d.geom));
		assert_int_equal(d.geom.virtual_size, cases[c].size);
		assert_int_equal(d.physical_sector_size, p->params.physical_sector_size);
		assert_int_equal(d.file_parameters_flags, cases[c].type == VHDX_TYPE_FIXED ? 1 :
							  cases[c].type == VHDX_TYPE_DIFFERENCING ? 2 : 0);
		assert_true(d.has_page83);
		assert_memory_equal(&d.page83, &p->params.page83, 16);
		assert_int_equal(d.current_header, 1);
		assert_int_equal(d.sequence, 2);
		assert_memory_equal(&d.file_write_guid, &p->params.file_write_guid, 16);
		assert_memory_equal(&d.data_write_guid, &p->params.data_write_guid, 16);
		assert_true(vhdx_guid_is_zero(&d.log_guid));
		assert_false(d.log_replay_needed);
		assert_int_equal(d.log_offset, p->log_offset);
		assert_int_equal(d.log_length, p->log_length);
		assert_int_equal(d.region_table_used, 0);
		assert_int_equal(d.bat_offset, p->bat_offset);
		assert_int_equal(d.bat_length, p->bat_length);
		assert_int_equal(d.meta_offset, p->meta_offset);
		assert_int_equal(d.meta_length, p->meta_length);
		if (cases[c].type == VHDX_TYPE_DIFFERENCING) {
			assert_int_equal(d.locator_offset, p->meta_offset + 0x10028);
			assert_int_equal(d.locator_length, p->locator_size);
			assert_int_equal(d.locator_count, 3);
		} else {
			assert_int_equal(d.locator_offset, 0);
			assert_int_equal(d.locator_length, 0);
			assert_int_equal(d.locator_count, 0);
		}
		/* a larger scratch: the same */
		{
			struct vhdx_disk d2;

			assert_int_equal(open_at(im.m.data, p->file_size, p->file_size, &d2, why, 1 << 20),
					 VHDX_OK);
			assert_memory_equal(&d, &d2, sizeof(d));
		}
		mem_sink_free(&im.m);
	}
	assert_true(sizeof(struct vhdx_disk) < 1024);
}

static int get(const struct img *im, const struct vhdx_disk *d, const char *key, char *buf, size_t len,
	       size_t scratch_len)
{
	struct mem_source s;
	uint8_t *scratch = malloc(scratch_len + 64);
	int err;
	size_t i;

	mem_source_init(&s, im->m.data, im->plan.file_size, im->plan.file_size);
	memset(scratch, 0xEE, scratch_len + 64);
	err = vhdx_disk_locator_get(d, &s.src, key, buf, len, scratch, scratch_len);
	for (i = 0; i < 64; i++)
		assert_int_equal(scratch[scratch_len + i], 0xEE);
	free(scratch);
	return err;
}

static void test_locator_get(void **state)
{
	struct img im, dyn;
	struct vhdx_disk d, dd;
	char why[VHDX_WHY_SIZE], buf[600];
	size_t n, i;
	static char long_value[300];
	const struct vhdx_kv long_kv[] = {
		{ "parent_linkage", "{20212223-2425-2627-2829-2a2b2c2d2e2f}" },
		{ "relative_path", long_value },
	};

	(void)state;
	make(&im, VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 512);
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(get(&im, &d, locator[i].key, buf, sizeof(buf), 4096), VHDX_OK);
		assert_string_equal(buf, locator[i].value);
	}
	/* absent: no such key, a prefix of one, a key with a suffix */
	assert_int_equal(get(&im, &d, "volume_path", buf, sizeof(buf), 4096), VHDX_ERR_RANGE);
	assert_int_equal(get(&im, &d, "relative", buf, sizeof(buf), 4096), VHDX_ERR_RANGE);
	assert_int_equal(get(&im, &d, "relative_paths", buf, sizeof(buf), 4096), VHDX_ERR_RANGE);
	assert_int_equal(get(&im, &d, "", buf, sizeof(buf), 4096), VHDX_ERR_RANGE);
	/* NOSPACE below the value's length + NUL, nothing usable left; exact fit ok */
	n = strlen(locator[2].value) + 1;
	for (i = 1; i < n; i++) {
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(get(&im, &d, locator[2].key, buf, i, 4096), VHDX_ERR_NOSPACE);
		assert_int_equal(buf[0], '\0');
		assert_int_equal(buf[i], 'Z');
	}
	assert_int_equal(get(&im, &d, locator[2].key, buf, 0, 4096), VHDX_ERR_NOSPACE);
	assert_int_equal(get(&im, &d, locator[2].key, buf, n, 4096), VHDX_OK);
	assert_string_equal(buf, locator[2].value);
	/* scratch: 4096 is enough, less is INVAL; NULLs */
	assert_int_equal(get(&im, &d, locator[1].key, buf, sizeof(buf), 4095), VHDX_ERR_INVAL);
	assert_int_equal(get(&im, &d, NULL, buf, sizeof(buf), 4096), VHDX_ERR_INVAL);
	assert_int_equal(get(&im, &d, locator[1].key, NULL, sizeof(buf), 4096), VHDX_ERR_INVAL);
	assert_int_equal(get(&im, NULL, locator[1].key, buf, sizeof(buf), 4096), VHDX_ERR_INVAL);
	/* no locator: RANGE */
	make(&dyn, VHDX_TYPE_DYNAMIC, 64 * MiB, 0, 512);
	assert_int_equal(open_img(&dyn, &dd, why), VHDX_OK);
	assert_int_equal(get(&dyn, &dd, "parent_linkage", buf, sizeof(buf), 4096), VHDX_ERR_RANGE);
	mem_sink_free(&dyn.m);
	/* an entry damaged after open: CORRUPT, never an outside read */
	set_le32(item(&im, 0x10028) + 20 + 12 + 4, 0xFFFFFF00u);
	assert_int_equal(get(&im, &d, locator[2].key, buf, sizeof(buf), 4096), VHDX_ERR_CORRUPT);
	mem_sink_free(&im.m);

	/* a value longer than one conversion piece (512 bytes) with a
	 * surrogate pair across the pieces' border (bytes 510..513) */
	memset(long_value, 'x', 255);
	strcpy(long_value + 255, "\xF0\x9F\x98\x80y");
	make_kv(&im, VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 4096, long_kv, 2);
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	assert_int_equal(get(&im, &d, "relative_path", buf, sizeof(buf), 4096), VHDX_OK);
	assert_string_equal(buf, long_value);
	mem_sink_free(&im.m);
}

/* One header damaged: the other is used; both: refused. */
static void test_headers(void **state)
{
	struct img im;
	struct vhdx_disk d;
	char why[VHDX_WHY_SIZE];

	(void)state;
	make(&im, VHDX_TYPE_DYNAMIC, 1 * GiB, 0, 512);
	hdr(&im, 1)[100] ^= 1; /* header 2, current, checksum fails */
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	assert_int_equal(d.current_header, 0);
	assert_int_equal(d.sequence, 1);
	hdr(&im, 1)[100] ^= 1;
	hdr(&im, 0)[0] = 'X'; /* header 1's signature */
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	assert_int_equal(d.current_header, 1);
	hdr(&im, 1)[100] ^= 1;
	expect_refusal(&im, VHDX_ERR_CORRUPT, "no valid header");
	hdr(&im, 0)[0] = 'h';
	hdr(&im, 0)[100] ^= 1;
	expect_refusal(&im, VHDX_ERR_CORRUPT, "both header checksums fail");
	hdr(&im, 0)[100] ^= 1;
	hdr(&im, 1)[100] ^= 1;
	/* same sequence: identical copies are accepted, different ones refused */
	memcpy(hdr(&im, 1), hdr(&im, 0), 4096);
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	assert_int_equal(d.current_header, 0);
	hdr(&im, 1)[16] ^= 1; /* FileWriteGuid */
	fix_header(&im, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "same sequence number");
	mem_sink_free(&im.m);

	/* the current header's Version, LogVersion, log placement */
	make(&im, VHDX_TYPE_DYNAMIC, 1 * GiB, 0, 512);
	set_le32(hdr(&im, 1) + 64, 0x00020000); /* LogVersion 0, Version 2 */
	fix_header(&im, 1);
	expect_refusal(&im, VHDX_ERR_UNSUPPORTED, "Version 2");
	set_le32(hdr(&im, 1) + 64, 0x00010001); /* LogVersion 1 */
	fix_header(&im, 1);
	expect_refusal(&im, VHDX_ERR_UNSUPPORTED, "LogVersion 1");
	set_le32(hdr(&im, 1) + 64, 0x00010000);
	set_le32(hdr(&im, 1) + 72, 0x180000); /* LogOffset 1.5 MiB */
	fix_header(&im, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "the log at 0x180000");
	set_le32(hdr(&im, 1) + 72, 0);
	set_le32(hdr(&im, 1) + 76, 1); /* LogOffset 4 GiB: outside */
	fix_header(&im, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "past the file end");
	/* a log that needs replay is not an error here */
	set_le32(hdr(&im, 1) + 72, 0x100000);
	set_le32(hdr(&im, 1) + 76, 0);
	hdr(&im, 1)[48] = 0x42;
	fix_header(&im, 1);
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	assert_true(d.log_replay_needed);
	assert_int_equal(d.log_guid.bytes[0], 0x42);
	mem_sink_free(&im.m);
}

/* vhdx_has_signature: the 8 bytes "vhdxfile" at offset 0, nothing less */
static void test_has_signature(void **state)
{
	struct img im;
	uint8_t b[16] = "vhdxfile";

	(void)state;
	make(&im, VHDX_TYPE_DYNAMIC, 64 * MiB, 32 * MiB, 512);
	assert_true(vhdx_has_signature(im.m.data, im.m.high_water));
	assert_true(vhdx_has_signature(b, 8));
	assert_true(vhdx_has_signature(b, sizeof(b)));
	assert_false(vhdx_has_signature(b, 7)); /* shorter than the signature */
	assert_false(vhdx_has_signature(b, 0));
	b[7] = 'E';
	assert_false(vhdx_has_signature(b, sizeof(b)));
	memcpy(b, " vhdxfile", 9); /* not at offset 0 */
	assert_false(vhdx_has_signature(b, sizeof(b)));
	im.m.data[0] = 'V';
	assert_false(vhdx_has_signature(im.m.data, im.m.high_water));
	mem_sink_free(&im.m);
}

static void test_file_identifier(void **state)
{
	struct img im;
	struct vhdx_disk d;
	char why[VHDX_WHY_SIZE];
	uint8_t zeros[8192] = { 0 };

	(void)state;
	make(&im, VHDX_TYPE_FIXED, 8 * MiB, 1 * MiB, 4096);
	im.m.data[3] = 'X';
	expect_refusal(&im, VHDX_ERR_CORRUPT, "vhdxfile");
	im.m.data[3] = 'x';
	/* cut inside the first MiB, at sizes that are not sector multiples */
	assert_int_equal(open_at(im.m.data, 5000, 5000, &d, why, VHDX_OPEN_SCRATCH_MIN), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(why, "needs 1 MiB [2.2]"));
	assert_int_equal(open_at(im.m.data, 7, 7, &d, why, VHDX_OPEN_SCRATCH_MIN), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(why, "vhdxfile"));
	assert_int_equal(open_at(zeros, 0, 0, &d, why, VHDX_OPEN_SCRATCH_MIN), VHDX_ERR_CORRUPT);
	assert_int_equal(open_at(zeros, sizeof(zeros), sizeof(zeros), &d, why, VHDX_OPEN_SCRATCH_MIN),
			 VHDX_ERR_CORRUPT);
	mem_sink_free(&im.m);
}

static void test_region_tables(void **state)
{
	static const struct vhdx_guid other = { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };
	static const struct vhdx_guid g_bat = VHDX_GUID_BAT_REGION, g_meta = VHDX_GUID_METADATA_REGION;
	struct img im;
	struct vhdx_disk d;
	char why[VHDX_WHY_SIZE];
	uint64_t bat, meta;

	(void)state;
	make(&im, VHDX_TYPE_DYNAMIC, 1 * GiB, 0, 512);
	bat = im.plan.bat_offset;
	meta = im.plan.meta_offset;
	/* table 1 damaged: table 2 */
	rgn(&im, 0)[1000] ^= 1;
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	assert_int_equal(d.region_table_used, 1);
	assert_int_equal(d.bat_offset, bat);
	rgn(&im, 1)[0] = 'X';
	expect_refusal(&im, VHDX_ERR_CORRUPT, "no valid region table");
	rgn(&im, 1)[0] = 'r';
	rgn(&im, 0)[1000] ^= 1;
	/* a region outside the file, off 1 MiB multiples, twice, or missing */
	set_region(&im, 0, NULL, 64 * GiB, 1 * MiB, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "outside the file");
	set_region(&im, 0, NULL, bat + 4096, 1 * MiB, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "1 MiB multiples");
	set_region(&im, 0, NULL, bat, 0, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "1 MiB multiples");
	set_region(&im, 0, NULL, 1 * MiB, 1 * MiB, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "overlaps the log");
	set_region(&im, 0, NULL, meta, 1 * MiB, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "overlap [2.1]");
	set_region(&im, 0, &g_meta, bat, 1 * MiB, 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "listed twice");
	set_region(&im, 0, &other, bat, 1 * MiB, 0); /* unknown, optional: ignored */
	expect_refusal(&im, VHDX_ERR_CORRUPT, "no BAT region");
	set_region(&im, 0, &other, bat, 1 * MiB, 1);
	expect_refusal(&im, VHDX_ERR_UNSUPPORTED, "Required");
	/* Required 0 on a known region: accepted (qemu 1.6 wrote it) */
	set_region(&im, 0, &g_bat, bat, 1 * MiB, 0);
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	set_le32(rgn(&im, 0) + 8, 2048);
	set_le32(rgn(&im, 1) + 8, 2048);
	fix_regions(&im);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "EntryCount 2048");
	mem_sink_free(&im.m);

	/* truncated before the BAT's end */
	make(&im, VHDX_TYPE_DYNAMIC, 1 * GiB, 0, 512);
	assert_int_equal(open_at(im.m.data, im.plan.bat_offset, im.plan.bat_offset + 4096, &d, why,
				 VHDX_OPEN_SCRATCH_MIN), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(why, "the BAT region ends at"));
	mem_sink_free(&im.m);
}

static void test_metadata(void **state)
{
	struct img im;
	char why[VHDX_WHY_SIZE];
	struct vhdx_disk d;

	(void)state;
	make(&im, VHDX_TYPE_DYNAMIC, 1 * GiB, 1 * MiB, 512);
	/* a required item missing: Logical Sector Size made a user item */
	set_le32(meta_entry(&im, 2) + 24, 0x7);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "missing required metadata item: Logical Sector Size");
	set_le32(meta_entry(&im, 2) + 24, 0x6);
	/* an unknown item marked IsRequired */
	meta_entry(&im, 4)[0] ^= 0xFF;
	expect_refusal(&im, VHDX_ERR_UNSUPPORTED, "IsRequired");
	/* not required: accepted, without a Page 83 ID */
	set_le32(meta_entry(&im, 4) + 24, 0x2);
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	assert_false(d.has_page83);
	meta_entry(&im, 4)[0] ^= 0xFF;
	set_le32(meta_entry(&im, 4) + 24, 0x6);
	/* lengths and places of items */
	set_le32(meta_entry(&im, 1) + 20, 4);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "Virtual Disk Size item: Length 4");
	set_le32(meta_entry(&im, 1) + 20, 8);
	set_le32(meta_entry(&im, 1) + 16, 1 * MiB - 4);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "outside the metadata region");
	set_le32(meta_entry(&im, 1) + 16, 0x8000);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "outside the metadata region");
	set_le32(meta_entry(&im, 1) + 16, 0x10008);
	/* values */
	set_le32(item(&im, 0x10000), 3 * MiB);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "BlockSize 3145728");
	set_le32(item(&im, 0x10000), 512 * KiB);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "BlockSize");
	set_le32(item(&im, 0x10000), 1 * MiB);
	set_le32(item(&im, 0x10004), 4);
	expect_refusal(&im, VHDX_ERR_UNSUPPORTED, "reserved bits");
	set_le32(item(&im, 0x10004), 2); /* HasParent, no locator */
	expect_refusal(&im, VHDX_ERR_CORRUPT, "no parent locator");
	set_le32(item(&im, 0x10004), 0);
	set_le32(item(&im, 0x10008), 1 * GiB + 1);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "not a multiple of the logical sector size");
	set_le32(item(&im, 0x10008), 0);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "VirtualDiskSize 0");
	/* 200 GiB at 1 MiB blocks: 204800 entries, more than the 1 MiB BAT holds */
	set_le32(item(&im, 0x10008), 0);
	set_le32(item(&im, 0x1000C), 200 / 4);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "the BAT region cannot hold");
	set_le32(item(&im, 0x10008), 1 << 30);
	set_le32(item(&im, 0x1000C), 0);
	set_le32(item(&im, 0x10010), 1024);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "LogicalSectorSize 1024");
	set_le32(item(&im, 0x10010), 512);
	set_le32(item(&im, 0x10014), 2048);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "PhysicalSectorSize 2048");
	set_le32(item(&im, 0x10014), 512);
	/* the table itself */
	item(&im, 0)[0] = 'M';
	expect_refusal(&im, VHDX_ERR_CORRUPT, "signature");
	item(&im, 0)[0] = 'm';
	item(&im, 10)[0] = 0xFF;
	item(&im, 10)[1] = 0xFF;
	expect_refusal(&im, VHDX_ERR_CORRUPT, "EntryCount 65535");
	item(&im, 10)[0] = 5;
	item(&im, 10)[1] = 0;
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	mem_sink_free(&im.m);
}

static void test_parent_locator(void **state)
{
	struct img im;
	char why[VHDX_WHY_SIZE];
	struct vhdx_disk d;
	uint8_t *pl;

	(void)state;
	make(&im, VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 4096);
	pl = item(&im, 0x10028);
	/* entry 1's value past the item */
	set_le32(pl + 20 + 12 + 4, im.plan.locator_size - 2);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "parent locator entry 1");
	set_le32(pl + 20 + 12 + 4, 0xFFFFFFF0u);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "outside the item");
	mem_sink_free(&im.m);
	make(&im, VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 4096); /* fresh */
	pl = item(&im, 0x10028);
	pl[20 + 8] = 3; /* an odd key length */
	expect_refusal(&im, VHDX_ERR_CORRUPT, "parent locator entry 0");
	pl[20 + 8] = 28;
	assert_int_equal(open_img(&im, &d, why), VHDX_OK);
	pl[18] = 200; /* KeyValueCount past the item */
	expect_refusal(&im, VHDX_ERR_CORRUPT, "do not fit the item");
	pl[18] = 3;
	pl[0] ^= 1;
	expect_refusal(&im, VHDX_ERR_UNSUPPORTED, "not of the VHDX type");
	pl[0] ^= 1;
	set_le32(meta_entry(&im, 5) + 20, 12);
	expect_refusal(&im, VHDX_ERR_CORRUPT, "shorter than its header");
	set_le32(meta_entry(&im, 5) + 24, 0x5); /* a user item: no locator */
	expect_refusal(&im, VHDX_ERR_CORRUPT, "no parent locator");
	mem_sink_free(&im.m);
}

/* A failure at every read: VHDX_ERR_IO with a reason; NULLs, small scratch. */
static void test_reads(void **state)
{
	struct img im;
	struct vhdx_disk d;
	struct mem_source s;
	char why[VHDX_WHY_SIZE];
	uint8_t *scratch = malloc(VHDX_OPEN_SCRATCH_MIN);
	long n, total;

	(void)state;
	make(&im, VHDX_TYPE_DIFFERENCING, 64 * MiB, 0, 512);
	mem_source_init(&s, im.m.data, im.plan.file_size, im.plan.file_size);
	assert_int_equal(vhdx_disk_open(&d, &s.src, scratch, VHDX_OPEN_SCRATCH_MIN, why, sizeof(why)), VHDX_OK);
	total = s.reads;
	assert_true(total >= 5);
	for (n = 1; n <= total; n++) {
		mem_source_init(&s, im.m.data, im.plan.file_size, im.plan.file_size);
		s.fail_at = n;
		assert_int_equal(vhdx_disk_open(&d, &s.src, scratch, VHDX_OPEN_SCRATCH_MIN, why, sizeof(why)),
				 VHDX_ERR_IO);
		assert_true(why[0]);
	}
	mem_source_init(&s, im.m.data, im.plan.file_size, im.plan.file_size);
	assert_int_equal(vhdx_disk_open(&d, &s.src, scratch, VHDX_OPEN_SCRATCH_MIN - 1, why, sizeof(why)),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_disk_open(NULL, &s.src, scratch, VHDX_OPEN_SCRATCH_MIN, why, sizeof(why)),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_disk_open(&d, NULL, scratch, VHDX_OPEN_SCRATCH_MIN, why, sizeof(why)),
			 VHDX_ERR_INVAL);
	assert_int_equal(vhdx_disk_open(&d, &s.src, NULL, VHDX_OPEN_SCRATCH_MIN, why, sizeof(why)),
			 VHDX_ERR_INVAL);
	/* no why buffer: allowed */
	assert_int_equal(vhdx_disk_open(&d, &s.src, scratch, VHDX_OPEN_SCRATCH_MIN, NULL, 0), VHDX_OK);
	/* a short why: cut, NUL-terminated, nothing past it */
	im.m.data[0] = 0;
	memset(why, 'Z', sizeof(why));
	assert_int_equal(vhdx_disk_open(&d, &s.src, scratch, VHDX_OPEN_SCRATCH_MIN, why, 10), VHDX_ERR_CORRUPT);
	assert_int_equal(strlen(why), 9);
	assert_int_equal(why[10], 'Z');
	free(scratch);
	mem_sink_free(&im.m);
}

static int errors_of_check(const uint8_t *data, uint64_t size, struct vhdx_info *info)
{
	struct mem_source s;
	uint8_t *scratch = malloc(VHDX_READ_SCRATCH_MIN);

	mem_source_init(&s, data, size, size);
	assert_int_equal(vhdx_check(&s.src, scratch, VHDX_READ_SCRATCH_MIN, info, NULL, NULL), VHDX_OK);
	free(scratch);
	return (int)info->errors;
}

/*
 * Random damage to the first 4 MiB of each type: open never reads
 * outside (mem_source asserts), says why it refuses, and never refuses an
 * image the checker finds no error in; when both agree, they agree on
 * what the disk is.
 */
static void test_damage(void **state)
{
	static const enum vhdx_type types[] = { VHDX_TYPE_DYNAMIC, VHDX_TYPE_FIXED, VHDX_TYPE_DIFFERENCING };
	struct vhdx_info *info = malloc(sizeof(*info));
	unsigned seed = 1, t, k, opened = 0, refused = 0;

	(void)state;
	for (t = 0; t < 3; t++) {
		struct img im;
		uint8_t *orig;

		make(&im, types[t], 8 * MiB, 1 * MiB, t == 1 ? 4096 : 512);
		orig = malloc(im.plan.file_size);
		memcpy(orig, im.m.data, im.plan.file_size);
		for (k = 0; k < 400; k++) {
			struct vhdx_disk d;
			char why[VHDX_WHY_SIZE];
			unsigned flips = 1 + k % 3, f;
			int err;

			memcpy(im.m.data, orig, im.plan.file_size);
			for (f = 0; f < flips; f++) {
				/* bias to the structures: headers, region tables, metadata table and items */
				static const uint64_t spots[] = { 64 * KiB, 128 * KiB, 192 * KiB, 256 * KiB,
								  2 * MiB, 2 * MiB + 64 * KiB };
				uint64_t at;

				seed = seed * 1103515245u + 12345u;
				at = spots[(seed >> 8) % 6] + ((seed >> 16) % 160);
				seed = seed * 1103515245u + 12345u;
				im.m.data[at] ^= (uint8_t)(1u << ((seed >> 16) & 7));
			}
			if (k % 4 == 0) { /* checksums made right again: the damage reaches the fields */
				fix_header(&im, 0);
				fix_header(&im, 1);
				fix_regions(&im);
			}
			err = open_img(&im, &d, why);
			if (err) {
				assert_true(err == VHDX_ERR_CORRUPT || err == VHDX_ERR_UNSUPPORTED);
				assert_true(why[0]);
				refused++;
				if (errors_of_check(im.m.data, im.plan.file_size, info) == 0)
					fail_msg("type %u case %u: refused (%s) an image that checks clean", t, k, why);
				continue;
			}
			opened++;
			if (errors_of_check(im.m.data, im.plan.file_size, info) == 0) {
				assert_int_equal(d.type, info->type);
				assert_memory_equal(&d.geom, &info->geom, sizeof(d.geom));
				assert_int_equal(d.current_header, info->current_header);
				assert_int_equal(d.bat_offset, info->bat_offset);
				assert_int_equal(d.meta_offset, info->meta_offset);
			}
		}
		free(orig);
		mem_sink_free(&im.m);
	}
	fprintf(stderr, "opened %u refused %u\n", opened, refused);
	assert_true(opened > 100 && refused > 100);
	free(info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_locator_get),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_file_identifier),
		cmocka_unit_test(test_has_signature),
		cmocka_unit_test(test_region_tables),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_parent_locator),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_damage),
	};

	return cmocka_run_group_tests_name("open", tests, NULL, NULL);
}
