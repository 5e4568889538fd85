/* SPDX-License-Identifier: MIT */
/*
 * test_convert.c - the core's convert job (vhdx_convert.h) on RAM sources
 * and sinks: the source opened (raw, or refused as a VHDX when its name
 * says it is one), the plan's refusals (a device too small, not a
 * multiple of its blocks, VHDX options with a raw output, a partition
 * table that counts other sectors), a raw source padded to whole sectors
 * for a VHDX and the plan saying so, and the raw write judged by its
 * bytes and its order: the first MiB zeroed and flushed before anything
 * else and written last, after the last flush of the body; a new file's
 * zero pages never written; ESC part-way leaves the first MiB zero; a
 * failed source read is the source's.
 */
#include <stdio.h>

#include "mem_sink.h"
#include "mem_source.h"
#include "test_util.h"
#include "vhdx_convert.h"

#define MiB (1024ull * 1024)
#define DISK (3 * MiB)
#define BUF_LEN (256u * 1024u + 4096u) /* chunks of 256 KiB */

struct fixture {
	uint8_t *disk;           /* the source's bytes */
	struct mem_source ms;
	struct vhdx_reader r;
	uint8_t page[VHDX_READER_PAGE];
	struct vhdx_cli cli;
	struct vhdx_convert job;
	struct mem_sink m;
	uint8_t *buf;
	char why[512];
};

/* A 3 MiB disk: a pattern in the first MiB and at 2 MiB + 8 KiB, zeros elsewhere. */
static void fixture_init(struct fixture *f, uint64_t size, uint64_t target_size, uint32_t target_sector)
{
	uint64_t i;

	memset(f, 0, sizeof(*f));
	f->disk = calloc(1, size ? size : 1);
	assert_non_null(f->disk);
	for (i = 0; i < size && i < MiB; i++)
		f->disk[i] = (uint8_t)(i * 7 + 1);
	for (i = 2 * MiB + 8192; i < size && i < 2 * MiB + 20000; i++)
		f->disk[i] = (uint8_t)(i ^ 0x5a) | 1;
	mem_source_init(&f->ms, f->disk, size, size);
	f->cli.source = "disk.img";
	f->cli.target = "blk2:";
	f->job.cli = &f->cli;
	f->job.target.kind = VHDX_CONVERT_DEVICE;
	f->job.target.size = target_size;
	f->job.target.sector = target_sector;
	mem_sink_init(&f->m, target_size, 0xEE, target_sector);
	f->buf = aligned_alloc(4096, BUF_LEN);
	assert_non_null(f->buf);
}

static int open_raw(struct fixture *f)
{
	int err = vhdx_convert_open_source(&f->ms.src, f->cli.source, VHDX_FORMAT_AUTO, false, NULL, NULL, NULL,
					   f->page, sizeof(f->page), &f->r, f->why, sizeof(f->why));

	f->r.scratch = f->page;
	f->r.scratch_len = sizeof(f->page);
	f->job.source = &f->r;
	return err;
}

static void fixture_free(struct fixture *f)
{
	mem_sink_free(&f->m);
	free(f->disk);
	free(f->buf);
}

static int plan(struct fixture *f)
{
	uint8_t head[VHDX_PARTITION_HEAD];

	assert_int_equal(open_raw(f), VHDX_OK);
	return vhdx_convert_plan(&f->job, head, f->why, sizeof(f->why));
}

static void test_raw_onto_device(void **state)
{
	struct fixture f;
	size_t i, last_flush = 0, head_write = 0;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	f.m.ops = calloc(1, sizeof(*f.m.ops));
	f.m.ops_cap = 1;
	assert_int_equal(plan(&f), VHDX_OK);
	assert_int_equal(f.job.output, VHDX_CONVERT_TO_RAW);
	assert_int_equal(f.job.size, DISK);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BUF_LEN), VHDX_OK);
	assert_memory_equal(f.m.data, f.disk, DISK);
	assert_int_equal(f.m.data[DISK], 0xEE); /* past the disk: the device as it was */
	/* the first MiB zeroed and flushed before anything else */
	assert_true(f.m.ops_len > 3);
	assert_true(f.m.ops[0].kind == MEM_OP_ZERO && f.m.ops[0].off == 0 && f.m.ops[0].len == MiB);
	assert_int_equal(f.m.ops[1].kind, MEM_OP_FLUSH);
	/* ... and written last, after the body's last flush, from its end:
	 * byte 0 the very last write, then a flush */
	for (i = 2; i < f.m.ops_len; i++) {
		if (f.m.ops[i].kind == MEM_OP_WRITE && f.m.ops[i].off == 0)
			head_write = i;
		if (f.m.ops[i].kind == MEM_OP_FLUSH && i + 1 < f.m.ops_len)
			last_flush = i;
	}
	assert_true(last_flush > 1);
	assert_int_equal(head_write, f.m.ops_len - 2);
	assert_int_equal(f.m.ops[f.m.ops_len - 1].kind, MEM_OP_FLUSH);
	for (i = 2; i < last_flush; i++)
		assert_true(f.m.ops[i].kind == MEM_OP_FLUSH || f.m.ops[i].off >= MiB);
	for (i = last_flush + 1; i < head_write; i++)
		assert_true(f.m.ops[i].kind == MEM_OP_WRITE && f.m.ops[i].off > f.m.ops[i + 1].off &&
			    f.m.ops[i].off + f.m.ops[i].len <= MiB);
	assert_int_equal(f.m.progress_last_done, DISK);
	fixture_free(&f);
}

