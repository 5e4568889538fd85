/* SPDX-License-Identifier: MIT */
/*
 * vhdx_plan.c - parameter validation and Windows' layout (VHDX-FORMAT.md
 * section 1): log @ 1 MiB, metadata 1 MiB after it, BAT after the
 * metadata rounded up to 1 MiB, payload from the next MiB.
 */
#include "vhdx_internal.h"

/* [byte] FP 8 + VDS 8 + LSS 4 + PSS 4 + Page83 16: the parent locator follows them */
#define META_FIXED_ITEMS_SIZE (vhdx_items_[VHDX_ITEM_PL_].windows_offset - VHDX_META_TABLE_SIZE)

/* arrays, not pointers: no load-time relocation (tests/freestanding.sh) */
static const char locator_path_keys[][sizeof("absolute_win32_path")] = {
	"relative_path", "volume_path", "absolute_win32_path",
};

static int fail(char *why, size_t why_len, int err, const char *a, uint64_t n, const char *b)
{
	struct vhdx_text t;

	vhdx_text_init(&t, why, why_len);
	vhdx_text_str(&t, a);
	if (b) {
		vhdx_text_size(&t, n);
		vhdx_text_str(&t, b);
	}
	return err;
}

static bool str_equal(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* Validates the locator strings and returns the item's size [byte]. */
static int plan_locator(const struct vhdx_params *p, uint32_t *ret_size, char *why, size_t why_len)
{
	uint64_t size = VHDX_PL_HEADER_SIZE;
	bool linkage = false, path = false;
	size_t i, j, k;

	if (p->parent_locator_count == 0 || !p->parent_locator)
		return fail(why, why_len, VHDX_ERR_INVAL,
			    "a differencing image needs a parent locator (2.6.2.6)", 0, NULL);
	if (p->parent_locator_count > 0xFFFF)
		return fail(why, why_len, VHDX_ERR_RANGE,
			    "parent locator: more than 65535 entries (2.6.2.6)", 0, NULL);
	size += (uint64_t)VHDX_PL_ENTRY_SIZE * p->parent_locator_count;
	for (i = 0; i < p->parent_locator_count; i++) {
		const struct vhdx_kv *kv = &p->parent_locator[i];
		long ku, vu;

		if (!kv->key || !kv->value)
			return fail(why, why_len, VHDX_ERR_INVAL, "parent locator: NULL key or value", 0, NULL);
		ku = vhdx_emit_utf16_(NULL, kv->key);
		vu = vhdx_emit_utf16_(NULL, kv->value);
		if (ku < 0 || vu < 0)
			return fail(why, why_len, VHDX_ERR_INVAL,
				    "parent locator: key or value is not valid UTF-8", 0, NULL);
		if (ku == 0 || vu == 0)
			return fail(why, why_len, VHDX_ERR_INVAL,
				    "parent locator: keys and values must not be empty (2.6.2.6.2)", 0, NULL);
		if (ku * 2 > 0xFFFF || vu * 2 > 0xFFFF)
			return fail(why, why_len, VHDX_ERR_RANGE,
				    "parent locator: a key or value is longer than 65535 bytes (2.6.2.6.2)", 0, NULL);
		for (j = 0; j < i; j++)
			if (str_equal(p->parent_locator[j].key, kv->key))
				return fail(why, why_len, VHDX_ERR_INVAL,
					    "parent locator: duplicate key (2.6.2.6)", 0, NULL);
		if (str_equal(kv->key, "parent_linkage"))
			linkage = true;
		for (k = 0; k < VHDX_ARRAY_SIZE(locator_path_keys); k++)
			if (str_equal(kv->key, locator_path_keys[k]))
				path = true;
		size += 2 * (uint64_t)(ku + vu);
	}
	if (!linkage)
		return fail(why, why_len, VHDX_ERR_INVAL,
			    "parent locator: parent_linkage is required (2.6.2.6.3)", 0, NULL);
	if (!path)
		return fail(why, why_len, VHDX_ERR_INVAL,
			    "parent locator: needs relative_path, volume_path or absolute_win32_path (2.6.2.6.3)",
			    0, NULL);
	if (size > VHDX_MiB - VHDX_META_TABLE_SIZE - META_FIXED_ITEMS_SIZE)
		return fail(why, why_len, VHDX_ERR_RANGE,
			    "parent locator: does not fit the 1 MiB metadata region", 0, NULL);
	*ret_size = (uint32_t)size;
	return VHDX_OK;
}

int vhdx_plan_init(struct vhdx_plan *ret, const struct vhdx_params *p, char *why, size_t why_len)
{
	struct vhdx_plan plan;
	int err;
	long creator_units;

	if (why && why_len)
		why[0] = '\0';
	if (!ret || !p)
		return fail(why, why_len, VHDX_ERR_INVAL, "NULL argument", 0, NULL);
	vhdx_mem_zero_(&plan, sizeof(plan));
	vhdx_mem_copy_(&plan.params, p, sizeof(plan.params));
	p = &plan.params;
	if (p->type != VHDX_TYPE_DYNAMIC && p->type != VHDX_TYPE_FIXED &&
	    p->type != VHDX_TYPE_DIFFERENCING)
		return fail(why, why_len, VHDX_ERR_INVAL, "type must be dynamic, fixed or differencing", 0, NULL);
	if (!p->block_size)
		plan.params.block_size = p->type == VHDX_TYPE_DIFFERENCING ?
			VHDX_DEFAULT_DIFF_BLOCK_SIZE : VHDX_DEFAULT_BLOCK_SIZE;
	if (!p->logical_sector_size)
		plan.params.logical_sector_size = VHDX_DEFAULT_LOGICAL_SECTOR;
	if (!p->physical_sector_size)
		plan.params.physical_sector_size = VHDX_DEFAULT_PHYSICAL_SECTOR;
	if (!p->log_size)
		plan.params.log_size = VHDX_DEFAULT_LOG_SIZE;
	if (!p->creator)
		plan.params.creator = "vhdx " VHDX_VERSION;

	if (!VHDX_IS_POW2(p->block_size) || p->block_size < VHDX_BLOCK_SIZE_MIN ||
	    p->block_size > VHDX_BLOCK_SIZE_MAX)
		return fail(why, why_len, VHDX_ERR_INVAL, "block size ", p->block_size,
			    " is not a power of two from 1 MiB to 256 MiB (2.6.2.1)");
	if (p->logical_sector_size != 512 && p->logical_sector_size != 4096)
		return fail(why, why_len, VHDX_ERR_INVAL, "logical sector size ", p->logical_sector_size,
			    " is not 512 or 4096 (2.6.2.4)");
	if (p->physical_sector_size != 512 && p->physical_sector_size != 4096)
		return fail(why, why_len, VHDX_ERR_INVAL, "physical sector size ", p->physical_sector_size,
			    " is not 512 or 4096 (2.6.2.5)");
	if (p->log_size % VHDX_MiB)
		return fail(why, why_len, VHDX_ERR_INVAL, "log size ", p->log_size,
			    " is not a multiple of 1 MiB (2.2.2)");
	if (p->log_size > VHDX_LOG_SIZE_MAX)
		return fail(why, why_len, VHDX_ERR_RANGE, "log size ", p->log_size,
			    " is larger than 4095 MiB");
	if (p->virtual_size == 0)
		return fail(why, why_len, VHDX_ERR_RANGE,
			    "virtual size must be at least one logical sector (2.6.2.2)", 0, NULL);
	if (p->virtual_size > VHDX_VIRTUAL_SIZE_MAX)
		return fail(why, why_len, VHDX_ERR_RANGE, "virtual size ", p->virtual_size,
			    " is larger than 64 TiB (2.6.2.2)");
	if (p->virtual_size & (p->logical_sector_size - 1)) {
		struct vhdx_text t;

		vhdx_text_init(&t, why, why_len);
		vhdx_text_str(&t, "virtual size ");
		vhdx_text_u64(&t, p->virtual_size);
		vhdx_text_str(&t, " is not a multiple of the logical sector size ");
		vhdx_text_u64(&t, p->logical_sector_size);
		vhdx_text_str(&t, " (remainder ");
		vhdx_text_u64(&t, p->virtual_size & (p->logical_sector_size - 1));
		vhdx_text_str(&t, ") (2.6.2.2)");
		return VHDX_ERR_INVAL;
	}
	if (p->zero_blocks && p->type != VHDX_TYPE_DYNAMIC)
		return fail(why, why_len, VHDX_ERR_INVAL, "zero blocks apply to dynamic images only", 0, NULL);
	if (p->leave_payload && p->type != VHDX_TYPE_FIXED)
		return fail(why, why_len, VHDX_ERR_INVAL, "leaving the payload unzeroed applies to fixed images only",
			    0, NULL);
	if (p->type != VHDX_TYPE_DIFFERENCING && p->parent_locator_count)
		return fail(why, why_len, VHDX_ERR_INVAL, "a parent locator applies to differencing images only",
			    0, NULL);
	creator_units = vhdx_emit_utf16_(NULL, p->creator);
	if (creator_units < 0)
		return fail(why, why_len, VHDX_ERR_INVAL, "creator is not valid UTF-8", 0, NULL);
	if (creator_units > (long)VHDX_CREATOR_MAX_UNITS)
		return fail(why, why_len, VHDX_ERR_RANGE, "creator is longer than 255 UTF-16 units (2.2.1)", 0,
			    NULL);
	plan.creator_units = (uint32_t)creator_units;
	if (p->type == VHDX_TYPE_DIFFERENCING) {
		err = plan_locator(p, &plan.locator_size, why, why_len);
		if (err)
			return err;
	}

	/* the parameters were checked above, each with its own reason */
	err = vhdx_geometry_init(&plan.geom, p->virtual_size, p->block_size, p->logical_sector_size,
				 p->type == VHDX_TYPE_DIFFERENCING);
	VHDX_ASSERT(err == VHDX_OK);
	if (err)
		return fail(why, why_len, err, "geometry", 0, NULL);

	plan.log_offset = VHDX_HEADER_SECTION_SIZE;
	plan.log_length = p->log_size;
	plan.meta_offset = plan.log_offset + plan.log_length;
	plan.meta_length = VHDX_MiB;
	plan.bat_offset = plan.meta_offset + plan.meta_length;
	plan.bat_length = VHDX_ALIGN_UP(plan.geom.bat_bytes, VHDX_MiB);
	plan.data_offset = plan.bat_offset + plan.bat_length;
	plan.file_size = plan.data_offset;
	if (p->type == VHDX_TYPE_FIXED)
		plan.file_size += plan.geom.payload_blocks << plan.geom.block_shift;
	plan.meta_entry_count = p->type == VHDX_TYPE_DIFFERENCING ? 6 : 5;
	plan.meta_items_size = META_FIXED_ITEMS_SIZE + plan.locator_size;
	vhdx_mem_copy_(ret, &plan, sizeof(plan));
	return VHDX_OK;
}

int vhdx_plan_largest_fixed(struct vhdx_plan *ret, const struct vhdx_params *p, uint64_t capacity,
			    char *why, size_t why_len)
{
	struct vhdx_params probe;
	struct vhdx_plan plan, best;
	uint64_t lo = 1, hi, bs;
	int err;

	vhdx_mem_copy_(&probe, p, sizeof(probe));
	probe.type = VHDX_TYPE_FIXED;
	if (!probe.block_size)
		probe.block_size = VHDX_DEFAULT_BLOCK_SIZE;
	bs = probe.block_size;
	probe.virtual_size = bs;
	err = vhdx_plan_init(&best, &probe, why, why_len);
	if (err)
		return err;
	if (best.file_size > capacity) {
		struct vhdx_text t;

		vhdx_text_init(&t, why, why_len);
		vhdx_text_str(&t, "target too small: the smallest fixed image with ");
		vhdx_text_size(&t, bs);
		vhdx_text_str(&t, " blocks needs ");
		vhdx_text_size(&t, best.file_size);
		vhdx_text_str(&t, ", the target has ");
		vhdx_text_size(&t, capacity);
		return VHDX_ERR_DEVFULL;
	}
	/* file size grows with the block count: binary search the largest */
	hi = VHDX_VIRTUAL_SIZE_MAX >> vhdx_log2_(bs);
	while (lo < hi) {
		uint64_t mid = lo + ((hi - lo + 1) >> 1);

		probe.virtual_size = mid << vhdx_log2_(bs);
		err = vhdx_plan_init(&plan, &probe, why, why_len);
		if (err)
			return err;
		if (plan.file_size <= capacity) {
			lo = mid;
			vhdx_mem_copy_(&best, &plan, sizeof(best));
		} else {
			hi = mid - 1;
		}
	}
	vhdx_mem_copy_(ret, &best, sizeof(best));
	return VHDX_OK;
}
