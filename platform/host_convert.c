/* SPDX-License-Identifier: MIT */
/*
 * host_convert.c - `vhdx convert [-O raw] SOURCE TARGET`: the virtual disk
 * of any VHDX (fixed, dynamic, a child read through its chain, a dirty
 * log through the core's overlay) written as a raw file or onto a block
 * device.  The source is opened read-only and never written.
 *
 * The target as for create (host_target.c): probed and refused before
 * anything is written, --force for one that is not blank, O_EXCL on a
 * device.  A new file is sparse where the disk reads as zeros; a device or
 * an existing file gets zeros there (BLKZEROOUT, FALLOC_FL_ZERO_RANGE, or
 * written) unless --sparse says it reads as zeros already.  The first MiB
 * of the target is zeroed first and written last (DESIGN.md "The data
 * path"): an interrupted convert never leaves a target that looks
 * partitioned or bootable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_disk.h"
#include "host_target.h"
#include "vhdx_identify.h"

#define CONVERT_CHUNK (1024u * 1024u) /* [byte] read and written at a time (BENCHMARKS.md 6) */
#define CONVERT_PAGE  4096u            /* [byte] holes of a new file are made at this grain */
#define CONVERT_HEAD  (1024u * 1024u)      /* [byte] zeroed first, written last */

