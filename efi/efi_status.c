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

/* [-err] = { in the work, while nothing is written } */
static const EFI_STATUS efi_status_table[][2] = {
	[-VHDX_OK]              = { EFI_SUCCESS, EFI_SUCCESS },
	[-VHDX_ERR_NOSPACE]     = { EFI_APP_FAILED, EFI_APP_REFUSED },  /* our buffer too small: ours */
	[-VHDX_ERR_INVAL]       = { EFI_APP_REFUSED, EFI_APP_REFUSED }, /* a parameter; checked before any write */
	[-VHDX_ERR_RANGE]       = { EFI_APP_REFUSED, EFI_APP_REFUSED }, /* a value VHDX cannot hold */
	[-VHDX_ERR_DEVFULL]     = { EFI_APP_REFUSED, EFI_APP_REFUSED }, /* does not fit; checked before any write */
	[-VHDX_ERR_IO]          = { EFI_APP_FAILED, EFI_APP_REFUSED },  /* the firmware's status is in the ctx */
	[-VHDX_ERR_STATE]       = { EFI_APP_FAILED, EFI_APP_REFUSED },  /* out of sequence: ours */
	[-VHDX_ERR_CORRUPT]     = { EFI_VOLUME_CORRUPTED, EFI_APP_REFUSED }, /* not a consistent VHDX */
	[-VHDX_ERR_UNSUPPORTED] = { EFI_APP_REFUSED, EFI_APP_REFUSED }, /* valid, not something the core does */
	[-VHDX_ERR_ABORTED]     = { EFI_ABORTED, EFI_ABORTED },         /* ESC */
};

enum { IN_WORK, BEFORE_WRITE };

static EFI_STATUS status_of(int err, UINTN when)
{
	if (err > 0 || (UINTN)-err >= sizeof(efi_status_table) / sizeof(efi_status_table[0]))
		return EFI_APP_FAILED;
	return efi_status_table[-err][when];
}

EFI_STATUS efi_status_of(int err)
{
	return status_of(err, IN_WORK);
}

EFI_STATUS efi_status_before_write(int err)
{
	return status_of(err, BEFORE_WRITE);
}

EFI_STATUS efi_refuse(const char *text)
{
	return efi_con_fail(EFI_APP_REFUSED, text);
}

EFI_STATUS efi_refusef(const CHAR16 *fmt, ...)
{
	EFI_STATUS st;
	va_list ap;

	va_start(ap, fmt);
	st = efi_con_vfailf(EFI_APP_REFUSED, fmt, ap);
	va_end(ap);
	return st;
}

EFI_STATUS efi_out_of_memory(void)
{
	return efi_con_fail(EFI_OUT_OF_RESOURCES, "out of memory");
}
