/* SPDX-License-Identifier: MIT */
/*
 * vhdx_read_meta.c - the metadata region [2.6]: table, entries, the known
 * items and the parent locator.  The 64 KiB table sits in scratch[0..64K);
 * items are read through the small-read window at scratch + 64 KiB.
 */
#include "vhdx_read_internal.h"

enum item_kind { IT_FP, IT_VDS, IT_LSS, IT_PSS, IT_PAGE83, IT_PL, IT_COUNT };

struct known_item {
	struct vhdx_guid id;
	char name[24];
	uint32_t flags;    /* IsUser 1, IsVirtualDisk 2, IsRequired 4 [2.6.2] */
	uint32_t length;   /* [byte]; 0: variable */
	bool required;     /* must be present (the locator: when HasParent) */
};

static const struct known_item known[IT_COUNT] = {
	[IT_FP] = { VHDX_GUID_FILE_PARAMETERS, "File Parameters", VHDX_META_IS_REQUIRED, 8, true },
	[IT_VDS] = { VHDX_GUID_VIRTUAL_DISK_SIZE, "Virtual Disk Size",
		     VHDX_META_IS_REQUIRED | VHDX_META_IS_VIRTUAL_DISK, 8, true },
	[IT_LSS] = { VHDX_GUID_LOGICAL_SECTOR_SIZE, "Logical Sector Size",
		     VHDX_META_IS_REQUIRED | VHDX_META_IS_VIRTUAL_DISK, 4, true },
	[IT_PSS] = { VHDX_GUID_PHYSICAL_SECTOR_SIZE, "Physical Sector Size",
		     VHDX_META_IS_REQUIRED | VHDX_META_IS_VIRTUAL_DISK, 4, true },
	[IT_PAGE83] = { VHDX_GUID_VIRTUAL_DISK_ID, "Virtual Disk ID",
			VHDX_META_IS_REQUIRED | VHDX_META_IS_VIRTUAL_DISK, 16, true },
	[IT_PL] = { VHDX_GUID_PARENT_LOCATOR, "Parent Locator", VHDX_META_IS_REQUIRED, 0, false },
};

static const struct vhdx_guid guid_bat = VHDX_GUID_BAT_REGION;
static const struct vhdx_guid guid_meta = VHDX_GUID_METADATA_REGION;
static const struct vhdx_guid guid_locator_type = VHDX_GUID_VHDX_LOCATOR_TYPE;

const char *vhdx_item_name(const struct vhdx_guid *g)
{
	unsigned i;

	for (i = 0; i < IT_COUNT; i++)
		if (vhdx_guid_equal(g, &known[i].id))
			return known[i].name;
	return NULL;
}

