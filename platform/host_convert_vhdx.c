/* SPDX-License-Identifier: MIT */
/*
 * host_convert_vhdx.c - `vhdx convert -O vhdx SOURCE TARGET`: capture a raw
 * file or device, flatten a chain, compact or re-block an image, or turn
 * it fixed.  The core's writer (vhdx_image_write_from) does the work: the
 * layout of `create`, blocks that read as zeros not stored (dynamic), the
 * signature written last.
 *
 * Defaults: a VHDX source's own block size and sector sizes; a raw
 * source gets create's, with a block device's own logical sector size
 * (4096 on a 4Kn disk: its partition table counts 4096-byte sectors).
 * A new logical sector size for a VHDX source is refused without --force:
 * the partition table inside counts in sectors and would no longer match.
 * The output type is dynamic unless -t fixed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_disk.h"
#include "host_target.h"
#include "vhdx_describe.h"

#define FILL_WINDOW (1024u * 1024u) /* [byte] read, tested and written at a time */

struct to_vhdx_job {
	const struct vhdx_cli *cli;
	struct host_disk src;
	struct host_target tgt;
	struct vhdx_params params;
	struct vhdx_plan plan;
	struct vhdx_reader reader;
	struct host_progress ps;
	uint64_t max_blocks;        /* upper bound of blocks stored */
	uint64_t max_size;          /* [byte] upper bound of the file */
	uint8_t *scratch;           /* FILL_WINDOW + a BAT page */
	uint8_t *page;              /* a raw source's bounce page */
	char failure[200];
};

/* The plan's layout lines from the core; payload, size and command are convert's own. */
static void print_layout_line(void *ctx, const char *text)
{
	static const char *const own[] = { "  BAT ", "  payload ", "  image size ", "  command " };
	size_t i;

	(void)ctx;
	if (strncmp(text, "plan for ", 9) == 0)
		return;
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strncmp(text, own[i], strlen(own[i])) == 0)
			return;
	puts(text);
}

static void print_plan(struct to_vhdx_job *j)
{
	const struct vhdx_cli *cli = j->cli;
	const struct vhdx_plan *pl = &j->plan;
	bool fixed = pl->params.type == VHDX_TYPE_FIXED;
	char desc[600], a[32], b[32], c[32];

	host_disk_describe(&j->src, desc, sizeof(desc));
	printf("plan for %s:\n", cli->target);
	printf("  source         %s: %s\n", cli->source, desc);
	printf("  output         VHDX\n");
	vhdx_plan_print_ex(pl, cli->target, NULL, print_layout_line, NULL);
	if (j->src.size < pl->geom.virtual_size)
		printf("  note           the source's %llu bytes are padded with zeros to whole %u-byte sectors\n",
		       (unsigned long long)j->src.size, pl->params.logical_sector_size);
	vhdx_size_to_text(pl->bat_length, a, sizeof(a));
	vhdx_size_to_text(pl->bat_offset, b, sizeof(b));
	vhdx_size_to_text(pl->data_offset, c, sizeof(c));
	if (fixed) {
		printf("  BAT            %s at %s (%llu entries, FULLY_PRESENT)\n", a, b,
		       (unsigned long long)pl->geom.bat_entries);
		vhdx_size_to_text(pl->geom.payload_blocks << pl->geom.block_shift, a, sizeof(a));
		printf("  payload        %s at %s: every block stored, zeros written where the source reads as zeros\n",
		       a, c);
		vhdx_size_to_text(pl->file_size, a, sizeof(a));
		printf("  image size     %s (%llu bytes)\n", a, (unsigned long long)pl->file_size);
	} else {
		printf("  BAT            %s at %s (%llu entries: ZERO for a block that reads as zeros, "
		       "FULLY_PRESENT for the others)\n", a, b, (unsigned long long)pl->geom.bat_entries);
		printf("  payload        at most %llu of %llu blocks stored, from %s in virtual order "
		       "(blocks with data in the source; all-zero blocks take no space)\n",
		       (unsigned long long)j->max_blocks, (unsigned long long)pl->geom.payload_blocks, c);
		vhdx_size_to_text(j->max_size, a, sizeof(a));
		printf("  image size     at most %s (%llu bytes)\n", a, (unsigned long long)j->max_size);
	}
	if (j->tgt.is_block)
		printf("  target         block device of %llu bytes%s\n", (unsigned long long)j->tgt.size,
		       j->max_size > j->tgt.size ? "; the image may not fit: writing stops with an error if it does not" :
						   "");
	else if (!j->tgt.exists)
		printf("  target         new file\n");
	else
		printf("  target         existing file of %llu bytes\n", (unsigned long long)j->tgt.size);
	if (j->tgt.found)
		printf("  overwrites     %s (--force)\n", j->tgt.found);
	printf("  order          blocks and BAT, then metadata and headers; the signature last\n");
	{
		struct vhdx_text t;

		vhdx_text_init(&t, a, sizeof(a));
		vhdx_text_size_arg(&t, pl->params.block_size);
		vhdx_text_init(&t, b, sizeof(b));
		vhdx_text_size_arg(&t, pl->params.log_size);
	}
	printf("  command        vhdx convert -O vhdx -t %s -b %s --logical-sector-size %u --physical-sector-size %u "
	       "--log-size %s%s%s %s %s\n",
	       fixed ? "fixed" : "dynamic", a, pl->params.logical_sector_size, pl->params.physical_sector_size, b,
	       cli->source_format == VHDX_FORMAT_RAW ? " --source-format raw" : "", cli->force ? " -f" : "",
	       cli->source, cli->target);
	fflush(stdout);
}

