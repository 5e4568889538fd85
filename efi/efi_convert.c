/* SPDX-License-Identifier: MIT */
/*
 * efi_convert.c - `vhdx convert [options] SOURCE TARGET` in the UEFI shell:
 * deploy an image onto a disk, capture a disk into an image (issue 14),
 * through the core's convert job (core/vhdx_convert.h), as the host does.
 *
 * The core opens SOURCE (efi_disk_open, efi_compare.c: a VHDX file or
 * device, a child through its chain on its volume, a dirty log through
 * the core's view: the source is never written; or raw bytes; a file
 * named *.vhdx / *.avhdx is read as VHDX even without the signature), picks
 * the output (-O, else a *.vhdx / *.avhdx TARGET gets VHDX, anything else
 * the raw disk), plans it and refuses what does not fit (a device too
 * small, a size that is not a multiple of the device's blocks, a partition
 * table that counts other sectors than the device's unless
 * --allow-sector-mismatch, another logical sector size of a VHDX source
 * without -f, an image that cannot fit the volume or a FAT file), prints
 * the same plan lines as the host, and writes in the crash-safe order (raw:
 * the first MiB zeroed and flushed first, written last; VHDX: payload and
 * BAT first, the signature last).
 *
 * Here, the rules only the firmware can apply: raw output goes onto a
 * block device only (a FAT file holds under 4 GiB, and has no holes);
 * refused with one line, nothing written: the boot device and the disk
 * under it, the device that holds SOURCE (or its volume), read-only or
 * absent media, a device or file that is not blank without --force.
 * Then the prompt, exclusive access to a device (the drivers above it
 * stopped, started again afterwards), ESC, the messages and the status.
 * On any failure a file is deleted; a device holds no VHDX signature (the
 * core writes it last and takes it back) or has its first MiB zero.
 *
 * Hidden: `--bench-raw copy` runs, after every refusal, the plan and the
 * confirmation of a deploy, a plain copy loop of the source's own bytes
 * instead (efi_bench.c), the baseline the deploy is measured against.
 *
 * Status: as efi_app.h says for convert.
 */
#include "efi_app.h"
#include "vhdx_convert.h"

#define EFI_CV_CHUNK     (16u << 20)  /* [byte] reads and writes (create's measured best) */
#define EFI_CV_CHUNK_MIN (1u << 20)   /* [byte] when the firmware has less memory */
#define EFI_CV_FAT_MAX   0xFFFFFFFFull /* [byte] largest FAT file (UEFI 2.x 13.3: FAT volumes) */

struct efi_cv {
	const struct vhdx_cli *cli;
	EFI_HANDLE image;
	struct efi_disk src;
	struct efi_target t;
	struct vhdx_convert job;
	enum efi_rng_source rng;
	/* writing */
	BOOLEAN exclusive;
	EFI_FILE_HANDLE f;
	BOOLEAN deleted;
	struct efi_job sink_job;
	struct vhdx_sink sink;
	UINT8 *buf;
	UINTN buf_len;              /* [byte] chunk; buf has 4096 more (the core's BAT page) */
	void *zeros;
	UINT64 t0;
	UINT64 bench_from;          /* [byte] --bench-raw copy: of the source's file */
	char *bmap_text;            /* --bmap: the manifest as read (pool) */
	struct efi_source tgt_read; /* --resume: the target device read back */
	struct vhdx_source tgt_src;
};

/* ASCII case-insensitive equality (FAT names). */
static BOOLEAN efi_cv_same_name(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return FALSE;
		if (!x)
			return TRUE;
	}
}

/* ---- refusals ---- */

/* The device path of a disk's home: the device, or a file's volume. */
static const EFI_DEVICE_PATH *efi_cv_home(const struct efi_target *t)
{
	return t->kind == EFI_TARGET_BLOCK ? t->dev->dp : t->fs_dp;
}

