/* SPDX-License-Identifier: MIT */
/*
 * efi_convert.c - `vhdx convert [options] SOURCE TARGET` in the UEFI shell:
 * deploy an image onto a disk, capture a disk into an image (issue 14).
 *
 * SOURCE is read by efi_disk_open (efi_compare.c): a VHDX file or device
 * (a child through its chain on its volume, a dirty log through the core's
 * view: the source is never written), or raw bytes (a device without the
 * signature, --source-format raw).  A file named *.vhdx / *.avhdx is read
 * as VHDX even without the signature, so that a broken golden image is
 * refused with the core's reason instead of being copied as raw bytes.
 * Output format: -O wins; else a TARGET named *.vhdx / *.avhdx gets VHDX,
 * anything else the raw disk.
 *
 * Raw output ("deploy", also raw -> raw): TARGET must be a block device.
 * Refused with one line, nothing written: the boot device and the disk
 * under it, the device that holds SOURCE (or its volume), read-only or
 * absent media, a device smaller than the disk, a disk size that is not a
 * multiple of the device's blocks, a device that is not blank without
 * --force.  The first MiB is zeroed and flushed first and written last:
 * an interrupted deploy leaves a disk that does not look partitioned.
 * Zero ranges are written as zeros unless --sparse (then ZERO extents and
 * chunks that read as zeros are skipped: the device must read as zeros
 * there already).
 * A device whose blocks are not the sectors the image's partition table
 * counts (a 512-byte-sector image with an MBR or GPT onto a 4096-byte
 * device, or 4096 onto 512: GPT at LBA 1 is byte 512 to the image, byte
 * 4096 to the device; the core's vhdx_sector_mismatch says what counts as
 * a table): refused, its partitions would not be found and it would not
 * boot; --allow-sector-mismatch writes it anyway, with a plan note.  An
 * image without a table goes through when its size is a multiple of the
 * device's blocks (the bytes are the same); a size that is not is refused.
 *
 * VHDX output ("capture", "flatten"): the core's vhdx_image_write_from,
 * dynamic by default (blocks that read as zeros not stored) or -t fixed.
 * Sizes: a VHDX source's own block and sector sizes (another logical
 * sector size needs -f: its partition table counts sectors); a raw source
 * create's defaults, but 4096-byte logical sectors on a 4096-byte device.
 * A file TARGET: an existing one needs --force; the plan gives an upper
 * bound of the output and says when it may not fit (a FAT file stays
 * under 4 GiB, the volume's free space); the lower bound not fitting is
 * refused.  On any failure the file is deleted; a device holds no VHDX
 * signature (the core writes it last and takes it back).
 *
 * The deploy reads a DATA extent's chunks straight from the file that
 * holds them (one read of up to a chunk each, into the buffer the write
 * goes out from; the map done once per extent), in chunks that end on
 * multiples of the chunk size.  Hidden: `--bench-raw copy` runs, after
 * every refusal, the plan and the confirmation of a deploy, a plain copy
 * loop of the source's own bytes instead (efi_bench.c), the baseline the
 * deploy is measured against.
 *
 * Status: as efi_app.h says for convert.
 */
#include "efi_app.h"
#include "vhdx_identify.h"

#define EFI_CV_CHUNK     (16u << 20)  /* [byte] reads and writes (create's measured best) */
#define EFI_CV_CHUNK_MIN (1u << 20)   /* [byte] when the firmware has less memory */
#define EFI_CV_HEAD      (1u << 20)   /* [byte] zeroed first, written last */
#define EFI_CV_FAT_MAX   0xFFFFFFFFull /* [byte] largest FAT file */

struct efi_cv {
	const struct vhdx_cli *cli;
	EFI_HANDLE image;
	struct efi_disk src;
	struct efi_target t;
	BOOLEAN to_vhdx;
	UINT64 size;                /* [byte] the disk */
	UINT64 data_bytes;          /* [byte] in DATA extents of the source */
	const char *note;           /* a plan note, or NULL */
	char mismatch[320];         /* --allow-sector-mismatch: the note of what is written anyway */
	/* VHDX output */
	struct vhdx_plan plan;
	enum efi_rng_source rng;
	UINT64 bound;               /* [byte] the output is at most this long */
	const char *may_not_fit;    /* why, or NULL */
	/* writing */
	BOOLEAN exclusive;
	EFI_FILE_HANDLE f;
	BOOLEAN deleted;
	struct efi_job job;
	struct vhdx_sink sink;
	UINT8 *buf;
	UINTN buf_len;              /* [byte] chunk; buf has 4096 more (the core's BAT page) */
	void *zeros;
	BOOLEAN head_zeroed;
	UINT64 t0;
	UINT64 bench_from;          /* [byte] --bench-raw copy: of the source's file */
};

