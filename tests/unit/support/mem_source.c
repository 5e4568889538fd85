/* SPDX-License-Identifier: MIT */
/* mem_source.c - see mem_source.h. */
#include "mem_source.h"

#include <assert.h>
#include <string.h>

static int mem_source_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct mem_source *m = s->ctx;

	assert(off <= s->size && len <= s->size - off);
	assert(off % 4096 == 0);
	assert(len % 4096 == 0 || off + len == s->size);
	if (++m->reads == m->fail_at)
		return VHDX_ERR_IO;
	memset(buf, 0, len);
	if (off < m->len)
		memcpy(buf, m->data + off, (size_t)(m->len - off < len ? m->len - off : len));
	return VHDX_OK;
}

void mem_source_init(struct mem_source *m, const uint8_t *data, uint64_t len, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->data = data;
	m->len = len;
	m->src.ctx = m;
	m->src.read = mem_source_read;
	m->src.size = size;
}
