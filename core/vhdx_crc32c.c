/* SPDX-License-Identifier: MIT */
/*
 * vhdx_crc32c.c - CRC-32C (Castagnoli), reflected polynomial 0x82F63B78.
 *
 * VHDX computes it with init 0xFFFFFFFF and a final xor of 0xFFFFFFFF over
 * a structure whose checksum field is zero ([MS-VHDX] 2.2.2, 2.2.3).  The
 * inversions happen inside, so chaining is crc = vhdx_crc32c(crc, ...)
 * starting from 0.  Slicing-by-1 with a 1 KiB const table: the largest
 * checksummed structure is 64 KiB, written a few times per image.
 */
#include "vhdx_internal.h"

static const uint32_t crc32c_table[256] = {
#define R(c) (((c) & 1) ? (((c) >> 1) ^ 0x82F63B78u) : ((c) >> 1))
#define E(n) R(R(R(R(R(R(R(R((uint32_t)(n)))))))))
#define E4(n) E(n), E(n + 1), E(n + 2), E(n + 3)
#define E16(n) E4(n), E4(n + 4), E4(n + 8), E4(n + 12)
#define E64(n) E16(n), E16(n + 16), E16(n + 32), E16(n + 48)
	E64(0), E64(64), E64(128), E64(192)
#undef E64
#undef E16
#undef E4
#undef E
#undef R
};

uint32_t vhdx_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

uint32_t vhdx_crc32c_zeros(uint32_t crc, uint64_t len)
{
	crc = ~crc;
	while (len--)
		crc = crc32c_table[crc & 0xFF] ^ (crc >> 8);
	return ~crc;
}
