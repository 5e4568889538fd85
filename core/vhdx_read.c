/* SPDX-License-Identifier: MIT */
/*
 * vhdx_read.c - the reader's entry points and the first MiB: File Type
 * Identifier [2.2.1], both headers [2.2.2], both region tables [2.2.3] and
 * the log's placement [2.3].
 *
 * Scratch layout while the first MiB is read: region table 1 at +0, region
 * table 2 at +64 KiB (headers use the same two slots before that).  The
 * metadata table then takes +0, with a small-read window at +64 KiB; the
 * BAT walk finally reuses all of it (vhdx_check_bat.c).
 */
#include "vhdx_read_internal.h"

static int raw_read(struct rd_ctx *c, uint64_t off, void *buf, size_t len)
{
	int err;

	/* a structure at a misaligned offset was reported; it is not read */
	if (off > c->src->size || len > c->src->size - off || (off & (RD_SECTOR - 1)))
		return 1;
	if (len == 0)
		return 0;
	err = c->src->read(c->src, off, buf, len);
	VHDX_ASSERT(err <= 0);
	return err ? VHDX_ERR_IO : 0;
}

int rd_read_(struct rd_ctx *c, uint64_t off, void *buf, size_t len)
{
	c->win_len = 0; /* buf may overlap the small-read window */
	return raw_read(c, off, buf, len);
}

int rd_small_(struct rd_ctx *c, uint64_t off, void *buf, size_t len)
{
	uint64_t start = off & ~(uint64_t)(RD_SECTOR - 1), end;
	uint8_t *win = c->scratch + VHDX_META_TABLE_SIZE;
	int err;

	VHDX_ASSERT(len <= RD_SECTOR);
	if (off > c->src->size || len > c->src->size - off)
		return 1;
	/* 32 KiB from the sector holding off: len <= 4 KiB always fits */
	end = start + 8 * RD_SECTOR;
	if (end > c->src->size)
		end = c->src->size;
	/* the window still holds [win_start, win_start + win_len): no read */
	if (!c->win_len || start < c->win_start || end > c->win_start + c->win_len) {
		c->win_len = 0;
		err = raw_read(c, start, win, (size_t)(end - start));
		if (err)
			return err;
		c->win_start = start;
		c->win_len = end - start;
	}
	vhdx_mem_copy_(buf, win + (off - c->win_start), len);
	return 0;
}

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

void rd_report_(struct rd_ctx *c, enum vhdx_rule rule, uint64_t off)
{
	struct vhdx_finding f;

	f.rule = rule;
	f.severity = vhdx_rule_severity(rule);
	f.offset = off;
	f.where = c->where;
	f.found = c->found;
	if (f.severity == VHDX_SEV_ERROR)
		c->info->errors++;
	else
		c->info->warnings++;
	/* a damaged table can break one rule thousands of times: list a few */
	if (c->listed[rule] >= RD_RULE_FINDINGS_MAX) {
		c->suppressed++;
		if (f.severity == VHDX_SEV_ERROR)
			c->suppressed_errors++;
		return;
	}
	c->listed[rule]++;
	if (c->fn)
		c->fn(c->fn_ctx, &f);
}

/* One closing finding for what was counted but not listed (not counted itself). */
static void report_suppressed(struct rd_ctx *c)
{
	struct vhdx_finding f;

	if (!c->suppressed || !c->fn)
		return;
	rd_where_(c, "image", UINT64_MAX, "");
	rd_found_(c, "", c->suppressed, false);
	rd_found_str_(c, " more findings (", false);
	rd_found_more_(c, "", c->suppressed_errors, false);
	rd_found_str_(c, " errors)", false);
	f.rule = VHDX_R_SUPPRESSED;
	f.severity = c->suppressed_errors ? VHDX_SEV_ERROR : VHDX_SEV_WARNING;
	f.offset = 0;
	f.where = c->where;
	f.found = c->found;
	c->fn(c->fn_ctx, &f);
}

/* Two on-disk GUIDs are equal (inline: the pairwise table checks are O(n^2)). */
static inline bool guid_eq(const uint8_t *a, const uint8_t *b)
{
	return vhdx_get_le64(a) == vhdx_get_le64(b) && vhdx_get_le64(a + 8) == vhdx_get_le64(b + 8);
}

/* Intervals [a, a+al) and [b, b+bl) intersect (lengths may be zero). */
static bool overlaps(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return al && bl && a < b + bl && b < a + al;
}

