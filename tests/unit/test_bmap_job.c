/* SPDX-License-Identifier: MIT */
/*
 * test_bmap_job.c - the bmap and verify jobs (app/vhdx_bmap_job.c) over a
 * RAM disk: the manifest is the same bytes whether the buffer holds every
 * range (one pass) or none or a few (the rest read again), and equals one
 * built here block by block with the writer; a disk that changes between
 * the passes, a failed read and ESC are errors; verify names the first bad
 * range, a stray byte outside the ranges (with zeros), a wrong pin, another
 * size, and accepts a larger device.
 */
#include "test_util.h"
#include "mem_source.h"
#include "vhdx_bmap_job.h"

#define MIB (1024u * 1024u)
#define DISK_SIZE (9u * MIB + 512u)  /* the last block partial */

static uint8_t disk_data[DISK_SIZE];
static uint8_t page[VHDX_READER_PAGE] __attribute__((aligned(4096)));
static uint8_t buf[VHDX_BMAP_MAKE_BUF_MIN + 200 * 48] __attribute__((aligned(4096)));
static char manifest[256 * 1024];
static char reference[256 * 1024];

struct mem_file {
	char *text;
	size_t cap;
	size_t len;
	int fail_at;  /* 1-based write() that fails; 0 never */
	int writes;
};

static int mem_write(void *ctx, uint64_t offset, const void *data, size_t len)
{
	struct mem_file *f = ctx;

	if (++f->writes == f->fail_at)
		return VHDX_ERR_IO;
	assert_true(offset + len <= f->cap);
	memcpy(f->text + offset, data, len);
	if (offset + len > f->len)
		f->len = (size_t)(offset + len);
	return VHDX_OK;
}

/* Blocks with data: a run crossing the 1 MiB boundary at block 256 (cut
 * there), every other block of MiB 3 (128 ranges), two whole MiB and 8 KiB,
 * a single byte at the end of a block, and the partial last block. */
static void fill_disk(void)
{
	uint64_t b;
	size_t i;

	memset(disk_data, 0, sizeof(disk_data));
	for (b = 250; b < 262; b++)
		memset(disk_data + b * 4096, (int)(b & 0xff) | 1, 4096);
	for (b = 768; b < 1024; b += 2)
		disk_data[b * 4096 + (b % 4096)] = 0x5a;
	for (i = 5 * MIB; i < 7 * MIB + 8192; i++)
		disk_data[i] = (uint8_t)(i * 7 + 3);
	disk_data[2000 * 4096 + 4095] = 1;
	disk_data[DISK_SIZE - 1] = 0xee;
}

/* MiB 2, 4 and 8 are holes (a sparse file's): ZERO, never read. */
static int holes(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret)
{
	uint64_t mib = offset / MIB, end = (mib + 1) * MIB;

	(void)r;
	memset(ret, 0, sizeof(*ret));
	ret->kind = mib == 2 || mib == 4 || mib == 8 ? VHDX_EXTENT_ZERO : VHDX_EXTENT_DATA;
	ret->file_offset = offset;
	ret->length = end - offset < len ? end - offset : len;
	return VHDX_OK;
}

static void reader_over(struct vhdx_reader *r, struct mem_source *m, uint64_t size)
{
	mem_source_init(m, disk_data, DISK_SIZE, size);
	memset(r, 0, sizeof(*r));
	r->raw = &m->src;
	r->size = size;
	r->scratch = page;
	r->scratch_len = sizeof(page);
	r->raw_map = holes;
}

