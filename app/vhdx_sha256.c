/* SPDX-License-Identifier: MIT */
/*
 * vhdx_sha256.c - SHA-256 from FIPS 180-4: the functions of 4.1.2, the
 * constants of 4.2.2 and 5.3.3, padding 5.1.1, the computation 6.2.2.
 * Bytes are assembled into words by shifts, so the result does not depend
 * on the machine's byte order or alignment.
 */
#include "vhdx_sha256.h"

/* 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes */
static const uint32_t round_constants[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

/* 4.1.2, (4.2)-(4.7) */
#define CH(x, y, z)  (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x) (rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22))
#define BSIG1(x) (rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25))
#define SSIG0(x) (rotr(x, 7) ^ rotr(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (rotr(x, 17) ^ rotr(x, 19) ^ ((x) >> 10))

/* 6.2.2: one 512-bit block into the state */
static void compress(uint32_t state[8], const uint8_t block[64])
{
	uint32_t w[64];
	uint32_t a, b, c, d, e, f, g, h, t1, t2;
	unsigned t;

	for (t = 0; t < 16; t++)
		w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
		       (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
	for (t = 16; t < 64; t++)
		w[t] = SSIG1(w[t - 2]) + w[t - 7] + SSIG0(w[t - 15]) + w[t - 16];
	a = state[0];
	b = state[1];
	c = state[2];
	d = state[3];
	e = state[4];
	f = state[5];
	g = state[6];
	h = state[7];
	for (t = 0; t < 64; t++) {
		t1 = h + BSIG1(e) + CH(e, f, g) + round_constants[t] + w[t];
		t2 = BSIG0(a) + MAJ(a, b, c);
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

void vhdx_sha256_init(struct vhdx_sha256 *ctx)
{
	/* 5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes */
	ctx->state[0] = 0x6a09e667;
	ctx->state[1] = 0xbb67ae85;
	ctx->state[2] = 0x3c6ef372;
	ctx->state[3] = 0xa54ff53a;
	ctx->state[4] = 0x510e527f;
	ctx->state[5] = 0x9b05688c;
	ctx->state[6] = 0x1f83d9ab;
	ctx->state[7] = 0x5be0cd19;
	ctx->length = 0;
	ctx->used = 0;
}

void vhdx_sha256_update(struct vhdx_sha256 *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;

	ctx->length += len;
	if (ctx->used) {
		while (len && ctx->used < sizeof(ctx->block)) {
			ctx->block[ctx->used++] = *p++;
			len--;
		}
		if (ctx->used < sizeof(ctx->block))
			return;
		compress(ctx->state, ctx->block);
		ctx->used = 0;
	}
	for (; len >= sizeof(ctx->block); p += sizeof(ctx->block), len -= sizeof(ctx->block))
		compress(ctx->state, p);
	while (len--)
		ctx->block[ctx->used++] = *p++;
}

void vhdx_sha256_final(struct vhdx_sha256 *ctx, uint8_t digest[VHDX_SHA256_SIZE])
{
	uint64_t bits = ctx->length << 3; /* 5.1.1: l, the length in bits, mod 2^64 */
	unsigned i;

	/* 5.1.1: a 1 bit, zeros to 448 mod 512, the 64-bit big-endian length */
	ctx->block[ctx->used++] = 0x80;
	if (ctx->used > 56) {
		while (ctx->used < 64)
			ctx->block[ctx->used++] = 0;
		compress(ctx->state, ctx->block);
		ctx->used = 0;
	}
	while (ctx->used < 56)
		ctx->block[ctx->used++] = 0;
	for (i = 0; i < 8; i++)
		ctx->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	compress(ctx->state, ctx->block);
	for (i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)(ctx->state[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
		digest[4 * i + 3] = (uint8_t)ctx->state[i];
	}
	ctx->used = 0;
}

void vhdx_sha256(const void *data, size_t len, uint8_t digest[VHDX_SHA256_SIZE])
{
	struct vhdx_sha256 ctx;

	vhdx_sha256_init(&ctx);
	vhdx_sha256_update(&ctx, data, len);
	vhdx_sha256_final(&ctx, digest);
}

void vhdx_sha256_hex(const uint8_t digest[VHDX_SHA256_SIZE], char hex[VHDX_SHA256_HEX + 1])
{
	static const char digits[16] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < VHDX_SHA256_SIZE; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[VHDX_SHA256_HEX] = '\0';
}