void rd_utf16_to_text_(struct vhdx_text *t, const uint8_t *p, size_t bytes)
{
	size_t i;

	for (i = 0; i + 1 < bytes; i += 2) {
		uint32_t cp = vhdx_get_le16(p + i);
		char out[5];
		size_t n = 0;

		if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < bytes) {
			uint32_t lo = vhdx_get_le16(p + i + 2);

			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			} else {
				cp = 0xFFFD;
			}
		} else if (cp >= 0xD800 && cp <= 0xDFFF) {
			cp = 0xFFFD;
		}
		if (cp < 0x80) {
			out[n++] = (char)cp;
		} else if (cp < 0x800) {
			out[n++] = (char)(0xC0 | (cp >> 6));
			out[n++] = (char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			out[n++] = (char)(0xE0 | (cp >> 12));
			out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[n++] = (char)(0x80 | (cp & 0x3F));
		} else {
			out[n++] = (char)(0xF0 | (cp >> 18));
			out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
			out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[n++] = (char)(0x80 | (cp & 0x3F));
		}
		out[n] = '\0';
		/* never cut a sequence: stop when it does not fit whole */
		if (t->pos + n + 1 > t->len)
			return;
		vhdx_text_str(t, out);
	}
}

/* CRC-32C of buf[0..len) with the 4-byte checksum field at csum_off taken as zero. */
static uint32_t crc_with_hole(const uint8_t *buf, size_t len, size_t csum_off)
{
	uint32_t crc = vhdx_crc32c(0, buf, csum_off);

	crc = vhdx_crc32c_zeros(crc, 4);
	return vhdx_crc32c(crc, buf + csum_off + 4, len - csum_off - 4);
}

static bool crc_matches(uint32_t stored, uint32_t computed)
{
#ifdef VHDX_FUZZ_IGNORE_CRC
	/* fuzzing build: reach the code behind the checksums */
	(void)stored;
	(void)computed;
	return true;
#else
	return stored == computed;
#endif
}

static int file_identifier(struct rd_ctx *c)
{
	uint8_t *id = c->scratch;
	struct vhdx_text t;
	int err;

	rd_where_(c, "file identifier", UINT64_MAX, "");
	err = rd_read_(c, 0, id, RD_SECTOR);
	if (err < 0)
		return err;
	if (err > 0 || !vhdx_mem_equal_(id, VHDX_FILE_ID_SIGNATURE, 8)) {
		if (c->src->size < 8) {
			rd_found_(c, "file of ", c->src->size, false);
			rd_found_str_(c, " bytes", false);
		} else {
			uint8_t sig[8];

			err = rd_small_(c, 0, sig, 8);
			if (err < 0)
				return err;
			if (vhdx_mem_equal_(sig, VHDX_FILE_ID_SIGNATURE, 8)) {
				/* a VHDX cut inside its first 4 KiB */
				c->info->is_vhdx = true;
				rd_where_(c, "file", UINT64_MAX, "");
				rd_found_(c, "size ", c->src->size, false);
				rd_found_more_(c, ", the header section needs ", VHDX_HEADER_SECTION_SIZE,
					       false);
				rd_report_(c, VHDX_R_FILE_TRUNCATED, c->src->size);
				return 1;
			}
			rd_found_sig_(c, sig, 8);
		}
		rd_report_(c, VHDX_R_FILE_SIGNATURE, 0);
		return 1;
	}
	c->info->is_vhdx = true;
	vhdx_text_init(&t, c->info->creator, sizeof(c->info->creator));
	{
		size_t units = 0;

		while (units < VHDX_FILE_ID_CREATOR_UNITS &&
		       vhdx_get_le16(id + VHDX_FILE_ID_CREATOR_OFF + 2 * units))
			units++;
		rd_utf16_to_text_(&t, id + VHDX_FILE_ID_CREATOR_OFF, 2 * units);
	}
	if (c->src->size < VHDX_HEADER_SECTION_SIZE) {
		rd_where_(c, "file", UINT64_MAX, "");
		rd_found_(c, "size ", c->src->size, false);
		rd_found_more_(c, ", the header section needs ", VHDX_HEADER_SECTION_SIZE, false);
		rd_report_(c, VHDX_R_FILE_TRUNCATED, c->src->size);
	}
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
	h->present = true;
	if (!vhdx_mem_equal_(p, VHDX_HEADER_SIGNATURE, 4)) {
		rd_found_sig_(c, p, 4);
		rd_report_(c, VHDX_R_HDR_SIGNATURE, off);
		return 0;
	}
	h->signature_ok = true;
	h->checksum = vhdx_get_le32(p + VHDX_HDR_CHECKSUM_OFF);
	crc = crc_with_hole(p, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM_OFF);
	h->sequence = vhdx_get_le64(p + VHDX_HDR_SEQUENCE_OFF);
	vhdx_mem_copy_(&h->file_write_guid, p + VHDX_HDR_FILE_WRITE_OFF, 16);
	vhdx_mem_copy_(&h->data_write_guid, p + VHDX_HDR_DATA_WRITE_OFF, 16);
	vhdx_mem_copy_(&h->log_guid, p + VHDX_HDR_LOG_GUID_OFF, 16);
	h->log_version = vhdx_get_le16(p + VHDX_HDR_LOG_VERSION_OFF);
	h->version = vhdx_get_le16(p + VHDX_HDR_VERSION_OFF);
	h->log_length = vhdx_get_le32(p + VHDX_HDR_LOG_LENGTH_OFF);
	h->log_offset = vhdx_get_le64(p + VHDX_HDR_LOG_OFFSET_OFF);
	if (!crc_matches(h->checksum, crc)) {
		rd_found_(c, "", h->checksum, true);
		rd_found_more_(c, ", computed ", crc, true);
		rd_report_(c, VHDX_R_HDR_CHECKSUM, off + VHDX_HDR_CHECKSUM_OFF);
		return 0;
	}
	h->checksum_ok = true;
	if (h->version != VHDX_HEADER_VERSION) {
		rd_found_(c, "", h->version, false);
		rd_report_(c, VHDX_R_HDR_VERSION, off + VHDX_HDR_VERSION_OFF);
	}
	if (h->log_version != VHDX_LOG_VERSION) {
		rd_found_(c, "", h->log_version, false);
		rd_report_(c, VHDX_R_HDR_LOG_VERSION, off + VHDX_HDR_LOG_VERSION_OFF);
	}
	for (k = VHDX_HDR_RESERVED_OFF; k < VHDX_HEADER_SIZE; k++)
		if (p[k])
			break;
	if (k < VHDX_HEADER_SIZE) {
		rd_found_(c, "byte ", k, false);
		rd_found_more_(c, " = ", p[k], true);
		rd_report_(c, VHDX_R_HDR_RESERVED, off + k);
	}
	if ((h->log_offset & (VHDX_MiB - 1)) || (h->log_length & (VHDX_MiB - 1)) ||
	    h->log_offset < VHDX_MiB) {
		rd_found_(c, "LogOffset ", h->log_offset, true);
		rd_found_more_(c, ", LogLength ", h->log_length, true);
		rd_report_(c, VHDX_R_HDR_LOG_ALIGN, off + VHDX_HDR_LOG_LENGTH_OFF);
	}
	return 0;
}

