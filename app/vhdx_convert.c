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

/* --bmap: the manifest's pin, its every rule, its image size. */
static int plan_bmap_(struct vhdx_convert *j, struct vhdx_text *t)
{
	const struct vhdx_cli *cli = j->cli;
	struct vhdx_bmap_parser it;
	struct vhdx_bmap_range r;
	char why[VHDX_CONVERT_NOTE_SIZE];
	uint64_t start, end;
	int err;

	if (j->output != VHDX_CONVERT_TO_RAW) {
		refusal_(t, cli->target);
		vhdx_text_str(t, "--bmap deploys a raw disk, and this output is a VHDX (-O vhdx or a *.vhdx name); "
				 "nothing written");
		return VHDX_ERR_INVAL;
	}
	if (!j->bmap_text) {
		refusal_(t, cli->bmap);
		vhdx_text_str(t, "the manifest was not read");
		return VHDX_ERR_INVAL;
	}
	why[0] = '\0';
	if (cli->bmap_sha256) {
		err = vhdx_bmap_check_pin(j->bmap_text, j->bmap_len, cli->bmap_sha256, j->bmap_sha256, why,
					  sizeof(why));
		if (err) {
			refusal_(t, cli->bmap);
			vhdx_text_str(t, why);
			return VHDX_ERR_CORRUPT;
		}
	} else {
		vhdx_sha256(j->bmap_text, j->bmap_len, j->bmap_sha256);
	}
	err = vhdx_bmap_parse(&j->bmap, j->bmap_text, j->bmap_len, why, sizeof(why));
	if (err) {
		refusal_(t, cli->bmap);
		vhdx_text_str(t, "not a valid bmap: ");
		vhdx_text_str(t, why);
		return VHDX_ERR_CORRUPT;
	}
	if (j->bmap.info.image_size != j->size) {
		refusal_(t, cli->bmap);
		vhdx_text_str(t, "ImageSize ");
		vhdx_text_u64(t, j->bmap.info.image_size);
		vhdx_text_str(t, " bytes differs from the virtual size of ");
		vhdx_text_str(t, cli->source);
		vhdx_text_str(t, ", ");
		vhdx_text_u64(t, j->size);
		vhdx_text_str(t, " bytes: a bmap of another image");
		return VHDX_ERR_CORRUPT;
	}
	j->bmap_long_ranges = 0;
	vhdx_mem_copy_(&it, &j->bmap, sizeof(it));
	while (vhdx_bmap_next(&it, &r)) {
		vhdx_bmap_range_bytes(&r, j->size, &start, &end);
		if (end - start > VHDX_CONVERT_CHECKED_MAX)
			j->bmap_long_ranges++;
	}
	j->with_bmap = true;
	return VHDX_OK;
}

