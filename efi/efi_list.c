/* SPDX-License-Identifier: MIT */
/*
 * efi_list.c - `vhdx list`: every BlockIo device, with its shell mapping,
 * size, block size, flags, device path and what it holds (the blank check
 * of efi_probe.c).
 */
#include "efi_app.h"

static void efi_list_one(const struct efi_dev *d)
{
	EFI_BLOCK_IO_MEDIA *m = d->bio->Media;
	struct efi_bio b;
	struct efi_probe pr;
	char line[300];
	struct vhdx_text t;
	EFI_STATUS st;
	UINTN i;

	vhdx_text_init(&t, line, sizeof(line));
	if (d->map_text) {
		for (i = 0; d->map_text[i]; i++) {
			CHAR16 c[2] = { d->map_text[i] == L';' ? L' ' : d->map_text[i], 0 };

			efi_text_add16(&t, c);
		}
		vhdx_text_str(&t, " ");
	} else {
		vhdx_text_str(&t, "(no mapping) ");
	}
	st = efi_bio_open(&b, d->bio);
	if (st == EFI_NO_MEDIA) {
		vhdx_text_str(&t, "no media");
	} else {
		vhdx_text_size(&t, b.size);
		vhdx_text_str(&t, ", ");
		vhdx_text_u64(&t, m->BlockSize);
		vhdx_text_str(&t, "-byte blocks");
	}
	vhdx_text_str(&t, m->LogicalPartition ? ", partition" : ", disk");
	if (m->RemovableMedia)
		vhdx_text_str(&t, ", removable");
	vhdx_text_str(&t, m->ReadOnly ? ", read-only" : ", writable");
	if (d->is_boot)
		vhdx_text_str(&t, ", boot device");
	if (st == EFI_SUCCESS) {
		char sum[128];

		efi_probe_bio(&b, &pr);
		vhdx_text_str(&t, ": ");
		if (pr.is_vhdx && efi_read_summary(&b, sum, sizeof(sum)))
			vhdx_text_str(&t, sum);
		else
			vhdx_text_str(&t, pr.what);
		efi_bio_close(&b);
	} else if (st != EFI_NO_MEDIA) {
		vhdx_text_str(&t, ": unsupported block size");
	}
	vhdx_text_str(&t, "\n    ");
	efi_con_utf8(line);
	Print(L"%s\n", d->dp_text);
}

EFI_STATUS efi_cmd_list(EFI_HANDLE image)
{
	struct efi_dev *devs = NULL;
	UINTN n = 0, i;
	EFI_STATUS st;

	efi_dev_connect_all();
	st = efi_dev_list(&devs, &n, image);
	if (EFI_ERROR(st))
		return efi_con_failf(st, L"cannot list block devices: %r", st);
	if (n == 0)
		Print(L"no block devices\n");
	for (i = 0; i < n; i++)
		efi_list_one(&devs[i]);
	efi_dev_free(devs, n);
	return EFI_SUCCESS;
}