/* TARGET must not be SOURCE, hold it, or lie on it. */
static EFI_STATUS efi_cv_refuse_overlap(struct efi_cv *cv)
{
	const struct efi_target *s = &cv->src.t, *t = &cv->t;
	const EFI_DEVICE_PATH *sh = efi_cv_home(s), *th = efi_cv_home(t);
	char *tname;
	unsigned i;

	if (s->kind == EFI_TARGET_FILE && t->kind == EFI_TARGET_FILE) {
		/* one volume: refuse the source's file and its parents' (by
		 * name: the chain's names are volume paths with '\\') */
		BOOLEAN same = efi_cv_same_name(cv->cli->source, cv->cli->target);
		char *sname = efi_chain_name(s);

		tname = efi_chain_name(t);
		if (!tname || !sname) {
			if (tname)
				FreePool(tname);
			if (sname)
				FreePool(sname);
			return efi_out_of_memory();
		}
		same = same || efi_cv_same_name(sname, tname);
		for (i = 0; cv->src.levels && i < cv->src.chain.depth; i++)
			same = same || efi_cv_same_name(cv->src.levels[i].name, tname);
		FreePool(sname);
		if (same) {
			FreePool(tname);
			return efi_con_failf(EFI_APP_REFUSED,
					     L"%s: is the source %a or one of its parents; refusing to convert onto it",
					     t->name, cv->cli->source);
		}
		FreePool(tname);
		return EFI_SUCCESS;
	}
	if (!sh || !th || !(efi_dp_prefix(sh, th) || efi_dp_prefix(th, sh)))
		return EFI_SUCCESS;
	if (s->kind == EFI_TARGET_FILE)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: holds the volume of the source %a; refusing to write it",
				     t->name, cv->cli->source);
	if (t->kind == EFI_TARGET_FILE)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: its volume lies on the source device %a; refusing to write it",
				     t->name, cv->cli->source);
	return efi_con_failf(EFI_APP_REFUSED,
			     L"%s: is the source device %a (or a disk or partition of it); refusing to write it",
			     t->name, cv->cli->source);
}

/* A device that holds something needs --force; the probe is the plan's. */
static EFI_STATUS efi_cv_refuse_nonblank(struct efi_cv *cv)
{
	struct efi_target *t = &cv->t;

	if (t->kind == EFI_TARGET_FILE) {
		if (t->exists && t->old_size && !cv->cli->force)
			return efi_con_failf(EFI_APP_REFUSED,
					     L"%s: existing file of %ld bytes; refusing to overwrite it without --force",
					     t->name, t->old_size);
		return EFI_SUCCESS;
	}
	efi_probe_bio(&t->bio, &t->probe);
	if (EFI_ERROR(t->probe.status))
		return efi_refusef(L"%s: cannot read it: %r", t->name, t->probe.status);
	if (!t->probe.blank && !cv->cli->force)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s holds %a (non-zero byte at %ld); refusing to overwrite it without --force",
				     t->name, t->probe.what, t->probe.first_nonzero);
	return EFI_SUCCESS;
}

/* ---- the plan ---- */

static void efi_cv_line(void *ctx, const char *text)
{
	(void)ctx;
	efi_con_line(NULL, text);
}

