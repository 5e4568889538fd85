/* SPDX-License-Identifier: MIT */
/*
 * vhdx_check_report.c - the checker's findings: the "where" and "found"
 * texts, listing a few findings of each rule and counting the rest, and
 * withholding those that would describe an image before its log is
 * replayed.  The bottom of the checker's layers (vhdx_check_internal.h).
 */
#include "vhdx_check_internal.h"

void rd_where_(struct rd_ctx *c, const char *a, uint64_t n, const char *b)
{
	struct vhdx_text t;

	vhdx_text_init(&t, c->where, sizeof(c->where));
	vhdx_text_str(&t, a);
	if (n != UINT64_MAX)
		vhdx_text_u64(&t, n);
	vhdx_text_str(&t, b);
}

/* The finding's value text, opened empty (reset) or for appending. */
static struct vhdx_text found_text(struct rd_ctx *c, bool reset)
{
	struct vhdx_text t;
	size_t keep = reset ? 0 : vhdx_str_len_(c->found);

	t.buf = c->found;
	t.len = sizeof(c->found);
	t.pos = keep;
	c->found[keep] = '\0';
	return t;
}

static void found_append(struct rd_ctx *c, const char *prefix, uint64_t v, bool hex, bool reset)
{
	struct vhdx_text t = found_text(c, reset);

	vhdx_text_str(&t, prefix);
	if (hex)
		vhdx_text_hex(&t, v);
	else
		vhdx_text_u64(&t, v);
}

void rd_found_(struct rd_ctx *c, const char *prefix, uint64_t v, bool hex)
{
	found_append(c, prefix, v, hex, true);
}

void rd_found_more_(struct rd_ctx *c, const char *prefix, uint64_t v, bool hex)
{
	found_append(c, prefix, v, hex, false);
}

void rd_found_str_(struct rd_ctx *c, const char *s, bool reset)
{
	struct vhdx_text t = found_text(c, reset);

	vhdx_text_str(&t, s);
}

void rd_found_sig_(struct rd_ctx *c, const uint8_t *sig, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char text[8 * 4 + 3];
	size_t i, k = 0;

	text[k++] = '"';
	for (i = 0; i < n && i < 8; i++) {
		if (sig[i] >= 0x20 && sig[i] < 0x7F && sig[i] != '"' && sig[i] != '\\') {
			text[k++] = (char)sig[i];
		} else {
			text[k++] = '\\';
			text[k++] = 'x';
			text[k++] = hex[sig[i] >> 4];
			text[k++] = hex[sig[i] & 15];
		}
	}
	text[k++] = '"';
	text[k] = '\0';
	rd_found_str_(c, text, true);
}

/* Passes one finding with c->where and c->found to the callback. */
static void emit(struct rd_ctx *c, enum vhdx_rule rule, enum vhdx_severity severity, uint64_t off)
{
	struct vhdx_finding f;

	if (!c->fn)
		return;
	f.rule = rule;
	f.severity = severity;
	f.offset = off;
	f.where = c->where;
	f.found = c->found;
	c->fn(c->fn_ctx, &f);
}

void rd_report_(struct rd_ctx *c, enum vhdx_rule rule, uint64_t off)
{
	enum vhdx_severity severity = vhdx_rule_severity(rule);

	if (c->withhold) {
		c->withheld++;
		if (severity == VHDX_SEV_ERROR)
			c->withheld_errors++;
		return;
	}
	if (severity == VHDX_SEV_ERROR)
		c->info->errors++;
	else
		c->info->warnings++;
	/* a damaged table can break one rule thousands of times: list a few */
	if (c->listed[rule] >= RD_RULE_FINDINGS_MAX) {
		c->suppressed++;
		if (severity == VHDX_SEV_ERROR)
			c->suppressed_errors++;
		return;
	}
	c->listed[rule]++;
	emit(c, rule, severity, off);
}

void rd_withhold_(struct rd_ctx *c, bool on)
{
	struct vhdx_info *info = c->info;

	c->withhold = on;
	if (on || !c->withheld)
		return;
	info->findings_withheld = c->withheld;
	rd_where_(c, "BAT", UINT64_MAX, "");
	rd_found_(c, "", c->withheld, false);
	rd_found_str_(c, c->withheld == 1 ? " finding (" : " findings (", false);
	rd_found_more_(c, "", c->withheld_errors, false);
	rd_found_str_(c, c->withheld_errors == 1 ? " error) withheld" : " errors) withheld", false);
	rd_report_(c, VHDX_R_LOG_WITHHELD, info->bat_offset);
}

/* One closing finding for what was counted but not listed (not counted itself). */
void rd_report_suppressed_(struct rd_ctx *c)
{
	if (!c->suppressed)
		return;
	rd_where_(c, "image", UINT64_MAX, "");
	rd_found_(c, "", c->suppressed, false);
	rd_found_str_(c, " more findings (", false);
	rd_found_more_(c, "", c->suppressed_errors, false);
	rd_found_str_(c, " errors)", false);
	emit(c, VHDX_R_SUPPRESSED, c->suppressed_errors ? VHDX_SEV_ERROR : VHDX_SEV_WARNING, 0);
}
