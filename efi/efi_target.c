/* SPDX-License-Identifier: MIT */
/*
 * efi_target.c - TARGET in the UEFI shell, resolved for create, info,
 * check and a child's --parent: a shell mapping of a block device (blk1:,
 * or fs0: as a device), a device path in text form
 * (PciRoot(0x0)/Pci(0x5,0x0)), or a file on a mounted filesystem
 * (fs0:\dir\disk.vhdx).  For writing, what must not be written is refused
 * here (no media, read-only, the boot device, a missing folder), before
 * any plan is printed.
 */
#include "efi_app.h"
#include "vhdx_url.h"

static EFI_STATUS efi_target_block(struct efi_target *t, BOOLEAN is_map, BOOLEAN for_write,
				   EFI_HANDLE image)
{
	EFI_DEVICE_PATH *dp, *owned = NULL;
	INTN i;
	EFI_STATUS st;

	efi_dev_connect_all();
	st = efi_dev_list(&t->devs, &t->dev_count, image);
	if (EFI_ERROR(st))
		return efi_con_failf(EFI_APP_FAILED, L"cannot list block devices: %r", st);
	if (is_map) {
		dp = efi_dev_path_from_map(t->name);
		if (!dp)
			return efi_refusef(L"%s: no such mapping (see `vhdx list` or `map`)",
					   t->name);
	} else {
		dp = owned = efi_dev_path_from_text(t->name);
		if (!dp)
			return efi_refusef(L"%s: not a device path the firmware can read", t->name);
	}
	i = efi_dev_find(t->devs, t->dev_count, dp);
	if (owned)
		FreePool(owned);
	if (i < 0)
		return efi_refusef(L"%s: no block device has this device path",
				   t->name);
	t->dev = &t->devs[i];
	st = efi_bio_open(&t->bio, t->dev->bio);
	if (st == EFI_NO_MEDIA)
		return efi_refusef(L"%s: no media", t->name);
	if (EFI_ERROR(st) || t->bio.block_size > 4096)
		return efi_refusef(L"%s: block size %d is not a power of two up to 4096",
				   t->name, t->dev->bio->Media->BlockSize);
	if (!for_write)
		return EFI_SUCCESS;
	if (t->dev->bio->Media->ReadOnly)
		return efi_refusef(L"%s: the media is read-only", t->name);
	if (t->bio.io_align > 4096)
		return efi_refusef(L"%s: IoAlign %d above 4096 is not supported",
				   t->name, t->bio.io_align);
	if (t->dev->is_boot)
		return efi_refusef(L"%s: this is the device vhdx.efi was loaded from (or the disk under it)",
				   t->name);
	return EFI_SUCCESS;
}

/*
 * A new file: its folder must exist and be a folder, or the create would
 * fail only at the write (after the plan and the confirmation).  Refused
 * here, like every other bad TARGET, with nothing written.
 */
static EFI_STATUS efi_target_folder(struct efi_target *t)
{
	EFI_FILE_HANDLE f;
	EFI_FILE_INFO *fi;
	EFI_STATUS st;
	BOOLEAN dir;
	UINTN i, last = 0;
	CHAR16 *folder;

	for (i = 0; t->path[i]; i++)
		if (t->path[i] == L'\\')
			last = i;
	if (last == 0)
		return EFI_SUCCESS; /* the root folder */
	folder = AllocateZeroPool((last + 1) * sizeof(CHAR16));
	if (!folder)
		return EFI_OUT_OF_RESOURCES;
	CopyMem(folder, t->path, last * sizeof(CHAR16));
	st = t->root->Open(t->root, &f, folder, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st)) {
		st = efi_refusef(L"%s: no such folder %s: %r", t->name, folder, st);
		FreePool(folder);
		return st;
	}
	fi = LibFileInfo(f);
	dir = fi && (fi->Attribute & EFI_FILE_DIRECTORY);
	if (fi)
		FreePool(fi);
	f->Close(f);
	st = dir ? EFI_SUCCESS :
	     efi_refusef(L"%s: %s is not a folder", t->name, folder);
	FreePool(folder);
	return st;
}