/* The plan's lines from the core, with the target as the firmware sees it. */
static void efi_cv_plan(struct efi_cv *cv)
{
	const struct efi_target *t = &cv->t;
	char target[400], guids[64], buffer[80];
	const char *platform[3] = { target, guids, buffer };
	size_t n = 0;
	struct vhdx_text s;

	vhdx_text_init(&s, target, sizeof(target));
	vhdx_text_str(&s, "  target         ");
	vhdx_text_str(&s, cv->cli->target);
	if (t->kind == EFI_TARGET_BLOCK) {
		vhdx_text_str(&s, " = ");
		efi_text_add16(&s, t->dev->dp_text);
		vhdx_text_str(&s, ", ");
		vhdx_text_size(&s, t->bio.size);
		vhdx_text_str(&s, ", ");
		vhdx_text_u64(&s, t->bio.block_size);
		vhdx_text_str(&s, "-byte blocks, IoAlign ");
		vhdx_text_u64(&s, t->bio.io_align);
		vhdx_text_str(&s, "; holds ");
		vhdx_text_str(&s, t->probe.what);
		if (!t->probe.blank) {
			vhdx_text_str(&s, " (first non-zero byte at ");
			vhdx_text_u64(&s, t->probe.first_nonzero);
			vhdx_text_str(&s, "), overwritten (--force)");
		}
	} else {
		if (t->exists) {
			vhdx_text_str(&s, ": existing file of ");
			vhdx_text_u64(&s, t->old_size);
			vhdx_text_str(&s, " bytes, replaced");
		} else {
			vhdx_text_str(&s, ": new file");
		}
		vhdx_text_str(&s, "; the volume has ");
		if (t->free_space == ~0ull)
			vhdx_text_str(&s, "unknown space");
		else
			vhdx_text_size(&s, t->free_space);
		vhdx_text_str(&s, " free");
	}
	platform[n++] = target;
	if (cv->job.output == VHDX_CONVERT_TO_VHDX)
		platform[n++] = cv->rng == EFI_RNG_FROM_PROTOCOL ? "  GUIDs          from EFI_RNG_PROTOCOL" :
				"  GUIDs          from the fallback mix (no EFI_RNG_PROTOCOL)";
	vhdx_text_init(&s, buffer, sizeof(buffer));
	vhdx_text_str(&s, "  buffer         ");
	vhdx_text_size(&s, cv->buf_len);
	vhdx_text_str(&s, " reads and writes; ESC aborts");
	platform[n++] = buffer;
	vhdx_convert_describe(&cv->job, platform, n, efi_cv_line, NULL);
}

/* ---- writing ---- */

/* The buffers: a chunk (plus a 4 KiB page for the core's BAT) and as
 * many zeros; smaller when the firmware has less. */
static EFI_STATUS efi_cv_buffers(struct efi_cv *cv)
{
	UINTN len = EFI_CV_CHUNK;

	for (;;) {
		cv->buf = efi_pages_alloc(len + 4096);
		cv->zeros = cv->buf ? efi_pages_alloc(len) : NULL;
		if (cv->zeros)
			break;
		efi_pages_free(cv->buf, len + 4096);
		cv->buf = NULL;
		if (len <= EFI_CV_CHUNK_MIN)
			return efi_con_failf(EFI_OUT_OF_RESOURCES, L"no memory for two %ld-byte buffers",
					     (UINT64)len);
		len /= 4;
	}
	ZeroMem(cv->zeros, len);
	cv->buf_len = len;
	return EFI_SUCCESS;
}

/* Exclusive access to a device, or the file created (or truncated). */
static EFI_STATUS efi_cv_open_target(struct efi_cv *cv)
{
	struct efi_target *t = &cv->t;
	EFI_STATUS st;

	ZeroMem(&cv->sink_job, sizeof(cv->sink_job));
	cv->sink_job.quiet = cv->cli->quiet;
	cv->sink_job.zeros = cv->zeros;
	cv->sink_job.zeros_len = cv->buf_len;
	if (t->kind == EFI_TARGET_BLOCK) {
		EFI_BLOCK_IO *bio = NULL;

		/* as create: the drivers above it (partitions, FAT and its
		 * cache) are stopped, and started again afterwards */
		st = BS->OpenProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, (void **)&bio, cv->image, NULL,
				      EFI_OPEN_PROTOCOL_EXCLUSIVE);
		if (EFI_ERROR(st) || bio != t->bio.bio || bio->Media->MediaId != t->bio.media_id) {
			if (!EFI_ERROR(st))
				BS->CloseProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, cv->image, NULL);
			return efi_refusef(L"%s: cannot get exclusive access: %r; nothing written",
					     t->name, EFI_ERROR(st) ? st : EFI_MEDIA_CHANGED);
		}
		cv->exclusive = TRUE;
		cv->sink_job.bio = &t->bio;
	} else {
		st = t->root->Open(t->root, &cv->f, t->path,
				   EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE, 0);
		if (!EFI_ERROR(st) && t->exists && t->old_size) {
			EFI_FILE_INFO *fi = LibFileInfo(cv->f);

			st = EFI_DEVICE_ERROR;
			if (fi) {
				fi->FileSize = 0;
				st = cv->f->SetInfo(cv->f, &gEfiFileInfoGuid, fi->Size, fi);
				FreePool(fi);
			}
		}
		if (EFI_ERROR(st)) {
			if (cv->f)
				cv->f->Close(cv->f);
			cv->f = NULL;
			return efi_con_failf(EFI_APP_FAILED, L"%s: cannot create: %r", t->name, st);
		}
		cv->sink_job.file = cv->f;
	}
	efi_sink_init(&cv->sink, &cv->sink_job);
	cv->t0 = efi_clock_us();
	return EFI_SUCCESS;
}

