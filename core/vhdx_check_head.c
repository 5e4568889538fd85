/* SPDX-License-Identifier: MIT */
/*
 * vhdx_check_head.c - the checker on the first MiB: File Type Identifier
 * [2.2.1], both headers [2.2.2], both region tables [2.2.3] and the log's
 * placement [2.3].  Fields come from the parsers the decoder uses
 * (vhdx_decode.c); every rule broken is a finding here.
 *
 * Scratch: region table 1 at +0, region table 2 at +64 KiB (the headers
 * use the same two slots before that).
 */
#include "vhdx_check_internal.h"

#define VHDX_LOG_GUID_OFF 32u /* the entry header's LogGuid [2.3.1.1] */
#define VHDX_LOG_GUID_END 48u

/* A VHDX too short for its header section [2.2]. */
static void truncated(struct rd_ctx *c)
{
	rd_where_(c, "file", UINT64_MAX, "");
	rd_found_(c, "size ", c->src->size, false);
	rd_found_more_(c, ", the header section needs ", VHDX_HEADER_SECTION_SIZE, false);
	rd_report_(c, VHDX_R_FILE_TRUNCATED, c->src->size);
}

int rd_file_identifier_(struct rd_ctx *c)
{
	uint8_t *id = c->scratch;
	struct vhdx_text t;
	size_t units = 0;
	int err;

	rd_where_(c, "file identifier", UINT64_MAX, "");
	err = rd_read_(c, VHDX_FILE_ID_OFFSET, id, VHDX_IO_ALIGN);
	if (err < 0)
		return err;
	if (err > 0 || !vhdx_mem_equal_(id + VHDX_FILE_ID_SIG_OFF, VHDX_FILE_ID_SIGNATURE, 8)) {
		if (c->src->size < 8) {
			rd_found_(c, "file of ", c->src->size, false);
			rd_found_str_(c, " bytes", false);
		} else {
			uint8_t sig[8];

			err = rd_small_(c, VHDX_FILE_ID_SIG_OFF, sig, 8);
			if (err < 0)
				return err;
			if (vhdx_mem_equal_(sig, VHDX_FILE_ID_SIGNATURE, 8)) {
				/* a VHDX cut inside its first 4 KiB */
				c->info->is_vhdx = true;
				truncated(c);
				return 1;
			}
			rd_found_sig_(c, sig, 8);
		}
		rd_report_(c, VHDX_R_FILE_SIGNATURE, 0);
		return 1;
	}
	c->info->is_vhdx = true;
	vhdx_text_init(&t, c->info->creator, sizeof(c->info->creator));
	while (units < VHDX_FILE_ID_CREATOR_UNITS && vhdx_get_le16(id + VHDX_FILE_ID_CREATOR_OFF + 2 * units))
		units++;
	vhdx_utf16_to_text_(&t, id + VHDX_FILE_ID_CREATOR_OFF, 2 * units);
	if (c->src->size < VHDX_HEADER_SECTION_SIZE)
		truncated(c);
	return 0;
}

