/* SPDX-License-Identifier: MIT */
/* log_builder.c - see log_builder.h.  Offsets from VHDX-FORMAT.md "Log [2.3]". */
#include "log_builder.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static size_t desc_sectors(size_t count)
{
	return (64 + 32 * count + LB_SECTOR - 1) / LB_SECTOR;
}

uint32_t lb_entry_length(const struct lb_entry *e)
{
	size_t data = 0;

	for (size_t i = 0; i < e->count; i++)
		data += !e->desc[i].zero;
	return (uint32_t)((desc_sectors(e->count) + data) * LB_SECTOR);
}

uint32_t lb_entry_write(uint8_t *ring, uint32_t ring_len, uint32_t pos, const struct lb_entry *e)
{
	uint32_t len = lb_entry_length(e);
	uint8_t *b = calloc(1, len);
	size_t dsec = desc_sectors(e->count), data = 0;

	assert(b && len <= ring_len && pos % LB_SECTOR == 0 && pos < ring_len);
	/* entry header [2.3.1.1] */
	memcpy(b, "loge", 4);
	put32(b + 8, len);
	put32(b + 12, e->tail);
	put64(b + 16, e->sequence);
	put32(b + 24, (uint32_t)e->count);
	memcpy(b + 32, e->log_guid.bytes, 16);
	put64(b + 48, e->flushed);
	put64(b + 56, e->last);
	for (size_t i = 0; i < e->count; i++) {
		const struct lb_desc *d = &e->desc[i];
		uint8_t *p = b + 64 + 32 * i;

		if (d->zero) {
			/* zero descriptor [2.3.1.2] */
			memcpy(p, "zero", 4);
			put64(p + 8, d->zero_length);
		} else {
			/* data descriptor [2.3.1.3] and its data sector [2.3.1.4] */
			uint8_t *s = b + (dsec + data++) * LB_SECTOR;

			memcpy(p, "desc", 4);
			memcpy(p + 4, d->data + 4092, 4);   /* TrailingBytes */
			memcpy(p + 8, d->data, 8);          /* LeadingBytes */
			memcpy(s, "data", 4);
			put32(s + 4, (uint32_t)(e->sequence >> 32));
			memcpy(s + 8, d->data + 8, 4084);
			put32(s + 4092, (uint32_t)e->sequence);
		}
		put64(p + 16, d->file_offset);
		put64(p + 24, e->sequence);
	}
	put32(b + 4, vhdx_crc32c(0, b, len));
	for (uint32_t k = 0; k < len; k += LB_SECTOR)
		memcpy(ring + (pos + k) % ring_len, b + k, LB_SECTOR);
	free(b);
	return len;
}

static uint64_t header_at(int which)
{
	return which ? 128 * 1024 : 64 * 1024;
}

static bool header_ok(const uint8_t *h)
{
	uint8_t copy[LB_SECTOR];

	if (memcmp(h, "head", 4))
		return false;
	memcpy(copy, h, LB_SECTOR);
	memset(copy + 4, 0, 4);
	return vhdx_crc32c(0, copy, LB_SECTOR) == get32(h + 4);
}

static int current_of(const uint8_t *image)
{
	const uint8_t *h1 = image + header_at(0), *h2 = image + header_at(1);
	bool ok1 = header_ok(h1), ok2 = header_ok(h2);

	assert(ok1 || ok2);
	if (ok1 && ok2)
		return get64(h2 + 8) >= get64(h1 + 8) ? 1 : 0;
	return ok2 ? 1 : 0;
}

void lb_header_fix(uint8_t *image, int which)
{
	uint8_t *h = image + header_at(which);

	memset(h + 4, 0, 4);
	put32(h + 4, vhdx_crc32c(0, h, LB_SECTOR));
}

void lb_set_log_guid(uint8_t *image, const struct vhdx_guid *g, bool both)
{
	int cur = current_of(image);

	for (int which = 0; which < 2; which++) {
		if (which != cur && !both)
			continue;
		memcpy(image + header_at(which) + 48, g->bytes, 16);
		lb_header_fix(image, which);
	}
}

void lb_disk_from_image(struct vhdx_disk *d, const uint8_t *image, uint64_t size)
{
	int cur = current_of(image);
	const uint8_t *h = image + header_at(cur);

	memset(d, 0, sizeof(*d));
	d->file_size = size;
	d->current_header = cur;
	d->sequence = get64(h + 8);
	memcpy(d->file_write_guid.bytes, h + 16, 16);
	memcpy(d->data_write_guid.bytes, h + 32, 16);
	memcpy(d->log_guid.bytes, h + 48, 16);
	d->log_replay_needed = !vhdx_guid_is_zero(&d->log_guid);
	d->log_length = get32(h + 68);
	d->log_offset = get64(h + 72);
}

