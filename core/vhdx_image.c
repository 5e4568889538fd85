/* SPDX-License-Identifier: MIT */
/*
 * vhdx_image.c - streams a whole image through a sink in the crash-safe
 * order of VHDX-FORMAT.md section 4, using one caller scratch buffer.
 *
 * The same step list runs twice: once counting (the progress total), once
 * writing.  Every structure is written whole, reserved bytes included, so
 * a target that held old data ends up holding exactly the planned image.
 */
#include "vhdx_data.h"
#include "vhdx_internal.h"

#define IO_UNIT 4096u /* every offset and length the core uses is a multiple */
#define BAT_PAGE_ENTRIES (IO_UNIT / VHDX_BAT_ENTRY_SIZE)

struct writer {
	const struct vhdx_plan *plan;
	const struct vhdx_sink *sink;
	uint8_t *scratch;
	size_t scratch_len;      /* a multiple of IO_UNIT */
	size_t scratch_zeroed;   /* leading bytes of scratch known to be zero */
	bool counting;           /* only add up the total */
	bool zero_unsupported;   /* the sink's zero() said UNSUPPORTED once */
	uint64_t done, total;
	/* With a payload (vhdx_image_write_from): the source, the BAT page
	 * being filled (the last IO_UNIT of the caller's scratch) and the
	 * outcome.  Progress then counts virtual bytes, not bytes written. */
	const struct vhdx_reader *src;
	struct vhdx_fill_result *res;
	uint8_t *bat_page;
	uint64_t bat_page_no;
	bool bat_page_valid;
	bool holes;              /* dynamic on a zeroed sink: zeros in stored blocks left unwritten */
	uint64_t payload_end;    /* [byte] end of the last payload write or zeroing */
	bool in_payload;
	uint64_t last_off;       /* [byte] the last write or zero: what a failed flush names */
};

typedef void (*render_fn)(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len);

static int report(struct writer *w, uint64_t bytes)
{
	/* the payload counts virtual bytes, once per window (fill_block):
	 * its writes and zeros report nothing, or progress would be called
	 * again with the same count */
	if (w->in_payload && bytes)
		return VHDX_OK;
	w->done += bytes;
	if (w->sink->progress && w->sink->progress(w->sink, w->done, w->total))
		return VHDX_ERR_ABORTED;
	return VHDX_OK;
}

static int sink_write(struct writer *w, uint64_t off, size_t len)
{
	int err = vhdx_dev_write_(w->sink, off, w->scratch, len);

	w->last_off = off;
	if (err) {
		if (w->res)
			w->res->failed_offset = off;
		return err;
	}
	return report(w, len);
}

static int flush(struct writer *w)
{
	int err;

	if (w->counting)
		return VHDX_OK;
	err = vhdx_dev_flush_(w->sink);
	if (err && w->res)
		w->res->failed_offset = w->last_off;
	return err;
}

/* Writes zeros from scratch: the fallback when the sink cannot zero. */
static int write_zeros(struct writer *w, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len < w->scratch_len ? (size_t)len : w->scratch_len;
		int err;

		if (w->scratch_zeroed < n) {
			vhdx_mem_zero_(w->scratch + w->scratch_zeroed, n - w->scratch_zeroed);
			w->scratch_zeroed = n;
		}
		err = sink_write(w, off, n);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return VHDX_OK;
}

/* [off, off+len) must read as zeros: the sink's zero() in chunks of at
 * most VHDX_ZERO_CHUNK (progress, abort), else written zeros. */
