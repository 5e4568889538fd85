/* SPDX-License-Identifier: MIT */
/*
 * efi_bmap.c - `vhdx bmap SOURCE OUT.bmap` and `vhdx verify --bmap F
 * [--bmap-sha256 HEX] [--zeros] TARGET` in the UEFI shell, over the jobs
 * of app/vhdx_bmap_job.h (the host runs the same).  SOURCE and TARGET are
 * what compare reads (efi_disk_open): a file, a mapping (blk1:), a device
 * path, or an http(s):// URL; F a file on a volume or a URL; OUT.bmap a
 * file on a volume.
 *
 * OUT.bmap is written whole as OUT.bmap.tmp beside it, flushed, then the
 * old OUT.bmap (if any) is deleted and the new one renamed over its name
 * through EFI_FILE_INFO (SetInfo): the FAT driver refuses to rename onto
 * an existing name, so a crash between the two leaves the complete new
 * manifest as OUT.bmap.tmp, never a part of one as OUT.bmap.  A crash in
 * the delete can leave OUT.bmap's entry over clusters already freed: the
 * next run first finishes the rename of a whole OUT.bmap.tmp, before it
 * allocates anything (efi_bmap_settle).  A failed run's OUT.bmap.tmp is
 * deleted after its byte 0 is overwritten and flushed, so that a cut in
 * that delete never leaves one that settle would take for whole
 * (efi_bmap_discard).  tests/efi/bmapcut.sh cuts QEMU at each write
 * request of a run and checks all three.
 *
 * Status (%lasterror%):
 *   bmap    EFI_SUCCESS written; EFI_APP_REFUSED nothing written (a bad
 *           SOURCE or OUT; OUT the file SOURCE reads or a parent file of
 *           its chain, as on the host, or OUT.tmp that file: the fixed
 *           temporary name would replace it, where the host's mkstemp
 *           name is new); EFI_APP_FAILED a read or a write
 *           failed (OUT.bmap untouched, the temporary file deleted);
 *           EFI_ABORTED ESC
 *   verify  EFI_SUCCESS every range matches (and with --zeros every other
 *           block reads as zeros); EFI_COMPROMISED_DATA (0x21) the first
 *           bad range (both hashes) or non-zero byte named;
 *           EFI_APP_REFUSED could not run: the manifest refused (its
 *           SHA-256 not the pin, not a valid bmap, its BmapFileChecksum,
 *           another ImageSize) or TARGET missing or not a VHDX that
 *           opens; EFI_APP_FAILED a read failed; EFI_VOLUME_CORRUPTED a
 *           VHDX whose data cannot be mapped (see vhdx check);
 *           EFI_ABORTED ESC
 */
#include "efi_app.h"
#include "vhdx_bmap_job.h"

#define EFI_BMAP_KEEP (4u * 1024u * 1024u)  /* [byte] ranges kept from bmap's first pass (87381) */
#define EFI_BMAP_BUF (VHDX_BMAP_MAKE_BUF_MIN + EFI_BMAP_KEEP)
#define EFI_VERIFY_BUF (1024u * 1024u)      /* [byte] read at a time */

/* Progress and ESC through the sink's (efi_sink.c): no sink is written. */
struct efi_bmap_progress {
	struct efi_job job;
	struct vhdx_sink sink;
};

static void efi_bmap_progress_init(struct efi_bmap_progress *p, const struct vhdx_cli *cli)
{
	ZeroMem(p, sizeof(*p));
	p->job.quiet = cli->quiet;
	efi_sink_init(&p->sink, &p->job);
}

static int efi_bmap_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct efi_bmap_progress *p = ctx;

	return p->sink.progress(&p->sink, done, total);
}

/* The progress line ended before the next line. */
static void efi_bmap_progress_end(struct efi_bmap_progress *p)
{
	if (p->job.printed && !p->job.aborted)
		efi_con_utf8("\n");
	p->job.printed = FALSE;
}

/*
 * The outcome of a read of the disk that failed (@err), at @off, one line.
 * A URL's failure (the disk's or a chain parent's, kept by the command
 * before its job) is said here, once; a firmware status is the failed
 * read's, which may be a parent file's (efi_disk_status), never the
 * child's EFI_SUCCESS ("Success" before); VHDX_ERR_IO with no firmware
 * error is the core's own (the log's replay in memory), said as such.
 */
