/* SPDX-License-Identifier: MIT */
/*
 * vhdx_dev.c - the one seam between the core and the frontend's devices:
 * every read of a source and every write and flush of a sink goes through
 * here (zero() too), so a callback's answer is judged in one place; and the one read
 * window over a source (vhdx_internal.h).
 */
#include "vhdx_internal.h"

/* A callback answers 0 or a negative vhdx_err (vhdx_base.h): a positive
 * answer is a frontend's bug (asserted); whatever it said, a failure is
 * VHDX_ERR_IO, its native code kept in the callback's ctx. */
static int dev_err(int err)
{
	VHDX_ASSERT(err <= 0);
	return err ? VHDX_ERR_IO : VHDX_OK;
}

int vhdx_dev_read_(const struct vhdx_source *src, uint64_t off, void *buf, size_t len)
{
	return dev_err(src->read(src, off, buf, len));
}

int vhdx_dev_write_(const struct vhdx_sink *sink, uint64_t off, const void *buf, size_t len)
{
	return dev_err(sink->write(sink, off, buf, len));
}

int vhdx_dev_flush_(const struct vhdx_sink *sink)
{
	return sink->flush ? dev_err(sink->flush(sink)) : VHDX_OK;
}

int vhdx_dev_zero_(const struct vhdx_sink *sink, uint64_t off, uint64_t len)
{
	int err;

	if (!sink->zero)
		return VHDX_ERR_UNSUPPORTED;
	err = sink->zero(sink, off, len);
	return err == VHDX_ERR_UNSUPPORTED ? err : dev_err(err);
}

void vhdx_window_init_(struct vhdx_window_ *w, const struct vhdx_source *src, void *buf, size_t size)
{
	VHDX_ASSERT(size >= 4096u && size % 4096u == 0);
	w->src = src;
	w->buf = buf;
	w->size = size;
	w->start = 0;
	w->len = 0;
	w->tag = 0;
}

int vhdx_window_load_(struct vhdx_window_ *w, uint64_t start, uint64_t n)
{
	int err;

	VHDX_ASSERT(!(start & 4095u) && n <= w->size && start <= w->src->size && n <= w->src->size - start);
	w->len = 0;
	err = vhdx_dev_read_(w->src, start, w->buf, (size_t)n);
	if (err)
		return err;
	w->start = start;
	w->len = n;
	return VHDX_OK;
}

int vhdx_window_read_(struct vhdx_window_ *w, uint64_t off, void *out, size_t n)
{
	uint8_t *o = out;
	int err;

	if (off > w->src->size || n > w->src->size - off)
		return 1;
	while (n) {
		size_t k;

		if (!w->len || off < w->start || off >= w->start + w->len) {
			uint64_t start = off & ~(uint64_t)4095u;
			uint64_t len = w->src->size - start < w->size ? w->src->size - start : w->size;

			err = vhdx_window_load_(w, start, len);
			if (err)
				return err;
		}
		k = w->start + w->len - off < n ? (size_t)(w->start + w->len - off) : n;
		vhdx_mem_copy_(o, w->buf + (off - w->start), k);
		o += k;
		off += k;
		n -= k;
	}
	return 0;
}