/* Ends what efi_cv_open_target began; a file is deleted unless ok. */
static EFI_STATUS efi_cv_close_target(struct efi_cv *cv, BOOLEAN ok)
{
	EFI_STATUS st = EFI_SUCCESS;

	if (cv->sink_job.printed && !cv->sink_job.aborted)
		efi_con_utf8("\n");
	cv->sink_job.printed = FALSE;
	if (cv->f && !ok) {
		cv->f->Delete(cv->f);
		cv->deleted = TRUE;
	} else if (cv->f) {
		st = cv->f->Close(cv->f); /* Close flushes: its status counts */
	}
	cv->f = NULL;
	if (cv->exclusive) {
		BS->CloseProtocol(cv->t.dev->handle, &gEfiBlockIoProtocolGuid, cv->image, NULL);
		BS->ConnectController(cv->t.dev->handle, NULL, NULL, TRUE);
		cv->exclusive = FALSE;
	}
	return st;
}

static void efi_cv_done(struct efi_cv *cv)
{
	UINT64 us = efi_clock_us() - cv->t0, ms = us / 1000 ? us / 1000 : 1;
	char line[240];
	struct vhdx_text s;

	if (cv->cli->quiet || cv->cli->json)
		return;
	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "done: wrote ");
	vhdx_text_u64(&s, cv->sink_job.bytes);
	vhdx_text_str(&s, " bytes in ");
	vhdx_text_u64(&s, ms);
	vhdx_text_str(&s, " ms (");
	vhdx_text_u64(&s, cv->job.size / 1024 * 1000 / ms / 1024);
	vhdx_text_str(&s, " MiB/s of the disk, ");
	vhdx_text_u64(&s, cv->sink_job.io_us / 1000);
	vhdx_text_str(&s, " ms in the firmware's writes), flushed\nconverted ");
	vhdx_text_str(&s, cv->cli->source);
	vhdx_text_str(&s, " to ");
	vhdx_text_str(&s, cv->cli->target);
	efi_con_line(NULL, line);
}

/* What a failed capture left: a device is read back, never assumed. */
static const CHAR16 *efi_cv_left(struct efi_cv *cv)
{
	int sig;

	if (cv->deleted)
		return L"the partial file was removed";
	if (cv->t.kind != EFI_TARGET_BLOCK)
		return L"the file could not be removed: do not use it";
	sig = efi_target_signature(&cv->t);
	return sig < 0 ? L"the device could not be read back: do not use it" :
	       sig ? L"the device still starts with a VHDX signature: do not use it" :
		     L"the device holds nothing that looks like a VHDX";
}

/* ---- the write ---- */

/* How a deploy ended, as one line and a status. */
static EFI_STATUS efi_cv_deploy_fail(struct efi_cv *cv, int err)
{
	const struct vhdx_convert *j = &cv->job;
	const struct efi_job *k = &cv->sink_job;
	const CHAR16 *left = j->head_zeroed ?
		L"its first MiB is zero (no partition table), the rest is partly written" :
		L"zeroing its first MiB failed: the device is as the failure left it";

	if (k->aborted || err == VHDX_ERR_ABORTED ||
	    (j->source_failed && (efi_disk_status(&cv->src) == EFI_ABORTED || efi_http_esc(cv->src.src.http))))
		return efi_con_failf(EFI_ABORTED, L"%s: aborted by ESC after %ld bytes; %s", cv->t.name, k->bytes,
				     left);
	if (j->bmap_failed) {
		char line[600];

		vhdx_convert_mismatch(j, line, sizeof(line));
		return efi_con_failf(EFI_COMPROMISED_DATA, L"%a; %s: %s", line, cv->t.name, left);
	}
	if (j->source_failed && err == VHDX_ERR_IO && efi_http_reason(cv->src.src.http))
		return efi_con_failf(EFI_APP_FAILED, L"%s; %s: %s", efi_http_reason(cv->src.src.http), cv->t.name, left);
	if (j->source_failed && err == VHDX_ERR_IO)
		return efi_con_failf(EFI_APP_FAILED, L"%s: reading the source failed at byte %ld: %r; %s", cv->t.name,
				     j->failed_offset, efi_disk_status(&cv->src), left);
	if (j->source_failed)
		return efi_con_failf(EFI_APP_FAILED, L"%a: cannot read offset %ld: %a (see vhdx check); %s: %s",
				     cv->cli->source, j->failed_offset, vhdx_strerror(err), cv->t.name, left);
	return efi_con_failf(EFI_APP_FAILED, L"%s: %s failed at byte %ld: %r; %s", cv->t.name,
			     !j->head_zeroed ? L"zeroing the first MiB" : k->failed_op ? L"writing" : L"I/O",
			     k->failed_off, k->status, left);
}

