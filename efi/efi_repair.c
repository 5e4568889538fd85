/* SPDX-License-Identifier: MIT */
/*
 * efi_repair.c - `vhdx repair [-n] TARGET` in the UEFI shell: replays an
 * image's log in place [2.3.3] through the core (crash safe and
 * idempotent: run it again after an interruption), on a file
 * (fs0:\dir\x.vhdx) or a block device.  The policy of the host tool
 * (platform/host_repair.c): the image is first checked as it will be after
 * replay (the core's log view); an error that makes the replay unsafe
 * (vhdx_rule_blocks_replay) is refused with the checker's finding before
 * any write; any other error remains after the replay and is reported
 * then.  A LogGuid that no entry carries is cleared (the headers only).
 * -n says what would be written and writes nothing.  The new
 * FileWriteGuid comes from the app's RNG (efi_rng.c).
 *
 * Status: EFI_SUCCESS replayed, or nothing to do (or -n); EFI_APP_REFUSED
 * (0x2) refused with one line, nothing written: not a VHDX, the replay
 * unsafe, read-only media or filesystem, the boot device;
 * EFI_VOLUME_CORRUPTED (0xA, check's "errors found") replayed (or nothing
 * to replay) but errors remain that repair does not fix; EFI_APP_FAILED a
 * write or flush failed part-way (run repair again).
 */
#include "efi_app.h"

#define EFI_REPAIR_SCRATCH (1024u * 1024u) /* [byte] decoder, log, checker */

/* What the repair keeps while it runs: off the stack. */
struct efi_repair {
	const struct vhdx_cli *cli;
	struct efi_target t;
	EFI_FILE_HANDLE file;          /* a file target, opened for reading (and writing) */
	struct efi_source src;
	struct vhdx_source s;
	struct efi_bio *bio;           /* a block target's */
	struct vhdx_disk disk;
	struct vhdx_log log;
	struct vhdx_log_view view;
	void *log_index;               /* the view's (vhdx_log_view_index), pooled, or NULL */
	struct vhdx_info info;
	uint64_t unsafe;               /* error findings that make the replay unsafe */
	char first_unsafe[600];        /* the first of them, as text */
	uint64_t errors;               /* the other error findings but the pending log's own */
	char first[600];               /* the first of them, as text */
	struct efi_job job;
	void *scratch;
};

/*
 * The checker's error findings, but the one the replay itself clears: a
 * current header whose LogGuid names an active log (log.replay; the view
 * shows the file as after replay, its headers still name the log).
 */
static void efi_repair_finding(void *ctx, const struct vhdx_finding *f)
{
	struct efi_repair *r = ctx;

	if (f->severity != VHDX_SEV_ERROR || f->rule == VHDX_R_LOG_REPLAY)
		return;
	if (vhdx_rule_blocks_replay(f->rule)) {
		if (!r->unsafe++)
			vhdx_finding_to_text(f, r->first_unsafe, sizeof(r->first_unsafe));
	} else if (!r->errors++) {
		vhdx_finding_to_text(f, r->first, sizeof(r->first));
	}
}

