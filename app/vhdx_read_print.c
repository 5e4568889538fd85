/* SPDX-License-Identifier: MIT */
/*
 * vhdx_read_print.c - text of a struct vhdx_info (human lines or JSON with
 * stable keys) and of a finding, shared by the host tool and the UEFI app.
 * Lines are built in a bounded stack buffer and handed to a callback.
 */
#include "vhdx_app_internal.h"

#define LINE_SIZE 1200

struct pr {
	vhdx_line_fn fn;
	void *ctx;
	char buf[LINE_SIZE];
	struct vhdx_text t;
};

static void begin(struct pr *p, const char *s)
{
	vhdx_text_init(&p->t, p->buf, sizeof(p->buf));
	vhdx_text_str(&p->t, s);
}

static void s_(struct pr *p, const char *s)
{
	vhdx_text_str(&p->t, s);
}

static void u_(struct pr *p, uint64_t v)
{
	vhdx_text_u64(&p->t, v);
}

static void x_(struct pr *p, uint64_t v)
{
	vhdx_text_hex(&p->t, v);
}

static void end(struct pr *p)
{
	p->fn(p->ctx, p->buf);
}

static void guid_(struct pr *p, const struct vhdx_guid *g)
{
	char b[VHDX_GUID_TEXT_SIZE];

	vhdx_guid_to_text(g, b, false);
	s_(p, b);
}

void vhdx_text_json_(struct vhdx_text *t, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	vhdx_text_str(t, "\"");
	for (; *s; s++) {
		char e[7];
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			e[0] = '\\';
			e[1] = (char)ch;
			e[2] = '\0';
		} else if (ch < 0x20) {
			e[0] = '\\';
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hex[ch >> 4];
			e[5] = hex[ch & 15];
			e[6] = '\0';
		} else {
			e[0] = (char)ch;
			e[1] = '\0';
		}
		/* cut whole escapes only, and keep room for the closing quote */
		if (t->pos + vhdx_str_len_(e) + 2 >= t->len)
			break;
		vhdx_text_str(t, e);
	}
	vhdx_text_str(t, "\"");
}

/* JSON string: quotes, backslash and control characters escaped. */
static void jstr(struct pr *p, const char *s)
{
	vhdx_text_json_(&p->t, s);
}

static void jkey(struct pr *p, const char *indent, const char *key)
{
	begin(p, indent);
	s_(p, "\"");
	s_(p, key);
	s_(p, "\": ");
}

static void jnum(struct pr *p, const char *indent, const char *key, uint64_t v, bool comma)
{
	jkey(p, indent, key);
	u_(p, v);
	if (comma)
		s_(p, ",");
	end(p);
}

static void jtext(struct pr *p, const char *indent, const char *key, const char *v, bool comma)
{
	jkey(p, indent, key);
	jstr(p, v);
	if (comma)
		s_(p, ",");
	end(p);
}

static void jguid(struct pr *p, const char *indent, const char *key, const struct vhdx_guid *g,
		  bool comma)
{
	char b[VHDX_GUID_TEXT_SIZE];

	vhdx_guid_to_text(g, b, false);
	jtext(p, indent, key, b, comma);
}

static void jbool(struct pr *p, const char *indent, const char *key, bool v, bool comma)
{
	jkey(p, indent, key);
	s_(p, v ? "true" : "false");
	if (comma)
		s_(p, ",");
	end(p);
}

/* Names in arrays, not a switch of literals: clang turns such a switch into
 * a table of pointers (.data.rel.ro under -fPIE), which a core in ROM cannot
 * have patched (tests/freestanding.sh). */
static const char type_names[4][16] = { "dynamic", "fixed", "differencing", "unknown" };

const char *vhdx_type_name(enum vhdx_type type)
{
	return type_names[(unsigned)type < 3u ? (unsigned)type : 3u];
}

static const char state_names[8][20] = {
	"not_present", "undefined", "zero", "unmapped", "reserved4", "reserved5",
	"fully_present", "partially_present",
};

static const char *kv_text(const struct vhdx_info *info, uint16_t idx)
{
	return idx == VHDX_INFO_NO_TEXT ? "" : info->text + idx;
}

static unsigned locator_kept(const struct vhdx_info *info)
{
	return info->locator_count < VHDX_INFO_MAX_LOCATOR ? info->locator_count :
							     VHDX_INFO_MAX_LOCATOR;
}

