/* SPDX-License-Identifier: MIT */
/*
 * host_convert.c - `vhdx convert [options] SOURCE TARGET` on the host: the
 * core's convert job (core/vhdx_convert.h) over POSIX files and devices.
 * The core opens the source (a VHDX, a child through its chain, a dirty
 * log through its overlay, or raw bytes), plans and checks the output
 * (raw, or a VHDX: capture, flatten, re-block, fixed), describes the plan
 * and writes it in the crash-safe order.  Here: the files (the source
 * O_RDONLY, never written; the target probed as for create,
 * host_target.c: O_EXCL on a device, --force for one that is not blank,
 * not the source or any of its parents), the plan printed, signals and
 * progress, the messages and the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_disk.h"
#include "host_http.h"
#include "host_target.h"
#include "host_sha256.h"
#include "vhdx_convert.h"

#define CONVERT_CHUNK (1024u * 1024u) /* [byte] read and written at a time (BENCHMARKS.md 6); holds
					* a range checked before it is written (VHDX_CONVERT_CHECKED_MAX) */

struct convert_job {
	const struct vhdx_cli *cli;
	struct host_disk src;
	struct vhdx_reader reader;
	struct host_target tgt;
	struct host_progress ps;
	struct vhdx_convert job;
	uint8_t *page;             /* a raw source's bounce page */
	uint8_t *buf;              /* CONVERT_CHUNK + a BAT page */
	struct vhdx_convert_lender lender; /* the writer thread's slots (job.lender) */
	char *bmap_text;           /* --bmap: the manifest as read */
	struct posix_target tgt_read; /* --resume: the target read back */
	struct vhdx_source tgt_src;
	char failure[600];
};

/* --bmap: the manifest, whole (host_read_manifest).  One line printed
 * when it cannot be read. */
static int read_manifest(struct convert_job *j)
{
	size_t len;

	j->bmap_text = host_read_manifest(j->cli->bmap, &len, "; nothing written");
	if (!j->bmap_text)
		return VHDX_EXIT_USAGE;
	j->job.bmap_text = j->bmap_text;
	j->job.bmap_len = len;
	return VHDX_EXIT_OK;
}

/* The target's lines of the plan: what the host sees of it. */
static void print_line(void *ctx, const char *text)
{
	(void)ctx;
	puts(text);
}

static void print_plan(struct convert_job *j)
{
	char target[160], over[300];
	const char *platform[2] = { target, over };

	if (j->tgt.is_block)
		snprintf(target, sizeof(target), "  target         block device of %llu bytes",
			 (unsigned long long)j->tgt.size);
	else if (j->tgt.exists)
		snprintf(target, sizeof(target), "  target         existing file of %llu bytes",
			 (unsigned long long)j->tgt.size);
	else
		snprintf(target, sizeof(target), "  target         new file");
	if (j->tgt.found)
		snprintf(over, sizeof(over), "  overwrites     %s (--force)", j->tgt.found);
	vhdx_convert_describe(&j->job, platform, j->tgt.found ? 2 : 1, print_line, NULL);
	fflush(stdout);
}