static BOOLEAN efi_cv_ends_with(const char *s, const char *suffix)
{
	UINTN n = 0, m = 0, i;

	while (s[n])
		n++;
	while (suffix[m])
		m++;
	if (n < m)
		return FALSE;
	for (i = 0; i < m; i++) {
		char c = s[n - m + i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != suffix[i])
			return FALSE;
	}
	return TRUE;
}

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

static BOOLEAN efi_cv_is_vhdx_name(const char *s)
{
	return efi_cv_ends_with(s, ".vhdx") || efi_cv_ends_with(s, ".avhdx");
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
			return efi_con_fail(EFI_OUT_OF_RESOURCES, "out of memory");
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
		return efi_con_failf(EFI_APP_REFUSED, L"%s: cannot read it: %r", t->name, t->probe.status);
	if (!t->probe.blank && !cv->cli->force)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s holds %a (non-zero byte at %ld); refusing to overwrite it without --force",
				     t->name, t->probe.what, t->probe.first_nonzero);
	return EFI_SUCCESS;
}

static EFI_STATUS efi_cv_count_data(struct efi_cv *cv)
{
	struct vhdx_extent e;
	UINT64 off = 0;
	int err;

	while (off < cv->size) {
		err = vhdx_reader_map(&cv->src.r, off, cv->size - off, &e);
		if (err == VHDX_ERR_IO)
			return efi_con_failf(EFI_APP_REFUSED, L"%a: read failed: %r", cv->cli->source,
					     cv->src.src.status);
		if (err)
			return efi_con_failf(EFI_APP_REFUSED, L"%a: cannot map offset %ld: %a (see vhdx check)",
					     cv->cli->source, off, vhdx_strerror(err));
		if (e.kind == VHDX_EXTENT_DATA)
			cv->data_bytes += e.length;
		off += e.length;
	}
	return EFI_SUCCESS;
}

/* A partition table that counts other sectors than the device's blocks
 * (vhdx_sector_mismatch): refused unless --allow-sector-mismatch.  The
 * image's sectors: a VHDX's logical sector, a source device's block; a raw
 * file has none of its own (only a GPT then tells). */
static EFI_STATUS efi_cv_refuse_sector_mismatch(struct efi_cv *cv)
{
	struct efi_target *t = &cv->t;
	UINTN n = cv->size < VHDX_PARTITION_HEAD ? (UINTN)cv->size : VHDX_PARTITION_HEAD;
	uint32_t image_sector = 0;
	struct vhdx_text s;
	char why[sizeof(cv->mismatch)];
	UINT8 *head;
	BOOLEAN mismatch;
	int err;

	if (cv->src.levels)
		image_sector = cv->src.levels[0].disk.geom.logical_sector_size;
	else if (cv->src.t.kind == EFI_TARGET_BLOCK)
		image_sector = cv->src.t.bio.block_size;
	head = AllocatePool(VHDX_PARTITION_HEAD);
	if (!head)
		return efi_con_fail(EFI_OUT_OF_RESOURCES, "out of memory");
	err = vhdx_reader_read(&cv->src.r, 0, head, n);
	mismatch = !err && vhdx_sector_mismatch(head, n, image_sector, t->bio.block_size, why, sizeof(why));
	FreePool(head);
	if (err == VHDX_ERR_IO)
		return efi_con_failf(EFI_APP_REFUSED, L"%a: read failed: %r", cv->cli->source, cv->src.src.status);
	if (err)
		return efi_con_failf(EFI_APP_REFUSED, L"%a: cannot read its first sectors: %a (see vhdx check)",
				     cv->cli->source, vhdx_strerror(err));
	if (!mismatch)
		return EFI_SUCCESS;
	if (!cv->cli->allow_sector_mismatch)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: %a; refusing to write it (--allow-sector-mismatch writes it anyway)",
				     t->name, why);
	vhdx_text_init(&s, cv->mismatch, sizeof(cv->mismatch));
	vhdx_text_str(&s, why);
	vhdx_text_str(&s, "; written anyway (--allow-sector-mismatch)");
	cv->note = cv->mismatch;
	return EFI_SUCCESS;
}

