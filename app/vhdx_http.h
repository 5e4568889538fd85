/* SPDX-License-Identifier: MIT */
/*
 * vhdx_http.h - what an HTTP/1.1 server sends, parsed without trusting it
 * (RFC 9110, RFC 9112): the status line, header field values that decide
 * how many bytes are read (Content-Length, Content-Range,
 * Transfer-Encoding) and the chunked framing of a body, de-chunked in
 * place.  The frontends (vhdx.efi over EFI_HTTP_PROTOCOL, which hands back
 * header fields as strings and chunked bodies raw) parse every value from
 * the server here.
 *
 * Every length is bounded: a value longer than VHDX_HTTP_VALUE_MAX bytes,
 * a number above VHDX_HTTP_LENGTH_MAX, a chunk-size line longer than
 * VHDX_HTTP_CHUNK_LINE_MAX or a trailer section above
 * VHDX_HTTP_TRAILER_MAX is refused (VHDX_ERR_CORRUPT), never read past.
 * Input is (pointer, length): never NUL-terminated by assumption.
 */
#ifndef VHDX_HTTP_H
#define VHDX_HTTP_H

#include "vhdx_env.h"

#define VHDX_HTTP_VALUE_MAX       256u             /* [byte] a header value we parse */
#define VHDX_HTTP_LENGTH_MAX      (1ull << 50)     /* [byte] any length or offset: 1 PiB */
#define VHDX_HTTP_CHUNK_LINE_MAX  256u             /* [byte] chunk-size line with extensions */
#define VHDX_HTTP_TRAILER_MAX     8192u            /* [byte] trailer section after the last chunk */

/* "HTTP/1.1 206 Partial Content": the code (100..599).  A line ending
 * (CR LF or LF) may follow.  VHDX_OK or VHDX_ERR_CORRUPT. */
int vhdx_http_status_line(const char *line, size_t len, unsigned *ret_code);

/* Case-insensitive equality of a field name with @want (a C string). */
bool vhdx_http_name_is(const char *name, size_t len, const char *want);

/* Content-Length: 1*DIGIT with optional surrounding spaces/tabs, at most
 * VHDX_HTTP_LENGTH_MAX.  VHDX_OK or VHDX_ERR_CORRUPT. */
int vhdx_http_content_length(const char *value, size_t len, uint64_t *ret);

/* Content-Range of a 206: "bytes FIRST-LAST/COMPLETE" with
 * FIRST <= LAST < COMPLETE, or with an asterisk for COMPLETE (unknown:
 * *ret_complete 0).  The unit compares case-insensitively.  VHDX_OK or
 * VHDX_ERR_CORRUPT. */
int vhdx_http_content_range(const char *value, size_t len, uint64_t *ret_first, uint64_t *ret_last,
			    uint64_t *ret_complete);

/* Transfer-Encoding: true in *ret_chunked when the codings are exactly
 * "chunked" (case-insensitive, spaces around allowed); VHDX_ERR_UNSUPPORTED
 * for any other coding (gzip, a list): the bytes would not be the file's. */
int vhdx_http_transfer_encoding(const char *value, size_t len, bool *ret_chunked);

/*
 * A chunked body (RFC 9112 7.1) de-chunked in place.  Start with
 * vhdx_http_chunked_init, then feed the raw body bytes as they arrive:
 * the data bytes among them are moved to the front of the same buffer
 * (*ret_data bytes).  done becomes true after the last chunk, its
 * trailers and the final CRLF; bytes after that are refused.
 */
struct vhdx_http_chunked {
	uint64_t left;       /* [byte] data bytes still to come in this chunk */
	uint32_t line_len;   /* [byte] of the size line or trailer line so far */
	uint32_t trailer;    /* [byte] of the trailer section so far */
	uint8_t state;       /* private */
	bool saw_digit;      /* private: the size line has a hex digit */
	bool done;
};
void vhdx_http_chunked_init(struct vhdx_http_chunked *c);
/* VHDX_OK, or VHDX_ERR_CORRUPT with *ret_data the data bytes decoded before
 * the fault: a bad size line, a size above VHDX_HTTP_LENGTH_MAX, a missing
 * CR LF after a chunk, a line too long, or bytes after the end. */
int vhdx_http_chunked_feed(struct vhdx_http_chunked *c, uint8_t *buf, size_t len, size_t *ret_data);

#endif /* VHDX_HTTP_H */
