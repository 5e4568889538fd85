/* SPDX-License-Identifier: MIT */
/*
 * efi_read.c - `vhdx info [--json] TARGET` and `vhdx check TARGET` in the
 * UEFI shell, through the core's reader (core/vhdx_read.h) over BlockIo or
 * a file; and the summary `vhdx list` shows for a device that holds VHDX.
 *
 * Status: EFI_SUCCESS consistent (warnings allowed; info: a VHDX);
 * EFI_VOLUME_CORRUPTED errors found or not a VHDX (DESIGN's exit 1 of
 * check); EFI_INVALID_PARAMETER / EFI_DEVICE_ERROR could not run (exit 2).
 * A block device is read as a whole: an image smaller than the device
 * shows as data after the image end.
 */
#include "efi_app.h"
#include "vhdx_read.h"

static void efi_read_line(void *ctx, const char *line)
{
	(void)ctx;
	efi_con_utf8(line);
	efi_con_utf8("\n");
}

static void efi_read_finding(void *ctx, const struct vhdx_finding *f)
{
	char line[512];

	if (!ctx)
		return;
	vhdx_finding_to_text(f, line, sizeof(line));
	efi_read_line(NULL, line);
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
	scratch = efi_pages_alloc(VHDX_READ_SCRATCH_MIN);
	if (info && scratch && vhdx_probe(&s, scratch, VHDX_READ_SCRATCH_MIN, info) == VHDX_OK &&
	    info->is_vhdx) {
		vhdx_info_summary(info, buf, len);
		ok = TRUE;
	}
	efi_pages_free(scratch, VHDX_READ_SCRATCH_MIN);
	if (info)
		FreePool(info);
	return ok;
}

EFI_STATUS efi_cmd_read(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	BOOLEAN check = cli->cmd == VHDX_CMD_CHECK;
	size_t scratch_len = VHDX_CHECK_SCRATCH_ONE_PASS;
	struct efi_target t;
	struct efi_source src;
	struct vhdx_source s;
	struct vhdx_info *info = NULL;
	void *scratch = NULL;
	EFI_STATUS st;
	int err;

	ZeroMem(&t, sizeof(t));
	ZeroMem(&src, sizeof(src));
	if (!cli->target)
		return efi_con_fail(EFI_APP_REFUSED, check ? "check: TARGET missing" : "info: TARGET missing");
	st = efi_target_resolve(&t, cli, FALSE, image);
	if (EFI_ERROR(st))
		goto out;
	st = efi_source_open(&src, &t, &s);
	if (EFI_ERROR(st)) {
		st = efi_con_failf(EFI_APP_REFUSED, L"%s: cannot open: %r", t.name, st);
		goto out;
	}
	info = AllocateZeroPool(sizeof(*info));
	scratch = efi_pages_alloc(scratch_len);
	if (!info || !scratch) {
		st = efi_con_fail(EFI_OUT_OF_RESOURCES, "out of memory");
		goto out;
	}
	err = vhdx_check(&s, scratch, scratch_len, info, efi_read_finding, check ? &t : NULL);
	if (err) {
		if (err == VHDX_ERR_IO)
			st = efi_con_failf(efi_status_of(err), L"%s: read failed: %r", t.name,
					   src.status);
		else
			st = efi_con_failf(efi_status_of(err), L"%s: reader failed: %a", t.name,
					   vhdx_strerror(err));
		goto out;
	}
	if (check) {
		char sum[128], line[300];
		struct vhdx_text l;

		vhdx_info_summary(info, sum, sizeof(sum));
		vhdx_text_init(&l, line, sizeof(line));
		vhdx_text_str(&l, cli->target);
		/* "blk2: VHDX ...", not "blk2:: VHDX ..." */
		vhdx_text_str(&l, l.pos && line[l.pos - 1] == ':' ? " " : ": ");
		vhdx_text_str(&l, sum);
		vhdx_text_str(&l, ": ");
		vhdx_text_u64(&l, info->errors);
		vhdx_text_str(&l, info->errors == 1 ? " error, " : " errors, ");
		vhdx_text_u64(&l, info->warnings);
		vhdx_text_str(&l, info->warnings == 1 ? " warning" : " warnings");
		efi_read_line(NULL, line);
		st = info->errors ? EFI_VOLUME_CORRUPTED : EFI_SUCCESS;
	} else {
		vhdx_info_print(info, cli->json, efi_read_line, NULL);
		st = info->is_vhdx ? EFI_SUCCESS : EFI_VOLUME_CORRUPTED;
	}
out:
	efi_source_close(&src);
	efi_pages_free(scratch, scratch_len);
	if (info)
		FreePool(info);
	efi_target_free(&t);
	return st;
}
