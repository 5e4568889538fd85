/* SPDX-License-Identifier: MIT */
/*
 * vhdx_http.c - HTTP/1.1 response pieces parsed without trusting the
 * server (vhdx_http.h).  RFC 9110 (semantics: 8.6 Content-Length, 14.4
 * Content-Range), RFC 9112 (syntax: 4 status line, 6.1 Transfer-Encoding,
 * 7.1 chunked).
 */
#include "vhdx_base.h"
#include "vhdx_internal.h"
#include "vhdx_http.h"

enum {
	CH_SIZE,        /* hex digits of a chunk-size line */
	CH_EXT,         /* chunk extensions or spaces up to CR */
	CH_SIZE_LF,     /* LF ending the size line */
	CH_DATA,
	CH_DATA_CR,     /* CR LF after a chunk's data */
	CH_DATA_LF,
	CH_TRAILER_BOL, /* start of a trailer line, or CR of the final CRLF */
	CH_TRAILER,     /* inside a trailer line */
	CH_TRAILER_LF,
	CH_END_LF,      /* LF of the final CRLF */
	CH_DONE,
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* 1*DIGIT at v[*i], at most VHDX_HTTP_LENGTH_MAX (checked after each
 * digit, so v * 10 + 9 never overflows). */
static int parse_decimal(const char *v, size_t len, size_t *i, uint64_t *ret)
{
	uint64_t n = 0;
	size_t start = *i;

	while (*i < len && is_digit(v[*i])) {
		n = n * 10 + (uint64_t)(v[*i] - '0');
		if (n > VHDX_HTTP_LENGTH_MAX)
			return VHDX_ERR_CORRUPT;
		(*i)++;
	}
	if (*i == start)
		return VHDX_ERR_CORRUPT;
	*ret = n;
	return VHDX_OK;
}

/* Trims spaces and tabs at both ends; false when the value is too long. */
static bool trim(const char **v, size_t *len)
{
	if (!*v || *len > VHDX_HTTP_VALUE_MAX)
		return false;
	while (*len && is_ows((*v)[0])) {
		(*v)++;
		(*len)--;
	}
	while (*len && is_ows((*v)[*len - 1]))
		(*len)--;
	return true;
}

int vhdx_http_status_line(const char *line, size_t len, unsigned *ret_code)
{
	static const char proto[] = "HTTP/";
	unsigned code = 0;
	size_t i;

	if (!line || len > VHDX_HTTP_VALUE_MAX)
		return VHDX_ERR_CORRUPT;
	/* the line ending, if any */
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len < 12)
		return VHDX_ERR_CORRUPT;
	for (i = 0; i < 5; i++)
		if (line[i] != proto[i])
			return VHDX_ERR_CORRUPT;
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT; status-code = 3DIGIT */
	if (!is_digit(line[5]) || line[6] != '.' || !is_digit(line[7]) || line[8] != ' ')
		return VHDX_ERR_CORRUPT;
	for (i = 9; i < 12; i++) {
		if (!is_digit(line[i]))
			return VHDX_ERR_CORRUPT;
		code = code * 10 + (unsigned)(line[i] - '0');
	}
	if (code < 100 || code > 599 || (len > 12 && line[12] != ' '))
		return VHDX_ERR_CORRUPT;
	/* reason-phrase: HTAB, SP, VCHAR, obs-text; no control bytes */
	for (i = 13; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return VHDX_ERR_CORRUPT;
	}
	*ret_code = code;
	return VHDX_OK;
}

bool vhdx_http_name_is(const char *name, size_t len, const char *want)
{
	size_t i;

	if (!name)
		return false;
	for (i = 0; i < len; i++)
		if (!want[i] || lower(name[i]) != lower(want[i]))
			return false;
	return want[i] == 0;
}

int vhdx_http_content_length(const char *value, size_t len, uint64_t *ret)
{
	size_t i = 0;
	uint64_t n;

	if (!trim(&value, &len) || parse_decimal(value, len, &i, &n) || i != len)
		return VHDX_ERR_CORRUPT;
	*ret = n;
	return VHDX_OK;
}