struct convert_job {
	const struct vhdx_cli *cli;
	struct host_disk src;
	struct host_target tgt;
	struct vhdx_sink sink;
	struct host_progress ps;
	uint8_t *buf;
	uint64_t size;             /* [byte] the virtual disk */
	uint64_t head;             /* [byte] min(size, CONVERT_HEAD) */
	uint64_t data_bytes;       /* [byte] stored in the source (DATA extents) */
	bool skip_zeros;           /* the target reads as zeros: holes are left */
	bool head_zeroed;          /* the target's first MiB reads as zeros */
	char mismatch[300];        /* --allow-sector-mismatch: what is written anyway */
	char failure[200];
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* How much of the source is stored (DATA extents): the plan's figure. */
static int count_data(struct convert_job *j)
{
	struct vhdx_extent e;
	uint64_t off = 0;

	while (off < j->size) {
		if (host_disk_map(&j->src, off, j->size - off, &e) < 0)
			return -1;
		if (e.kind == VHDX_EXTENT_DATA)
			j->data_bytes += e.length;
		off += e.length;
	}
	return 0;
}

static void print_plan(struct convert_job *j)
{
	const struct vhdx_cli *cli = j->cli;
	char desc[600], a[32], b[32];

	host_disk_describe(&j->src, desc, sizeof(desc));
	vhdx_size_to_text(j->size, a, sizeof(a));
	printf("plan for %s:\n", cli->target);
	printf("  source         %s: %s\n", cli->source, desc);
	printf("  output         raw disk, %s (%llu bytes)\n", a, (unsigned long long)j->size);
	vhdx_size_to_text(j->data_bytes, b, sizeof(b));
	printf("  data           %s (%llu bytes) stored in the source; the rest reads as zeros\n", b,
	       (unsigned long long)j->data_bytes);
	if (j->tgt.is_block)
		printf("  target         block device of %llu bytes%s\n", (unsigned long long)j->tgt.size,
		       j->skip_zeros ? "; --sparse: zero ranges are skipped, the device must read as zeros there" :
				       "; zero ranges are zeroed on it");
	else if (!j->tgt.exists)
		printf("  target         new file, sparse where the disk reads as zeros\n");
	else
		printf("  target         existing file of %llu bytes%s\n", (unsigned long long)j->tgt.size,
		       j->skip_zeros ? "; --sparse: zero ranges are skipped" : "; zero ranges are zeroed");
	if (j->tgt.found)
		printf("  overwrites     %s (--force)\n", j->tgt.found);
	if (j->mismatch[0])
		printf("  note           %s; written anyway (--allow-sector-mismatch)\n", j->mismatch);
	printf("  order          first MiB zeroed first and written last\n");
	printf("  command        vhdx convert -O raw%s%s%s%s %s %s\n",
	       cli->source_format == VHDX_FORMAT_RAW ? " --source-format raw" : "",
	       cli->sparse ? " --sparse" : "", cli->allow_sector_mismatch ? " --allow-sector-mismatch" : "",
	       cli->force ? " -f" : "", cli->source, cli->target);
	fflush(stdout);
}

/* A device whose sectors are not the ones the image's partition table
 * counts (vhdx_sector_mismatch): refused unless --allow-sector-mismatch.
 * The image's sectors: a VHDX's logical sector, a source device's block;
 * a raw file has none of its own (only a GPT then tells). */
static int refuse_sector_mismatch(struct convert_job *j)
{
	uint8_t head[VHDX_PARTITION_HEAD];
	size_t n = j->size < sizeof(head) ? (size_t)j->size : sizeof(head);
	uint32_t image_sector = 0;

	if (!j->tgt.is_block)
		return VHDX_EXIT_OK;
	if (!j->src.raw)
		image_sector = j->src.levels[0].disk.geom.logical_sector_size;
	else if (j->src.t.is_block_device)
		image_sector = j->src.t.sector_size;
	if (host_disk_read(&j->src, 0, head, n) < 0)
		return VHDX_EXIT_USAGE;
	if (!vhdx_sector_mismatch(head, n, image_sector, j->tgt.sector, j->mismatch, sizeof(j->mismatch)))
		return VHDX_EXIT_OK;
	if (j->cli->allow_sector_mismatch)
		return VHDX_EXIT_OK;
	host_error("%s: %s; refusing to write it (--allow-sector-mismatch writes it anyway)", j->cli->target,
		   j->mismatch);
	return VHDX_EXIT_USAGE;
}

/* Every refusal, before anything is written. */
static int convert_probe(struct convert_job *j)
{
	const struct vhdx_cli *cli = j->cli;
	int st;

	st = host_disk_open(&j->src, cli->source, cli->source_format);
	if (st != VHDX_EXIT_OK)
		return st;
	j->size = j->src.size;
	j->head = j->size < CONVERT_HEAD ? j->size : CONVERT_HEAD;
	st = host_target_probe(&j->tgt, cli->target, cli->dry_run);
	if (st != VHDX_EXIT_OK)
		return st;
	if (j->tgt.exists && host_disk_holds(&j->src, &j->tgt.st)) {
		host_error("%s: is the source %s or one of its parents; refusing to convert onto it",
			   cli->target, cli->source);
		return VHDX_EXIT_USAGE;
	}
	if (j->tgt.is_block && j->tgt.size < j->size) {
		char need[32], have[32];

		vhdx_size_to_text(j->size, need, sizeof(need));
		vhdx_size_to_text(j->tgt.size, have, sizeof(have));
		host_error("%s: too small: the disk needs %s (%llu bytes), the device has %s (%llu bytes)",
			   cli->target, need, (unsigned long long)j->size, have,
			   (unsigned long long)j->tgt.size);
		return VHDX_EXIT_USAGE;
	}
	if (j->tgt.is_block && (j->size % j->tgt.sector) != 0) {
		host_error("%s: the disk's size %llu is not a multiple of the device's %u-byte blocks",
			   cli->target, (unsigned long long)j->size, j->tgt.sector);
		return VHDX_EXIT_USAGE;
	}
	st = refuse_sector_mismatch(j);
	if (st != VHDX_EXIT_OK)
		return st;
	st = host_target_refuse_nonblank(&j->tgt, cli->force);
	if (st != VHDX_EXIT_OK)
		return st;
	j->skip_zeros = !j->tgt.exists || cli->sparse;
	if (count_data(j) < 0)
		return VHDX_EXIT_USAGE;
	if (!cli->quiet)
		print_plan(j);
	return VHDX_EXIT_OK;
}

static int fail_io(struct convert_job *j)
{
	snprintf(j->failure, sizeof(j->failure), "%s failed at offset %llu: %s",
		 j->tgt.t.failed_op ? j->tgt.t.failed_op : "write",
		 (unsigned long long)j->tgt.t.failed_offset, strerror(j->tgt.t.saved_errno));
	return VHDX_EXIT_FAILED;
}

/* [off, off+len) of the target made to read as zeros (not needed when it does already). */
static int zero_range(struct convert_job *j, uint64_t off, uint64_t len)
{
	if (j->skip_zeros || !len)
		return VHDX_EXIT_OK;
	if (j->sink.zero(&j->sink, off, len) != VHDX_OK)
		return fail_io(j);
	return VHDX_EXIT_OK;
}

/* The buffer's runs of non-zero 4 KiB pages written; its zero pages left
 * as they are (a target that reads as zeros: holes of a new file). */
static int write_nonzero(struct convert_job *j, uint64_t off, size_t n)
{
	size_t at = 0, end;

	while (at < n) {
		while (at < n && vhdx_is_zero(j->buf + at, n - at < CONVERT_PAGE ? n - at : CONVERT_PAGE))
			at += CONVERT_PAGE;
		for (end = at; end < n; end += CONVERT_PAGE)
			if (vhdx_is_zero(j->buf + end, n - end < CONVERT_PAGE ? n - end : CONVERT_PAGE))
				break;
		if (end > n)
			end = n;
		if (end > at && j->sink.write(&j->sink, off + at, j->buf + at, end - at) != VHDX_OK)
			return fail_io(j);
		at = end;
	}
	return VHDX_EXIT_OK;
}

/* [off, off+len) of the disk copied to the target, zeros left as holes when it reads as zeros. */
static int copy_range(struct convert_job *j, uint64_t off, uint64_t len, uint64_t *done)
{
	while (len) {
		size_t n = len < CONVERT_CHUNK ? (size_t)len : CONVERT_CHUNK;

		if (host_interrupted) {
			snprintf(j->failure, sizeof(j->failure), "interrupted");
			return VHDX_EXIT_FAILED;
		}
		if (host_disk_read(&j->src, off, j->buf, n) < 0) {
			snprintf(j->failure, sizeof(j->failure), "reading the source failed (see above)");
			return VHDX_EXIT_FAILED;
		}
		if (vhdx_is_zero(j->buf, n)) {
			if (zero_range(j, off, n) != VHDX_EXIT_OK)
				return VHDX_EXIT_FAILED;
		} else if (!j->skip_zeros) {
			if (j->sink.write(&j->sink, off, j->buf, n) != VHDX_OK)
				return fail_io(j);
		} else if (write_nonzero(j, off, n) != VHDX_EXIT_OK) {
			return VHDX_EXIT_FAILED;
		}
		off += n;
		len -= n;
		*done += n;
		host_progress(&j->ps, *done, j->size);
	}
	return VHDX_EXIT_OK;
}

static int convert_write(struct convert_job *j)
{
	uint64_t off, done = 0;
	struct vhdx_extent e;
	int st;

	if (host_target_create(&j->tgt) != VHDX_EXIT_OK)
		return VHDX_EXIT_USAGE;
	j->tgt.t.is_block_device = j->tgt.is_block;
	j->tgt.t.size = j->tgt.size;
	j->tgt.t.sector_size = j->tgt.sector;
	posix_sink_init(&j->sink, &j->tgt.t);
	host_progress_start(&j->ps, j->cli->quiet);
	host_signals_catch();
	j->buf = aligned_alloc(4096, CONVERT_CHUNK);
	if (!j->buf) {
		host_error("out of memory");
		return VHDX_EXIT_FAILED;
	}
	if (host_interrupted) {
		snprintf(j->failure, sizeof(j->failure), "interrupted");
		return VHDX_EXIT_FAILED;
	}
	/* a new file has the disk's size from the start, all holes */
	if (j->tgt.t.fresh && ftruncate(j->tgt.t.fd, (off_t)j->size) < 0) {
		j->tgt.t.saved_errno = errno;
		j->tgt.t.failed_op = "truncate";
		return fail_io(j);
	}
	/* 1. the first MiB zeroed and flushed before anything else */
	if (!j->tgt.t.fresh) {
		memset(j->buf, 0, (size_t)j->head);
		if (j->sink.write(&j->sink, 0, j->buf, (size_t)j->head) != VHDX_OK ||
		    j->sink.flush(&j->sink) != VHDX_OK)
			return fail_io(j);
	}
	j->head_zeroed = true;
	/* 2. the rest, extent by extent */
	for (off = j->head; off < j->size; off += e.length) {
		if (host_disk_map(&j->src, off, j->size - off, &e) < 0) {
			snprintf(j->failure, sizeof(j->failure), "reading the source failed (see above)");
			return VHDX_EXIT_FAILED;
		}
		if (e.kind == VHDX_EXTENT_ZERO) {
			st = zero_range(j, off, e.length);
			done += e.length;
			if (host_progress(&j->ps, done, j->size)) {
				snprintf(j->failure, sizeof(j->failure), "interrupted");
				return VHDX_EXIT_FAILED;
			}
		} else {
			st = copy_range(j, off, e.length, &done);
		}
		if (st != VHDX_EXIT_OK)
			return st;
	}
	/* an existing file longer than the disk ends where the disk ends */
	if (!j->tgt.is_block && !j->tgt.t.fresh && j->tgt.size != j->size &&
	    ftruncate(j->tgt.t.fd, (off_t)j->size) < 0) {
		j->tgt.t.saved_errno = errno;
		j->tgt.t.failed_op = "truncate";
		return fail_io(j);
	}
	if (j->sink.flush(&j->sink) != VHDX_OK)
		return fail_io(j);
	/* 3. the first MiB last: from here on the target may look partitioned */
	if (host_interrupted) {
		snprintf(j->failure, sizeof(j->failure), "interrupted");
		return VHDX_EXIT_FAILED;
	}
	if (host_disk_read(&j->src, 0, j->buf, (size_t)j->head) < 0) {
		snprintf(j->failure, sizeof(j->failure), "reading the source failed (see above)");
		return VHDX_EXIT_FAILED;
	}
	if (!(j->tgt.t.fresh && vhdx_is_zero(j->buf, (size_t)j->head)) &&
	    j->sink.write(&j->sink, 0, j->buf, (size_t)j->head) != VHDX_OK)
		return fail_io(j);
	if (j->sink.flush(&j->sink) != VHDX_OK)
		return fail_io(j);
	host_progress(&j->ps, j->size, j->size);
	if (close(j->tgt.t.fd) < 0) {
		snprintf(j->failure, sizeof(j->failure), "close failed: %s", strerror(errno));
		j->tgt.t.fd = -1;
		return VHDX_EXIT_FAILED;
	}
	j->tgt.t.fd = -1;
	if (!j->cli->quiet)
		printf("converted %s to %s\n", j->cli->source, j->cli->target);
	return VHDX_EXIT_OK;
}

/* The one way out: what failed and what the target holds now. */
static int convert_release(struct convert_job *j, int rc)
{
	const char *target = j->cli->target;

	free(j->buf);
	if (j->tgt.t.fd >= 0)
		close(j->tgt.t.fd);
	if (rc != VHDX_EXIT_OK && j->tgt.t.fresh) {
		host_target_remove_created(&j->tgt, j->failure);
	} else if (rc != VHDX_EXIT_OK && j->failure[0]) {
		if (j->head_zeroed) {
			host_error("%s: %s; its first MiB is zero (no partition table), the rest is partly "
				   "written",
				   target, j->failure);
		} else {
			host_error("%s: %s; target left as the failure found it", target, j->failure);
		}
	}
	host_disk_close(&j->src);
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
	if (cli->output_format == VHDX_FORMAT_VHDX ||
	    (cli->output_format == VHDX_FORMAT_AUTO &&
	     (ends_with(cli->target, ".vhdx") || ends_with(cli->target, ".avhdx"))))
		return host_convert_vhdx(cli);
	if (cli->type_given || cli->block_size_given || cli->logical_sector_given || cli->physical_sector_given ||
	    cli->params.log_size || cli->params.creator) {
		host_error("convert: -t, -b, the sector sizes, --log-size and --creator describe a VHDX; "
			   "the output here is raw (give -O vhdx or a *.vhdx TARGET)");
		return VHDX_EXIT_USAGE;
	}
	rc = convert_probe(&j);
	if (rc == VHDX_EXIT_OK && cli->dry_run) {
		if (!cli->quiet)
			puts("dry run: nothing written");
	} else if (rc == VHDX_EXIT_OK) {
		rc = convert_write(&j);
	}
	return convert_release(&j, rc);
}