/* Every refusal, before anything is written; the plan printed. */
static int convert_probe(struct convert_job *j)
{
	const struct vhdx_cli *cli = j->cli;
	struct vhdx_convert *job = &j->job;
	uint8_t head[VHDX_PARTITION_HEAD];
	char why[VHDX_CONVERT_NOTE_SIZE + 200];
	int st, err;

	st = host_disk_open_named(&j->src, cli->source, cli->source_format, vhdx_convert_vhdx_name(cli->source));
	if (st != VHDX_EXIT_OK)
		return st;
	j->page = aligned_alloc(VHDX_READER_PAGE, VHDX_READER_PAGE);
	if (!j->page) {
		return host_out_of_memory();
	}
	host_disk_reader(&j->src, &j->reader, j->page);
	st = host_target_probe(&j->tgt, cli->target, cli->dry_run);
	if (st != VHDX_EXIT_OK)
		return st;
	if (j->tgt.exists && host_disk_holds(&j->src, &j->tgt.st)) {
		host_error("%s: is the source %s or one of its parents; refusing to convert onto it",
			   cli->target, cli->source);
		return VHDX_EXIT_USAGE;
	}
	job->cli = cli;
	job->source = &j->reader;
	job->source_sector = j->src.raw && j->src.t.is_block_device ? j->src.t.sector_size : 0;
	job->target.kind = j->tgt.is_block ? VHDX_CONVERT_DEVICE :
			   j->tgt.exists   ? VHDX_CONVERT_OLD_FILE : VHDX_CONVERT_NEW_FILE;
	job->target.size = j->tgt.size;
	job->target.sector = j->tgt.sector;
	if (cli->bmap) {
		st = read_manifest(j);
		if (st != VHDX_EXIT_OK)
			return st;
	}
	err = vhdx_convert_plan(job, head, why, sizeof(why));
	if (err == VHDX_ERR_IO) {
		host_error("%s: %s", why, strerror(j->src.t.saved_errno ? j->src.t.saved_errno : EIO));
		return VHDX_EXIT_USAGE;
	}
	if (err) {
		host_error("%s", why);
		return VHDX_EXIT_USAGE;
	}
	st = host_target_refuse_nonblank(&j->tgt, cli->force);
	if (st != VHDX_EXIT_OK)
		return st;
	if (!cli->quiet && (!cli->json || cli->dry_run))
		print_plan(j);
	return VHDX_EXIT_OK;
}

/* Raw output into a file: an old, longer one ends where the disk ends. */
static int trim_to(void *ctx, uint64_t size)
{
	struct host_target *t = ctx;
	int err = posix_sink_drain(&t->t);

	return err ? err : host_target_trim(t, size);
}

static void say_failure(struct convert_job *j, int err)
{
	const struct vhdx_convert *job = &j->job;

	if (err != VHDX_ERR_ABORTED && job->source_failed && host_http_failure())
		/* a URL's failure, said once: here, with what the target holds */
		snprintf(j->failure, sizeof(j->failure), "%s", host_http_failure());
	else if (err != VHDX_ERR_ABORTED && job->source_failed)
		/* a parent's errno is kept by its own descriptor: EIO names it */
		snprintf(j->failure, sizeof(j->failure), "reading %s failed near offset %llu: %s", j->cli->source,
			 (unsigned long long)job->failed_offset,
			 err == VHDX_ERR_IO ? strerror(j->src.t.saved_errno ? j->src.t.saved_errno : EIO) :
					      vhdx_strerror(err));
	else if (err != VHDX_ERR_ABORTED && job->bmap_failed)
		vhdx_convert_mismatch(job, j->failure, sizeof(j->failure));
	else if (err == VHDX_ERR_DEVFULL)
		snprintf(j->failure, sizeof(j->failure), "the device is full: block %llu would end past its %llu bytes",
			 (unsigned long long)job->fill.blocks_stored, (unsigned long long)j->tgt.size);
	else
		host_target_failure(&j->tgt, err, j->failure, sizeof(j->failure));
}