static EFI_STATUS efi_bmap_read_failed(struct efi_disk *d, int err, uint64_t off)
{
	EFI_STATUS fw = efi_disk_status(d);

	if (err == VHDX_ERR_ABORTED || (err == VHDX_ERR_IO && (fw == EFI_ABORTED || efi_http_esc(d->src.http))))
		return efi_con_fail(EFI_ABORTED, "stopped (ESC)");
	if (err == VHDX_ERR_IO && efi_http_reason(d->src.http))
		return efi_con_failf(efi_status_of(err), L"%s; %s: read failed near offset %ld", efi_http_reason(d->src.http),
				     d->t.name, off);
	if (err == VHDX_ERR_IO && EFI_ERROR(fw))
		return efi_con_failf(efi_status_of(err), L"%s: read failed near offset %ld: %r", d->t.name, off, fw);
	if (err == VHDX_ERR_IO)
		return efi_con_failf(efi_status_of(err),
				     L"%s: read failed near offset %ld, with no firmware error: the image's log no longer "
				     L"reads as when it was opened (see vhdx check)", d->t.name, off);
	return efi_con_failf(efi_status_of(err), L"%s: cannot read offset %ld: %a (see vhdx check)", d->t.name, off,
			     vhdx_strerror(err));
}

/* ---- bmap ---- */

struct efi_bmap_out {
	struct efi_bmap_progress progress;
	EFI_FILE_HANDLE file;        /* OUT.bmap.tmp */
	EFI_STATUS status;           /* of a failed write */
};

static int efi_bmap_write(void *ctx, uint64_t offset, const void *data, size_t len)
{
	struct efi_bmap_out *o = ctx;
	UINTN n = len;
	EFI_STATUS st = o->file->SetPosition(o->file, offset);

	if (!EFI_ERROR(st))
		st = o->file->Write(o->file, &n, (void *)(UINTN)data);
	if (!EFI_ERROR(st) && n != len)
		st = EFI_VOLUME_FULL;
	if (EFI_ERROR(st)) {
		o->status = st;
		return VHDX_ERR_IO;
	}
	return VHDX_OK;
}

static int efi_bmap_make_progress(void *ctx, uint64_t done, uint64_t total)
{
	return efi_bmap_progress(&((struct efi_bmap_out *)ctx)->progress, done, total);
}

/* The last component of a volume path (after the last '\'). */
static const CHAR16 *efi_bmap_base_name(const CHAR16 *path)
{
	const CHAR16 *base = path;

	for (; *path; path++)
		if (*path == L'\\')
			base = path + 1;
	return base;
}

/* The flushed temporary file renamed to @t's name: the old file deleted
 * first (a rename onto an existing name is refused). */
static EFI_STATUS efi_bmap_rename(struct efi_target *t, EFI_FILE_HANDLE tmp)
{
	const CHAR16 *base = efi_bmap_base_name(t->path);
	EFI_FILE_INFO *fi = LibFileInfo(tmp), *ni;
	EFI_FILE_HANDLE old;
	UINTN size;
	EFI_STATUS st;

	if (!fi)
		return EFI_OUT_OF_RESOURCES;
	if (t->exists) {
		st = t->root->Open(t->root, &old, t->path, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE, 0);
		if (!EFI_ERROR(st))
			st = old->Delete(old); /* closes it; a warning when it could not */
		if (st != EFI_SUCCESS) {
			FreePool(fi);
			return st == EFI_WARN_DELETE_FAILURE ? EFI_ACCESS_DENIED : st;
		}
	}
	size = SIZE_OF_EFI_FILE_INFO + StrSize(base);
	ni = AllocateZeroPool(size);
	if (!ni) {
		FreePool(fi);
		return EFI_OUT_OF_RESOURCES;
	}
	CopyMem(ni, fi, SIZE_OF_EFI_FILE_INFO);
	ni->Size = size;
	StrCpy(ni->FileName, base);
	st = tmp->SetInfo(tmp, &gEfiFileInfoGuid, size, ni);
	if (!EFI_ERROR(st))
		st = tmp->Flush(tmp);
	FreePool(ni);
	FreePool(fi);
	return st;
}

/*
 * TRUE when the file @path on @t's volume reads whole as a bmap whose
 * BmapFileChecksum is right (vhdx_bmap_parse): a complete manifest.  A
 * read that fails (a cluster chain a cut left broken), a short file or a
 * part of one: FALSE.  *ret_st: EFI_OUT_OF_RESOURCES when it could not be
 * told.
 */