/* A new file reads as zeros: its zero pages are never written or zeroed. */
static void test_raw_new_file_leaves_holes(void **state)
{
	struct fixture f;
	size_t i;

	(void)state;
	fixture_init(&f, DISK, DISK, 512);
	f.job.target.kind = VHDX_CONVERT_NEW_FILE;
	memset(f.m.data, 0, DISK);
	f.m.ops = calloc(1, sizeof(*f.m.ops));
	f.m.ops_cap = 1;
	assert_int_equal(plan(&f), VHDX_OK);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BUF_LEN), VHDX_OK);
	assert_memory_equal(f.m.data, f.disk, DISK);
	for (i = 0; i < f.m.ops_len; i++) {
		assert_int_not_equal(f.m.ops[i].kind, MEM_OP_ZERO);
		if (f.m.ops[i].kind == MEM_OP_WRITE)
			assert_false(f.m.ops[i].off >= MiB + 4096 && f.m.ops[i].off < 2 * MiB + 8192);
	}
	fixture_free(&f);
}

static void test_refusals(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, DISK, 2 * MiB, 512);
	assert_int_equal(plan(&f), VHDX_ERR_RANGE);
	assert_string_equal(f.why, "blk2:: too small: the disk needs 3 MiB (3145728 bytes), the device has "
				   "2 MiB (2097152 bytes)");
	assert_int_equal(f.m.writes + f.m.zeros + f.m.flushes, 0);
	fixture_free(&f);

	fixture_init(&f, DISK + 512, 4 * MiB, 4096);
	assert_int_equal(plan(&f), VHDX_ERR_RANGE);
	assert_non_null(strstr(f.why, "is not a multiple of the device's 4096-byte blocks"));
	fixture_free(&f);

	fixture_init(&f, DISK, 4 * MiB, 512);
	f.cli.block_size_given = true;
	assert_int_equal(plan(&f), VHDX_ERR_INVAL);
	assert_non_null(strstr(f.why, "the output here is raw"));
	fixture_free(&f);

	fixture_init(&f, 0, 4 * MiB, 512);
	assert_int_equal(plan(&f), VHDX_ERR_RANGE);
	assert_string_equal(f.why, "disk.img: an empty disk; nothing to convert");
	fixture_free(&f);
}

static void collect(void *ctx, const char *text)
{
	char *all = ctx;

	strcat(all, text);
	strcat(all, "\n");
}

/* A GPT at byte 512 counts 512-byte sectors: onto 4096-byte blocks refused,
 * or written with a note under --allow-sector-mismatch. */
static void test_sector_mismatch(void **state)
{
	static char lines[8192];
	struct fixture f;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 4096);
	memcpy(f.disk + 512, "EFI PART", 8);
	assert_int_equal(plan(&f), VHDX_ERR_INVAL);
	assert_non_null(strstr(f.why, "refusing to write it (--allow-sector-mismatch writes it anyway)"));
	f.cli.allow_sector_mismatch = true;
	assert_int_equal(plan(&f), VHDX_OK);
	lines[0] = '\0';
	vhdx_convert_describe(&f.job, NULL, 0, collect, lines);
	assert_non_null(strstr(lines, "\n  note           sector size mismatch: the image's GPT"));
	assert_non_null(strstr(lines, "; written anyway (--allow-sector-mismatch)\n"));
	assert_non_null(strstr(lines, "  command        vhdx convert -O raw --allow-sector-mismatch disk.img blk2:\n"));
	assert_true(strncmp(lines, "plan for blk2:\n", 15) == 0);
	fixture_free(&f);
}

/* A raw source not a whole number of sectors becomes a VHDX padded with
 * zeros to the next sector, and the plan says so. */
static void test_vhdx_pads_raw_source(void **state)
{
	static char lines[8192];
	const char *platform[1] = { "  target         (the frontend's)" };
	struct fixture f;

	(void)state;
	fixture_init(&f, 100001, 64 * MiB, 512);
	f.cli.target = "odd.vhdx";
	f.job.target.kind = VHDX_CONVERT_NEW_FILE;
	assert_int_equal(plan(&f), VHDX_OK);
	assert_int_equal(f.job.output, VHDX_CONVERT_TO_VHDX);
	assert_int_equal(f.job.plan.params.virtual_size, 100352);
	assert_true(f.job.padded);
	lines[0] = '\0';
	vhdx_convert_describe(&f.job, platform, 1, collect, lines);
	assert_non_null(strstr(lines, "\n  note           the source's 100001 bytes are padded with zeros to whole "
				     "512-byte sectors\n"));
	assert_non_null(strstr(lines, "virtual size 98 KiB (100352 bytes)\n"));
	assert_non_null(strstr(lines, "\n  target         (the frontend's)\n  order          payload and BAT first"));
	fixture_free(&f);
}

/* A file named as a VHDX without the signature is refused, never raw. */
static void test_vhdx_name_without_signature(void **state)
{
	struct fixture f;
	struct vhdx_chain chain;
	struct vhdx_chain_level *levels = calloc(VHDX_CHAIN_DEPTH_MAX, sizeof(*levels));
	void *scratch = malloc(VHDX_SCRATCH_SIZE);
	int err;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	err = vhdx_convert_open_source(&f.ms.src, "golden.vhdx", VHDX_FORMAT_AUTO, vhdx_convert_vhdx_name("golden.VHDX"),
				       NULL, &chain, levels, scratch, VHDX_SCRATCH_SIZE, &f.r, f.why, sizeof(f.why));
	assert_int_not_equal(err, VHDX_OK);
	assert_true(strncmp(f.why, "cannot be read as a VHDX: ", 26) == 0);
	assert_non_null(strstr(f.why, "(see 'vhdx check golden.vhdx')"));
	assert_false(vhdx_convert_vhdx_name("disk.img"));
	assert_true(vhdx_convert_vhdx_name("c.AVHDX"));
	free(levels);
	free(scratch);
	fixture_free(&f);
}

