/* SPDX-License-Identifier: MIT */
/* vhdx_guid.c - GUIDs in on-disk order (section 3) and their text form. */
#include "vhdx_internal.h"

/* On-disk byte index of each canonical text byte: Data1..3 are LE. */
static const uint8_t text_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

void vhdx_guid_to_text(const struct vhdx_guid *g, char *buf, bool upper)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i, n = 0;

	for (i = 0; i < 16; i++) {
		uint8_t b = g->bytes[text_order[i]];

		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[n++] = '-';
		buf[n++] = hex[b >> 4];
		buf[n++] = hex[b & 15];
	}
	buf[n] = '\0';
}

int vhdx_guid_from_text(struct vhdx_guid *ret, const char *text, size_t len)
{
	struct vhdx_guid g;
	size_t i, n = 0;

	if (len == 38 && text[0] == '{' && text[37] == '}') {
		text++;
		len -= 2;
	}
	if (len != 36)
		return VHDX_ERR_INVAL;
	for (i = 0; i < 16; i++) {
		int hi, lo;

		if (n == 8 || n == 13 || n == 18 || n == 23) {
			if (text[n] != '-')
				return VHDX_ERR_INVAL;
			n++;
		}
		hi = vhdx_hex_digit_(text[n]);
		lo = vhdx_hex_digit_(text[n + 1]);
		if (hi < 0 || lo < 0)
			return VHDX_ERR_INVAL;
		g.bytes[text_order[i]] = (uint8_t)(hi << 4 | lo);
		n += 2;
	}
	vhdx_mem_copy_(ret, &g, sizeof(g));
	return VHDX_OK;
}

void vhdx_guid_make_v4(struct vhdx_guid *g)
{
	g->bytes[7] = (uint8_t)((g->bytes[7] & 0x0F) | 0x40); /* Data3 high nibble: version 4 */
	g->bytes[8] = (uint8_t)((g->bytes[8] & 0x3F) | 0x80); /* RFC 4122 variant */
}

bool vhdx_guid_is_zero(const struct vhdx_guid *g)
{
	size_t i;

	for (i = 0; i < 16; i++)
		if (g->bytes[i])
			return false;
	return true;
}

bool vhdx_guid_equal(const struct vhdx_guid *a, const struct vhdx_guid *b)
{
	return vhdx_mem_equal_(a->bytes, b->bytes, 16);
}
