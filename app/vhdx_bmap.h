/* SPDX-License-Identifier: MIT */
/*
 * vhdx_bmap.h - bmap manifests (bmaptool's format, version 2.0): a writer
 * and a strict, bounded parser, both over caller buffers, for both
 * frontends (NETWORK.md "Image manifests: bmap").
 *
 * A bmap names an image's size, its 4096-byte blocks, the ranges of blocks
 * that hold data with a SHA-256 of each (hashed over the range's bytes,
 * the last block only up to ImageSize), and the SHA-256 of the file itself
 * taken with that field's 64 digits as '0's (BmapFileChecksum).
 */
#ifndef VHDX_BMAP_H
#define VHDX_BMAP_H

#include "vhdx_base.h"
#include "vhdx_sha256.h"

#define VHDX_BMAP_BLOCK 4096u         /* [byte] BlockSize: the only one read or written */
#define VHDX_BMAP_BLOCK_SHIFT 12u

struct vhdx_bmap_range {
	uint64_t first;                     /* [block] */
	uint64_t last;                      /* [block] inclusive */
	uint8_t sha256[VHDX_SHA256_SIZE];   /* of bytes first*4096 .. min((last+1)*4096, ImageSize) */
};

struct vhdx_bmap_info {
	uint64_t image_size;     /* [byte] ImageSize */
	uint64_t blocks_count;   /* BlocksCount: ImageSize in blocks, rounded up */
	uint64_t mapped_blocks;  /* MappedBlocksCount: the ranges' blocks */
	uint64_t ranges;         /* how many Range elements */
	uint64_t longest_range;  /* [block] */
	uint8_t file_checksum[VHDX_SHA256_SIZE]; /* BmapFileChecksum */
};

/* The bytes of range @r of an image of @image_size: [*ret_start, *ret_end). */
void vhdx_bmap_range_bytes(const struct vhdx_bmap_range *r, uint64_t image_size, uint64_t *ret_start,
			   uint64_t *ret_end);

/*
 * Writing.  The caller knows the image size and the mapped blocks before it
 * writes (it hashed the ranges first), emits the head, each range in order,
 * then the tail, each into a buffer it then appends to the file; after the
 * tail, vhdx_bmap_write_checksum gives the 64 digits to put at
 * w->checksum_offset (the file was hashed with '0's there, as bmaptool).
 * Each call returns VHDX_OK and *ret_len, VHDX_ERR_NOSPACE (buffer too
 * small: nothing counted; 4096 bytes always hold the head, 256 a range,
 * 64 the tail), or VHDX_ERR_INVAL: ImageSize 0, a range unsorted,
 * overlapping or past BlocksCount, or the ranges' blocks other than
 * @mapped_blocks at the tail.
 */
struct vhdx_bmap_writer {
	struct vhdx_sha256 file_hash;  /* everything emitted */
	uint64_t emitted;              /* [byte] */
	uint64_t checksum_offset;      /* [byte] of the BmapFileChecksum digits in the file */
	uint64_t image_size;
	uint64_t blocks_count;
	uint64_t mapped_blocks;        /* declared in the head */
	uint64_t ranged_blocks;        /* written as ranges so far */
	uint64_t next_block;           /* the next range starts here or later */
	bool tail_done;
};

int vhdx_bmap_write_head(struct vhdx_bmap_writer *w, uint64_t image_size, uint64_t mapped_blocks, char *buf,
			 size_t len, size_t *ret_len);
int vhdx_bmap_write_range(struct vhdx_bmap_writer *w, const struct vhdx_bmap_range *r, char *buf, size_t len,
			  size_t *ret_len);
int vhdx_bmap_write_tail(struct vhdx_bmap_writer *w, char *buf, size_t len, size_t *ret_len);
/* VHDX_ERR_STATE before the tail. */
int vhdx_bmap_write_checksum(struct vhdx_bmap_writer *w, char hex[VHDX_SHA256_HEX + 1]);

/*
 * Parsing: the whole file in @text (@len bytes; not NUL-terminated).  The
 * XML read is the subset bmaptool writes: an XML declaration, comments and
 * whitespace between elements, <bmap version="2.0"> holding ImageSize,
 * BlockSize (4096), BlocksCount, MappedBlocksCount, ChecksumType (sha256),
 * BmapFileChecksum, each once, in any order, and a BlockMap of
 * <Range chksum="64 lowercase hex">first-last</Range> or a single block N,
 * sorted, not overlapping, inside BlocksCount; the ranges' blocks sum to
 * MappedBlocksCount and the file's checksum matches.  Anything else
 * (DOCTYPE, entities, CDATA, other elements or attributes, text after the
 * root) is refused.  Memory and time are bounded by @len: no recursion.
 * vhdx_bmap_parse checks everything before it returns VHDX_OK; then
 * vhdx_bmap_next gives the ranges in order.
 * On error: VHDX_ERR_CORRUPT (or VHDX_ERR_RANGE for a number too large)
 * and @why holds one line: "line N: " and the rule broken.
 */
struct vhdx_bmap_parser {
	const char *text;
	size_t len;
	size_t ranges_at;       /* [byte] the BlockMap's content */
	size_t pos;             /* [byte] vhdx_bmap_next's place */
	struct vhdx_bmap_info info;
};

int vhdx_bmap_parse(struct vhdx_bmap_parser *p, const char *text, size_t len, char *why, size_t why_len);
/* The next range: 1 and *ret, or 0 at the end of the BlockMap. */
int vhdx_bmap_next(struct vhdx_bmap_parser *p, struct vhdx_bmap_range *ret);

/* 64 lowercase hex digits to a digest: true, or false when they are not. */
bool vhdx_sha256_from_hex(const char *hex, uint8_t digest[VHDX_SHA256_SIZE]);

/*
 * vhdx_bmap_check_pin - --bmap-sha256: the SHA-256 of the whole file
 * (@text, @len bytes) must be @pin (64 hex digits, either case).  The
 * digest into @ret_digest (may be NULL).  VHDX_OK, else VHDX_ERR_CORRUPT
 * and @why one line: "its SHA-256 is X, not the --bmap-sha256 given (Y)".
 */
int vhdx_bmap_check_pin(const char *text, size_t len, const char *pin, uint8_t *ret_digest, char *why,
			size_t why_len);

#endif /* VHDX_BMAP_H */