int vhdx_convert_plan(struct vhdx_convert *j, void *head, char *why, size_t why_len)
{
	struct vhdx_text t;
	int err;

	vhdx_text_init(&t, why, why_len);
	j->output = vhdx_convert_output_of(j->cli);
	j->size = j->source->size;
	j->data_bytes = j->max_blocks = j->bound = 0;
	j->may_not_fit = NULL;
	j->padded = j->sector_from_device = j->with_bmap = false;
	j->mismatch[0] = '\0';
	if (!j->size) {
		refusal_(&t, j->cli->source);
		vhdx_text_str(&t, "an empty disk; nothing to convert");
		return VHDX_ERR_RANGE;
	}
	if (j->cli->bmap) {
		err = plan_bmap_(j, &t);
		if (err)
			return err;
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

/* A buffer for a chunk (at most) read then written: one of the sink's
 * (lent: no copy between), else @own. */
static uint8_t *take_(const struct vhdx_convert *j, uint8_t *own)
{
	return j->lend ? j->lender->take(j->lender->ctx) : own;
}

/* @b (from take_) back to the sink, once all written from it is queued. */
static void give_back_(const struct vhdx_convert *j, const uint8_t *b)
{
	if (j->lend)
		j->lender->give_back(j->lender->ctx, (void *)(uintptr_t)b);
}

/*
 * One extent of the body, a chunk at a time; chunks end on multiples of
 * the chunk (a 16 MiB chunk never straddles a block of 16 MiB or more:
 * one read each).  With --bmap the body goes through put_body_checked_.
 */
static int write_extent_(struct vhdx_convert *j, const struct vhdx_sink *k, struct vhdx_extent *e, uint64_t off,
			 uint8_t *buf, size_t chunk, bool skip_zeros, uint64_t head)
{
	uint64_t n;
	uint8_t *d;
	int err;

	for (; e->length; e->length -= n, e->file_offset += n, off += n) {
		n = chunk - (off & (chunk - 1));
		if (n > e->length)
			n = e->length;
		if (e->kind == VHDX_EXTENT_ZERO) {
			err = skip_zeros ? VHDX_OK : zero_(k, off, n, buf, chunk);
		} else {
			d = take_(j, buf);
			err = read_data_(j->source, e, e->file_offset, off, d, (size_t)n);
			if (err) {
				give_back_(j, d);
				return source_failed_(j, err, off);
			}
			if (vhdx_is_zero(d, (size_t)n))
				err = skip_zeros ? VHDX_OK : zero_(k, off, n, buf, chunk);
			else if (skip_zeros)
				err = write_nonzero_(k, off, d, (size_t)n);
			else
				err = vhdx_dev_write_(k, off, d, (size_t)n);
			give_back_(j, d);
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

/* ---- --bmap: each range checked ---- */

static void hash_init_(struct vhdx_convert *j)
{
	if (j->sha256)
		j->sha256->init(j->sha256->ctx);
	else
		vhdx_sha256_init(&j->own_sha256);
}

static void hash_update_(struct vhdx_convert *j, const void *data, size_t len)
{
	if (j->sha256)
		j->sha256->update(j->sha256->ctx, data, len);
	else
		vhdx_sha256_update(&j->own_sha256, data, len);
}

static void hash_final_(struct vhdx_convert *j, uint8_t digest[VHDX_SHA256_SIZE])
{
	if (j->sha256)
		j->sha256->final(j->sha256->ctx, digest);
	else
		vhdx_sha256_final(&j->own_sha256, digest);
}

static void hash_(struct vhdx_convert *j, const void *data, size_t len, uint8_t digest[VHDX_SHA256_SIZE])
{
	hash_init_(j);
	hash_update_(j, data, len);
	hash_final_(j, digest);
}

static bool same_digest_(const uint8_t *a, const uint8_t *b)
{
	unsigned i, d = 0;

	for (i = 0; i < VHDX_SHA256_SIZE; i++)
		d |= (unsigned)(a[i] ^ b[i]);
	return !d;
}

/* The source's bytes [off, off + n) into @buf, extent by extent: DATA read
 * straight from the file that holds them, ZERO as zeros. */
static int read_span_(struct vhdx_convert *j, uint64_t off, uint8_t *buf, size_t n)
{
	struct vhdx_extent e;
	size_t at = 0, m;
	int err;

	while (at < n) {
		err = vhdx_reader_map(j->source, off + at, n - at, &e);
		if (err)
			return source_failed_(j, err, off + at);
		m = e.length < n - at ? (size_t)e.length : n - at;
		if (e.kind == VHDX_EXTENT_DATA) {
			err = read_data_(j->source, &e, e.file_offset, off + at, buf + at, m);
			if (err)
				return source_failed_(j, err, off + at);
		} else {
			vhdx_mem_zero_(buf + at, m);
		}
		at += m;
	}
	return VHDX_OK;
}

static int range_failed_(struct vhdx_convert *j, const struct vhdx_bmap_range *r, uint64_t start, uint64_t end,
			 const uint8_t *found, bool written)
{
	j->bmap_failed = true;
	j->bad_written = written;
	vhdx_mem_copy_(&j->bad_range, r, sizeof(*r));
	j->bad_at = start;
	j->bad_end = end;
	vhdx_mem_copy_(j->bad_sha256, found, VHDX_SHA256_SIZE);
	return VHDX_ERR_CORRUPT;
}

/* @n bytes at @buf, where the manifest maps nothing, must be zeros. */
static int check_unmapped_(struct vhdx_convert *j, uint64_t off, const uint8_t *buf, size_t n)
{
	size_t i;

	if (vhdx_is_zero(buf, n))
		return VHDX_OK;
	for (i = 0; !buf[i]; i++)
		;
	j->bmap_failed = j->bad_unmapped = true;
	j->bad_at = off + i;
	return VHDX_ERR_CORRUPT;
}

/* The range's bytes [@start, @end) of the source into the target from
 * @from (the first MiB is written last), the sink's zeros left where a
 * new file or --sparse reads as zeros already. */
static int put_(const struct vhdx_sink *k, uint64_t off, const uint8_t *buf, size_t n, bool skip_zeros)
{
	return skip_zeros ? write_nonzero_(k, off, buf, n) : vhdx_dev_write_(k, off, buf, n);
}

/* --resume: the target's [start, end) hashes to @want.  true/false; a
 * failed read of the target counts as false (the range is written). */
static bool target_holds_(struct vhdx_convert *j, uint64_t start, uint64_t end, const uint8_t *want, uint8_t *buf,
			  size_t chunk)
{
	uint8_t got[VHDX_SHA256_SIZE];
	uint64_t off;
	size_t n;

	if (!j->target_source || end > j->target_source->size)
		return false;
	hash_init_(j);
	for (off = start; off < end; off += n) {
		n = end - off < chunk ? (size_t)(end - off) : chunk;
		if (vhdx_dev_read_(j->target_source, off, buf, n))
			return false;
		hash_update_(j, buf, n);
	}
	hash_final_(j, got);
	return same_digest_(got, want);
}

/* The oldest range read and not yet written: its digest (waited for when
 * it was hashed beside), compared, then written as put_range_ does. */
static int settle_one_(struct vhdx_convert *j, const struct vhdx_sink *k, bool skip_zeros, uint64_t head)
{
	struct vhdx_convert_pending *p = &j->pending[j->pending_first];
	int err;

	j->pending_first = (j->pending_first + 1) % (VHDX_CONVERT_SPARES + 1);
	j->pending_count--;
	if (p->beside) {
		j->sha256->wait(j->sha256->ctx, p->digest);
		j->beside_count--;
	}
	if (!same_digest_(p->digest, p->range.sha256)) {
		give_back_(j, p->buf);
		return range_failed_(j, &p->range, p->start, p->end, p->digest, false);
	}
	j->checked_before++;
	err = put_(k, p->start, p->buf, (size_t)(p->end - p->start), skip_zeros);
	give_back_(j, p->buf);
	return err ? err : progress_(k, p->end - head, j->size);
}

/* Every range read and not yet written, oldest first. */
static int settle_(struct vhdx_convert *j, const struct vhdx_sink *k, bool skip_zeros, uint64_t head)
{
	int err = VHDX_OK;

	while (!err && j->pending_count)
		err = settle_one_(j, k, skip_zeros, head);
	return err;
}

/* How many ranges may be read and not yet written: one each in a lent
 * buffer while earlier ones are hashed beside; else one, in @buf. */
static unsigned buffers_(const struct vhdx_convert *j)
{
	if (!j->lend || !j->sha256 || !j->sha256->start || !j->sha256->wait || !j->sha256->busy)
		return 1;
	return 1 + VHDX_CONVERT_SPARES;
}

/* A short range of the body, read into @cur: queued, hashed beside when
 * the other CPU has at most one message still to hash (it stays busy,
 * and this CPU hashes the rest), else here. */
static void queue_(struct vhdx_convert *j, const struct vhdx_bmap_range *r, uint64_t start, uint64_t end,
		   const uint8_t *cur)
{
	struct vhdx_convert_pending *p =
		&j->pending[(j->pending_first + j->pending_count) % (VHDX_CONVERT_SPARES + 1)];

	vhdx_mem_copy_(&p->range, r, sizeof(*r));
	p->start = start;
	p->end = end;
	p->buf = cur;
	p->beside = buffers_(j) > 1 && j->beside_count < VHDX_SHA256_BESIDE_MAX && j->sha256->busy(j->sha256->ctx) <= 1;
	if (p->beside) {
		j->sha256->start(j->sha256->ctx, cur, (size_t)(end - start));
		j->beside_count++;
	} else {
		hash_(j, cur, (size_t)(end - start), p->digest);
	}
	j->pending_count++;
}

/* One mapped range of the body: kept (--resume), checked whole then
 * written, or (a long one) hashed while written and compared at its end.
 * A range that crosses into the first MiB: its part there read and hashed
 * (written last, in write_head_), with a digest of that part alone.
 * A short one of the body is queued (queue_), written once settled. */
static int put_range_(struct vhdx_convert *j, const struct vhdx_sink *k, const struct vhdx_bmap_range *r,
		      uint8_t *buf, size_t chunk, bool skip_zeros, uint64_t head)
{
	uint64_t start, end, off, from;
	uint8_t got[VHDX_SHA256_SIZE];
	struct vhdx_sha256 cross;
	uint8_t *cur;
	size_t n;
	int err;

	vhdx_bmap_range_bytes(r, j->size, &start, &end);
	from = start < head ? head : start;
	if (start < head || end - start > VHDX_CONVERT_CHECKED_MAX)
		err = settle_(j, k, skip_zeros, head);
	else if (j->pending_count == buffers_(j))
		err = settle_one_(j, k, skip_zeros, head);
	else
		err = VHDX_OK;
	if (err)
		return err;
	if (start < head) {
		j->cross_start = start;
	} else if (j->cli->resume && target_holds_(j, start, end, r->sha256, buf, chunk)) {
		/* @buf is free: a pending range holds it only when nothing is
		 * lent, and then none is pending here (buffers_ 1) */
		err = settle_(j, k, skip_zeros, head);
		if (err)
			return err;
		j->kept++;
		return progress_(k, end - head, j->size);
	}
	if (end - start <= VHDX_CONVERT_CHECKED_MAX) {
		cur = take_(j, buf);
		err = read_span_(j, start, cur, (size_t)(end - start));
		if (err) {
			give_back_(j, cur);
			return err;
		}
		if (start >= head) {
			queue_(j, r, start, end, cur);
			return VHDX_OK;
		}
		hash_(j, cur, (size_t)(end - start), got);
		if (!same_digest_(got, r->sha256)) {
			give_back_(j, cur);
			return range_failed_(j, r, start, end, got, false);
		}
		vhdx_sha256(cur, (size_t)(head - start), j->cross_sha256);
		j->checked_before++;
		err = put_(k, from, cur + (from - start), (size_t)(end - from), skip_zeros);
		give_back_(j, cur);
		return err ? err : progress_(k, end - head, j->size);
	}
	vhdx_sha256_init(&cross);
	hash_init_(j);
	for (off = start; off < end; off += n) {
		n = chunk - (size_t)(off & (chunk - 1));
		if (n > end - off)
			n = (size_t)(end - off);
		if (off < head && off + n > head)
			n = (size_t)(head - off);
		err = read_span_(j, off, buf, n);
		if (err)
			return err;
		hash_update_(j, buf, n);
		if (off < head) {
			vhdx_sha256_update(&cross, buf, n);
			continue;
		}
		err = put_(k, off, buf, n, skip_zeros);
		if (!err)
			err = progress_(k, off + n - head, j->size);
		if (err)
			return err;
	}
	hash_final_(j, got);
	if (start < head)
		vhdx_sha256_final(&cross, j->cross_sha256);
	if (!same_digest_(got, r->sha256))
		return range_failed_(j, r, start, end, got, true);
	j->checked_after++;
	return VHDX_OK;
}

/* [off, end) of the body, which the manifest leaves unmapped: the source
 * must read as zeros there (ZERO extents are not read); the target is
 * made zero (unless it reads as zeros already: a new file, --sparse, or
 * --resume finding zeros there). */
static int put_gap_(struct vhdx_convert *j, const struct vhdx_sink *k, uint64_t off, uint64_t end, uint8_t *buf,
		    size_t chunk, bool skip_zeros, uint64_t head)
{
	struct vhdx_extent e;
	uint64_t n;
	bool leave;
	int err;

	while (off < end) {
		err = vhdx_reader_map(j->source, off, end - off, &e);
		if (err)
			return source_failed_(j, err, off);
		n = chunk - (off & (chunk - 1));
		if (n > e.length)
			n = e.length;
		if (e.kind == VHDX_EXTENT_DATA) {
			err = read_data_(j->source, &e, e.file_offset, off, buf, (size_t)n);
			if (err)
				return source_failed_(j, err, off);
			err = check_unmapped_(j, off, buf, (size_t)n);
			if (err)
				return err;
		}
		leave = skip_zeros;
		if (!leave && j->cli->resume && j->target_source && off + n <= j->target_source->size &&
		    !vhdx_dev_read_(j->target_source, off, buf, (size_t)n))
			leave = vhdx_is_zero(buf, (size_t)n);
		err = leave ? VHDX_OK : zero_(k, off, n, buf, chunk);
		if (!err)
			err = progress_(k, off + n - head, j->size);
		if (err)
			return err;
		off += n;
	}
	return VHDX_OK;
}

/* The manifest's next range in bytes, [*start, *end); none left: false,
 * both the disk's size. */
static bool next_range_(const struct vhdx_convert *j, struct vhdx_bmap_parser *it, struct vhdx_bmap_range *r,
			uint64_t *start, uint64_t *end)
{
	if (vhdx_bmap_next(it, r)) {
		vhdx_bmap_range_bytes(r, j->size, start, end);
		return true;
	}
	*start = *end = j->size;
	return false;
}

/* The body [head, size) against the manifest: its ranges and the gaps. */
static int put_ranges_(struct vhdx_convert *j, const struct vhdx_sink *k, uint8_t *buf, size_t chunk,
		       bool skip_zeros, uint64_t head)
{
	struct vhdx_bmap_parser it;
	struct vhdx_bmap_range r;
	uint64_t pos = head, start, end;
	bool more;
	int err;

	vhdx_mem_copy_(&it, &j->bmap, sizeof(it)); /* j->bmap is never advanced */
	for (;;) {
		more = next_range_(j, &it, &r, &start, &end);
		if (start > pos) {
			err = settle_(j, k, skip_zeros, head);
			if (!err)
				err = put_gap_(j, k, pos, start, buf, chunk, skip_zeros, head);
			if (err)
				return err;
		}
		if (!more)
			return settle_(j, k, skip_zeros, head);
		if (end <= head)
			continue;
		err = put_range_(j, k, &r, buf, chunk, skip_zeros, head);
		if (err)
			return err;
		pos = end;
	}
}

/* put_ranges_, and on its failure the ranges still hashed beside waited
 * for (their buffers are the caller's), then the lent ones given back,
 * none of the pending written. */
static int put_body_checked_(struct vhdx_convert *j, const struct vhdx_sink *k, uint8_t *buf, size_t chunk,
			     bool skip_zeros, uint64_t head)
{
	uint8_t unused[VHDX_SHA256_SIZE];
	int err;

	j->pending_first = j->pending_count = j->beside_count = 0;
	err = put_ranges_(j, k, buf, chunk, skip_zeros, head);
	for (; j->beside_count; j->beside_count--)
		j->sha256->wait(j->sha256->ctx, unused);
	for (; j->pending_count; j->pending_count--) {
		give_back_(j, j->pending[j->pending_first].buf);
		j->pending_first = (j->pending_first + 1) % (VHDX_CONVERT_SPARES + 1);
	}
	return err;
}

/* The first MiB (@head bytes, in @buf as the source has them) against the
 * manifest, before it is written: its ranges hashed, the part of one that
 * crosses out of it as it was checked, its gaps zeros. */
static int check_head_(struct vhdx_convert *j, const uint8_t *buf, uint64_t head)
{
	struct vhdx_bmap_parser it;
	struct vhdx_bmap_range r;
	uint8_t got[VHDX_SHA256_SIZE];
	uint64_t pos = 0, start, end;
	bool more;
	int err;

	vhdx_mem_copy_(&it, &j->bmap, sizeof(it));
	for (;;) {
		more = next_range_(j, &it, &r, &start, &end);
		if (!more || start >= head) {
			start = head;
			end = head;
		}
		if (start > pos) {
			err = check_unmapped_(j, pos, buf + pos, (size_t)(start - pos));
			if (err)
				return err;
		}
		if (start >= head)
			return VHDX_OK;
		if (end > head) {
			/* checked whole in the body: the bytes written here must be those */
			vhdx_sha256(buf + start, (size_t)(head - start), got);
			if (j->cross_start != start || !same_digest_(got, j->cross_sha256)) {
				hash_(j, buf + start, (size_t)(head - start), got);
				return range_failed_(j, &r, start, end, got, false);
			}
			return VHDX_OK;
		}
		hash_(j, buf + start, (size_t)(end - start), got);
		if (!same_digest_(got, r.sha256))
			return range_failed_(j, &r, start, end, got, false);
		j->checked_before++;
		pos = end;
	}
}

/* The first MiB is on the target: flushed, and the progress at its end (an
 * interrupt no longer counts). */
static int finish_raw_(const struct vhdx_sink *k, uint64_t size)
{
	int err = vhdx_dev_flush_(k);

	if (err)
		return err;
	if (k->progress)
		k->progress(k, size, size);
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
	/* 2. the rest, extent by extent; or against the manifest */
	if (j->with_bmap) {
		err = put_body_checked_(j, k, buf, chunk, skip_zeros, head);
		if (err)
			return err;
	}
	for (off = j->with_bmap ? size : head; off < size; off += len) {
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
	 * the target may look partitioned.  Each chunk is one write, zeros
	 * and all, on a new file too: its runs of data one by one would put
	 * byte 0 first (a crash then left a partition table over a first MiB
	 * half written: tests/host/test_deploy_cut.sh) */
	if (j->with_bmap) {
		/* head <= chunk: read once, checked, written from that buffer */
		err = read_span_(j, 0, buf, (size_t)head);
		if (!err)
			err = check_head_(j, buf, head);
		if (!err)
			err = vhdx_dev_write_(k, 0, buf, (size_t)head);
		return err ? err : finish_raw_(k, size);
	}
	for (off = (head - 1) & ~(uint64_t)(chunk - 1);; off -= chunk) {
		len = head - off < chunk ? head - off : chunk;
		err = vhdx_reader_read(j->source, off, buf, (size_t)len);
		if (err)
			return source_failed_(j, err, off);
		err = vhdx_dev_write_(k, off, buf, (size_t)len);
		if (err)
			return err;
		if (!off)
			break;
	}
	return finish_raw_(k, size);
}

/* The caller's sink, each byte written or zeroed through it counted. */
struct counted_sink {
	struct vhdx_sink sink;
	const struct vhdx_sink *inner;
	struct vhdx_convert *job;
};

static int counted_write_(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	const struct counted_sink *c = s->ctx;
	int err = c->inner->write(c->inner, off, buf, len);

	if (!err)
		c->job->bytes_written += len;
	return err;
}

static int counted_zero_(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	const struct counted_sink *c = s->ctx;
	int err = c->inner->zero(c->inner, off, len);

	if (!err)
		c->job->bytes_zeroed += len;
	return err;
}

static int counted_flush_(const struct vhdx_sink *s)
{
	const struct counted_sink *c = s->ctx;

	return c->inner->flush(c->inner);
}

static int counted_allocate_(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	const struct counted_sink *c = s->ctx;

	return c->inner->allocate(c->inner, off, len);
}

static int counted_progress_(const struct vhdx_sink *s, uint64_t done, uint64_t total)
{
	const struct counted_sink *c = s->ctx;

	return c->inner->progress(c->inner, done, total);
}

static void counted_init_(struct counted_sink *c, const struct vhdx_sink *inner, struct vhdx_convert *j)
{
	vhdx_mem_copy_(&c->sink, inner, sizeof(c->sink));
	c->sink.ctx = c;
	c->sink.write = counted_write_;
	c->sink.zero = inner->zero ? counted_zero_ : NULL;
	c->sink.flush = inner->flush ? counted_flush_ : NULL;
	c->sink.allocate = inner->allocate ? counted_allocate_ : NULL;
	c->sink.progress = inner->progress ? counted_progress_ : NULL;
	c->inner = inner;
	c->job = j;
}

int vhdx_convert_write(struct vhdx_convert *j, const struct vhdx_sink *sink, void *buf, size_t buf_len)
{
	size_t chunk = VHDX_CONVERT_CHUNK_MIN;
	struct counted_sink counted;
	int err;

	j->head_zeroed = j->source_failed = false;
	j->failed_offset = 0;
	j->bytes_written = j->bytes_zeroed = 0;
	j->checked_before = j->checked_after = j->kept = 0;
	j->bmap_failed = j->bad_unmapped = j->bad_written = false;
	j->cross_start = ~(uint64_t)0;
	vhdx_mem_zero_(&j->fill, sizeof(j->fill));
	if (buf_len < VHDX_CONVERT_CHUNK_MIN + 4096u || ((uintptr_t)buf & 4095u))
		return VHDX_ERR_INVAL;
	while (chunk <= (buf_len - 4096u) / 2)
		chunk *= 2;
	if (j->with_bmap && (chunk < VHDX_CONVERT_CHECKED_MAX ||
			     (j->cli->resume && !j->target_source && j->target.kind != VHDX_CONVERT_NEW_FILE)))
		return VHDX_ERR_INVAL;
	counted_init_(&counted, sink, j);
	/* lent buffers hold a chunk (--bmap: a range checked whole) */
	j->lend = j->lender && j->lender->size >= chunk && !(j->lender->size & 4095u);
	if (j->output == VHDX_CONVERT_TO_RAW)
		return write_raw_(j, &counted.sink, buf, chunk);
	err = vhdx_image_write_from(&j->plan, &counted.sink, j->source, buf, buf_len, &j->fill);
	if (err && j->fill.source_failed) {
		j->source_failed = true;
		j->failed_offset = j->fill.failed_offset;
	}
	return err;
}

/* ---- the outcome as JSON ---- */

static void json_u64_(struct vhdx_text *t, const char *key, uint64_t v)
{
	vhdx_text_str(t, ", \"");
	vhdx_text_str(t, key);
	vhdx_text_str(t, "\": ");
	vhdx_text_u64(t, v);
}

static void json_digest_(struct vhdx_text *t, const char *key, const uint8_t *digest)
{
	char hex[VHDX_SHA256_HEX + 1];

	vhdx_sha256_hex(digest, hex);
	vhdx_text_str(t, ", \"");
	vhdx_text_str(t, key);
	vhdx_text_str(t, "\": \"");
	vhdx_text_str(t, hex);
	vhdx_text_str(t, "\"");
}

static const char *json_result_(const struct vhdx_convert *j, int err)
{
	if (!err)
		return "ok";
	if (j->bmap_failed)
		return "mismatch";
	return err == VHDX_ERR_ABORTED ? "aborted" : "failed";
}

void vhdx_convert_json(const struct vhdx_convert *j, int err, void (*line)(void *ctx, const char *text), void *ctx)
{
	char buf[2048];
	struct vhdx_text t;

	vhdx_text_init(&t, buf, sizeof(buf));
	vhdx_text_str(&t, "{\"source\": ");
	vhdx_text_json_(&t, j->cli->source);
	vhdx_text_str(&t, ", \"target\": ");
	vhdx_text_json_(&t, j->cli->target);
	vhdx_text_str(&t, ", \"output\": ");
	vhdx_text_str(&t, j->output == VHDX_CONVERT_TO_VHDX ? "\"vhdx\"" : "\"raw\"");
	vhdx_text_str(&t, ", \"result\": \"");
	vhdx_text_str(&t, json_result_(j, err));
	vhdx_text_str(&t, "\"");
	json_u64_(&t, "size", j->size);
	json_u64_(&t, "bytes_written", j->bytes_written);
	json_u64_(&t, "bytes_zeroed", j->bytes_zeroed);
	vhdx_text_str(&t, ", \"bmap\": ");
	if (!j->with_bmap) {
		vhdx_text_str(&t, "null}");
		line(ctx, buf);
		return;
	}
	vhdx_text_str(&t, "{\"file\": ");
	vhdx_text_json_(&t, j->cli->bmap);
	json_digest_(&t, "sha256", j->bmap_sha256);
	json_u64_(&t, "ranges", j->bmap.info.ranges);
	json_u64_(&t, "mapped_bytes", j->bmap.info.mapped_blocks << VHDX_BMAP_BLOCK_SHIFT);
	json_u64_(&t, "checked_before_write", j->checked_before);
	json_u64_(&t, "checked_after_write", j->checked_after);
	json_u64_(&t, "kept_by_resume", j->kept);
	vhdx_text_str(&t, ", \"failed_range\": ");
	if (!j->bmap_failed) {
		vhdx_text_str(&t, "null");
	} else if (j->bad_unmapped) {
		vhdx_text_str(&t, "{\"unmapped\": true");
		json_u64_(&t, "block", j->bad_at >> VHDX_BMAP_BLOCK_SHIFT);
		json_u64_(&t, "byte", j->bad_at);
		vhdx_text_str(&t, "}");
	} else {
		vhdx_text_str(&t, "{\"unmapped\": false");
		json_u64_(&t, "first_block", j->bad_range.first);
		json_u64_(&t, "last_block", j->bad_range.last);
		json_u64_(&t, "first_byte", j->bad_at);
		json_u64_(&t, "last_byte", j->bad_end - 1);
		json_digest_(&t, "expected", j->bad_range.sha256);
		json_digest_(&t, "found", j->bad_sha256);
		vhdx_text_str(&t, j->bad_written ? ", \"written\": true}" : ", \"written\": false}");
	}
	vhdx_text_str(&t, "}}");
	line(ctx, buf);
}

void vhdx_convert_mismatch(const struct vhdx_convert *j, char *why, size_t why_len)
{
	char hex[VHDX_SHA256_HEX + 1];
	struct vhdx_text t;

	vhdx_text_init(&t, why, why_len);
	refusal_(&t, j->cli->source);
	if (j->bad_unmapped) {
		vhdx_text_str(&t, "block ");
		vhdx_text_u64(&t, j->bad_at >> VHDX_BMAP_BLOCK_SHIFT);
		vhdx_text_str(&t, " (byte ");
		vhdx_text_u64(&t, j->bad_at);
		vhdx_text_str(&t, ") is not in the ranges of ");
		vhdx_text_str(&t, j->cli->bmap);
		vhdx_text_str(&t, " but does not read as zeros");
		return;
	}
	vhdx_text_str(&t, "range ");
	vhdx_text_u64(&t, j->bad_range.first);
	vhdx_text_str(&t, "-");
	vhdx_text_u64(&t, j->bad_range.last);
	vhdx_text_str(&t, " (bytes ");
	vhdx_text_u64(&t, j->bad_at);
	vhdx_text_str(&t, "-");
	vhdx_text_u64(&t, j->bad_end - 1);
	vhdx_text_str(&t, ") does not match ");
	vhdx_text_str(&t, j->cli->bmap);
	vhdx_text_str(&t, ": expected sha256 ");
	vhdx_sha256_hex(j->bad_range.sha256, hex);
	vhdx_text_str(&t, hex);
	vhdx_text_str(&t, ", found ");
	vhdx_sha256_hex(j->bad_sha256, hex);
	vhdx_text_str(&t, hex);
	vhdx_text_str(&t, j->bad_written ? " (a range longer than 1 MiB: written, then checked)" :
					   " (checked before it was written: not written)");
}
