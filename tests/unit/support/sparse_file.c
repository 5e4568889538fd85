/* SPDX-License-Identifier: MIT */
/* sparse_file.c - see sparse_file.h. */
#include "sparse_file.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static size_t slot_of(const struct sparse_file *f, uint64_t key)
{
	uint64_t h = key * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 20) & (f->cap - 1);
}

static uint8_t *page_get(const struct sparse_file *f, uint64_t index)
{
	size_t i;

	if (!f->cap)
		return NULL;
	for (i = slot_of(f, index + 1);; i = (i + 1) & (f->cap - 1)) {
		if (f->keys[i] == index + 1)
			return f->pages[i];
		if (!f->keys[i])
			return NULL;
	}
}

static void put_slot(struct sparse_file *f, uint64_t key, uint8_t *page)
{
	size_t i;

	for (i = slot_of(f, key); f->keys[i]; i = (i + 1) & (f->cap - 1))
		;
	f->keys[i] = key;
	f->pages[i] = page;
}

static uint8_t *page_make(struct sparse_file *f, uint64_t index)
{
	uint8_t *p = page_get(f, index);

	if (p)
		return p;
	if (2 * (f->used + 1) > f->cap) {
		uint64_t *keys = f->keys;
		uint8_t **pages = f->pages;
		size_t old = f->cap, i;

		f->cap = old ? 2 * old : 64;
		f->keys = calloc(f->cap, sizeof(*f->keys));
		f->pages = calloc(f->cap, sizeof(*f->pages));
		assert(f->keys && f->pages);
		for (i = 0; i < old; i++)
			if (keys[i])
				put_slot(f, keys[i], pages[i]);
		free(keys);
		free(pages);
	}
	p = calloc(1, SPARSE_PAGE);
	assert(p);
	put_slot(f, index + 1, p);
	f->used++;
	return p;
}

static int src_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct sparse_file *f = s->ctx;

	assert(len > 0);
	assert(off < f->size && len <= f->size - off);           /* never outside */
	assert(off % 4096 == 0);                                   /* page-aligned */
	assert(len % 4096 == 0 || (f->loose_end && off + len == f->size));
	if (++f->reads == f->fail_read_at)
		return VHDX_ERR_IO;
	f->bytes_read += len;
	sparse_file_read(f, off, buf, len);
	return VHDX_OK;
}

static int sink_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	sparse_file_write(s->ctx, off, buf, len);
	return VHDX_OK;
}

static int sink_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct sparse_file *f = s->ctx;

	sparse_file_zero(f, off, len);
	if (off + len > f->size)
		sparse_file_resize(f, off + len);
	return VHDX_OK;
}

static int sink_flush(const struct vhdx_sink *s)
{
	(void)s;
	return VHDX_OK;
}

void sparse_file_init(struct sparse_file *f, uint64_t size)
{
	memset(f, 0, sizeof(*f));
	f->size = size;
	f->src.ctx = f;
	f->src.read = src_read;
	f->src.size = size;
	f->sink.ctx = f;
	f->sink.write = sink_write;
	f->sink.zero = sink_zero;
	f->sink.flush = sink_flush;
	f->sink.allocate = sink_zero;
	f->sink.block_size = 512;
}

void sparse_file_free(struct sparse_file *f)
{
	size_t i;

	for (i = 0; i < f->cap; i++)
		free(f->pages[i]);
	free(f->keys);
	free(f->pages);
	f->keys = NULL;
	f->pages = NULL;
	f->cap = f->used = 0;
}

void sparse_file_resize(struct sparse_file *f, uint64_t size)
{
	if (size < f->size)
		sparse_file_zero(f, size, f->size - size);
	f->size = size;
	f->src.size = size;
}

void sparse_file_write(struct sparse_file *f, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *s = buf;

	while (len) {
		uint64_t index = off / SPARSE_PAGE;
		size_t in = (size_t)(off % SPARSE_PAGE), n = SPARSE_PAGE - in;
		uint8_t *p;

		if (n > len)
			n = len;
		p = page_get(f, index);
		if (!p) {
			size_t i;

			for (i = 0; i < n && !s[i]; i++)
				;
			if (i < n)
				p = page_make(f, index);
		}
		if (p)
			memcpy(p + in, s, n);
		off += n;
		s += n;
		len -= n;
	}
	if (off > f->size)
		sparse_file_resize(f, off);
}