/* ESC part-way: ABORTED, the first MiB zero; a failed read is the source's. */
static void test_abort_and_source_failure(void **state)
{
	static const uint8_t zeros[MiB];
	struct fixture f;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	assert_int_equal(plan(&f), VHDX_OK);
	f.m.abort_progress_at = 3;
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BUF_LEN), VHDX_ERR_ABORTED);
	assert_true(f.job.head_zeroed);
	assert_false(f.job.source_failed);
	assert_memory_equal(f.m.data, zeros, MiB);
	fixture_free(&f);

	fixture_init(&f, DISK, 4 * MiB, 512);
	assert_int_equal(plan(&f), VHDX_OK);
	f.ms.fail_at = f.ms.reads + 2;
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BUF_LEN), VHDX_ERR_IO);
	assert_true(f.job.source_failed);
	assert_true(f.job.failed_offset >= MiB);
	assert_memory_equal(f.m.data, zeros, MiB);
	fixture_free(&f);
}

/* ---- --bmap ---- */

#define BMAP_BUF_LEN (MiB + 4096u) /* a range checked before written: a 1 MiB chunk */

struct manifest {
	char *text;
	size_t len;
};

/* A bmap of @disk (@size bytes) with the ranges @r[0..n) (blocks, inclusive). */
static void manifest_of(struct manifest *mf, const uint8_t *disk, uint64_t size, const uint64_t (*r)[2], size_t n)
{
	struct vhdx_bmap_writer w;
	struct vhdx_bmap_range range;
	char hex[VHDX_SHA256_HEX + 1];
	uint64_t mapped = 0, start, end;
	size_t cap = 8192 + n * 256, len, add, i;

	mf->text = malloc(cap);
	assert_non_null(mf->text);
	for (i = 0; i < n; i++)
		mapped += r[i][1] - r[i][0] + 1;
	assert_int_equal(vhdx_bmap_write_head(&w, size, mapped, mf->text, cap, &len), VHDX_OK);
	for (i = 0; i < n; i++) {
		range.first = r[i][0];
		range.last = r[i][1];
		vhdx_bmap_range_bytes(&range, size, &start, &end);
		vhdx_sha256(disk + start, (size_t)(end - start), range.sha256);
		assert_int_equal(vhdx_bmap_write_range(&w, &range, mf->text + len, cap - len, &add), VHDX_OK);
		len += add;
	}
	assert_int_equal(vhdx_bmap_write_tail(&w, mf->text + len, cap - len, &add), VHDX_OK);
	len += add;
	assert_int_equal(vhdx_bmap_write_checksum(&w, hex), VHDX_OK);
	memcpy(mf->text + w.checksum_offset, hex, VHDX_SHA256_HEX);
	mf->len = len;
}

static int plan_bmap(struct fixture *f, struct manifest *mf)
{
	f->cli.bmap = "golden.bmap";
	f->job.bmap_text = mf->text;
	f->job.bmap_len = mf->len;
	return plan(f);
}

/* The ranges `vhdx bmap` writes of the fixture: within aligned MiBs. */
static const uint64_t own_ranges[][2] = { { 0, 255 }, { 514, 518 } };

/* Every range checked before it is written; the disk as the source. */
static void test_bmap_deploy(void **state)
{
	static char lines[8192];
	struct fixture f;
	struct manifest mf;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	manifest_of(&mf, f.disk, DISK, own_ranges, 2);
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	assert_true(f.job.with_bmap);
	assert_int_equal(f.job.bmap_long_ranges, 0);
	lines[0] = '\0';
	vhdx_convert_describe(&f.job, NULL, 0, collect, lines);
	assert_non_null(strstr(lines, "\n  bmap           golden.bmap: 2 ranges, 1044 KiB (1069056 bytes) mapped; "
				     "its checksum matches\n"));
	assert_non_null(strstr(lines, "\n  checks         every range read, hashed and compared before it is written;"));
	assert_non_null(strstr(lines, "  command        vhdx convert -O raw --bmap golden.bmap disk.img blk2:\n"));
	/* a buffer that cannot hold a range: refused before anything is written */
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BUF_LEN), VHDX_ERR_INVAL);
	assert_int_equal(f.m.writes + f.m.zeros + f.m.flushes, 0);
	free(f.buf);
	f.buf = aligned_alloc(4096, BMAP_BUF_LEN);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_OK);
	assert_memory_equal(f.m.data, f.disk, DISK);
	assert_int_equal(f.m.data[DISK], 0xEE);
	assert_false(f.job.bmap_failed);
	assert_int_equal(f.job.checked_before, 2);
	assert_int_equal(f.job.checked_after, 0);
	assert_int_equal(f.job.bytes_written, MiB + 5 * 4096);
	assert_int_equal(f.job.bytes_zeroed, DISK - 5 * 4096);
	assert_int_equal(f.m.progress_last_done, DISK);
	free(mf.text);
	fixture_free(&f);
}

