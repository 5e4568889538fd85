/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http.c - libFuzzer target over the HTTP response parser vhdx.efi
 * reads servers with (core/vhdx_http.h):
 * The first byte says how many step bytes follow (0..7); the rest is
 *   - a status line, a Content-Length, a Content-Range and a
 *     Transfer-Encoding value: never a read outside it (ASan, on a copy
 *     of exactly its size), and what is accepted holds the rules (a code
 *     100..599, lengths at most VHDX_HTTP_LENGTH_MAX, first <= last <
 *     complete);
 *   - a chunked body, fed whole and fed in pieces whose sizes
 *     come from its first bytes: both give the same data, the same verdict
 *     and the same end, the data never longer than what was fed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vhdx_base.h"
#include "vhdx_http.h"

static void check_values(const char *v, size_t n)
{
	uint64_t a, b, t;
	unsigned code;
	bool chunked;

	if (vhdx_http_status_line(v, n, &code) == VHDX_OK && (code < 100 || code > 599))
		abort();
	if (vhdx_http_content_length(v, n, &a) == VHDX_OK && a > VHDX_HTTP_LENGTH_MAX)
		abort();
	if (vhdx_http_content_range(v, n, &a, &b, &t) == VHDX_OK &&
	    (a > b || b > VHDX_HTTP_LENGTH_MAX || (t && (b >= t || t > VHDX_HTTP_LENGTH_MAX))))
		abort();
	if (vhdx_http_transfer_encoding(v, n, &chunked) == VHDX_OK && !chunked)
		abort();
	(void)vhdx_http_name_is(v, n, "Content-Range");
}

/* Feeds body in pieces (step 0: whole); data out, verdict and end back. */
static int feed(const uint8_t *body, size_t size, const uint8_t *steps, size_t nsteps, uint8_t *out,
		size_t *out_len, bool *done)
{
	struct vhdx_http_chunked c;
	size_t at = 0, got = 0, k = 0;
	int err = VHDX_OK;

	vhdx_http_chunked_init(&c);
	while (at < size) {
		size_t n = nsteps ? (size_t)steps[k++ % nsteps] + 1 : size - at, data;
		uint8_t *piece;

		if (n > size - at)
			n = size - at;
		piece = malloc(n);
		if (!piece)
			abort();
		memcpy(piece, body + at, n);
		err = vhdx_http_chunked_feed(&c, piece, n, &data);
		if (data > n)
			abort();
		memcpy(out + got, piece, data);
		free(piece);
		got += data;
		at += n;
		if (err)
			break;
	}
	*out_len = got;
	*done = c.done;
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nsteps = size ? data[0] % 8 : 0, len1, len2;
	uint8_t *out1, *out2;
	char *copy;
	bool done1, done2;
	int err1, err2;

	if (size < 1 + nsteps)
		return 0;
	/* the values: a copy of exactly the bytes after the steps */
	copy = malloc(size - 1 - nsteps + 1);
	if (!copy)
		abort();
	memcpy(copy, data + 1 + nsteps, size - 1 - nsteps);
	check_values(copy, size - 1 - nsteps);
	free(copy);
	out1 = malloc(size);
	out2 = malloc(size);
	if (!out1 || !out2)
		abort();
	err1 = feed(data + 1 + nsteps, size - 1 - nsteps, NULL, 0, out1, &len1, &done1);
	err2 = feed(data + 1 + nsteps, size - 1 - nsteps, data + 1, nsteps, out2, &len2, &done2);
	if (err1 != err2 || done1 != done2 || len1 != len2 || memcmp(out1, out2, len1) != 0)
		abort();
	free(out1);
	free(out2);
	return 0;
}
