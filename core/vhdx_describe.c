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

/* A size as the command line takes it: exact with a suffix, else bytes. */
static void cli_size(struct vhdx_text_ *t, uint64_t v)
{
	static const char suffix[] = "TGMK";
	unsigned i;

	for (i = 0; i < 4; i++) {
		unsigned shift = 40 - 10 * i;

		if (v && (v & (((uint64_t)1 << shift) - 1)) == 0) {
			char s[2] = { suffix[i], '\0' };

			vhdx_text_u64_(t, v >> shift);
			vhdx_text_str_(t, s);
			return;
		}
	}
	vhdx_text_u64_(t, v);
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
static void quoted(struct vhdx_text_ *t, const char *arg)
{
	const char *c;
	bool plain = *arg != '\0';

	for (c = arg; *c; c++)
		if (*c == ' ' || *c == '\t' || *c == '"' || *c == '\'')
			plain = false;
	if (plain) {
		vhdx_text_str_(t, arg);
		return;
	}
	vhdx_text_str_(t, "\"");
	vhdx_text_str_(t, arg);
	vhdx_text_str_(t, "\"");
}

size_t vhdx_plan_command_line(const struct vhdx_plan *plan, const char *target, const char *parent,
			      char *buf, size_t len)
{
	const struct vhdx_params *p = &plan->params;
	struct vhdx_text_ t;

	vhdx_text_init_(&t, buf, len);
	vhdx_text_str_(&t, "vhdx create -t ");
	vhdx_text_str_(&t, type_name(p->type));
	if (p->type != VHDX_TYPE_DIFFERENCING) {
		vhdx_text_str_(&t, " -s ");
		cli_size(&t, p->virtual_size);
	}
	vhdx_text_str_(&t, " -b ");
	cli_size(&t, p->block_size);
	if (p->type != VHDX_TYPE_DIFFERENCING) {
		vhdx_text_str_(&t, " --logical-sector-size ");
		vhdx_text_u64_(&t, p->logical_sector_size);
		vhdx_text_str_(&t, " --physical-sector-size ");
		vhdx_text_u64_(&t, p->physical_sector_size);
	}
	vhdx_text_str_(&t, " --log-size ");
	cli_size(&t, p->log_size);
	if (p->zero_blocks)
		vhdx_text_str_(&t, " --zero-blocks");
	if (p->leave_payload)
		vhdx_text_str_(&t, " --no-zero");
	if (!vhdx_str_eq_(p->creator, "vhdx " VHDX_VERSION)) {
		vhdx_text_str_(&t, " --creator ");
		quoted(&t, p->creator);
	}
	if (p->type == VHDX_TYPE_DIFFERENCING && parent) {
		vhdx_text_str_(&t, " --parent ");
		vhdx_text_str_(&t, parent);
	}
	vhdx_text_str_(&t, " ");
	vhdx_text_str_(&t, target);
	return t.pos;
}

static void emit_line(void (*line)(void *, const char *), void *ctx, struct vhdx_text_ *t)
{
	line(ctx, t->buf);
	vhdx_text_init_(t, t->buf, t->len);
}

static void region_line(struct vhdx_text_ *t, const char *name, uint64_t len, uint64_t off)
{
	vhdx_text_str_(t, name);
	vhdx_text_size_(t, len);
	vhdx_text_str_(t, " at ");
	vhdx_text_size_(t, off);
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
	struct vhdx_text_ t;

	vhdx_text_init_(&t, buf, sizeof(buf));
	vhdx_text_str_(&t, "plan for ");
	vhdx_text_str_(&t, target);
	if (!*target || target[vhdx_str_len_(target) - 1] != ':') /* "blk2:" needs no second colon */
		vhdx_text_str_(&t, ":");
	emit_line(line, ctx, &t);
	vhdx_text_str_(&t, "  type           ");
	vhdx_text_str_(&t, type_name(p->type));
	emit_line(line, ctx, &t);
	vhdx_text_str_(&t, "  virtual size   ");
	vhdx_text_size_(&t, p->virtual_size);
	vhdx_text_str_(&t, " (");
	vhdx_text_u64_(&t, p->virtual_size);
	vhdx_text_str_(&t, " bytes)");
	emit_line(line, ctx, &t);
	vhdx_text_str_(&t, "  block size     ");
	vhdx_text_size_(&t, p->block_size);
	vhdx_text_str_(&t, ", ");
	vhdx_text_u64_(&t, plan->payload_blocks);
	vhdx_text_str_(&t, " blocks, chunk ratio ");
	vhdx_text_u64_(&t, plan->chunk_ratio);
	emit_line(line, ctx, &t);
	vhdx_text_str_(&t, "  sectors        ");
	vhdx_text_u64_(&t, p->logical_sector_size);
	vhdx_text_str_(&t, " logical, ");
	vhdx_text_u64_(&t, p->physical_sector_size);
	vhdx_text_str_(&t, " physical");
	emit_line(line, ctx, &t);
	region_line(&t, "  log            ", plan->log_length, plan->log_offset);
	emit_line(line, ctx, &t);
	region_line(&t, "  metadata       ", plan->meta_length, plan->meta_offset);
	emit_line(line, ctx, &t);
	region_line(&t, "  BAT            ", plan->bat_length, plan->bat_offset);
	vhdx_text_str_(&t, " (");
	vhdx_text_u64_(&t, plan->bat_entries);
	vhdx_text_str_(&t, " entries, ");
	vhdx_text_str_(&t, p->type == VHDX_TYPE_FIXED ? "FULLY_PRESENT" :
			   p->zero_blocks ? "ZERO" : "NOT_PRESENT");
	vhdx_text_str_(&t, ")");
	emit_line(line, ctx, &t);
	if (p->type == VHDX_TYPE_FIXED) {
		region_line(&t, "  payload        ", plan->file_size - plan->data_offset, plan->data_offset);
		vhdx_text_str_(&t, p->leave_payload ? " (left as found)" : " (zeroed)");
	} else {
		vhdx_text_str_(&t, "  payload        none yet: blocks are allocated from ");
		vhdx_text_size_(&t, plan->data_offset);
		vhdx_text_str_(&t, " as they are written");
	}
	emit_line(line, ctx, &t);
	vhdx_text_str_(&t, "  image size     ");
	vhdx_text_size_(&t, plan->file_size);
	vhdx_text_str_(&t, " (");
	vhdx_text_u64_(&t, plan->file_size);
	vhdx_text_str_(&t, " bytes)");
	emit_line(line, ctx, &t);
	if (p->type == VHDX_TYPE_DIFFERENCING) {
		size_t i;

		for (i = 0; i < p->parent_locator_count; i++) {
			vhdx_text_str_(&t, i ? "                 " : "  parent locator ");
			vhdx_text_str_(&t, p->parent_locator[i].key);
			vhdx_text_str_(&t, " = ");
			vhdx_text_str_(&t, p->parent_locator[i].value);
			emit_line(line, ctx, &t);
		}
	}
	if ((p->virtual_size >> vhdx_log2_(p->logical_sector_size)) & 1) {
		vhdx_text_str_(&t, "  note           an odd number of logical sectors: valid, but 7-Zip (26.02) "
				   "refuses such images (its bug)");
		emit_line(line, ctx, &t);
	}
	vhdx_text_str_(&t, "  command        ");
	vhdx_plan_command_line(plan, target, parent, buf + t.pos, sizeof(buf) - t.pos);
	line(ctx, buf);
}