/* A deploy stopped by a mismatch: the error, the range, the first MiB zero. */
static void deploy_mismatch(const uint64_t (*r)[2], size_t n, uint64_t flip, bool written, uint64_t bad_first)
{
	static const uint8_t zeros[MiB];
	struct fixture f;
	struct manifest mf;
	char line[600];

	fixture_init(&f, DISK, 4 * MiB, 512);
	manifest_of(&mf, f.disk, DISK, r, n);
	f.disk[flip] ^= 0x40;
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	free(f.buf);
	f.buf = aligned_alloc(4096, BMAP_BUF_LEN);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_ERR_CORRUPT);
	assert_true(f.job.bmap_failed);
	assert_false(f.job.source_failed);
	assert_false(f.job.bad_unmapped);
	assert_int_equal(f.job.bad_written, written);
	assert_int_equal(f.job.bad_range.first, bad_first);
	assert_true(f.job.head_zeroed);
	assert_memory_equal(f.m.data, zeros, MiB);
	if (!written) /* nothing of the range reached the target */
		assert_true(f.m.data[flip] == 0 || f.m.data[flip] == 0xEE);
	vhdx_convert_mismatch(&f.job, line, sizeof(line));
	assert_true(strncmp(line, "disk.img: range ", 16) == 0);
	assert_non_null(strstr(line, ") does not match golden.bmap: expected sha256 "));
	free(mf.text);
	fixture_free(&f);
}

/* A flipped byte: in the first MiB (checked before it is written, last),
 * in a range crossing into it (either part), in the body, in a long range. */
static void test_bmap_mismatch(void **state)
{
	static const uint64_t crossing[][2] = { { 0, 199 }, { 200, 300 }, { 514, 518 } };
	static const uint64_t long_range[][2] = { { 0, 255 }, { 256, 767 } };

	(void)state;
	deploy_mismatch(own_ranges, 2, 4096 * 10 + 3, false, 0);
	deploy_mismatch(own_ranges, 2, 2 * MiB + 8192 + 5, false, 514);
	deploy_mismatch(crossing, 3, 4096 * 210, false, 200);
	deploy_mismatch(crossing, 3, 4096 * 290, false, 200);
	deploy_mismatch(long_range, 2, 2 * MiB + 8192 + 5, true, 256);
}

/* The long range and the crossing one, when they match: the counts. */
static void test_bmap_long_and_crossing(void **state)
{
	static const uint64_t ranges[][2] = { { 0, 199 }, { 200, 300 }, { 301, 767 } };
	struct fixture f;
	struct manifest mf;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	manifest_of(&mf, f.disk, DISK, ranges, 3);
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	assert_int_equal(f.job.bmap_long_ranges, 1);
	free(f.buf);
	f.buf = aligned_alloc(4096, BMAP_BUF_LEN);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_OK);
	assert_memory_equal(f.m.data, f.disk, DISK);
	assert_int_equal(f.job.checked_before, 2);
	assert_int_equal(f.job.checked_after, 1);
	free(mf.text);
	fixture_free(&f);
}

/* Bytes the manifest leaves unmapped must read as zeros: in the body, and
 * in the first MiB. */
static void test_bmap_unmapped_nonzero(void **state)
{
	static const uint64_t no_tail[][2] = { { 0, 255 } };
	static const uint64_t no_head[][2] = { { 1, 255 }, { 514, 518 } };
	static const uint8_t zeros[MiB];
	struct fixture f;
	struct manifest mf;
	char line[600];

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	manifest_of(&mf, f.disk, DISK, no_tail, 1);
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	free(f.buf);
	f.buf = aligned_alloc(4096, BMAP_BUF_LEN);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_ERR_CORRUPT);
	assert_true(f.job.bmap_failed && f.job.bad_unmapped);
	assert_int_equal(f.job.bad_at, 2 * MiB + 8192);
	assert_memory_equal(f.m.data, zeros, MiB);
	vhdx_convert_mismatch(&f.job, line, sizeof(line));
	assert_string_equal(line, "disk.img: block 514 (byte 2105344) is not in the ranges of golden.bmap but does "
				  "not read as zeros");
	free(mf.text);
	fixture_free(&f);

	fixture_init(&f, DISK, 4 * MiB, 512);
	manifest_of(&mf, f.disk, DISK, no_head, 2);
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	free(f.buf);
	f.buf = aligned_alloc(4096, BMAP_BUF_LEN);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_ERR_CORRUPT);
	assert_true(f.job.bad_unmapped);
	assert_int_equal(f.job.bad_at, 0);
	assert_memory_equal(f.m.data, zeros, MiB);
	free(mf.text);
	fixture_free(&f);
}

/* Refused before anything is written: the pin, the format, the size, a
 * VHDX output. */
static void test_bmap_refusals(void **state)
{
	struct fixture f;
	struct manifest mf;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	manifest_of(&mf, f.disk, DISK, own_ranges, 2);
	f.cli.bmap_sha256 = "00000000000000000000000000000000000000000000000000000000000000AA";
	assert_int_equal(plan_bmap(&f, &mf), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(f.why, "golden.bmap: its SHA-256 is "));
	assert_non_null(strstr(f.why, ", not the --bmap-sha256 given (0000"));
	f.cli.bmap_sha256 = NULL;
	mf.text[mf.len - 20] ^= 1;
	assert_int_equal(plan_bmap(&f, &mf), VHDX_ERR_CORRUPT);
	assert_non_null(strstr(f.why, "golden.bmap: not a valid bmap: line "));
	mf.text[mf.len - 20] ^= 1;
	f.cli.target = "out.vhdx";
	assert_int_equal(plan_bmap(&f, &mf), VHDX_ERR_INVAL);
	assert_non_null(strstr(f.why, "--bmap deploys a raw disk"));
	assert_int_equal(f.m.writes + f.m.zeros + f.m.flushes, 0);
	free(mf.text);
	fixture_free(&f);

	fixture_init(&f, DISK + 4096, 4 * MiB, 512);
	manifest_of(&mf, f.disk, DISK, own_ranges, 2);
	assert_int_equal(plan_bmap(&f, &mf), VHDX_ERR_CORRUPT);
	assert_string_equal(f.why, "golden.bmap: ImageSize 3145728 bytes differs from the virtual size of disk.img, "
				   "3149824 bytes: a bmap of another image");
	free(mf.text);
	fixture_free(&f);
}

