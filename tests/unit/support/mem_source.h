/* SPDX-License-Identifier: MIT */
/*
 * mem_source.h - a RAM source for unit tests: @data[0..len) then zeros up
 * to the source size (a sparse file), every read asserted inside the
 * source, 4 KiB-aligned and a 4 KiB multiple unless it ends at the size
 * (the reader's promise), and the Nth read failed on request.
 */
#ifndef MEM_SOURCE_H
#define MEM_SOURCE_H

#include <stdint.h>

#include "vhdx.h"

struct mem_source {
	const uint8_t *data;
	uint64_t len;         /* [byte] of data; the rest up to src.size reads as zeros */
	long reads;           /* reads so far */
	long fail_at;         /* 1-based index of the read that fails; 0 never */
	struct vhdx_source src;
};

void mem_source_init(struct mem_source *m, const uint8_t *data, uint64_t len, uint64_t size);

#endif /* MEM_SOURCE_H */