/* --- the RAM file ---------------------------------------------------- */

static int file_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct lb_file *f = s->ctx;

	assert(s->size == f->size);
	assert(off <= f->size && len <= f->size - off);
	assert(off % LB_SECTOR == 0);
	assert(len % LB_SECTOR == 0 || off + len == f->size);
	if (++f->reads == f->fail_read_at)
		return VHDX_ERR_IO;
	f->read_bytes += len;
	memcpy(buf, f->data + off, len);
	return VHDX_OK;
}

/* false: the power is off (this operation is the cut one or later) */
static bool file_op(struct lb_file *f)
{
	f->ops++;
	if (f->cut_at && f->ops >= f->cut_at)
		f->cut = true;
	return !f->cut;
}

static void file_grow(struct lb_file *f, uint64_t end)
{
	assert(end <= f->cap);
	if (end > f->size)
		f->size = end;
	f->src.size = f->size;
}

static void check_io(const struct lb_file *f, uint64_t off, uint64_t len)
{
	assert(len > 0);
	assert(off % f->sink.block_size == 0 && len % f->sink.block_size == 0);
	assert(off % LB_SECTOR == 0 && len % LB_SECTOR == 0);
	assert(off + len <= f->cap);
}

static int file_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct lb_file *f = s->ctx;
	bool first_cut = f->cut_at && !f->cut && f->ops + 1 == f->cut_at;

	check_io(f, off, len);
	if (!file_op(f)) {
		if (first_cut && f->torn) {
			size_t n = f->torn < len ? f->torn : len;

			memcpy(f->data + off, buf, n);
			file_grow(f, off + n);
		}
		return VHDX_ERR_IO;
	}
	f->writes++;
	memcpy(f->data + off, buf, len);
	file_grow(f, off + len);
	return VHDX_OK;
}

static int file_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct lb_file *f = s->ctx;

	check_io(f, off, len);
	assert(len <= VHDX_ZERO_CHUNK);
	if (!file_op(f))
		return VHDX_ERR_IO;
	f->zeros++;
	memset(f->data + off, 0, len);
	file_grow(f, off + len);
	return VHDX_OK;
}

static int file_flush(const struct vhdx_sink *s)
{
	struct lb_file *f = s->ctx;

	if (!file_op(f))
		return VHDX_ERR_IO;
	f->flushes++;
	return VHDX_OK;
}

void lb_file_init(struct lb_file *f, const uint8_t *data, uint64_t size, uint64_t cap, uint32_t block_size)
{
	memset(f, 0, sizeof(*f));
	assert(size <= cap);
	f->data = calloc(1, cap ? cap : 1);
	assert(f->data);
	if (data)
		memcpy(f->data, data, size);
	f->size = size;
	f->cap = cap;
	f->src.ctx = f;
	f->src.read = file_read;
	f->src.size = size;
	f->sink.ctx = f;
	f->sink.write = file_write;
	f->sink.zero = file_zero;
	f->sink.flush = file_flush;
	f->sink.block_size = block_size;
	f->sink.capacity = 0; /* a file: grows */
}

void lb_file_free(struct lb_file *f)
{
	free(f->data);
	f->data = NULL;
}

void lb_file_power_on(struct lb_file *f)
{
	f->cut = false;
	f->cut_at = 0;
	f->fail_read_at = 0;
	f->torn = 0;
	f->reads = f->writes = f->zeros = f->flushes = f->ops = 0;
	f->read_bytes = 0;
}

struct vhdx_plan lb_image_make(struct lb_file *f, uint64_t virtual_size, uint32_t block_size, uint32_t log_size,
			       uint64_t cap)
{
	struct vhdx_params p;
	struct vhdx_plan plan;
	void *scratch = malloc(1 << 20);
	int i;

	assert(scratch);
	memset(&p, 0, sizeof(p));
	p.type = VHDX_TYPE_DYNAMIC;
	p.virtual_size = virtual_size;
	p.block_size = block_size;
	p.log_size = log_size;
	for (i = 0; i < 16; i++) {
		p.file_write_guid.bytes[i] = (uint8_t)(0x10 + i);
		p.data_write_guid.bytes[i] = (uint8_t)(0x20 + i);
		p.page83.bytes[i] = (uint8_t)(0x30 + i);
	}
	p.creator = "vhdx log test";
	assert(vhdx_plan_init(&plan, &p, NULL, 0) == VHDX_OK);
	assert(plan.file_size <= cap);
	lb_file_init(f, NULL, 0, cap, 4096);
	assert(vhdx_image_write(&plan, &f->sink, scratch, 1 << 20) == VHDX_OK);
	assert(f->size == plan.file_size);
	free(scratch);
	lb_file_power_on(f);
	return plan;
}