/* --resume after a deploy cut part-way: the ranges already right kept, the
 * disk the same. */
static void test_bmap_resume(void **state)
{
	static const uint64_t ranges[][2] = { { 0, 255 }, { 256, 300 }, { 514, 518 }, { 600, 700 } };
	struct fixture f;
	struct manifest mf;
	struct mem_source target;
	uint64_t first_written;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	memset(f.disk + 600 * 4096, 0x33, 101 * 4096);
	manifest_of(&mf, f.disk, DISK, ranges, 4);
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	free(f.buf);
	f.buf = aligned_alloc(4096, BMAP_BUF_LEN);
	f.m.fail_write_at = 3; /* the head zeroed; two ranges written, the third write fails */
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_ERR_IO);
	first_written = f.job.bytes_written;
	f.m.fail_write_at = 0;
	f.m.progress_calls = 0;
	f.m.progress_last_done = 0;
	f.cli.resume = true;
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_ERR_INVAL);
	mem_source_init(&target, f.m.data, 4 * MiB, 4 * MiB);
	f.job.target_source = &target.src;
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_OK);
	assert_memory_equal(f.m.data, f.disk, DISK);
	assert_int_equal(f.job.kept, 2);
	assert_int_equal(f.job.checked_before, 2);
	assert_int_equal(f.job.bytes_written, MiB + 101 * 4096);
	assert_true(first_written + f.job.bytes_written > f.job.bytes_written);
	/* once more, nothing to do but the first MiB */
	f.m.progress_calls = 0;
	f.m.progress_last_done = 0;
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_OK);
	assert_memory_equal(f.m.data, f.disk, DISK);
	assert_int_equal(f.job.kept, 3);
	assert_int_equal(f.job.bytes_written, MiB);
	assert_int_equal(f.job.bytes_zeroed, MiB);
	free(mf.text);
	fixture_free(&f);
}

/* ---- --bmap, every other range hashed beside (sha256->start) ---- */

/* A hash "beside" that hashes in start() and, in wait(), checks that the
 * message was left as it was meanwhile (the job may not reuse a buffer
 * before its digest is back); busy() says 2 for every third range, so
 * that the job hashes that one itself. */
struct beside_fake {
	struct vhdx_sha256 own;              /* init/update/final */
	struct {
		const uint8_t *data;
		size_t len;
		uint8_t digest[VHDX_SHA256_SIZE];
	} q[VHDX_SHA256_BESIDE_MAX];
	unsigned starts, waits, busy_calls, most_queued;
};

static void fake_init(void *ctx)
{
	vhdx_sha256_init(&((struct beside_fake *)ctx)->own);
}

static void fake_update(void *ctx, const void *data, size_t len)
{
	vhdx_sha256_update(&((struct beside_fake *)ctx)->own, data, len);
}

static void fake_final(void *ctx, uint8_t digest[VHDX_SHA256_SIZE])
{
	vhdx_sha256_final(&((struct beside_fake *)ctx)->own, digest);
}

static void fake_start(void *ctx, const void *data, size_t len)
{
	struct beside_fake *b = ctx;
	unsigned at = b->starts % VHDX_SHA256_BESIDE_MAX;

	assert_true(b->starts - b->waits < VHDX_SHA256_BESIDE_MAX);
	b->starts++;
	if (b->starts - b->waits > b->most_queued)
		b->most_queued = b->starts - b->waits;
	b->q[at].data = data;
	b->q[at].len = len;
	vhdx_sha256(data, len, b->q[at].digest);
}

static void fake_wait(void *ctx, uint8_t digest[VHDX_SHA256_SIZE])
{
	struct beside_fake *b = ctx;
	unsigned at = b->waits % VHDX_SHA256_BESIDE_MAX;
	uint8_t now[VHDX_SHA256_SIZE];

	assert_true(b->waits < b->starts);
	b->waits++;
	vhdx_sha256(b->q[at].data, b->q[at].len, now);
	assert_memory_equal(now, b->q[at].digest, VHDX_SHA256_SIZE);
	memcpy(digest, b->q[at].digest, VHDX_SHA256_SIZE);
}

static unsigned fake_busy(void *ctx)
{
	struct beside_fake *b = ctx;

	return b->busy_calls++ % 3 == 2 ? 2 : 0;
}

/*
 * A lender as the host's writer thread is one (posix_sink_lender): its
 * buffers are written from where they are, later.  A write from a lent
 * buffer is recorded (with a CRC-32C of its bytes) and made on the mem
 * sink only when the buffer is given back, after checking that its bytes
 * did not change meanwhile; the buffer is then poisoned.  A write from a
 * buffer not held, more buffers held than VHDX_CONVERT_SPARES + 1, or a
 * buffer never given back fails the test.  A failed write comes back at
 * the next write or flush, as the ring's does.
 */
#define LEND_BUFS (VHDX_CONVERT_SPARES + 1)
#define LEND_PIECES 300 /* a MiB of alternating data and zero pages: 128 runs */

