/* SPDX-License-Identifier: MIT */
/*
 * vhdx_chain_print.c - a chain and a check as text, for both frontends:
 * the chain's lines and JSON member in `info`, a disk's summary, the
 * closing line of `check`.
 */
#include "vhdx_app_internal.h"

/* In enum order; an array, not a switch of literals (no pointer table). */
static const char verdict_names[7][16] = {
	"complete", "parent absent", "parent mismatch", "cycle", "too deep", "bad locator", "?",
};

const char *vhdx_chain_verdict_name(enum vhdx_chain_verdict v)
{
	return verdict_names[(unsigned)v <= VHDX_CHAIN_BAD_LOCATOR ? (unsigned)v : 6u];
}

size_t vhdx_disk_summary(const struct vhdx_disk *d, char *buf, size_t len)
{
	struct vhdx_text t;

	vhdx_text_init(&t, buf, len);
	vhdx_text_str(&t, "VHDX (");
	vhdx_text_str(&t, vhdx_type_name(d->type));
	vhdx_text_str(&t, ", ");
	vhdx_text_size(&t, d->geom.virtual_size);
	vhdx_text_str(&t, ")");
	return t.pos;
}

/* [byte] a chain line: a level's name in full, JSON-escaped ('\' doubled) */
#define CHAIN_LINE_SIZE (2u * VHDX_NAME_SIZE + 256u)
#define HELD_LINE_SIZE 1280u /* [byte] one of vhdx_info_print's lines (1200) */

void vhdx_chain_print(const struct vhdx_chain *chain, bool json, bool last, vhdx_line_fn line,
		      void *ctx)
{
	char buf[CHAIN_LINE_SIZE], sum[96], g[VHDX_GUID_TEXT_SIZE];
	struct vhdx_text t;
	unsigned k;

	if (!chain || !line || !chain->depth || chain->levels[0].disk.type != VHDX_TYPE_DIFFERENCING)
		return;
	if (!json) {
		line(ctx, "parent chain:");
		for (k = 1; k < chain->depth; k++) {
			const struct vhdx_chain_level *lv = &chain->levels[k];

			vhdx_text_init(&t, buf, sizeof(buf));
			vhdx_text_str(&t, "  ");
			vhdx_text_u64(&t, k);
			vhdx_text_str(&t, ": ");
			vhdx_text_str(&t, lv->name);
			vhdx_text_str(&t, " (");
			vhdx_text_str(&t, lv->key);
			vhdx_text_str(&t, "): ");
			vhdx_disk_summary(&lv->disk, sum, sizeof(sum));
			vhdx_text_str(&t, sum);
			vhdx_text_str(&t, ", DataWriteGuid matches parent_linkage");
			line(ctx, buf);
		}
		if (chain->verdict != VHDX_CHAIN_COMPLETE) {
			vhdx_text_init(&t, buf, sizeof(buf));
			vhdx_text_str(&t, "  ");
			vhdx_text_u64(&t, chain->depth);
			vhdx_text_str(&t, ": ");
			vhdx_text_str(&t, chain->verdict == VHDX_CHAIN_ABSENT ? "not found" : "refused");
			vhdx_text_str(&t, " (");
			vhdx_text_str(&t, chain->why);
			vhdx_text_str(&t, ")");
			line(ctx, buf);
		}
		return;
	}
	line(ctx, "  \"parent_chain\": {");
	vhdx_text_init(&t, buf, sizeof(buf));
	vhdx_text_str(&t, "    \"verdict\": ");
	vhdx_text_json_(&t, vhdx_chain_verdict_name(chain->verdict));
	vhdx_text_str(&t, ",");
	line(ctx, buf);
	vhdx_text_init(&t, buf, sizeof(buf));
	vhdx_text_str(&t, "    \"why\": ");
	vhdx_text_json_(&t, chain->verdict == VHDX_CHAIN_COMPLETE ? "" : chain->why);
	vhdx_text_str(&t, ",");
	line(ctx, buf);
	line(ctx, "    \"parents\": [");
	for (k = 1; k < chain->depth; k++) {
		const struct vhdx_chain_level *lv = &chain->levels[k];

		vhdx_text_init(&t, buf, sizeof(buf));
		vhdx_text_str(&t, "      {\"level\": ");
		vhdx_text_u64(&t, k);
		vhdx_text_str(&t, ", \"path\": ");
		vhdx_text_json_(&t, lv->name);
		vhdx_text_str(&t, ", \"key\": ");
		vhdx_text_json_(&t, lv->key);
		vhdx_text_str(&t, ", \"type\": ");
		vhdx_text_json_(&t, vhdx_type_name(lv->disk.type));
		vhdx_text_str(&t, ", \"virtual_size\": ");
		vhdx_text_u64(&t, lv->disk.geom.virtual_size);
		vhdx_text_str(&t, ", \"data_write_guid\": ");
		vhdx_guid_to_text(&lv->disk.data_write_guid, g, false);
		vhdx_text_json_(&t, g);
		vhdx_text_str(&t, k + 1 < chain->depth ? "}," : "}");
		line(ctx, buf);
	}
	line(ctx, "    ]");
	line(ctx, last ? "  }" : "  },");
}

