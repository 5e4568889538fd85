/* SPDX-License-Identifier: MIT */
/*
 * efi_bench.c - the hidden `create --bench-raw MODE` (issue 7 part 4): the
 * baseline our writer is measured against, in the same app and boot.
 *
 *   --bench-raw write   a plain loop of WriteBlocks of zeros over the bytes
 *                       the planned image would write (vhdx_image_total),
 *                       in chunks of the writer's zeroing buffer size, then
 *                       one FlushBlocks; prints elapsed time and MiB/s.
 *
 * Everything before the write is the real `create`: TARGET resolution, the
 * refusals (blank check, --force), the plan, the confirmation.  The loop
 * uses the same BlockIo path as the writer's sink (efi_bio_write: MediaId,
 * LBA, LastBlock), from one zeroed, page-aligned buffer filled once, like
 * efi_sink_zero.  Time from the TSC / generic timer calibrated against
 * Stall (efi_clock_us); the RTC (GetTime, whole seconds) is printed beside
 * it as a check on the calibration.  Block devices only.
 */
#include "efi_app.h"

BOOLEAN efi_bench_mode_known(const char *mode)
{
	static const char write[] = "write";
	UINTN i;

	for (i = 0; write[i] && mode[i] == write[i]; i++)
		;
	return write[i] == 0 && mode[i] == 0;
}

/* seconds since midnight from the RTC, or -1 */
static INT64 efi_bench_rtc(void)
{
	EFI_TIME tm;

	if (EFI_ERROR(RT->GetTime(&tm, NULL)))
		return -1;
	return (INT64)tm.Hour * 3600 + tm.Minute * 60 + tm.Second;
}

EFI_STATUS efi_bench_raw(const struct vhdx_cli *cli, struct efi_target *t,
			 const struct vhdx_plan *plan, UINTN chunk, EFI_HANDLE image)
{
	EFI_BLOCK_IO *bio = NULL;
	UINT64 total = vhdx_image_total(plan), done = 0, t0, t1, us, ms, calls = 0, flush_us;
	INT64 rtc0, rtc1;
	void *zeros;
	EFI_STATUS st;
	char line[240];
	struct vhdx_text s;

	(void)cli;
	total &= ~(UINT64)(t->bio.block_size - 1);
	if (total > t->bio.size)
		total = t->bio.size;
	zeros = efi_pages_alloc(chunk);
	if (!zeros)
		return efi_con_failf(EFI_OUT_OF_RESOURCES, L"no memory for a %ld-byte buffer",
				     (UINT64)chunk);
	ZeroMem(zeros, chunk);
	/* the same exclusive open as the writer (efi_create.c) */
	st = BS->OpenProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, (void **)&bio, image, NULL,
			      EFI_OPEN_PROTOCOL_EXCLUSIVE);
	if (EFI_ERROR(st) || bio != t->bio.bio) {
		if (!EFI_ERROR(st))
			BS->CloseProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, image, NULL);
		efi_pages_free(zeros, chunk);
		return efi_con_failf(EFI_APP_REFUSED, L"%s: cannot get exclusive access: %r", t->name,
				     EFI_ERROR(st) ? st : EFI_MEDIA_CHANGED);
	}
	rtc0 = efi_bench_rtc();
	t0 = efi_clock_us();
	while (done < total) {
		UINTN n = total - done < chunk ? (UINTN)(total - done) : chunk;

		st = efi_bio_write(&t->bio, done, zeros, n);
		if (EFI_ERROR(st))
			break;
		done += n;
		calls++;
	}
	t1 = efi_clock_us();
	if (!EFI_ERROR(st))
		st = t->bio.bio->FlushBlocks(t->bio.bio);
	us = efi_clock_us() - t0;
	flush_us = efi_clock_us() - t1;
	rtc1 = efi_bench_rtc();
	BS->CloseProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, image, NULL);
	BS->ConnectController(t->dev->handle, NULL, NULL, TRUE);
	efi_pages_free(zeros, chunk);
	if (EFI_ERROR(st))
		return efi_con_failf(EFI_APP_FAILED, L"bench-raw: write failed at byte %ld: %r", done,
				     st);
	ms = us / 1000 ? us / 1000 : 1;
	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "bench-raw write: wrote ");
	vhdx_text_u64(&s, done);
	vhdx_text_str(&s, " bytes in ");
	vhdx_text_u64(&s, ms);
	vhdx_text_str(&s, " ms (");
	vhdx_text_u64(&s, done / 1024 * 1000 / ms / 1024);
	vhdx_text_str(&s, " MiB/s), ");
	vhdx_text_u64(&s, calls);
	vhdx_text_str(&s, " WriteBlocks of up to ");
	vhdx_text_u64(&s, chunk);
	vhdx_text_str(&s, " bytes, ");
	vhdx_text_u64(&s, flush_us / 1000);
	vhdx_text_str(&s, " ms in 1 flush; RTC ");
	if (rtc0 >= 0 && rtc1 >= 0)
		vhdx_text_u64(&s, (UINT64)((rtc1 - rtc0 + 86400) % 86400));
	else
		vhdx_text_str(&s, "?");
	vhdx_text_str(&s, " s\n");
	efi_con_utf8(line);
	return EFI_SUCCESS;
}