const char *vhdx_region_name(const struct vhdx_guid *g)
{
	if (vhdx_guid_equal(g, &guid_bat))
		return "BAT";
	if (vhdx_guid_equal(g, &guid_meta))
		return "Metadata";
	return NULL;
}

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
	rd_utf16_to_text_(&t, raw, n);
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
	if (!vhdx_guid_equal(&info->locator_type, &guid_locator_type)) {
		char g[VHDX_GUID_TEXT_SIZE];

		vhdx_guid_to_text(&info->locator_type, g, true);
		rd_found_str_(c, g, true);
		rd_report_(c, VHDX_R_PL_TYPE, base);
	}
	if (vhdx_get_le16(hdr + 16)) {
		rd_found_(c, "", vhdx_get_le16(hdr + 16), true);
		rd_report_(c, VHDX_R_PL_RESERVED, base + 16);
	}
	count = vhdx_get_le16(hdr + 18);
	info->locator_count = (uint16_t)count;
	if (VHDX_PL_HEADER_SIZE + (uint64_t)count * VHDX_PL_ENTRY_SIZE > len) {
		rd_found_(c, "KeyValueCount ", count, false);
		rd_found_more_(c, " in an item of ", len, false);
		rd_found_str_(c, " bytes", false);
		rd_report_(c, VHDX_R_PL_LENGTH, base + 18);
		count = (len - VHDX_PL_HEADER_SIZE) / VHDX_PL_ENTRY_SIZE;
		info->locator_count = (uint16_t)count;
	}
	for (j = 0; j < count; j++) {
		uint64_t eoff = base + VHDX_PL_HEADER_SIZE + j * VHDX_PL_ENTRY_SIZE;
		uint8_t e[VHDX_PL_ENTRY_SIZE];
		uint32_t koff, voff;
		uint16_t klen, vlen, ktext = VHDX_INFO_NO_TEXT, vtext = VHDX_INFO_NO_TEXT;

		err = rd_small_(c, eoff, e, sizeof(e));
		if (err)
			return err < 0 ? err : 0;
		koff = vhdx_get_le32(e);
		voff = vhdx_get_le32(e + 4);
		klen = vhdx_get_le16(e + 8);
		vlen = vhdx_get_le16(e + 10);
		rd_where_(c, "parent locator entry ", j, "");
		if (!klen || !vlen || (klen & 1) || (vlen & 1) || koff > len || klen > len - koff ||
		    voff > len || vlen > len - voff) {
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

static uint64_t item_value(const uint8_t *v, uint32_t len)
{
	return len == 8 ? vhdx_get_le64(v) : vhdx_get_le32(v);
}

/* Reads and checks the known items; pos[] holds each one's entry index or -1. */
static int known_items(struct rd_ctx *c, const int32_t *pos)
{
	struct vhdx_info *info = c->info;
	const uint8_t *tab = c->scratch;
	bool ok[IT_COUNT];
	uint64_t val[IT_COUNT];
	uint64_t foff[IT_COUNT];
	unsigned i;
	int err;

	/* no aggregate initialisers: they become memset calls on some targets */
	vhdx_mem_zero_(ok, sizeof(ok));
	vhdx_mem_zero_(val, sizeof(val));
	vhdx_mem_zero_(foff, sizeof(foff));

	for (i = 0; i < IT_COUNT; i++) {
		const uint8_t *e;
		uint32_t off, len;
		uint8_t v[16];

		if (pos[i] < 0) {
			if (known[i].required) {
				rd_where_(c, "metadata table", UINT64_MAX, "");
				rd_found_str_(c, "no ", true);
				rd_found_str_(c, known[i].name, false);
				rd_found_str_(c, " item", false);
				rd_report_(c, VHDX_R_META_MISSING, info->meta_offset);
			}
			continue;
		}
		e = tab + VHDX_META_ENTRIES_OFF + (uint32_t)pos[i] * VHDX_META_ENTRY_SIZE;
		off = vhdx_get_le32(e + VHDX_META_E_OFFSET_OFF);
		len = vhdx_get_le32(e + VHDX_META_E_LENGTH_OFF);
		foff[i] = info->meta_offset + off;
		where_entry(c, (uint32_t)pos[i], known[i].name);
		if (known[i].length && len != known[i].length) {
			rd_found_(c, "Length ", len, false);
			rd_found_more_(c, ", expected ", known[i].length, false);
			rd_report_(c, VHDX_R_META_ITEM_LENGTH,
				   info->meta_offset + VHDX_META_ENTRIES_OFF +
					   (uint32_t)pos[i] * VHDX_META_ENTRY_SIZE + VHDX_META_E_LENGTH_OFF);
			continue;
		}
		/* an item outside the region was reported with the entry */
		if (len == 0 || off < VHDX_META_TABLE_SIZE || off > info->meta_length ||
		    len > info->meta_length - off)
			continue;
		if (i == IT_PL) {
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
		if (i == IT_PAGE83) {
			vhdx_mem_copy_(&info->page83, v, 16);
			info->has_page83 = true;
		} else {
			val[i] = item_value(v, len);
		}
	}

	if (ok[IT_FP]) {
		uint32_t bs = (uint32_t)val[IT_FP], flags = (uint32_t)(val[IT_FP] >> 32);

		where_entry(c, (uint32_t)pos[IT_FP], known[IT_FP].name);
		info->block_size = bs;
		info->file_parameters_flags = flags;
		if (!VHDX_IS_POW2(bs) || bs < VHDX_BLOCK_SIZE_MIN || bs > VHDX_BLOCK_SIZE_MAX) {
			rd_found_(c, "BlockSize ", bs, false);
			rd_report_(c, VHDX_R_FP_BLOCK_SIZE, foff[IT_FP]);
			ok[IT_FP] = false;
		}
		if (flags & ~(VHDX_FP_LEAVE_BLOCKS_ALLOCATED | VHDX_FP_HAS_PARENT)) {
			rd_found_(c, "flags ", flags, true);
			rd_report_(c, VHDX_R_FP_FLAGS, foff[IT_FP] + 4);
		}
		info->type = (flags & VHDX_FP_HAS_PARENT) ? VHDX_TYPE_DIFFERENCING :
			     (flags & VHDX_FP_LEAVE_BLOCKS_ALLOCATED) ? VHDX_TYPE_FIXED :
			     VHDX_TYPE_DYNAMIC;
	}
	if (ok[IT_LSS]) {
		where_entry(c, (uint32_t)pos[IT_LSS], known[IT_LSS].name);
		info->logical_sector_size = (uint32_t)val[IT_LSS];
		if (val[IT_LSS] != 512 && val[IT_LSS] != 4096) {
			rd_found_(c, "", val[IT_LSS], false);
			rd_report_(c, VHDX_R_LSS_VALUE, foff[IT_LSS]);
			ok[IT_LSS] = false;
		}
	}
	if (ok[IT_PSS]) {
		where_entry(c, (uint32_t)pos[IT_PSS], known[IT_PSS].name);
		info->physical_sector_size = (uint32_t)val[IT_PSS];
		if (val[IT_PSS] != 512 && val[IT_PSS] != 4096) {
			rd_found_(c, "", val[IT_PSS], false);
			rd_report_(c, VHDX_R_PSS_VALUE, foff[IT_PSS]);
		}
	}
	if (ok[IT_VDS]) {
		where_entry(c, (uint32_t)pos[IT_VDS], known[IT_VDS].name);
		info->virtual_size = val[IT_VDS];
		if (val[IT_VDS] == 0 || val[IT_VDS] > VHDX_VIRTUAL_SIZE_MAX) {
			rd_found_(c, "", val[IT_VDS], false);
			rd_report_(c, VHDX_R_VDS_RANGE, foff[IT_VDS]);
			ok[IT_VDS] = false;
		} else if (ok[IT_LSS] && (val[IT_VDS] & (val[IT_LSS] - 1))) {
			rd_found_(c, "", val[IT_VDS], false);
			rd_found_more_(c, " = ", val[IT_VDS] & (val[IT_LSS] - 1), false);
			rd_found_more_(c, " bytes past a multiple of ", val[IT_LSS], false);
			rd_report_(c, VHDX_R_VDS_MULTIPLE, foff[IT_VDS]);
		}
	}
	if (pos[IT_FP] >= 0 && info->type == VHDX_TYPE_DIFFERENCING && pos[IT_PL] < 0) {
		rd_where_(c, "metadata table", UINT64_MAX, "");
		rd_found_str_(c, "HasParent set, no Parent Locator item", true);
		rd_report_(c, VHDX_R_PL_MISSING, info->meta_offset);
	}
	if (pos[IT_PL] >= 0 && ok[IT_FP] && info->type != VHDX_TYPE_DIFFERENCING) {
		where_entry(c, (uint32_t)pos[IT_PL], known[IT_PL].name);
		rd_found_str_(c, "HasParent clear", true);
		rd_report_(c, VHDX_R_PL_UNEXPECTED, foff[IT_PL]);
	}
	/* a size off a sector multiple was reported (vds.multiple); the BAT is
	 * still walked, for the size rounded up to the sector: the block counts
	 * are the same, since a block is a multiple of the sector */
	if (ok[IT_FP] && ok[IT_VDS] && ok[IT_LSS])
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
	int32_t pos[IT_COUNT];
	uint32_t count, j, k;
	unsigned i;
	int err;

	for (i = 0; i < IT_COUNT; i++)
		pos[i] = -1;
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
		struct vhdx_guid id;
		uint32_t off = vhdx_get_le32(e + VHDX_META_E_OFFSET_OFF);
		uint32_t len = vhdx_get_le32(e + VHDX_META_E_LENGTH_OFF);
		uint32_t flags = vhdx_get_le32(e + VHDX_META_E_FLAGS_OFF);
		uint32_t rsv = vhdx_get_le32(e + VHDX_META_E_RESERVED_OFF);
		int kind = -1;

		vhdx_mem_copy_(&id, e, 16);
		for (i = 0; i < IT_COUNT; i++)
			if (vhdx_guid_equal(&id, &known[i].id))
				kind = (int)i;
		if (j < VHDX_INFO_MAX_ITEMS) {
			vhdx_mem_copy_(&info->items[j].id, &id, sizeof(id));
			info->items[j].offset = off;
			info->items[j].length = len;
			info->items[j].flags = flags;
		}
		where_entry(c, j, kind >= 0 ? known[kind].name : NULL);
		if ((len == 0 && off != 0) || (len != 0 && off < VHDX_META_TABLE_SIZE)) {
			rd_found_(c, "Offset ", off, true);
			rd_found_more_(c, ", Length ", len, false);
			rd_report_(c, VHDX_R_META_ENTRY_OFFSET, eoff + VHDX_META_E_OFFSET_OFF);
		}
		if (len > VHDX_META_ITEM_MAX_LENGTH || off > info->meta_length ||
		    len > info->meta_length - off) {
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
		if (rsv) {
			rd_found_(c, "", rsv, true);
			rd_report_(c, VHDX_R_META_ENTRY_RESERVED, eoff + VHDX_META_E_RESERVED_OFF);
		}
		if (kind >= 0 && (flags & 7u) != known[kind].flags) {
			rd_found_(c, "flags ", flags & 7u, true);
			rd_found_more_(c, ", expected ", known[kind].flags, true);
			rd_report_(c, VHDX_R_META_FLAGS, eoff + VHDX_META_E_FLAGS_OFF);
		}
		if (kind < 0 && (flags & VHDX_META_IS_REQUIRED)) {
			char g[VHDX_GUID_TEXT_SIZE];

			vhdx_guid_to_text(&id, g, true);
			rd_found_str_(c, g, true);
			rd_report_(c, VHDX_R_META_UNKNOWN_REQUIRED, eoff);
		}
		for (k = 0; k < j; k++) {
			const uint8_t *o = tab + VHDX_META_ENTRIES_OFF + k * VHDX_META_ENTRY_SIZE;
			uint32_t ooff = vhdx_get_le32(o + VHDX_META_E_OFFSET_OFF);
			uint32_t olen = vhdx_get_le32(o + VHDX_META_E_LENGTH_OFF);
			uint32_t oflags = vhdx_get_le32(o + VHDX_META_E_FLAGS_OFF);

			if (vhdx_get_le64(o) == vhdx_get_le64(e) && vhdx_get_le64(o + 8) == vhdx_get_le64(e + 8) &&
			    ((oflags ^ flags) & VHDX_META_IS_USER) == 0) {
				if (rd_listing_(c, VHDX_R_META_DUPLICATE))
					rd_found_(c, "same ItemId and IsUser as entry ", k, false);
				rd_report_(c, VHDX_R_META_DUPLICATE, eoff);
			}
			if (len && olen && (uint64_t)off < (uint64_t)ooff + olen &&
			    (uint64_t)ooff < (uint64_t)off + len) {
				if (rd_listing_(c, VHDX_R_META_OVERLAP))
					rd_found_(c, "overlaps entry ", k, false);
				rd_report_(c, VHDX_R_META_OVERLAP, eoff + VHDX_META_E_OFFSET_OFF);
			}
		}
		/* a system item must not be IsUser; the first one counts */
		if (kind >= 0 && !(flags & VHDX_META_IS_USER) && pos[kind] < 0)
			pos[kind] = (int32_t)j;
	}
	return known_items(c, pos);
}
