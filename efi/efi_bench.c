/* SPDX-License-Identifier: MIT */
/*
 * efi_bench.c - the hidden `--bench-raw MODE` of create (issue 7 part 4)
 * and convert (issue 14): the baselines our writers are measured against,
 * in the same app and boot.
 *
 *   create --bench-raw write   a plain loop of WriteBlocks of zeros over the
 *                       bytes the planned image would write
 *                       (vhdx_image_total), in chunks of the writer's
 *                       zeroing buffer size, then one FlushBlocks; prints
 *                       elapsed time and MiB/s.
 *   convert --bench-raw copy   a plain copy loop for a deploy: the bytes
 *                       of the source's file (or device) from its first
 *                       payload byte, as many as the deploy writes, read
 *                       through the reader's own source (efi_source:
 *                       EFI_FILE Read or ReadBlocks) and written with
 *                       WriteBlocks at increasing offsets, in convert's
 *                       chunk from convert's buffer, then one FlushBlocks;
 *                       no VHDX logic.  The deploy's own overhead is its
 *                       time against this loop's.
 *
 * Everything before the loop is the real command: TARGET resolution, the
 * refusals (blank check, --force), the plan, the confirmation.  The loops
 * use the same BlockIo path as the writers' sink (efi_bio_write: MediaId,
 * LBA, LastBlock) and the same exclusive open of the target.  Time from
 * the TSC / generic timer calibrated against Stall (efi_clock_us); the
 * write loop prints the RTC (GetTime, whole seconds) beside it as a check
 * on the calibration.  Block devices only.
 */
#include "efi_app.h"

static BOOLEAN efi_bench_is(const char *mode, const char *name)
{
	UINTN i;

	for (i = 0; name[i] && mode[i] == name[i]; i++)
		;
	return name[i] == 0 && mode[i] == 0;
}

BOOLEAN efi_bench_mode_known_for(enum vhdx_cli_cmd cmd, const char *mode)
{
	if (cmd == VHDX_CMD_CREATE)
		return efi_bench_is(mode, "write");
	if (cmd == VHDX_CMD_CONVERT)
		return efi_bench_is(mode, "copy");
	return FALSE;
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
		return efi_refusef(L"%s: cannot get exclusive access: %r", t->name,
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

/* "N ms" of microseconds, at least 1 where a rate divides by it */
static UINT64 efi_bench_ms(UINT64 us)
{
	return us / 1000 ? us / 1000 : 1;
}

EFI_STATUS efi_bench_copy(const struct vhdx_source *s, const struct efi_source *es, UINT64 from,
			  struct efi_bio *dst, UINT64 size, void *buf, UINTN chunk)
{
	UINT64 done = 0, t0, t1, t2, read_us = 0, write_us = 0, flush_us, us, ms, calls = 0;
	const CHAR16 *op = L"read";
	EFI_STATUS st = EFI_SUCCESS;
	char line[300];
	struct vhdx_text l;

	t0 = efi_clock_us();
	while (done < size) {
		UINTN n = size - done < chunk ? (UINTN)(size - done) : chunk;

		t1 = efi_clock_us();
		if (s->read(s, from + done, buf, n)) {
			st = EFI_ERROR(es->status) ? es->status : EFI_DEVICE_ERROR;
			break;
		}
		t2 = efi_clock_us();
		read_us += t2 - t1;
		st = efi_bio_write(dst, done, buf, n);
		write_us += efi_clock_us() - t2;
		if (EFI_ERROR(st)) {
			op = L"write";
			break;
		}
		done += n;
		calls++;
	}
	t1 = efi_clock_us();
	if (!EFI_ERROR(st)) {
		op = L"flush";
		st = dst->bio->FlushBlocks(dst->bio);
	}
	t2 = efi_clock_us();
	flush_us = t2 - t1;
	us = t2 - t0;
	if (EFI_ERROR(st))
		return efi_con_failf(EFI_APP_FAILED, L"bench-raw copy: %s failed at byte %ld: %r", op, done, st);
	ms = efi_bench_ms(us);
	vhdx_text_init(&l, line, sizeof(line));
	vhdx_text_str(&l, "bench-raw copy: ");
	vhdx_text_u64(&l, done);
	vhdx_text_str(&l, " bytes in ");
	vhdx_text_u64(&l, ms);
	vhdx_text_str(&l, " ms, ");
	vhdx_text_u64(&l, done / 1024 * 1000 / ms / 1024);
	vhdx_text_str(&l, " MiB/s; reads ");
	vhdx_text_u64(&l, read_us / 1000);
	vhdx_text_str(&l, " ms, writes ");
	vhdx_text_u64(&l, write_us / 1000);
	vhdx_text_str(&l, " ms, 1 flush ");
	vhdx_text_u64(&l, flush_us / 1000);
	vhdx_text_str(&l, " ms; ");
	vhdx_text_u64(&l, calls);
	vhdx_text_str(&l, " reads and writes of up to ");
	vhdx_text_u64(&l, chunk);
	vhdx_text_str(&l, " bytes from source byte ");
	vhdx_text_u64(&l, from);
	vhdx_text_str(&l, "\n");
	efi_con_utf8(line);
	return EFI_SUCCESS;
}