static int read_header(struct rd_ctx *c, unsigned i)
{
	struct vhdx_info_header *h = &c->info->header[i];
	uint64_t off = i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET;
	uint8_t *p = c->scratch + i * VHDX_STRUCT_SLOT_SIZE;
	uint32_t crc;
	size_t k;
	int err;

	rd_where_(c, "header ", i + 1, "");
	err = rd_read_(c, off, p, VHDX_HEADER_SIZE);
	if (err < 0)
		return err;
	if (err > 0) {
		rd_found_(c, "file ends at ", c->src->size, true);
		rd_report_(c, VHDX_R_FILE_TRUNCATED, off);
		return 0;
	}
	vhdx_header_decode_(p, h, &crc);
	if (!h->signature_ok) {
		rd_found_sig_(c, p + VHDX_HDR_SIG_OFF, 4);
		rd_report_(c, VHDX_R_HDR_SIGNATURE, off);
		return 0;
	}
	if (!h->checksum_ok) {
		rd_found_(c, "", h->checksum, true);
		rd_found_more_(c, ", computed ", crc, true);
		rd_report_(c, VHDX_R_HDR_CHECKSUM, off + VHDX_HDR_CHECKSUM_OFF);
		return 0;
	}
	if (h->version != VHDX_HEADER_VERSION) {
		rd_found_(c, "", h->version, false);
		rd_report_(c, VHDX_R_HDR_VERSION, off + VHDX_HDR_VERSION_OFF);
	}
	if (h->log_version != VHDX_LOG_VERSION) {
		rd_found_(c, "", h->log_version, false);
		rd_report_(c, VHDX_R_HDR_LOG_VERSION, off + VHDX_HDR_LOG_VERSION_OFF);
	}
	k = vhdx_header_reserved_at_(p);
	if (k < VHDX_HEADER_SIZE) {
		rd_found_(c, "byte ", k, false);
		rd_found_more_(c, " = ", p[k], true);
		rd_report_(c, VHDX_R_HDR_RESERVED, off + k);
	}
	if (!vhdx_log_aligned_(h)) {
		rd_found_(c, "LogOffset ", h->log_offset, true);
		rd_found_more_(c, ", LogLength ", h->log_length, true);
		rd_report_(c, VHDX_R_HDR_LOG_ALIGN, off + VHDX_HDR_LOG_LENGTH_OFF);
	}
	return 0;
}

/*
 * Does any sector of the log start with "loge" and carry @h's LogGuid
 * [2.3.1.1]?  1: yes, or the log cannot be scanned (misplaced: replay
 * refuses it), or the source already reads through the log; 0: no entry
 * carries it, nothing was logged under it (vhdx_log_find's guid_unused,
 * the same scan); or VHDX_ERR_IO.  Reads the log once, through the window.
 */
static int log_guid_used(struct rd_ctx *c, const struct vhdx_info_header *h)
{
	uint8_t sig[VHDX_LOG_GUID_END];
	uint64_t pos;
	int err;

	if (c->src->log_applied || !h->log_length || (h->log_length & (VHDX_LOG_SECTOR_SIZE - 1)) ||
	    (h->log_offset & (VHDX_LOG_SECTOR_SIZE - 1)) || !vhdx_inside_(h->log_offset, h->log_length, c->src->size))
		return 1;
	for (pos = 0; pos < h->log_length; pos += VHDX_LOG_SECTOR_SIZE) {
		err = rd_small_(c, h->log_offset + pos, sig, sizeof(sig));
		if (err < 0)
			return err;
		if (!err && vhdx_mem_equal_(sig, "loge", 4) &&
		    vhdx_mem_equal_(sig + VHDX_LOG_GUID_OFF, h->log_guid.bytes, 16))
			return 1;
	}
	return 0;
}