static void print_json(struct pr *p, const struct vhdx_info *info)
{
	unsigned i, n;

	begin(p, "{");
	end(p);
	jbool(p, "  ", "is_vhdx", info->is_vhdx, true);
	if (info->is_vhdx) {
		jtext(p, "  ", "type", info->geometry_ok ? vhdx_type_name(info->type) : "unknown", true);
		jnum(p, "  ", "virtual_size", info->virtual_size, true);
		jnum(p, "  ", "block_size", info->block_size, true);
		jnum(p, "  ", "logical_sector_size", info->logical_sector_size, true);
		jnum(p, "  ", "physical_sector_size", info->physical_sector_size, true);
		jtext(p, "  ", "creator", info->creator, true);
		if (info->has_page83)
			jguid(p, "  ", "virtual_disk_id", &info->page83, true);
		jkey(p, "  ", "current_header");
		if (info->current_header >= 0)
			u_(p, (uint64_t)info->current_header + 1);
		else
			s_(p, "null");
		s_(p, ",");
		end(p);
		begin(p, "  \"headers\": [");
		end(p);
		for (i = 0; i < 2; i++) {
			const struct vhdx_info_header *h = &info->header[i];

			begin(p, "    {");
			end(p);
			jbool(p, "      ", "valid", h->checksum_ok, true);
			jnum(p, "      ", "sequence", h->sequence, true);
			jnum(p, "      ", "checksum", h->checksum, true);
			jguid(p, "      ", "file_write_guid", &h->file_write_guid, true);
			jguid(p, "      ", "data_write_guid", &h->data_write_guid, true);
			jguid(p, "      ", "log_guid", &h->log_guid, true);
			jnum(p, "      ", "version", h->version, true);
			jnum(p, "      ", "log_version", h->log_version, true);
			jnum(p, "      ", "log_offset", h->log_offset, true);
			jnum(p, "      ", "log_length", h->log_length, false);
			begin(p, i ? "    }" : "    },");
			end(p);
		}
		begin(p, "  ],");
		end(p);
		jbool(p, "  ", "log_replay_needed", info->log_replay_needed, true);
		begin(p, "  \"region_tables_valid\": [");
		s_(p, info->region_table_ok[0] ? "true, " : "false, ");
		s_(p, info->region_table_ok[1] ? "true]," : "false],");
		end(p);
		jkey(p, "  ", "region_table_used");
		if (info->region_table_used >= 0)
			u_(p, (uint64_t)info->region_table_used + 1);
		else
			s_(p, "null");
		s_(p, ",");
		end(p);
		begin(p, "  \"regions\": [");
		end(p);
		n = info->region_count < VHDX_INFO_MAX_REGIONS ? info->region_count : VHDX_INFO_MAX_REGIONS;
		for (i = 0; i < n; i++) {
			const struct vhdx_info_region *r = &info->regions[i];
			const char *name = vhdx_region_name(&r->guid);

			begin(p, "    {\"guid\": \"");
			guid_(p, &r->guid);
			s_(p, "\", \"name\": ");
			jstr(p, name ? name : "");
			s_(p, ", \"offset\": ");
			u_(p, r->offset);
			s_(p, ", \"length\": ");
			u_(p, r->length);
			s_(p, ", \"required\": ");
			u_(p, r->required);
			s_(p, i + 1 < n ? "}," : "}");
			end(p);
		}
		begin(p, "  ],");
		end(p);
		begin(p, "  \"metadata\": [");
		end(p);
		n = info->meta_count < VHDX_INFO_MAX_ITEMS ? info->meta_count : VHDX_INFO_MAX_ITEMS;
		for (i = 0; i < n; i++) {
			const struct vhdx_info_item *it = &info->items[i];
			const char *name = vhdx_item_name(&it->id);

			begin(p, "    {\"guid\": \"");
			guid_(p, &it->id);
			s_(p, "\", \"name\": ");
			jstr(p, name ? name : "");
			s_(p, ", \"offset\": ");
			u_(p, it->offset);
			s_(p, ", \"length\": ");
			u_(p, it->length);
			s_(p, ", \"flags\": ");
			u_(p, it->flags);
			s_(p, i + 1 < n ? "}," : "}");
			end(p);
		}
		begin(p, "  ],");
		end(p);
		begin(p, "  \"parent_locator\": [");
		end(p);
		n = locator_kept(info);
		for (i = 0; i < n; i++) {
			const struct vhdx_info_kv *kv = &info->locator[i];

			begin(p, "    {\"key\": ");
			jstr(p, kv_text(info, kv->key_text));
			s_(p, ", \"value\": ");
			jstr(p, kv_text(info, kv->value_text));
			s_(p, i + 1 < n ? "}," : "}");
			end(p);
		}
		begin(p, "  ],");
		end(p);
		jnum(p, "  ", "chunk_ratio", info->geom.chunk_ratio, true);
		jnum(p, "  ", "payload_blocks", info->geom.payload_blocks, true);
		jnum(p, "  ", "bat_entries", info->geom.bat_entries, true);
		jbool(p, "  ", "bat_walked", info->bat_walked, true);
		/* only when true: the keys of every other image stay as they were */
		if (info->bat_walked && info->bat_before_replay)
			jbool(p, "  ", "bat_before_log_replay", true, true);
		begin(p, "  \"block_states\": {");
		for (i = 0; i < 8; i++) {
			s_(p, "\"");
			s_(p, state_names[i]);
			s_(p, "\": ");
			u_(p, info->payload_states[i]);
			s_(p, i < 7 ? ", " : "},");
		}
		end(p);
		jnum(p, "  ", "sector_bitmaps_present", info->bitmap_states[VHDX_SB_PRESENT], true);
		jnum(p, "  ", "data_start", info->data_start, true);
		jnum(p, "  ", "data_end", info->data_end, true);
	}
	jnum(p, "  ", "file_size", info->file_size, true);
	if (info->is_device) {
		jnum(p, "  ", "device_size", info->file_size, true);
		jnum(p, "  ", "image_end", info->structures_end, true);
	}
	if (info->findings_withheld)
		jnum(p, "  ", "findings_withheld", info->findings_withheld, true);
	jnum(p, "  ", "errors", info->errors, true);
	jnum(p, "  ", "warnings", info->warnings, false);
	begin(p, "}");
	end(p);
}

