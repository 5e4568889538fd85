/* SPDX-License-Identifier: MIT */
/*
 * vhdx_check_meta.c - the checker on the metadata region [2.6]: table,
 * entries, the known items and the parent locator, read with the parsers
 * the decoder uses (vhdx_decode.c) and judged here.  The 64 KiB table
 * sits in scratch[0..64K); items are read through the small-read window
 * at scratch + 64 KiB.
 */
#include "vhdx_check_internal.h"

static bool text_is(const char *s, const char *lit)
{
	size_t n = vhdx_str_len_(lit);

	return vhdx_str_len_(s) == n && vhdx_mem_equal_(s, lit, n);
}

const char *vhdx_info_locator_value(const struct vhdx_info *info, const char *key)
{
	unsigned i, n = info->locator_count;

	if (n > VHDX_INFO_MAX_LOCATOR)
		n = VHDX_INFO_MAX_LOCATOR;
	for (i = 0; i < n; i++) {
		const struct vhdx_info_kv *kv = &info->locator[i];

		if (kv->key_text != VHDX_INFO_NO_TEXT && kv->value_text != VHDX_INFO_NO_TEXT &&
		    text_is(info->text + kv->key_text, key))
			return info->text + kv->value_text;
	}
	return NULL;
}

static void where_entry(struct rd_ctx *c, uint32_t j, const char *name)
{
	struct vhdx_text t;

	vhdx_text_init(&t, c->where, sizeof(c->where));
	vhdx_text_str(&t, "metadata entry ");
	vhdx_text_u64(&t, j);
	if (name) {
		vhdx_text_str(&t, " (");
		vhdx_text_str(&t, name);
		vhdx_text_str(&t, ")");
	}
}

/* Copies a UTF-16LE string of the image into info->text; its index or NO_TEXT. */
static int keep_text(struct rd_ctx *c, uint64_t off, uint16_t bytes, uint16_t *ret)
{
	struct vhdx_info *info = c->info;
	uint8_t raw[1024];
	size_t n = bytes < sizeof(raw) ? bytes : sizeof(raw);
	struct vhdx_text t;
	size_t room = VHDX_INFO_TEXT_SIZE - info->text_used;
	int err;

	*ret = VHDX_INFO_NO_TEXT;
	if (room < 2)
		return 0;
	err = rd_small_(c, off, raw, n);
	if (err)
		return err < 0 ? err : 0;
	vhdx_text_init(&t, info->text + info->text_used, room);
	vhdx_utf16_to_text_(&t, raw, n);
	*ret = info->text_used;
	info->text_used = (uint16_t)(info->text_used + t.pos + 1);
	return 0;
}

