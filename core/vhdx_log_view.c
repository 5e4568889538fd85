/* SPDX-License-Identifier: MIT */
/*
 * vhdx_log_view.c - the log [2.3], second of its three units: a read-only
 * view of the file as it is after replay (vhdx_log_view_init), a source
 * that reads the file underneath with the active sequence's descriptors
 * applied, through an index of them when the caller gave memory for one
 * (vhdx_log_view_index).  Nothing is written.
 */
#include "vhdx_log_internal.h"

/* --- the read-only view --------------------------------------------- */

struct view_read_ {
	struct vhdx_log_view *v;
	uint64_t off;           /* [byte] of buf[0] */
	uint64_t end;           /* [byte] */
	uint8_t *buf;
};

static int view_desc(void *ctx, const struct desc_ *d)
{
	struct view_read_ *vr = ctx;
	uint64_t lo = d->file_offset > vr->off ? d->file_offset : vr->off, hi;
	uint8_t *page = vr->v->page[1];
	int err;

	if (!vhdx_add_u64_(d->file_offset, d->length, &hi) || hi > vr->end)
		hi = vr->end;

	if (lo >= hi)
		return VHDX_OK;
	if (d->zero) {
		vhdx_mem_zero_(vr->buf + (lo - vr->off), (size_t)(hi - lo));
		return VHDX_OK;
	}
	if ((err = vhdx_dev_read_(vr->v->under, vr->v->log.log_offset + d->data_pos, page, LOG_SECTOR)))
		return err;
	vhdx_log_restore_(page, d);
	vhdx_mem_copy_(vr->buf + (lo - vr->off), page + (lo - d->file_offset), (size_t)(hi - lo));
	return VHDX_OK;
}

/* [off, end) of the file under the log (end <= under->size), any alignment:
 * whole sectors straight into buf, partial ones through page[0]. */
static int view_read_under(struct vhdx_log_view *v, uint64_t off, uint64_t end, uint8_t *buf)
{
	const struct vhdx_source *u = v->under;
	uint64_t cur = off;
	int err;

	while (cur < end) {
		uint64_t a = cur & ~LOG_SECTOR_MASK, n;

		if (cur == a && (end - cur >= LOG_SECTOR || end == u->size)) {
			n = end - cur >= LOG_SECTOR ? (end - cur) & ~LOG_SECTOR_MASK : end - cur;
			if ((err = vhdx_dev_read_(u, cur, buf + (cur - off), (size_t)n)))
				return err;
		} else {
			uint64_t slen = u->size - a < LOG_SECTOR ? u->size - a : LOG_SECTOR;

			if ((err = vhdx_dev_read_(u, a, v->page[0], (size_t)slen)))
				return err;
			n = (a + slen < end ? a + slen : end) - cur;
			vhdx_mem_copy_(buf + (cur - off), v->page[0] + (cur - a), (size_t)n);
		}
		cur += n;
	}
	return VHDX_OK;
}

/*
 * The index.  A page's bytes after replay are those of the last descriptor
 * of the sequence that covers it [2.3.3].  Data descriptors cover one page
 * each: the last one per page is kept (sorted by file offset, then by
 * descriptor number).  Zero descriptors are kept as the union of their
 * ranges; a kept data page that a later zero descriptor also covers is
 * marked zeroed.  So a page reads as its kept data page when there is one
 * not marked, else as zeros when the union covers it, else as the file
 * underneath.
 */

