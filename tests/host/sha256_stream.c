/* SPDX-License-Identifier: MIT */
/*
 * sha256_stream.c - the core's SHA-256 for test_bmap.sh to hold against
 * sha256sum:  sha256_stream FILE PIECE...  prints the digest of FILE fed
 * to vhdx_sha256_update in pieces of the given sizes, cycled;
 * sha256_stream --prefixes FILE  prints "HEX  LEN" for every prefix
 * length 0..size, one shot each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhdx.h"
#include "vhdx_bmap.h"

static unsigned char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		exit(2);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

int main(int argc, char **argv)
{
	uint8_t d[VHDX_SHA256_SIZE];
	char hex[VHDX_SHA256_HEX + 1];
	unsigned char *buf;
	size_t len, at, i;

	if (argc >= 3 && !strcmp(argv[1], "--prefixes")) {
		buf = slurp(argv[2], &len);
		for (i = 0; i <= len; i++) {
			vhdx_sha256(buf, i, d);
			vhdx_sha256_hex(d, hex);
			printf("%s  %zu\n", hex, i);
		}
	} else if (argc >= 3) {
		struct vhdx_sha256 ctx;
		int k = 2;

		buf = slurp(argv[1], &len);
		vhdx_sha256_init(&ctx);
		for (at = 0; at < len;) {
			size_t piece = strtoul(argv[k], NULL, 10);

			if (piece > len - at)
				piece = len - at;
			vhdx_sha256_update(&ctx, buf + at, piece);
			at += piece;
			k = k + 1 < argc ? k + 1 : 2;
		}
		vhdx_sha256_final(&ctx, d);
		vhdx_sha256_hex(d, hex);
		printf("%s\n", hex);
	} else {
		fprintf(stderr, "usage: sha256_stream FILE PIECE... | --prefixes FILE\n");
		return 2;
	}
	free(buf);
	return 0;
}