static EFI_STATUS efi_target_file(struct efi_target *t, UINTN colon, BOOLEAN for_write)
{
	CHAR16 map[64];
	EFI_DEVICE_PATH *dp, *rest;
	EFI_HANDLE h;
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE f;
	EFI_FILE_SYSTEM_INFO *fsi;
	EFI_STATUS st;
	UINTN i;

	if (colon + 2 > sizeof(map) / sizeof(map[0]))
		return efi_refusef(L"%s: mapping name too long", t->name);
	CopyMem(map, t->name, (colon + 1) * sizeof(CHAR16));
	map[colon + 1] = 0;
	t->path = StrDuplicate(t->name + colon + 1);
	if (!t->path)
		return EFI_OUT_OF_RESOURCES;
	for (i = 0; t->path[i]; i++)
		if (t->path[i] == L'/')
			t->path[i] = L'\\';
	dp = efi_dev_path_from_map(map);
	if (!dp)
		return efi_refusef(L"%s: no such mapping %s", t->name, map);
	t->fs_dp = dp;
	rest = dp;
	st = BS->LocateDevicePath(&gEfiSimpleFileSystemProtocolGuid, &rest, &h);
	if (!EFI_ERROR(st))
		st = BS->HandleProtocol(h, &gEfiSimpleFileSystemProtocolGuid, (void **)&fs);
	if (EFI_ERROR(st))
		return efi_refusef(L"%s: %s is not a filesystem", t->name, map);
	st = fs->OpenVolume(fs, &t->root);
	if (EFI_ERROR(st))
		return efi_refusef(L"%s: cannot open the volume: %r", t->name, st);
	fsi = LibFileSystemInfo(t->root);
	if (fsi) {
		BOOLEAN ro = fsi->ReadOnly;

		t->free_space = fsi->FreeSpace;
		FreePool(fsi);
		if (ro && for_write)
			return efi_refusef(L"%s: the filesystem is read-only",
					   t->name);
	} else {
		t->free_space = ~0ull;
	}
	st = t->root->Open(t->root, &f, t->path, EFI_FILE_MODE_READ, 0);
	if (!EFI_ERROR(st)) {
		EFI_FILE_INFO *fi = LibFileInfo(f);
		BOOLEAN dir = fi && (fi->Attribute & EFI_FILE_DIRECTORY);

		t->exists = TRUE;
		t->old_size = fi ? fi->FileSize : 0;
		if (fi)
			FreePool(fi);
		f->Close(f);
		if (dir)
			return efi_refusef(L"%s: is a directory", t->name);
	} else if (st != EFI_NOT_FOUND || !for_write) {
		return efi_refusef(L"%s: cannot open: %r", t->name, st);
	} else {
		return efi_target_folder(t);
	}
	return EFI_SUCCESS;
}

EFI_STATUS efi_target_resolve(struct efi_target *t, const struct vhdx_cli *cli, BOOLEAN for_write,
			      EFI_HANDLE image)
{
	UINTN i, colon = 0;
	BOOLEAN has_colon = FALSE, has_paren = FALSE;

	UINTN units = 1;

	if (vhdx_url_is_url(cli->target))
		return efi_target_url(t, cli, for_write);
	for (i = 0; cli->target[i]; i++)
		units++; /* UTF-8 bytes bound the UTF-16 units */
	t->name = AllocateZeroPool(units * sizeof(CHAR16));
	if (!t->name)
		return EFI_OUT_OF_RESOURCES;
	efi_text_from_utf8(cli->target, t->name, units);
	for (i = 0; t->name[i]; i++) {
		if (t->name[i] == L'(')
			has_paren = TRUE;
		if (t->name[i] == L':' && !has_colon) {
			has_colon = TRUE;
			colon = i;
		}
	}
	if (has_colon && !has_paren && t->name[colon + 1] == 0) {
		t->kind = EFI_TARGET_BLOCK;
		return efi_target_block(t, TRUE, for_write, image);
	}
	if (has_colon && !has_paren && (t->name[colon + 1] == L'\\' || t->name[colon + 1] == L'/')) {
		t->kind = EFI_TARGET_FILE;
		return efi_target_file(t, colon, for_write);
	}
	if (has_paren) {
		t->kind = EFI_TARGET_BLOCK;
		return efi_target_block(t, FALSE, for_write, image);
	}
	return efi_refusef(
		L"%s: give a mapping (blk1:), a device path (PciRoot(0x0)/Pci(0x5,0x0)) or a file (fs0:\\disk.vhdx)",
		t->name);
}

void efi_target_free(struct efi_target *t)
{
	efi_http_close(t->http);
	t->http = NULL;
	efi_bio_close(&t->bio);
	efi_dev_free(t->devs, t->dev_count);
	if (t->root)
		t->root->Close(t->root);
	if (t->path)
		FreePool(t->path);
	if (t->name)
		FreePool(t->name);
}

int efi_target_signature(struct efi_target *t)
{
	UINT8 *p = efi_pages_alloc(4096);
	BOOLEAN sig = FALSE;
	UINTN n = 8; /* [byte] read: the signature's, or a block */
	EFI_STATUS st;

	if (!p)
		return -1;
	if (t->kind == EFI_TARGET_BLOCK) {
		n = t->bio.block_size;
		st = efi_bio_read(&t->bio, 0, p, n);
	} else {
		EFI_FILE_HANDLE f;

		st = t->root->Open(t->root, &f, t->path, EFI_FILE_MODE_READ, 0);
		if (!EFI_ERROR(st)) {
			st = f->Read(f, &n, p);
			f->Close(f);
		}
	}
	if (!EFI_ERROR(st))
		sig = vhdx_has_signature(p, n);
	efi_pages_free(p, 4096);
	return EFI_ERROR(st) ? -1 : sig ? 1 : 0;
}
