/* SPDX-License-Identifier: MIT */
/*
 * vhdx_sha256.h - SHA-256 (FIPS 180-4, section 6.2) in the freestanding
 * core: streaming init/update/final on a caller-owned context, for the
 * bmap manifests (vhdx_bmap.h) of both frontends.
 */
#ifndef VHDX_SHA256_H
#define VHDX_SHA256_H

#include "vhdx_env.h"

#define VHDX_SHA256_SIZE 32u  /* [byte] a digest */
#define VHDX_SHA256_HEX  64u  /* [char] a digest as lowercase hex, without the NUL */

struct vhdx_sha256 {
	uint32_t state[8];     /* H0..H7 [5.3.3] */
	uint64_t length;       /* [byte] fed so far (the message length is in bits: < 2^64) */
	uint8_t block[64];     /* the message block being filled [5.2.1] */
	size_t used;           /* [byte] of block */
};

void vhdx_sha256_init(struct vhdx_sha256 *ctx);
void vhdx_sha256_update(struct vhdx_sha256 *ctx, const void *data, size_t len);
/* Pads, writes the digest (big-endian words [6.2.2 step 4]); @ctx must be
 * initialised again before reuse. */
void vhdx_sha256_final(struct vhdx_sha256 *ctx, uint8_t digest[VHDX_SHA256_SIZE]);
/* One shot: init, update, final. */
void vhdx_sha256(const void *data, size_t len, uint8_t digest[VHDX_SHA256_SIZE]);
/* @digest as 64 lowercase hex digits into @hex, NUL-terminated (65 bytes). */
void vhdx_sha256_hex(const uint8_t digest[VHDX_SHA256_SIZE], char hex[VHDX_SHA256_HEX + 1]);

/*
 * The same function from elsewhere, where a platform has a faster one (the
 * host's libcrypto, with the CPU's SHA instructions): streaming over the
 * frontend's own state @ctx, one message at a time.  A job given NULL
 * uses the functions above; the tests of this file test those.
 */
struct vhdx_sha256_ops {
	void *ctx;
	void (*init)(void *ctx);
	void (*update)(void *ctx, const void *data, size_t len);
	void (*final)(void *ctx, uint8_t digest[VHDX_SHA256_SIZE]);
	/* optional, all three or none: whole messages hashed beside the
	 * caller (on another CPU) while it goes on, independent of
	 * init/update/final.  start() queues one (at most
	 * VHDX_SHA256_BESIDE_MAX not yet waited for); wait() returns the
	 * digest of the oldest not yet waited for; busy() says how many
	 * started are not hashed yet.  @data stays unchanged until its wait()
	 * has returned. */
	void (*start)(void *ctx, const void *data, size_t len);
	void (*wait)(void *ctx, uint8_t digest[VHDX_SHA256_SIZE]);
	unsigned (*busy)(void *ctx);
};

#define VHDX_SHA256_BESIDE_MAX 4u /* messages started and not yet waited for */

#endif /* VHDX_SHA256_H */