/* How a capture ended, as one line and a status. */
static EFI_STATUS efi_cv_capture_fail(struct efi_cv *cv, int err)
{
	const struct vhdx_convert *j = &cv->job;
	const struct efi_job *k = &cv->sink_job;

	if (err == VHDX_ERR_ABORTED || k->aborted || (j->source_failed && efi_http_esc(cv->src.src.http)))
		return efi_con_failf(EFI_ABORTED, L"%s: aborted by ESC; %s", cv->t.name, efi_cv_left(cv));
	if (err == VHDX_ERR_IO && j->source_failed && efi_http_reason(cv->src.src.http))
		return efi_con_failf(EFI_APP_FAILED, L"%s; %s", efi_http_reason(cv->src.src.http), efi_cv_left(cv));
	if (err == VHDX_ERR_IO && j->source_failed)
		return efi_con_failf(EFI_APP_FAILED, L"%a: reading the source failed near offset %ld: %r; %s",
				     cv->cli->source, j->failed_offset, efi_disk_status(&cv->src), efi_cv_left(cv));
	if (j->source_failed)
		return efi_con_failf(EFI_APP_FAILED, L"%a: cannot read offset %ld: %a (see vhdx check); %s",
				     cv->cli->source, j->failed_offset, vhdx_strerror(err), efi_cv_left(cv));
	if (err == VHDX_ERR_IO) {
		const CHAR16 *why = L"";

		if (cv->t.kind == EFI_TARGET_FILE && k->failed_off + cv->buf_len > EFI_CV_FAT_MAX)
			why = L" (the file would pass 4 GiB - 1, which FAT cannot hold)";
		else if (cv->t.kind == EFI_TARGET_FILE && k->status == EFI_VOLUME_FULL)
			why = L" (the volume is full)";
		else if (cv->t.kind == EFI_TARGET_BLOCK && k->failed_off + cv->buf_len > cv->t.bio.size)
			why = L" (the image outgrew the device)";
		return efi_con_failf(EFI_APP_FAILED, L"%s: %a failed at byte %ld: %r%s; %s", cv->t.name,
				     k->failed_op ? k->failed_op : "write", k->failed_off, k->status, why,
				     efi_cv_left(cv));
	}
	if (err == VHDX_ERR_DEVFULL)
		return efi_con_failf(EFI_APP_FAILED, L"%s: the image outgrew the device (%ld bytes): too many blocks hold data; %s",
				     cv->t.name, cv->t.bio.size, efi_cv_left(cv));
	return efi_con_failf(EFI_APP_FAILED, L"%s: writing failed: %a; %s", cv->t.name, vhdx_strerror(err),
			     efi_cv_left(cv));
}