int rd_headers_(struct rd_ctx *c)
{
	struct vhdx_info *info = c->info;
	struct vhdx_info_header *h = info->header;
	const struct vhdx_info_header *cur;
	uint64_t off;
	int err;

	err = read_header(c, 0);
	if (!err)
		err = read_header(c, 1);
	if (err)
		return err;
	info->current_header = vhdx_header_current_(h);
	if (h[0].checksum_ok && h[1].checksum_ok && h[0].sequence == h[1].sequence) {
		bool same = vhdx_mem_equal_(c->scratch, c->scratch + VHDX_STRUCT_SLOT_SIZE, VHDX_HEADER_SIZE);

		rd_where_(c, "headers 1 and 2", UINT64_MAX, "");
		rd_found_(c, "both sequence ", h[0].sequence, false);
		rd_report_(c, same ? VHDX_R_HDR_SAME_SEQ_IDENTICAL : VHDX_R_HDR_SAME_SEQ_DIFFERENT,
			   VHDX_HEADER2_OFFSET + VHDX_HDR_SEQUENCE_OFF);
	} else if (info->current_header < 0) {
		rd_where_(c, "headers", UINT64_MAX, "");
		rd_found_str_(c, "", true);
		rd_report_(c, VHDX_R_HDR_NONE_VALID, VHDX_HEADER1_OFFSET);
		return 0;
	}
	cur = &h[info->current_header];
	off = info->current_header ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET;
	if (!vhdx_guid_is_zero(&cur->log_guid)) {
		char g[VHDX_GUID_TEXT_SIZE];
		int used = log_guid_used(c, cur);

		if (used < 0)
			return used;
		vhdx_guid_to_text(&cur->log_guid, g, false);
		rd_where_(c, "header ", (uint64_t)info->current_header + 1, " (current)");
		rd_found_str_(c, "LogGuid ", true);
		rd_found_str_(c, g, false);
		if (!used) {
			rd_found_str_(c, ", carried by no log entry", false);
			rd_report_(c, VHDX_R_LOG_GUID_UNUSED, off + VHDX_HDR_LOG_GUID_OFF);
		} else {
			info->log_replay_needed = true;
			rd_report_(c, VHDX_R_LOG_REPLAY, off + VHDX_HDR_LOG_GUID_OFF);
		}
	}
	if (cur->log_length && !vhdx_inside_(cur->log_offset, cur->log_length, info->file_size)) {
		rd_where_(c, "header ", (uint64_t)info->current_header + 1, " (current) log");
		rd_found_(c, "log ends at ", cur->log_offset + cur->log_length, true);
		rd_found_more_(c, ", file ends at ", info->file_size, true);
		rd_report_(c, VHDX_R_HDR_LOG_PLACE, off + VHDX_HDR_LOG_OFFSET_OFF);
	}
	return 0;
}

static bool region_table_ok(struct rd_ctx *c, unsigned i, const uint8_t *p, bool *ret_sig)
{
	uint64_t off = i ? VHDX_REGION_TABLE2_OFFSET : VHDX_REGION_TABLE1_OFFSET;
	uint32_t crc;

	rd_where_(c, "region table ", i + 1, "");
	*ret_sig = vhdx_mem_equal_(p + VHDX_RGN_SIG_OFF, VHDX_REGION_SIGNATURE, 4);
	if (!*ret_sig) {
		rd_found_sig_(c, p + VHDX_RGN_SIG_OFF, 4);
		rd_report_(c, VHDX_R_RGN_SIGNATURE, off);
		return false;
	}
	if (!vhdx_checksum_ok_(p, VHDX_REGION_TABLE_SIZE, VHDX_RGN_CHECKSUM_OFF, &crc)) {
		rd_found_(c, "", vhdx_get_le32(p + VHDX_RGN_CHECKSUM_OFF), true);
		rd_found_more_(c, ", computed ", crc, true);
		rd_report_(c, VHDX_R_RGN_CHECKSUM, off + VHDX_RGN_CHECKSUM_OFF);
		return false;
	}
	return true;
}

static void where_region_entry(struct rd_ctx *c, unsigned which, uint32_t j, const char *name)
{
	struct vhdx_text t;

	vhdx_text_init(&t, c->where, sizeof(c->where));
	vhdx_text_str(&t, "region table ");
	vhdx_text_u64(&t, which + 1);
	vhdx_text_str(&t, " entry ");
	vhdx_text_u64(&t, j);
	vhdx_text_str(&t, name);
}

