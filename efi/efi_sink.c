/* SPDX-License-Identifier: MIT */
/*
 * efi_sink.c - the core's struct vhdx_sink over a BlockIo device or an
 * EFI_FILE, with progress (throughput, time left; at most once a second,
 * for slow serial consoles) and ESC to abort.
 *
 * The firmware status of a failed call stays in the job (job->status) and
 * the core sees VHDX_ERR_IO; nothing here prints an error.
 */
#include "efi_app.h"

#define EFI_PROGRESS_EVERY_US 1000000u  /* between two progress lines */
#define EFI_ESC_EVERY_US      100000u   /* between two looks at the keyboard */

static EFI_STATUS efi_sink_fail(struct efi_job *job, EFI_STATUS st, const char *op, uint64_t off)
{
	if (!EFI_ERROR(job->status)) {
		job->status = st;
		job->failed_op = op;
		job->failed_off = off;
	}
	return st;
}

static int efi_sink_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct efi_job *job = s->ctx;
	UINT64 t0 = efi_clock_us();
	EFI_STATUS st;

	if (job->bio) {
		st = efi_bio_write(job->bio, off, buf, len);
	} else {
		UINTN n = len;

		st = job->file->SetPosition(job->file, off);
		if (!EFI_ERROR(st))
			st = job->file->Write(job->file, &n, (void *)(UINTN)buf);
		if (!EFI_ERROR(st) && n != len)
			st = EFI_VOLUME_FULL;
	}
	job->io_us += efi_clock_us() - t0;
	if (EFI_ERROR(st)) {
		efi_sink_fail(job, st, "write", off);
		return VHDX_ERR_IO;
	}
	job->bytes += len;
	return VHDX_OK;
}

/*
 * Zeroing writes one zeroed buffer, filled once, over and over: the core's
 * fallback (zeros from its scratch buffer) would clear the scratch before
 * every write, which costs as much CPU time as the I/O under TCG.
 */
static int efi_sink_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct efi_job *job = s->ctx;
	int err;

	if (!job->zeros)
		return VHDX_ERR_UNSUPPORTED;
	while (len) {
		size_t n = len < job->zeros_len ? (size_t)len : job->zeros_len;

		err = efi_sink_write(s, off, job->zeros, n);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return VHDX_OK;
}

static int efi_sink_flush(const struct vhdx_sink *s)
{
	struct efi_job *job = s->ctx;
	UINT64 t0 = efi_clock_us();
	EFI_STATUS st;

	if (job->bio)
		st = job->bio->bio->FlushBlocks(job->bio->bio);
	else
		st = job->file->Flush(job->file);
	job->flush_us += efi_clock_us() - t0;
	job->flushes++;
	if (EFI_ERROR(st)) {
		efi_sink_fail(job, st, "flush", 0);
		return VHDX_ERR_IO;
	}
	return VHDX_OK;
}

/* "12.3" from a value in tenths */
static void efi_text_tenths(struct vhdx_text *t, uint64_t tenths)
{
	char d[2] = { (char)('0' + tenths % 10), 0 };

	vhdx_text_u64(t, tenths / 10);
	vhdx_text_str(t, ".");
	vhdx_text_str(t, d);
}

static void efi_progress_line(struct efi_job *job, uint64_t done, uint64_t total, UINT64 now)
{
	UINT64 us = now - job->start_us;
	UINT64 rate10;  /* [0.1 MiB/s] */
	char line[160];
	struct vhdx_text t;

	if (us == 0)
		us = 1;
	rate10 = (done / 1024) * 10000000ull / us / 1024;
	vhdx_text_init(&t, line, sizeof(line));
	vhdx_text_str(&t, "\r  ");
	vhdx_text_u64(&t, done >> 20);
	vhdx_text_str(&t, " of ");
	vhdx_text_u64(&t, total >> 20);
	vhdx_text_str(&t, " MiB (");
	vhdx_text_u64(&t, total ? done * 100 / total : 100);
	vhdx_text_str(&t, "%), ");
	efi_text_tenths(&t, rate10);
	vhdx_text_str(&t, " MiB/s, ");
	if (done && done < total) {
		UINT64 ms = us / 1000 ? us / 1000 : 1;
		UINT64 bps = done * 1000 / ms;
		UINT64 left = bps ? (total - done) / bps : 0;

		vhdx_text_u64(&t, left / 60);
		vhdx_text_str(&t, left % 60 < 10 ? ":0" : ":");
		vhdx_text_u64(&t, left % 60);
		vhdx_text_str(&t, " left, ESC aborts  ");
	} else {
		vhdx_text_str(&t, "done                    ");
	}
	efi_con_utf8(line);
}

static int efi_sink_progress(const struct vhdx_sink *s, uint64_t done, uint64_t total)
{
	struct efi_job *job = s->ctx;
	UINT64 now = efi_clock_us();

	if (now - job->last_esc_us >= EFI_ESC_EVERY_US) {
		job->last_esc_us = now;
		if (efi_con_esc_pressed()) {
			job->aborted = TRUE;
			if (job->printed)
				efi_con_utf8("\n");
			return 1;
		}
	}
	if (!job->quiet && (now - job->last_print_us >= EFI_PROGRESS_EVERY_US ||
			    (done == total && job->printed))) {
		/* the first line after one second: short jobs stay silent */
		if (job->printed || now - job->start_us >= EFI_PROGRESS_EVERY_US) {
			efi_progress_line(job, done, total, now);
			job->printed = TRUE;
		}
		job->last_print_us = now;
	}
	return 0;
}

void efi_sink_init(struct vhdx_sink *s, struct efi_job *job)
{
	ZeroMem(s, sizeof(*s));
	s->ctx = job;
	s->write = efi_sink_write;
	s->flush = efi_sink_flush;
	s->zero = efi_sink_zero;
	s->allocate = NULL;  /* a device needs nothing; a file is written whole */
	s->progress = efi_sink_progress;
	if (job->bio) {
		s->block_size = job->bio->block_size;
		s->capacity = job->bio->size;
	} else {
		s->block_size = 512;
		s->capacity = 0;  /* a file grows */
	}
	job->start_us = efi_clock_us();
	job->last_print_us = job->start_us;
	job->last_esc_us = 0;
}
