/* SPDX-License-Identifier: MIT */
/*
 * efi_parent.c - what a differencing child takes from its parent, as the
 * host tool does it (platform/host_parent.c): the parent, a file on a
 * mounted filesystem (fsN:\path), is read and checked with the core's
 * reader and refused unless it checks clean with an empty log; its virtual
 * size, sector sizes and Page 83 ID are copied; the locator holds
 * parent_linkage, absolute_win32_path (--parent-win32-path), relative_path
 * and parent_linkage2 zero, in Hyper-V's order.
 *
 * relative_path is, as [MS-VHDX] 2.6.2.6 has it, relative to the child's
 * folder when the child is a file on the parent's volume.  A child on a
 * block device (or on another volume) has no folder there: its
 * relative_path is the parent's path from the root of the parent's volume
 * (fs0:\img\base.vhdx gives .\img\base.vhdx), so a reader finds the
 * parent when a copy of the disk sits at the root of a copy of that
 * volume, or beside the parent when the parent is in the root.
 */
#include "efi_app.h"
#include "vhdx_read.h"

static CHAR16 efi_up(CHAR16 c)
{
	return c >= L'a' && c <= L'z' ? (CHAR16)(c - L'a' + L'A') : c;
}

/* "\a\b\child.vhdx" to "\a\parent.vhdx" -> "..\parent.vhdx" (FAT: case-insensitive) */
static void efi_relative(const CHAR16 *child, const CHAR16 *parent, struct vhdx_text *out)
{
	UINTN i, common = 0, child_dir = 0;

	for (i = 0; child[i]; i++)
		if (child[i] == L'\\')
			child_dir = i + 1;  /* the child's folder, with its '\' */
	for (i = 0; i < child_dir && parent[i] && efi_up(child[i]) == efi_up(parent[i]); i++)
		if (child[i] == L'\\')
			common = i + 1;
	if (common == child_dir) {
		vhdx_text_str(out, ".\\");
	} else {
		for (i = common; i < child_dir; i++)
			if (child[i] == L'\\')
				vhdx_text_str(out, "..\\");
	}
	efi_text_add16(out, parent + common);
}

EFI_STATUS efi_parent_prepare(const struct vhdx_cli *cli, const struct efi_target *child,
			      struct vhdx_params *params, struct efi_parent *ret, EFI_HANDLE image)
{
	struct vhdx_cli pc = *cli;
	struct efi_target pt;
	struct efi_source src;
	struct vhdx_source s;
	struct vhdx_info *info = NULL;
	void *scratch = NULL;
	struct vhdx_text rel;
	EFI_STATUS st;
	int err;

	ZeroMem(ret, sizeof(*ret));
	ZeroMem(&pt, sizeof(pt));
	ZeroMem(&src, sizeof(src));
	pc.target = cli->parent;
	st = efi_target_resolve(&pt, &pc, FALSE, image);
	if (EFI_ERROR(st))
		goto out;
	if (pt.kind != EFI_TARGET_FILE) {
		st = efi_con_failf(EFI_APP_REFUSED, L"--parent %s: give a file (fs0:\\parent.vhdx)", pt.name);
		goto out;
	}
	if (child->kind == EFI_TARGET_FILE && efi_dp_equal(child->fs_dp, pt.fs_dp) &&
	    StriCmp(child->path, pt.path) == 0) {
		st = efi_con_failf(EFI_APP_REFUSED, L"--parent %s: the child cannot be its own parent",
				   pt.name);
		goto out;
	}
	st = efi_source_open(&src, &pt, &s);
	if (EFI_ERROR(st)) {
		st = efi_con_failf(EFI_APP_REFUSED, L"--parent %s: cannot open: %r", pt.name, st);
		goto out;
	}
	info = AllocateZeroPool(sizeof(*info));
	scratch = efi_pages_alloc(VHDX_CHECK_SCRATCH_ONE_PASS);
	if (!info || !scratch) {
		st = efi_con_fail(EFI_OUT_OF_RESOURCES, "out of memory");
		goto out;
	}
	err = vhdx_check(&s, scratch, VHDX_CHECK_SCRATCH_ONE_PASS, info, NULL, NULL);
	if (err) {
		st = efi_con_failf(EFI_APP_REFUSED, L"--parent %s: cannot read it: %r", pt.name,
				   err == VHDX_ERR_IO ? src.status : efi_status_of(err));
		goto out;
	}
	if (!info->is_vhdx) {
		st = efi_con_failf(EFI_APP_REFUSED, L"--parent %s: not a VHDX image", pt.name);
		goto out;
	}
	if (info->log_replay_needed) {
		st = efi_con_failf(EFI_APP_REFUSED,
				   L"--parent %s: its log must be replayed first (LogGuid is not zero, [MS-VHDX] 2.3)",
				   pt.name);
		goto out;
	}
	if (info->errors || !info->geometry_ok || !info->has_page83) {
		st = efi_con_failf(EFI_APP_REFUSED,
				   L"--parent %s: does not check clean (%d errors; see 'vhdx check %s')",
				   pt.name, info->errors, pt.name);
		goto out;
	}
	params->virtual_size = info->virtual_size;
	params->logical_sector_size = info->logical_sector_size;
	params->physical_sector_size = info->physical_sector_size;
	params->page83 = info->page83;
	ret->linkage[0] = '{';
	vhdx_guid_to_text(&info->header[info->current_header].data_write_guid, ret->linkage + 1, false);
	ret->linkage[VHDX_GUID_TEXT_SIZE] = '}';
	ret->linkage[VHDX_GUID_TEXT_SIZE + 1] = 0;

	ret->kv[ret->count++] = (struct vhdx_kv){ "parent_linkage", ret->linkage };
	if (cli->parent_win32_path)
		ret->kv[ret->count++] = (struct vhdx_kv){ "absolute_win32_path", cli->parent_win32_path };
	vhdx_text_init(&rel, ret->relative, sizeof(ret->relative));
	if (child->kind == EFI_TARGET_FILE && efi_dp_equal(child->fs_dp, pt.fs_dp)) {
		efi_relative(child->path, pt.path, &rel);
	} else {
		efi_relative(L"\\", pt.path, &rel); /* as if the child were in the root */
		ret->from_volume_root = TRUE;
	}
	if (vhdx_text_full(&rel)) { /* a cut path would name another file */
		st = efi_con_failf(EFI_APP_REFUSED, L"--parent %s: path too long for relative_path",
				   pt.name);
		goto out;
	}
	ret->kv[ret->count++] = (struct vhdx_kv){ "relative_path", ret->relative };
	ret->kv[ret->count++] = (struct vhdx_kv){ "parent_linkage2",
						  "{00000000-0000-0000-0000-000000000000}" };
	params->parent_locator = ret->kv;
	params->parent_locator_count = ret->count;
	st = EFI_SUCCESS;
out:
	efi_source_close(&src);
	efi_pages_free(scratch, VHDX_CHECK_SCRATCH_ONE_PASS);
	if (info)
		FreePool(info);
	efi_target_free(&pt);
	return st;
}