/* The image's parameters: given, else the source VHDX's, else create's defaults. */
static int to_vhdx_params(struct to_vhdx_job *j)
{
	const struct vhdx_cli *cli = j->cli;
	struct vhdx_params *p = &j->params;
	const struct vhdx_disk *disk = j->src.raw ? NULL : &j->src.levels[0].disk;
	uint32_t lss;
	char why[512];
	int err;

	*p = cli->params;
	p->type = cli->type_given ? cli->params.type : VHDX_TYPE_DYNAMIC;
	if (disk) {
		if (!cli->block_size_given)
			p->block_size = disk->geom.block_size;
		if (!cli->physical_sector_given)
			p->physical_sector_size = disk->physical_sector_size;
		lss = disk->geom.logical_sector_size;
		if (!cli->logical_sector_given) {
			p->logical_sector_size = lss;
		} else if (p->logical_sector_size != lss && !cli->force) {
			host_error("convert: --logical-sector-size %u: %s has %u-byte logical sectors, and the partition "
				   "table inside counts in them: the disk would not read the same (-f to do it anyway)",
				   p->logical_sector_size, cli->source, lss);
			return VHDX_EXIT_USAGE;
		}
	} else if (!cli->logical_sector_given && j->src.t.is_block_device && j->src.t.sector_size == 4096) {
		p->logical_sector_size = 4096;
	}
	if (!j->src.size) {
		host_error("%s: empty: a VHDX holds at least one sector", cli->source);
		return VHDX_EXIT_USAGE;
	}
	lss = p->logical_sector_size ? p->logical_sector_size : VHDX_DEFAULT_LOGICAL_SECTOR;
	p->virtual_size = (j->src.size + lss - 1) / lss * lss;
	err = vhdx_plan_init(&j->plan, p, why, sizeof(why));
	if (err) {
		host_error("convert: %s", why);
		return VHDX_EXIT_USAGE;
	}
	return VHDX_EXIT_OK;
}

/* Every refusal, before anything is written; the plan printed. */
static int to_vhdx_probe(struct to_vhdx_job *j)
{
	const struct vhdx_cli *cli = j->cli;
	int st;

	st = host_disk_open(&j->src, cli->source, cli->source_format);
	if (st != VHDX_EXIT_OK)
		return st;
	st = to_vhdx_params(j);
	if (st != VHDX_EXIT_OK)
		return st;
	st = host_target_probe(&j->tgt, cli->target, cli->dry_run);
	if (st != VHDX_EXIT_OK)
		return st;
	if (j->tgt.exists && host_disk_holds(&j->src, &j->tgt.st)) {
		host_error("%s: is the source %s or one of its parents; refusing to convert onto it",
			   cli->target, cli->source);
		return VHDX_EXIT_USAGE;
	}
	j->page = aligned_alloc(VHDX_READER_PAGE, VHDX_READER_PAGE);
	if (!j->page) {
		host_error("out of memory");
		return VHDX_EXIT_USAGE;
	}
	host_disk_reader(&j->src, &j->reader, j->page);
	if (j->plan.params.type == VHDX_TYPE_FIXED) {
		j->max_blocks = j->plan.geom.payload_blocks;
		j->max_size = j->plan.file_size;
	} else {
		int err = vhdx_fill_estimate(&j->plan, &j->reader, &j->max_blocks);

		if (err) {
			/* a raw source's map said why already (host_disk_map) */
			if (!j->src.raw)
				host_error("%s: reading its allocation failed: %s", cli->source,
					   err == VHDX_ERR_IO ? strerror(j->src.t.saved_errno ? j->src.t.saved_errno : EIO) :
								vhdx_strerror(err));
			return VHDX_EXIT_USAGE;
		}
		j->max_size = j->plan.data_offset + (j->max_blocks << j->plan.geom.block_shift);
	}
	if (j->tgt.is_block) {
		uint64_t need = j->plan.params.type == VHDX_TYPE_FIXED ? j->plan.file_size : j->plan.data_offset;

		if (need > j->tgt.size) {
			char n[32], h[32];

			vhdx_size_to_text(need, n, sizeof(n));
			vhdx_size_to_text(j->tgt.size, h, sizeof(h));
			host_error("%s: too small: the image needs %s%s (%llu bytes), the device has %s (%llu bytes)",
				   cli->target, j->plan.params.type == VHDX_TYPE_FIXED ? "" : "at least ", n,
				   (unsigned long long)need, h, (unsigned long long)j->tgt.size);
			return VHDX_EXIT_USAGE;
		}
	}
	st = host_target_refuse_nonblank(&j->tgt, cli->force);
	if (st != VHDX_EXIT_OK)
		return st;
	if (!cli->quiet)
		print_plan(j);
	return VHDX_EXIT_OK;
}