struct lend_fake {
	struct vhdx_convert_lender lender;
	struct vhdx_sink sink;
	const struct vhdx_sink *inner;
	uint8_t *mem;                        /* LEND_BUFS buffers of a MiB */
	bool held[LEND_BUFS];
	unsigned held_count, most_held, takes;
	struct {
		uint64_t off;
		size_t len;
		const uint8_t *p;
		uint32_t crc;
	} piece[LEND_BUFS][LEND_PIECES];
	unsigned pieces[LEND_BUFS];
	uint64_t lent_bytes;                 /* written from lent buffers */
	int error;                           /* sticky, as the ring's */
};

/* The lent buffer @p lies in, or -1. */
static int lend_index(const struct lend_fake *l, const uint8_t *p)
{
	if (p < l->mem || p >= l->mem + LEND_BUFS * MiB)
		return -1;
	return (int)((size_t)(p - l->mem) / MiB);
}

static void *lend_take(void *ctx)
{
	struct lend_fake *l = ctx;
	unsigned i;

	for (i = 0; i < LEND_BUFS && l->held[i]; i++)
		;
	if (i == LEND_BUFS)
		fail_msg("the job holds more than %u lent buffers", LEND_BUFS);
	l->held[i] = true;
	l->takes++;
	if (++l->held_count > l->most_held)
		l->most_held = l->held_count;
	memset(l->mem + i * MiB, 0x5A, MiB); /* whatever the last use left */
	return l->mem + i * MiB;
}

static void lend_give_back(void *ctx, void *buf)
{
	struct lend_fake *l = ctx;
	int i = lend_index(l, buf);
	unsigned k;

	assert_true(i >= 0 && buf == l->mem + (size_t)i * MiB);
	assert_true(l->held[i]);
	for (k = 0; k < l->pieces[i]; k++) {
		assert_int_equal(ref_crc32c(l->piece[i][k].p, l->piece[i][k].len), l->piece[i][k].crc);
		if (!l->error)
			l->error = l->inner->write(l->inner, l->piece[i][k].off, l->piece[i][k].p, l->piece[i][k].len);
	}
	l->pieces[i] = 0;
	memset(l->mem + (size_t)i * MiB, 0xA5, MiB);
	l->held[i] = false;
	l->held_count--;
}

static int lend_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct lend_fake *l = s->ctx;
	int i = lend_index(l, buf);
	unsigned k;

	if (l->error)
		return l->error;
	if (i < 0)
		return l->inner->write(l->inner, off, buf, len);
	assert_true(l->held[i]);
	assert_true((const uint8_t *)buf + len <= l->mem + (size_t)(i + 1) * MiB);
	k = l->pieces[i]++;
	assert_true(k < LEND_PIECES);
	l->piece[i][k].off = off;
	l->piece[i][k].len = len;
	l->piece[i][k].p = buf;
	l->piece[i][k].crc = ref_crc32c(buf, len);
	l->lent_bytes += len;
	return VHDX_OK;
}

static int lend_flush(const struct vhdx_sink *s)
{
	struct lend_fake *l = s->ctx;

	return l->error ? l->error : l->inner->flush(l->inner);
}

static int lend_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct lend_fake *l = s->ctx;

	return l->error ? l->error : l->inner->zero(l->inner, off, len);
}

static int lend_progress(const struct vhdx_sink *s, uint64_t done, uint64_t total)
{
	struct lend_fake *l = s->ctx;

	return l->inner->progress(l->inner, done, total);
}

/* @f's job lent @l's buffers, its writes through @l's sink. */
static void lend_init(struct lend_fake *l, struct fixture *f)
{
	memset(l, 0, sizeof(*l));
	l->mem = aligned_alloc(4096, LEND_BUFS * MiB);
	assert_non_null(l->mem);
	l->inner = &f->m.sink;
	l->sink = f->m.sink;
	l->sink.ctx = l;
	l->sink.write = lend_write;
	l->sink.flush = lend_flush;
	l->sink.zero = f->m.sink.zero ? lend_zero : NULL;
	l->sink.progress = f->m.sink.progress ? lend_progress : NULL;
	l->lender.ctx = l;
	l->lender.size = MiB;
	l->lender.take = lend_take;
	l->lender.give_back = lend_give_back;
	f->job.lender = &l->lender;
}

/* After a write, failed or not: every lent buffer given back. */
static void lend_settled(struct lend_fake *l)
{
	assert_int_equal(l->held_count, 0);
	l->error = VHDX_OK;
}

/* A plain raw deploy with lent buffers, onto a device and a new file: the
 * same bytes, nothing written from @buf but the first MiB, the order of
 * test_raw_onto_device kept (zeroed first, written last). */