/* Index of the first element of @n whose key (from @key) is >= @x; @n if none. */
static uint32_t lower_bound(const void *base, uint32_t n, size_t size, size_t key_off, uint64_t x)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t k;

		vhdx_mem_copy_(&k, (const uint8_t *)base + (size_t)mid * size + key_off, sizeof(k));
		if (k < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int view_read_index(struct vhdx_log_view *v, uint64_t off, uint64_t end, uint8_t *buf)
{
	uint8_t *page = v->page[1];
	uint32_t k;
	int err;

	/* zero extents are disjoint and sorted: their ends rise too */
	k = lower_bound(v->zeros, v->zero_count, sizeof(*v->zeros), offsetof(struct vhdx_log_zeros, end), off + 1);
	for (; k < v->zero_count && v->zeros[k].start < end; k++) {
		uint64_t lo = v->zeros[k].start > off ? v->zeros[k].start : off;
		uint64_t hi = v->zeros[k].end < end ? v->zeros[k].end : end;

		vhdx_mem_zero_(buf + (lo - off), (size_t)(hi - lo));
	}
	k = lower_bound(v->data, v->data_count, sizeof(*v->data), offsetof(struct vhdx_log_page, file_offset),
			off & ~LOG_SECTOR_MASK);
	for (; k < v->data_count && v->data[k].file_offset < end; k++) {
		const struct vhdx_log_page *p = &v->data[k];
		uint64_t lo = p->file_offset > off ? p->file_offset : off;
		uint64_t hi = p->file_offset + LOG_SECTOR < end ? p->file_offset + LOG_SECTOR : end;

		if (p->zeroed)
			continue;
		if ((err = vhdx_dev_read_(v->under, v->log.log_offset + p->data_pos, page, LOG_SECTOR)))
			return err;
		vhdx_put_le64(page, p->leading);
		vhdx_put_le32(page + LOG_SECTOR - DATA_TRAILING_SIZE, p->trailing);
		vhdx_mem_copy_(buf + (lo - off), page + (lo - p->file_offset), (size_t)(hi - lo));
	}
	return VHDX_OK;
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	while (n--) {
		uint8_t t = *a;

		*a++ = *b;
		*b++ = t;
	}
}

/* Data pages by (file offset, descriptor number); zero ranges by start. */
static bool index_less(const uint8_t *a, const uint8_t *b, size_t size)
{
	if (size == sizeof(struct vhdx_log_page)) {
		const struct vhdx_log_page *x = (const void *)a, *y = (const void *)b;

		return x->file_offset < y->file_offset || (x->file_offset == y->file_offset && x->order < y->order);
	}
	return ((const struct vhdx_log_zeros *)(const void *)a)->start <
	       ((const struct vhdx_log_zeros *)(const void *)b)->start;
}

/* Heapsort: in place, O(n log n), no recursion. */
static void index_sort(void *base, uint32_t n, size_t size)
{
	uint8_t *a = base;
	uint32_t start = n / 2, end = n;

	while (end > 1) {
		uint32_t root, child;

		if (start > 0) {
			start--;
		} else {
			end--;
			swap_bytes(a, a + (size_t)end * size, size);
		}
		for (root = start; (child = 2 * root + 1) < end; root = child) {
			if (child + 1 < end && index_less(a + (size_t)child * size, a + (size_t)(child + 1) * size, size))
				child++;
			if (!index_less(a + (size_t)root * size, a + (size_t)child * size, size))
				break;
			swap_bytes(a + (size_t)root * size, a + (size_t)child * size, size);
		}
	}
}

struct index_build_ {
	struct vhdx_log_page *data;
	struct vhdx_log_zeros *zeros;
	uint32_t data_cap, zero_cap, data_count, zero_count, order;
};

static int index_desc(void *ctx, const struct desc_ *d)
{
	struct index_build_ *b = ctx;
	uint32_t order = b->order++;
	uint64_t end;

	/* what find checked, in case the file changed since */
	if ((d->file_offset & LOG_SECTOR_MASK) || !vhdx_add_u64_(d->file_offset, d->length, &end))
		return VHDX_ERR_CORRUPT;
	if (d->zero) {
		if (!d->length)
			return VHDX_OK;
		if (b->zero_count >= b->zero_cap)
			return VHDX_ERR_CORRUPT; /* more than find counted */
		b->zeros[b->zero_count].start = d->file_offset;
		b->zeros[b->zero_count].end = end;
		b->zeros[b->zero_count].order = order;
		b->zero_count++;
		return VHDX_OK;
	}
	if (b->data_count >= b->data_cap)
		return VHDX_ERR_CORRUPT;
	b->data[b->data_count].file_offset = d->file_offset;
	b->data[b->data_count].leading = d->leading;
	b->data[b->data_count].data_pos = (uint32_t)d->data_pos;
	b->data[b->data_count].trailing = d->trailing;
	b->data[b->data_count].order = order;
	b->data[b->data_count].zeroed = 0;
	b->data_count++;
	return VHDX_OK;
}

/* The first data page at or after @k not yet judged against a zero range (path halving). */
static uint32_t next_unjudged(uint32_t *next, uint32_t k)
{
	while (next[k] != k) {
		next[k] = next[next[k]];
		k = next[k];
	}
	return k;
}

/* [byte] the log is read through this much of the index's memory while it
 * is built: 16 reads for a 1 MiB log, not one per entry */
#define VIEW_INDEX_WINDOW (64u * 1024u)

size_t vhdx_log_view_index_size(const struct vhdx_log_view *view)
{
	if (!view || !view->log.active)
		return 0;
	/* 8: mem rounded up to 8; a uint32_t per data page and one more while
	 * built; the window the log is read through while built */
	return 8 + sizeof(uint32_t) +
	       (size_t)view->log.data_descriptors * (sizeof(struct vhdx_log_page) + sizeof(uint32_t)) +
	       (size_t)view->log.zero_descriptors * sizeof(struct vhdx_log_zeros) + VIEW_INDEX_WINDOW;
}

int vhdx_log_view_index(struct vhdx_log_view *view, void *mem, size_t len)
{
	struct index_build_ b;
	struct ring_ r;
	uintptr_t at;
	uint32_t *next, i, k, n;
	size_t need;
	int err;

	if (!view || !mem || !view->log.active)
		return VHDX_ERR_INVAL;
	need = vhdx_log_view_index_size(view);
	at = ((uintptr_t)mem + 7) & ~(uintptr_t)7;
	/* need holds 8 bytes for rounding mem up to 8 */
	if (len < need || view->log.data_descriptors >= UINT32_MAX || view->log.zero_descriptors >= UINT32_MAX)
		return VHDX_ERR_INVAL;
	vhdx_mem_zero_(&b, sizeof(b));
	b.data = (struct vhdx_log_page *)at;
	b.data_cap = (uint32_t)view->log.data_descriptors;
	b.zeros = (struct vhdx_log_zeros *)(b.data + b.data_cap);
	b.zero_cap = (uint32_t)view->log.zero_descriptors;
	next = (uint32_t *)(b.zeros + b.zero_cap);
	view->data = NULL;
	vhdx_log_ring_init_(&r, view->under, &view->log, (uint8_t *)(next + b.data_cap + 1), VIEW_INDEX_WINDOW);
	err = vhdx_log_walk_(&r, view->log.tail, view->log.head, index_desc, &b, NULL, NULL);
	if (err)
		return err;

	/* the last data descriptor of each page */
	index_sort(b.data, b.data_count, sizeof(*b.data));
	for (i = 0, n = 0; i < b.data_count; i++) {
		if (n && b.data[n - 1].file_offset == b.data[i].file_offset)
			n--;
		if (n != i)
			vhdx_mem_copy_(&b.data[n], &b.data[i], sizeof(b.data[i]));
		n++;
	}
	b.data_count = n;

	/* zero ranges from the last one back: a page is judged by the last range covering it */
	for (k = 0; k <= n; k++)
		next[k] = k;
	for (i = b.zero_count; i-- > 0;) {
		const struct vhdx_log_zeros *z = &b.zeros[i];

		k = next_unjudged(next, lower_bound(b.data, n, sizeof(*b.data),
						    offsetof(struct vhdx_log_page, file_offset), z->start));
		while (k < n && b.data[k].file_offset < z->end) {
			b.data[k].zeroed = b.data[k].order < z->order;
			next[k] = k + 1;
			k = next_unjudged(next, k + 1);
		}
	}

	/* their union */
	index_sort(b.zeros, b.zero_count, sizeof(*b.zeros));
	for (i = 0, n = 0; i < b.zero_count; i++) {
		if (n && b.zeros[i].start <= b.zeros[n - 1].end) {
			if (b.zeros[i].end > b.zeros[n - 1].end)
				b.zeros[n - 1].end = b.zeros[i].end;
			continue;
		}
		if (n != i)
			vhdx_mem_copy_(&b.zeros[n], &b.zeros[i], sizeof(b.zeros[i]));
		n++;
	}
	view->zero_count = n;
	view->zeros = b.zeros;
	view->data_count = b.data_count;
	view->data = b.data;
	return VHDX_OK;
}

static int view_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct vhdx_log_view *v = s->ctx;
	struct view_read_ vr;
	struct ring_ r;
	uint64_t end, under_end;
	int err;

	if (!len)
		return VHDX_OK;
	if (!vhdx_add_u64_(off, len, &end) || end > s->size)
		return VHDX_ERR_IO;
	under_end = end < v->under->size ? end : v->under->size;
	if (off < under_end && (err = view_read_under(v, off, under_end, buf)))
		return err;
	/* past the file's end and up to LastFileOffset: zeros */
	if (end > v->under->size) {
		uint64_t z = off > v->under->size ? off : v->under->size;

		vhdx_mem_zero_((uint8_t *)buf + (z - off), (size_t)(end - z));
	}
	if (!v->log.active || end <= v->log.low || off >= v->log.high)
		return VHDX_OK;
	if (v->data)
		return view_read_index(v, off, end, buf);
	vr.v = v;
	vr.off = off;
	vr.end = end;
	vr.buf = buf;
	vhdx_log_ring_init_(&r, v->under, &v->log, v->page[0], LOG_SECTOR);
	err = vhdx_log_walk_(&r, v->log.tail, v->log.head, view_desc, &vr, NULL, NULL);
	return err == VHDX_ERR_CORRUPT ? VHDX_ERR_IO : err;
}

void vhdx_log_view_init(struct vhdx_log_view *view, const struct vhdx_log *log, const struct vhdx_source *under)
{
	VHDX_ASSERT(view && log && under);
	vhdx_mem_zero_(&view->source, sizeof(view->source));
	vhdx_mem_copy_(&view->log, log, sizeof(*log));
	view->under = under;
	view->source.ctx = view;
	view->source.read = view_read;
	view->source.size = under->size;
	if (log->active && log->last_file_offset > under->size)
		view->source.size = log->last_file_offset;
	view->source.is_device = under->is_device;
	view->source.log_applied = log->active;
	view->data = NULL;
	view->zeros = NULL;
	view->data_count = 0;
	view->zero_count = 0;
}