int vhdx_http_content_range(const char *value, size_t len, uint64_t *ret_first, uint64_t *ret_last,
			    uint64_t *ret_complete)
{
	uint64_t first, last, complete = 0;
	size_t i = 6;

	if (!trim(&value, &len) || len < 6 || !vhdx_http_name_is(value, 5, "bytes") || value[5] != ' ')
		return VHDX_ERR_CORRUPT;
	if (parse_decimal(value, len, &i, &first) || i >= len || value[i++] != '-' ||
	    parse_decimal(value, len, &i, &last) || i >= len || value[i++] != '/')
		return VHDX_ERR_CORRUPT;
	if (i < len && value[i] == '*')
		i++;
	else if (parse_decimal(value, len, &i, &complete) || complete == 0 || last >= complete)
		return VHDX_ERR_CORRUPT;
	if (i != len || first > last)
		return VHDX_ERR_CORRUPT;
	*ret_first = first;
	*ret_last = last;
	*ret_complete = complete;
	return VHDX_OK;
}

int vhdx_http_transfer_encoding(const char *value, size_t len, bool *ret_chunked)
{
	if (!trim(&value, &len))
		return VHDX_ERR_CORRUPT;
	if (len == 0)
		return VHDX_ERR_CORRUPT;
	if (!vhdx_http_name_is(value, len, "chunked"))
		return VHDX_ERR_UNSUPPORTED;
	*ret_chunked = true;
	return VHDX_OK;
}

void vhdx_http_chunked_init(struct vhdx_http_chunked *c)
{
	c->left = 0;
	c->line_len = 0;
	c->trailer = 0;
	c->state = CH_SIZE;
	c->saw_digit = false;
	c->done = false;
}

int vhdx_http_chunked_feed(struct vhdx_http_chunked *c, uint8_t *buf, size_t len, size_t *ret_data)
{
	size_t r = 0, w = 0;

	*ret_data = 0;
	while (r < len) {
		uint8_t b = buf[r];

		switch (c->state) {
		case CH_DATA: {
			/* data bytes move to the front: w <= r, a forward copy */
			uint64_t n = len - r;

			if (n > c->left)
				n = c->left;
			if (w != r)
				for (size_t k = 0; k < n; k++)
					buf[w + k] = buf[r + k];
			w += (size_t)n;
			r += (size_t)n;
			c->left -= n;
			if (!c->left)
				c->state = CH_DATA_CR;
			continue;
		}
		case CH_SIZE:
		case CH_EXT:
			if (++c->line_len > VHDX_HTTP_CHUNK_LINE_MAX)
				goto bad;
			if (b == '\r') {
				if (!c->saw_digit)
					goto bad;
				c->state = CH_SIZE_LF;
			} else if (c->state == CH_SIZE && vhdx_hex_digit_(b) >= 0) {
				if (c->left > (VHDX_HTTP_LENGTH_MAX >> 4))
					goto bad;
				c->left = (c->left << 4) | (uint64_t)vhdx_hex_digit_(b);
				c->saw_digit = true;
			} else if (c->saw_digit && (b == ';' || is_ows((char)b))) {
				c->state = CH_EXT;
			} else if (c->state != CH_EXT || b < 0x20 || b == 0x7f) {
				goto bad;
			}
			break;
		case CH_SIZE_LF:
			if (b != '\n' || c->left > VHDX_HTTP_LENGTH_MAX)
				goto bad;
			c->line_len = 0;
			c->saw_digit = false;
			c->state = c->left ? CH_DATA : CH_TRAILER_BOL;
			break;
		case CH_DATA_CR:
			if (b != '\r')
				goto bad;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (b != '\n')
				goto bad;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER_BOL:
		case CH_TRAILER:
			if (++c->trailer > VHDX_HTTP_TRAILER_MAX)
				goto bad;
			if (b == '\r')
				c->state = c->state == CH_TRAILER_BOL ? CH_END_LF : CH_TRAILER_LF;
			else if (b == '\n' || (b < 0x20 && b != '\t'))
				goto bad;
			else
				c->state = CH_TRAILER;
			break;
		case CH_TRAILER_LF:
			if (b != '\n' || ++c->trailer > VHDX_HTTP_TRAILER_MAX)
				goto bad;
			c->state = CH_TRAILER_BOL;
			break;
		case CH_END_LF:
			if (b != '\n')
				goto bad;
			c->state = CH_DONE;
			c->done = true;
			break;
		default: /* CH_DONE: the body has ended */
			goto bad;
		}
		r++;
	}
	*ret_data = w;
	return VHDX_OK;
bad:
	*ret_data = w;
	return VHDX_ERR_CORRUPT;
}