/* Entry @j against the entries before it: the same GUID, overlapping places. */
static void region_pairs(struct rd_ctx *c, const uint8_t *p, uint32_t j, const struct vhdx_region_entry_ *r,
			 uint64_t eoff)
{
	const uint8_t *e = p + VHDX_RGN_ENTRIES_OFF + j * VHDX_RGN_ENTRY_SIZE;
	uint32_t k;

	/* raw fields, not decoded entries: this is O(n^2) in up to 2047 entries */
	for (k = 0; k < j; k++) {
		const uint8_t *o = p + VHDX_RGN_ENTRIES_OFF + k * VHDX_RGN_ENTRY_SIZE;

		if (vhdx_guid_bytes_equal_(o + VHDX_RGN_E_GUID_OFF, e + VHDX_RGN_E_GUID_OFF)) {
			if (rd_listing_(c, VHDX_R_RGN_DUPLICATE))
				rd_found_(c, "same GUID as entry ", k, false);
			rd_report_(c, VHDX_R_RGN_DUPLICATE, eoff);
		}
		if (vhdx_overlaps_(r->offset, r->length, vhdx_get_le64(o + VHDX_RGN_E_OFFSET_OFF),
				   vhdx_get_le32(o + VHDX_RGN_E_LENGTH_OFF))) {
			if (rd_listing_(c, VHDX_R_RGN_OVERLAP))
				rd_found_(c, "overlaps entry ", k, false);
			rd_report_(c, VHDX_R_RGN_OVERLAP, eoff + VHDX_RGN_E_OFFSET_OFF);
		}
	}
}

static void region_entries(struct rd_ctx *c, unsigned which, const uint8_t *p)
{
	struct vhdx_info *info = c->info;
	uint64_t base = which ? VHDX_REGION_TABLE2_OFFSET : VHDX_REGION_TABLE1_OFFSET;
	uint32_t count = vhdx_get_le32(p + VHDX_RGN_COUNT_OFF), j;
	const struct vhdx_info_header *cur =
		info->current_header >= 0 ? &info->header[info->current_header] : NULL;
	bool have_bat = false, have_meta = false;

	rd_where_(c, "region table ", which + 1, "");
	if (count > VHDX_RGN_MAX_ENTRIES) {
		rd_found_(c, "", count, false);
		rd_report_(c, VHDX_R_RGN_COUNT, base + VHDX_RGN_COUNT_OFF);
		count = VHDX_RGN_MAX_ENTRIES;
	}
	if (vhdx_get_le32(p + VHDX_RGN_RESERVED_OFF)) {
		rd_found_(c, "", vhdx_get_le32(p + VHDX_RGN_RESERVED_OFF), true);
		rd_report_(c, VHDX_R_RGN_RESERVED, base + VHDX_RGN_RESERVED_OFF);
	}
	info->region_count = count;
	for (j = 0; j < count; j++) {
		uint64_t eoff = base + VHDX_RGN_ENTRIES_OFF + j * VHDX_RGN_ENTRY_SIZE;
		struct vhdx_region_entry_ r;
		bool known;

		vhdx_region_entry_decode_(p, j, &r);
		known = r.kind != VHDX_REGION_OTHER_;
		if (j < VHDX_INFO_MAX_REGIONS) {
			vhdx_mem_copy_(&info->regions[j].guid, &r.guid, sizeof(r.guid));
			info->regions[j].offset = r.offset;
			info->regions[j].length = r.length;
			info->regions[j].required = r.required;
		}
		where_region_entry(c, which, j, r.kind == VHDX_REGION_BAT_ ? " (BAT)" :
						 r.kind == VHDX_REGION_META_ ? " (metadata)" : "");
		if (!vhdx_region_offset_ok_(r.offset)) {
			rd_found_(c, "FileOffset ", r.offset, true);
			rd_report_(c, VHDX_R_RGN_OFFSET, eoff + VHDX_RGN_E_OFFSET_OFF);
		}
		if (!vhdx_region_length_ok_(r.length)) {
			rd_found_(c, "Length ", r.length, true);
			rd_report_(c, VHDX_R_RGN_LENGTH, eoff + VHDX_RGN_E_LENGTH_OFF);
		}
		if (r.required & ~VHDX_RGN_REQUIRED) {
			rd_found_(c, "Required ", r.required, true);
			rd_report_(c, VHDX_R_RGN_REQUIRED_BITS, eoff + VHDX_RGN_E_REQUIRED_OFF);
		}
		if (!known && (r.required & VHDX_RGN_REQUIRED)) {
			char gt[VHDX_GUID_TEXT_SIZE];

			vhdx_guid_to_text(&r.guid, gt, true);
			rd_found_str_(c, gt, true);
			rd_report_(c, VHDX_R_RGN_UNKNOWN_REQUIRED, eoff);
		}
		if (known && !(r.required & VHDX_RGN_REQUIRED)) {
			rd_found_(c, "Required ", r.required, true);
			rd_report_(c, VHDX_R_RGN_KNOWN_NOT_REQUIRED, eoff + VHDX_RGN_E_REQUIRED_OFF);
		}
		if (!vhdx_inside_(r.offset, r.length, info->file_size)) {
			rd_found_(c, "region ends at ", r.offset + r.length, true);
			rd_found_more_(c, ", file ends at ", info->file_size, true);
			rd_report_(c, VHDX_R_RGN_OUTSIDE, eoff + VHDX_RGN_E_OFFSET_OFF);
		}
		if (cur && vhdx_overlaps_(r.offset, r.length, cur->log_offset, cur->log_length)) {
			rd_found_(c, "region at ", r.offset, true);
			rd_found_more_(c, " overlaps the log at ", cur->log_offset, true);
			rd_report_(c, VHDX_R_HDR_LOG_PLACE, eoff + VHDX_RGN_E_OFFSET_OFF);
		}
		region_pairs(c, p, j, &r, eoff);
		if (r.kind == VHDX_REGION_BAT_ && !have_bat) {
			have_bat = true;
			info->bat_offset = r.offset;
			info->bat_length = r.length;
		}
		if (r.kind == VHDX_REGION_META_ && !have_meta) {
			have_meta = true;
			info->meta_offset = r.offset;
			info->meta_length = r.length;
		}
	}
	if (!have_bat || !have_meta) {
		rd_where_(c, "region table ", which + 1, "");
		rd_found_str_(c, have_bat ? "no metadata region" : "no BAT region", true);
		rd_report_(c, VHDX_R_RGN_MISSING, base);
	}
}

