/* SPDX-License-Identifier: MIT */
/*
 * efi_status.c - the core's errors (enum vhdx_err) as the EFI_STATUS the
 * app returns, in one table: the only place the two meet.  The classes
 * are efi_app.h's: refused (nothing was written, or the request cannot be
 * met as given), failed part-way or by a fault of ours, stopped by the
 * user.  The firmware's own status of a failed read or write stays in
 * the source's or the sink's context, for the message.
 */
#include "efi_app.h"

static const EFI_STATUS efi_status_table[] = {
	[-VHDX_OK]              = EFI_SUCCESS,
	[-VHDX_ERR_NOSPACE]     = EFI_APP_FAILED,       /* our buffer too small: ours */
	[-VHDX_ERR_INVAL]       = EFI_APP_REFUSED,      /* a parameter; checked before any write */
	[-VHDX_ERR_RANGE]       = EFI_APP_REFUSED,      /* a value VHDX cannot hold */
	[-VHDX_ERR_DEVFULL]     = EFI_APP_REFUSED,      /* does not fit; checked before any write */
	[-VHDX_ERR_IO]          = EFI_APP_FAILED,       /* the firmware's status is in the ctx */
	[-VHDX_ERR_STATE]       = EFI_APP_FAILED,       /* out of sequence: ours */
	[-VHDX_ERR_CORRUPT]     = EFI_VOLUME_CORRUPTED, /* not a consistent VHDX */
	[-VHDX_ERR_UNSUPPORTED] = EFI_APP_REFUSED,      /* valid, not something the core does */
	[-VHDX_ERR_ABORTED]     = EFI_ABORTED,          /* ESC */
};

EFI_STATUS efi_status_of(int err)
{
	if (err > 0 || (UINTN)-err >= sizeof(efi_status_table) / sizeof(efi_status_table[0]))
		return EFI_APP_FAILED;
	return efi_status_table[-err];
}