static void efi_repair_line(const struct efi_repair *r, const struct vhdx_replay_stats *s, BOOLEAN done)
{
	char line[512];
	struct vhdx_text l;

	vhdx_text_init(&l, line, sizeof(line));
	if (r->log.active) {
		vhdx_text_str(&l, done ? "replayed the log of " : "would replay the log of ");
		vhdx_text_str(&l, r->cli->target);
		vhdx_text_str(&l, ": ");
		vhdx_text_u64(&l, r->log.entries);
		vhdx_text_str(&l, r->log.entries == 1 ? " log entry (sequence " : " log entries (sequence ");
		vhdx_text_u64(&l, r->log.tail_sequence);
		vhdx_text_str(&l, "..");
		vhdx_text_u64(&l, r->log.head_sequence);
		vhdx_text_str(&l, "): ");
		vhdx_text_u64(&l, s->data_sectors);
		vhdx_text_str(&l, " data sectors of 4 KiB, ");
		vhdx_text_u64(&l, s->zeroed);
		vhdx_text_str(&l, " bytes zeroed");
		if (s->extended_to) {
			vhdx_text_str(&l, ", file extended to ");
			vhdx_text_u64(&l, s->extended_to);
			vhdx_text_str(&l, " bytes");
		}
		vhdx_text_str(&l, done ? "; wrote " : "; then ");
		vhdx_text_u64(&l, s->headers);
		vhdx_text_str(&l, s->headers == 1 ? " header copy with LogGuid zero\n" :
						    " header copies with LogGuid zero\n");
	} else if (s->guid_unused) {
		vhdx_text_str(&l, done ? "cleared the LogGuid of " : "would clear the LogGuid of ");
		vhdx_text_str(&l, r->cli->target);
		vhdx_text_str(&l, ": no log entry carries its LogGuid (nothing was logged under it); ");
		vhdx_text_str(&l, done ? "wrote " : "then ");
		vhdx_text_u64(&l, s->headers);
		vhdx_text_str(&l, s->headers == 1 ? " header copy with LogGuid zero\n" :
						    " header copies with LogGuid zero\n");
	} else if (s->headers) {
		vhdx_text_str(&l, done ? "finished " : "would finish ");
		vhdx_text_str(&l, r->cli->target);
		vhdx_text_str(&l, done ? ": the log was replayed by an interrupted run; wrote the other header\n" :
					 ": the log was replayed by an interrupted run; would write the other header\n");
	} else {
		vhdx_text_str(&l, r->cli->target);
		vhdx_text_str(&l, ": nothing to repair: the log is empty");
		if (r->info.type == VHDX_TYPE_DIFFERENCING)
			vhdx_text_str(&l, " (its parent chain is not repair's: vhdx check looks at it)");
		vhdx_text_str(&l, "\n");
	}
	efi_con_utf8(line);
}

/* TARGET opened for reading and, without -n, writing; every refusal. */
static EFI_STATUS efi_repair_open(struct efi_repair *r, EFI_HANDLE image)
{
	BOOLEAN write = !r->cli->dry_run;
	UINT64 mode = EFI_FILE_MODE_READ | (write ? EFI_FILE_MODE_WRITE : 0);
	EFI_STATUS st;

	/* for writing: read-only media or filesystem and the boot device refused here */
	st = efi_target_resolve(&r->t, r->cli, write, image);
	if (EFI_ERROR(st))
		return st;
	if (r->t.kind == EFI_TARGET_BLOCK) {
		r->bio = &r->t.bio;
		efi_source_bio(&r->src, r->bio, &r->s);
		return EFI_SUCCESS;
	}
	if (!r->t.exists)
		return efi_refusef(L"%s: cannot open: %r", r->t.name, EFI_NOT_FOUND);
	st = r->t.root->Open(r->t.root, &r->file, r->t.path, mode, 0);
	if (EFI_ERROR(st)) {
		r->file = NULL;
		return efi_refusef(L"%s: cannot open%s: %r", r->t.name,
				   write ? L" for writing" : L"", st);
	}
	efi_source_file(&r->src, r->file, r->t.old_size, &r->s); /* closed by efi_source_close */
	return EFI_SUCCESS;
}