static void field(struct pr *p, const char *name)
{
	begin(p, name);
	s_(p, ": ");
}

static void size_(struct pr *p, uint64_t v)
{
	vhdx_text_size(&p->t, v);
	if (v >= 1024 && (v & 1023) == 0) {
		s_(p, " (");
		u_(p, v);
		s_(p, " bytes)");
	}
}

static void print_human(struct pr *p, const struct vhdx_info *info)
{
	unsigned i, n;

	if (!info->is_vhdx) {
		begin(p, "format: not a VHDX (no \"vhdxfile\" signature)");
		end(p);
		field(p, "file size");
		size_(p, info->file_size);
		end(p);
		return;
	}
	field(p, "format");
	s_(p, "VHDX");
	end(p);
	field(p, "type");
	s_(p, info->geometry_ok ? vhdx_type_name(info->type) : "unknown (metadata unusable)");
	end(p);
	field(p, "virtual size");
	size_(p, info->virtual_size);
	end(p);
	field(p, "block size");
	size_(p, info->block_size);
	end(p);
	field(p, "logical sector size");
	u_(p, info->logical_sector_size);
	end(p);
	field(p, "physical sector size");
	u_(p, info->physical_sector_size);
	end(p);
	field(p, "creator");
	s_(p, info->creator);
	end(p);
	if (info->has_page83) {
		field(p, "virtual disk id");
		guid_(p, &info->page83);
		end(p);
	}
	for (i = 0; i < 2; i++) {
		const struct vhdx_info_header *h = &info->header[i];

		begin(p, i ? "header 2: " : "header 1: ");
		if (!h->signature_ok) {
			s_(p, "invalid (no signature)");
			end(p);
			continue;
		}
		s_(p, h->checksum_ok ? "valid" : "invalid (checksum)");
		s_(p, ", sequence ");
		u_(p, h->sequence);
		if (info->current_header == (int)i)
			s_(p, ", current");
		end(p);
		begin(p, "  file write guid: ");
		guid_(p, &h->file_write_guid);
		end(p);
		begin(p, "  data write guid: ");
		guid_(p, &h->data_write_guid);
		end(p);
		begin(p, "  log guid: ");
		guid_(p, &h->log_guid);
		s_(p, ", log ");
		size_(p, h->log_length);
		s_(p, " at ");
		x_(p, h->log_offset);
		end(p);
	}
	field(p, "log");
	s_(p, info->log_replay_needed ? "needs replay (LogGuid non-zero)" : "empty");
	end(p);
	field(p, "region table");
	if (info->region_table_used >= 0)
		u_(p, (uint64_t)info->region_table_used + 1);
	else
		s_(p, "none");
	s_(p, info->region_table_ok[0] ? " (1 valid, " : " (1 invalid, ");
	s_(p, info->region_table_ok[1] ? "2 valid)" : "2 invalid)");
	end(p);
	n = info->region_count < VHDX_INFO_MAX_REGIONS ? info->region_count : VHDX_INFO_MAX_REGIONS;
	for (i = 0; i < n; i++) {
		const struct vhdx_info_region *r = &info->regions[i];
		const char *name = vhdx_region_name(&r->guid);

		begin(p, "  region ");
		if (name)
			s_(p, name);
		else
			guid_(p, &r->guid);
		s_(p, ": ");
		size_(p, r->length);
		s_(p, " at ");
		x_(p, r->offset);
		s_(p, r->required & 1 ? ", required" : ", optional");
		end(p);
	}
	n = info->meta_count < VHDX_INFO_MAX_ITEMS ? info->meta_count : VHDX_INFO_MAX_ITEMS;
	begin(p, "metadata items: ");
	u_(p, info->meta_count);
	end(p);
	for (i = 0; i < n; i++) {
		const struct vhdx_info_item *it = &info->items[i];
		const char *name = vhdx_item_name(&it->id);

		begin(p, "  ");
		if (name)
			s_(p, name);
		else
			guid_(p, &it->id);
		s_(p, ": ");
		u_(p, it->length);
		s_(p, " bytes at +");
		x_(p, it->offset);
		s_(p, ", flags ");
		x_(p, it->flags);
		end(p);
	}
	if (info->has_locator) {
		begin(p, "parent locator: ");
		u_(p, info->locator_count);
		s_(p, " entries");
		end(p);
		n = locator_kept(info);
		for (i = 0; i < n; i++) {
			begin(p, "  ");
			s_(p, kv_text(info, info->locator[i].key_text));
			s_(p, " = ");
			s_(p, kv_text(info, info->locator[i].value_text));
			end(p);
		}
	}
	if (info->geometry_ok) {
		begin(p, "BAT: ");
		u_(p, info->geom.bat_entries);
		s_(p, " entries, ");
		u_(p, info->geom.payload_blocks);
		s_(p, " payload blocks, chunk ratio ");
		u_(p, info->geom.chunk_ratio);
		end(p);
	}
	if (info->bat_walked) {
		begin(p, "blocks:");
		for (i = 0; i < 8; i++) {
			if (!info->payload_states[i])
				continue;
			s_(p, " ");
			s_(p, state_names[i]);
			s_(p, " ");
			u_(p, info->payload_states[i]);
		}
		end(p);
		field(p, "sector bitmaps present");
		u_(p, info->bitmap_states[VHDX_SB_PRESENT]);
		end(p);
		field(p, "data extent");
		if (info->data_end) {
			x_(p, info->data_start);
			s_(p, "..");
			x_(p, info->data_end);
		} else {
			s_(p, "none");
		}
		end(p);
		if (info->bat_before_replay) {
			begin(p, "  (the BAT on disk, before the log is replayed: the counts may be stale)");
			end(p);
		}
	}
	field(p, "file size");
	size_(p, info->file_size);
	end(p);
	if (info->is_device) {
		/* what follows the image is the device's, not trailing data */
		field(p, "device");
		size_(p, info->file_size);
		if (info->structures_end) {
			s_(p, ", the image ends at ");
			x_(p, info->structures_end);
		}
		end(p);
	}
	field(p, "findings");
	u_(p, info->errors);
	s_(p, info->errors == 1 ? " error, " : " errors, ");
	u_(p, info->warnings);
	s_(p, info->warnings == 1 ? " warning" : " warnings");
	end(p);
}

