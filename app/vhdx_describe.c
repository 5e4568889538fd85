/* SPDX-License-Identifier: MIT */
/*
 * vhdx_describe.c - the plan as text, for both frontends: what will be
 * written where, and the equivalent command line with every default
 * spelled out (so a plan can be replayed exactly).
 */
#include "vhdx_describe.h"
#include "vhdx_convert.h"
#include "vhdx_app_internal.h"

static const char *type_name(enum vhdx_type t)
{
	return t == VHDX_TYPE_FIXED ? "fixed" : t == VHDX_TYPE_DIFFERENCING ? "differencing" : "dynamic";
}

static bool vhdx_str_eq_(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* An argument as a shell (POSIX or UEFI) takes it: quoted when it holds a
 * space or is empty. */
static void quoted(struct vhdx_text *t, const char *arg)
{
	const char *c;
	bool plain = *arg != '\0';

	for (c = arg; *c; c++)
		if (*c == ' ' || *c == '\t' || *c == '"' || *c == '\'')
			plain = false;
	if (plain) {
		vhdx_text_str(t, arg);
		return;
	}
	vhdx_text_str(t, "\"");
	vhdx_text_str(t, arg);
	vhdx_text_str(t, "\"");
}

size_t vhdx_plan_command_line(const struct vhdx_plan *plan, const char *target, const char *parent,
			      char *buf, size_t len)
{
	const struct vhdx_params *p = &plan->params;
	struct vhdx_text t;

	vhdx_text_init(&t, buf, len);
	vhdx_text_str(&t, "vhdx create -t ");
	vhdx_text_str(&t, type_name(p->type));
	if (p->type != VHDX_TYPE_DIFFERENCING) {
		vhdx_text_str(&t, " -s ");
		vhdx_text_size_arg(&t, p->virtual_size);
	}
	vhdx_text_str(&t, " -b ");
	vhdx_text_size_arg(&t, p->block_size);
	if (p->type != VHDX_TYPE_DIFFERENCING) {
		vhdx_text_str(&t, " --logical-sector-size ");
		vhdx_text_u64(&t, p->logical_sector_size);
		vhdx_text_str(&t, " --physical-sector-size ");
		vhdx_text_u64(&t, p->physical_sector_size);
	}
	vhdx_text_str(&t, " --log-size ");
	vhdx_text_size_arg(&t, p->log_size);
	if (p->zero_blocks)
		vhdx_text_str(&t, " --zero-blocks");
	if (p->leave_payload)
		vhdx_text_str(&t, " --no-zero");
	if (!vhdx_str_eq_(p->creator, "vhdx " VHDX_VERSION)) {
		vhdx_text_str(&t, " --creator ");
		quoted(&t, p->creator);
	}
	if (p->type == VHDX_TYPE_DIFFERENCING && parent) {
		vhdx_text_str(&t, " --parent ");
		vhdx_text_str(&t, parent);
	}
	vhdx_text_str(&t, " ");
	vhdx_text_str(&t, target);
	return t.pos;
}

static void emit_line(void (*line)(void *, const char *), void *ctx, struct vhdx_text *t)
{
	line(ctx, t->buf);
	vhdx_text_init(t, t->buf, t->len);
}

static void region_line(struct vhdx_text *t, const char *name, uint64_t len, uint64_t off)
{
	vhdx_text_str(t, name);
	vhdx_text_size(t, len);
	vhdx_text_str(t, " at ");
	vhdx_text_size(t, off);
}

void vhdx_plan_print(const struct vhdx_plan *plan, const char *target,
		     void (*line)(void *ctx, const char *text), void *ctx)
{
	vhdx_plan_print_ex(plan, target, NULL, line, ctx);
}

void vhdx_plan_print_ex(const struct vhdx_plan *plan, const char *target, const char *parent,
			void (*line)(void *ctx, const char *text), void *ctx)
{
	const struct vhdx_params *p = &plan->params;
	char buf[VHDX_DESCRIBE_LINE_MAX];
	struct vhdx_text t;

	vhdx_text_init(&t, buf, sizeof(buf));
	vhdx_text_str(&t, "plan for ");
	vhdx_text_str(&t, target);
	if (!*target || target[vhdx_str_len_(target) - 1] != ':') /* "blk2:" needs no second colon */
		vhdx_text_str(&t, ":");
	emit_line(line, ctx, &t);
	vhdx_text_str(&t, "  type           ");
	vhdx_text_str(&t, type_name(p->type));
	emit_line(line, ctx, &t);
	vhdx_text_str(&t, "  virtual size   ");
	vhdx_text_size(&t, p->virtual_size);
	vhdx_text_str(&t, " (");
	vhdx_text_u64(&t, p->virtual_size);
	vhdx_text_str(&t, " bytes)");
	emit_line(line, ctx, &t);
	vhdx_text_str(&t, "  block size     ");
	vhdx_text_size(&t, p->block_size);
	vhdx_text_str(&t, ", ");
	vhdx_text_u64(&t, plan->geom.payload_blocks);
	vhdx_text_str(&t, " blocks, chunk ratio ");
	vhdx_text_u64(&t, plan->geom.chunk_ratio);
	emit_line(line, ctx, &t);
	vhdx_text_str(&t, "  sectors        ");
	vhdx_text_u64(&t, p->logical_sector_size);
	vhdx_text_str(&t, " logical, ");
	vhdx_text_u64(&t, p->physical_sector_size);
	vhdx_text_str(&t, " physical");
	emit_line(line, ctx, &t);
	region_line(&t, "  log            ", plan->log_length, plan->log_offset);
	emit_line(line, ctx, &t);
	region_line(&t, "  metadata       ", plan->meta_length, plan->meta_offset);
	emit_line(line, ctx, &t);
	region_line(&t, "  BAT            ", plan->bat_length, plan->bat_offset);
	vhdx_text_str(&t, " (");
	vhdx_text_u64(&t, plan->geom.bat_entries);
	vhdx_text_str(&t, " entries, ");
	vhdx_text_str(&t, p->type == VHDX_TYPE_FIXED ? "FULLY_PRESENT" :
			   p->zero_blocks ? "ZERO" : "NOT_PRESENT");
	vhdx_text_str(&t, ")");
	emit_line(line, ctx, &t);
	if (p->type == VHDX_TYPE_FIXED) {
		region_line(&t, "  payload        ", plan->file_size - plan->data_offset, plan->data_offset);
		vhdx_text_str(&t, p->leave_payload ? " (left as found)" : " (zeroed)");
	} else {
		vhdx_text_str(&t, "  payload        none yet: blocks are allocated from ");
		vhdx_text_size(&t, plan->data_offset);
		vhdx_text_str(&t, " as they are written");
	}
	emit_line(line, ctx, &t);
	vhdx_text_str(&t, "  image size     ");
	vhdx_text_size(&t, plan->file_size);
	vhdx_text_str(&t, " (");
	vhdx_text_u64(&t, plan->file_size);
	vhdx_text_str(&t, " bytes)");
	emit_line(line, ctx, &t);
	if (p->type == VHDX_TYPE_DIFFERENCING) {
		size_t i;

		for (i = 0; i < p->parent_locator_count; i++) {
			vhdx_text_str(&t, i ? "                 " : "  parent locator ");
			vhdx_text_str(&t, p->parent_locator[i].key);
			vhdx_text_str(&t, " = ");
			vhdx_text_str(&t, p->parent_locator[i].value);
			emit_line(line, ctx, &t);
		}
	}
	if ((p->virtual_size >> vhdx_log2_(p->logical_sector_size)) & 1) {
		vhdx_text_str(&t, "  note           an odd number of logical sectors: valid, but 7-Zip (26.02) "
				   "refuses such images (its bug)");
		emit_line(line, ctx, &t);
	}
	vhdx_text_str(&t, "  command        ");
	vhdx_plan_command_line(plan, target, parent, buf + t.pos, sizeof(buf) - t.pos);
	line(ctx, buf);
}

/* ---- convert's plan ---- */

/* "8 MiB (8388608 bytes)"; "513 bytes" once */
static void size_pair_line(struct vhdx_text *t, uint64_t bytes)
{
	char unit[32];
	size_t n = vhdx_size_to_text(bytes, unit, sizeof(unit));

	vhdx_text_str(t, unit);
	if (n > 6 && vhdx_str_eq_(unit + n - 6, " bytes"))
		return;
	vhdx_text_str(t, " (");
	vhdx_text_u64(t, bytes);
	vhdx_text_str(t, " bytes)");
}

static bool ends_in_colon(const char *s)
{
	return *s && s[vhdx_str_len_(s) - 1] == ':';
}

static void convert_source_line(const struct vhdx_convert *j, struct vhdx_text *t)
{
	const struct vhdx_reader *r = j->source;
	char sum[120];

	vhdx_text_str(t, "  source         ");
	vhdx_text_str(t, j->cli->source);
	vhdx_text_str(t, ends_in_colon(j->cli->source) ? " " : ": "); /* blk2: is a mapping */
	if (!r->chain) {
		vhdx_text_str(t, j->source_sector ? "raw block device, " : "raw file, ");
		vhdx_text_size(t, j->size);
		return;
	}
	vhdx_disk_summary(&r->chain->levels[0].disk, sum, sizeof(sum));
	vhdx_text_str(t, sum);
	if (r->chain->depth > 1) {
		vhdx_text_str(t, ", a chain of ");
		vhdx_text_u64(t, r->chain->depth);
	}
	if (r->chain->levels[0].through_log)
		vhdx_text_str(t, ", its log read through the overlay (replay pending; not written)");
}

static void convert_vhdx_lines(const struct vhdx_convert *j, void (*line)(void *, const char *), void *ctx,
			       struct vhdx_text *t)
{
	const struct vhdx_plan *pl = &j->plan;
	bool fixed = pl->params.type == VHDX_TYPE_FIXED;

	region_line(t, "  BAT            ", pl->bat_length, pl->bat_offset);
	vhdx_text_str(t, " (");
	vhdx_text_u64(t, pl->geom.bat_entries);
	vhdx_text_str(t, fixed ? " entries, FULLY_PRESENT)" :
				 " entries: ZERO for a block that reads as zeros, FULLY_PRESENT for the others)");
	emit_line(line, ctx, t);
	if (fixed) {
		region_line(t, "  payload        ", pl->geom.payload_blocks << pl->geom.block_shift, pl->data_offset);
		vhdx_text_str(t, ": every block stored, zeros written where the source reads as zeros");
	} else {
		vhdx_text_str(t, "  payload        at most ");
		vhdx_text_u64(t, j->max_blocks);
		vhdx_text_str(t, " of ");
		vhdx_text_u64(t, pl->geom.payload_blocks);
		vhdx_text_str(t, " blocks stored, from ");
		vhdx_text_size(t, pl->data_offset);
		vhdx_text_str(t, " in virtual order (blocks with data in the source; all-zero blocks take no space)");
	}
	emit_line(line, ctx, t);
	vhdx_text_str(t, "  image size     ");
	if (!fixed) {
		vhdx_text_str(t, "at least ");
		size_pair_line(t, pl->file_size);
		vhdx_text_str(t, ", at most ");
	}
	size_pair_line(t, j->bound);
	emit_line(line, ctx, t);
	if (j->may_not_fit) {
		vhdx_text_str(t, "  warning        may not fit: at most is ");
		vhdx_text_str(t, j->may_not_fit);
		vhdx_text_str(t, j->target.kind == VHDX_CONVERT_DEVICE ? "; if it does not, no VHDX signature is left" :
					       "; if it does not, the file is removed");
		emit_line(line, ctx, t);
	}
}

/* --bmap: the manifest, what is checked when, --resume. */
static void convert_bmap_lines(const struct vhdx_convert *j, void (*line)(void *, const char *), void *ctx,
			       struct vhdx_text *t)
{
	const struct vhdx_bmap_info *b = &j->bmap.info;
	char hex[VHDX_SHA256_HEX + 1];

	vhdx_text_str(t, "  bmap           ");
	vhdx_text_str(t, j->cli->bmap);
	vhdx_text_str(t, ": ");
	vhdx_text_u64(t, b->ranges);
	vhdx_text_str(t, b->ranges == 1 ? " range, " : " ranges, ");
	size_pair_line(t, b->mapped_blocks << VHDX_BMAP_BLOCK_SHIFT);
	vhdx_text_str(t, " mapped; its checksum matches");
	if (j->cli->bmap_sha256)
		vhdx_text_str(t, ", and its SHA-256 the --bmap-sha256 given");
	emit_line(line, ctx, t);
	vhdx_text_str(t, "  bmap sha256    ");
	vhdx_sha256_hex(j->bmap_sha256, hex);
	vhdx_text_str(t, hex);
	emit_line(line, ctx, t);
	vhdx_text_str(t, "  checks         ");
	if (!j->bmap_long_ranges) {
		vhdx_text_str(t, "every range read, hashed and compared before it is written");
	} else {
		vhdx_text_u64(t, b->ranges - j->bmap_long_ranges);
		vhdx_text_str(t, " ranges checked before they are written; ");
		vhdx_text_u64(t, j->bmap_long_ranges);
		vhdx_text_str(t, " longer than 1 MiB hashed while written and compared at their end, as bmaptool does");
	}
	vhdx_text_str(t, "; unmapped ranges must read as zeros in the source; a mismatch stops the deploy with the "
			 "first MiB zero");
	emit_line(line, ctx, t);
	if (j->cli->resume) {
		vhdx_text_str(t, "  resume         ranges whose bytes on the target already hash right are kept; "
				 "unmapped ranges zeroed where the target is not zero");
		emit_line(line, ctx, t);
	}
}

static void convert_command_line(const struct vhdx_convert *j, struct vhdx_text *t)
{
	const struct vhdx_cli *cli = j->cli;
	const struct vhdx_params *p = &j->plan.params;

	vhdx_text_str(t, "  command        vhdx convert -O ");
	if (j->output == VHDX_CONVERT_TO_VHDX) {
		vhdx_text_str(t, "vhdx -t ");
		vhdx_text_str(t, type_name(p->type));
		vhdx_text_str(t, " -b ");
		vhdx_text_size_arg(t, p->block_size);
		vhdx_text_str(t, " --logical-sector-size ");
		vhdx_text_u64(t, p->logical_sector_size);
		vhdx_text_str(t, " --physical-sector-size ");
		vhdx_text_u64(t, p->physical_sector_size);
		vhdx_text_str(t, " --log-size ");
		vhdx_text_size_arg(t, p->log_size);
		if (!vhdx_str_eq_(p->creator, "vhdx " VHDX_VERSION)) {
			vhdx_text_str(t, " --creator ");
			quoted(t, p->creator);
		}
	} else {
		vhdx_text_str(t, "raw");
		if (cli->sparse)
			vhdx_text_str(t, " --sparse");
		if (cli->allow_sector_mismatch)
			vhdx_text_str(t, " --allow-sector-mismatch");
		if (cli->bmap) {
			vhdx_text_str(t, " --bmap ");
			quoted(t, cli->bmap);
		}
		if (cli->bmap_sha256) {
			vhdx_text_str(t, " --bmap-sha256 ");
			vhdx_text_str(t, cli->bmap_sha256);
		}
		if (cli->resume)
			vhdx_text_str(t, " --resume");
	}
	if (cli->source_format == VHDX_FORMAT_RAW)
		vhdx_text_str(t, " --source-format raw");
	if (cli->force)
		vhdx_text_str(t, " -f");
	vhdx_text_str(t, " ");
	quoted(t, cli->source);
	vhdx_text_str(t, " ");
	quoted(t, cli->target);
}

void vhdx_convert_describe(const struct vhdx_convert *j, const char *const *platform, size_t platform_count,
			   void (*line)(void *ctx, const char *text), void *ctx)
{
	const struct vhdx_params *p = &j->plan.params;
	bool to_vhdx = j->output == VHDX_CONVERT_TO_VHDX;
	char buf[VHDX_DESCRIBE_LINE_MAX];
	struct vhdx_text t;
	size_t i;

	vhdx_text_init(&t, buf, sizeof(buf));
	vhdx_text_str(&t, "plan for ");
	vhdx_text_str(&t, j->cli->target);
	if (!ends_in_colon(j->cli->target))
		vhdx_text_str(&t, ":");
	emit_line(line, ctx, &t);
	convert_source_line(j, &t);
	emit_line(line, ctx, &t);
	vhdx_text_str(&t, "  data           ");
	size_pair_line(&t, j->data_bytes);
	vhdx_text_str(&t, " stored in the source; the rest reads as zeros");
	emit_line(line, ctx, &t);
	if (to_vhdx) {
		vhdx_text_str(&t, "  output         VHDX, ");
		vhdx_text_str(&t, p->type == VHDX_TYPE_FIXED ? "fixed" : "dynamic (blocks that read as zeros not stored)");
		vhdx_text_str(&t, ", ");
		vhdx_text_size(&t, p->block_size);
		vhdx_text_str(&t, " blocks, ");
		vhdx_text_u64(&t, p->logical_sector_size);
		vhdx_text_str(&t, "/");
		vhdx_text_u64(&t, p->physical_sector_size);
		vhdx_text_str(&t, " sectors, ");
		vhdx_text_size(&t, p->log_size);
		vhdx_text_str(&t, " log; virtual size ");
		size_pair_line(&t, p->virtual_size);
	} else {
		vhdx_text_str(&t, "  output         raw disk, ");
		size_pair_line(&t, j->size);
	}
	emit_line(line, ctx, &t);
	if (j->mismatch[0]) {
		vhdx_text_str(&t, "  note           ");
		vhdx_text_str(&t, j->mismatch);
		vhdx_text_str(&t, "; written anyway (--allow-sector-mismatch)");
		emit_line(line, ctx, &t);
	}
	if (to_vhdx && j->sector_from_device) {
		vhdx_text_str(&t, "  note           logical sector 4096: the source device has 4096-byte blocks "
				  "(--logical-sector-size 512 to change)");
		emit_line(line, ctx, &t);
	}
	if (to_vhdx && j->padded) {
		vhdx_text_str(&t, "  note           the source's ");
		vhdx_text_u64(&t, j->size);
		vhdx_text_str(&t, " bytes are padded with zeros to whole ");
		vhdx_text_u64(&t, p->logical_sector_size);
		vhdx_text_str(&t, "-byte sectors");
		emit_line(line, ctx, &t);
	}
	if (to_vhdx && (p->virtual_size >> vhdx_log2_(p->logical_sector_size)) & 1) {
		vhdx_text_str(&t, "  note           an odd number of logical sectors: valid, but 7-Zip (26.02) "
				  "refuses such images (its bug)");
		emit_line(line, ctx, &t);
	}
	if (to_vhdx) {
		convert_vhdx_lines(j, line, ctx, &t);
	} else {
		vhdx_text_str(&t, j->cli->sparse ? "  zeros          --sparse: zero ranges are skipped; the target must read "
						   "as zeros there" :
			       j->target.kind == VHDX_CONVERT_NEW_FILE ? "  zeros          a new file: zero ranges are "
									 "left as holes" :
			       "  zeros          zero ranges are written as zeros: the disk reads exactly as the source");
		emit_line(line, ctx, &t);
	}
	if (j->with_bmap)
		convert_bmap_lines(j, line, ctx, &t);
	for (i = 0; i < platform_count; i++)
		line(ctx, platform[i]);
	vhdx_text_str(&t, to_vhdx ? "  order          payload and BAT first, the VHDX signature last" :
				    "  order          first MiB zeroed first and written last");
	emit_line(line, ctx, &t);
	convert_command_line(j, &t);
	emit_line(line, ctx, &t);
}
