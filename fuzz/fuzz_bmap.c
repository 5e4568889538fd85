/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bmap.c - libFuzzer target over the core's SHA-256 and bmap parser:
 *   - the input hashed in one shot equals the input streamed in pieces
 *     whose sizes come from its first bytes (0..255, and a 64-byte
 *     multiple now and then), and the context reused after init;
 *   - the input parsed as a bmap: never a crash or a read outside it
 *     (ASan), a refusal is one line, and an accepted bmap's ranges come
 *     back sorted, inside BlocksCount and summing to MappedBlocksCount.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vhdx.h"
#include "vhdx_bmap.h"

static void check_streaming(const uint8_t *data, size_t size)
{
	uint8_t whole[VHDX_SHA256_SIZE], pieces[VHDX_SHA256_SIZE];
	struct vhdx_sha256 ctx;
	size_t at = 0, k = 0;

	vhdx_sha256(data, size, whole);
	vhdx_sha256_init(&ctx);
	while (at < size) {
		size_t n = size ? data[k++ % size] : 0;

		if (n & 1)
			n = (n & 0x0e) * 32; /* 0..448: whole blocks */
		if (!n) { /* an empty update, then one byte: always progress */
			vhdx_sha256_update(&ctx, data + at, 0);
			n = 1;
		}
		if (n > size - at)
			n = size - at;
		vhdx_sha256_update(&ctx, data + at, n);
		at += n;
	}
	vhdx_sha256_final(&ctx, pieces);
	if (memcmp(whole, pieces, sizeof(whole)) != 0)
		abort();
}

static void check_parse(const uint8_t *data, size_t size)
{
	struct vhdx_bmap_parser p;
	struct vhdx_bmap_range r;
	char why[256];
	uint64_t blocks = 0, next = 0, n = 0;

	/* a copy of exactly @size bytes: ASan sees any read past the end */
	char *text = malloc(size ? size : 1);

	if (!text)
		return;
	memcpy(text, data, size);
	if (vhdx_bmap_parse(&p, text, size, why, sizeof(why)) != VHDX_OK) {
		if (!why[0] || strchr(why, '\n'))
			abort();
		free(text);
		return;
	}
	while (vhdx_bmap_next(&p, &r)) {
		if (r.first < next || r.last < r.first || r.last >= p.info.blocks_count)
			abort();
		blocks += r.last - r.first + 1;
		next = r.last + 1;
		n++;
	}
	if (blocks != p.info.mapped_blocks || n != p.info.ranges)
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_streaming(data, size);
	check_parse(data, size);
	return 0;
}
