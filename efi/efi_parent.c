/* SPDX-License-Identifier: MIT */
/*
 * efi_parent.c - what a differencing child takes from its parent, by the
 * core's policy (vhdx_parent.h) as on the host: the parent, a file on a
 * mounted filesystem (fsN:\path), must check clean with an empty log; its
 * virtual size, sector sizes and Page 83 ID are copied; the locator holds
 * parent_linkage, absolute_win32_path (--parent-win32-path), relative_path
 * and parent_linkage2 zero, in Hyper-V's order.
 *
 * relative_path is, as [MS-VHDX] 2.6.2.6 has it, relative to the child's
 * folder when the child is a file on the parent's volume (FAT: folder
 * names compare case-insensitively).  A child on a block device (or on
 * another volume) has no folder there: its relative_path is the parent's
 * path from the root of the parent's volume (fs0:\img\base.vhdx gives
 * .\img\base.vhdx), so a reader finds the parent when a copy of the disk
 * sits at the root of a copy of that volume, or beside the parent when the
 * parent is in the root.
 */
#include "efi_app.h"

/* The child's folder on the parent's volume, "\" when it has none there. */
static char *efi_child_folder(const struct efi_target *child, const struct efi_target *pt,
			      BOOLEAN *ret_from_root)
{
	char *dir;
	UINTN i, last = 0;

	*ret_from_root = !(child->kind == EFI_TARGET_FILE && efi_dp_equal(child->fs_dp, pt->fs_dp));
	dir = efi_text_to_utf8(*ret_from_root ? L"\\" : child->path);
	if (!dir)
		return NULL;
	for (i = 0; dir[i]; i++)
		if (dir[i] == '\\')
			last = i;
	dir[last + 1] = 0; /* "\a\b\child.vhdx" -> "\a\b\" */
	return dir;
}

/*
 * A differencing parent's own chain, walked as the readers walk it: the
 * child must still fit in VHDX_CHAIN_DEPTH_MAX levels (vhdx_parent_depth),
 * as on the host.  VHDX_OK, the errors of vhdx_chain_open, or
 * VHDX_ERR_UNSUPPORTED; @why filled.
 */
static int efi_parent_depth(struct efi_target *pt, const struct vhdx_source *s, void *scratch,
			    size_t scratch_len, char *why, size_t why_len)
{
	struct vhdx_chain_level *levels = AllocateZeroPool(VHDX_CHAIN_DEPTH_MAX * sizeof(*levels));
	struct vhdx_chain *chain = AllocateZeroPool(sizeof(*chain));
	struct efi_chain_ops *cops = AllocateZeroPool(sizeof(*cops));
	char *name = efi_chain_name(pt);
	struct vhdx_text t;
	int err = VHDX_ERR_NOSPACE;

	vhdx_text_init(&t, why, why_len);
	vhdx_text_str(&t, "out of memory");
	if (levels && chain && cops && name) {
		efi_chain_ops_init(cops, pt);
		err = vhdx_chain_open(chain, levels, VHDX_CHAIN_DEPTH_MAX, s, name, &cops->ops, scratch,
				      scratch_len, why, why_len);
		if (!err) {
			err = vhdx_parent_depth(chain, VHDX_CHAIN_DEPTH_MAX, why, why_len);
			vhdx_chain_close(chain, &cops->ops);
		}
	}
	if (name)
		FreePool(name);
	if (cops)
		FreePool(cops);
	if (chain)
		FreePool(chain);
	if (levels)
		FreePool(levels);
	return err;
}

EFI_STATUS efi_parent_prepare(const struct vhdx_cli *cli, const struct efi_target *child,
			      struct vhdx_params *params, struct efi_parent *ret, EFI_HANDLE image)
{
	struct vhdx_cli pc = *cli;
	struct efi_target pt;
	struct efi_source src;
	struct vhdx_source s;
	struct vhdx_info *info = NULL;
	struct vhdx_disk disk;
	char why[VHDX_WHY_SIZE], *folder = NULL, *ppath = NULL;
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
		st = efi_refusef(L"--parent %s: give a file (fs0:\\parent.vhdx)", pt.name);
		goto out;
	}
	if (child->kind == EFI_TARGET_FILE && efi_dp_equal(child->fs_dp, pt.fs_dp) &&
	    StriCmp(child->path, pt.path) == 0) {
		st = efi_refusef(L"--parent %s: the child cannot be its own parent",
				 pt.name);
		goto out;
	}
	st = efi_source_open(&src, &pt, &s);
	if (EFI_ERROR(st)) {
		st = efi_refusef(L"--parent %s: cannot open: %r", pt.name, st);
		goto out;
	}
	info = AllocateZeroPool(sizeof(*info));
	scratch = efi_pages_alloc(VHDX_CHECK_SCRATCH_ONE_PASS);
	if (!info || !scratch) {
		st = efi_out_of_memory();
		goto out;
	}
	why[0] = 0;
	err = vhdx_parent_accept(&s, cli->parent, scratch, VHDX_CHECK_SCRATCH_ONE_PASS, info, &disk, why,
				 sizeof(why));
	if (!err && disk.type == VHDX_TYPE_DIFFERENCING)
		err = efi_parent_depth(&pt, &s, scratch, VHDX_CHECK_SCRATCH_ONE_PASS, why, sizeof(why));
	if (err == VHDX_ERR_IO) {
		st = efi_con_failf(efi_status_before_write(err), L"--parent %s: cannot read it: %r", pt.name,
				   src.status);
		goto out;
	}
	if (err) {
		st = efi_con_failf(efi_status_before_write(err), L"--parent %s: %a", pt.name,
				   why[0] ? why : vhdx_strerror(err));
		goto out;
	}
	folder = efi_child_folder(child, &pt, &ret->from_volume_root);
	ppath = efi_text_to_utf8(pt.path);
	if (!folder || !ppath) {
		st = efi_out_of_memory();
		goto out;
	}
	vhdx_text_init(&rel, ret->relative, sizeof(ret->relative));
	/* a cut path would name another file */
	if (vhdx_relative_path(folder, ppath, TRUE, &rel) != VHDX_OK) {
		st = efi_refusef(L"--parent %s: path too long for relative_path",
				 pt.name);
		goto out;
	}
	vhdx_child_params(params, &ret->link, &disk, ret->relative, cli->parent_win32_path);
	st = EFI_SUCCESS;
out:
	efi_source_close(&src);
	efi_pages_free(scratch, VHDX_CHECK_SCRATCH_ONE_PASS);
	if (info)
		FreePool(info);
	if (folder)
		FreePool(folder);
	if (ppath)
		FreePool(ppath);
	efi_target_free(&pt);
	return st;
}