static void test_raw_lent(void **state)
{
	struct lend_fake *l = malloc(sizeof(*l));
	struct fixture f;
	size_t i;

	(void)state;
	assert_non_null(l);
	fixture_init(&f, DISK, 4 * MiB, 512);
	f.m.ops = calloc(1, sizeof(*f.m.ops));
	f.m.ops_cap = 1;
	assert_int_equal(plan(&f), VHDX_OK);
	lend_init(l, &f);
	assert_int_equal(vhdx_convert_write(&f.job, &l->sink, f.buf, BUF_LEN), VHDX_OK);
	lend_settled(l);
	assert_memory_equal(f.m.data, f.disk, DISK);
	/* the body's data chunks lent: 2 MiB - 8 KiB of zeros, the rest data
	 * (a chunk of 256 KiB at a time) */
	assert_int_equal(l->takes, 8);
	assert_int_equal(l->lent_bytes, 256 * 1024);
	assert_true(f.m.ops[0].kind == MEM_OP_ZERO && f.m.ops[0].off == 0 && f.m.ops[0].len == MiB);
	for (i = 2; i + 2 < f.m.ops_len; i++)
		if (f.m.ops[i].kind == MEM_OP_WRITE && f.m.ops[i].off == 0)
			fail_msg("byte 0 written before the end (op %zu of %zu)", i, f.m.ops_len);
	assert_true(f.m.ops[f.m.ops_len - 2].kind == MEM_OP_WRITE && f.m.ops[f.m.ops_len - 2].off == 0);
	fixture_free(&f);
	free(l->mem);

	/* a new file: zero pages of a lent chunk left as holes */
	fixture_init(&f, DISK, DISK, 512);
	f.job.target.kind = VHDX_CONVERT_NEW_FILE;
	memset(f.m.data, 0, DISK);
	assert_int_equal(plan(&f), VHDX_OK);
	lend_init(l, &f);
	assert_int_equal(vhdx_convert_write(&f.job, &l->sink, f.buf, BUF_LEN), VHDX_OK);
	lend_settled(l);
	assert_memory_equal(f.m.data, f.disk, DISK);
	assert_int_equal(l->lent_bytes, 3 * 4096); /* 2 MiB + 8192 .. + 20000: three pages */
	free(l->mem);
	free(l);
	fixture_free(&f);
}

#define BESIDE_DISK (8 * MiB)

/* Short ranges back to back and after gaps, so that the one beside is
 * settled by the next range, by a gap and by the end. */
static const uint64_t beside_ranges[][2] = {
	{ 0, 255 }, { 256, 300 }, { 301, 400 }, { 401, 500 }, { 600, 700 }, { 701, 900 },
	{ 901, 1000 }, { 1024, 1100 }, { 1101, 1200 }, { 1201, 1300 }, { 2000, 2047 },
};
#define BESIDE_RANGES (sizeof(beside_ranges) / sizeof(beside_ranges[0]))

static void beside_init(struct fixture *f, struct beside_fake *b, struct vhdx_sha256_ops *ops, struct manifest *mf,
			struct lend_fake *l)
{
	size_t i;
	uint64_t at;

	fixture_init(f, BESIDE_DISK, BESIDE_DISK, 512);
	memset(f->disk + MiB, 0, BESIDE_DISK - MiB);
	for (i = 1; i < BESIDE_RANGES; i++)
		for (at = beside_ranges[i][0] * 4096; at < (beside_ranges[i][1] + 1) * 4096; at++)
			f->disk[at] = (uint8_t)(at * 13 + i) | 1;
	manifest_of(mf, f->disk, BESIDE_DISK, beside_ranges, BESIDE_RANGES);
	memset(b, 0, sizeof(*b));
	ops->ctx = b;
	ops->init = fake_init;
	ops->update = fake_update;
	ops->final = fake_final;
	ops->start = fake_start;
	ops->wait = fake_wait;
	ops->busy = fake_busy;
	f->job.sha256 = ops;
	lend_init(l, f);
	free(f->buf);
	f->buf = aligned_alloc(4096, BMAP_BUF_LEN);
	assert_non_null(f->buf);
}

static void beside_free(struct fixture *f, struct manifest *mf, struct lend_fake *l)
{
	free(l->mem);
	free(l);
	free(mf->text);
	fixture_free(f);
}

/* Range @i of beside_ranges on the target: as the source has it, or
 * (false) never written (the device's 0xEE). */
static void assert_range_is(const struct fixture *f, size_t i, bool written)
{
	uint64_t at, end = (beside_ranges[i][1] + 1) * 4096;

	for (at = beside_ranges[i][0] * 4096; at < end; at++)
		if (f->m.data[at] != (written ? f->disk[at] : 0xEE))
			fail_msg("range %zu, byte %llu: 0x%02x", i, (unsigned long long)at, f->m.data[at]);
}

/* The deploy with every other range beside; then a flipped byte in each
 * range of the body, in turn: that range and those after it never reach
 * the target, those before it do, the first MiB reads as zeros, and no
 * hash is left running. */
static void test_bmap_beside(void **state)
{
	static const uint8_t zeros[MiB];
	struct vhdx_sha256_ops ops;
	struct beside_fake b;
	struct fixture f;
	struct manifest mf;
	struct lend_fake *l = malloc(sizeof(*l));
	size_t bad, i;
	uint64_t flip;

	(void)state;
	assert_non_null(l);
	beside_init(&f, &b, &ops, &mf, l);
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	assert_int_equal(vhdx_convert_write(&f.job, &l->sink, f.buf, BMAP_BUF_LEN), VHDX_OK);
	lend_settled(l);
	/* every range of the body read into a buffer of the sink's, up to
	 * five held at once (four read behind one hashed beside) */
	assert_int_equal(l->takes, BESIDE_RANGES - 1);
	assert_true(l->most_held > 2);
	assert_memory_equal(f.m.data, f.disk, BESIDE_DISK);
	assert_int_equal(f.job.checked_before, BESIDE_RANGES);
	/* of the 10 ranges of the body, every third hashed here (busy() 2),
	 * the rest beside; more than one queued at a time */
	assert_int_equal(b.busy_calls, 10);
	assert_int_equal(b.starts, 7);
	assert_int_equal(b.waits, b.starts);
	assert_true(b.most_queued > 1);
	assert_int_equal(f.m.progress_last_done, BESIDE_DISK);
	for (bad = 1; bad < BESIDE_RANGES; bad++) {
		mem_sink_free(&f.m);
		mem_sink_init(&f.m, BESIDE_DISK, 0xEE, 512);
		flip = (beside_ranges[bad][0] + beside_ranges[bad][1]) / 2 * 4096 + 77;
		f.disk[flip] ^= 0x20;
		b.starts = b.waits = b.busy_calls = 0;
		assert_int_equal(vhdx_convert_write(&f.job, &l->sink, f.buf, BMAP_BUF_LEN), VHDX_ERR_CORRUPT);
		lend_settled(l);
		f.disk[flip] ^= 0x20;
		assert_true(f.job.bmap_failed);
		assert_false(f.job.bad_written);
		assert_int_equal(f.job.bad_range.first, beside_ranges[bad][0]);
		assert_int_equal(f.job.checked_before, bad - 1); /* range 0, the head, is checked last */
		assert_int_equal(b.waits, b.starts);
		assert_memory_equal(f.m.data, zeros, MiB);
		for (i = 1; i < BESIDE_RANGES; i++)
			assert_range_is(&f, i, i < bad);
	}
	beside_free(&f, &mf, l);
}