static int emit_zero(struct writer *w, uint64_t off, uint64_t len)
{
	if (w->counting) {
		w->total += len;
		return VHDX_OK;
	}
	while (len) {
		uint64_t n = len < VHDX_ZERO_CHUNK ? len : VHDX_ZERO_CHUNK;
		int err = VHDX_ERR_UNSUPPORTED;

		if (!w->zero_unsupported) {
			err = vhdx_dev_zero_(w->sink, off, n);
			w->last_off = off;
			if (err == VHDX_ERR_UNSUPPORTED) {
				w->zero_unsupported = true;
			} else if (err) {
				if (w->res)
					w->res->failed_offset = off;
				return VHDX_ERR_IO;
			}
			else
				err = report(w, n);
		}
		if (err == VHDX_ERR_UNSUPPORTED)
			err = write_zeros(w, off, n);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return VHDX_OK;
}

/* [off, off+len) rendered window by window through scratch. */
static int emit_rendered(struct writer *w, uint64_t off, uint64_t len, render_fn render)
{
	uint64_t pos = 0;

	if (w->counting) {
		w->total += len;
		return VHDX_OK;
	}
	while (pos < len) {
		size_t n = len - pos < w->scratch_len ? (size_t)(len - pos) : w->scratch_len;
		int err;

		w->scratch_zeroed = 0;
		render(w->plan, pos, w->scratch, n);
		err = sink_write(w, off + pos, n);
		if (err)
			return err;
		pos += n;
	}
	return VHDX_OK;
}

static void render_bat(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len)
{
	vhdx_bat_encode(plan, off / VHDX_BAT_ENTRY_SIZE, buf, len);
}

static void render_meta_table(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len)
{
	VHDX_ASSERT(off == 0 && len >= vhdx_meta_table_size(plan));
	(void)off;
	vhdx_mem_zero_(buf, len);
	vhdx_meta_table_encode(plan, buf, len);
}

static void render_region_table(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len)
{
	(void)off;
	vhdx_mem_zero_(buf, len);
	vhdx_region_table_encode(plan, buf, len);
}

static void render_header1(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len)
{
	(void)off;
	vhdx_mem_zero_(buf, len);
	vhdx_header_encode(plan, 0, buf, len);
}

static void render_header2(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len)
{
	(void)off;
	vhdx_mem_zero_(buf, len);
	vhdx_header_encode(plan, 1, buf, len);
}

static void render_file_id(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len)
{
	(void)off;
	vhdx_mem_zero_(buf, len);
	vhdx_file_id_encode(plan, buf, len);
}

static void render_file_id_unsigned(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len)
{
	render_file_id(plan, off, buf, len);
	vhdx_mem_zero_(buf, 8); /* "vhdxfile" comes only with the last write */
}

/*
 * The payload (vhdx_image_write_from).  Blocks are visited in virtual
 * order through windows of the scratch buffer; a window is read only when
 * the source does not know it to be zero, and tested word-wise.  Dynamic:
 * a block is stored, at the next payload offset, from its first window
 * that is not zero (the zero windows before it are zeroed then); a block
 * with no such window stays ZERO and takes no space.  Fixed: every block
 * is stored at its place.  A stored block is whole in the file: data
 * written, zeros zeroed through the sink (allocated, never a hole).
 */

static int source_failed(struct writer *w, uint64_t off, int err)
{
	w->res->source_failed = true;
	w->res->failed_offset = off;
	return err == VHDX_ERR_ABORTED ? VHDX_ERR_IO : err;
}

/* One write of the payload step (a window or a BAT page), failures named. */
static int payload_write(struct writer *w, uint64_t off, const void *buf, size_t len)
{
	int err = vhdx_dev_write_(w->sink, off, buf, len);

	w->last_off = off;
	if (err)
		w->res->failed_offset = off;
	return err;
}

static int bat_page_flush(struct writer *w)
{
	int err;

	if (!w->bat_page_valid)
		return VHDX_OK;
	if ((err = payload_write(w, w->plan->bat_offset + w->bat_page_no * IO_UNIT, w->bat_page, IO_UNIT)))
		return err;
	w->bat_page_valid = false;
	return VHDX_OK;
}

/* BAT entry @index set to @value; entries only ever move forward. */
static int bat_set(struct writer *w, uint64_t index, uint64_t value)
{
	uint64_t page = index / BAT_PAGE_ENTRIES;
	int err;

	if (!w->bat_page_valid || page != w->bat_page_no) {
		VHDX_ASSERT(!w->bat_page_valid || page > w->bat_page_no);
		if ((err = bat_page_flush(w)))
			return err;
		vhdx_mem_zero_(w->bat_page, IO_UNIT);
		w->bat_page_no = page;
		w->bat_page_valid = true;
	}
	vhdx_put_le64(w->bat_page + (index % BAT_PAGE_ENTRIES) * VHDX_BAT_ENTRY_SIZE, value);
	return VHDX_OK;
}

/* The extent of the source cached across windows: [start, end) of kind. */
struct source_cursor {
	uint64_t start, end;
	enum vhdx_extent_kind kind;
};

/* The cursor moved to the extent that holds @pos (known_zero may have
 * looked ahead of a window that read_window then fills from its start). */
static int cursor_at(struct writer *w, struct source_cursor *c, uint64_t pos)
{
	struct vhdx_extent e;
	int err;

	if (pos >= c->start && pos < c->end)
		return VHDX_OK;
	err = vhdx_reader_map(w->src, pos, w->src->size - pos, &e);
	if (err)
		return source_failed(w, pos, err);
	c->start = pos;
	c->end = pos + e.length;
	c->kind = e.kind;
	return VHDX_OK;
}

/* *first_data: where in [pos, end) the source's first DATA extent starts,
 * @end when all of it is known zero without reading.  The cursor is left
 * on that extent. */
static int known_zero(struct writer *w, struct source_cursor *c, uint64_t pos, uint64_t end, uint64_t *first_data)
{
	int err;

	while (pos < end) {
		if ((err = cursor_at(w, c, pos)))
			return err;
		if (c->kind != VHDX_EXTENT_ZERO)
			break;
		pos = c->end;
	}
	*first_data = pos < end ? pos : end;
	return VHDX_OK;
}

/* The window [pos, pos+len) of the virtual disk into scratch, zero padded
 * to @padded: [pos, first_data) known zero (known_zero), the source's DATA
 * extents read from there, its ZERO extents and what lies past its end set
 * to zeros, never read. */
static int read_window(struct writer *w, struct source_cursor *c, uint64_t pos, uint64_t first_data, size_t len,
		       size_t padded)
{
	uint64_t have = w->src->size > pos ? w->src->size - pos : 0;
	size_t n = have < len ? (size_t)have : len, at = (size_t)(first_data - pos), k;
	int err;

	VHDX_ASSERT(first_data >= pos && at <= n);
	w->scratch_zeroed = 0;
	vhdx_mem_zero_(w->scratch, at);
	while (at < n) {
		if ((err = cursor_at(w, c, pos + at)))
			return err;
		k = c->end - (pos + at) < n - at ? (size_t)(c->end - (pos + at)) : n - at;
		if (c->kind == VHDX_EXTENT_ZERO) {
			vhdx_mem_zero_(w->scratch + at, k);
		} else {
			err = vhdx_reader_read(w->src, pos + at, w->scratch + at, k);
			if (err)
				return source_failed(w, pos + at, err);
		}
		at += k;
	}
	if (padded > n)
		vhdx_mem_zero_(w->scratch + n, padded - n);
	return VHDX_OK;
}

static int write_window(struct writer *w, uint64_t off, size_t len)
{
	int err = payload_write(w, off, w->scratch, len);

	if (!err)
		w->payload_end = off + len;
	return err;
}

/* [off, off+len) of a stored block reads as zeros: zeroed, or left as a
 * hole of a target that reads as zeros already. */
static int zero_in_block(struct writer *w, uint64_t off, uint64_t len)
{
	int err;

	if (!len || w->holes)
		return VHDX_OK;
	if ((err = emit_zero(w, off, len)))
		return err;
	w->payload_end = off + len;
	return VHDX_OK;
}

/* A run of zeros in the file not yet zeroed: adjacent zero windows of a
 * stored block are zeroed in one call. */
struct zero_run {
	uint64_t off, len;  /* [byte] */
};

static int zero_run_flush(struct writer *w, struct zero_run *z)
{
	int err = zero_in_block(w, z->off, z->len);

	z->len = 0;
	return err;
}

static int zero_run_add(struct writer *w, struct zero_run *z, uint64_t off, uint64_t len)
{
	int err;

	if (z->len && z->off + z->len == off) {
		z->len += len;
		return VHDX_OK;
	}
	if ((err = zero_run_flush(w, z)))
		return err;
	z->off = off;
	z->len = len;
	return VHDX_OK;
}

/* Block @b: stored or not; *file its offset in the file (0: not stored). */
static int fill_block(struct writer *w, struct source_cursor *c, uint64_t b, uint64_t *file)
{
	const struct vhdx_plan *plan = w->plan;
	const struct vhdx_geometry *g = &plan->geom;
	uint64_t start = b << g->block_shift;
	uint64_t end = start + g->block_size < g->virtual_size ? start + g->block_size : g->virtual_size;
	uint64_t pos = start;
	struct zero_run zr = { 0, 0 };
	int err;

	while (pos < end) {
		uint64_t n = end - pos, lim, first_data = pos;
		size_t padded;
		bool zero;

		/* a known-zero extent may cover the rest of the block at once */
		if (pos >= w->src->size) {
			zero = true;
		} else {
			if (n > w->scratch_len)
				n = w->scratch_len;
			lim = pos + n < w->src->size ? pos + n : w->src->size;
			if ((err = known_zero(w, c, pos, lim, &first_data)))
				return err;
			zero = first_data == lim;
			if (zero && pos + n >= w->src->size)
				n = end - pos; /* the rest reads as zeros past the source */
			else if (zero && c->kind == VHDX_EXTENT_ZERO && c->end >= end)
				n = end - pos;
		}
		if (!zero) {
			/* the zeros before it first (zeroing may write from the
			 * scratch, which the window is read into): the file is
			 * written in order */
			padded = (size_t)VHDX_ALIGN_UP(n, IO_UNIT);
			if ((err = zero_run_flush(w, &zr)) ||
			    (err = read_window(w, c, pos, first_data, (size_t)n, padded)))
				return err;
			zero = vhdx_is_zero(w->scratch, (size_t)n);
			if (!zero && !*file) {
				/* the first data of a dynamic block: it is stored next */
				*file = w->res->file_size;
				if (w->sink->capacity && *file + g->block_size > w->sink->capacity) {
					w->res->failed_offset = *file;
					return VHDX_ERR_DEVFULL;
				}
				w->res->file_size = *file + g->block_size;
				w->res->blocks_stored++;
				if ((err = write_window(w, *file + (pos - start), padded)) ||
				    (err = zero_in_block(w, *file, pos - start)))
					return err;
			} else if (!zero) {
				if ((err = write_window(w, *file + (pos - start), padded)))
					return err;
			}
		}
		if (zero && *file && (err = zero_run_add(w, &zr, *file + (pos - start), VHDX_ALIGN_UP(n, IO_UNIT))))
			return err;
		pos += n;
		w->done += n;
		if ((err = report(w, 0)))
			return err;
	}
	/* a stored last block is whole: zeros past the virtual size */
	if (*file && end - start < g->block_size) {
		uint64_t tail = VHDX_ALIGN_UP(end - start, IO_UNIT);

		if (tail < g->block_size && (err = zero_run_add(w, &zr, *file + tail, g->block_size - tail)))
			return err;
	}
	return zero_run_flush(w, &zr);
}

/* Every block of the payload; a dynamic image's BAT written as it fills. */
static int fill_payload(struct writer *w)
{
	const struct vhdx_plan *plan = w->plan;
	const struct vhdx_geometry *g = &plan->geom;
	bool fixed = plan->params.type == VHDX_TYPE_FIXED;
	struct source_cursor c = { 0, 0, VHDX_EXTENT_ZERO };
	uint64_t b, file, used;
	int err;

	if (w->counting) {
		w->total += g->virtual_size;
		if (!fixed)
			w->total += plan->bat_length;
		return VHDX_OK;
	}
	w->in_payload = true;
	w->holes = !fixed && w->sink->zeroed;
	w->res->file_size = plan->data_offset;
	for (b = 0; b < g->payload_blocks; b++) {
		file = fixed ? plan->data_offset + (b << g->block_shift) : 0;
		if ((err = fill_block(w, &c, b, &file)))
			return err;
		if (fixed)
			continue;
		if (!file)
			w->res->blocks_zero++;
		err = bat_set(w, vhdx_geometry_block_index(g, b),
			      file ? (file | VHDX_PAYLOAD_FULLY_PRESENT) : VHDX_PAYLOAD_ZERO);
		if (err)
			return err;
	}
	/* a last block that ends in a hole: its last page zeroed, so the
	 * file reaches its end before anything names it (still payload: the
	 * progress total has no room for it) */
	if (w->holes && w->res->blocks_stored && w->payload_end < w->res->file_size &&
	    (err = emit_zero(w, w->res->file_size - IO_UNIT, IO_UNIT)))
		return err;
	w->in_payload = false;
	if (fixed) {
		w->res->blocks_stored = g->payload_blocks;
		w->res->file_size = plan->file_size;
		return VHDX_OK;
	}
	/* the last BAT page, then zeros to the end of the region */
	used = w->bat_page_valid ? (w->bat_page_no + 1) * IO_UNIT : 0;
	if ((err = bat_page_flush(w)))
		return err;
	w->done += used;
	return emit_zero(w, plan->bat_offset + used, plan->bat_length - used);
}

/* The steps of section 4, in order. */
static int run(struct writer *w)
{
	const struct vhdx_plan *plan = w->plan;
	const struct vhdx_params *p = &plan->params;
	uint64_t bat_used, items_len;
	int err;

	/* 1. the first MiB: kills any old signature, headers, region tables.
	 * The signature's sector first, made durable on its own: a device
	 * that reorders the writes of a multi-write zeroing must not keep an
	 * old signature over headers already gone. */
	if ((err = emit_zero(w, 0, IO_UNIT)) || (err = flush(w)) ||
	    (err = emit_zero(w, IO_UNIT, VHDX_HEADER_SECTION_SIZE - IO_UNIT)) || (err = flush(w)))
		return err;
	/* 2. the log: empty (LogGuid zero), zeroed so old bytes never look like entries */
	if ((err = emit_zero(w, plan->log_offset, plan->log_length)))
		return err;
	/* 3. the BAT (with a payload: a dynamic image's blocks and BAT, a
	 * fixed image's BAT then its blocks) */
	if (w->src && p->type != VHDX_TYPE_FIXED) {
		if ((err = fill_payload(w)))
			return err;
		bat_used = plan->bat_length;
	} else if (p->type == VHDX_TYPE_FIXED || p->zero_blocks) {
		bat_used = VHDX_ALIGN_UP(plan->geom.bat_entries * VHDX_BAT_ENTRY_SIZE, IO_UNIT);
		if ((err = emit_rendered(w, plan->bat_offset, bat_used, render_bat)))
			return err;
	} else {
		bat_used = 0; /* all NOT_PRESENT: zeros */
	}
	if ((err = emit_zero(w, plan->bat_offset + bat_used, plan->bat_length - bat_used)))
		return err;
	if (w->src && p->type == VHDX_TYPE_FIXED && (err = fill_payload(w)))
		return err;
	/* 4. the metadata region: table, zeros, items, zeros */
	items_len = VHDX_ALIGN_UP(plan->meta_items_size, IO_UNIT);
	if ((err = emit_rendered(w, plan->meta_offset, IO_UNIT, render_meta_table)) ||
	    (err = emit_zero(w, plan->meta_offset + IO_UNIT, VHDX_META_TABLE_SIZE - IO_UNIT)) ||
	    (err = emit_rendered(w, plan->meta_offset + VHDX_META_TABLE_SIZE, items_len,
				 vhdx_meta_items_render_)) ||
	    (err = emit_zero(w, plan->meta_offset + VHDX_META_TABLE_SIZE + items_len,
			     plan->meta_length - VHDX_META_TABLE_SIZE - items_len)))
		return err;
	/* 5. a fixed payload: zeroed, or only allocated when asked to leave it */
	if (p->type == VHDX_TYPE_FIXED && !w->src) {
		uint64_t len = plan->file_size - plan->data_offset;

		if (!p->leave_payload) {
			if ((err = emit_zero(w, plan->data_offset, len)))
				return err;
		} else if (!w->counting && w->sink->allocate) {
			err = w->sink->allocate(w->sink, plan->data_offset, len);
			VHDX_ASSERT(err <= 0);
			if (err)
				return VHDX_ERR_IO;
		}
	}
	/* 6. the File Type Identifier without its signature (a long creator
	 * spills past its first sector: step 8 then rewrites those sectors
	 * with the same bytes, so a write torn there leaves them whole), and
	 * both region tables */
	if ((err = emit_rendered(w, VHDX_FILE_ID_OFFSET, IO_UNIT, render_file_id_unsigned)) ||
	    (err = emit_rendered(w, VHDX_REGION_TABLE1_OFFSET, IO_UNIT, render_region_table)) ||
	    (err = emit_rendered(w, VHDX_REGION_TABLE2_OFFSET, IO_UNIT, render_region_table)) ||
	    (err = flush(w)))
		return err;
	/* 7. header 1, then header 2 (sequence + 1, current) */
	if ((err = emit_rendered(w, VHDX_HEADER1_OFFSET, IO_UNIT, render_header1)) ||
	    (err = flush(w)) ||
	    (err = emit_rendered(w, VHDX_HEADER2_OFFSET, IO_UNIT, render_header2)) ||
	    (err = flush(w)))
		return err;
	/* 8. the File Type Identifier last: only now is this a VHDX */
	err = emit_rendered(w, VHDX_FILE_ID_OFFSET, IO_UNIT, render_file_id);
	if (!err)
		err = flush(w);
	if (err && !w->counting) {
		/* failed, aborted or not durable, so not done: take the
		 * signature back, best effort */
		vhdx_mem_zero_(w->scratch, IO_UNIT);
		vhdx_dev_write_(w->sink, VHDX_FILE_ID_OFFSET, w->scratch, IO_UNIT);
		return err;
	}
	return VHDX_OK;
}

uint64_t vhdx_image_total(const struct vhdx_plan *plan)
{
	struct writer w;

	vhdx_mem_zero_(&w, sizeof(w));
	w.plan = plan;
	w.counting = true;
	run(&w);
	return w.total;
}

int vhdx_image_write(const struct vhdx_plan *plan, const struct vhdx_sink *sink,
		     void *scratch, size_t scratch_len)
{
	struct writer w;

	if (!plan || !sink || !sink->write || !scratch || scratch_len < VHDX_SCRATCH_MIN)
		return VHDX_ERR_INVAL;
	if (!VHDX_IS_POW2(sink->block_size) || sink->block_size > IO_UNIT)
		return VHDX_ERR_INVAL;
	if (sink->capacity && plan->file_size > sink->capacity)
		return VHDX_ERR_DEVFULL;
	vhdx_mem_zero_(&w, sizeof(w));
	w.plan = plan;
	w.sink = sink;
	w.scratch = scratch;
	w.scratch_len = scratch_len - scratch_len % IO_UNIT;
	w.total = vhdx_image_total(plan);
	return run(&w);
}

int vhdx_image_write_from(const struct vhdx_plan *plan, const struct vhdx_sink *sink,
			  const struct vhdx_reader *source, void *scratch, size_t scratch_len,
			  struct vhdx_fill_result *ret)
{
	struct vhdx_fill_result res;
	struct writer w;
	size_t usable = scratch_len - scratch_len % IO_UNIT;
	int err;

	if (!plan || !sink || !sink->write || !source || !scratch || !ret || scratch_len < VHDX_FILL_SCRATCH_MIN)
		return VHDX_ERR_INVAL;
	if (!VHDX_IS_POW2(sink->block_size) || sink->block_size > IO_UNIT)
		return VHDX_ERR_INVAL;
	if (plan->params.type == VHDX_TYPE_DIFFERENCING || source->size > plan->geom.virtual_size)
		return VHDX_ERR_INVAL;
	if (sink->capacity && plan->file_size > sink->capacity)
		return VHDX_ERR_DEVFULL;
	vhdx_mem_zero_(&res, sizeof(res));
	vhdx_mem_zero_(&w, sizeof(w));
	w.plan = plan;
	w.src = source;
	w.res = &res;
	w.counting = true;
	run(&w);
	w.counting = false;
	w.sink = sink;
	w.scratch = scratch;
	w.scratch_len = usable - IO_UNIT;
	w.bat_page = (uint8_t *)scratch + usable - IO_UNIT;
	err = run(&w);
	if (!err)
		res.failed_offset = 0;
	vhdx_mem_copy_(ret, &res, sizeof(res));
	return err;
}

int vhdx_fill_estimate(const struct vhdx_plan *plan, const struct vhdx_reader *source, uint64_t *ret_blocks)
{
	const struct vhdx_geometry *g;
	uint64_t pos = 0, blocks = 0, next = 0; /* next: first block not yet counted */
	struct vhdx_extent e;
	int err;

	if (!plan || !source || !ret_blocks || source->size > plan->geom.virtual_size)
		return VHDX_ERR_INVAL;
	g = &plan->geom;
	while (pos < source->size) {
		err = vhdx_reader_map(source, pos, source->size - pos, &e);
		if (err)
			return err;
		if (e.kind == VHDX_EXTENT_DATA) {
			uint64_t first = pos >> g->block_shift, last = (pos + e.length - 1) >> g->block_shift;

			if (first < next)
				first = next;
			if (last >= first)
				blocks += last - first + 1;
			next = last + 1;
		}
		pos += e.length;
	}
	*ret_blocks = blocks;
	return VHDX_OK;
}
