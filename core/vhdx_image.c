/* SPDX-License-Identifier: MIT */
/*
 * vhdx_image.c - streams a whole image through a sink in the crash-safe
 * order of VHDX-FORMAT.md section 4, using one caller scratch buffer.
 *
 * The same step list runs twice: once counting (the progress total), once
 * writing.  Every structure is written whole, reserved bytes included, so
 * a target that held old data ends up holding exactly the planned image.
 */
#include "vhdx_internal.h"

#define IO_UNIT 4096u /* every offset and length the core uses is a multiple */

struct writer {
	const struct vhdx_plan *plan;
	const struct vhdx_sink *sink;
	uint8_t *scratch;
	size_t scratch_len;      /* a multiple of IO_UNIT */
	size_t scratch_zeroed;   /* leading bytes of scratch known to be zero */
	bool counting;           /* only add up the total */
	bool zero_unsupported;   /* the sink's zero() said UNSUPPORTED once */
	uint64_t done, total;
};

typedef void (*render_fn)(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len);

static int report(struct writer *w, uint64_t bytes)
{
	w->done += bytes;
	if (w->sink->progress && w->sink->progress(w->sink, w->done, w->total))
		return VHDX_ERR_ABORTED;
	return VHDX_OK;
}

static int sink_write(struct writer *w, uint64_t off, size_t len)
{
	int err = w->sink->write(w->sink, off, w->scratch, len);

	VHDX_ASSERT(err <= 0);
	if (err)
		return VHDX_ERR_IO;
	return report(w, len);
}

static int flush(struct writer *w)
{
	int err;

	if (w->counting || !w->sink->flush)
		return VHDX_OK;
	err = w->sink->flush(w->sink);
	VHDX_ASSERT(err <= 0);
	return err ? VHDX_ERR_IO : VHDX_OK;
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

		if (w->sink->zero && !w->zero_unsupported) {
			err = w->sink->zero(w->sink, off, n);
			VHDX_ASSERT(err <= 0);
			if (err == VHDX_ERR_UNSUPPORTED)
				w->zero_unsupported = true;
			else if (err)
				return VHDX_ERR_IO;
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
	/* 3. the BAT */
	if (p->type == VHDX_TYPE_FIXED || p->zero_blocks) {
		bat_used = VHDX_ALIGN_UP(plan->geom.bat_entries * VHDX_BAT_ENTRY_SIZE, IO_UNIT);
		if ((err = emit_rendered(w, plan->bat_offset, bat_used, render_bat)))
			return err;
	} else {
		bat_used = 0; /* all NOT_PRESENT: zeros */
	}
	if ((err = emit_zero(w, plan->bat_offset + bat_used, plan->bat_length - bat_used)))
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
	if (p->type == VHDX_TYPE_FIXED) {
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
		w->sink->write(w->sink, VHDX_FILE_ID_OFFSET, w->scratch, IO_UNIT);
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