static int parent_locator(struct rd_ctx *c, uint64_t base, uint32_t len)
{
	struct vhdx_info *info = c->info;
	uint8_t hdr[VHDX_PL_HEADER_SIZE];
	bool linkage = false, path = false;
	uint32_t count, j, k;
	int err;

	rd_where_(c, "parent locator", UINT64_MAX, "");
	if (len < VHDX_PL_HEADER_SIZE) {
		rd_found_(c, "item length ", len, false);
		rd_report_(c, VHDX_R_PL_LENGTH, base);
		return 0;
	}
	err = rd_small_(c, base, hdr, sizeof(hdr));
	if (err)
		return err < 0 ? err : 0;
	info->has_locator = true;
	vhdx_mem_copy_(&info->locator_type, hdr, 16);
	if (!vhdx_guid_equal(&info->locator_type, &vhdx_guid_locator_type_)) {
		char g[VHDX_GUID_TEXT_SIZE];

		vhdx_guid_to_text(&info->locator_type, g, true);
		rd_found_str_(c, g, true);
		rd_report_(c, VHDX_R_PL_TYPE, base);
	}
	if (vhdx_get_le16(hdr + VHDX_PL_RESERVED_OFF)) {
		rd_found_(c, "", vhdx_get_le16(hdr + VHDX_PL_RESERVED_OFF), true);
		rd_report_(c, VHDX_R_PL_RESERVED, base + VHDX_PL_RESERVED_OFF);
	}
	count = vhdx_get_le16(hdr + VHDX_PL_COUNT_OFF);
	info->locator_count = (uint16_t)count;
	if (VHDX_PL_HEADER_SIZE + (uint64_t)count * VHDX_PL_ENTRY_SIZE > len) {
		rd_found_(c, "KeyValueCount ", count, false);
		rd_found_more_(c, " in an item of ", len, false);
		rd_found_str_(c, " bytes", false);
		rd_report_(c, VHDX_R_PL_LENGTH, base + VHDX_PL_COUNT_OFF);
		count = (len - VHDX_PL_HEADER_SIZE) / VHDX_PL_ENTRY_SIZE;
		info->locator_count = (uint16_t)count;
	}
	for (j = 0; j < count; j++) {
		uint64_t eoff = base + VHDX_PL_HEADER_SIZE + j * VHDX_PL_ENTRY_SIZE;
		uint8_t e[VHDX_PL_ENTRY_SIZE];
		struct vhdx_pl_entry_ pl;
		uint32_t koff, voff;
		uint16_t klen, vlen, ktext = VHDX_INFO_NO_TEXT, vtext = VHDX_INFO_NO_TEXT;

		err = rd_small_(c, eoff, e, sizeof(e));
		if (err)
			return err < 0 ? err : 0;
		vhdx_pl_entry_decode_(e, &pl);
		koff = pl.key_offset;
		voff = pl.value_offset;
		klen = pl.key_length;
		vlen = pl.value_length;
		rd_where_(c, "parent locator entry ", j, "");
		if (!vhdx_pl_entry_ok_(&pl, len)) {
			rd_found_(c, "key ", koff, true);
			rd_found_more_(c, "+", klen, false);
			rd_found_more_(c, ", value ", voff, true);
			rd_found_more_(c, "+", vlen, false);
			rd_report_(c, VHDX_R_PL_ENTRY, eoff);
			if (j < VHDX_INFO_MAX_LOCATOR) {
				info->locator[j].key_text = VHDX_INFO_NO_TEXT;
				info->locator[j].value_text = VHDX_INFO_NO_TEXT;
			}
			continue;
		}
		err = keep_text(c, base + koff, klen, &ktext);
		if (!err)
			err = keep_text(c, base + voff, vlen, &vtext);
		if (err)
			return err;
		if (j < VHDX_INFO_MAX_LOCATOR) {
			struct vhdx_info_kv *kv = &info->locator[j];

			kv->key_offset = base + koff;
			kv->value_offset = base + voff;
			kv->key_length = klen;
			kv->value_length = vlen;
			kv->key_text = ktext;
			kv->value_text = vtext;
			for (k = 0; k < j && ktext != VHDX_INFO_NO_TEXT; k++) {
				uint16_t o = info->locator[k].key_text;

				if (o != VHDX_INFO_NO_TEXT && text_is(info->text + o, info->text + ktext)) {
					rd_found_str_(c, "key ", true);
					rd_found_str_(c, info->text + ktext, false);
					rd_report_(c, VHDX_R_PL_DUPLICATE_KEY, eoff);
				}
			}
		}
		if (ktext == VHDX_INFO_NO_TEXT)
			continue;
		if (text_is(info->text + ktext, "parent_linkage")) {
			struct vhdx_guid g;
			const char *v = vtext == VHDX_INFO_NO_TEXT ? "" : info->text + vtext;
			size_t vl = vhdx_str_len_(v);

			linkage = true;
			if (vl != 38 || v[0] != '{' || vhdx_guid_from_text(&g, v, vl)) {
				rd_found_str_(c, "value \"", true);
				rd_found_str_(c, v, false);
				rd_found_str_(c, "\"", false);
				rd_report_(c, VHDX_R_PL_LINKAGE, base + voff);
			}
		} else if (text_is(info->text + ktext, "relative_path") ||
			   text_is(info->text + ktext, "volume_path") ||
			   text_is(info->text + ktext, "absolute_win32_path")) {
			path = true;
		}
	}
	rd_where_(c, "parent locator", UINT64_MAX, "");
	if (!linkage) {
		rd_found_str_(c, "no parent_linkage key", true);
		rd_report_(c, VHDX_R_PL_LINKAGE, base);
	}
	if (!path) {
		rd_found_str_(c, "no path key", true);
		rd_report_(c, VHDX_R_PL_PATH, base);
	}
	return 0;
}

/* The value of a fixed-length item of @len bytes (8 or 4) [2.6.2]. */
static uint64_t item_value(const uint8_t *v, uint32_t len)
{
	return len == 8 ? vhdx_get_le64(v) : vhdx_get_le32(v);
}