static int headers(struct rd_ctx *c)
{
	struct vhdx_info *info = c->info;
	struct vhdx_info_header *h = info->header;
	int err;

	err = read_header(c, 0);
	if (!err)
		err = read_header(c, 1);
	if (err)
		return err;
	info->current_header = -1;
	if (h[0].checksum_ok && h[1].checksum_ok) {
		if (h[0].sequence == h[1].sequence) {
			bool same = vhdx_mem_equal_(c->scratch, c->scratch + VHDX_STRUCT_SLOT_SIZE,
						    VHDX_HEADER_SIZE);

			rd_where_(c, "headers 1 and 2", UINT64_MAX, "");
			rd_found_(c, "both sequence ", h[0].sequence, false);
			rd_report_(c, same ? VHDX_R_HDR_SAME_SEQ_IDENTICAL : VHDX_R_HDR_SAME_SEQ_DIFFERENT,
				   VHDX_HEADER2_OFFSET + VHDX_HDR_SEQUENCE_OFF);
			info->current_header = 0;
		} else {
			info->current_header = h[1].sequence > h[0].sequence;
		}
	} else if (h[0].checksum_ok) {
		info->current_header = 0;
	} else if (h[1].checksum_ok) {
		info->current_header = 1;
	} else {
		rd_where_(c, "headers", UINT64_MAX, "");
		rd_found_str_(c, "", true);
		rd_report_(c, VHDX_R_HDR_NONE_VALID, VHDX_HEADER1_OFFSET);
	}
	if (info->current_header >= 0) {
		const struct vhdx_info_header *cur = &h[info->current_header];
		uint64_t off = info->current_header ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET;

		if (!vhdx_guid_is_zero(&cur->log_guid)) {
			char g[VHDX_GUID_TEXT_SIZE];

			info->log_replay_needed = true;
			vhdx_guid_to_text(&cur->log_guid, g, false);
			rd_where_(c, "header ", (uint64_t)info->current_header + 1, " (current)");
			rd_found_str_(c, "LogGuid ", true);
			rd_found_str_(c, g, false);
			rd_report_(c, VHDX_R_LOG_REPLAY, off + VHDX_HDR_LOG_GUID_OFF);
		}
		if (cur->log_length && (cur->log_offset > info->file_size ||
					cur->log_length > info->file_size - cur->log_offset)) {
			rd_where_(c, "header ", (uint64_t)info->current_header + 1, " (current) log");
			rd_found_(c, "log ends at ", cur->log_offset + cur->log_length, true);
			rd_found_more_(c, ", file ends at ", info->file_size, true);
			rd_report_(c, VHDX_R_HDR_LOG_PLACE, off + VHDX_HDR_LOG_OFFSET_OFF);
		}
	}
	return 0;
}

