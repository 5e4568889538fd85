/* SPDX-License-Identifier: MIT */
/*
 * efi_blockio.c - EFI_BLOCK_IO done right: the MediaId read once and passed
 * on every call, LBA math from BlockSize (512 or 4096), requests bounded
 * by LastBlock, buffers aligned to IoAlign (page allocations are 4 KiB
 * aligned; a misaligned caller buffer goes through a bounce buffer).
 */
#include "efi_app.h"

void *efi_pages_alloc(UINTN bytes)
{
	EFI_PHYSICAL_ADDRESS a = 0;

	if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiLoaderData,
					EFI_SIZE_TO_PAGES(bytes), &a)))
		return NULL;
	return (void *)(UINTN)a;
}

void efi_pages_free(void *p, UINTN bytes)
{
	if (p)
		BS->FreePages((EFI_PHYSICAL_ADDRESS)(UINTN)p, EFI_SIZE_TO_PAGES(bytes));
}

EFI_STATUS efi_bio_open(struct efi_bio *b, EFI_BLOCK_IO *bio)
{
	EFI_BLOCK_IO_MEDIA *m = bio->Media;

	ZeroMem(b, sizeof(*b));
	b->bio = bio;
	b->media_id = m->MediaId;
	b->block_size = m->BlockSize;
	b->io_align = m->IoAlign;
	if (!m->MediaPresent)
		return EFI_NO_MEDIA;
	if (m->BlockSize == 0 || (m->BlockSize & (m->BlockSize - 1)) != 0)
		return EFI_UNSUPPORTED;
	b->size = (m->LastBlock + 1) * (UINT64)m->BlockSize;
	return EFI_SUCCESS;
}

void efi_bio_close(struct efi_bio *b)
{
	efi_pages_free(b->bounce, b->bounce_len);
	b->bounce = NULL;
	b->bounce_len = 0;
}

static BOOLEAN efi_bio_aligned(const struct efi_bio *b, const void *buf)
{
	return b->io_align <= 1 || ((UINTN)buf & (b->io_align - 1)) == 0;
}

/* The request [off, off + len) in blocks, or an error when it is not
 * block aligned or runs past LastBlock. */
static EFI_STATUS efi_bio_lba(const struct efi_bio *b, UINT64 off, UINTN len, EFI_LBA *ret)
{
	UINT64 mask = b->block_size - 1;

	if ((off & mask) || (len & mask))
		return EFI_INVALID_PARAMETER;
	if (off > b->size || len > b->size - off)
		return EFI_INVALID_PARAMETER;
	*ret = off / b->block_size;
	return EFI_SUCCESS;
}

static EFI_STATUS efi_bio_bounce(struct efi_bio *b)
{
	if (b->bounce)
		return EFI_SUCCESS;
	b->bounce_len = 1u << 20;
	b->bounce = efi_pages_alloc(b->bounce_len);
	return b->bounce ? EFI_SUCCESS : EFI_OUT_OF_RESOURCES;
}

/* One read or write of len bytes at off, through the bounce buffer when buf
 * breaks the device's IoAlign. */
static EFI_STATUS efi_bio_io(struct efi_bio *b, UINT64 off, UINT8 *buf, UINTN len, BOOLEAN write)
{
	EFI_BLOCK_READ io = write ? b->bio->WriteBlocks : b->bio->ReadBlocks;
	EFI_STATUS st;
	EFI_LBA lba;

	st = efi_bio_lba(b, off, len, &lba);
	if (EFI_ERROR(st))
		return st;
	if (efi_bio_aligned(b, buf))
		return io(b->bio, b->media_id, lba, len, buf);
	st = efi_bio_bounce(b);
	while (!EFI_ERROR(st) && len) {
		UINTN n = len < b->bounce_len ? len : b->bounce_len;

		if (write)
			CopyMem(b->bounce, buf, n);
		st = io(b->bio, b->media_id, lba, n, b->bounce);
		if (!write && !EFI_ERROR(st))
			CopyMem(buf, b->bounce, n);
		buf += n;
		len -= n;
		lba += n / b->block_size;
	}
	return st;
}

EFI_STATUS efi_bio_read(struct efi_bio *b, UINT64 off, void *buf, UINTN len)
{
	return efi_bio_io(b, off, buf, len, FALSE);
}

EFI_STATUS efi_bio_write(struct efi_bio *b, UINT64 off, const void *buf, UINTN len)
{
	return efi_bio_io(b, off, (UINT8 *)(UINTN)buf, len, TRUE);
}
