/* SPDX-License-Identifier: MIT */
/*
 * tests/efi/marker.c - the EFI program on the golden disk's ESP
 * (\EFI\BOOT\BOOTX64.EFI, BOOTAA64.EFI) that tests/efi/deploy.sh deploys
 * with vhdx.efi and then boots alone: the firmware's default boot of a
 * removable disk starts it, it prints one marker line and the device path
 * it was loaded from on the console (which OVMF/AAVMF mirror to the
 * serial port), and powers the machine off.  Nothing else.
 */
#include <efi.h>
#include <efilib.h>

#define MARKER L"VHDX-DEPLOY-MARKER booted from deployed disk"

/* not EFIAPI: gnu-efi's crt0 calls it with the System V convention
   (GNU_EFI_USE_MS_ABI on x86_64; see EFI-TESTING.md) */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li = NULL;
	EFI_DEVICE_PATH *dp = NULL;
	CHAR16 *text = NULL;

	InitializeLib(image, systab);
	if (!EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol,
					 (void **)&li)) && li)
		dp = DevicePathFromHandle(li->DeviceHandle);
	if (dp)
		text = DevicePathToStr(dp);
	Print(L"\r\n%s: %s\r\n", MARKER, text ? text : L"(no device path)");
	Print(L"VHDX-DEPLOY-MARKER powering off\r\n");
	uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
