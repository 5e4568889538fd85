/* SPDX-License-Identifier: MIT */
/*
 * efi_devices.c - BlockIo devices: discovery, shell mappings, device paths
 * in text and binary form, and which one the app was loaded from.
 *
 * A user's device path text is matched by converting it with
 * EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL and comparing binary paths: the same
 * path prints as "PciRoot(0x0)" or "PciRoot(0)" depending on who prints it.
 */
#include "efi_app.h"

static EFI_GUID efi_shell_guid = EFI_SHELL_PROTOCOL_GUID;
static EFI_GUID efi_dp_to_text_guid = EFI_DEVICE_PATH_TO_TEXT_PROTOCOL_GUID;
static EFI_GUID efi_dp_from_text_guid = EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL_GUID;

static EFI_SHELL_PROTOCOL *efi_shell(void)
{
	EFI_SHELL_PROTOCOL *sh = NULL;

	if (EFI_ERROR(BS->LocateProtocol(&efi_shell_guid, NULL, (void **)&sh)))
		return NULL;
	return sh;
}

static const EFI_DEVICE_PATH *efi_dp_next(const EFI_DEVICE_PATH *n)
{
	return (const EFI_DEVICE_PATH *)((const UINT8 *)n + DevicePathNodeLength(n));
}

static BOOLEAN efi_dp_end(const EFI_DEVICE_PATH *n)
{
	return DevicePathType(n) == END_DEVICE_PATH_TYPE &&
	       n->SubType == END_ENTIRE_DEVICE_PATH_SUBTYPE;
}

BOOLEAN efi_dp_prefix(const EFI_DEVICE_PATH *a, const EFI_DEVICE_PATH *b)
{
	while (!efi_dp_end(a)) {
		UINTN la = DevicePathNodeLength(a), lb;

		if (efi_dp_end(b))
			return FALSE;
		lb = DevicePathNodeLength(b);
		if (la < 4 || la != lb || CompareMem(a, b, la) != 0)
			return FALSE;
		a = efi_dp_next(a);
		b = efi_dp_next(b);
	}
	return TRUE;
}

BOOLEAN efi_dp_equal(const EFI_DEVICE_PATH *a, const EFI_DEVICE_PATH *b)
{
	return efi_dp_prefix(a, b) && efi_dp_prefix(b, a);
}

void efi_dev_connect_all(void)
{
	EFI_HANDLE *h = NULL;
	UINTN n = 0, i;

	if (EFI_ERROR(BS->LocateHandleBuffer(AllHandles, NULL, NULL, &n, &h)))
		return;
	for (i = 0; i < n; i++)
		BS->ConnectController(h[i], NULL, NULL, TRUE);
	FreePool(h);
}

static CHAR16 *efi_dp_text(const EFI_DEVICE_PATH *dp)
{
	EFI_DEVICE_PATH_TO_TEXT_PROTOCOL *tt = NULL;
	CHAR16 *s = NULL;

	if (!EFI_ERROR(BS->LocateProtocol(&efi_dp_to_text_guid, NULL, (void **)&tt)) && tt)
		s = tt->ConvertDevicePathToText(dp, FALSE, FALSE);
	if (!s)
		s = DevicePathToStr((EFI_DEVICE_PATH *)(UINTN)dp);
	if (!s)
		s = StrDuplicate(L"?");
	return s;
}

/* The shell's mappings of dp ("FS0:;BLK0:"), or NULL. */
static CHAR16 *efi_dp_maps(EFI_SHELL_PROTOCOL *sh, EFI_DEVICE_PATH *dp)
{
	EFI_DEVICE_PATH *p = dp;
	CONST CHAR16 *m;

	if (!sh || !dp)
		return NULL;
	m = sh->GetMapFromDevicePath(&p);
	/* a mapping of a shorter path (p moved) is not this device's own */
	if (!m || !efi_dp_end(p))
		return NULL;
	return StrDuplicate(m);
}

EFI_STATUS efi_dev_list(struct efi_dev **ret, UINTN *ret_count, EFI_HANDLE image)
{
	EFI_SHELL_PROTOCOL *sh = efi_shell();
	EFI_LOADED_IMAGE *li = NULL;
	EFI_DEVICE_PATH *boot_dp = NULL;
	EFI_HANDLE *h = NULL;
	struct efi_dev *devs;
	UINTN n = 0, i, k = 0;
	EFI_STATUS st;

	st = BS->LocateHandleBuffer(ByProtocol, &gEfiBlockIoProtocolGuid, NULL, &n, &h);
	if (st == EFI_NOT_FOUND) {
		n = 0;
	} else if (EFI_ERROR(st)) {
		return st;
	}
	devs = AllocateZeroPool((n ? n : 1) * sizeof(*devs));
	if (!devs) {
		if (h)
			FreePool(h);
		return EFI_OUT_OF_RESOURCES;
	}
	if (!EFI_ERROR(BS->HandleProtocol(image, &gEfiLoadedImageProtocolGuid, (void **)&li)) &&
	    li && li->DeviceHandle)
		BS->HandleProtocol(li->DeviceHandle, &gEfiDevicePathProtocolGuid, (void **)&boot_dp);
	for (i = 0; i < n; i++) {
		struct efi_dev *d = &devs[k];

		if (EFI_ERROR(BS->HandleProtocol(h[i], &gEfiBlockIoProtocolGuid, (void **)&d->bio)))
			continue;
		d->handle = h[i];
		BS->HandleProtocol(h[i], &gEfiDevicePathProtocolGuid, (void **)&d->dp);
		d->dp_text = d->dp ? efi_dp_text(d->dp) : StrDuplicate(L"(no device path)");
		d->map_text = efi_dp_maps(sh, d->dp);
		/* the boot device, or the disk it is a partition of */
		d->is_boot = (li && h[i] == li->DeviceHandle) ||
			     (boot_dp && d->dp && efi_dp_prefix(d->dp, boot_dp));
		k++;
	}
	if (h)
		FreePool(h);
	*ret = devs;
	*ret_count = k;
	return EFI_SUCCESS;
}

void efi_dev_free(struct efi_dev *devs, UINTN count)
{
	UINTN i;

	if (!devs)
		return;
	for (i = 0; i < count; i++) {
		if (devs[i].dp_text)
			FreePool(devs[i].dp_text);
		if (devs[i].map_text)
			FreePool(devs[i].map_text);
	}
	FreePool(devs);
}

EFI_DEVICE_PATH *efi_dev_path_from_map(const CHAR16 *map)
{
	EFI_SHELL_PROTOCOL *sh = efi_shell();
	CONST EFI_DEVICE_PATH *dp;

	if (!sh)
		return NULL;
	dp = sh->GetDevicePathFromMap(map);
	return (EFI_DEVICE_PATH *)(UINTN)dp;
}

EFI_DEVICE_PATH *efi_dev_path_from_text(const CHAR16 *text)
{
	EFI_DEVICE_PATH_FROM_TEXT_PROTOCOL *ft = NULL;

	if (EFI_ERROR(BS->LocateProtocol(&efi_dp_from_text_guid, NULL, (void **)&ft)) || !ft)
		return NULL;
	return ft->ConvertTextToDevicePath(text);
}

INTN efi_dev_find(const struct efi_dev *devs, UINTN count, const EFI_DEVICE_PATH *dp)
{
	UINTN i;

	for (i = 0; i < count; i++)
		if (devs[i].dp && efi_dp_equal(devs[i].dp, dp))
			return (INTN)i;
	return -1;
}
