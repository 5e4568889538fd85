/* SPDX-License-Identifier: MIT */
/* test_util.h - shared helpers of the unit tests (header-only). */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vhdx.h"

/* Bitwise CRC-32C, independent of the core's table version. */
static inline uint32_t ref_crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return ~crc;
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline void set_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Deterministic GUIDs: bytes seed, seed+1, ... */
static inline struct vhdx_guid test_guid(uint8_t seed)
{
	struct vhdx_guid g;
	int i;

	for (i = 0; i < 16; i++)
		g.bytes[i] = (uint8_t)(seed + i);
	return g;
}

static inline struct vhdx_params test_params(enum vhdx_type type, uint64_t size)
{
	struct vhdx_params p;

	memset(&p, 0, sizeof(p));
	p.type = type;
	p.virtual_size = size;
	p.file_write_guid = test_guid(0x10);
	p.data_write_guid = test_guid(0x20);
	p.page83 = test_guid(0x30);
	p.creator = "vhdx test";
	return p;
}

static inline int is_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

#endif /* TEST_UTIL_H */
