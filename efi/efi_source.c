/* SPDX-License-Identifier: MIT */
/*
 * efi_source.c - the core's source (struct vhdx_source) over a TARGET: a
 * block device read through efi_bio_read (MediaId, LBA, bounce for
 * IoAlign), or a file opened read-only through EFI_FILE_PROTOCOL.  One
 * reader for info, check, `vhdx list`'s summary and a child's parent; the
 * firmware status that failed stays in struct efi_source for the message.
 */
#include "efi_app.h"

/* Reads exactly len bytes of a file at off (EFI_END_OF_FILE if it is shorter). */
static EFI_STATUS efi_source_file_read(EFI_FILE_HANDLE f, UINT64 off, void *buf, UINTN len)
{
	UINTN n = len;
	EFI_STATUS st = f->SetPosition(f, off);

	if (!EFI_ERROR(st))
		st = f->Read(f, &n, buf);
	if (!EFI_ERROR(st) && n != len)
		st = EFI_END_OF_FILE;
	return st;
}

static int efi_source_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct efi_source *src = s->ctx;
	EFI_STATUS st;

	if (src->http)
		st = efi_http_read(src->http, off, buf, len);
	else if (src->bio)
		/* the reader ends a read at the source end, never inside a block */
		st = efi_bio_read(src->bio, off, buf, len);
	else
		st = efi_source_file_read(src->file, off, buf, len);
	if (EFI_ERROR(st)) {
		src->status = st;
		if (src->also)
			*src->also = st;
		return VHDX_ERR_IO;
	}
	return VHDX_OK;
}

void efi_source_bio(struct efi_source *src, struct efi_bio *b, struct vhdx_source *ret)
{
	ZeroMem(src, sizeof(*src));
	ZeroMem(ret, sizeof(*ret));
	src->bio = b;
	ret->ctx = src;
	ret->read = efi_source_read;
	ret->size = b->size;
	ret->is_device = true;
}

EFI_STATUS efi_source_open(struct efi_source *src, struct efi_target *t, struct vhdx_source *ret)
{
	if (t->kind == EFI_TARGET_BLOCK) {
		efi_source_bio(src, &t->bio, ret);
		return EFI_SUCCESS;
	}
	if (t->kind == EFI_TARGET_URL) {
		efi_source_url(src, t->http, ret);
		return EFI_SUCCESS;
	}
	ZeroMem(src, sizeof(*src));
	src->status = t->root->Open(t->root, &src->file, t->path, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(src->status)) {
		src->file = NULL;
		return src->status;
	}
	ZeroMem(ret, sizeof(*ret));
	ret->ctx = src;
	ret->read = efi_source_read;
	ret->size = t->old_size;
	return EFI_SUCCESS;
}

void efi_source_file(struct efi_source *src, EFI_FILE_HANDLE f, UINT64 size, struct vhdx_source *ret)
{
	ZeroMem(src, sizeof(*src));
	ZeroMem(ret, sizeof(*ret));
	src->file = f;
	ret->ctx = src;
	ret->read = efi_source_read;
	ret->size = size;
}

void efi_source_url(struct efi_source *src, struct efi_http *h, struct vhdx_source *ret)
{
	ZeroMem(src, sizeof(*src));
	ZeroMem(ret, sizeof(*ret));
	src->http = h;
	ret->ctx = src;
	ret->read = efi_source_read;
	ret->size = efi_http_size(h);
}

void efi_source_close(struct efi_source *src)
{
	if (src->file)
		src->file->Close(src->file);
	src->file = NULL;
}