int rd_region_tables_(struct rd_ctx *c)
{
	struct vhdx_info *info = c->info;
	uint8_t *t[2] = { c->scratch, c->scratch + VHDX_REGION_TABLE_SIZE };
	bool sig[2] = { false, false };
	unsigned i;
	int err, used = -1;

	for (i = 0; i < 2; i++) {
		uint64_t off = i ? VHDX_REGION_TABLE2_OFFSET : VHDX_REGION_TABLE1_OFFSET;

		err = rd_read_(c, off, t[i], VHDX_REGION_TABLE_SIZE);
		if (err < 0)
			return err;
		if (err > 0) {
			rd_where_(c, "region table ", i + 1, "");
			rd_found_(c, "file ends at ", c->src->size, true);
			rd_report_(c, VHDX_R_FILE_TRUNCATED, off);
			continue;
		}
		info->region_table_ok[i] = region_table_ok(c, i, t[i], &sig[i]);
	}
	if (info->region_table_ok[0] && info->region_table_ok[1] &&
	    !vhdx_mem_equal_(t[0], t[1], VHDX_REGION_TABLE_SIZE)) {
		uint32_t k = 0;

		while (t[0][k] == t[1][k])
			k++;
		rd_where_(c, "region tables 1 and 2", UINT64_MAX, "");
		rd_found_(c, "first difference at byte ", k, false);
		rd_report_(c, VHDX_R_RGN_TABLES_DIFFER, VHDX_REGION_TABLE2_OFFSET + k);
	}
	if (info->region_table_ok[0])
		used = 0;
	else if (info->region_table_ok[1])
		used = 1;
	if (used < 0) {
		rd_where_(c, "region tables", UINT64_MAX, "");
		rd_found_str_(c, "", true);
		rd_report_(c, VHDX_R_RGN_NONE_VALID, VHDX_REGION_TABLE1_OFFSET);
		/* best effort: read on through a table that has its signature */
		used = sig[0] ? 0 : sig[1] ? 1 : -1;
		if (used < 0)
			return 1;
	}
	info->region_table_used = used;
	region_entries(c, (unsigned)used, t[used]);
	return 0;
}