/* --resume with ranges beside: a deploy cut by a failed write, resumed:
 * the ranges already right kept, the disk whole. */
static void test_bmap_beside_resume(void **state)
{
	struct vhdx_sha256_ops ops;
	struct beside_fake b;
	struct fixture f;
	struct manifest mf;
	struct mem_source target;
	struct lend_fake *l = malloc(sizeof(*l));

	(void)state;
	assert_non_null(l);
	beside_init(&f, &b, &ops, &mf, l);
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	f.m.fail_write_at = 6; /* the head zeroed; five ranges written, the sixth's write fails */
	assert_int_equal(vhdx_convert_write(&f.job, &l->sink, f.buf, BMAP_BUF_LEN), VHDX_ERR_IO);
	lend_settled(l);
	assert_int_equal(b.waits, b.starts);
	f.m.fail_write_at = 0;
	f.m.progress_calls = 0;
	f.m.progress_last_done = 0;
	f.cli.resume = true;
	mem_source_init(&target, f.m.data, BESIDE_DISK, BESIDE_DISK);
	f.job.target_source = &target.src;
	assert_int_equal(vhdx_convert_write(&f.job, &l->sink, f.buf, BMAP_BUF_LEN), VHDX_OK);
	lend_settled(l);
	assert_memory_equal(f.m.data, f.disk, BESIDE_DISK);
	assert_int_equal(f.job.kept, 5);
	assert_int_equal(f.job.checked_before, BESIDE_RANGES - 5);
	assert_int_equal(b.waits, b.starts);
	assert_true(b.starts > 0);
	beside_free(&f, &mf, l);
}

static void json_collect(void *ctx, const char *text)
{
	strcpy(ctx, text);
}

/* --json: the outcome, with the range that did not match. */
static void test_json(void **state)
{
	static char out[4096];
	struct fixture f;
	struct manifest mf;

	(void)state;
	fixture_init(&f, DISK, 4 * MiB, 512);
	assert_int_equal(plan(&f), VHDX_OK);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BUF_LEN), VHDX_OK);
	vhdx_convert_json(&f.job, VHDX_OK, json_collect, out);
	assert_non_null(strstr(out, "{\"source\": \"disk.img\", \"target\": \"blk2:\", \"output\": \"raw\", "
				    "\"result\": \"ok\", \"size\": 3145728, \"bytes_written\": "));
	assert_non_null(strstr(out, ", \"bmap\": null}"));
	fixture_free(&f);

	fixture_init(&f, DISK, 4 * MiB, 512);
	manifest_of(&mf, f.disk, DISK, own_ranges, 2);
	f.disk[2 * MiB + 8192] ^= 1;
	assert_int_equal(plan_bmap(&f, &mf), VHDX_OK);
	free(f.buf);
	f.buf = aligned_alloc(4096, BMAP_BUF_LEN);
	assert_int_equal(vhdx_convert_write(&f.job, &f.m.sink, f.buf, BMAP_BUF_LEN), VHDX_ERR_CORRUPT);
	vhdx_convert_json(&f.job, VHDX_ERR_CORRUPT, json_collect, out);
	assert_non_null(strstr(out, "\"result\": \"mismatch\""));
	assert_non_null(strstr(out, "\"ranges\": 2, \"mapped_bytes\": 1069056, \"checked_before_write\": 0, "
				    "\"checked_after_write\": 0, \"kept_by_resume\": 0, \"failed_range\": "
				    "{\"unmapped\": false, \"first_block\": 514, \"last_block\": 518, "
				    "\"first_byte\": 2105344, \"last_byte\": 2125823, \"expected\": \""));
	assert_non_null(strstr(out, "\", \"written\": false}}}"));
	free(mf.text);
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_onto_device),
		cmocka_unit_test(test_raw_new_file_leaves_holes),
		cmocka_unit_test(test_raw_lent),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_sector_mismatch),
		cmocka_unit_test(test_vhdx_pads_raw_source),
		cmocka_unit_test(test_vhdx_name_without_signature),
		cmocka_unit_test(test_abort_and_source_failure),
		cmocka_unit_test(test_bmap_deploy),
		cmocka_unit_test(test_bmap_mismatch),
		cmocka_unit_test(test_bmap_long_and_crossing),
		cmocka_unit_test(test_bmap_unmapped_nonzero),
		cmocka_unit_test(test_bmap_refusals),
		cmocka_unit_test(test_bmap_resume),
		cmocka_unit_test(test_bmap_beside),
		cmocka_unit_test(test_bmap_beside_resume),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
