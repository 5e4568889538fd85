/* SPDX-License-Identifier: MIT */
/*
 * vhdx_convert.c - `convert` as a job of the core (vhdx_convert.h): the
 * source opened, the output planned and checked, and written through a
 * sink in the crash-safe order (DESIGN.md "The data path").
 */
#include "vhdx_convert.h"
#include "vhdx_identify.h"
#include "vhdx_app_internal.h"

#define CONVERT_HEAD (1024u * 1024u) /* [byte] raw: zeroed first, written last */
#define CONVERT_PAGE 4096u           /* [byte] grain of the holes a sparse target keeps */


static char lower_(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ends_with_(const char *s, const char *suffix)
{
	size_t n = vhdx_str_len_(s), m = vhdx_str_len_(suffix), i;

	if (n < m)
		return false;
	for (i = 0; i < m; i++)
		if (lower_(s[n - m + i]) != suffix[i])
			return false;
	return true;
}

bool vhdx_convert_vhdx_name(const char *name)
{
	return ends_with_(name, ".vhdx") || ends_with_(name, ".avhdx");
}

enum vhdx_convert_output vhdx_convert_output_of(const struct vhdx_cli *cli)
{
	if (cli->output_format == VHDX_FORMAT_VHDX ||
	    (cli->output_format == VHDX_FORMAT_AUTO && vhdx_convert_vhdx_name(cli->target)))
		return VHDX_CONVERT_TO_VHDX;
	return VHDX_CONVERT_TO_RAW;
}

/* ---- the source ---- */

int vhdx_convert_open_source(const struct vhdx_source *src, const char *name, enum vhdx_format format,
			     bool want_vhdx, const struct vhdx_parent_ops *ops, struct vhdx_chain *chain,
			     struct vhdx_chain_level *levels, void *scratch, size_t scratch_len,
			     struct vhdx_reader *ret, char *why, size_t why_len)
{
	struct vhdx_text t;
	char reason[VHDX_WHY_SIZE];
	bool vhdx = format == VHDX_FORMAT_VHDX;
	int err;

	vhdx_mem_zero_(ret, sizeof(*ret));
	vhdx_text_init(&t, why, why_len);
	if (format == VHDX_FORMAT_AUTO) {
		size_t n = src->size < 4096 ? (size_t)src->size : 4096;

		/* a disk that cannot be read is never taken for raw */
		if (n >= 8 && scratch_len >= n) {
			err = vhdx_dev_read_(src, 0, scratch, n);
			if (err) {
				vhdx_text_str(&t, "read failed at offset 0");
				return VHDX_ERR_IO;
			}
			vhdx = vhdx_has_signature(scratch, n);
		}
		vhdx = vhdx || want_vhdx;
	}
	if (!vhdx) {
		ret->raw = src;
		ret->size = src->size;
		return VHDX_OK;
	}
	reason[0] = '\0';
	err = vhdx_chain_open(chain, levels, VHDX_CHAIN_DEPTH_MAX, src, name, ops, scratch, scratch_len, reason,
			      sizeof(reason));
	if (err == VHDX_ERR_IO) {
		vhdx_text_str(&t, "read failed");
		if (reason[0]) {
			vhdx_text_str(&t, ": ");
			vhdx_text_str(&t, reason);
		}
		return err;
	}
	if (err) {
		vhdx_text_str(&t, "cannot be read as a VHDX: ");
		vhdx_text_str(&t, reason[0] ? reason : vhdx_strerror(err));
		vhdx_text_str(&t, " (see 'vhdx check ");
		vhdx_text_str(&t, name);
		vhdx_text_str(&t, "')");
		return err;
	}
	if (chain->verdict != VHDX_CHAIN_COMPLETE) {
		vhdx_text_str(&t, "its chain is broken at ");
		vhdx_text_str(&t, levels[chain->failed_level].name);
		vhdx_text_str(&t, " (");
		vhdx_text_str(&t, vhdx_chain_verdict_name(chain->verdict));
		vhdx_text_str(&t, "): ");
		vhdx_text_str(&t, chain->why);
		vhdx_chain_close(chain, ops);
		return VHDX_ERR_CORRUPT;
	}
	ret->chain = chain;
	ret->size = levels[0].disk.geom.virtual_size;
	ret->scratch = scratch;
	ret->scratch_len = scratch_len;
	return VHDX_OK;
}

/* ---- the plan ---- */

/* "NAME: " and the rest of a refusal. */
static void refusal_(struct vhdx_text *t, const char *name)
{
	vhdx_text_str(t, name);
	vhdx_text_str(t, ": ");
}

static void size_pair_(struct vhdx_text *t, uint64_t bytes)
{
	vhdx_text_size(t, bytes);
	vhdx_text_str(t, " (");
	vhdx_text_u64(t, bytes);
	vhdx_text_str(t, " bytes)");
}

static int source_error_(const struct vhdx_convert *j, struct vhdx_text *t, int err, uint64_t off)
{
	refusal_(t, j->cli->source);
	if (err == VHDX_ERR_IO) {
		vhdx_text_str(t, "read failed near offset ");
		vhdx_text_u64(t, off);
		return err;
	}
	vhdx_text_str(t, "cannot map offset ");
	vhdx_text_u64(t, off);
	vhdx_text_str(t, ": ");
	vhdx_text_str(t, vhdx_strerror(err));
	vhdx_text_str(t, " (see 'vhdx check ");
	vhdx_text_str(t, j->cli->source);
	vhdx_text_str(t, "')");
	return VHDX_ERR_CORRUPT;
}

/* The bytes the source stores (DATA extents): the plan's figure. */
static int count_data_(struct vhdx_convert *j, struct vhdx_text *t)
{
	struct vhdx_extent e;
	uint64_t off = 0;
	int err;

	j->data_bytes = 0;
	while (off < j->size) {
		err = vhdx_reader_map(j->source, off, j->size - off, &e);
		if (err)
			return source_error_(j, t, err, off);
		if (e.kind == VHDX_EXTENT_DATA)
			j->data_bytes += e.length;
		off += e.length;
	}
	return VHDX_OK;
}

static const struct vhdx_disk *source_disk_(const struct vhdx_convert *j)
{
	return j->source->chain ? &j->source->chain->levels[0].disk : NULL;
}

/* Raw output: onto a device its size, its blocks and the sectors the
 * image's partition table counts (vhdx_sector_mismatch). */
static int plan_raw_(struct vhdx_convert *j, void *head, struct vhdx_text *t)
{
	const struct vhdx_cli *cli = j->cli;
	const struct vhdx_convert_target *tg = &j->target;
	const struct vhdx_disk *disk = source_disk_(j);
	size_t n = j->size < VHDX_PARTITION_HEAD ? (size_t)j->size : VHDX_PARTITION_HEAD;
	uint32_t image_sector = disk ? disk->geom.logical_sector_size : j->source_sector;
	char why[VHDX_CONVERT_NOTE_SIZE];
	struct vhdx_text note;
	uint32_t rem = 1;
	int err;

	if (cli->type_given || cli->block_size_given || cli->logical_sector_given || cli->physical_sector_given ||
	    cli->params.log_size || cli->params.creator) {
		vhdx_text_str(t, "convert: -t, -b, the sector sizes, --log-size and --creator describe a VHDX; "
				 "the output here is raw (give -O vhdx or a *.vhdx TARGET)");
		return VHDX_ERR_INVAL;
	}
	if (tg->kind != VHDX_CONVERT_DEVICE)
		return VHDX_OK;
	if (tg->size < j->size) {
		refusal_(t, cli->target);
		vhdx_text_str(t, "too small: the disk needs ");
		size_pair_(t, j->size);
		vhdx_text_str(t, ", the device has ");
		size_pair_(t, tg->size);
		return VHDX_ERR_RANGE;
	}
	if (tg->sector)
		vhdx_udiv64_32_(j->size, tg->sector, &rem);
	if (rem) {
		refusal_(t, cli->target);
		vhdx_text_str(t, "the disk's size ");
		vhdx_text_u64(t, j->size);
		vhdx_text_str(t, " is not a multiple of the device's ");
		vhdx_text_u64(t, tg->sector);
		vhdx_text_str(t, "-byte blocks");
		return VHDX_ERR_RANGE;
	}
	err = vhdx_reader_read(j->source, 0, head, n);
	if (err)
		return source_error_(j, t, err, 0);
	if (!vhdx_sector_mismatch(head, n, image_sector, tg->sector, why, sizeof(why)))
		return VHDX_OK;
	if (!cli->allow_sector_mismatch) {
		refusal_(t, cli->target);
		vhdx_text_str(t, why);
		vhdx_text_str(t, "; refusing to write it (--allow-sector-mismatch writes it anyway)");
		return VHDX_ERR_INVAL;
	}
	vhdx_text_init(&note, j->mismatch, sizeof(j->mismatch));
	vhdx_text_str(&note, why);
	return VHDX_OK;
}

/* The image's parameters: given, else the source VHDX's, else create's
 * defaults (a 4096-byte source device: 4096-byte sectors). */
static int plan_params_(struct vhdx_convert *j, struct vhdx_params *p, struct vhdx_text *t)
{
	const struct vhdx_cli *cli = j->cli;
	const struct vhdx_disk *disk = source_disk_(j);
	uint32_t lss;

	vhdx_mem_copy_(p, &cli->params, sizeof(*p));
	p->type = cli->type_given ? cli->params.type : VHDX_TYPE_DYNAMIC;
	if (disk) {
		if (!cli->block_size_given)
			p->block_size = disk->geom.block_size;
		if (!cli->physical_sector_given)
			p->physical_sector_size = disk->physical_sector_size;
		lss = disk->geom.logical_sector_size;
		if (!cli->logical_sector_given) {
			p->logical_sector_size = lss;
		} else if (p->logical_sector_size != lss && !cli->force) {
			vhdx_text_str(t, "convert: --logical-sector-size ");
			vhdx_text_u64(t, p->logical_sector_size);
			vhdx_text_str(t, ": ");
			vhdx_text_str(t, cli->source);
			vhdx_text_str(t, " has ");
			vhdx_text_u64(t, lss);
			vhdx_text_str(t, "-byte logical sectors, and the partition table inside counts in them: "
					 "the disk would not read the same (-f to do it anyway)");
			return VHDX_ERR_INVAL;
		}
	} else if (!cli->logical_sector_given && j->source_sector == 4096) {
		p->logical_sector_size = 4096;
		j->sector_from_device = true;
	}
	/* a raw source's last partial sector is padded with zeros */
	lss = p->logical_sector_size ? p->logical_sector_size : VHDX_DEFAULT_LOGICAL_SECTOR;
	p->virtual_size = (j->size + lss - 1) & ~(uint64_t)(lss - 1); /* lss: 512 or 4096, or refused below */
	j->padded = p->virtual_size != j->size;
	return VHDX_OK;
}

/* The lower bound (the image without payload, or a fixed image) must fit
 * the target; the upper one may not (then a warning). */
static int plan_bounds_(struct vhdx_convert *j, struct vhdx_text *t)
{
	const struct vhdx_convert_target *tg = &j->target;
	uint64_t need = j->plan.file_size;
	const char *where = tg->kind == VHDX_CONVERT_DEVICE ? ", the device has " : ", the volume has ";

	if (tg->kind != VHDX_CONVERT_DEVICE && tg->file_max && need > tg->file_max) {
		refusal_(t, j->cli->target);
		vhdx_text_str(t, "the image needs at least ");
		size_pair_(t, need);
		vhdx_text_str(t, "; a file on this volume holds at most ");
		vhdx_text_u64(t, tg->file_max);
		vhdx_text_str(t, " bytes");
		return VHDX_ERR_RANGE;
	}
	if ((tg->kind == VHDX_CONVERT_DEVICE && need > tg->size) ||
	    (tg->kind != VHDX_CONVERT_DEVICE && tg->room && need > tg->room)) {
		refusal_(t, j->cli->target);
		vhdx_text_str(t, "too small: the image needs ");
		vhdx_text_str(t, j->plan.params.type == VHDX_TYPE_FIXED ? "" : "at least ");
		size_pair_(t, need);
		vhdx_text_str(t, where);
		size_pair_(t, tg->kind == VHDX_CONVERT_DEVICE ? tg->size : tg->room);
		if (tg->kind != VHDX_CONVERT_DEVICE)
			vhdx_text_str(t, " free");
		return VHDX_ERR_RANGE;
	}
	if (tg->kind == VHDX_CONVERT_DEVICE && j->bound > tg->size)
		j->may_not_fit = "more than the device holds, if that many blocks hold data";
	else if (tg->kind != VHDX_CONVERT_DEVICE && tg->file_max && j->bound > tg->file_max)
		j->may_not_fit = "more than a file on this volume holds, if that many blocks hold data";
	else if (tg->kind != VHDX_CONVERT_DEVICE && tg->room && j->bound > tg->room)
		j->may_not_fit = "more than the volume has free, if that many blocks hold data";
	return VHDX_OK;
}

static int plan_vhdx_(struct vhdx_convert *j, struct vhdx_text *t)
{
	struct vhdx_params p;
	char why[VHDX_WHY_SIZE];
	int err;

	err = plan_params_(j, &p, t);
	if (err)
		return err;
	why[0] = '\0';
	err = vhdx_plan_init(&j->plan, &p, why, sizeof(why));
	if (err) {
		vhdx_text_str(t, "convert: ");
		vhdx_text_str(t, why[0] ? why : vhdx_strerror(err));
		return err;
	}
	if (p.type == VHDX_TYPE_FIXED) {
		j->max_blocks = j->plan.geom.payload_blocks;
		j->bound = j->plan.file_size;
	} else {
		err = vhdx_fill_estimate(&j->plan, j->source, &j->max_blocks);
		if (err)
			return source_error_(j, t, err, 0);
		j->bound = j->plan.data_offset + (j->max_blocks << j->plan.geom.block_shift);
		if (j->bound < j->plan.file_size)
			j->bound = j->plan.file_size;
	}
	return plan_bounds_(j, t);
}

int vhdx_convert_plan(struct vhdx_convert *j, void *head, char *why, size_t why_len)
{
	struct vhdx_text t;
	int err;

	vhdx_text_init(&t, why, why_len);
	if (j->cli->bmap || j->cli->json) {
		/* the parser knows these ahead of the job (issue 21) */
		vhdx_text_str(&t, j->cli->bmap ? "--bmap" : "--json");
		vhdx_text_str(&t, ": not implemented in convert yet; nothing written");
		return VHDX_ERR_INVAL;
	}
	j->output = vhdx_convert_output_of(j->cli);
	j->size = j->source->size;
	j->data_bytes = j->max_blocks = j->bound = 0;
	j->may_not_fit = NULL;
	j->padded = j->sector_from_device = false;
	j->mismatch[0] = '\0';
	if (!j->size) {
		refusal_(&t, j->cli->source);
		vhdx_text_str(&t, "an empty disk; nothing to convert");
		return VHDX_ERR_RANGE;
	}
	err = j->output == VHDX_CONVERT_TO_VHDX ? plan_vhdx_(j, &t) : plan_raw_(j, head, &t);
	if (err)
		return err;
	return count_data_(j, &t);
}

/* ---- the write ---- */

/* The file (or view) that holds a DATA extent's bytes at e->file_offset. */
static const struct vhdx_source *data_source_(const struct vhdx_reader *r, const struct vhdx_extent *e)
{
	const struct vhdx_chain_level *l;

	if (!r->chain)
		return r->raw;
	l = &r->chain->levels[e->level];
	return l->through_log ? &l->view.source : &l->src;
}

/*
 * @n bytes of a DATA extent at disk offset @off into @buf: whole pages
 * straight from the file that holds them (the extent is mapped already:
 * no BAT page read again per chunk), anything else through the reader.
 */
static int read_data_(const struct vhdx_reader *r, const struct vhdx_extent *e, uint64_t file_offset, uint64_t off,
		      void *buf, size_t n)
{
	const struct vhdx_source *src = data_source_(r, e);

	if ((file_offset | n) & (VHDX_READER_PAGE - 1))
		return vhdx_reader_read(r, off, buf, n);
	return vhdx_dev_read_(src, file_offset, buf, n);
}

/* [off, off+len) made to read as zeros: the sink's zero, else written. */
static int zero_(const struct vhdx_sink *k, uint64_t off, uint64_t len, uint8_t *buf, size_t chunk)
{
	int err = vhdx_dev_zero_(k, off, len);

	if (err != VHDX_ERR_UNSUPPORTED)
		return err;
	vhdx_mem_zero_(buf, chunk);
	while (len) {
		size_t n = len < chunk ? (size_t)len : chunk;

		err = vhdx_dev_write_(k, off, buf, n);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return VHDX_OK;
}

/* The buffer's runs of non-zero pages written; its zero pages left (the
 * target reads as zeros there). */
static int write_nonzero_(const struct vhdx_sink *k, uint64_t off, const uint8_t *buf, size_t n)
{
	size_t at = 0, end;
	int err;

	while (at < n) {
		while (at < n && vhdx_is_zero(buf + at, n - at < CONVERT_PAGE ? n - at : CONVERT_PAGE))
			at += CONVERT_PAGE;
		for (end = at; end < n; end += CONVERT_PAGE)
			if (vhdx_is_zero(buf + end, n - end < CONVERT_PAGE ? n - end : CONVERT_PAGE))
				break;
		if (end > n)
			end = n;
		if (end > at) {
			err = vhdx_dev_write_(k, off + at, buf + at, end - at);
			if (err)
				return err;
		}
		at = end;
	}
	return VHDX_OK;
}

static int progress_(const struct vhdx_sink *k, uint64_t done, uint64_t total)
{
	return k->progress && k->progress(k, done, total) ? VHDX_ERR_ABORTED : VHDX_OK;
}

static int source_failed_(struct vhdx_convert *j, int err, uint64_t off)
{
	j->source_failed = true;
	j->failed_offset = off;
	return err;
}

/*
 * One extent of the body, a chunk at a time; chunks end on multiples of
 * the chunk (a 16 MiB chunk never straddles a block of 16 MiB or more:
 * one read each).  This loop is where a per-range check would go.
 */
static int write_extent_(struct vhdx_convert *j, const struct vhdx_sink *k, struct vhdx_extent *e, uint64_t off,
			 uint8_t *buf, size_t chunk, bool skip_zeros, uint64_t head)
{
	uint64_t n;
	int err;

	for (; e->length; e->length -= n, e->file_offset += n, off += n) {
		n = chunk - (off & (chunk - 1));
		if (n > e->length)
			n = e->length;
		if (e->kind == VHDX_EXTENT_ZERO) {
			err = skip_zeros ? VHDX_OK : zero_(k, off, n, buf, chunk);
		} else {
			err = read_data_(j->source, e, e->file_offset, off, buf, (size_t)n);
			if (err)
				return source_failed_(j, err, off);
			if (vhdx_is_zero(buf, (size_t)n))
				err = skip_zeros ? VHDX_OK : zero_(k, off, n, buf, chunk);
			else if (skip_zeros)
				err = write_nonzero_(k, off, buf, (size_t)n);
			else
				err = vhdx_dev_write_(k, off, buf, (size_t)n);
		}
		if (err)
			return err;
		/* the first MiB counts when it is written, last */
		err = progress_(k, off + n - head, j->size);
		if (err)
			return err;
	}
	return VHDX_OK;
}

static int write_raw_(struct vhdx_convert *j, const struct vhdx_sink *k, uint8_t *buf, size_t chunk)
{
	uint64_t size = j->size, head = size < CONVERT_HEAD ? size : CONVERT_HEAD, off, len;
	bool fresh = j->target.kind == VHDX_CONVERT_NEW_FILE;
	bool skip_zeros = fresh || j->cli->sparse;
	struct vhdx_extent e;
	int err;

	/* 1. the first MiB zeroed and flushed before anything else */
	if (!fresh) {
		err = zero_(k, 0, head, buf, chunk);
		if (!err)
			err = vhdx_dev_flush_(k);
		if (err)
			return err;
	}
	j->head_zeroed = true;
	err = progress_(k, 0, size);
	if (err)
		return err;
	/* 2. the rest, extent by extent */
	for (off = head; off < size; off += len) {
		err = vhdx_reader_map(j->source, off, size - off, &e);
		if (err)
			return source_failed_(j, err, off);
		len = e.length;
		err = write_extent_(j, k, &e, off, buf, chunk, skip_zeros, head);
		if (err)
			return err;
	}
	if (j->set_size) {
		err = j->set_size(j->ctx, size);
		if (err)
			return err;
	}
	err = vhdx_dev_flush_(k);
	if (err)
		return err;
	/* 3. the first MiB last, a chunk at a time from its end: byte 0 (the
	 * MBR, the GPT's protective MBR) is the very last write; from here on
	 * the target may look partitioned */
	for (off = (head - 1) & ~(uint64_t)(chunk - 1);; off -= chunk) {
		len = head - off < chunk ? head - off : chunk;
		err = vhdx_reader_read(j->source, off, buf, (size_t)len);
		if (err)
			return source_failed_(j, err, off);
		err = fresh ? write_nonzero_(k, off, buf, (size_t)len) : vhdx_dev_write_(k, off, buf, (size_t)len);
		if (err)
			return err;
		if (!off)
			break;
	}
	err = vhdx_dev_flush_(k);
	if (err)
		return err;
	if (k->progress)
		k->progress(k, size, size); /* the end; an interrupt no longer counts */
	return VHDX_OK;
}

int vhdx_convert_write(struct vhdx_convert *j, const struct vhdx_sink *sink, void *buf, size_t buf_len)
{
	size_t chunk = VHDX_CONVERT_CHUNK_MIN;
	int err;

	j->head_zeroed = j->source_failed = false;
	j->failed_offset = 0;
	vhdx_mem_zero_(&j->fill, sizeof(j->fill));
	if (buf_len < VHDX_CONVERT_CHUNK_MIN + 4096u || ((uintptr_t)buf & 4095u))
		return VHDX_ERR_INVAL;
	while (chunk <= (buf_len - 4096u) / 2)
		chunk *= 2;
	if (j->output == VHDX_CONVERT_TO_RAW)
		return write_raw_(j, sink, buf, chunk);
	err = vhdx_image_write_from(&j->plan, sink, j->source, buf, buf_len, &j->fill);
	if (err && j->fill.source_failed) {
		j->source_failed = true;
		j->failed_offset = j->fill.failed_offset;
	}
	return err;
}