/*
 * info's JSON object with the chain as its last member: the object's
 * closing line (a lone "}") is held back, the member before it gets its
 * comma, and the chain's member goes between them.
 */
struct json_splice {
	const struct vhdx_chain *chain;
	vhdx_line_fn line;
	void *ctx;
	char held[HELD_LINE_SIZE];
	bool holding;
};

static void splice_line(void *ctx, const char *text)
{
	struct json_splice *js = ctx;
	struct vhdx_text t;

	if (text[0] == '}' && !text[1] && js->holding) {
		t.buf = js->held; /* append to the held line */
		t.len = sizeof(js->held);
		t.pos = vhdx_str_len_(js->held);
		vhdx_text_str(&t, ",");
		js->line(js->ctx, js->held);
		vhdx_chain_print(js->chain, true, true, js->line, js->ctx);
		js->line(js->ctx, text);
		js->holding = false;
		return;
	}
	if (js->holding)
		js->line(js->ctx, js->held);
	vhdx_text_init(&t, js->held, sizeof(js->held));
	vhdx_text_str(&t, text);
	js->holding = true;
}

void vhdx_info_print_chain(const struct vhdx_info *info, const struct vhdx_chain *chain, bool json,
			   vhdx_line_fn line, void *ctx)
{
	struct json_splice js;

	if (!chain || !chain->depth || chain->levels[0].disk.type != VHDX_TYPE_DIFFERENCING) {
		vhdx_info_print(info, json, line, ctx);
		return;
	}
	if (!json) {
		vhdx_info_print(info, false, line, ctx);
		vhdx_chain_print(chain, false, true, line, ctx);
		return;
	}
	js.chain = chain;
	js.line = line;
	js.ctx = ctx;
	js.holding = false;
	vhdx_info_print(info, true, splice_line, &js);
	if (js.holding)
		line(ctx, js.held);
}

size_t vhdx_check_line(const char *name, const struct vhdx_info *info, char *buf, size_t len)
{
	char sum[128];
	struct vhdx_text t;

	vhdx_info_summary(info, sum, sizeof(sum));
	vhdx_text_init(&t, buf, len);
	vhdx_text_str(&t, name);
	/* "blk2: VHDX ...", not "blk2:: VHDX ..." */
	vhdx_text_str(&t, t.pos && buf[t.pos - 1] == ':' ? " " : ": ");
	vhdx_text_str(&t, sum);
	vhdx_text_str(&t, ": ");
	vhdx_text_u64(&t, info->errors);
	vhdx_text_str(&t, info->errors == 1 ? " error, " : " errors, ");
	vhdx_text_u64(&t, info->warnings);
	vhdx_text_str(&t, info->warnings == 1 ? " warning" : " warnings");
	return t.pos;
}