static EFI_STATUS efi_cv_write(struct efi_cv *cv)
{
	const struct vhdx_fill_result *res = &cv->job.fill;
	BOOLEAN to_vhdx = cv->job.output == VHDX_CONVERT_TO_VHDX;
	EFI_STATUS st;
	int err;

	if (cv->cli->resume && cv->t.kind == EFI_TARGET_BLOCK) {
		efi_source_bio(&cv->tgt_read, &cv->t.bio, &cv->tgt_src);
		cv->job.target_source = &cv->tgt_src;
	}
	efi_http_keep_reason(cv->src.src.http); /* said once, in the failure's line */
	err = vhdx_convert_write(&cv->job, &cv->sink, cv->buf, cv->buf_len + 4096);
	st = efi_cv_close_target(cv, err == VHDX_OK);
	if (cv->cli->json)
		vhdx_convert_json(&cv->job, err, efi_cv_line, NULL);
	if (err)
		return to_vhdx ? efi_cv_capture_fail(cv, err) : efi_cv_deploy_fail(cv, err);
	if (EFI_ERROR(st)) /* the file's last writes failed at Close; it stays, unusable */
		return efi_con_failf(EFI_APP_FAILED, L"%s: closing the file failed: %r; do not use it", cv->t.name, st);
	if (to_vhdx && !cv->cli->quiet && !cv->cli->json) {
		char line[200];
		struct vhdx_text s;

		vhdx_text_init(&s, line, sizeof(line));
		vhdx_text_str(&s, "image of ");
		vhdx_text_u64(&s, res->file_size);
		vhdx_text_str(&s, " bytes: ");
		vhdx_text_u64(&s, res->blocks_stored);
		vhdx_text_str(&s, " blocks stored, ");
		vhdx_text_u64(&s, res->blocks_zero);
		vhdx_text_str(&s, " read as zeros (not stored)");
		efi_con_line(NULL, line);
	}
	return EFI_SUCCESS;
}

/* ---- the command ---- */

/*
 * --bench-raw copy (efi_bench.c): a deploy's plain copy loop, onto a
 * device only.  It reads the source's own file (or device) from its first
 * payload byte (the file offset of the disk's first byte when that is
 * stored there, else 0; raw: 0), as many bytes as the deploy writes.
 */
static EFI_STATUS efi_cv_bench_prepare(struct efi_cv *cv)
{
	const struct vhdx_source *s = &cv->src.s;
	struct vhdx_extent e;

	if (cv->job.output == VHDX_CONVERT_TO_VHDX)
		return efi_refuse("--bench-raw copy: only for a deploy (raw output onto a block device)");
	cv->bench_from = 0;
	if (cv->src.levels && !vhdx_reader_map(&cv->src.r, 0, cv->job.size, &e) && e.kind == VHDX_EXTENT_DATA &&
	    e.level == 0 && !(e.file_offset & (VHDX_READER_PAGE - 1)) && e.file_offset <= s->size &&
	    cv->job.size <= s->size - e.file_offset)
		cv->bench_from = e.file_offset;
	if (cv->job.size > s->size)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"--bench-raw copy: %a holds %ld bytes, fewer than the %ld the deploy writes",
				     cv->cli->source, s->size, cv->job.size);
	return EFI_SUCCESS;
}