/* Raw output: onto a block device only. */
static EFI_STATUS efi_cv_prepare_raw(struct efi_cv *cv)
{
	struct efi_target *t = &cv->t;
	char a[40], b[40];

	if (t->kind != EFI_TARGET_BLOCK)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: raw output goes onto a block device (blk2:); for a file give a *.vhdx name or -O vhdx",
				     t->name);
	if (t->bio.size < cv->size) {
		vhdx_size_to_text(cv->size, a, sizeof(a));
		vhdx_size_to_text(t->bio.size, b, sizeof(b));
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: too small: the disk needs %a (%ld bytes), the device has %a (%ld bytes)",
				     t->name, a, cv->size, b, t->bio.size);
	}
	if (cv->size % t->bio.block_size)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: the disk's size %ld is not a multiple of the device's %d-byte blocks",
				     t->name, cv->size, t->bio.block_size);
	return efi_cv_refuse_sector_mismatch(cv);
}

/* VHDX output: the plan, its bounds, and what must not be tried. */
static EFI_STATUS efi_cv_prepare_vhdx(struct efi_cv *cv)
{
	const struct vhdx_cli *cli = cv->cli;
	struct efi_target *t = &cv->t;
	struct vhdx_params p = cli->params;
	char why[VHDX_WHY_SIZE];
	UINT64 blocks = 0, room;
	int err;

	if (!cli->type_given)
		p.type = VHDX_TYPE_DYNAMIC;
	p.virtual_size = cv->size;
	if (cv->src.levels) {
		const struct vhdx_disk *d = &cv->src.levels[0].disk;

		if (!cli->block_size_given)
			p.block_size = d->geom.block_size;
		if (!cli->physical_sector_given)
			p.physical_sector_size = d->physical_sector_size;
		if (!cli->logical_sector_given)
			p.logical_sector_size = d->geom.logical_sector_size;
		else if (p.logical_sector_size != d->geom.logical_sector_size && !cli->force)
			return efi_con_failf(EFI_APP_REFUSED,
					     L"--logical-sector-size: the source has %d-byte sectors (its partition table counts them); give -f to write %d",
					     d->geom.logical_sector_size, p.logical_sector_size);
	} else if (!cli->logical_sector_given && cv->src.t.kind == EFI_TARGET_BLOCK &&
		   cv->src.t.bio.block_size == 4096) {
		p.logical_sector_size = 4096;
		cv->note = "logical sector 4096: the source device has 4096-byte blocks (--logical-sector-size 512 to change)";
	}
	cv->rng = efi_rng_guid(&p.file_write_guid);
	efi_rng_guid(&p.data_write_guid);
	efi_rng_guid(&p.page83);
	why[0] = 0;
	err = vhdx_plan_init(&cv->plan, &p, why, sizeof(why));
	if (err)
		return efi_con_failf(efi_status_of(err), L"%a: %a", cli->source, why[0] ? why : vhdx_strerror(err));

	/* the bound: every block that holds a DATA extent stored */
	if (p.type == VHDX_TYPE_FIXED) {
		cv->bound = cv->plan.file_size;
	} else {
		err = vhdx_fill_estimate(&cv->plan, &cv->src.r, &blocks);
		if (err == VHDX_ERR_IO)
			return efi_con_failf(EFI_APP_REFUSED, L"%a: read failed: %r", cli->source,
					     cv->src.src.status);
		if (err)
			return efi_con_failf(EFI_APP_REFUSED, L"%a: cannot map it: %a", cli->source,
					     vhdx_strerror(err));
		cv->bound = cv->plan.data_offset + blocks * cv->plan.geom.block_size;
		if (cv->bound < cv->plan.file_size)
			cv->bound = cv->plan.file_size;
	}

	if (t->kind == EFI_TARGET_BLOCK) {
		if (cv->plan.file_size > t->bio.size)
			return efi_con_failf(EFI_APP_REFUSED,
					     L"%s: too small: the image needs at least %ld bytes, the device has %ld",
					     t->name, cv->plan.file_size, t->bio.size);
		if (cv->bound > t->bio.size)
			cv->may_not_fit = "more than the device holds, if that many blocks hold data";
		return EFI_SUCCESS;
	}
	/* a file: UEFI filesystems are FAT (UEFI 2.x 13.3), no file reaches 4 GiB */
	room = t->free_space == ~0ull ? ~0ull : t->free_space + t->old_size;
	if (cv->plan.file_size > EFI_CV_FAT_MAX)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: the image needs at least %ld bytes; a FAT file holds at most 4 GiB - 1",
				     t->name, cv->plan.file_size);
	if (cv->plan.file_size > room)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%s: too small: the image needs at least %ld bytes, the volume has %ld free",
				     t->name, cv->plan.file_size, room);
	if (cv->bound > EFI_CV_FAT_MAX)
		cv->may_not_fit = "over 4 GiB - 1, which a FAT32 file cannot hold, if that many blocks hold data";
	else if (cv->bound > room)
		cv->may_not_fit = "more than the volume has free, if that many blocks hold data";
	return EFI_SUCCESS;
}

