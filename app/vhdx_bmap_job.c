/* SPDX-License-Identifier: MIT */
/*
 * vhdx_bmap_job.c - `bmap` and `verify` over a core reader, for both
 * frontends (vhdx_bmap_job.h).
 */
#include "vhdx_bmap_job.h"
#include "vhdx_app_internal.h"

#define BLOCK VHDX_BMAP_BLOCK
#define SHIFT VHDX_BMAP_BLOCK_SHIFT

static size_t min_size(uint64_t a, size_t b)
{
	return a < b ? (size_t)a : b;
}

static bool aborted(vhdx_bmap_progress progress, void *ctx, uint64_t done, uint64_t total)
{
	return progress && progress(ctx, done, total) != 0;
}

/* Whether [off, off + len) of @disk holds an extent that is not ZERO. */
static int window_has_data(const struct vhdx_reader *disk, uint64_t off, uint64_t len, bool *ret)
{
	struct vhdx_extent e;
	int err;

	*ret = false;
	while (len) {
		err = vhdx_reader_map(disk, off, len, &e);
		if (err)
			return err;
		if (e.kind == VHDX_EXTENT_DATA) {
			*ret = true;
			return VHDX_OK;
		}
		off += e.length;
		len -= e.length;
	}
	return VHDX_OK;
}

/*
 * The next run of blocks that hold a non-zero byte in @buf (@len bytes,
 * the last block maybe partial) from *at: true and its bytes [*start,
 * *end); false at the end.
 */
static bool next_run(const uint8_t *buf, size_t len, size_t *at, size_t *start, size_t *end)
{
	size_t i = *at;

	while (i < len && vhdx_is_zero(buf + i, min_size(len - i, BLOCK)))
		i += BLOCK;
	if (i >= len) {
		*at = len;
		return false;
	}
	*start = i;
	while (i < len && !vhdx_is_zero(buf + i, min_size(len - i, BLOCK)))
		i += BLOCK;
	*end = i < len ? i : len;
	*at = *end;
	return true;
}

/* The range of the run [start, end) of the window at @off. */
static void run_range(uint64_t off, size_t start, size_t end, struct vhdx_bmap_range *r)
{
	r->first = (off + start) >> SHIFT;
	r->last = (off + end - 1) >> SHIFT;
}

/* The manifest's text: a buffer flushed through job->write. */
struct emitter {
	struct vhdx_bmap_make *job;
	char *buf;
	size_t used;
	uint64_t offset;  /* [byte] of buf[0] in the file */
};

static int emit_flush(struct emitter *e)
{
	int err;

	if (!e->used)
		return VHDX_OK;
	err = e->job->write(e->job->ctx, e->offset, e->buf, e->used);
	if (err) {
		e->job->write_failed = true;
		return VHDX_ERR_IO;
	}
	e->offset += e->used;
	e->used = 0;
	return VHDX_OK;
}

/* Room for @need more bytes (+1: the text builder's NUL). */
static int emit_room(struct emitter *e, size_t need)
{
	if (VHDX_BMAP_TEXT - e->used >= need + 1)
		return VHDX_OK;
	return emit_flush(e);
}

static int emit_range(struct emitter *e, struct vhdx_bmap_writer *w, const struct vhdx_bmap_range *r)
{
	size_t n;
	int err = emit_room(e, 256);

	if (!err)
		err = vhdx_bmap_write_range(w, r, e->buf + e->used, VHDX_BMAP_TEXT - e->used, &n);
	if (err == VHDX_ERR_INVAL) {
		e->job->source_changed = true; /* out of order, or past the count of the first pass */
		return VHDX_ERR_CORRUPT;
	}
	if (!err) {
		e->used += n;
		e->job->ranges++;
	}
	return err;
}

/* One pass over the windows from @from: ranges counted (pass 1) or emitted
 * (pass 2, @e set); pass 1 keeps ranges in @kept while @room lasts. */
struct pass {
	uint8_t *window;
	struct vhdx_bmap_range *kept;
	uint64_t room;                    /* ranges @kept holds */
	uint64_t resume;                  /* [byte] pass 1: the window of the first range not kept; size: none */
};

static int scan(struct vhdx_bmap_make *job, struct pass *p, uint64_t from, struct emitter *e,
		struct vhdx_bmap_writer *w)
{
	const struct vhdx_reader *disk = job->disk;
	uint64_t off;
	int err;