/* The manifest built here: ranges found block by block, cut at each MiB. */
static size_t reference_bmap(void)
{
	struct vhdx_bmap_writer w;
	struct vhdx_bmap_range r[600];
	size_t nr = 0, len, n, i;
	uint64_t blocks = (DISK_SIZE + 4095) / 4096, b, mapped = 0;
	char hex[65];

	for (b = 0; b < blocks; b++) {
		uint64_t start = b * 4096, end = start + 4096 > DISK_SIZE ? DISK_SIZE : start + 4096;
		bool data = false;

		for (i = start; i < end; i++)
			data |= disk_data[i] != 0;
		if (!data)
			continue;
		mapped++;
		if (nr && r[nr - 1].last == b - 1 && b % 256 != 0) {
			r[nr - 1].last = b;
			continue;
		}
		assert_true(nr < 600);
		r[nr].first = r[nr].last = b;
		nr++;
	}
	for (i = 0; i < nr; i++) {
		uint64_t s, e;

		vhdx_bmap_range_bytes(&r[i], DISK_SIZE, &s, &e);
		vhdx_sha256(disk_data + s, (size_t)(e - s), r[i].sha256);
	}
	assert_int_equal(vhdx_bmap_write_head(&w, DISK_SIZE, mapped, reference, sizeof(reference), &len), VHDX_OK);
	for (i = 0; i < nr; i++, len += n)
		assert_int_equal(vhdx_bmap_write_range(&w, &r[i], reference + len, sizeof(reference) - len, &n),
				 VHDX_OK);
	assert_int_equal(vhdx_bmap_write_tail(&w, reference + len, sizeof(reference) - len, &n), VHDX_OK);
	len += n;
	assert_int_equal(vhdx_bmap_write_checksum(&w, hex), VHDX_OK);
	memcpy(reference + w.checksum_offset, hex, 64);
	return len;
}

static int make(struct vhdx_bmap_make *job, struct mem_file *f, size_t buf_len)
{
	struct vhdx_reader r;
	struct mem_source m;

	reader_over(&r, &m, DISK_SIZE);
	memset(f, 0, sizeof(*f));
	f->text = manifest;
	f->cap = sizeof(manifest);
	memset(job, 0, sizeof(*job));
	job->disk = &r;
	job->write = mem_write;
	job->ctx = f;
	return vhdx_bmap_make(job, buf, buf_len);
}

static void test_make_one_or_two_passes(void **state)
{
	/* room for that many ranges; how many are kept: a window whose
	 * ranges do not all fit is read again whole */
	static const size_t keep[] = { 0, 1, 2, 7, 130, 131, 200 };
	static const uint64_t kept[] = { 0, 1, 2, 2, 130, 131, 135 };
	struct vhdx_bmap_make job;
	struct mem_file f;
	size_t ref_len, i;

	(void)state;
	fill_disk();
	ref_len = reference_bmap();
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		assert_int_equal(make(&job, &f, VHDX_BMAP_MAKE_BUF_MIN + keep[i] * 48), VHDX_OK);
		assert_int_equal(f.len, ref_len);
		assert_memory_equal(manifest, reference, ref_len);
		assert_int_equal(job.file_size, ref_len);
		assert_int_equal(job.ranges, 1 + 1 + 128 + 1 + 1 + 2 + 1);
		assert_int_equal(job.kept, kept[i]);
	}
	/* MiB 0, 1, 3, 5, 6, 7 and the last 512 bytes hold data: 2, 4 and 8
	 * are not read */
	/* all kept: read once */
	assert_int_equal(make(&job, &f, sizeof(buf)), VHDX_OK);
	assert_int_equal(job.reread, 0);
	assert_int_equal(job.read, 6 * MIB + 512);
	/* none kept: every window with data read again */
	assert_int_equal(make(&job, &f, VHDX_BMAP_MAKE_BUF_MIN), VHDX_OK);
	assert_int_equal(job.reread, 6 * MIB + 512);
	assert_int_equal(job.read, 2 * (6 * MIB + 512));
	/* two kept (MiB 0's and 1's): read again from MiB 3 on */
	assert_int_equal(make(&job, &f, VHDX_BMAP_MAKE_BUF_MIN + 2 * 48), VHDX_OK);
	assert_int_equal(job.reread, 4 * MIB + 512);
	/* three: the third is in MiB 3 with 127 others not kept: MiB 3 again */
	assert_int_equal(make(&job, &f, VHDX_BMAP_MAKE_BUF_MIN + 3 * 48), VHDX_OK);
	assert_int_equal(job.kept, 2);
	assert_int_equal(job.reread, 4 * MIB + 512);
	assert_memory_equal(manifest, reference, ref_len);
}