/* ---- the plan ---- */

static void efi_cv_plan(struct efi_cv *cv)
{
	const struct vhdx_cli *cli = cv->cli;
	const struct efi_target *t = &cv->t;
	char line[700], sum[120];
	struct vhdx_text s;

	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "plan for ");
	vhdx_text_str(&s, cli->target);
	if (!efi_cv_ends_with(cli->target, ":"))
		vhdx_text_str(&s, ":");
	vhdx_text_str(&s, "\n  source         ");
	vhdx_text_str(&s, cli->source);
	vhdx_text_str(&s, efi_cv_ends_with(cli->source, ":") ? " " : ": "); /* blk2: is a mapping */
	if (cv->src.levels) {
		vhdx_disk_summary(&cv->src.levels[0].disk, sum, sizeof(sum));
		vhdx_text_str(&s, sum);
		if (cv->src.chain.depth > 1) {
			vhdx_text_str(&s, ", a chain of ");
			vhdx_text_u64(&s, cv->src.chain.depth);
		}
		if (cv->src.levels[0].through_log)
			vhdx_text_str(&s, ", its log read through the overlay (replay pending; not written)");
	} else {
		vhdx_text_str(&s, cv->src.t.kind == EFI_TARGET_BLOCK ? "raw block device, " : "raw file, ");
		vhdx_text_size(&s, cv->size);
	}
	efi_con_line(NULL, line);

	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "  data           ");
	vhdx_text_size(&s, cv->data_bytes);
	vhdx_text_str(&s, " (");
	vhdx_text_u64(&s, cv->data_bytes);
	vhdx_text_str(&s, " bytes) stored in the source; the rest reads as zeros");
	efi_con_line(NULL, line);

	vhdx_text_init(&s, line, sizeof(line));
	if (!cv->to_vhdx) {
		vhdx_text_str(&s, "  output         raw disk, ");
	} else {
		const struct vhdx_params *p = &cv->plan.params;

		vhdx_text_str(&s, "  output         VHDX, ");
		vhdx_text_str(&s, p->type == VHDX_TYPE_FIXED ? "fixed" : "dynamic (blocks that read as zeros not stored)");
		vhdx_text_str(&s, ", ");
		vhdx_text_size(&s, p->block_size);
		vhdx_text_str(&s, " blocks, ");
		vhdx_text_u64(&s, p->logical_sector_size);
		vhdx_text_str(&s, "/");
		vhdx_text_u64(&s, p->physical_sector_size);
		vhdx_text_str(&s, " sectors, ");
		vhdx_text_size(&s, p->log_size);
		vhdx_text_str(&s, " log; virtual size ");
	}
	vhdx_text_size(&s, cv->size);
	vhdx_text_str(&s, " (");
	vhdx_text_u64(&s, cv->size);
	vhdx_text_str(&s, " bytes)");
	efi_con_line(NULL, line);

	if (cv->note) {
		vhdx_text_init(&s, line, sizeof(line));
		vhdx_text_str(&s, "  note           ");
		vhdx_text_str(&s, cv->note);
		efi_con_line(NULL, line);
	}

	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "  target         ");
	vhdx_text_str(&s, cli->target);
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
	efi_con_line(NULL, line);

	vhdx_text_init(&s, line, sizeof(line));
	if (!cv->to_vhdx) {
		vhdx_text_str(&s, cli->sparse ?
			      "  zeros          --sparse: zero ranges are skipped; the device must read as zeros there" :
			      "  zeros          zero ranges are written as zeros: the disk reads exactly as the source");
		efi_con_line(NULL, line);
		efi_con_line(NULL, "  order          first MiB zeroed first and written last");
	} else {
		vhdx_text_str(&s, "  size           at least ");
		vhdx_text_u64(&s, cv->plan.file_size);
		vhdx_text_str(&s, " bytes, at most ");
		vhdx_text_u64(&s, cv->bound);
		vhdx_text_str(&s, " (");
		vhdx_text_size(&s, cv->bound);
		vhdx_text_str(&s, ")");
		efi_con_line(NULL, line);
		if (cv->may_not_fit) {
			vhdx_text_init(&s, line, sizeof(line));
			vhdx_text_str(&s, "  warning        may not fit: at most is ");
			vhdx_text_str(&s, cv->may_not_fit);
			vhdx_text_str(&s, t->kind == EFI_TARGET_FILE ? "; if it does not, the file is removed" :
				      "; if it does not, no VHDX signature is left");
			efi_con_line(NULL, line);
		}
		efi_con_line(NULL, cv->rng == EFI_RNG_FROM_PROTOCOL ? "  GUIDs          from EFI_RNG_PROTOCOL" :
			    "  GUIDs          from the fallback mix (no EFI_RNG_PROTOCOL)");
		efi_con_line(NULL, "  order          payload and BAT first, the VHDX signature last");
	}

	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "  command        vhdx convert -O ");
	if (cv->to_vhdx) {
		vhdx_text_str(&s, "vhdx -t ");
		vhdx_text_str(&s, cv->plan.params.type == VHDX_TYPE_FIXED ? "fixed" : "dynamic");
		vhdx_text_str(&s, " -b ");
		vhdx_text_size_arg(&s, cv->plan.params.block_size);
		vhdx_text_str(&s, " --logical-sector-size ");
		vhdx_text_u64(&s, cv->plan.params.logical_sector_size);
		vhdx_text_str(&s, " --physical-sector-size ");
		vhdx_text_u64(&s, cv->plan.params.physical_sector_size);
		vhdx_text_str(&s, " --log-size ");
		vhdx_text_size_arg(&s, cv->plan.params.log_size);
	} else {
		vhdx_text_str(&s, "raw");
		if (cli->sparse)
			vhdx_text_str(&s, " --sparse");
		if (cli->allow_sector_mismatch)
			vhdx_text_str(&s, " --allow-sector-mismatch");
	}
	if (cli->source_format == VHDX_FORMAT_RAW)
		vhdx_text_str(&s, " --source-format raw");
	if (cli->force)
		vhdx_text_str(&s, " -f");
	vhdx_text_str(&s, " ");
	vhdx_text_str(&s, cli->source);
	vhdx_text_str(&s, " ");
	vhdx_text_str(&s, cli->target);
	efi_con_line(NULL, line);

	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "  buffer         ");
	vhdx_text_size(&s, cv->buf_len);
	vhdx_text_str(&s, " reads and writes; ESC aborts");
	efi_con_line(NULL, line);
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

	ZeroMem(&cv->job, sizeof(cv->job));
	cv->job.quiet = cv->cli->quiet;
	cv->job.zeros = cv->zeros;
	cv->job.zeros_len = cv->buf_len;
	if (t->kind == EFI_TARGET_BLOCK) {
		EFI_BLOCK_IO *bio = NULL;

		/* as create: the drivers above it (partitions, FAT and its
		 * cache) are stopped, and started again afterwards */
		st = BS->OpenProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, (void **)&bio, cv->image, NULL,
				      EFI_OPEN_PROTOCOL_EXCLUSIVE);
		if (EFI_ERROR(st) || bio != t->bio.bio || bio->Media->MediaId != t->bio.media_id) {
			if (!EFI_ERROR(st))
				BS->CloseProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, cv->image, NULL);
			return efi_con_failf(EFI_APP_REFUSED, L"%s: cannot get exclusive access: %r; nothing written",
					     t->name, EFI_ERROR(st) ? st : EFI_MEDIA_CHANGED);
		}
		cv->exclusive = TRUE;
		cv->job.bio = &t->bio;
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
		cv->job.file = cv->f;
	}
	efi_sink_init(&cv->sink, &cv->job);
	cv->t0 = efi_clock_us();
	return EFI_SUCCESS;
}