static BOOLEAN efi_bmap_file_whole(struct efi_target *t, CHAR16 *path, EFI_STATUS *ret_st)
{
	struct vhdx_bmap_parser p;
	EFI_FILE_HANDLE f;
	EFI_FILE_INFO *fi;
	char *text = NULL, why[160];
	UINTN n = 0;
	BOOLEAN whole = FALSE;

	*ret_st = EFI_SUCCESS;
	if (EFI_ERROR(t->root->Open(t->root, &f, path, EFI_FILE_MODE_READ, 0)))
		return FALSE;
	fi = LibFileInfo(f);
	if (!fi) {
		*ret_st = EFI_OUT_OF_RESOURCES;
	} else if (fi->FileSize && fi->FileSize <= EFI_BMAP_FILE_MAX && !(fi->Attribute & EFI_FILE_DIRECTORY)) {
		n = (UINTN)fi->FileSize;
		text = AllocatePool(n);
		if (!text)
			*ret_st = EFI_OUT_OF_RESOURCES;
		else if (!EFI_ERROR(f->Read(f, &n, text)) && n == fi->FileSize)
			whole = vhdx_bmap_parse(&p, text, n, why, sizeof(why)) == VHDX_OK;
	}
	if (text)
		FreePool(text);
	if (fi)
		FreePool(fi);
	f->Close(f);
	return whole;
}

/*
 * What a cut left of an earlier run, settled before anything is allocated
 * on the volume.  A whole OUT.bmap.tmp means that run was cut after its
 * flush, in its delete of OUT.bmap or its rename: its rename is finished
 * here (OUT.bmap deleted, OUT.bmap.tmp renamed to it).  This must come
 * first: FAT's delete frees the clusters in the FAT before it removes the
 * directory entry (EDK II's FAT driver writes the FAT's sectors, then the
 * directory's), so a cut between the two leaves OUT.bmap's entry over
 * free clusters, which the new OUT.bmap.tmp's writes would take and the
 * later delete of that entry would free under it (seen in
 * tests/efi/bmapcut.sh).  Anything else (no OUT.bmap.tmp, a part of one)
 * leaves OUT.bmap as it is: its delete only ever begins after a whole
 * OUT.bmap.tmp was flushed.  *ret_done: TRUE when a rename was finished.
 */
static EFI_STATUS efi_bmap_settle(struct efi_target *t, CHAR16 *tmp_path, BOOLEAN *ret_done)
{
	EFI_FILE_HANDLE tmp;
	EFI_STATUS st;

	*ret_done = FALSE;
	if (!efi_bmap_file_whole(t, tmp_path, &st))
		return st;
	st = t->root->Open(t->root, &tmp, tmp_path, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE, 0);
	if (EFI_ERROR(st))
		return st;
	st = efi_bmap_rename(t, tmp);
	tmp->Close(tmp);
	if (EFI_ERROR(st))
		return st;
	t->exists = TRUE;
	*ret_done = TRUE;
	return EFI_SUCCESS;
}

/* OUT.bmap.tmp, created empty (a stale one replaced). */
static EFI_STATUS efi_bmap_create_tmp(struct efi_target *t, CHAR16 *tmp_path, EFI_FILE_HANDLE *ret)
{
	const UINT64 mode = EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE;
	EFI_STATUS st = t->root->Open(t->root, ret, tmp_path, mode, 0);

	if (EFI_ERROR(st))
		return st;
	st = (*ret)->Delete(*ret);
	*ret = NULL;
	if (st != EFI_SUCCESS)
		return st == EFI_WARN_DELETE_FAILURE ? EFI_ACCESS_DENIED : st;
	return t->root->Open(t->root, ret, tmp_path, mode, 0);
}

/*
 * OUT.bmap.tmp (@f) after a failed run: its byte 0 overwritten and
 * flushed, then deleted.  When its last Flush failed it may be whole on
 * the disk (EDK II's FAT driver writes its cached pages, then asks the
 * disk to flush: only that may have failed), and FAT's delete frees its
 * clusters before it removes its entry: a cut in the delete could leave
 * its entry over free clusters still reading as a whole manifest, which
 * the next run's efi_bmap_settle would rename over OUT.bmap (then take
 * those clusters for the new .tmp).  With byte 0 changed its
 * BmapFileChecksum no longer matches (efi_bmap_file_whole: not whole).
 * @f is closed and the file opened again first: after a failed Write,
 * EDK II's FAT driver keeps a permanent error on the open file and refuses
 * every later call through it, Delete too (FatIFileAccess, FatDelete), so
 * a part of a .tmp was left behind.  Best effort: a failure here changes
 * nothing of the run's line.  tests/efi/bmapcut.sh fflush, fcut.
 */
