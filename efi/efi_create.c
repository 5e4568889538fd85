/* SPDX-License-Identifier: MIT */
/*
 * efi_create.c - `vhdx create [options] TARGET` in the UEFI shell.
 *
 * Order (DESIGN.md "The UEFI application"): resolve TARGET, read the media,
 * refuse what must not be written (absent or read-only media, the boot
 * device and the disk under it, too small, not blank without --force),
 * print the plan with the equivalent command line, ask unless --yes, and
 * only then write, through the core, with one scratch buffer.  TARGET is
 * resolved by efi_target.c.
 */
#include "efi_app.h"
#include "vhdx_describe.h"

/*
 * Scratch buffer [byte]: the core writes structures through it, and a
 * second buffer of the same size holds zeros for zeroing (efi_sink.c).
 * Measured with `tests/efi/bench.sh scratch` (fixed 1020 MiB image, OVMF
 * under TCG on the 2-core machine; MiB/s, first run / second run with the
 * machine at load 4-5; noisy to +-50 %):
 *
 *   buffer     virtio-blk     NVMe        AHCI
 *   64 KiB      125 / 96    125 / 110    53 / 35
 *   1 MiB      1189 / 696   735 / 407   152 / 142
 *   4 MiB      1448 / 1050  739 / 465   173 / 116
 *   16 MiB     1954 / 586   806 / 496   191 / 132
 *
 * From 1 MiB up every device runs at its (emulated) speed within the noise;
 * 64 KiB loses 3-10x to per-call overhead.  16 MiB, the fewest calls and the
 * best of the quieter run, by default; when the firmware cannot give that
 * much, smaller sizes are tried down to 1 MiB.  The shell variable vhdx_scratch
 * (bytes, multiple of 4096) overrides it, for measurements.
 */
#define EFI_SCRATCH_DEFAULT (16u << 20)
#define EFI_SCRATCH_FALLBACK_MIN (1u << 20)
#define EFI_SCRATCH_MAX     (64u << 20)

static EFI_GUID efi_shell_guid2 = EFI_SHELL_PROTOCOL_GUID;

/* ---- the plan ---- */

/*
 * The plan: what the target is (EFI only), then the core's description of
 * the image, identical to the host tool's (core/vhdx_describe.h), with the
 * equivalent command line; then where the GUIDs came from.
 */
static void efi_print_plan(const struct vhdx_cli *cli, const struct efi_target *t,
			   const struct vhdx_plan *plan, const struct efi_parent *parent,
			   enum efi_rng_source rng, UINTN scratch_len)
{
	const struct vhdx_params *p = &plan->params;
	char line[600], g[VHDX_GUID_TEXT_SIZE];
	struct vhdx_text s;

	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "target ");
	vhdx_text_str(&s, cli->target);
	vhdx_text_str(&s, " = ");
	if (t->kind == EFI_TARGET_BLOCK) {
		efi_text_add16(&s, t->dev->dp_text);
		vhdx_text_str(&s, "\n  device         ");
		vhdx_text_size(&s, t->bio.size);
		vhdx_text_str(&s, ", ");
		vhdx_text_u64(&s, t->bio.block_size);
		vhdx_text_str(&s, "-byte blocks, IoAlign ");
		vhdx_text_u64(&s, t->bio.io_align);
		vhdx_text_str(&s, ", MediaId ");
		vhdx_text_u64(&s, t->bio.media_id);
		vhdx_text_str(&s, t->dev->bio->Media->LogicalPartition ? ", partition" : ", disk");
		vhdx_text_str(&s, "; holds ");
		vhdx_text_str(&s, t->probe.what);
		if (!t->probe.blank) {
			vhdx_text_str(&s, " (first non-zero byte at ");
			vhdx_text_u64(&s, t->probe.first_nonzero);
			vhdx_text_str(&s, ")");
		}
	} else {
		vhdx_text_str(&s, t->exists ? "existing file of " : "new file");
		if (t->exists) {
			vhdx_text_u64(&s, t->old_size);
			vhdx_text_str(&s, " bytes, replaced");
		}
		vhdx_text_str(&s, "\n  volume         ");
		vhdx_text_size(&s, t->free_space);
		vhdx_text_str(&s, " free");
	}
	efi_con_line(NULL, line);
	vhdx_plan_print_ex(plan, cli->target, cli->parent, efi_con_line, NULL);
	if (parent && parent->from_volume_root)
		efi_con_line(NULL, "  note           relative_path starts at the parent volume's root");

	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "  GUIDs          ");
	vhdx_text_str(&s, rng == EFI_RNG_FROM_PROTOCOL ? "from EFI_RNG_PROTOCOL" :
		    "from the fallback mix (no EFI_RNG_PROTOCOL)");
	vhdx_guid_to_text(&p->data_write_guid, g, false);
	vhdx_text_str(&s, "; DataWriteGuid ");
	vhdx_text_str(&s, g);
	vhdx_guid_to_text(&p->page83, g, false);
	vhdx_text_str(&s, ", Page 83 ID ");
	vhdx_text_str(&s, g);
	efi_con_line(NULL, line);

	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "  writes         ");
	vhdx_text_size(&s, vhdx_image_total(plan));
	vhdx_text_str(&s, " through a ");
	vhdx_text_size(&s, scratch_len);
	vhdx_text_str(&s, " buffer; ESC aborts");
	efi_con_line(NULL, line);
}