/* Reads and checks the known items; pos[] holds each one's entry index or -1. */
static int known_items(struct rd_ctx *c, const int32_t *pos)
{
	struct vhdx_info *info = c->info;
	const uint8_t *tab = c->scratch;
	bool ok[VHDX_ITEM_COUNT_];
	uint64_t val[VHDX_ITEM_COUNT_];
	uint64_t foff[VHDX_ITEM_COUNT_];
	unsigned i;
	int err;

	/* no aggregate initialisers: they become memset calls on some targets */
	vhdx_mem_zero_(ok, sizeof(ok));
	vhdx_mem_zero_(val, sizeof(val));
	vhdx_mem_zero_(foff, sizeof(foff));

	for (i = 0; i < VHDX_ITEM_COUNT_; i++) {
		struct vhdx_meta_entry_ m;
		uint32_t off, len;
		uint8_t v[16];

		if (pos[i] < 0) {
			if (vhdx_items_[i].required) {
				rd_where_(c, "metadata table", UINT64_MAX, "");
				rd_found_str_(c, "no ", true);
				rd_found_str_(c, vhdx_items_[i].name, false);
				rd_found_str_(c, " item", false);
				rd_report_(c, VHDX_R_META_MISSING, info->meta_offset);
			}
			continue;
		}
		vhdx_meta_entry_decode_(tab, (uint32_t)pos[i], &m);
		off = m.offset;
		len = m.length;
		foff[i] = info->meta_offset + off;
		where_entry(c, (uint32_t)pos[i], vhdx_items_[i].name);
		if (vhdx_items_[i].length && len != vhdx_items_[i].length) {
			rd_found_(c, "Length ", len, false);
			rd_found_more_(c, ", expected ", vhdx_items_[i].length, false);
			rd_report_(c, VHDX_R_META_ITEM_LENGTH,
				   info->meta_offset + VHDX_META_ENTRIES_OFF +
					   (uint32_t)pos[i] * VHDX_META_ENTRY_SIZE + VHDX_META_E_LENGTH_OFF);
			continue;
		}
		/* an item outside the region was reported with the entry */
		if (len == 0 || !vhdx_meta_offset_ok_(&m) || !vhdx_inside_(off, len, info->meta_length))
			continue;
		if (i == VHDX_ITEM_PL_) {
			err = parent_locator(c, foff[i], len);
			if (err)
				return err;
			continue;
		}
		err = rd_small_(c, foff[i], v, len);
		if (err < 0)
			return err;
		if (err > 0)
			continue;
		ok[i] = true;
		if (i == VHDX_ITEM_PAGE83_) {
			vhdx_mem_copy_(&info->page83, v, 16);
			info->has_page83 = true;
		} else {
			val[i] = item_value(v, len);
		}
	}

	if (ok[VHDX_ITEM_FP_]) {
		uint32_t bs = (uint32_t)val[VHDX_ITEM_FP_], flags = (uint32_t)(val[VHDX_ITEM_FP_] >> 32);

		where_entry(c, (uint32_t)pos[VHDX_ITEM_FP_], vhdx_items_[VHDX_ITEM_FP_].name);
		info->block_size = bs;
		info->file_parameters_flags = flags;
		if (!vhdx_block_size_ok_(bs)) {
			rd_found_(c, "BlockSize ", bs, false);
			rd_report_(c, VHDX_R_FP_BLOCK_SIZE, foff[VHDX_ITEM_FP_]);
			ok[VHDX_ITEM_FP_] = false;
		}
		if (flags & ~(uint32_t)VHDX_FP_FLAGS_KNOWN) {
			rd_found_(c, "flags ", flags, true);
			rd_report_(c, VHDX_R_FP_FLAGS, foff[VHDX_ITEM_FP_] + 4);
		}
		info->type = vhdx_type_of_flags_(flags);
	}
	if (ok[VHDX_ITEM_LSS_]) {
		where_entry(c, (uint32_t)pos[VHDX_ITEM_LSS_], vhdx_items_[VHDX_ITEM_LSS_].name);
		info->logical_sector_size = (uint32_t)val[VHDX_ITEM_LSS_];
		if (!vhdx_sector_size_ok_(val[VHDX_ITEM_LSS_])) {
			rd_found_(c, "", val[VHDX_ITEM_LSS_], false);
			rd_report_(c, VHDX_R_LSS_VALUE, foff[VHDX_ITEM_LSS_]);
			ok[VHDX_ITEM_LSS_] = false;
		}
	}
	if (ok[VHDX_ITEM_PSS_]) {
		where_entry(c, (uint32_t)pos[VHDX_ITEM_PSS_], vhdx_items_[VHDX_ITEM_PSS_].name);
		info->physical_sector_size = (uint32_t)val[VHDX_ITEM_PSS_];
		if (!vhdx_sector_size_ok_(val[VHDX_ITEM_PSS_])) {
			rd_found_(c, "", val[VHDX_ITEM_PSS_], false);
			rd_report_(c, VHDX_R_PSS_VALUE, foff[VHDX_ITEM_PSS_]);
		}
	}
	if (ok[VHDX_ITEM_VDS_]) {
		where_entry(c, (uint32_t)pos[VHDX_ITEM_VDS_], vhdx_items_[VHDX_ITEM_VDS_].name);
		info->virtual_size = val[VHDX_ITEM_VDS_];
		if (!vhdx_virtual_size_ok_(val[VHDX_ITEM_VDS_])) {
			rd_found_(c, "", val[VHDX_ITEM_VDS_], false);
			rd_report_(c, VHDX_R_VDS_RANGE, foff[VHDX_ITEM_VDS_]);
			ok[VHDX_ITEM_VDS_] = false;
		} else if (ok[VHDX_ITEM_LSS_] && (val[VHDX_ITEM_VDS_] & (val[VHDX_ITEM_LSS_] - 1))) {
			rd_found_(c, "", val[VHDX_ITEM_VDS_], false);
			rd_found_more_(c, " = ", val[VHDX_ITEM_VDS_] & (val[VHDX_ITEM_LSS_] - 1), false);
			rd_found_more_(c, " bytes past a multiple of ", val[VHDX_ITEM_LSS_], false);
			rd_report_(c, VHDX_R_VDS_MULTIPLE, foff[VHDX_ITEM_VDS_]);
		}
	}
	if (pos[VHDX_ITEM_FP_] >= 0 && info->type == VHDX_TYPE_DIFFERENCING && pos[VHDX_ITEM_PL_] < 0) {
		rd_where_(c, "metadata table", UINT64_MAX, "");
		rd_found_str_(c, "HasParent set, no Parent Locator item", true);
		rd_report_(c, VHDX_R_PL_MISSING, info->meta_offset);
	}
	if (pos[VHDX_ITEM_PL_] >= 0 && ok[VHDX_ITEM_FP_] && info->type != VHDX_TYPE_DIFFERENCING) {
		where_entry(c, (uint32_t)pos[VHDX_ITEM_PL_], vhdx_items_[VHDX_ITEM_PL_].name);
		rd_found_str_(c, "HasParent clear", true);
		rd_report_(c, VHDX_R_PL_UNEXPECTED, foff[VHDX_ITEM_PL_]);
	}
	/* a size off a sector multiple was reported (vds.multiple); the BAT is
	 * still walked, for the size rounded up to the sector: the block counts
	 * are the same, since a block is a multiple of the sector */
	if (ok[VHDX_ITEM_FP_] && ok[VHDX_ITEM_VDS_] && ok[VHDX_ITEM_LSS_])
		info->geometry_ok = vhdx_geometry_init(&info->geom,
						       VHDX_ALIGN_UP(info->virtual_size, info->logical_sector_size),
						       info->block_size, info->logical_sector_size,
						       info->type == VHDX_TYPE_DIFFERENCING) == VHDX_OK;
	return 0;
}