static bool region_table_ok(struct rd_ctx *c, unsigned i, const uint8_t *p, bool *ret_sig)
{
	uint64_t off = i ? VHDX_REGION_TABLE2_OFFSET : VHDX_REGION_TABLE1_OFFSET;
	uint32_t stored, crc;

	rd_where_(c, "region table ", i + 1, "");
	*ret_sig = vhdx_mem_equal_(p, VHDX_REGION_SIGNATURE, 4);
	if (!*ret_sig) {
		rd_found_sig_(c, p, 4);
		rd_report_(c, VHDX_R_RGN_SIGNATURE, off);
		return false;
	}
	stored = vhdx_get_le32(p + VHDX_RGN_CHECKSUM_OFF);
	crc = crc_with_hole(p, VHDX_REGION_TABLE_SIZE, VHDX_RGN_CHECKSUM_OFF);
	if (!crc_matches(stored, crc)) {
		rd_found_(c, "", stored, true);
		rd_found_more_(c, ", computed ", crc, true);
		rd_report_(c, VHDX_R_RGN_CHECKSUM, off + VHDX_RGN_CHECKSUM_OFF);
		return false;
	}
	return true;
}

static void region_entries(struct rd_ctx *c, unsigned which, const uint8_t *p)
{
	struct vhdx_info *info = c->info;
	uint64_t base = which ? VHDX_REGION_TABLE2_OFFSET : VHDX_REGION_TABLE1_OFFSET;
	uint32_t count = vhdx_get_le32(p + VHDX_RGN_COUNT_OFF), j, k;
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
		const uint8_t *e = p + VHDX_RGN_ENTRIES_OFF + j * VHDX_RGN_ENTRY_SIZE;
		uint64_t eoff = base + VHDX_RGN_ENTRIES_OFF + j * VHDX_RGN_ENTRY_SIZE;
		struct vhdx_guid g;
		uint64_t off = vhdx_get_le64(e + VHDX_RGN_E_OFFSET_OFF);
		uint32_t len = vhdx_get_le32(e + VHDX_RGN_E_LENGTH_OFF);
		uint32_t req = vhdx_get_le32(e + VHDX_RGN_E_REQUIRED_OFF);
		bool is_bat, is_meta;
		const char *name;

		vhdx_mem_copy_(&g, e, 16);
		is_bat = vhdx_guid_equal(&g, &vhdx_guid_bat_region_);
		is_meta = vhdx_guid_equal(&g, &vhdx_guid_metadata_region_);
		name = is_bat ? " (BAT)" : is_meta ? " (metadata)" : "";
		if (j < VHDX_INFO_MAX_REGIONS) {
			vhdx_mem_copy_(&info->regions[j].guid, &g, sizeof(g));
			info->regions[j].offset = off;
			info->regions[j].length = len;
			info->regions[j].required = req;
		}
		{
			struct vhdx_text t;

			vhdx_text_init(&t, c->where, sizeof(c->where));
			vhdx_text_str(&t, "region table ");
			vhdx_text_u64(&t, which + 1);
			vhdx_text_str(&t, " entry ");
			vhdx_text_u64(&t, j);
			vhdx_text_str(&t, name);
		}
		if ((off & (VHDX_MiB - 1)) || off < VHDX_MiB) {
			rd_found_(c, "FileOffset ", off, true);
			rd_report_(c, VHDX_R_RGN_OFFSET, eoff + VHDX_RGN_E_OFFSET_OFF);
		}
		if (len == 0 || (len & (VHDX_MiB - 1))) {
			rd_found_(c, "Length ", len, true);
			rd_report_(c, VHDX_R_RGN_LENGTH, eoff + VHDX_RGN_E_LENGTH_OFF);
		}
		if (req & ~VHDX_RGN_REQUIRED) {
			rd_found_(c, "Required ", req, true);
			rd_report_(c, VHDX_R_RGN_REQUIRED_BITS, eoff + VHDX_RGN_E_REQUIRED_OFF);
		}
		if (!is_bat && !is_meta && (req & VHDX_RGN_REQUIRED)) {
			char gt[VHDX_GUID_TEXT_SIZE];

			vhdx_guid_to_text(&g, gt, true);
			rd_found_str_(c, gt, true);
			rd_report_(c, VHDX_R_RGN_UNKNOWN_REQUIRED, eoff);
		}
		if ((is_bat || is_meta) && !(req & VHDX_RGN_REQUIRED)) {
			rd_found_(c, "Required ", req, true);
			rd_report_(c, VHDX_R_RGN_KNOWN_NOT_REQUIRED, eoff + VHDX_RGN_E_REQUIRED_OFF);
		}
		if (off > info->file_size || len > info->file_size - off) {
			rd_found_(c, "region ends at ", off + len, true);
			rd_found_more_(c, ", file ends at ", info->file_size, true);
			rd_report_(c, VHDX_R_RGN_OUTSIDE, eoff + VHDX_RGN_E_OFFSET_OFF);
		}
		if (cur && overlaps(off, len, cur->log_offset, cur->log_length)) {
			rd_found_(c, "region at ", off, true);
			rd_found_more_(c, " overlaps the log at ", cur->log_offset, true);
			rd_report_(c, VHDX_R_HDR_LOG_PLACE, eoff + VHDX_RGN_E_OFFSET_OFF);
		}
		for (k = 0; k < j; k++) {
			const uint8_t *o = p + VHDX_RGN_ENTRIES_OFF + k * VHDX_RGN_ENTRY_SIZE;

			if (guid_eq(o, e)) {
				if (rd_listing_(c, VHDX_R_RGN_DUPLICATE))
					rd_found_(c, "same GUID as entry ", k, false);
				rd_report_(c, VHDX_R_RGN_DUPLICATE, eoff);
			}
			if (overlaps(off, len, vhdx_get_le64(o + VHDX_RGN_E_OFFSET_OFF),
				     vhdx_get_le32(o + VHDX_RGN_E_LENGTH_OFF))) {
				if (rd_listing_(c, VHDX_R_RGN_OVERLAP))
					rd_found_(c, "overlaps entry ", k, false);
				rd_report_(c, VHDX_R_RGN_OVERLAP, eoff + VHDX_RGN_E_OFFSET_OFF);
			}
		}
		if (is_bat && !have_bat) {
			have_bat = true;
			info->bat_offset = off;
			info->bat_length = len;
		}
		if (is_meta && !have_meta) {
			have_meta = true;
			info->meta_offset = off;
			info->meta_length = len;
		}
	}
	if (!have_bat || !have_meta) {
		rd_where_(c, "region table ", which + 1, "");
		rd_found_str_(c, have_bat ? "no metadata region" : "no BAT region", true);
		rd_report_(c, VHDX_R_RGN_MISSING, base);
	}
}

