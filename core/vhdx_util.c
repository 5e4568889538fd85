/* SPDX-License-Identifier: MIT */
/* vhdx_util.c - memory, arithmetic, cursor and text primitives of the core. */
#include "vhdx_internal.h"

void vhdx_mem_zero_(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len--)
		*p++ = 0;
}

void vhdx_mem_copy_(void *dst, const void *src, size_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (len--)
		*d++ = *s++;
}

int vhdx_hex_digit_(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool vhdx_mem_equal_(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;

	while (len--)
		if (*x++ != *y++)
			return false;
	return true;
}

size_t vhdx_str_len_(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* Shift-and-subtract long division: 64 steps, no __udivdi3. */
uint64_t vhdx_udiv64_32_(uint64_t n, uint32_t d, uint32_t *ret_rem)
{
	uint64_t q = 0, r = 0;
	int i;

	VHDX_ASSERT(d != 0);
	for (i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (uint64_t)1 << i;
		}
	}
	if (ret_rem)
		*ret_rem = (uint32_t)r;
	return q;
}

unsigned vhdx_log2_(uint64_t pow2)
{
	unsigned n = 0;

	while (pow2 > 1) {
		pow2 >>= 1;
		n++;
	}
	return n;
}

void vhdx_emit_bytes_(struct vhdx_cursor_ *c, const void *data, size_t n)
{
	const uint8_t *src = data;
	uint64_t end = c->start + c->len;
	size_t i;

	if (c->pos >= end || c->pos + n <= c->start) {
		c->pos += n;
		return;
	}
	for (i = 0; i < n; i++, c->pos++)
		if (c->pos >= c->start && c->pos < end)
			c->buf[c->pos - c->start] = src[i];
}

void vhdx_emit_le16_(struct vhdx_cursor_ *c, uint16_t v)
{
	uint8_t b[2];

	vhdx_put_le16(b, v);
	vhdx_emit_bytes_(c, b, sizeof(b));
}

void vhdx_emit_le32_(struct vhdx_cursor_ *c, uint32_t v)
{
	uint8_t b[4];

	vhdx_put_le32(b, v);
	vhdx_emit_bytes_(c, b, sizeof(b));
}

void vhdx_emit_le64_(struct vhdx_cursor_ *c, uint64_t v)
{
	uint8_t b[8];

	vhdx_put_le64(b, v);
	vhdx_emit_bytes_(c, b, sizeof(b));
}

/* Decodes one UTF-8 sequence (RFC 3629: no overlongs, no surrogates,
 * <= U+10FFFF).  Returns its length, or 0 if invalid. */
static size_t utf8_decode(const uint8_t *s, uint32_t *ret_cp)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	} else if ((s[0] & 0xE0) == 0xC0) {
		cp = s[0] & 0x1F;
		n = 2;
	} else if ((s[0] & 0xF0) == 0xE0) {
		cp = s[0] & 0x0F;
		n = 3;
	} else if ((s[0] & 0xF8) == 0xF0) {
		cp = s[0] & 0x07;
		n = 4;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*ret_cp = cp;
	return n;
}

long vhdx_emit_utf16_(struct vhdx_cursor_ *c, const char *utf8)
{
	const uint8_t *s = (const uint8_t *)utf8;
	long units = 0;
	uint32_t cp;
	size_t n;

	while (*s) {
		n = utf8_decode(s, &cp);
		if (n == 0)
			return -1;
		s += n;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (c) {
				vhdx_emit_le16_(c, (uint16_t)(0xD800 | (cp >> 10)));
				vhdx_emit_le16_(c, (uint16_t)(0xDC00 | (cp & 0x3FF)));
			}
			units += 2;
		} else {
			if (c)
				vhdx_emit_le16_(c, (uint16_t)cp);
			units += 1;
		}
	}
	return units;
}

void vhdx_text_init(struct vhdx_text *t, char *buf, size_t len)
{
	t->buf = buf;
	t->len = len;
	t->pos = 0;
	if (buf && len)
		buf[0] = '\0';
}

void vhdx_text_str(struct vhdx_text *t, const char *s)
{
	if (!t->buf || !t->len)
		return;
	while (*s && t->pos + 1 < t->len)
		t->buf[t->pos++] = *s++;
	t->buf[t->pos] = '\0';
}