/* Ends what efi_cv_open_target began; a file is deleted unless ok. */
static EFI_STATUS efi_cv_close_target(struct efi_cv *cv, BOOLEAN ok)
{
	EFI_STATUS st = EFI_SUCCESS;

	if (cv->job.printed && !cv->job.aborted)
		efi_con_utf8("\n");
	cv->job.printed = FALSE;
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

	if (cv->cli->quiet)
		return;
	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "done: wrote ");
	vhdx_text_u64(&s, cv->job.bytes);
	vhdx_text_str(&s, " bytes in ");
	vhdx_text_u64(&s, ms);
	vhdx_text_str(&s, " ms (");
	vhdx_text_u64(&s, cv->size / 1024 * 1000 / ms / 1024);
	vhdx_text_str(&s, " MiB/s of the disk, ");
	vhdx_text_u64(&s, cv->job.io_us / 1000);
	vhdx_text_str(&s, " ms in the firmware's writes), flushed\nconverted ");
	vhdx_text_str(&s, cv->cli->source);
	vhdx_text_str(&s, " to ");
	vhdx_text_str(&s, cv->cli->target);
	efi_con_line(NULL, line);
}

/* ---- deploy: the disk onto a device, raw ---- */

/* How a deploy ended, as one line and a status. */
static EFI_STATUS efi_cv_deploy_fail(struct efi_cv *cv, const CHAR16 *what, UINT64 off, EFI_STATUS why)
{
	const CHAR16 *left = cv->head_zeroed ?
		L"its first MiB is zero (no partition table), the rest is partly written" :
		L"zeroing its first MiB failed: the device is as the failure left it";

	if (cv->job.printed && !cv->job.aborted)
		efi_con_utf8("\n");
	cv->job.printed = FALSE;
	if (cv->job.aborted)
		return efi_con_failf(EFI_ABORTED, L"%s: aborted by ESC after %ld bytes; %s", cv->t.name,
				     cv->job.bytes, left);
	return efi_con_failf(EFI_APP_FAILED, L"%s: %s failed at byte %ld: %r; %s", cv->t.name, what, off, why,
			     left);
}