/* The disk changes after the first pass: a block of MiB 7 zeroed. */
static int change_after_pass_one(void *ctx, uint64_t done, uint64_t total)
{
	uint64_t *last = ctx;

	(void)total;
	if (done < *last)
		memset(disk_data + 7 * MIB, 0, 4096);
	*last = done;
	return 0;
}

static int stop_at_mib5(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	(void)total;
	return done >= 5 * MIB;
}

static void test_make_errors(void **state)
{
	struct vhdx_bmap_make job;
	struct vhdx_reader r;
	struct mem_source m;
	struct mem_file f;
	(void)state;
	fill_disk();
	/* too small a buffer, an empty disk */
	assert_int_equal(make(&job, &f, VHDX_BMAP_MAKE_BUF_MIN - 1), VHDX_ERR_NOSPACE);
	reader_over(&r, &m, 0);
	job.disk = &r;
	job.progress = NULL;
	assert_int_equal(vhdx_bmap_make(&job, buf, sizeof(buf)), VHDX_ERR_INVAL);
	/* a failed read: the disk's, at its window */
	reader_over(&r, &m, DISK_SIZE);
	m.fail_at = 3;
	job.disk = &r;
	assert_int_equal(vhdx_bmap_make(&job, buf, sizeof(buf)), VHDX_ERR_IO);
	assert_true(job.source_failed);
	assert_false(job.write_failed);
	/* a failed write */
	reader_over(&r, &m, DISK_SIZE);
	memset(&f, 0, sizeof(f));
	f.text = manifest;
	f.cap = sizeof(manifest);
	f.fail_at = 1;
	job.disk = &r;
	assert_int_equal(vhdx_bmap_make(&job, buf, sizeof(buf)), VHDX_ERR_IO);
	assert_true(job.write_failed);
	assert_false(job.source_failed);
	/* ESC */
	f.fail_at = 0;
	job.progress = stop_at_mib5;
	assert_int_equal(vhdx_bmap_make(&job, buf, sizeof(buf)), VHDX_ERR_ABORTED);
}

/* ctx for the changing disk: the write file and the last offset seen */
struct change_ctx {
	struct mem_file f;
	uint64_t last;
};

static int change_write(void *ctx, uint64_t offset, const void *data, size_t len)
{
	return mem_write(&((struct change_ctx *)ctx)->f, offset, data, len);
}

static int change_progress(void *ctx, uint64_t done, uint64_t total)
{
	return change_after_pass_one(&((struct change_ctx *)ctx)->last, done, total);
}

static void test_make_disk_changed(void **state)
{
	struct vhdx_bmap_make job;
	struct vhdx_reader r;
	struct mem_source m;
	struct change_ctx c;

	(void)state;
	fill_disk();
	reader_over(&r, &m, DISK_SIZE);
	memset(&c, 0, sizeof(c));
	c.f.text = manifest;
	c.f.cap = sizeof(manifest);
	memset(&job, 0, sizeof(job));
	job.disk = &r;
	job.write = change_write;
	job.progress = change_progress;
	job.ctx = &c;
	/* nothing kept: the second pass reads MiB 7 without its first block */
	assert_int_equal(vhdx_bmap_make(&job, buf, VHDX_BMAP_MAKE_BUF_MIN), VHDX_ERR_CORRUPT);
	assert_true(job.source_changed);
	fill_disk();
}

static int verify(struct vhdx_verify *v, const char *text, size_t len, const char *pin, uint64_t size,
		  bool device, bool zeros, char *why)
{
	static struct vhdx_reader r;
	static struct mem_source m;
	int err;

	reader_over(&r, &m, size);
	m.src.is_device = device;
	memset(v, 0, sizeof(*v));
	v->disk = &r;
	v->zeros = zeros;
	why[0] = 0;
	err = vhdx_verify_open(v, text, len, pin, "d.bmap", "disk", why, VHDX_VERIFY_WHY_SIZE);
	if (err)
		return err;
	return vhdx_verify_run(v, buf, sizeof(buf));
}

