/* SPDX-License-Identifier: MIT */
/*
 * efi_read.c - `vhdx info [--json] TARGET` and `vhdx check TARGET` in the
 * UEFI shell, through the core's vhdx_examine (core/vhdx_read.h) over
 * BlockIo or a file, exactly as the host tool does it: a dirty image is
 * checked as it is after replay, a differencing image's chain is walked
 * (parents on the child's volume, efi_chain.c) and judged by the core;
 * and the summary `vhdx list` shows for a device that holds VHDX.
 *
 * Status: EFI_SUCCESS consistent (warnings allowed; info: a VHDX);
 * EFI_VOLUME_CORRUPTED errors found or not a VHDX (DESIGN's exit 1 of
 * check); EFI_INVALID_PARAMETER / EFI_DEVICE_ERROR could not run (exit 2).
 * A block device is read as a whole: what follows the image is the
 * device's, which info says (device size, image end).
 */
#include "efi_app.h"

static void efi_read_finding(void *ctx, const struct vhdx_finding *f)
{
	char line[2 * VHDX_CHAIN_WHY_SIZE + 1024]; /* the rule's text and what was found */

	if (!ctx)
		return;
	vhdx_finding_to_text(f, line, sizeof(line));
	efi_con_line(NULL, line);
}

BOOLEAN efi_read_summary(struct efi_bio *b, char *buf, size_t len)
{
	struct efi_source src;
	struct vhdx_source s;
	struct vhdx_info *info;
	void *scratch;
	BOOLEAN ok = FALSE;

	efi_source_bio(&src, b, &s);
	info = AllocateZeroPool(sizeof(*info));
	scratch = efi_pages_alloc(VHDX_SCRATCH_SIZE);
	if (info && scratch && vhdx_probe(&s, scratch, VHDX_SCRATCH_SIZE, info) == VHDX_OK &&
	    info->is_vhdx) {
		vhdx_info_summary(info, buf, len);
		ok = TRUE;
	}
	efi_pages_free(scratch, VHDX_SCRATCH_SIZE);
	if (info)
		FreePool(info);
	return ok;
}

/* What info and check keep while they run: off the stack. */
struct efi_examined {
	struct vhdx_info info;
	struct vhdx_chain chain;
	struct vhdx_chain_level levels[VHDX_CHAIN_DEPTH_MAX];
	struct efi_chain_ops ops;
};

EFI_STATUS efi_cmd_read(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	BOOLEAN check = cli->cmd == VHDX_CMD_CHECK;
	size_t scratch_len = VHDX_CHECK_SCRATCH_ONE_PASS;
	struct efi_target t;
	struct efi_source src;
	struct vhdx_source s;
	struct efi_examined *ex = NULL;
	void *scratch = NULL;
	char *name = NULL;
	bool walked = false;
	EFI_STATUS st;
	int err;

	ZeroMem(&t, sizeof(t));
	ZeroMem(&src, sizeof(src));
	if (!cli->target)
		return efi_refuse(check ? "check: TARGET missing" : "info: TARGET missing");
	st = efi_target_resolve(&t, cli, FALSE, image);
	if (EFI_ERROR(st))
		goto out;
	st = efi_source_open(&src, &t, &s);
	if (EFI_ERROR(st)) {
		st = efi_refusef(L"%s: cannot open: %r", t.name, st);
		goto out;
	}
	ex = AllocateZeroPool(sizeof(*ex));
	scratch = efi_pages_alloc(scratch_len);
	name = efi_chain_name(&t);
	if (!ex || !scratch || !name) {
		st = efi_out_of_memory();
		goto out;
	}
	efi_chain_ops_init(&ex->ops, &t);
	err = vhdx_examine(&s, name, &ex->chain, ex->levels, VHDX_CHAIN_DEPTH_MAX, &ex->ops.ops, scratch,
			   scratch_len, &ex->info, efi_read_finding, check ? &t : NULL, &walked);
	if (err) {
		if (err == VHDX_ERR_IO && efi_http_said(src.http))
			st = efi_status_of(err); /* the server's failure, its line out */
		else if (err == VHDX_ERR_IO)
			st = efi_con_failf(efi_status_of(err), L"%s: read failed: %r", t.name,
					   src.status);
		else
			st = efi_con_failf(efi_status_of(err), L"%s: reader failed: %a", t.name,
					   vhdx_strerror(err));
		goto out;
	}
	if (check) {
		char line[1200];

		vhdx_check_line(cli->target, &ex->info, line, sizeof(line));
		efi_con_line(NULL, line);
		st = ex->info.errors ? EFI_VOLUME_CORRUPTED : EFI_SUCCESS;
	} else {
		vhdx_info_print_chain(&ex->info, walked ? &ex->chain : NULL, cli->json, efi_con_line, NULL);
		st = ex->info.is_vhdx ? EFI_SUCCESS : EFI_VOLUME_CORRUPTED;
	}
out:
	efi_source_close(&src);
	efi_pages_free(scratch, scratch_len);
	if (ex)
		FreePool(ex);
	if (name)
		FreePool(name);
	efi_target_free(&t);
	return st;
}