/*
 * After a failed write: what the target holds now, read back rather than
 * assumed (the core takes back the signature when it can, but a target
 * that was a VHDX before and failed at its first flush may still be one).
 */
static const char *efi_left_behind(struct efi_target *t, BOOLEAN deleted)
{
	int sig;

	if (deleted)
		return "the new file was removed";
	sig = efi_target_signature(t);
	return sig < 0 ? "the target could not be read back: do not use it" :
	       sig ? "the target still starts with a VHDX signature: do not use it" :
		     "the target holds nothing that looks like a VHDX";
}

static UINTN efi_scratch_len(void)
{
	EFI_SHELL_PROTOCOL *sh = NULL;
	CONST CHAR16 *v;
	UINTN n;

	if (EFI_ERROR(BS->LocateProtocol(&efi_shell_guid2, NULL, (void **)&sh)) || !sh)
		return EFI_SCRATCH_DEFAULT;
	v = sh->GetEnv(L"vhdx_scratch");
	if (!v)
		return EFI_SCRATCH_DEFAULT;
	n = Atoi(v);
	if (!n || n > EFI_SCRATCH_MAX || (n & 4095))
		return EFI_SCRATCH_DEFAULT;
	return n;
}

/* ---- the command ---- */

static EFI_STATUS efi_write(const struct vhdx_cli *cli, struct efi_target *t,
			    const struct vhdx_plan *plan, UINTN scratch_len, EFI_HANDLE image)
{
	BOOLEAN exclusive = FALSE, deleted = FALSE;
	struct efi_job job;
	struct vhdx_sink sink;
	EFI_FILE_HANDLE f = NULL;
	void *scratch, *zeros;
	EFI_STATUS st;
	UINT64 t0, us;
	int err;

	scratch = efi_pages_alloc(scratch_len);
	while (!scratch && scratch_len > EFI_SCRATCH_FALLBACK_MIN) {
		scratch_len /= 4;
		scratch = efi_pages_alloc(scratch_len);
	}
	if (!scratch)
		return efi_con_failf(EFI_OUT_OF_RESOURCES, L"no memory for a %ld-byte buffer",
				     (UINT64)scratch_len);
	ZeroMem(&job, sizeof(job));
	job.quiet = cli->quiet;
	if (t->kind == EFI_TARGET_BLOCK) {
		EFI_BLOCK_IO *bio = NULL;

		/*
		 * Exclusive access: the firmware stops the drivers that opened
		 * this BlockIo BY_DRIVER (DiskIo, partitions, a FAT driver with
		 * its cache), so nothing writes behind our back or later
		 * flushes stale sectors over the image.  Reconnected after.
		 */
		st = BS->OpenProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, (void **)&bio, image,
				      NULL, EFI_OPEN_PROTOCOL_EXCLUSIVE);
		if (EFI_ERROR(st) || bio != t->bio.bio || bio->Media->MediaId != t->bio.media_id) {
			if (!EFI_ERROR(st))
				BS->CloseProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, image, NULL);
			efi_pages_free(scratch, scratch_len);
			return efi_refusef(L"%s: cannot get exclusive access: %r",
					   t->name, EFI_ERROR(st) ? st : EFI_MEDIA_CHANGED);
		}
		exclusive = TRUE;
		job.bio = &t->bio;
	} else {
		st = t->root->Open(t->root, &f, t->path,
				   EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE, 0);
		if (!EFI_ERROR(st) && t->exists && t->old_size) {
			EFI_FILE_INFO *fi = LibFileInfo(f);

			/* replace: truncate to nothing, then write the image */
			st = fi ? EFI_SUCCESS : EFI_DEVICE_ERROR;
			if (fi) {
				fi->FileSize = 0;
				st = f->SetInfo(f, &gEfiFileInfoGuid, fi->Size, fi);
				FreePool(fi);
			}
		}
		if (EFI_ERROR(st)) {
			if (f)
				f->Close(f);
			efi_pages_free(scratch, scratch_len);
			return efi_con_failf(EFI_APP_FAILED, L"%s: cannot create: %r", t->name, st);
		}
		job.file = f;
	}
	/* a second buffer of zeros for zeroing (efi_sink.c); without memory
	 * for it the core zeroes from its scratch buffer */
	zeros = efi_pages_alloc(scratch_len);
	if (zeros) {
		ZeroMem(zeros, scratch_len);
		job.zeros = zeros;
		job.zeros_len = scratch_len;
	}
	efi_sink_init(&sink, &job);
	t0 = efi_clock_us();
	err = vhdx_image_write(plan, &sink, scratch, scratch_len);
	us = efi_clock_us() - t0;
	if (job.printed)
		efi_con_utf8("\n");
	efi_pages_free(zeros, scratch_len);
	if (f && err != VHDX_OK && !t->exists) {
		f->Delete(f); /* a file this run created: leave nothing behind */
		deleted = TRUE;
	} else if (f) {
		st = f->Close(f); /* Close flushes; its status counts */
		if (err == VHDX_OK && EFI_ERROR(st)) {
			job.status = st;
			job.failed_op = "close";
			err = VHDX_ERR_IO;
		}
	}
	if (exclusive) {
		BS->CloseProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, image, NULL);
		BS->ConnectController(t->dev->handle, NULL, NULL, TRUE);
	}
	efi_pages_free(scratch, scratch_len);

	st = efi_status_of(err);
	if (err == VHDX_ERR_ABORTED)
		return efi_con_failf(st, L"aborted by ESC after %ld bytes; %a", job.bytes,
				     efi_left_behind(t, deleted));
	if (err == VHDX_ERR_IO)
		return efi_con_failf(st, L"%a failed at byte %ld: %r; %a",
				     job.failed_op ? job.failed_op : "I/O", job.failed_off, job.status,
				     efi_left_behind(t, deleted));
	if (err == VHDX_ERR_DEVFULL)
		return efi_con_failf(st, L"the image does not fit the target; nothing written");
	if (err != VHDX_OK)
		return efi_con_failf(st, L"writing failed: %a", vhdx_strerror(err));
	if (!cli->quiet) {
		char line[200];
		struct vhdx_text s;
		UINT64 ms = us / 1000 ? us / 1000 : 1;

		vhdx_text_init(&s, line, sizeof(line));
		vhdx_text_str(&s, "done: wrote ");
		vhdx_text_u64(&s, job.bytes);
		vhdx_text_str(&s, " bytes in ");
		vhdx_text_u64(&s, ms);
		vhdx_text_str(&s, " ms (");
		vhdx_text_u64(&s, job.bytes / 1024 * 1000 / ms / 1024);
		vhdx_text_str(&s, " MiB/s, ");
		vhdx_text_u64(&s, job.io_us / 1000);
		vhdx_text_str(&s, " ms in the firmware's writes, ");
		vhdx_text_u64(&s, job.flush_us / 1000);
		vhdx_text_str(&s, " ms in ");
		vhdx_text_u64(&s, job.flushes);
		vhdx_text_str(&s, job.flushes == 1 ? " flush), flushed; image of " :
			    " flushes), flushed; image of ");
		vhdx_text_u64(&s, plan->file_size);
		vhdx_text_str(&s, " bytes");
		efi_con_line(NULL, line);
	}
	return EFI_SUCCESS;
}