static void test_verify(void **state)
{
	struct vhdx_verify v;
	char why[VHDX_VERIFY_WHY_SIZE], line[512], pin[65];
	uint8_t d[VHDX_SHA256_SIZE];
	size_t len;
	int i;

	(void)state;
	fill_disk();
	len = reference_bmap();
	assert_int_equal(verify(&v, reference, len, NULL, DISK_SIZE, false, true, why), VHDX_OK);
	assert_int_equal(v.outcome, VHDX_VERIFY_MATCH);
	vhdx_verify_say(&v, "disk", "d.bmap", line, sizeof(line));
	assert_non_null(strstr(line, "disk matches d.bmap: 135 ranges"));
	assert_non_null(strstr(line, "the other blocks read as zeros"));
	/* the pin: right in upper case, wrong by one digit */
	vhdx_sha256(reference, len, d);
	vhdx_sha256_hex(d, pin);
	for (i = 0; i < 64; i++)
		pin[i] = (char)(pin[i] >= 'a' ? pin[i] - 32 : pin[i]);
	assert_int_equal(verify(&v, reference, len, pin, DISK_SIZE, false, false, why), VHDX_OK);
	pin[5] = pin[5] == '0' ? '1' : '0';
	assert_int_equal(verify(&v, reference, len, pin, DISK_SIZE, false, false, why), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(why, "d.bmap: its SHA-256 is "));
	assert_non_null(strstr(why, ", not the --bmap-sha256 given "));
	/* another size; a device larger than ImageSize */
	assert_int_equal(verify(&v, reference, len, NULL, DISK_SIZE + 4096, false, false, why), VHDX_ERR_RANGE);
	assert_non_null(strstr(why, "differs from disk's"));
	assert_int_equal(verify(&v, reference, len, NULL, DISK_SIZE + 4096 - 512, true, false, why), VHDX_OK);
	assert_int_equal(v.device_tail, 4096 - 512);
	/* a manifest cut short */
	assert_int_equal(verify(&v, reference, len - 20, NULL, DISK_SIZE, false, false, why), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(why, "d.bmap: not a valid bmap: "));
	/* a flipped byte in the run of MiB 5-7: that range, both hashes */
	disk_data[6 * MIB + 17] ^= 0x40;
	assert_int_equal(verify(&v, reference, len, NULL, DISK_SIZE, false, false, why), VHDX_OK);
	assert_int_equal(v.outcome, VHDX_VERIFY_RANGE_DIFFERS);
	assert_int_equal(v.range.first, 1536);
	assert_int_equal(v.range.last, 1791);
	vhdx_verify_say(&v, "disk", "d.bmap", line, sizeof(line));
	assert_non_null(strstr(line, "disk: range 1536-1791 (bytes 6291456-7340031) does not match d.bmap: "
				     "expected sha256 "));
	assert_non_null(strstr(line, ", found "));
	disk_data[6 * MIB + 17] ^= 0x40;
	/* a stray byte in an unmapped block: found with zeros only */
	disk_data[769 * 4096 + 9] = 1;
	assert_int_equal(verify(&v, reference, len, NULL, DISK_SIZE, false, false, why), VHDX_OK);
	assert_int_equal(v.outcome, VHDX_VERIFY_MATCH);
	assert_int_equal(verify(&v, reference, len, NULL, DISK_SIZE, false, true, why), VHDX_OK);
	assert_int_equal(v.outcome, VHDX_VERIFY_NOT_ZERO);
	assert_int_equal(v.nonzero_at, 769 * 4096 + 9);
	vhdx_verify_say(&v, "disk", "d.bmap", line, sizeof(line));
	assert_string_equal(line, "disk: block 769 (byte 3149833) is not in the bmap's ranges but does not read as zeros");
	fill_disk();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_one_or_two_passes),
		cmocka_unit_test(test_make_errors),
		cmocka_unit_test(test_make_disk_changed),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