	for (off = from; off < disk->size; off += VHDX_BMAP_WINDOW) {
		size_t len = min_size(disk->size - off, VHDX_BMAP_WINDOW), at = 0, start, end;
		uint64_t kept_here = job->kept;
		bool has;

		if (aborted(job->progress, job->ctx, off, disk->size))
			return VHDX_ERR_ABORTED;
		err = window_has_data(disk, off, len, &has);
		if (!err && has)
			err = vhdx_reader_read(disk, off, p->window, len);
		if (err) {
			job->source_failed = true;
			job->failed_offset = off;
			return err;
		}
		if (!has)
			continue;
		job->read += len;
		if (e)
			job->reread += len;
		while (next_run(p->window, len, &at, &start, &end)) {
			struct vhdx_bmap_range r;

			run_range(off, start, end, &r);
			if (e) {
				vhdx_sha256(p->window + start, end - start, r.sha256);
				err = emit_range(e, w, &r);
				if (err)
					return err;
				continue;
			}
			job->mapped_blocks += r.last - r.first + 1;
			if (p->resume != disk->size)
				continue;
			if (job->kept == p->room) {
				/* the ranges kept from this window are hashed again with it */
				job->kept = kept_here;
				p->resume = off;
				continue;
			}
			vhdx_sha256(p->window + start, end - start, r.sha256);
			vhdx_mem_copy_(&p->kept[job->kept++], &r, sizeof(r));
		}
	}
	return VHDX_OK;
}

int vhdx_bmap_make(struct vhdx_bmap_make *job, void *buf, size_t buf_len)
{
	const struct vhdx_reader *disk = job->disk;
	struct vhdx_bmap_writer w;
	struct emitter e;
	struct pass p;
	char hex[VHDX_SHA256_HEX + 1];
	uint64_t i;
	size_t n;
	int err;

	job->ranges = job->mapped_blocks = job->kept = job->read = job->reread = job->file_size = 0;
	job->source_failed = job->write_failed = job->source_changed = false;
	job->failed_offset = 0;
	job->blocks_count = (disk->size + BLOCK - 1) >> SHIFT;
	if (buf_len < VHDX_BMAP_MAKE_BUF_MIN)
		return VHDX_ERR_NOSPACE;
	if (!disk->size)
		return VHDX_ERR_INVAL;
	p.window = buf;
	e.buf = (char *)buf + VHDX_BMAP_WINDOW;
	p.kept = (struct vhdx_bmap_range *)((uint8_t *)buf + VHDX_BMAP_MAKE_BUF_MIN);
	p.room = (buf_len - VHDX_BMAP_MAKE_BUF_MIN) / sizeof(*p.kept);
	p.resume = disk->size;
	e.job = job;
	e.used = 0;
	e.offset = 0;

	err = scan(job, &p, 0, NULL, NULL);
	if (err)
		return err;
	err = vhdx_bmap_write_head(&w, disk->size, job->mapped_blocks, e.buf, VHDX_BMAP_TEXT, &n);
	if (err)
		return err;
	e.used = n;
	for (i = 0; i < job->kept; i++) {
		err = emit_range(&e, &w, &p.kept[i]);
		if (err)
			return err;
	}
	if (p.resume < disk->size) {
		err = scan(job, &p, p.resume, &e, &w);
		if (err)
			return err;
	}
	err = emit_room(&e, 64);
	if (!err)
		err = vhdx_bmap_write_tail(&w, e.buf + e.used, VHDX_BMAP_TEXT - e.used, &n);
	if (err == VHDX_ERR_INVAL) {
		job->source_changed = true; /* fewer blocks than counted */
		return VHDX_ERR_CORRUPT;
	}
	if (err)
		return err;
	e.used += n;
	err = emit_flush(&e);
	if (err)
		return err;
	err = vhdx_bmap_write_checksum(&w, hex);
	if (err)
		return err;
	job->file_size = w.emitted;
	if (job->write(job->ctx, w.checksum_offset, hex, VHDX_SHA256_HEX)) {
		job->write_failed = true;
		return VHDX_ERR_IO;
	}
	if (aborted(job->progress, job->ctx, disk->size, disk->size))
		return VHDX_ERR_ABORTED;
	return VHDX_OK;
}