int rd_metadata_(struct rd_ctx *c)
{
	struct vhdx_info *info = c->info;
	const uint8_t *tab = c->scratch;
	uint64_t base = info->meta_offset;
	int32_t pos[VHDX_ITEM_COUNT_];
	uint32_t count, j, k;
	int err;

	if (!base || info->meta_length < VHDX_META_TABLE_SIZE)
		return 1;
	rd_where_(c, "metadata table", UINT64_MAX, "");
	err = rd_read_(c, base, c->scratch, VHDX_META_TABLE_SIZE);
	if (err)
		return err; /* > 0: outside the file, reported with the region */
	if (!vhdx_mem_equal_(tab, VHDX_META_SIGNATURE, 8)) {
		rd_found_sig_(c, tab, 8);
		rd_report_(c, VHDX_R_META_SIGNATURE, base);
		return 1;
	}
	if (vhdx_get_le16(tab + VHDX_META_RESERVED_OFF)) {
		rd_found_(c, "", vhdx_get_le16(tab + VHDX_META_RESERVED_OFF), true);
		rd_report_(c, VHDX_R_META_RESERVED, base + VHDX_META_RESERVED_OFF);
	}
	for (k = 0; k < 20; k++) {
		if (tab[VHDX_META_RESERVED2_OFF + k]) {
			rd_found_(c, "byte ", VHDX_META_RESERVED2_OFF + k, false);
			rd_found_more_(c, " = ", tab[VHDX_META_RESERVED2_OFF + k], true);
			rd_report_(c, VHDX_R_META_RESERVED, base + VHDX_META_RESERVED2_OFF + k);
			break;
		}
	}
	count = vhdx_get_le16(tab + VHDX_META_COUNT_OFF);
	if (count > VHDX_META_MAX_ENTRIES) {
		rd_found_(c, "", count, false);
		rd_report_(c, VHDX_R_META_COUNT, base + VHDX_META_COUNT_OFF);
		count = VHDX_META_MAX_ENTRIES;
	}
	info->meta_count = count;
	for (j = 0; j < count; j++) {
		const uint8_t *e = tab + VHDX_META_ENTRIES_OFF + j * VHDX_META_ENTRY_SIZE;
		uint64_t eoff = base + VHDX_META_ENTRIES_OFF + j * VHDX_META_ENTRY_SIZE;
		struct vhdx_meta_entry_ m;
		uint32_t off, len, flags;
		int kind;

		vhdx_meta_entry_decode_(tab, j, &m);
		off = m.offset;
		len = m.length;
		flags = m.flags;
		kind = m.kind;
		if (j < VHDX_INFO_MAX_ITEMS) {
			vhdx_mem_copy_(&info->items[j].id, &m.id, sizeof(m.id));
			info->items[j].offset = off;
			info->items[j].length = len;
			info->items[j].flags = flags;
		}
		where_entry(c, j, kind >= 0 ? vhdx_items_[kind].name : NULL);
		if (!vhdx_meta_offset_ok_(&m)) {
			rd_found_(c, "Offset ", off, true);
			rd_found_more_(c, ", Length ", len, false);
			rd_report_(c, VHDX_R_META_ENTRY_OFFSET, eoff + VHDX_META_E_OFFSET_OFF);
		}
		if (!vhdx_meta_inside_(&m, info->meta_length)) {
			rd_found_(c, "Offset ", off, true);
			rd_found_more_(c, ", Length ", len, false);
			rd_found_more_(c, ", region length ", info->meta_length, false);
			rd_report_(c, VHDX_R_META_ENTRY_LENGTH, eoff + VHDX_META_E_LENGTH_OFF);
		}
		if (flags & ~(uint32_t)(VHDX_META_IS_USER | VHDX_META_IS_VIRTUAL_DISK |
					VHDX_META_IS_REQUIRED)) {
			rd_found_(c, "flags ", flags, true);
			rd_report_(c, VHDX_R_META_FLAGS_RESERVED, eoff + VHDX_META_E_FLAGS_OFF);
		}
		if (m.reserved) {
			rd_found_(c, "", m.reserved, true);
			rd_report_(c, VHDX_R_META_ENTRY_RESERVED, eoff + VHDX_META_E_RESERVED_OFF);
		}
		if (kind >= 0 && (flags & 7u) != vhdx_items_[kind].flags) {
			rd_found_(c, "flags ", flags & 7u, true);
			rd_found_more_(c, ", expected ", vhdx_items_[kind].flags, true);
			rd_report_(c, VHDX_R_META_FLAGS, eoff + VHDX_META_E_FLAGS_OFF);
		}
		if (kind < 0 && (flags & VHDX_META_IS_REQUIRED)) {
			char g[VHDX_GUID_TEXT_SIZE];

			vhdx_guid_to_text(&m.id, g, true);
			rd_found_str_(c, g, true);
			rd_report_(c, VHDX_R_META_UNKNOWN_REQUIRED, eoff);
		}
		for (k = 0; k < j; k++) {
			const uint8_t *o = tab + VHDX_META_ENTRIES_OFF + k * VHDX_META_ENTRY_SIZE;
			uint32_t ooff = vhdx_get_le32(o + VHDX_META_E_OFFSET_OFF);
			uint32_t olen = vhdx_get_le32(o + VHDX_META_E_LENGTH_OFF);
			uint32_t oflags = vhdx_get_le32(o + VHDX_META_E_FLAGS_OFF);

			if (vhdx_guid_bytes_equal_(o + VHDX_META_E_ID_OFF, e + VHDX_META_E_ID_OFF) &&
			    ((oflags ^ flags) & VHDX_META_IS_USER) == 0) {
				if (rd_listing_(c, VHDX_R_META_DUPLICATE))
					rd_found_(c, "same ItemId and IsUser as entry ", k, false);
				rd_report_(c, VHDX_R_META_DUPLICATE, eoff);
			}
			if (vhdx_overlaps_(off, len, ooff, olen)) {
				if (rd_listing_(c, VHDX_R_META_OVERLAP))
					rd_found_(c, "overlaps entry ", k, false);
				rd_report_(c, VHDX_R_META_OVERLAP, eoff + VHDX_META_E_OFFSET_OFF);
			}
		}
	}
	vhdx_meta_find_items_(tab, count, pos);
	return known_items(c, pos);
}