static EFI_STATUS efi_cv_prepare(struct efi_cv *cv)
{
	const struct vhdx_cli *cli = cv->cli;
	struct vhdx_convert *j = &cv->job;
	struct vhdx_cli c = *cli;
	char why[VHDX_CONVERT_NOTE_SIZE + 200];
	UINT8 *head;
	EFI_STATUS st;
	int err;

	cv->src.arg = cli->source;
	cv->src.want_vhdx = vhdx_convert_vhdx_name(cli->source);
	st = efi_disk_open(&cv->src, cli, cv->image);
	if (EFI_ERROR(st))
		return st;
	c.target = cli->target;
	st = efi_target_resolve(&cv->t, &c, TRUE, cv->image);
	if (EFI_ERROR(st))
		return st;
	st = efi_cv_refuse_overlap(cv);
	if (EFI_ERROR(st))
		return st;
	j->cli = cli;
	j->source = &cv->src.r;
	j->source_sector = !cv->src.levels && cv->src.t.kind == EFI_TARGET_BLOCK ? cv->src.t.bio.block_size : 0;
	if (vhdx_convert_output_of(cli) == VHDX_CONVERT_TO_RAW && cv->t.kind != EFI_TARGET_BLOCK)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: raw output goes onto a block device (blk2:); for a file give a *.vhdx name or -O vhdx",
				     cv->t.name);
	if (cv->t.kind == EFI_TARGET_BLOCK) {
		j->target.kind = VHDX_CONVERT_DEVICE;
		j->target.size = cv->t.bio.size;
		j->target.sector = cv->t.bio.block_size;
	} else {
		j->target.kind = cv->t.exists ? VHDX_CONVERT_OLD_FILE : VHDX_CONVERT_NEW_FILE;
		j->target.size = cv->t.old_size;
		j->target.room = cv->t.free_space == ~0ull ? 0 : cv->t.free_space + cv->t.old_size;
		j->target.file_max = EFI_CV_FAT_MAX;
	}
	if (cli->bmap) {
		/* trust comes from --bmap-sha256, checked by the job before the plan */
		UINTN len;

		st = efi_bmap_read_manifest(cli, cv->image, "; nothing written", &cv->bmap_text, &len);
		if (EFI_ERROR(st))
			return st;
		j->bmap_text = cv->bmap_text;
		j->bmap_len = (size_t)len;
	}
	head = AllocatePool(VHDX_PARTITION_HEAD);
	if (!head)
		return efi_out_of_memory();
	err = vhdx_convert_plan(j, head, why, sizeof(why));
	FreePool(head);
	if (err == VHDX_ERR_IO)
		return efi_refusef(L"%a: %r", why, cv->src.src.status);
	if (err)
		return efi_refuse(why);
	if (j->output == VHDX_CONVERT_TO_VHDX) {
		cv->rng = efi_rng_guid(&j->plan.params.file_write_guid);
		efi_rng_guid(&j->plan.params.data_write_guid);
		efi_rng_guid(&j->plan.params.page83);
	}
	return efi_cv_refuse_nonblank(cv);
}

EFI_STATUS efi_cmd_convert(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	struct efi_cv *cv;
	EFI_STATUS st;

	if (!cli->source || !cli->target)
		return efi_refuse("convert: SOURCE and TARGET needed: vhdx convert SOURCE TARGET");
	if (cli->bench && !efi_bench_mode_known_for(VHDX_CMD_CONVERT, cli->bench))
		return efi_refusef(L"--bench-raw: unknown mode %a (copy)", cli->bench);
	cv = AllocateZeroPool(sizeof(*cv));
	if (!cv)
		return efi_out_of_memory();
	cv->cli = cli;
	cv->image = image;
	st = efi_cv_prepare(cv);
	if (EFI_ERROR(st))
		goto out;
	if (cli->bench) {
		st = efi_cv_bench_prepare(cv);
		if (EFI_ERROR(st))
			goto out;
	}
	st = efi_cv_buffers(cv);
	if (EFI_ERROR(st))
		goto out;
	if ((!cli->quiet && !cli->json) || cli->dry_run)
		efi_cv_plan(cv);
	if (cli->dry_run) {
		efi_con_utf8("dry run: nothing written\n");
		goto out;
	}
	if (!cli->yes && !efi_con_confirm_overwrite(cli->target)) {
		st = efi_con_fail(EFI_ABORTED, "not confirmed; nothing written");
		goto out;
	}
	st = efi_cv_open_target(cv);
	if (EFI_ERROR(st))
		goto out;
	if (cli->bench) {
		st = efi_bench_copy(cli->bench, cli->source, &cv->src.s, &cv->src.src, cv->bench_from, &cv->t.bio,
				    cv->job.size, cv->buf, cv->buf_len);
		efi_cv_close_target(cv, !EFI_ERROR(st));
		goto out;
	}
	st = efi_cv_write(cv);
	if (!EFI_ERROR(st) && cv->job.output == VHDX_CONVERT_TO_RAW)
		efi_cv_done(cv);
out:
	if (cv->f || cv->exclusive)
		efi_cv_close_target(cv, FALSE);
	efi_pages_free(cv->buf, cv->buf_len + 4096);
	efi_pages_free(cv->zeros, cv->buf_len);
	efi_disk_close(&cv->src);
	efi_target_free(&cv->t);
	if (cv->bmap_text)
		FreePool(cv->bmap_text);
	FreePool(cv);
	return st;
}
