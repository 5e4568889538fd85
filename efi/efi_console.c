/* SPDX-License-Identifier: MIT */
/*
 * efi_console.c - console output and input, and a microsecond clock.
 *
 * Everything goes to ST->ConOut, which the shell redirects and OVMF copies
 * to the serial port.  Errors are one line, "vhdx: ...".
 */
#include "efi_app.h"



void efi_con_utf8(const char *text)
{
	/* convert in pieces: a line of the plan can be long */
	CHAR16 out[130];
	char piece[64];
	const char *p = text;

	while (*p) {
		UINTN n = 0, o = 0;
		CHAR16 tmp[70];
		UINTN i;

		/* do not split a UTF-8 sequence */
		while (p[n] && (n < sizeof(piece) - 4 ||
				((unsigned char)p[n] & 0xC0) == 0x80))
			n++;
		CopyMem(piece, p, n);
		piece[n] = 0;
		p += n;
		efi_text_from_utf8(piece, tmp, sizeof(tmp) / sizeof(tmp[0]));
		for (i = 0; tmp[i]; i++) {
			if (tmp[i] == L'\n')
				out[o++] = L'\r';
			out[o++] = tmp[i];
		}
		out[o] = 0;
		ST->ConOut->OutputString(ST->ConOut, out);
	}
}

EFI_STATUS efi_con_fail(EFI_STATUS status, const char *text)
{
	efi_con_utf8("vhdx: ");
	efi_con_utf8(text);
	efi_con_utf8("\n");
	return status;
}

EFI_STATUS efi_con_vfailf(EFI_STATUS status, const CHAR16 *fmt, va_list ap)
{
	Print(L"vhdx: ");
	VPrint(fmt, ap);
	Print(L"\n");
	return status;
}

EFI_STATUS efi_con_failf(EFI_STATUS status, const CHAR16 *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status = efi_con_vfailf(status, fmt, ap);
	va_end(ap);
	return status;
}

BOOLEAN efi_con_esc_pressed(void)
{
	EFI_INPUT_KEY key;
	BOOLEAN esc = FALSE;
	int n;

	/* drain a bounded number of keys: ReadKeyStroke is non-blocking */
	for (n = 0; n < 16; n++) {
		if (EFI_ERROR(ST->ConIn->ReadKeyStroke(ST->ConIn, &key)))
			break;
		if (key.ScanCode == SCAN_ESC || key.UnicodeChar == 0x1B)
			esc = TRUE;
	}
	return esc;
}

BOOLEAN efi_con_read_line(CHAR16 *buf, UINTN units)
{
	UINTN n = 0;

	buf[0] = 0;
	for (;;) {
		EFI_INPUT_KEY key;
		UINTN idx;

		BS->WaitForEvent(1, &ST->ConIn->WaitForKey, &idx);
		if (EFI_ERROR(ST->ConIn->ReadKeyStroke(ST->ConIn, &key)))
			continue;
		if (key.ScanCode == SCAN_ESC || key.UnicodeChar == 0x1B) {
			Print(L"\n");
			return FALSE;
		}
		if (key.UnicodeChar == CHAR_CARRIAGE_RETURN || key.UnicodeChar == CHAR_LINEFEED) {
			Print(L"\n");
			return TRUE;
		}
		if (key.UnicodeChar == CHAR_BACKSPACE) {
			if (n > 0) {
				buf[--n] = 0;
				Print(L"\b \b");
			}
			continue;
		}
		if (key.UnicodeChar >= 0x20 && n + 1 < units) {
			CHAR16 echo[2] = { key.UnicodeChar, 0 };

			buf[n++] = key.UnicodeChar;
			buf[n] = 0;
			ST->ConOut->OutputString(ST->ConOut, echo);
		}
	}
}

/* ---- clock ---- */

static UINT64 efi_clock_hz;   /* cycles per second, from calibration */
static UINT64 efi_clock_base;

UINT64 efi_clock_cycles(void)
{
#if defined(__x86_64__)
	UINT32 lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((UINT64)hi << 32) | lo;
#elif defined(__aarch64__)
	UINT64 v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	static UINT64 fake;

	return ++fake;
#endif
}

void efi_clock_init(void)
{
	UINT64 a, b;

	/* 20 ms against the firmware's Stall: good to a few percent,
	 * enough for throughput and time-left figures. */
	a = efi_clock_cycles();
	BS->Stall(20000);
	b = efi_clock_cycles();
	efi_clock_hz = (b - a) * 50;
	if (efi_clock_hz == 0)
		efi_clock_hz = 1;
	efi_clock_base = efi_clock_cycles();
}

UINT64 efi_clock_us(void)
{
	UINT64 d = efi_clock_cycles() - efi_clock_base;

	/* split to avoid overflow of d * 10^6 */
	return (d / efi_clock_hz) * 1000000 + ((d % efi_clock_hz) * 1000000) / efi_clock_hz;
}

void efi_con_line(void *ctx, const char *text)
{
	(void)ctx;
	efi_con_utf8(text);
	efi_con_utf8("\n");
}

BOOLEAN efi_con_confirm_overwrite(const char *target)
{
	CHAR16 answer[16];

	efi_con_utf8("This overwrites ");
	efi_con_utf8(target);
	efi_con_utf8(". Type yes and Enter to go on, anything else cancels: ");
	if (!efi_con_read_line(answer, sizeof(answer) / sizeof(answer[0])))
		return FALSE;
	return StrCmp(answer, L"yes") == 0;
}