void sparse_file_zero(struct sparse_file *f, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t index = off / SPARSE_PAGE;
		size_t in = (size_t)(off % SPARSE_PAGE);
		uint64_t n = SPARSE_PAGE - in;
		uint8_t *p;

		if (n > len)
			n = len;
		p = page_get(f, index);
		if (p)
			memset(p + in, 0, (size_t)n);
		off += n;
		len -= n;
	}
}

void sparse_file_read(const struct sparse_file *f, uint64_t off, void *buf, size_t len)
{
	uint8_t *d = buf;

	while (len) {
		uint64_t index = off / SPARSE_PAGE;
		size_t in = (size_t)(off % SPARSE_PAGE), n = SPARSE_PAGE - in;
		const uint8_t *p;

		if (n > len)
			n = len;
		p = off < f->size ? page_get(f, index) : NULL;
		if (p)
			memcpy(d, p + in, n);
		else
			memset(d, 0, n);
		off += n;
		d += n;
		len -= n;
	}
}

bool sparse_file_absent(const struct sparse_file *f, uint64_t off, uint64_t len)
{
	uint64_t first = off / SPARSE_PAGE, last, i;

	if (!len)
		return true;
	last = (off + len - 1) / SPARSE_PAGE;
	if (last - first >= f->used) {
		size_t k;

		for (k = 0; k < f->cap; k++)
			if (f->keys[k] && f->keys[k] - 1 >= first && f->keys[k] - 1 <= last)
				return false;
		return true;
	}
	for (i = first; i <= last; i++)
		if (page_get(f, i))
			return false;
	return true;
}

bool sparse_file_is_zero(const struct sparse_file *f, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t index = off / SPARSE_PAGE;
		size_t in = (size_t)(off % SPARSE_PAGE), i;
		uint64_t n = SPARSE_PAGE - in;
		const uint8_t *p = page_get(f, index);

		if (n > len)
			n = len;
		if (p)
			for (i = 0; i < n; i++)
				if (p[in + i])
					return false;
		off += n;
		len -= n;
	}
	return true;
}

/* The next step of a walk over two ranges: up to the next page boundary
 * of either. */
static uint64_t step(uint64_t a, uint64_t b, uint64_t len)
{
	uint64_t n = SPARSE_PAGE - a % SPARSE_PAGE;

	if (SPARSE_PAGE - b % SPARSE_PAGE < n)
		n = SPARSE_PAGE - b % SPARSE_PAGE;
	return n < len ? n : len;
}

void sparse_file_copy(struct sparse_file *dst, uint64_t doff, const struct sparse_file *src, uint64_t soff,
		      uint64_t len)
{
	uint8_t buf[SPARSE_PAGE];

	while (len) {
		uint64_t n = step(doff, soff, len);
		const uint8_t *p = soff < src->size ? page_get(src, soff / SPARSE_PAGE) : NULL;

		if (p) {
			memcpy(buf, p + soff % SPARSE_PAGE, (size_t)n);
			sparse_file_write(dst, doff, buf, (size_t)n);
		} else {
			sparse_file_zero(dst, doff, n);
		}
		doff += n;
		soff += n;
		len -= n;
	}
}

bool sparse_file_equal(const struct sparse_file *a, uint64_t aoff, const struct sparse_file *b, uint64_t boff,
		       uint64_t len)
{
	static const uint8_t zeros[SPARSE_PAGE];

	while (len) {
		uint64_t n = step(aoff, boff, len);
		const uint8_t *p = aoff < a->size ? page_get(a, aoff / SPARSE_PAGE) : NULL;
		const uint8_t *q = boff < b->size ? page_get(b, boff / SPARSE_PAGE) : NULL;

		if (p || q) {
			p = p ? p + aoff % SPARSE_PAGE : zeros;
			q = q ? q + boff % SPARSE_PAGE : zeros;
			if (memcmp(p, q, (size_t)n))
				return false;
		}
		aoff += n;
		boff += n;
		len -= n;
	}
	return true;
}

void sparse_file_put_le64(struct sparse_file *f, uint64_t off, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	/* a zero entry over an absent page stays absent: it reads as zero */
	sparse_file_write(f, off, b, 8);
}

uint64_t sparse_file_get_le64(const struct sparse_file *f, uint64_t off)
{
	uint8_t b[8];
	uint64_t v = 0;
	int i;

	sparse_file_read(f, off, b, 8);
	for (i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}