/* Everything that can refuse, before the first write. */
static EFI_STATUS efi_repair_probe(struct efi_repair *r)
{
	char why[VHDX_WHY_SIZE];
	int err;

	why[0] = 0;
	err = vhdx_disk_open(&r->disk, &r->s, r->scratch, EFI_REPAIR_SCRATCH, why, sizeof(why));
	if (!err)
		err = vhdx_log_find(&r->log, &r->disk, &r->s, r->scratch, EFI_REPAIR_SCRATCH, why, sizeof(why));
	if (err == VHDX_ERR_IO)
		return efi_con_failf(efi_status_before_write(err), L"%s: read failed: %r", r->t.name, r->src.status);
	if (err)
		return efi_con_failf(efi_status_before_write(err), L"%s: cannot repair: %a", r->t.name,
				     why[0] ? why : vhdx_strerror(err));
	/* the image as it will be after replay must check clean */
	if (r->log.active) {
		UINTN len;

		vhdx_log_view_init(&r->view, &r->log, &r->s);
		len = vhdx_log_view_index_size(&r->view);
		/* without it, the check below walks the log on every read */
		r->log_index = AllocatePool(len);
		if (r->log_index && vhdx_log_view_index(&r->view, r->log_index, len)) {
			FreePool(r->log_index);
			r->log_index = NULL;
		}
	}
	err = vhdx_check(r->log.active ? &r->view.source : &r->s, r->scratch, EFI_REPAIR_SCRATCH, &r->info,
			 efi_repair_finding, r);
	if (err == VHDX_ERR_IO)
		return efi_con_failf(efi_status_before_write(err), L"%s: read failed: %r", r->t.name, r->src.status);
	if (err)
		return efi_con_failf(efi_status_before_write(err), L"%s: read failed: %a", r->t.name,
				     vhdx_strerror(err));
	if (r->unsafe)
		return efi_refusef(L"%s: cannot repair: replaying the log is unsafe: %a", r->t.name,
				   r->first_unsafe);
	return EFI_SUCCESS;
}

static EFI_STATUS efi_repair_write(struct efi_repair *r)
{
	struct vhdx_replay_stats stats;
	struct vhdx_guid fwg;
	struct vhdx_sink sink;
	char why[VHDX_WHY_SIZE];
	int err;

	ZeroMem(&stats, sizeof(stats));
	efi_rng_guid(&fwg);
	r->job.bio = r->bio;
	r->job.file = r->file;
	r->job.quiet = TRUE;
	efi_sink_init(&sink, &r->job);
	why[0] = 0;
	err = vhdx_log_replay(&r->disk, &r->s, &sink, &fwg, r->cli->dry_run, r->scratch, EFI_REPAIR_SCRATCH,
			      &stats, why, sizeof(why));
	if (err == VHDX_ERR_IO && EFI_ERROR(r->job.status))
		return efi_con_failf(efi_status_of(err),
				     L"%s: %a failed at offset %ld: %r; run vhdx repair again to finish (replay is idempotent)",
				     r->t.name, r->job.failed_op ? r->job.failed_op : "write", r->job.failed_off,
				     r->job.status);
	if (err == VHDX_ERR_IO)
		return efi_con_failf(efi_status_of(err), L"%s: read failed: %r; run vhdx repair again to finish",
				     r->t.name, r->src.status);
	if (err)
		return efi_con_failf(efi_status_before_write(err), L"%s: cannot repair: %a", r->t.name,
				     why[0] ? why : vhdx_strerror(err));
	if (!r->cli->quiet || r->cli->dry_run)
		efi_repair_line(r, &stats, !r->cli->dry_run);
	if (r->errors)
		return efi_con_failf(EFI_VOLUME_CORRUPTED,
				     L"%s: %ld error%a that repair does not fix (see vhdx check %s); the first: %a",
				     r->t.name, r->errors,
				     r->cli->dry_run ? (r->errors == 1 ? " would remain" : "s would remain") :
						       (r->errors == 1 ? " remains" : "s remain"),
				     r->t.name, r->first);
	return EFI_SUCCESS;
}

EFI_STATUS efi_cmd_repair(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	struct efi_repair *r;
	EFI_STATUS st;

	if (!cli->target)
		return efi_refuse("repair: TARGET missing");
	r = AllocateZeroPool(sizeof(*r));
	if (!r)
		return efi_out_of_memory();
	r->cli = cli;
	r->scratch = efi_pages_alloc(EFI_REPAIR_SCRATCH);
	if (!r->scratch) {
		FreePool(r);
		return efi_out_of_memory();
	}
	st = efi_repair_open(r, image);
	if (!EFI_ERROR(st))
		st = efi_repair_probe(r);
	if (!EFI_ERROR(st))
		st = efi_repair_write(r);
	efi_source_close(&r->src); /* the file, if any */
	efi_target_free(&r->t);
	efi_pages_free(r->scratch, EFI_REPAIR_SCRATCH);
	if (r->log_index)
		FreePool(r->log_index);
	FreePool(r);
	return st;
}