/* The file that holds a DATA extent's bytes: its level's (through the
 * log view when the log is read through; vhdx_map's file_offset is in
 * it), or the raw source. */
static const struct vhdx_source *efi_cv_data_source(const struct efi_cv *cv, const struct vhdx_extent *e)
{
	const struct vhdx_chain_level *l;

	if (!cv->src.levels)
		return &cv->src.s;
	l = &cv->src.levels[e->level];
	return l->through_log ? &l->view.source : &l->src;
}

/*
 * n bytes of a DATA extent at disk offset off into the buffer: whole
 * pages straight from the extent's file in one read (the map already
 * done, by the caller: no BAT page read again per chunk, which on a FAT
 * file is also a seek back to the BAT and forward again through the
 * cluster chain); anything else through the reader.
 */
static int efi_cv_read_data(struct efi_cv *cv, const struct vhdx_extent *e, UINT64 off, size_t n)
{
	const struct vhdx_source *src = efi_cv_data_source(cv, e);
	int err;

	if ((e->file_offset | n) & (VHDX_READER_PAGE - 1))
		return vhdx_reader_read(&cv->src.r, off, cv->buf, n);
	err = src->read(src, e->file_offset, cv->buf, n);
	return err > 0 ? VHDX_ERR_IO : err;
}

static EFI_STATUS efi_cv_deploy(struct efi_cv *cv)
{
	const struct vhdx_reader *r = &cv->src.r;
	const struct vhdx_sink *k = &cv->sink;
	UINT64 size = cv->size, head = size < EFI_CV_HEAD ? size : EFI_CV_HEAD, off, n;
	struct vhdx_extent e;
	int err;

	/* 1. the first MiB zeroed and flushed before anything else */
	if (k->zero(k, 0, head) || k->flush(k))
		return efi_cv_deploy_fail(cv, L"zeroing the first MiB", cv->job.failed_off, cv->job.status);
	cv->head_zeroed = TRUE;
	/* 2. the rest, extent by extent, a chunk at a time */
	for (off = head; off < size;) {
		err = vhdx_reader_map(r, off, size - off, &e);
		if (err)
			goto source_failed;
		if (e.kind == VHDX_EXTENT_ZERO && cv->cli->sparse) {
			off += e.length;
			if (k->progress(k, off - head, size))
				return efi_cv_deploy_fail(cv, NULL, 0, EFI_ABORTED);
			continue;
		}
		for (; e.length; e.length -= n, e.file_offset += n, off += n) {
			/* chunks end on multiples of the chunk: after the first
			 * MiB a 15 MiB one, then whole ones that never straddle
			 * a block of 16 MiB or more (one read each) */
			n = cv->buf_len - (off & (cv->buf_len - 1));
			if (n > e.length)
				n = e.length;
			if (e.kind == VHDX_EXTENT_ZERO) {
				if (k->zero(k, off, n))
					goto target_failed;
			} else {
				err = efi_cv_read_data(cv, &e, off, (size_t)n);
				if (err)
					goto source_failed;
				if (!(cv->cli->sparse && vhdx_is_zero(cv->buf, (size_t)n)) &&
				    k->write(k, off, cv->buf, (size_t)n))
					goto target_failed;
			}
			/* the first MiB counts when it is written, last */
			if (k->progress(k, off + n - head, size))
				return efi_cv_deploy_fail(cv, NULL, 0, EFI_ABORTED);
		}
	}
	if (k->flush(k))
		goto target_failed;
	/* 3. the first MiB last: from here on the disk may look partitioned */
	if (k->progress(k, size - head, size))
		return efi_cv_deploy_fail(cv, NULL, 0, EFI_ABORTED);
	off = 0;
	err = vhdx_reader_read(r, 0, cv->buf, (size_t)head);
	if (err)
		goto source_failed;
	if (k->write(k, 0, cv->buf, (size_t)head) || k->flush(k))
		goto target_failed;
	k->progress(k, size, size); /* the "done" line; ESC no longer counts */
	return EFI_SUCCESS;

source_failed:
	if (err == VHDX_ERR_IO)
		return efi_cv_deploy_fail(cv, L"reading the source", off, cv->src.src.status);
	return efi_con_failf(EFI_APP_FAILED, L"%a: cannot read offset %ld: %a (see vhdx check); %s: its first MiB is zero, the rest is partly written",
			     cv->cli->source, off, vhdx_strerror(err), cv->t.name);
target_failed:
	return efi_cv_deploy_fail(cv, cv->job.failed_op ? L"writing" : L"I/O", cv->job.failed_off, cv->job.status);
}

