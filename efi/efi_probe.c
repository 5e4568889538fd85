/* SPDX-License-Identifier: MIT */
/*
 * efi_probe.c - the blank check, and what a device holds.
 *
 * What is found is named by the core (core/vhdx_identify.c, the same words
 * as the host tool) from the first and the last MiB: partition tables,
 * filesystem superblocks, GPT's backup header, VHDX and VHD structures.
 * The UEFI app is stricter about "blank": the first 4 MiB (EFI_PROBE_HEAD)
 * and the last 1 MiB (EFI_PROBE_TAIL), clipped to the device, must read as
 * zeros; data between 1 and 4 MiB with no signature is "unknown data".
 */
#include "efi_app.h"
#include "vhdx_identify.h"

#define EFI_PROBE_CHUNK VHDX_IDENTIFY_SPAN /* [byte] 1 MiB: one read */

static BOOLEAN efi_probe_zero(const UINT8 *p, UINTN len, UINTN *ret_at)
{
	UINTN i;

	for (i = 0; i < len; i++) {
		if (p[i]) {
			*ret_at = i;
			return FALSE;
		}
	}
	return TRUE;
}

void efi_probe_bio(struct efi_bio *b, struct efi_probe *ret)
{
	UINT8 *head, *buf;
	UINTN head_len = b->size < EFI_PROBE_CHUNK ? (UINTN)b->size : EFI_PROBE_CHUNK;
	UINT64 tail_off = b->size > EFI_PROBE_TAIL ? b->size - EFI_PROBE_TAIL : 0;
	UINTN tail_len = (UINTN)(b->size - tail_off);
	UINT64 end, off;
	UINTN at;
	EFI_STATUS st;

	ZeroMem(ret, sizeof(*ret));
	head = efi_pages_alloc(2 * EFI_PROBE_CHUNK);
	if (!head) {
		ret->status = EFI_OUT_OF_RESOURCES;
		ret->what = "unreadable";
		return;
	}
	buf = head + EFI_PROBE_CHUNK;
	st = efi_bio_read(b, 0, head, head_len);
	if (!EFI_ERROR(st))
		st = efi_bio_read(b, tail_off, buf, tail_len);
	if (EFI_ERROR(st)) {
		ret->status = st;
		ret->what = "unreadable";
		goto out;
	}
	ret->is_vhdx = vhdx_has_signature(head, head_len);
	ret->what = vhdx_identify(head, head_len, buf, tail_len);
	if (ret->what) {
		if (!efi_probe_zero(head, head_len, &at))
			ret->first_nonzero = at;
		else if (!efi_probe_zero(buf, tail_len, &at))
			ret->first_nonzero = tail_off + at;
		goto out;
	}
	/* the rest of the head: [1 MiB, 4 MiB) short of the tail */
	end = b->size < EFI_PROBE_HEAD ? b->size : EFI_PROBE_HEAD;
	if (end > tail_off)
		end = tail_off;
	for (off = head_len; off < end; off += EFI_PROBE_CHUNK) {
		UINTN n = end - off > EFI_PROBE_CHUNK ? EFI_PROBE_CHUNK : (UINTN)(end - off);

		st = efi_bio_read(b, off, buf, n);
		if (EFI_ERROR(st)) {
			ret->status = st;
			ret->what = "unreadable";
			goto out;
		}
		if (!efi_probe_zero(buf, n, &at)) {
			ret->what = "unknown data";
			ret->first_nonzero = off + at;
			goto out;
		}
	}
	ret->blank = TRUE;
	ret->what = "blank";
out:
	efi_pages_free(head, 2 * EFI_PROBE_CHUNK);
}
