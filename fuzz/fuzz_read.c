/* SPDX-License-Identifier: MIT */
/*
 * fuzz_read.c - libFuzzer target over the reader/checker (core/vhdx_read.h)
 * and its renderers, and over the decoder (vhdx_disk_open and the parent
 * locator look-up).  Built with clang -fsanitize=fuzzer,address,undefined
 * and the core compiled with VHDX_FUZZ_IGNORE_CRC (checksums are computed
 * and reported, but do not stop the parse), see fuzz/fuzz.mk.
 *
 * Input format: an input shorter than FUZZ_MAP_END is the image itself
 * (tiny and truncated files).  A longer one is spread over a sparse image
 * laid out as Windows does (metadata at 2 MiB, BAT at 3 MiB), so that a
 * few tens of KiB reach every structure; unmapped bytes read as zero:
 *
 *   input [ 0K,  4K) -> image [0, 4K)            file identifier
 *   input [ 4K,  8K) -> image [64K, 68K)         header 1
 *   input [ 8K, 12K) -> image [128K, 132K)       header 2
 *   input [12K, 16K) -> image [192K, 196K)       region table 1 (127 entries)
 *   input [16K, 20K) -> image [256K, 260K)       region table 2
 *   input [20K, 24K) -> image [2M, 2M+4K)        metadata table
 *   input [24K, 28K) -> image [2M+64K, 2M+68K)   metadata items
 *   input [28K, end) -> image [3M, ...)          BAT, then blocks
 *
 * image size = 3 MiB + (input length - 28 KiB).  fuzz/mkseed.sh does the
 * reverse for the seed corpus.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhdx.h"
#include "vhdx_print.h"
#include "vhdx_internal.h"

#define K 1024u
#define M (1024u * 1024u)
#define FUZZ_MAP_END (28u * K)

static const struct {
	uint64_t in, img, len;
} map[] = {
	{ 0, 0, 4 * K },           { 4 * K, 64 * K, 4 * K },   { 8 * K, 128 * K, 4 * K },
	{ 12 * K, 192 * K, 4 * K }, { 16 * K, 256 * K, 4 * K }, { 20 * K, 2 * M, 4 * K },
	{ 24 * K, 2 * M + 64 * K, 4 * K },
};

struct fsrc {
	const uint8_t *data;
	size_t len;
	struct vhdx_source src;
	/* a source whose bytes change between reads (a file rewritten, or a
	 * server answering the same range differently): one byte of each read
	 * flipped by how many reads came before */
	bool shifting;
	unsigned reads;
};

static void copy_range(uint8_t *dst, uint64_t off, size_t len, const uint8_t *from, uint64_t from_img,
		       uint64_t from_len)
{
	uint64_t a = off > from_img ? off : from_img;
	uint64_t b = off + len < from_img + from_len ? off + len : from_img + from_len;

	if (a < b)
		memcpy(dst + (a - off), from + (a - from_img), (size_t)(b - a));
}

