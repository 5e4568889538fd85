/* SPDX-License-Identifier: MIT */
/* mem_sink.c - see mem_sink.h. */
#include "mem_sink.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void log_op(struct mem_sink *m, enum mem_op_kind kind, uint64_t off, uint64_t len)
{
	if (!m->ops)
		return;
	if (m->ops_len == m->ops_cap) {
		m->ops_cap *= 2;
		m->ops = realloc(m->ops, m->ops_cap * sizeof(*m->ops));
		assert(m->ops);
	}
	m->ops[m->ops_len++] = (struct mem_op){ kind, off, len };
}

static void check_range(struct mem_sink *m, uint64_t off, uint64_t len)
{
	assert(off % m->block_size == 0);
	assert(len % m->block_size == 0);
	assert(off % 4096 == 0 && len % 4096 == 0); /* the core's promise */
	assert(len > 0);
	assert(off + len <= m->capacity);
	if (off + len > m->high_water)
		m->high_water = off + len;
}

static int mem_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct mem_sink *m = s->ctx;

	if (++m->writes == m->fail_write_at)
		return VHDX_ERR_IO;
	check_range(m, off, len);
	memcpy(m->data + off, buf, len);
	log_op(m, MEM_OP_WRITE, off, len);
	return VHDX_OK;
}

static int mem_flush(const struct vhdx_sink *s)
{
	struct mem_sink *m = s->ctx;

	if (++m->flushes == m->fail_flush_at)
		return VHDX_ERR_IO;
	log_op(m, MEM_OP_FLUSH, 0, 0);
	return VHDX_OK;
}

static int mem_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct mem_sink *m = s->ctx;

	if (m->zero_result)
		return m->zero_result;
	m->zeros++;
	check_range(m, off, len);
	assert(len <= VHDX_ZERO_CHUNK);
	memset(m->data + off, 0, len);
	log_op(m, MEM_OP_ZERO, off, len);
	return VHDX_OK;
}

static int mem_allocate(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct mem_sink *m = s->ctx;

	check_range(m, off, len);
	log_op(m, MEM_OP_ALLOCATE, off, len);
	return VHDX_OK;
}

static int mem_progress(const struct vhdx_sink *s, uint64_t done, uint64_t total)
{
	struct mem_sink *m = s->ctx;

	assert(done > m->progress_last_done || (done == 0 && m->progress_calls == 0));
	assert(done <= total);
	assert(m->progress_total == 0 || m->progress_total == total);
	m->progress_last_done = done;
	m->progress_total = total;
	return ++m->progress_calls == m->abort_progress_at;
}

void mem_sink_init(struct mem_sink *m, uint64_t capacity, uint8_t fill, uint32_t block_size)
{
	memset(m, 0, sizeof(*m));
	m->data = malloc(capacity + MEM_SINK_CANARY_LEN);
	assert(m->data);
	memset(m->data, fill, capacity);
	memset(m->data + capacity, MEM_SINK_CANARY, MEM_SINK_CANARY_LEN);
	m->capacity = capacity;
	m->block_size = block_size;
	m->sink.ctx = m;
	m->sink.write = mem_write;
	m->sink.flush = mem_flush;
	m->sink.zero = mem_zero;
	m->sink.allocate = mem_allocate;
	m->sink.progress = mem_progress;
	m->sink.block_size = block_size;
	m->sink.capacity = capacity;
}

void mem_sink_free(struct mem_sink *m)
{
	free(m->data);
	free(m->ops);
	m->data = NULL;
	m->ops = NULL;
}

bool mem_sink_canary_intact(const struct mem_sink *m)
{
	size_t i;

	for (i = 0; i < MEM_SINK_CANARY_LEN; i++)
		if (m->data[m->capacity + i] != MEM_SINK_CANARY)
			return false;
	return true;
}

bool mem_sink_has_signature(const struct mem_sink *m)
{
	return m->capacity >= 8 && memcmp(m->data, "vhdxfile", 8) == 0;
}