static int convert_write(struct convert_job *j)
{
	struct vhdx_convert *job = &j->job;
	bool to_vhdx = job->output == VHDX_CONVERT_TO_VHDX;
	struct vhdx_sink sink;
	int err = VHDX_OK;

	if (host_target_create(&j->tgt) != VHDX_EXIT_OK)
		return VHDX_EXIT_USAGE;
	if (to_vhdx)
		host_random_guids(&job->plan.params);
	host_target_sink(&j->tgt, &sink, &j->ps, j->cli->quiet);
	j->buf = aligned_alloc(4096, CONVERT_CHUNK + 4096);
	if (!j->buf) {
		return host_out_of_memory();
	}
	if (!to_vhdx && !j->tgt.is_block) {
		job->set_size = trim_to;
		job->ctx = &j->tgt;
	}
	/* --resume reads the target back through its own descriptor's view */
	if (j->cli->resume && posix_source_init(&j->tgt_src, &j->tgt_read, j->tgt.t.fd) == 0)
		job->target_source = &j->tgt_src;
	host_sha256_ops(&job->sha256);
	/* a new file has the disk's size from the start, all holes */
	if (!to_vhdx && j->tgt.t.fresh && ftruncate(j->tgt.t.fd, (off_t)job->size) < 0) {
		j->tgt.t.saved_errno = errno;
		j->tgt.t.failed_op = "truncate";
		err = VHDX_ERR_IO;
	}
	host_http_keep_failure();
	/* raw: the writes go through a writer thread, direct where aligned
	 * (posix_sink_threaded; if the thread cannot start, they are made in
	 * place), so that the next chunk is read (and with --bmap hashed)
	 * while this one is written, and no copy of the disk passes through
	 * the page cache: a plain 4 GiB deploy 1.7-2.4 s against 1.4-10 s
	 * buffered in place (BENCHMARKS.md) */
	if (!err && !to_vhdx && posix_sink_threaded(&j->tgt.t) == 0 && posix_sink_lender(&j->tgt.t, &j->lender))
		/* the source read straight into the writer's slots: no copy
		 * between read and write; with --bmap, ranges read into them
		 * while those before are hashed on a second CPU */
		job->lender = &j->lender;
	if (!err)
		err = host_interrupted ? VHDX_ERR_ABORTED : vhdx_convert_write(job, &sink, j->buf, CONVERT_CHUNK + 4096);
	/* after a failure the writes not yet begun are dropped: nothing more is written */
	if (posix_sink_unthreaded(&j->tgt.t, err != VHDX_OK) && !err)
		err = VHDX_ERR_IO;
	if (!err && to_vhdx)
		err = host_target_trim(&j->tgt, job->fill.file_size);
	if (j->cli->json)
		vhdx_convert_json(job, err, print_line, NULL);
	if (err) {
		if (j->ps.show)
			fputc('\n', stderr);
		say_failure(j, err);
		return VHDX_EXIT_FAILED;
	}
	if (close(j->tgt.t.fd) < 0) {
		snprintf(j->failure, sizeof(j->failure), "close failed: %s", strerror(errno));
		j->tgt.t.fd = -1;
		return VHDX_EXIT_FAILED;
	}
	j->tgt.t.fd = -1;
	if (j->cli->quiet || j->cli->json)
		return VHDX_EXIT_OK;
	if (to_vhdx) {
		char a[32];

		vhdx_size_to_text(job->fill.file_size, a, sizeof(a));
		printf("converted %s to %s: %llu of %llu blocks stored, %s (%llu bytes)\n", j->cli->source,
		       j->cli->target, (unsigned long long)job->fill.blocks_stored,
		       (unsigned long long)job->plan.geom.payload_blocks, a, (unsigned long long)job->fill.file_size);
	} else {
		printf("converted %s to %s\n", j->cli->source, j->cli->target);
	}
	return VHDX_EXIT_OK;
}

/* The one way out: what failed and what the target holds now. */
static int convert_release(struct convert_job *j, int rc)
{
	const char *target = j->cli->target;

	free(j->buf);
	free(j->bmap_text);
	if (j->job.output == VHDX_CONVERT_TO_VHDX) {
		host_target_release_vhdx(&j->tgt, rc, j->failure);
	} else {
		if (j->tgt.t.fd >= 0)
			close(j->tgt.t.fd);
		if (rc != VHDX_EXIT_OK && j->tgt.t.fresh)
			host_target_remove_created(&j->tgt, j->failure);
		else if (rc != VHDX_EXIT_OK && j->failure[0] && j->job.head_zeroed)
			host_error("%s: %s; its first MiB is zero (no partition table), the rest is partly written",
				   target, j->failure);
		else if (rc != VHDX_EXIT_OK && j->failure[0])
			host_error("%s: %s; target left as the failure found it", target, j->failure);
	}
	host_disk_close(&j->src);
	free(j->page);
	return rc;
}

int host_cmd_convert(const struct vhdx_cli *cli)
{
	struct convert_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.cli = cli;
	j.tgt.t.fd = -1;
	if (!cli->source || !cli->target) {
		host_error("convert: SOURCE and TARGET needed: vhdx convert [-O raw] SOURCE TARGET");
		return VHDX_EXIT_USAGE;
	}
	j.job.output = vhdx_convert_output_of(cli);
	rc = convert_probe(&j);
	if (rc == VHDX_EXIT_OK && cli->dry_run) {
		if (!cli->quiet)
			puts("dry run: nothing written");
	} else if (rc == VHDX_EXIT_OK) {
		rc = convert_write(&j);
	}
	return convert_release(&j, rc);
}