void vhdx_bmap_make_say(const struct vhdx_bmap_make *job, const char *out, char *line, size_t len)
{
	struct vhdx_text t;

	vhdx_text_init(&t, line, len);
	vhdx_text_str(&t, out);
	vhdx_text_str(&t, ": ");
	vhdx_text_u64(&t, job->ranges);
	vhdx_text_str(&t, " ranges, ");
	vhdx_text_u64(&t, job->mapped_blocks);
	vhdx_text_str(&t, " of ");
	vhdx_text_u64(&t, job->blocks_count);
	vhdx_text_str(&t, " blocks of 4096 bytes hold data (ImageSize ");
	vhdx_text_u64(&t, job->disk->size);
	vhdx_text_str(&t, " bytes)");
}

int vhdx_verify_open(struct vhdx_verify *v, const char *text, size_t len, const char *pin, const char *bmap_name,
		     const char *disk_name, char *why, size_t why_len)
{
	const struct vhdx_reader *disk = v->disk;
	char rule[256];
	struct vhdx_text t;
	int err;

	v->device_tail = 0;
	v->outcome = VHDX_VERIFY_MATCH;
	v->failed_offset = 0;
	vhdx_text_init(&t, why, why_len);
	if (pin && vhdx_bmap_check_pin(text, len, pin, NULL, rule, sizeof(rule))) {
		vhdx_text_str(&t, bmap_name);
		vhdx_text_str(&t, ": ");
		vhdx_text_str(&t, rule);
		return VHDX_ERR_CORRUPT;
	}
	err = vhdx_bmap_parse(&v->parser, text, len, rule, sizeof(rule));
	if (err) {
		vhdx_text_str(&t, bmap_name);
		vhdx_text_str(&t, ": not a valid bmap: ");
		vhdx_text_str(&t, rule);
		return err;
	}
	if (disk->raw && disk->raw->is_device && disk->size > v->parser.info.image_size) {
		v->device_tail = disk->size - v->parser.info.image_size; /* an image deployed onto a larger device */
	} else if (disk->size != v->parser.info.image_size) {
		vhdx_text_str(&t, bmap_name);
		vhdx_text_str(&t, ": ImageSize ");
		vhdx_text_u64(&t, v->parser.info.image_size);
		vhdx_text_str(&t, " bytes differs from ");
		vhdx_text_str(&t, disk_name);
		vhdx_text_str(&t, "'s ");
		vhdx_text_u64(&t, disk->size);
		vhdx_text_str(&t, " bytes: a bmap of another image");
		return VHDX_ERR_RANGE;
	}
	return VHDX_OK;
}

/* [start, end) reads as zeros: VHDX_OK, v->outcome NOT_ZERO at the first
 * byte that does not, or the reader's error. */
static int check_zeros(struct vhdx_verify *v, uint8_t *buf, size_t buf_len, uint64_t start, uint64_t end)
{
	while (start < end) {
		struct vhdx_extent e;
		size_t n, i;
		int err;

		if (aborted(v->progress, v->ctx, start, v->parser.info.image_size))
			return VHDX_ERR_ABORTED;
		v->failed_offset = start;
		err = vhdx_reader_map(v->disk, start, end - start, &e);
		if (err)
			return err;
		if (e.kind != VHDX_EXTENT_DATA) {
			start += e.length;
			continue;
		}
		n = min_size(e.length, buf_len);
		err = vhdx_reader_read(v->disk, start, buf, n);
		if (err)
			return err;
		if (!vhdx_is_zero(buf, n)) {
			for (i = 0; !buf[i]; i++)
				;
			v->outcome = VHDX_VERIFY_NOT_ZERO;
			v->nonzero_at = start + i;
			return VHDX_OK;
		}
		start += n;
	}
	return VHDX_OK;
}

/* SHA-256 of the disk's bytes [start, end) into v->found. */
static int hash_bytes(struct vhdx_verify *v, uint8_t *buf, size_t buf_len, uint64_t start, uint64_t end)
{
	struct vhdx_sha256 h;
	int err;

	vhdx_sha256_init(&h);
	while (start < end) {
		size_t n = min_size(end - start, buf_len);

		if (aborted(v->progress, v->ctx, start, v->parser.info.image_size))
			return VHDX_ERR_ABORTED;
		v->failed_offset = start;
		err = vhdx_reader_read(v->disk, start, buf, n);
		if (err)
			return err;
		vhdx_sha256_update(&h, buf, n);
		start += n;
	}
	vhdx_sha256_final(&h, v->found);
	return VHDX_OK;
}