void vhdx_info_print(const struct vhdx_info *info, bool json, vhdx_line_fn line, void *ctx)
{
	struct pr p;

	if (!info || !line)
		return;
	p.fn = line;
	p.ctx = ctx;
	if (json)
		print_json(&p, info);
	else
		print_human(&p, info);
}

size_t vhdx_info_summary(const struct vhdx_info *info, char *buf, size_t len)
{
	struct vhdx_text t;

	vhdx_text_init(&t, buf, len);
	if (!info->is_vhdx) {
		vhdx_text_str(&t, "not a VHDX");
		return t.pos;
	}
	vhdx_text_str(&t, "VHDX (");
	if (info->geometry_ok) {
		vhdx_text_str(&t, vhdx_type_name(info->type));
		vhdx_text_str(&t, ", ");
		vhdx_text_size(&t, info->virtual_size);
	} else {
		vhdx_text_str(&t, "damaged");
	}
	if (info->errors)
		vhdx_text_str(&t, ", errors");
	vhdx_text_str(&t, ")");
	return t.pos;
}

size_t vhdx_finding_to_text(const struct vhdx_finding *f, char *buf, size_t len)
{
	struct vhdx_text t;

	vhdx_text_init(&t, buf, len);
	vhdx_text_str(&t, f->severity == VHDX_SEV_ERROR ? "error: " : "warning: ");
	vhdx_text_str(&t, f->where ? f->where : "");
	vhdx_text_str(&t, " @");
	vhdx_text_hex(&t, f->offset);
	vhdx_text_str(&t, ": ");
	vhdx_text_str(&t, vhdx_rule_text(f->rule));
	if (f->found && f->found[0]) {
		vhdx_text_str(&t, "; found ");
		vhdx_text_str(&t, f->found);
	}
	vhdx_text_str(&t, " (");
	vhdx_text_str(&t, vhdx_rule_id(f->rule));
	vhdx_text_str(&t, ")");
	return t.pos;
}
