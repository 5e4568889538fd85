/* SPDX-License-Identifier: MIT */
/*
 * vhdx_identify.c - what a target holds, before we overwrite it.
 *
 * A target is "blank" when its first and last MiB read as zeros (the
 * places where partition tables, filesystem superblocks, GPT's backup
 * header and VHDX's own structures live).  Otherwise the signatures below
 * name what was found; "unknown data" when none matches.
 */
#include "vhdx_identify.h"
#include "vhdx_internal.h"
#include "vhdx_text.h"

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static bool has(const uint8_t *head, size_t head_len, size_t off, const char *sig)
{
	size_t n = vhdx_str_len_(sig);

	return off + n <= head_len && vhdx_mem_equal_(head + off, sig, n);
}

const char *vhdx_identify(const void *head_buf, size_t head_len, const void *tail_buf, size_t tail_len)
{
	const uint8_t *head = head_buf;

	if (all_zero(head, head_len) && (!tail_buf || all_zero(tail_buf, tail_len)))
		return NULL;
	if (has(head, head_len, 0, "vhdxfile"))
		return "a VHDX image";
	if (has(head, head_len, 512, "EFI PART") || has(head, head_len, 4096, "EFI PART"))
		return "a GPT partition table";
	/* the backup GPT header sits in the last logical block (512 or 4096) */
	if (tail_buf && tail_len >= 4096 &&
	    (has(tail_buf, tail_len, tail_len - 512, "EFI PART") ||
	     has(tail_buf, tail_len, tail_len - 4096, "EFI PART")))
		return "a GPT partition table (backup header)";
	if (has(head, head_len, 3, "NTFS    "))
		return "an NTFS filesystem";
	if (has(head, head_len, 3, "EXFAT   "))
		return "an exFAT filesystem";
	if (has(head, head_len, 82, "FAT32   ") || has(head, head_len, 54, "FAT12   ") ||
	    has(head, head_len, 54, "FAT16   ") || has(head, head_len, 54, "FAT     "))
		return "a FAT filesystem";
	if (head_len > 1081 && head[1080] == 0x53 && head[1081] == 0xEF)
		return "an ext2/3/4 filesystem";
	if (has(head, head_len, 0, "XFSB"))
		return "an XFS filesystem";
	if (has(head, head_len, 65536 + 64, "_BHRfS_M"))
		return "a Btrfs filesystem";
	if (has(head, head_len, 4096 - 10, "SWAPSPACE2") || has(head, head_len, 4096 - 10, "SWAP-SPACE"))
		return "Linux swap";
	if (has(head, head_len, 0, "LUKS\xBA\xBE"))
		return "a LUKS volume";
	if (has(head, head_len, 0x8001, "CD001"))
		return "an ISO 9660 filesystem";
	if (has(head, head_len, 0, "conectix"))
		return "a VHD image";
	if (head_len >= 512 && head[510] == 0x55 && head[511] == 0xAA)
		return "an MBR partition table or boot sector";
	return "unknown data";
}

/* An MBR partition table (not a filesystem's boot sector): the signature,
 * every entry's status 0x00 or 0x80, one entry with a type and a sector
 * count (MBR entries at byte 446, 16 bytes each: status, CHS, type, CHS,
 * first LBA, sector count). */
static bool has_mbr_table(const uint8_t *head, size_t head_len)
{
	bool used = false;
	unsigned i;

	if (head_len < 512 || head[510] != 0x55 || head[511] != 0xAA)
		return false;
	for (i = 0; i < 4; i++) {
		const uint8_t *e = head + 446 + 16 * i;

		if (e[0] != 0x00 && e[0] != 0x80)
			return false;
		if (e[4] && (e[12] | e[13] | e[14] | e[15]))
			used = true;
	}
	return used;
}

bool vhdx_sector_mismatch(const void *head_buf, size_t head_len, uint32_t image_sector, uint32_t device_sector,
			  char *why, size_t why_len)
{
	const uint8_t *head = head_buf;
	const char *kind = "GPT";
	uint32_t counts = 0; /* [byte] the sector the table counts */
	struct vhdx_text t;

	if (!head || !device_sector)
		return false;
	if (image_sector && has(head, head_len, image_sector, "EFI PART"))
		counts = image_sector;
	else if (has(head, head_len, 512, "EFI PART"))
		counts = 512;
	else if (has(head, head_len, 4096, "EFI PART"))
		counts = 4096;
	if (!counts && has_mbr_table(head, head_len)) {
		kind = "MBR";
		counts = image_sector;
	}
	if (!counts || counts == device_sector)
		return false;
	if (why && why_len) {
		vhdx_text_init(&t, why, why_len);
		vhdx_text_str(&t, "sector size mismatch: the image's ");
		vhdx_text_str(&t, kind);
		if (kind[0] == 'G') {
			vhdx_text_str(&t, " partition table (header at byte ");
			vhdx_text_u64(&t, counts);
			vhdx_text_str(&t, ", LBA 1) counts ");
		} else {
			vhdx_text_str(&t, " partition table counts the image's ");
		}
		vhdx_text_u64(&t, counts);
		vhdx_text_str(&t, "-byte sectors, the device's are ");
		vhdx_text_u64(&t, device_sector);
		vhdx_text_str(&t, " bytes: its partitions would not be found and it would not boot "
				  "(a partition table must count the device's sectors)");
	}
	return true;
}