int vhdx_verify_run(struct vhdx_verify *v, void *buf, size_t buf_len)
{
	struct vhdx_bmap_parser *p = &v->parser;
	uint64_t next = 0, start, end;
	int err;

	if (buf_len < VHDX_VERIFY_BUF_MIN)
		return VHDX_ERR_NOSPACE;
	buf_len &= ~(size_t)(VHDX_READER_PAGE - 1);
	v->outcome = VHDX_VERIFY_MATCH;
	for (;;) {
		bool more = vhdx_bmap_next(p, &v->range);

		start = more ? v->range.first << SHIFT : p->info.image_size;
		if (v->zeros && start > next) {
			err = check_zeros(v, buf, buf_len, next, start);
			if (err || v->outcome != VHDX_VERIFY_MATCH)
				return err;
		}
		if (!more)
			break;
		vhdx_bmap_range_bytes(&v->range, p->info.image_size, &start, &end);
		err = hash_bytes(v, buf, buf_len, start, end);
		if (err)
			return err;
		if (!vhdx_mem_equal_(v->found, v->range.sha256, VHDX_SHA256_SIZE)) {
			v->outcome = VHDX_VERIFY_RANGE_DIFFERS;
			v->start = start;
			v->end = end;
			return VHDX_OK;
		}
		next = end;
	}
	if (aborted(v->progress, v->ctx, p->info.image_size, p->info.image_size))
		return VHDX_ERR_ABORTED;
	return VHDX_OK;
}

void vhdx_verify_say(const struct vhdx_verify *v, const char *target, const char *bmap_name, char *line,
		     size_t len)
{
	const struct vhdx_bmap_info *info = &v->parser.info;
	char hex[VHDX_SHA256_HEX + 1];
	struct vhdx_text t;

	vhdx_text_init(&t, line, len);
	if (v->outcome == VHDX_VERIFY_RANGE_DIFFERS) {
		vhdx_text_str(&t, target);
		vhdx_text_str(&t, ": range ");
		vhdx_text_u64(&t, v->range.first);
		vhdx_text_str(&t, "-");
		vhdx_text_u64(&t, v->range.last);
		vhdx_text_str(&t, " (bytes ");
		vhdx_text_u64(&t, v->start);
		vhdx_text_str(&t, "-");
		vhdx_text_u64(&t, v->end - 1);
		vhdx_text_str(&t, ") does not match ");
		vhdx_text_str(&t, bmap_name);
		vhdx_text_str(&t, ": expected sha256 ");
		vhdx_sha256_hex(v->range.sha256, hex);
		vhdx_text_str(&t, hex);
		vhdx_text_str(&t, ", found ");
		vhdx_sha256_hex(v->found, hex);
		vhdx_text_str(&t, hex);
		return;
	}
	if (v->outcome == VHDX_VERIFY_NOT_ZERO) {
		vhdx_text_str(&t, target);
		vhdx_text_str(&t, ": block ");
		vhdx_text_u64(&t, v->nonzero_at >> SHIFT);
		vhdx_text_str(&t, " (byte ");
		vhdx_text_u64(&t, v->nonzero_at);
		vhdx_text_str(&t, ") is not in the bmap's ranges but does not read as zeros");
		return;
	}
	vhdx_text_str(&t, target);
	vhdx_text_str(&t, " matches ");
	vhdx_text_str(&t, bmap_name);
	vhdx_text_str(&t, ": ");
	vhdx_text_u64(&t, info->ranges);
	vhdx_text_str(&t, " ranges, ");
	vhdx_text_u64(&t, info->mapped_blocks);
	vhdx_text_str(&t, " blocks (");
	vhdx_text_u64(&t, info->mapped_blocks << SHIFT);
	vhdx_text_str(&t, " bytes of ");
	vhdx_text_u64(&t, info->image_size);
	vhdx_text_str(&t, ") verified");
	if (v->zeros)
		vhdx_text_str(&t, ", the other blocks read as zeros");
	if (v->device_tail) {
		vhdx_text_str(&t, "; the device's last ");
		vhdx_text_u64(&t, v->device_tail);
		vhdx_text_str(&t, " bytes lie beyond the image (not verified)");
	}
}