/* Powers of ten by subtraction: no 64-bit division helpers. */
void vhdx_text_u64(struct vhdx_text *t, uint64_t v)
{
	static const uint64_t pow10[] = {
		10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
		10000000000000000ull, 1000000000000000ull, 100000000000000ull,
		10000000000000ull, 1000000000000ull, 100000000000ull, 10000000000ull,
		1000000000ull, 100000000ull, 10000000ull, 1000000ull, 100000ull,
		10000ull, 1000ull, 100ull, 10ull, 1ull,
	};
	char digits[21];
	size_t n = 0, i;
	bool started = false;

	for (i = 0; i < VHDX_ARRAY_SIZE(pow10); i++) {
		char d = '0';

		while (v >= pow10[i]) {
			v -= pow10[i];
			d++;
		}
		if (d != '0' || started || i + 1 == VHDX_ARRAY_SIZE(pow10)) {
			digits[n++] = d;
			started = true;
		}
	}
	digits[n] = '\0';
	vhdx_text_str(t, digits);
}

/* "64 GiB" when exact in the largest unit, else "<n> bytes". */
void vhdx_text_size(struct vhdx_text *t, uint64_t bytes)
{
	static const char units[][4] = { "TiB", "GiB", "MiB", "KiB" }; /* no pointers: no relocation */
	static const unsigned shifts[] = { 40, 30, 20, 10 };
	size_t i;

	for (i = 0; i < VHDX_ARRAY_SIZE(units); i++) {
		uint64_t mask = ((uint64_t)1 << shifts[i]) - 1;

		if (bytes && (bytes & mask) == 0) {
			vhdx_text_u64(t, bytes >> shifts[i]);
			vhdx_text_str(t, " ");
			vhdx_text_str(t, units[i]);
			return;
		}
	}
	vhdx_text_u64(t, bytes);
	vhdx_text_str(t, bytes == 1 ? " byte" : " bytes");
}

void vhdx_text_hex(struct vhdx_text *t, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char digits[19];
	int i, n = 0;
	bool started = false;

	digits[n++] = '0';
	digits[n++] = 'x';
	for (i = 60; i >= 0; i -= 4) {
		unsigned d = (unsigned)(v >> i) & 15u;

		if (d || started || i == 0) {
			digits[n++] = hex[d];
			started = true;
		}
	}
	digits[n] = '\0';
	vhdx_text_str(t, digits);
}

void vhdx_text_size_arg(struct vhdx_text *t, uint64_t v)
{
	static const char suffix[] = "TGMK";
	unsigned i;

	for (i = 0; i < 4; i++) {
		unsigned shift = 40 - 10 * i;

		if (v && (v & (((uint64_t)1 << shift) - 1)) == 0) {
			char s[2] = { suffix[i], '\0' };

			vhdx_text_u64(t, v >> shift);
			vhdx_text_str(t, s);
			return;
		}
	}
	vhdx_text_u64(t, v);
}

bool vhdx_text_full(const struct vhdx_text *t)
{
	return t->pos + 1 >= t->len;
}

size_t vhdx_size_to_text(uint64_t bytes, char *buf, size_t len)
{
	struct vhdx_text t;

	vhdx_text_init(&t, buf, len);
	vhdx_text_size(&t, bytes);
	return t.pos;
}

size_t vhdx_u64_to_text(uint64_t v, char *buf, size_t len)
{
	struct vhdx_text t;

	vhdx_text_init(&t, buf, len);
	vhdx_text_u64(&t, v);
	return t.pos;
}

const char *vhdx_strerror(int err)
{
	/*
	 * Names in arrays, indexed by -err.  Not a switch returning literals:
	 * clang turns that into a table of pointers (.data.rel.ro under -fPIE),
	 * which a core running from flash or ROM cannot have relocated.
	 */
	static const char names[][sizeof("UNSUPPORTED")] = {
		[-VHDX_OK] = "OK",
		[-VHDX_ERR_NOSPACE] = "NOSPACE",
		[-VHDX_ERR_INVAL] = "INVAL",
		[-VHDX_ERR_RANGE] = "RANGE",
		[-VHDX_ERR_DEVFULL] = "DEVFULL",
		[-VHDX_ERR_IO] = "IO",
		[-VHDX_ERR_STATE] = "STATE",
		[-VHDX_ERR_CORRUPT] = "CORRUPT",
		[-VHDX_ERR_UNSUPPORTED] = "UNSUPPORTED",
		[-VHDX_ERR_ABORTED] = "ABORTED",
	};

	/* err < -(n - 1) rather than -err > n - 1: -INT_MIN overflows */
	if (err > 0 || err < -(int)(VHDX_ARRAY_SIZE(names) - 1) || !names[-err][0])
		return "UNKNOWN";
	return names[-err];
}