static void efi_bmap_discard(struct efi_target *t, CHAR16 *tmp_path, EFI_FILE_HANDLE f)
{
	UINT8 spoil = 0;
	UINTN n = 1;

	f->Close(f);
	if (EFI_ERROR(t->root->Open(t->root, &f, tmp_path, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE, 0)))
		return;
	if (!EFI_ERROR(f->SetPosition(f, 0)) && !EFI_ERROR(f->Write(f, &n, &spoil)))
		f->Flush(f);
	f->Delete(f); /* closes it */
}

/* @name ("fs0:\\vm\\..\\base.vhdx") as one spelling per file of a FAT
 * volume: its path after the mapping, '\\'-rooted, "." and ".." folded as
 * the chain folds a locator's (vhdx_path_join), ASCII lower-cased.  Its
 * length, or 0 when it does not fit @buf (VHDX_NAME_SIZE bytes). */
static size_t efi_bmap_fold_name(const char *name, char *buf)
{
	struct vhdx_text t;
	const char *p = name;
	char *c;

	while (*p && *p != ':')
		p++;
	vhdx_text_init(&t, buf, VHDX_NAME_SIZE);
	if (vhdx_path_join("\\", 1, '\\', *p ? p + 1 : name, &t) != VHDX_OK)
		return 0;
	for (c = buf; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return t.pos;
}

/*
 * TRUE when @path (a file's path inside @out's volume: OUT's, or its
 * OUT.bmap.tmp's, which bmap replaces) names the file @d reads or one of
 * its chain's parents: the host's rule (host_disk_holds), and the host's
 * mkstemp name never names an existing file.  The parents lie on the
 * child's volume (efi_chain.c), so one volume and one folded name is one
 * file.  *ret_st: EFI_OUT_OF_RESOURCES when it could not be told.
 */
static BOOLEAN efi_bmap_holds(const struct efi_disk *d, const struct efi_target *out, const CHAR16 *path,
			      EFI_STATUS *ret_st)
{
	char *oname = NULL, *want = AllocatePool(VHDX_NAME_SIZE), *have = AllocatePool(VHDX_NAME_SIZE);
	BOOLEAN holds = FALSE;
	size_t n;
	unsigned k;

	*ret_st = EFI_SUCCESS;
	if (d->t.kind != EFI_TARGET_FILE || !efi_dp_equal(out->fs_dp, d->t.fs_dp))
		goto out;
	oname = efi_text_to_utf8(path);
	if (!oname || !want || !have) {
		*ret_st = EFI_OUT_OF_RESOURCES;
		goto out;
	}
	n = efi_bmap_fold_name(oname, want);
	if (!n)
		goto out; /* longer than any level's name: none of them */
	holds = efi_bmap_fold_name(d->name, have) == n && CompareMem(want, have, n) == 0;
	for (k = 1; !holds && d->levels && k < d->chain.depth; k++)
		holds = efi_bmap_fold_name(d->levels[k].name, have) == n && CompareMem(want, have, n) == 0;
out:
	if (oname)
		FreePool(oname);
	if (want)
		FreePool(want);
	if (have)
		FreePool(have);
	return holds;
}

EFI_STATUS efi_cmd_bmap(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	struct efi_disk *d = AllocateZeroPool(sizeof(*d));
	struct efi_target *out = AllocateZeroPool(sizeof(*out));
	struct efi_bmap_out *o = AllocateZeroPool(sizeof(*o));
	struct vhdx_cli c = *cli;
	struct vhdx_bmap_make job;
	CHAR16 *tmp_path = NULL;
	void *buf = NULL;
	char line[600];
	BOOLEAN settled;
	EFI_STATUS st;
	int err;

	if (!d || !out || !o) {
		st = efi_out_of_memory();
		goto free_only;
	}
	d->arg = cli->source;
	st = efi_disk_open(d, cli, image);
	if (EFI_ERROR(st))
		goto out;
	c.target = cli->target;
	st = efi_target_resolve(out, &c, TRUE, image);
	if (EFI_ERROR(st))
		goto out;
	if (out->kind != EFI_TARGET_FILE) {
		st = efi_refusef(L"%s: a bmap is written to a file on a volume (fs0:\\x.bmap)", out->name);
		goto out;
	}
	tmp_path = PoolPrint(L"%s.tmp", out->path);
	if (!tmp_path) {
		st = efi_out_of_memory();
		goto out;
	}
	if (efi_bmap_holds(d, out, out->path, &st)) {
		st = efi_refusef(L"%s: is the source (or a level of its chain), not a place for its bmap", out->name);
		goto out;
	}
	if (!EFI_ERROR(st) && efi_bmap_holds(d, out, tmp_path, &st)) {
		st = efi_refusef(L"%s: its temporary name %s is the source (or a level of its chain), "
				 L"not a place for its bmap", out->name, tmp_path);
		goto out;
	}
	if (EFI_ERROR(st)) {
		st = efi_out_of_memory();
		goto out;
	}
	if (!d->r.size) {
		st = efi_refusef(L"%s: an empty disk has no bmap (ImageSize 0)", d->t.name);
		goto out;
	}
	buf = efi_pages_alloc(EFI_BMAP_BUF);
	if (!buf) {
		st = efi_out_of_memory();
		goto out;
	}
	st = efi_bmap_settle(out, tmp_path, &settled);
	if (EFI_ERROR(st)) {
		st = efi_con_failf(EFI_APP_FAILED, L"%s: cannot finish the rename of a whole %s a cut left: %r",
				   out->name, tmp_path, st);
		goto out;
	}
	if (settled && !cli->quiet)
		Print(L"vhdx: %s: note: a cut left it whole as %s, renamed first\n", out->name, tmp_path);
	st = efi_bmap_create_tmp(out, tmp_path, &o->file);
	if (EFI_ERROR(st)) {
		o->file = NULL;
		st = efi_refusef(L"%s: cannot create %s beside it: %r", out->name, tmp_path, st);
		goto out;
	}
	efi_bmap_progress_init(&o->progress, cli);
	ZeroMem(&job, sizeof(job));
	job.disk = &d->r;
	job.write = efi_bmap_write;
	job.progress = efi_bmap_make_progress;
	job.ctx = o;
	efi_http_keep_reason(d->src.http); /* said once, in the failure's line */
	err = vhdx_bmap_make(&job, buf, EFI_BMAP_BUF);
	efi_bmap_progress_end(&o->progress);
	if (!err) {
		st = o->file->Flush(o->file);
		if (EFI_ERROR(st)) {
			o->status = st;
			job.write_failed = TRUE;
			err = VHDX_ERR_IO;
		}
	}
	if (err) {
		if (job.write_failed)
			st = efi_con_failf(EFI_APP_FAILED, L"%s: write failed: %r", tmp_path, o->status);
		else if (job.source_changed)
			st = efi_con_failf(EFI_APP_FAILED,
					   L"%s: read differently the second time (the disk changed while it was read)",
					   d->t.name);
		else if (job.source_failed || err == VHDX_ERR_ABORTED)
			st = efi_bmap_read_failed(d, err, job.failed_offset);
		else
			st = efi_con_fail(efi_status_of(err), vhdx_strerror(err));
		efi_bmap_discard(out, tmp_path, o->file);
		o->file = NULL;
		goto out;
	}
	st = efi_bmap_rename(out, o->file);
	if (EFI_ERROR(st)) {
		st = efi_con_failf(EFI_APP_FAILED, L"%s: written whole as %s, but cannot rename it: %r", out->name,
				   tmp_path, st);
		goto out;
	}
	vhdx_bmap_make_say(&job, cli->target, line, sizeof(line));
	efi_con_utf8(line);
	efi_con_utf8("\n");
	st = EFI_SUCCESS;
out:
	if (o && o->file)
		o->file->Close(o->file);
	efi_pages_free(buf, EFI_BMAP_BUF);
	if (tmp_path)
		FreePool(tmp_path);
	efi_target_free(out);
	efi_disk_close(d);
free_only:
	if (o)
		FreePool(o);
	if (out)
		FreePool(out);
	if (d)
		FreePool(d);
	return st;
}

/* ---- verify ---- */

EFI_STATUS efi_bmap_read_manifest(const struct vhdx_cli *cli, EFI_HANDLE image, const char *tail, char **ret,
				  UINTN *ret_len)
{
	struct efi_target t;
	struct efi_source src;
	struct vhdx_source s;
	struct vhdx_cli c = *cli;
	char *text = NULL;
	EFI_STATUS st;

	*ret = NULL;
	*ret_len = 0;
	ZeroMem(&t, sizeof(t));
	ZeroMem(&src, sizeof(src));
	c.target = cli->bmap;
	st = efi_target_resolve(&t, &c, FALSE, image);
	if (EFI_ERROR(st))
		goto out;
	if (t.kind == EFI_TARGET_BLOCK) {
		st = efi_refusef(L"%s: not a bmap: a manifest is a file on a volume (fs0:\\x.bmap) or a URL, not a device%a",
				 t.name, tail);
		goto out;
	}
	st = efi_source_open(&src, &t, &s);
	if (EFI_ERROR(st)) {
		st = efi_refusef(L"%s: cannot open: %r%a", t.name, st, tail);
		goto out;
	}
	if (s.size > EFI_BMAP_FILE_MAX) {
		st = efi_refusef(L"%s: not a bmap: larger than %d MiB%a", t.name, EFI_BMAP_FILE_MAX >> 20, tail);
		goto out;
	}
	text = AllocatePool((UINTN)s.size + 1);
	if (!text) {
		st = efi_out_of_memory();
		goto out;
	}
	efi_http_keep_reason(t.http); /* said once, in this line */
	if (s.size && s.read(&s, 0, text, (size_t)s.size) != VHDX_OK) {
		if (src.status == EFI_ABORTED || efi_http_esc(t.http))
			st = efi_con_fail(EFI_ABORTED, "stopped (ESC)");
		else if (efi_http_reason(t.http))
			st = efi_refusef(L"%s%a", efi_http_reason(t.http), tail);
		else
			st = efi_refusef(L"%s: read failed: %r%a", t.name, src.status, tail);
		goto out;
	}
	text[s.size] = 0;
	*ret = text;
	*ret_len = (UINTN)s.size;
	text = NULL;
	st = EFI_SUCCESS;
out:
	efi_source_close(&src);
	if (text)
		FreePool(text);
	efi_target_free(&t);
	return st;
}

EFI_STATUS efi_cmd_verify(const struct vhdx_cli *cli, EFI_HANDLE image)
{
	struct efi_disk *d = AllocateZeroPool(sizeof(*d));
	struct vhdx_verify *v = AllocateZeroPool(sizeof(*v));
	struct efi_bmap_progress *p = AllocateZeroPool(sizeof(*p));
	char *text = NULL, why[VHDX_VERIFY_WHY_SIZE + 512], line[900];
	void *buf = NULL;
	UINTN len = 0;
	EFI_STATUS st;
	int err;

	if (!d || !v || !p) {
		st = efi_out_of_memory();
		goto free_only;
	}
	st = efi_bmap_read_manifest(cli, image, "", &text, &len);
	if (EFI_ERROR(st))
		goto out;
	d->arg = cli->target;
	st = efi_disk_open(d, cli, image);
	if (EFI_ERROR(st))
		goto out;
	buf = efi_pages_alloc(EFI_VERIFY_BUF);
	if (!buf) {
		st = efi_out_of_memory();
		goto out;
	}
	efi_bmap_progress_init(p, cli);
	v->disk = &d->r;
	v->zeros = cli->zeros;
	v->progress = efi_bmap_progress;
	v->ctx = p;
	err = vhdx_verify_open(v, text, len, cli->bmap_sha256, cli->bmap, cli->target, why, sizeof(why));
	if (err) {
		st = efi_con_fail(EFI_APP_REFUSED, why);
		goto out;
	}
	efi_http_keep_reason(d->src.http); /* said once, in the failure's line */
	err = vhdx_verify_run(v, buf, EFI_VERIFY_BUF);
	efi_bmap_progress_end(p);
	if (err) {
		st = efi_bmap_read_failed(d, err, v->failed_offset);
		goto out;
	}
	vhdx_verify_say(v, cli->target, cli->bmap, line, sizeof(line));
	efi_con_utf8(line);
	efi_con_utf8("\n");
	st = v->outcome == VHDX_VERIFY_MATCH ? EFI_SUCCESS : EFI_COMPROMISED_DATA;
out:
	efi_pages_free(buf, EFI_VERIFY_BUF);
	if (text)
		FreePool(text);
	efi_disk_close(d);
free_only:
	if (p)
		FreePool(p);
	if (v)
		FreePool(v);
	if (d)
		FreePool(d);
	return st;
}