EFI_STATUS efi_cmd_create(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	static struct efi_parent parent; /* referenced by the plan; off the stack */
	struct efi_target t;
	struct vhdx_params p = cli->params;
	struct vhdx_plan plan;
	enum efi_rng_source rng;
	char why[200];
	UINTN scratch_len = efi_scratch_len();
	EFI_STATUS st;
	int err;

	ZeroMem(&t, sizeof(t));
	if (!cli->target)
		return efi_refuse("create: TARGET missing (see vhdx help)");
	if (cli->bench && !efi_bench_mode_known_for(VHDX_CMD_CREATE, cli->bench))
		return efi_refusef(L"--bench-raw: unknown mode %a (write)",
				   cli->bench);
	st = efi_target_resolve(&t, cli, TRUE, image);
	if (EFI_ERROR(st))
		goto out;
	if (cli->bench && t.kind != EFI_TARGET_BLOCK) {
		st = efi_refuse("--bench-raw: TARGET must be a block device");
		goto out;
	}
	if (p.type == VHDX_TYPE_DIFFERENCING) {
		st = efi_parent_prepare(cli, &t, &p, &parent, image);
		if (EFI_ERROR(st))
			goto out;
	}

	rng = efi_rng_guid(&p.file_write_guid);
	efi_rng_guid(&p.data_write_guid);
	if (p.type != VHDX_TYPE_DIFFERENCING) /* a child has its parent's */
		efi_rng_guid(&p.page83);

	why[0] = 0;
	if (!cli->size_given && p.type != VHDX_TYPE_DIFFERENCING) {
		if (p.type != VHDX_TYPE_FIXED || t.kind != EFI_TARGET_BLOCK) {
			st = efi_refuse(
				"--size: required, except for a fixed image on a block device (which it fills)");
			goto out;
		}
		err = vhdx_plan_largest_fixed(&plan, &p, t.bio.size, why, sizeof(why));
		if (err == VHDX_ERR_DEVFULL) {
			/* the core's reason: "target too small: the smallest fixed
			 * image with 32 MiB blocks needs 36 MiB, the target has 2 MiB" */
			st = efi_con_failf(efi_status_of(err), L"%s: %a", t.name, why);
			goto out;
		}
	} else {
		err = vhdx_plan_init(&plan, &p, why, sizeof(why));
	}
	if (err != VHDX_OK) {
		st = efi_con_fail(efi_status_of(err), why[0] ? why : vhdx_strerror(err));
		goto out;
	}

	if (t.kind == EFI_TARGET_BLOCK && plan.file_size > t.bio.size) {
		char a[40], b[40];

		vhdx_size_to_text(plan.file_size, a, sizeof(a));
		vhdx_size_to_text(t.bio.size, b, sizeof(b));
		st = efi_refusef(L"%s: too small: the image needs %a (%ld bytes), the device has %a (%ld bytes)",
				 t.name, a, plan.file_size, b, t.bio.size);
		goto out;
	}
	/* UEFI filesystems are FAT (UEFI 2.x 13.3): no file reaches 4 GiB */
	if (t.kind == EFI_TARGET_FILE && plan.file_size > 0xFFFFFFFFull) {
		st = efi_refusef(
			L"%s: the image needs %ld bytes; a FAT file holds at most 4 GiB - 1 (make it dynamic or smaller)",
			t.name, plan.file_size);
		goto out;
	}
	if (t.kind == EFI_TARGET_FILE && t.free_space != ~0ull &&
	    plan.file_size > t.free_space + t.old_size) {
		st = efi_refusef(L"%s: too small: the image needs %ld bytes, the volume has %ld free",
				 t.name, plan.file_size, t.free_space + t.old_size);
		goto out;
	}

	if (t.kind == EFI_TARGET_BLOCK) {
		efi_probe_bio(&t.bio, &t.probe);
		if (EFI_ERROR(t.probe.status)) {
			st = efi_refusef(L"%s: cannot read it: %r",
					 t.name, t.probe.status);
			goto out;
		}
		if (!t.probe.blank && !cli->force) {
			st = efi_refusef(
				L"%s holds %a (non-zero byte at %ld); refusing to overwrite it without --force",
				t.name, t.probe.what, t.probe.first_nonzero);
			goto out;
		}
	} else if (t.exists && t.old_size && !cli->force) {
		st = efi_refusef(L"%s: existing file of %ld bytes; refusing to overwrite it without --force",
				 t.name, t.old_size);
		goto out;
	}

	if (!cli->quiet || cli->dry_run)
		efi_print_plan(cli, &t, &plan, p.type == VHDX_TYPE_DIFFERENCING ? &parent : NULL, rng,
			       scratch_len);
	if (cli->dry_run) {
		efi_con_utf8("dry run: nothing written\n");
		st = EFI_SUCCESS;
		goto out;
	}
	if (!cli->yes && !efi_con_confirm_overwrite(cli->target)) {
		st = efi_con_fail(EFI_ABORTED, "not confirmed; nothing written");
		goto out;
	}
	if (cli->bench)
		st = efi_bench_raw(cli, &t, &plan, scratch_len, image);
	else
		st = efi_write(cli, &t, &plan, scratch_len, image);
out:
	efi_target_free(&t);
	return st;
}
