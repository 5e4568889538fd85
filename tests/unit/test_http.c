/* SPDX-License-Identifier: MIT */
/* test_http.c - the HTTP response parser vhdx.efi reads servers with
 * (core/vhdx_http.h): status lines, Content-Length, Content-Range,
 * Transfer-Encoding and chunked framing, each with what a hostile server
 * may send instead (absurd lengths, wrong syntax, bytes after the end). */
#include <stdio.h>

#include "test_util.h"
#include "vhdx_http.h"

static int status(const char *s, unsigned *code)
{
	return vhdx_http_status_line(s, strlen(s), code);
}

static void test_status_line(void **state)
{
	unsigned code = 0;

	(void)state;
	assert_int_equal(status("HTTP/1.1 206 Partial Content", &code), VHDX_OK);
	assert_int_equal(code, 206);
	assert_int_equal(status("HTTP/1.0 404 Not Found\r\n", &code), VHDX_OK);
	assert_int_equal(code, 404);
	assert_int_equal(status("HTTP/1.1 200 \r\n", &code), VHDX_OK);
	assert_int_equal(code, 200);
	code = 7;
	assert_int_equal(status("HTTP/1.1 999 Nope", &code), VHDX_ERR_CORRUPT);
	assert_int_equal(status("HTTP/1.1 099 Nope", &code), VHDX_ERR_CORRUPT);
	assert_int_equal(status("HTTP/1.1 2000 OK", &code), VHDX_ERR_CORRUPT);
	assert_int_equal(status("HTTP/1.1 20 OK", &code), VHDX_ERR_CORRUPT);
	assert_int_equal(status("HTTP/11 206 OK", &code), VHDX_ERR_CORRUPT);
	assert_int_equal(status("http/1.1 206 OK", &code), VHDX_ERR_CORRUPT);
	assert_int_equal(status("HTTP/1.1 206 O\rK", &code), VHDX_ERR_CORRUPT);
	assert_int_equal(status("HTTP/1.1 206 OK\n\n", &code), VHDX_ERR_CORRUPT);
	assert_int_equal(code, 7); /* untouched on refusal */
	/* an absurdly long reason is refused, not scanned */
	{
		char line[VHDX_HTTP_VALUE_MAX + 16];

		memset(line, 'x', sizeof(line));
		memcpy(line, "HTTP/1.1 206 ", 13);
		assert_int_equal(vhdx_http_status_line(line, sizeof(line), &code), VHDX_ERR_CORRUPT);
		assert_int_equal(vhdx_http_status_line(line, VHDX_HTTP_VALUE_MAX, &code), VHDX_OK);
	}
}

static int length(const char *s, uint64_t *n)
{
	return vhdx_http_content_length(s, strlen(s), n);
}

