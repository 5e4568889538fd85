/* SPDX-License-Identifier: MIT */
/*
 * efi_probe.c - the blank check, and what a device holds.
 *
 * A device is blank when its first 4 MiB (EFI_PROBE_HEAD) and its last
 * 1 MiB (EFI_PROBE_TAIL), clipped to its size, read as zeros.  That covers
 * every partition table (MBR, GPT and its backup at the end), the boot
 * sectors and superblocks of FAT, NTFS, exFAT, ext2/3/4 and ISO 9660, a
 * VHDX header area and a fixed VHD's footer.  Otherwise the first
 * recognised signature names what was found, else "unknown data".
 */
#include "efi_app.h"

#define EFI_PROBE_CHUNK (1u << 20) /* [byte] one read */

static BOOLEAN efi_probe_has(const UINT8 *p, UINTN off, const char *sig)
{
	UINTN i;

	for (i = 0; sig[i]; i++)
		if (p[off + i] != (UINT8)sig[i])
			return FALSE;
	return TRUE;
}

/* Signatures in the first EFI_PROBE_CHUNK bytes (or len, if smaller). */
static enum efi_holds efi_probe_head(const UINT8 *p, UINTN len, UINT32 block_size)
{
	BOOLEAN boot_sig = len >= 512 && p[510] == 0x55 && p[511] == 0xAA;
	UINTN i;

	if (len >= 8 && efi_probe_has(p, 0, "vhdxfile"))
		return EFI_HOLDS_VHDX;
	if (len >= block_size + 8 && efi_probe_has(p, block_size, "EFI PART"))
		return EFI_HOLDS_GPT;
	if (len >= 4096 + 8 && efi_probe_has(p, 4096, "EFI PART"))
		return EFI_HOLDS_GPT;
	if (len >= 512 && efi_probe_has(p, 3, "NTFS    "))
		return EFI_HOLDS_NTFS;
	if (len >= 512 && efi_probe_has(p, 3, "EXFAT   "))
		return EFI_HOLDS_EXFAT;
	if (boot_sig && (efi_probe_has(p, 54, "FAT") || efi_probe_has(p, 82, "FAT32")))
		return EFI_HOLDS_FAT;
	if (boot_sig) {
		for (i = 0; i < 4; i++)
			if (p[446 + 16 * i + 4] != 0)
				return EFI_HOLDS_MBR;
	}
	if (len >= 1082 && p[1080] == 0x53 && p[1081] == 0xEF)
		return EFI_HOLDS_EXT;
	if (len >= 32774 && efi_probe_has(p, 32769, "CD001"))
		return EFI_HOLDS_ISO9660;
	return EFI_HOLDS_DATA;
}

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
	UINT8 *buf;
	UINT64 head = b->size < EFI_PROBE_HEAD ? b->size : EFI_PROBE_HEAD;
	UINT64 tail_start, off;
	BOOLEAN found = FALSE;

	ret->holds = EFI_HOLDS_BLANK;
	ret->first_nonzero = 0;
	ret->status = EFI_SUCCESS;
	buf = efi_pages_alloc(EFI_PROBE_CHUNK);
	if (!buf) {
		ret->holds = EFI_HOLDS_UNREADABLE;
		ret->status = EFI_OUT_OF_RESOURCES;
		return;
	}
	tail_start = b->size > EFI_PROBE_TAIL ? b->size - EFI_PROBE_TAIL : 0;
	tail_start &= ~(UINT64)(b->block_size - 1);
	if (tail_start < head)
		tail_start = head;
	/* head: [0, head), then tail: [tail_start, size) */
	for (off = 0; off < b->size && !found;) {
		UINT64 end = off < head ? head : b->size;
		UINTN n = end - off > EFI_PROBE_CHUNK ? EFI_PROBE_CHUNK : (UINTN)(end - off);
		UINTN at;
		EFI_STATUS st;

		if (n == 0)
			break;
		st = efi_bio_read(b, off, buf, n);
		if (EFI_ERROR(st)) {
			ret->holds = EFI_HOLDS_UNREADABLE;
			ret->status = st;
			break;
		}
		if (off == 0)
			ret->holds = efi_probe_head(buf, n, b->block_size);
		/* the head was all zeros: name a signature at the end */
		if (off == tail_start && off > 0 && b->size - off >= 512) {
			UINTN last = (UINTN)(b->size - off);

			if (efi_probe_has(buf, last - 512, "conectix"))
				ret->holds = EFI_HOLDS_VHD;
			if (last >= b->block_size &&
			    efi_probe_has(buf, last - b->block_size, "EFI PART"))
				ret->holds = EFI_HOLDS_GPT;
		}
		if (!efi_probe_zero(buf, n, &at)) {
			if (ret->holds == EFI_HOLDS_BLANK)
				ret->holds = EFI_HOLDS_DATA;
			ret->first_nonzero = off + at;
			found = TRUE;
			break;
		}
		if (off == 0 && ret->holds == EFI_HOLDS_DATA)
			ret->holds = EFI_HOLDS_BLANK; /* all zero: no signature */
		off += n;
		if (off == head && tail_start > off)
			off = tail_start;
	}
	efi_pages_free(buf, EFI_PROBE_CHUNK);
}

const char *efi_probe_text(enum efi_holds h)
{
	switch (h) {
	case EFI_HOLDS_BLANK:      return "blank";
	case EFI_HOLDS_VHDX:       return "a VHDX image";
	case EFI_HOLDS_GPT:        return "a GPT partition table";
	case EFI_HOLDS_MBR:        return "an MBR partition table";
	case EFI_HOLDS_FAT:        return "a FAT filesystem";
	case EFI_HOLDS_NTFS:       return "an NTFS filesystem";
	case EFI_HOLDS_EXFAT:      return "an exFAT filesystem";
	case EFI_HOLDS_EXT:        return "an ext2/3/4 filesystem";
	case EFI_HOLDS_ISO9660:    return "an ISO 9660 filesystem";
	case EFI_HOLDS_VHD:        return "a VHD footer";
	case EFI_HOLDS_DATA:       return "unknown data";
	case EFI_HOLDS_UNREADABLE: return "unreadable";
	}
	return "?";
}