/* ---- capture: a VHDX of the disk ---- */

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

static EFI_STATUS efi_cv_capture(struct efi_cv *cv)
{
	struct vhdx_fill_result res;
	EFI_STATUS st;
	int err;

	ZeroMem(&res, sizeof(res));
	err = vhdx_image_write_from(&cv->plan, &cv->sink, &cv->src.r, cv->buf, cv->buf_len + 4096, &res);
	st = efi_cv_close_target(cv, err == VHDX_OK);
	if (err == VHDX_OK && EFI_ERROR(st)) {
		/* the file's last writes failed at Close; it stays, unusable */
		return efi_con_failf(EFI_APP_FAILED, L"%s: closing the file failed: %r; do not use it",
				     cv->t.name, st);
	}
	if (err == VHDX_OK) {
		if (!cv->cli->quiet) {
			char line[200];
			struct vhdx_text s;

			vhdx_text_init(&s, line, sizeof(line));
			vhdx_text_str(&s, "image of ");
			vhdx_text_u64(&s, res.file_size);
			vhdx_text_str(&s, " bytes: ");
			vhdx_text_u64(&s, res.blocks_stored);
			vhdx_text_str(&s, " blocks stored, ");
			vhdx_text_u64(&s, res.blocks_zero);
			vhdx_text_str(&s, " read as zeros (not stored)");
			efi_con_line(NULL, line);
		}
		return EFI_SUCCESS;
	}
	if (err == VHDX_ERR_ABORTED || cv->job.aborted)
		return efi_con_failf(EFI_ABORTED, L"%s: aborted by ESC; %s", cv->t.name, efi_cv_left(cv));
	if (err == VHDX_ERR_IO && res.source_failed)
		return efi_con_failf(EFI_APP_FAILED, L"%a: reading the source failed near offset %ld: %r; %s",
				     cv->cli->source, res.failed_offset, cv->src.src.status, efi_cv_left(cv));
	if (res.source_failed)
		return efi_con_failf(EFI_APP_FAILED, L"%a: cannot read offset %ld: %a (see vhdx check); %s",
				     cv->cli->source, res.failed_offset, vhdx_strerror(err), efi_cv_left(cv));
	if (err == VHDX_ERR_IO) {
		const CHAR16 *why = L"";

		if (cv->t.kind == EFI_TARGET_FILE && cv->job.failed_off + cv->buf_len > EFI_CV_FAT_MAX)
			why = L" (the file would pass 4 GiB - 1, which FAT cannot hold)";
		else if (cv->t.kind == EFI_TARGET_FILE && cv->job.status == EFI_VOLUME_FULL)
			why = L" (the volume is full)";
		else if (cv->t.kind == EFI_TARGET_BLOCK && cv->job.failed_off + cv->buf_len > cv->t.bio.size)
			why = L" (the image outgrew the device)";
		return efi_con_failf(EFI_APP_FAILED, L"%s: %a failed at byte %ld: %r%s; %s", cv->t.name,
				     cv->job.failed_op ? cv->job.failed_op : "write", cv->job.failed_off,
				     cv->job.status, why, efi_cv_left(cv));
	}
	if (err == VHDX_ERR_DEVFULL)
		return efi_con_failf(EFI_APP_FAILED, L"%s: the image outgrew the device (%ld bytes): too many blocks hold data; %s",
				     cv->t.name, cv->t.bio.size, efi_cv_left(cv));
	return efi_con_failf(EFI_APP_FAILED,
			     L"%s: writing failed: %a; %s", cv->t.name, vhdx_strerror(err), efi_cv_left(cv));
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

	if (cv->to_vhdx)
		return efi_con_fail(EFI_APP_REFUSED, "--bench-raw copy: only for a deploy (raw output onto a block device)");
	cv->bench_from = 0;
	if (cv->src.levels && !vhdx_reader_map(&cv->src.r, 0, cv->size, &e) && e.kind == VHDX_EXTENT_DATA &&
	    e.level == 0 && !(e.file_offset & (VHDX_READER_PAGE - 1)) && e.file_offset <= s->size &&
	    cv->size <= s->size - e.file_offset)
		cv->bench_from = e.file_offset;
	if (cv->size > s->size)
		return efi_con_failf(EFI_APP_REFUSED,
				     L"--bench-raw copy: %a holds %ld bytes, fewer than the %ld the deploy writes",
				     cv->cli->source, s->size, cv->size);
	return EFI_SUCCESS;
}

