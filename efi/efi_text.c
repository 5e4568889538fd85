/* SPDX-License-Identifier: MIT */
/*
 * efi_text.c - UCS-2/UTF-16 <-> UTF-8 and bounded text building.
 * The shell hands arguments as CHAR16; the core's parser and messages are
 * UTF-8.
 */
#include "efi_app.h"

char *efi_text_to_utf8(const CHAR16 *s)
{
	UINTN n = 0, i;
	char *out, *p;

	for (i = 0; s[i]; i++)
		n++;
	/* at most 3 bytes per unit (a surrogate pair: 4 bytes for 2 units) */
	out = AllocatePool(n * 3 + 1);
	if (!out)
		return NULL;
	p = out;
	for (i = 0; s[i]; i++) {
		UINT32 c = s[i];

		if (c >= 0xD800 && c <= 0xDBFF && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
			c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
			i++;
		} else if (c >= 0xD800 && c <= 0xDFFF) {
			c = 0xFFFD; /* lone surrogate */
		}
		if (c < 0x80) {
			*p++ = (char)c;
		} else if (c < 0x800) {
			*p++ = (char)(0xC0 | (c >> 6));
			*p++ = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			*p++ = (char)(0xE0 | (c >> 12));
			*p++ = (char)(0x80 | ((c >> 6) & 0x3F));
			*p++ = (char)(0x80 | (c & 0x3F));
		} else {
			*p++ = (char)(0xF0 | (c >> 18));
			*p++ = (char)(0x80 | ((c >> 12) & 0x3F));
			*p++ = (char)(0x80 | ((c >> 6) & 0x3F));
			*p++ = (char)(0x80 | (c & 0x3F));
		}
	}
	*p = 0;
	return out;
}

void efi_text_from_utf8(const char *s, CHAR16 *buf, UINTN units)
{
	const unsigned char *p = (const unsigned char *)s;
	UINTN o = 0;

	if (units == 0)
		return;
	while (*p && o + 1 < units) {
		UINT32 c = *p++;
		int more = 0;

		if (c >= 0xF0 && c < 0xF8) {
			c &= 0x07;
			more = 3;
		} else if (c >= 0xE0) {
			c &= 0x0F;
			more = 2;
		} else if (c >= 0xC0) {
			c &= 0x1F;
			more = 1;
		} else if (c >= 0x80) {
			c = '?';
		}
		for (; more > 0; more--) {
			if ((*p & 0xC0) != 0x80) {
				c = '?';
				break;
			}
			c = (c << 6) | (*p++ & 0x3F);
		}
		if (c >= 0x10000) {
			if (o + 2 >= units)
				break;
			c -= 0x10000;
			buf[o++] = (CHAR16)(0xD800 + (c >> 10));
			buf[o++] = (CHAR16)(0xDC00 + (c & 0x3FF));
		} else {
			buf[o++] = (CHAR16)c;
		}
	}
	buf[o] = 0;
}

void efi_text_add16(struct vhdx_text *t, const CHAR16 *s)
{
	char *u = efi_text_to_utf8(s);

	if (u) {
		vhdx_text_str(t, u);
		FreePool(u);
	}
}