static void test_content_length(void **state)
{
	uint64_t n = 0;

	(void)state;
	assert_int_equal(length("0", &n), VHDX_OK);
	assert_int_equal(n, 0);
	assert_int_equal(length(" 1048576\t", &n), VHDX_OK);
	assert_int_equal(n, 1048576);
	assert_int_equal(length("1125899906842624", &n), VHDX_OK); /* exactly 1 PiB */
	assert_int_equal(n, VHDX_HTTP_LENGTH_MAX);
	n = 5;
	assert_int_equal(length("1125899906842625", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(length("18446744073709551616", &n), VHDX_ERR_CORRUPT); /* 2^64 */
	assert_int_equal(length("99999999999999999999999999999", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(length("", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(length("  ", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(length("-1", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(length("+1", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(length("12, 12", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(length("0x10", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(length("1 2", &n), VHDX_ERR_CORRUPT);
	assert_int_equal(n, 5);
	/* not NUL-terminated: the length given is all that is read */
	assert_int_equal(vhdx_http_content_length("123456", 3, &n), VHDX_OK);
	assert_int_equal(n, 123);
}

static int crange(const char *s, uint64_t *a, uint64_t *b, uint64_t *t)
{
	return vhdx_http_content_range(s, strlen(s), a, b, t);
}

static void test_content_range(void **state)
{
	uint64_t a = 1, b = 2, t = 3;

	(void)state;
	assert_int_equal(crange("bytes 0-65535/4194304", &a, &b, &t), VHDX_OK);
	assert_int_equal(a, 0);
	assert_int_equal(b, 65535);
	assert_int_equal(t, 4194304);
	assert_int_equal(crange(" Bytes 7-7/8 ", &a, &b, &t), VHDX_OK);
	assert_int_equal(a, 7);
	assert_int_equal(b, 7);
	assert_int_equal(t, 8);
	assert_int_equal(crange("bytes 10-20/*", &a, &b, &t), VHDX_OK);
	assert_int_equal(t, 0);
	a = b = t = 9;
	assert_int_equal(crange("bytes 7-8/8", &a, &b, &t), VHDX_ERR_CORRUPT);  /* last past the end */
	assert_int_equal(crange("bytes 8-7/9", &a, &b, &t), VHDX_ERR_CORRUPT);  /* reversed */
	assert_int_equal(crange("bytes 0-0/0", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(crange("bytes */100", &a, &b, &t), VHDX_ERR_CORRUPT);  /* a 416's, not a 206's */
	assert_int_equal(crange("bytes 0-1", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(crange("bytes 0-1/", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(crange("bytes -1/10", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(crange("bytes=0-1/10", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(crange("items 0-1/10", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(crange("bytes 0-1/10, 2-3/10", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(crange("bytes 0-99999999999999999999/*", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(crange("bytes 0-1/1125899906842625", &a, &b, &t), VHDX_ERR_CORRUPT);
	assert_int_equal(a, 9);
	assert_int_equal(b, 9);
	assert_int_equal(t, 9);
}

static void test_transfer_encoding(void **state)
{
	bool chunked = false;

	(void)state;
	assert_int_equal(vhdx_http_transfer_encoding(" Chunked ", 9, &chunked), VHDX_OK);
	assert_true(chunked);
	assert_int_equal(vhdx_http_transfer_encoding("gzip", 4, &chunked), VHDX_ERR_UNSUPPORTED);
	assert_int_equal(vhdx_http_transfer_encoding("gzip, chunked", 13, &chunked), VHDX_ERR_UNSUPPORTED);
	assert_int_equal(vhdx_http_transfer_encoding("", 0, &chunked), VHDX_ERR_CORRUPT);
	assert_false(vhdx_http_name_is("Content-Rang", 12, "Content-Range"));
	assert_false(vhdx_http_name_is("Content-Ranges", 14, "Content-Range"));
	assert_true(vhdx_http_name_is("content-RANGE", 13, "Content-Range"));
}

/* Feeds @body in pieces of @step bytes, collects the data; returns the
 * first error, or VHDX_OK. */
static int dechunk(const char *body, size_t len, size_t step, char *out, size_t *out_len, bool *done)
{
	struct vhdx_http_chunked c;
	uint8_t piece[4096];
	size_t at = 0, got = 0;
	int err = VHDX_OK;

	vhdx_http_chunked_init(&c);
	while (at < len && !err) {
		size_t n = len - at < step ? len - at : step, data;

		assert_true(n <= sizeof(piece));
		memcpy(piece, body + at, n);
		err = vhdx_http_chunked_feed(&c, piece, n, &data);
		assert_true(data <= n);
		memcpy(out + got, piece, data);
		got += data;
		at += n;
	}
	*out_len = got;
	*done = c.done;
	return err;
}

static void test_chunked(void **state)
{
	static const char body[] = "5\r\nhello\r\n1;name=\"x\"\r\n \r\nB \r\nworld, 4096\r\n"
				   "0\r\nX-Trailer: 1\r\n\r\n";
	static const char want[] = "hello world, 4096";
	char out[256];
	size_t n, step;
	bool done;

	(void)state;
	/* every split of the body gives the same data */
	for (step = 1; step <= sizeof(body); step++) {
		assert_int_equal(dechunk(body, sizeof(body) - 1, step, out, &n, &done), VHDX_OK);
		assert_int_equal(n, strlen(want));
		assert_memory_equal(out, want, n);
		assert_true(done);
	}
	/* not finished: no last chunk yet */
	assert_int_equal(dechunk("5\r\nhello\r\n", 10, 4, out, &n, &done), VHDX_OK);
	assert_false(done);
	assert_int_equal(n, 5);
	/* a body longer than its framing: bytes after the end */
	assert_int_equal(dechunk("0\r\n\r\nX", 6, 6, out, &n, &done), VHDX_ERR_CORRUPT);
	/* a chunk longer than its size says: no CR LF where it must be */
	assert_int_equal(dechunk("2\r\nabc\r\n0\r\n\r\n", 13, 64, out, &n, &done), VHDX_ERR_CORRUPT);
	assert_int_equal(n, 2);
	/* bad size lines */
	assert_int_equal(dechunk("\r\n", 2, 2, out, &n, &done), VHDX_ERR_CORRUPT);
	assert_int_equal(dechunk("g\r\n", 3, 3, out, &n, &done), VHDX_ERR_CORRUPT);
	assert_int_equal(dechunk("-1\r\n", 4, 4, out, &n, &done), VHDX_ERR_CORRUPT);
	assert_int_equal(dechunk("5\n", 2, 2, out, &n, &done), VHDX_ERR_CORRUPT);
	assert_int_equal(dechunk("5\rX", 3, 3, out, &n, &done), VHDX_ERR_CORRUPT);
	/* an absurd chunk size: above 1 PiB, and 2^64 wrapping to a small one */
	assert_int_equal(dechunk("4000000000001\r\n", 15, 15, out, &n, &done), VHDX_ERR_CORRUPT);
	assert_int_equal(dechunk("10000000000000005\r\nhello", 24, 24, out, &n, &done), VHDX_ERR_CORRUPT);
	assert_int_equal(dechunk("4000000000000\r\nab", 17, 17, out, &n, &done), VHDX_OK); /* 1 PiB: framed */
	assert_int_equal(n, 2);
	/* a size line of absurd length (zeros, or extensions) stops at the bound */
	{
		char line[VHDX_HTTP_CHUNK_LINE_MAX + 8];

		memset(line, '0', sizeof(line));
		assert_int_equal(dechunk(line, sizeof(line), 7, out, &n, &done), VHDX_ERR_CORRUPT);
		memset(line, 'e', sizeof(line));
		line[0] = '1';
		line[1] = ';';
		assert_int_equal(dechunk(line, sizeof(line), 7, out, &n, &done), VHDX_ERR_CORRUPT);
		line[VHDX_HTTP_CHUNK_LINE_MAX - 2] = '\r';
		line[VHDX_HTTP_CHUNK_LINE_MAX - 1] = '\n';
		line[VHDX_HTTP_CHUNK_LINE_MAX] = 'Z';
		assert_int_equal(dechunk(line, VHDX_HTTP_CHUNK_LINE_MAX + 1, 7, out, &n, &done), VHDX_OK);
		assert_int_equal(n, 1);
	}
	/* an endless trailer section */
	{
		static char trailers[VHDX_HTTP_TRAILER_MAX + 64];
		size_t k;

		memcpy(trailers, "0\r\n", 3);
		for (k = 3; k + 4 < sizeof(trailers); k += 4)
			memcpy(trailers + k, "a:\r\n", 4);
		assert_int_equal(dechunk(trailers, k, 4096, out, &n, &done), VHDX_ERR_CORRUPT);
		assert_false(done);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_line),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_content_range),
		cmocka_unit_test(test_transfer_encoding),
		cmocka_unit_test(test_chunked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