static EFI_STATUS efi_cv_prepare(struct efi_cv *cv)
{
	const struct vhdx_cli *cli = cv->cli;
	struct vhdx_cli c = *cli;
	EFI_STATUS st;

	cv->to_vhdx = cli->output_format == VHDX_FORMAT_VHDX ||
		      (cli->output_format == VHDX_FORMAT_AUTO && efi_cv_is_vhdx_name(cli->target));
	/* a file named as a VHDX must be one: refused with the core's reason */
	cv->src.arg = cli->source;
	cv->src.want_vhdx = efi_cv_is_vhdx_name(cli->source);
	st = efi_disk_open(&cv->src, cli, cv->image);
	if (EFI_ERROR(st))
		return st;
	cv->size = cv->src.r.size;
	if (cv->size == 0)
		return efi_con_failf(EFI_APP_REFUSED, L"%a: an empty disk; nothing to convert", cli->source);
	c.target = cli->target;
	st = efi_target_resolve(&cv->t, &c, TRUE, cv->image);
	if (EFI_ERROR(st))
		return st;
	st = efi_cv_refuse_overlap(cv);
	if (EFI_ERROR(st))
		return st;
	st = cv->to_vhdx ? efi_cv_prepare_vhdx(cv) : efi_cv_prepare_raw(cv);
	if (EFI_ERROR(st))
		return st;
	st = efi_cv_refuse_nonblank(cv);
	if (EFI_ERROR(st))
		return st;
	return efi_cv_count_data(cv);
}

EFI_STATUS efi_cmd_convert(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	struct efi_cv *cv;
	EFI_STATUS st;

	if (!cli->source || !cli->target)
		return efi_con_fail(EFI_APP_REFUSED, "convert: SOURCE and TARGET needed: vhdx convert SOURCE TARGET");
	if (cli->bench && !efi_bench_mode_known_for(VHDX_CMD_CONVERT, cli->bench))
		return efi_con_failf(EFI_APP_REFUSED, L"--bench-raw: unknown mode %a (copy)", cli->bench);
	cv = AllocateZeroPool(sizeof(*cv));
	if (!cv)
		return efi_con_fail(EFI_OUT_OF_RESOURCES, "out of memory");
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
	if (!cli->quiet || cli->dry_run)
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
		st = efi_bench_copy(&cv->src.s, &cv->src.src, cv->bench_from, &cv->t.bio, cv->size, cv->buf,
				    cv->buf_len);
		efi_cv_close_target(cv, !EFI_ERROR(st));
		goto out;
	}
	if (cv->to_vhdx) {
		st = efi_cv_capture(cv);
	} else {
		st = efi_cv_deploy(cv);
		efi_cv_close_target(cv, !EFI_ERROR(st));
	}
	if (!EFI_ERROR(st))
		efi_cv_done(cv);
out:
	if (cv->f || cv->exclusive)
		efi_cv_close_target(cv, FALSE);
	efi_pages_free(cv->buf, cv->buf_len + 4096);
	efi_pages_free(cv->zeros, cv->buf_len);
	efi_disk_close(&cv->src);
	efi_target_free(&cv->t);
	FreePool(cv);
	return st;
}