static int region_tables(struct rd_ctx *c)
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

static int run(const struct vhdx_source *src, void *scratch, size_t scratch_len,
	       struct vhdx_info *info, vhdx_finding_fn fn, void *ctx, bool walk_bat)
{
	struct rd_ctx c;
	int err;

	if (!src || !src->read || !scratch || scratch_len < VHDX_READ_SCRATCH_MIN || !info)
		return VHDX_ERR_INVAL;
	vhdx_mem_zero_(info, sizeof(*info));
	vhdx_mem_zero_(&c, sizeof(c));
	info->current_header = -1;
	info->region_table_used = -1;
	info->file_size = src->size;
	c.src = src;
	c.scratch = scratch;
	c.scratch_len = scratch_len;
	c.info = info;
	c.fn = fn;
	c.fn_ctx = ctx;

	err = file_identifier(&c);
	if (!err)
		err = headers(&c);
	if (!err)
		err = region_tables(&c);
	if (!err)
		err = rd_metadata_(&c);
	if (!err && walk_bat)
		err = rd_bat_(&c);
	if (err >= 0)
		report_suppressed(&c);
	return err < 0 ? err : VHDX_OK;
}

int vhdx_check(const struct vhdx_source *src, void *scratch, size_t scratch_len,
	       struct vhdx_info *info, vhdx_finding_fn fn, void *ctx)
{
	return run(src, scratch, scratch_len, info, fn, ctx, true);
}

int vhdx_probe(const struct vhdx_source *src, void *scratch, size_t scratch_len,
	       struct vhdx_info *info)
{
	return run(src, scratch, scratch_len, info, NULL, NULL, false);
}