static int fread_(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct fsrc *f = s->ctx;
	size_t i;

	if (off > s->size || len > s->size - off || off % 4096 != 0 ||
	    (len % 4096 != 0 && off + len != s->size))
		abort(); /* the core broke its read contract */
	memset(buf, 0, len);
	if (f->len < FUZZ_MAP_END) {
		copy_range(buf, off, len, f->data, 0, f->len);
		return VHDX_OK;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		copy_range(buf, off, len, f->data + map[i].in, map[i].img, map[i].len);
	copy_range(buf, off, len, f->data + FUZZ_MAP_END, 3 * M, f->len - FUZZ_MAP_END);
	if (f->shifting && len) {
		f->reads++;
		((uint8_t *)buf)[(f->reads * 2654435761u) % len] ^= (uint8_t)(f->reads | 1u);
	}
	return VHDX_OK;
}

static void on_finding(void *ctx, const struct vhdx_finding *f)
{
	char line[512];
	size_t n = vhdx_finding_to_text(f, line, sizeof(line));

	(void)ctx;
	if (n != strlen(line) || !f->where || !f->found)
		abort();
}

static void on_line(void *ctx, const char *line)
{
	*(size_t *)ctx += strlen(line);
}

/* The decoder on the same source: a refusal says why; an opened disk's
 * locator values read inside the source, with a small scratch too. */
static void decode(const struct vhdx_source *src, uint8_t *scratch)
{
	static const char keys[3][20] = { "parent_linkage", "relative_path", "absolute_win32_path" };
	struct vhdx_disk d;
	char why[VHDX_WHY_SIZE], value[300];
	unsigned k;
	int err;

	err = vhdx_disk_open(&d, src, scratch, VHDX_OPEN_SCRATCH_MIN, why, sizeof(why));
	if (err == VHDX_ERR_CORRUPT || err == VHDX_ERR_UNSUPPORTED) {
		if (!why[0] || strlen(why) >= sizeof(why))
			abort();
		return;
	}
	if (err != VHDX_OK || why[0])
		abort(); /* no I/O errors here, and no other result */
	if (d.geom.virtual_size == 0 || d.geom.bat_entries * 8 > d.bat_length)
		abort(); /* what open promises */
	for (k = 0; k < 3; k++) {
		err = vhdx_disk_locator_get(&d, src, keys[k], value, sizeof(value), scratch,
					    k ? VHDX_OPEN_SCRATCH_MIN : 4096);
		if (err != VHDX_OK && err != VHDX_ERR_RANGE && err != VHDX_ERR_NOSPACE &&
		    err != VHDX_ERR_CORRUPT)
			abort();
		if (err == VHDX_OK && strlen(value) >= sizeof(value))
			abort();
	}
}

/* Parents are never found here: a child is a chain that ends early. */
static enum vhdx_parent_open no_parent(void *ctx, const char *child_name, const char *key,
				       const char *path, enum vhdx_path_kind kind,
				       struct vhdx_source *ret_src, char *name, size_t name_len,
				       char *why, size_t why_len)
{
	(void)ctx;
	(void)child_name;
	(void)key;
	(void)kind;
	(void)ret_src;
	if (!path[0] || strlen(path) >= 8192)
		abort(); /* the core hands over a non-empty, bounded path */
	snprintf(name, name_len, "%s", path);
	snprintf(why, why_len, "absent");
	return VHDX_PARENT_ABSENT;
}

/*
 * The data path on the same source: the chain opened (through the log
 * when it is active), then reads and extents at offsets the input picks;
 * every source read is checked by fread_ (inside the source, 4 KiB
 * aligned), and every result must be one the API names.
 */
static void data_path(const struct vhdx_source *src, const uint8_t *data, size_t size, uint8_t *scratch)
{
	static struct vhdx_chain_level levels[2];
	static uint8_t buf[3 * 4096 + 7];
	static const struct vhdx_parent_ops ops = { .open = no_parent };
	struct vhdx_chain chain;
	struct vhdx_extent e;
	char why[VHDX_WHY_SIZE];
	uint64_t vs, off, len;
	unsigned i;
	int err;

	err = vhdx_chain_open(&chain, levels, 2, src, "fuzz", &ops, scratch, VHDX_OPEN_SCRATCH_MIN, why,
			      sizeof(why));
	if (err == VHDX_ERR_CORRUPT || err == VHDX_ERR_UNSUPPORTED)
		return;
	if (err != VHDX_OK)
		abort();
	if (chain.verdict != VHDX_CHAIN_COMPLETE) {
		vhdx_chain_close(&chain, &ops);
		return;
	}
	vs = levels[0].disk.geom.virtual_size;
	for (i = 0; i < 4 && 8 * i + 8 <= size; i++) {
		uint64_t r = 0;
		unsigned k;

		for (k = 0; k < 8; k++)
			r = r << 8 | data[size - 1 - 8 * i - k];
		off = r % vs;
		len = 1 + (r >> 40) % sizeof(buf);
		if (len > vs - off)
			len = vs - off;
		err = vhdx_map(&chain, off, vs - off, &e, scratch, VHDX_DATA_SCRATCH_MIN + 4096 * (i & 1));
		if (err == VHDX_OK && (e.length == 0 || e.length > vs - off))
			abort();
		if (err != VHDX_OK && err != VHDX_ERR_CORRUPT)
			abort();
		err = vhdx_read_at(&chain, off, buf, (size_t)len, scratch, VHDX_DATA_SCRATCH_MIN);
		if (err != VHDX_OK && err != VHDX_ERR_CORRUPT)
			abort();
	}
	vhdx_chain_close(&chain, &ops);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t scratch[VHDX_READ_SCRATCH_MIN];
	static struct vhdx_info info;
	struct fsrc f = { data, size, { 0 }, false, 0 };
	char sum[64];
	size_t total = 0;

	if (size == 0)
		data = (const uint8_t *)"";
	f.src.ctx = &f;
	f.src.read = fread_;
	f.src.size = size < FUZZ_MAP_END ? size : 3 * M + (size - FUZZ_MAP_END);
	/* a block device, or a log view, now and then (the last input byte, past
	 * the structures): the same walk, other rules at the end */
	f.src.is_device = size > FUZZ_MAP_END && (data[size - 1] & 0x30) == 0x30;
	f.src.log_applied = size > FUZZ_MAP_END && (data[size - 1] & 0x0C) == 0x0C;
	if (vhdx_check(&f.src, scratch, sizeof(scratch), &info, on_finding, NULL) != VHDX_OK)
		abort(); /* only I/O errors may fail the walk, and this source has none */
	vhdx_info_print(&info, false, on_line, &total);
	vhdx_info_print(&info, true, on_line, &total);
	vhdx_info_summary(&info, sum, sizeof(sum));
	/* vhdx_probe runs a prefix of the same code: every 16th input is enough */
	if ((data[0] & 15) == 0 && vhdx_probe(&f.src, scratch, sizeof(scratch), &info) != VHDX_OK)
		abort();
	decode(&f.src, scratch);
	f.src.log_applied = false;
	data_path(&f.src, data, size, scratch);
	/* a third of the inputs again (by length: 120 of the 294 seeds past
	 * the structures), with bytes that change between reads: the same
	 * contracts (results the API names, reads inside the source, nothing
	 * outside a buffer) with no two reads agreeing */
	if (size > FUZZ_MAP_END && size % 3 == 0) {
		f.shifting = true;
		if (vhdx_check(&f.src, scratch, sizeof(scratch), &info, on_finding, NULL) != VHDX_OK)
			abort();
		decode(&f.src, scratch);
		data_path(&f.src, data, size, scratch);
	}
	return 0;
}
