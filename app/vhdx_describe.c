/* SPDX-License-Identifier: MIT */
/*
 * vhdx_describe.c - the plan as text, for both frontends: what will be
 * written where, and the equivalent command line with every default
 * spelled out (so a plan can be replayed exactly).
 */
#include "vhdx_describe.h"
#include "vhdx_internal.h"

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
