/* SPDX-License-Identifier: MIT */
/*
 * mem_sink.h - a RAM sink for unit tests: asserts alignment and bounds,
 * logs every operation, fails the Nth write or flush on request, and keeps
 * a canary tail past the capacity.
 */
#ifndef MEM_SINK_H
#define MEM_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

#define MEM_SINK_CANARY 0xA5
#define MEM_SINK_CANARY_LEN 4096

enum mem_op_kind { MEM_OP_WRITE, MEM_OP_ZERO, MEM_OP_FLUSH, MEM_OP_ALLOCATE };

struct mem_op {
	enum mem_op_kind kind;
	uint64_t off, len;
};

struct mem_sink {
	uint8_t *data;        /* capacity + canary bytes */
	uint64_t capacity;    /* [byte] */
	uint64_t high_water;  /* [byte] end of the furthest byte written or zeroed */
	uint32_t block_size;
	int zero_result;      /* what zero() returns (0, or VHDX_ERR_UNSUPPORTED) */
	long fail_write_at;   /* 1-based index of the write that fails; 0 never */
	long fail_flush_at;
	long abort_progress_at; /* progress call index that returns non-zero; 0 never */
	long writes, flushes, zeros, progress_calls;
	uint64_t progress_last_done, progress_total;
	struct mem_op *ops;   /* log, when non-NULL */
	size_t ops_len, ops_cap;
	struct vhdx_sink sink;
};

/* Allocates capacity bytes filled with fill (the "old data" on the target). */
void mem_sink_init(struct mem_sink *m, uint64_t capacity, uint8_t fill, uint32_t block_size);
void mem_sink_free(struct mem_sink *m);
bool mem_sink_canary_intact(const struct mem_sink *m);
/* True when the first 8 bytes are "vhdxfile". */
bool mem_sink_has_signature(const struct mem_sink *m);

#endif /* MEM_SINK_H */
