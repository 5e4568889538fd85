/* SPDX-License-Identifier: MIT */
/*
 * host_create.c - `vhdx create` on a file or a block device.
 *
 * Every check runs before the first write: parameters, the target's kind,
 * whether it is in use, blank, large enough.  A file this run created is
 * removed when the work fails; a target that existed is left as the
 * failure found it, which by the core's write order holds no VHDX
 * signature.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "host_parent.h"
#include "host_target.h"
#include "posix_io.h"
#include "vhdx_describe.h"
#include "vhdx_identify.h"

#define HOST_SCRATCH_SIZE (4u * 1024u * 1024u) /* [byte] see BENCHMARKS.md */

static void print_line(void *ctx, const char *text)
{
	(void)ctx;
	puts(text);
}

/*
 * One create in four steps: params (the parent's, for a child), probe
 * (resolve and inspect the target), plan (size, plan, refusals, print)
 * and write.  The job owns every resource a step takes: the target's fd,
 * the buffer, a file this run created; create_release is the one way out.
 */
struct create_job {
	const struct vhdx_cli *cli;
	const char *target;
	struct vhdx_params params;
	bool size_given;
	bool from_volume_root;      /* a child's relative_path starts at the parent's mount point */
	/* probe: tgt.t.fd is the target (-1: closed), tgt.t.fresh a file this run created */
	struct host_target tgt;
	/* plan */
	struct vhdx_plan plan;
	/* write */
	struct host_progress ps;
	void *scratch;
	char failure[160];          /* what failed once the write began; said by create_release */
};

/* A differencing child takes its parent's parameters, before the target is looked at. */
static int create_params(struct create_job *j)
{
	static struct host_parent parent; /* PATH_MAX buffers: off the stack */
	int err;

	if (j->params.type != VHDX_TYPE_DIFFERENCING)
		return VHDX_EXIT_OK;
	err = host_parent_prepare(j->cli, j->target, &j->params, &parent);
	if (err)
		return err;
	j->size_given = true;
	j->from_volume_root = parent.from_volume_root;
	return VHDX_EXIT_OK;
}

/* The plan for this target, refused when it cannot be written; printed. */
static int create_plan(struct create_job *j)
{
	const struct vhdx_cli *cli = j->cli;
	const char *target = j->target;
	char why[512];
	int err;

	if (!j->size_given) {
		if (!j->tgt.is_block) {
			host_error("create: --size is required unless TARGET is a block device");
			return VHDX_EXIT_USAGE;
		}
		err = vhdx_plan_largest_fixed(&j->plan, &j->params, j->tgt.size, why, sizeof(why));
	} else {
		err = vhdx_plan_init(&j->plan, &j->params, why, sizeof(why));
	}
	if (err) {
		host_error("%s%s%s", err == VHDX_ERR_DEVFULL ? target : "",
			   err == VHDX_ERR_DEVFULL ? ": " : "", why);
		return host_exit_before_write(err);
	}
	if (j->tgt.is_block && j->plan.file_size > j->tgt.size) {
		char need[32], have[32];

		vhdx_size_to_text(j->plan.file_size, need, sizeof(need));
		vhdx_size_to_text(j->tgt.size, have, sizeof(have));
		host_error("%s: too small: the image needs %s (%llu bytes), the device has %s (%llu bytes)",
			   target, need, (unsigned long long)j->plan.file_size, have,
			   (unsigned long long)j->tgt.size);
		return VHDX_EXIT_USAGE;
	}
	if (host_target_refuse_nonblank(&j->tgt, cli->force) != VHDX_EXIT_OK)
		return VHDX_EXIT_USAGE;
	if (!cli->quiet) {
		vhdx_plan_print_ex(&j->plan, target, cli->parent, print_line, NULL);
		if (j->params.type == VHDX_TYPE_DIFFERENCING && j->from_volume_root)
			printf("  note           relative_path starts at the parent volume's root\n");
		if (j->tgt.found)
			printf("  overwrites     %s (--force)\n", j->tgt.found);
		fflush(stdout);
	}
	return VHDX_EXIT_OK;
}

/* The image written to the target, flushed and closed. */
static int create_write(struct create_job *j)
{
	const char *target = j->target;
	struct vhdx_sink sink;
	int err;

	if (host_target_begin(&j->tgt, &j->plan.params, &sink, &j->ps, j->cli->quiet) != VHDX_EXIT_OK)
		return VHDX_EXIT_USAGE;
	j->scratch = aligned_alloc(4096, HOST_SCRATCH_SIZE);
	if (!j->scratch)
		return host_out_of_memory();
	/* a signal before the first write: nothing written, nothing to undo */
	err = host_interrupted ? VHDX_ERR_ABORTED :
	      vhdx_image_write(&j->plan, &sink, j->scratch, HOST_SCRATCH_SIZE);
	if (!err)
		err = host_target_trim(&j->tgt, j->plan.file_size);
	if (err) {
		host_target_failure(&j->tgt, err, j->failure, sizeof(j->failure));
		if (j->ps.show)
			fputc('\n', stderr);
		return VHDX_EXIT_FAILED;
	}
	if (host_target_close(&j->tgt, j->failure, sizeof(j->failure)) != VHDX_EXIT_OK)
		return VHDX_EXIT_FAILED;
	if (!j->cli->quiet)
		printf("created %s\n", target);
	return VHDX_EXIT_OK;
}

/*
 * The one way out: frees the buffer and closes the target.  After a
 * failed write it says what failed and what it left: a file this run
 * created is removed; an old target is read back (reopened when the close
 * was what failed) and its signature taken back if one is left.
 */
static int create_release(struct create_job *j, int rc)
{
	free(j->scratch);
	host_target_release_vhdx(&j->tgt, rc, j->failure);
	return rc;
}

int host_cmd_create(const struct vhdx_cli *cli)
{
	struct create_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.cli = cli;
	j.target = cli->target;
	j.params = cli->params;
	j.size_given = cli->size_given;
	j.tgt.t.fd = -1;
	rc = create_params(&j);
	if (rc == VHDX_EXIT_OK)
		rc = host_target_probe(&j.tgt, j.target, cli->dry_run);
	if (rc == VHDX_EXIT_OK)
		rc = create_plan(&j);
	if (rc == VHDX_EXIT_OK && cli->dry_run) {
		if (!cli->quiet)
			puts("dry run: nothing written");
	} else if (rc == VHDX_EXIT_OK) {
		rc = create_write(&j);
	}
	return create_release(&j, rc);
}
