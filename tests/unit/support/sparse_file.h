/* SPDX-License-Identifier: MIT */
/*
 * sparse_file.h - a sparse RAM file for unit tests: only the 64 KiB pages
 * that were written hold memory, everything else reads as zeros, so an
 * image of a large virtual disk costs what it stores.  It is both a
 * source (reads checked: inside the file, 4096-aligned, counted, the Nth
 * one failing on request) and a sink (for vhdx_image_write).
 */
#ifndef SPARSE_FILE_H
#define SPARSE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

#define SPARSE_PAGE (64u * 1024u) /* [byte] unit of storage */

struct sparse_file {
	uint64_t size;          /* [byte] file size; writes past it grow it */
	uint64_t *keys;         /* page index + 1; 0: empty slot (open addressing) */
	uint8_t **pages;
	size_t cap, used;       /* slots (a power of two), pages held */
	/* source checks and faults */
	bool loose_end;         /* a read may end at size without being a 4096 multiple */
	long reads;             /* source reads so far */
	long fail_read_at;      /* 1-based index of the read that fails; 0: never */
	uint64_t bytes_read;    /* [byte] by source reads */
	struct vhdx_source src; /* src.size follows size */
	struct vhdx_sink sink;  /* grows the file; block_size 512 */
};

void sparse_file_init(struct sparse_file *f, uint64_t size);
void sparse_file_free(struct sparse_file *f);
/* Sets the size (truncates what lies past it, or grows with zeros). */
void sparse_file_resize(struct sparse_file *f, uint64_t size);
/* Any offset and length; grows the file.  Zero bytes into an absent page
 * allocate nothing. */
void sparse_file_write(struct sparse_file *f, uint64_t off, const void *buf, size_t len);
void sparse_file_zero(struct sparse_file *f, uint64_t off, uint64_t len);
/* Raw read, no checks, no counting; zeros past the end. */
void sparse_file_read(const struct sparse_file *f, uint64_t off, void *buf, size_t len);
/* True when no byte of [off, off+len) is stored (it reads as zeros). */
bool sparse_file_absent(const struct sparse_file *f, uint64_t off, uint64_t len);
bool sparse_file_is_zero(const struct sparse_file *f, uint64_t off, uint64_t len);
/* dst[doff..] = src[soff..], len bytes; absent pages are copied as zeros
 * without allocating. */
void sparse_file_copy(struct sparse_file *dst, uint64_t doff, const struct sparse_file *src, uint64_t soff,
		      uint64_t len);
/* Byte-for-byte equality of two ranges. */
bool sparse_file_equal(const struct sparse_file *a, uint64_t aoff, const struct sparse_file *b, uint64_t boff,
		       uint64_t len);
void sparse_file_put_le64(struct sparse_file *f, uint64_t off, uint64_t v);
uint64_t sparse_file_get_le64(const struct sparse_file *f, uint64_t off);

#endif /* SPARSE_FILE_H */