static void source_failure(struct to_vhdx_job *j, int err, uint64_t off)
{
	/* a parent's errno is kept by its own descriptor: EIO names it */
	if (err == VHDX_ERR_IO)
		snprintf(j->failure, sizeof(j->failure), "reading %s failed near offset %llu: %s", j->cli->source,
			 (unsigned long long)off, strerror(j->src.t.saved_errno ? j->src.t.saved_errno : EIO));
	else
		snprintf(j->failure, sizeof(j->failure), "reading %s failed near offset %llu: %s", j->cli->source,
			 (unsigned long long)off, vhdx_strerror(err));
}

static int to_vhdx_write(struct to_vhdx_job *j)
{
	struct vhdx_fill_result res;
	struct vhdx_sink sink;
	int err;

	if (host_target_create(&j->tgt) != VHDX_EXIT_OK)
		return VHDX_EXIT_USAGE;
	host_random_guids(&j->plan.params);
	host_target_sink(&j->tgt, &sink, &j->ps, j->cli->quiet);
	j->scratch = aligned_alloc(4096, FILL_WINDOW + 4096);
	if (!j->scratch) {
		host_error("out of memory");
		return VHDX_EXIT_FAILED;
	}
	memset(&res, 0, sizeof(res));
	err = host_interrupted ? VHDX_ERR_ABORTED :
	      vhdx_image_write_from(&j->plan, &sink, &j->reader, j->scratch, FILL_WINDOW + 4096, &res);
	if (!err)
		err = host_target_trim(&j->tgt, res.file_size);
	if (err) {
		if (j->ps.show)
			fputc('\n', stderr);
		if (err != VHDX_ERR_ABORTED && res.source_failed)
			source_failure(j, err, res.failed_offset);
		else if (err == VHDX_ERR_DEVFULL)
			snprintf(j->failure, sizeof(j->failure),
				 "the device is full: block %llu would end past its %llu bytes",
				 (unsigned long long)res.blocks_stored, (unsigned long long)j->tgt.size);
		else
			host_target_failure(&j->tgt, err, j->failure, sizeof(j->failure));
		return VHDX_EXIT_FAILED;
	}
	if (close(j->tgt.t.fd) < 0) {
		snprintf(j->failure, sizeof(j->failure), "close failed: %s", strerror(errno));
		j->tgt.t.fd = -1;
		return VHDX_EXIT_FAILED;
	}
	j->tgt.t.fd = -1;
	if (!j->cli->quiet) {
		char a[32];

		vhdx_size_to_text(res.file_size, a, sizeof(a));
		printf("converted %s to %s: %llu of %llu blocks stored, %s (%llu bytes)\n", j->cli->source,
		       j->cli->target, (unsigned long long)res.blocks_stored,
		       (unsigned long long)j->plan.geom.payload_blocks, a, (unsigned long long)res.file_size);
	}
	return VHDX_EXIT_OK;
}

/* The one way out, as create's: a created file removed, an old target read back. */
static int to_vhdx_release(struct to_vhdx_job *j, int rc)
{
	free(j->scratch);
	free(j->page);
	host_target_release_vhdx(&j->tgt, rc, j->failure);
	host_disk_close(&j->src);
	return rc;
}

int host_convert_vhdx(const struct vhdx_cli *cli)
{
	struct to_vhdx_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.cli = cli;
	j.tgt.t.fd = -1;
	rc = to_vhdx_probe(&j);
	if (rc == VHDX_EXIT_OK && cli->dry_run) {
		if (!cli->quiet)
			puts("dry run: nothing written");
	} else if (rc == VHDX_EXIT_OK) {
		rc = to_vhdx_write(&j);
	}
	return to_vhdx_release(&j, rc);
}
