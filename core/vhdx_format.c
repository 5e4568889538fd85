/* SPDX-License-Identifier: MIT */
/*
 * vhdx_format.c - the format's tables, each written once: the GUIDs that
 * name regions and the locator type [3], and the known metadata items
 * [2.6.2] with their flags, lengths, names and Windows' offsets.  The
 * encoder writes from these tables; the decoder and the checker read
 * against them.
 *
 * Plain const objects with no pointers in them: .rodata, no load-time
 * relocation (tests/freestanding.sh).
 */
#include "vhdx_internal.h"

const struct vhdx_guid vhdx_guid_bat_region_ = VHDX_GUID_BAT_REGION;
const struct vhdx_guid vhdx_guid_metadata_region_ = VHDX_GUID_METADATA_REGION;
const struct vhdx_guid vhdx_guid_locator_type_ = VHDX_GUID_VHDX_LOCATOR_TYPE;

#define REQ VHDX_META_IS_REQUIRED
#define VD VHDX_META_IS_VIRTUAL_DISK

/* In Windows' order, packed from +64 KiB (VHDX-FORMAT.md 2.6). */
const struct vhdx_item_def_ vhdx_items_[VHDX_ITEM_COUNT_] = {
	[VHDX_ITEM_FP_] = { VHDX_GUID_FILE_PARAMETERS, "File Parameters", REQ, 8, 0x10000, true },
	[VHDX_ITEM_VDS_] = { VHDX_GUID_VIRTUAL_DISK_SIZE, "Virtual Disk Size", REQ | VD, 8, 0x10008, true },
	[VHDX_ITEM_LSS_] = { VHDX_GUID_LOGICAL_SECTOR_SIZE, "Logical Sector Size", REQ | VD, 4, 0x10010, true },
	[VHDX_ITEM_PSS_] = { VHDX_GUID_PHYSICAL_SECTOR_SIZE, "Physical Sector Size", REQ | VD, 4, 0x10014,
			     true },
	[VHDX_ITEM_PAGE83_] = { VHDX_GUID_VIRTUAL_DISK_ID, "Virtual Disk ID", REQ | VD, 16, 0x10018, true },
	[VHDX_ITEM_PL_] = { VHDX_GUID_PARENT_LOCATOR, "Parent Locator", REQ, 0, 0x10028, false },
};

#undef REQ
#undef VD

int vhdx_item_kind_(const struct vhdx_guid *id)
{
	int i;

	for (i = 0; i < VHDX_ITEM_COUNT_; i++)
		if (vhdx_guid_equal(id, &vhdx_items_[i].id))
			return i;
	return -1;
}

const char *vhdx_item_name(const struct vhdx_guid *g)
{
	int i = vhdx_item_kind_(g);

	return i < 0 ? NULL : vhdx_items_[i].name;
}

const char *vhdx_region_name(const struct vhdx_guid *g)
{
	if (vhdx_guid_equal(g, &vhdx_guid_bat_region_))
		return "BAT";
	if (vhdx_guid_equal(g, &vhdx_guid_metadata_region_))
		return "Metadata";
	return NULL;
}

bool vhdx_has_signature(const void *buf, size_t len)
{
	return len >= sizeof(VHDX_FILE_ID_SIGNATURE) - 1 &&
	       vhdx_mem_equal_(buf, VHDX_FILE_ID_SIGNATURE, sizeof(VHDX_FILE_ID_SIGNATURE) - 1);
}
