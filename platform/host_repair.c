/* SPDX-License-Identifier: MIT */
/*
 * host_repair.c - `vhdx repair [-n] TARGET`: replays an image's log in
 * place [2.3.3] through the core (crash safe and idempotent: rerun it
 * after an interruption), or clears a LogGuid that no log entry carries.
 * The image is first checked as it will be after replay (through the
 * core's log view): an error that makes the replay unsafe
 * (vhdx_rule_blocks_replay: the log misplaced, no current header, the file
 * truncated, the log itself) is refused with the checker's finding and
 * nothing is written; any other error is not repair's to fix: the replay
 * runs, then the errors that remain are reported and the exit status is 1
 * (as `check`'s).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "host.h"
#include "host_target.h"
#include "posix_io.h"

#define REPAIR_SCRATCH (1024u * 1024u) /* [byte] */

/* The errors that replay does not fix, all but the pending replay itself:
 * those that make it unsafe and the others (remaining after it). */
struct first_error {
	char unsafe[600];
	unsigned unsafe_count;
	char other[600];
	unsigned other_count;
};

static void keep_first_error(void *ctx, const struct vhdx_finding *f)
{
	struct first_error *fe = ctx;

	if (f->severity != VHDX_SEV_ERROR || f->rule == VHDX_R_LOG_REPLAY)
		return;
	if (vhdx_rule_blocks_replay(f->rule)) {
		if (!fe->unsafe_count++)
			vhdx_finding_to_text(f, fe->unsafe, sizeof(fe->unsafe));
	} else if (!fe->other_count++) {
		vhdx_finding_to_text(f, fe->other, sizeof(fe->other));
	}
}

struct repair_job {
	const struct vhdx_cli *cli;
	struct posix_target t;
	struct vhdx_source src;
	struct vhdx_disk disk;
	struct vhdx_log log;
	struct vhdx_log_view *view;
	void *log_index;        /* the view's (vhdx_log_view_index), or NULL */
	struct vhdx_info *info;
	struct first_error fe;
	void *scratch;
};

/* Everything that can refuse, before the first write. */
static int repair_probe(struct repair_job *j)
{
	const char *target = j->cli->target;
	char why[VHDX_WHY_SIZE];
	struct first_error *fe = &j->fe;
	int flags = j->cli->dry_run ? O_RDONLY : O_RDWR, err;
	const char *what;
	struct stat st;

	if (stat(target, &st) == 0 && S_ISBLK(st.st_mode))
		flags |= O_EXCL;
	j->t.fd = posix_open_disk(target, flags, &what);
	if (j->t.fd < 0 && what) {
		host_error("%s: not a regular file or block device: %s", target, what);
		return VHDX_EXIT_USAGE;
	}
	if (j->t.fd < 0) {
		host_error("%s: cannot open%s: %s%s", target, j->cli->dry_run ? "" : " for writing",
			   strerror(errno), errno == EBUSY ? " (mounted or in use; refusing)" : "");
		return VHDX_EXIT_USAGE;
	}
	if (posix_source_init(&j->src, &j->t, j->t.fd) < 0) {
		host_error("%s: not a regular file or a block device: %s", target, strerror(errno));
		return VHDX_EXIT_USAGE;
	}
	j->scratch = malloc(REPAIR_SCRATCH);
	j->info = malloc(sizeof(*j->info));
	j->view = malloc(sizeof(*j->view));
	if (!j->scratch || !j->info || !j->view) {
		return host_out_of_memory();
	}
	why[0] = '\0';
	err = vhdx_disk_open(&j->disk, &j->src, j->scratch, REPAIR_SCRATCH, why, sizeof(why));
	if (!err)
		err = vhdx_log_find(&j->log, &j->disk, &j->src, j->scratch, REPAIR_SCRATCH, why, sizeof(why));
	if (err) {
		if (err == VHDX_ERR_IO)
			host_error("%s: read failed at offset %llu: %s", target,
				   (unsigned long long)j->t.failed_offset, strerror(j->t.saved_errno));
		else
			host_error("%s: cannot repair: %s", target, why[0] ? why : vhdx_strerror(err));
		return host_exit_before_write(err);
	}
	/* the image as it will be after replay: what makes replay unsafe refuses */
	if (j->log.active) {
		vhdx_log_view_init(j->view, &j->log, &j->src);
		j->log_index = malloc(vhdx_log_view_index_size(j->view));
		/* without it, the check below walks the log on every read */
		if (j->log_index && vhdx_log_view_index(j->view, j->log_index, vhdx_log_view_index_size(j->view))) {
			free(j->log_index);
			j->log_index = NULL;
		}
	}
	memset(fe, 0, sizeof(*fe));
	err = vhdx_check(j->log.active ? &j->view->source : &j->src, j->scratch, REPAIR_SCRATCH, j->info,
			 keep_first_error, fe);
	if (err) {
		host_error("%s: read failed: %s", target, vhdx_strerror(err));
		return host_exit_before_write(err);
	}
	if (fe->unsafe_count) {
		host_error("%s: cannot repair: replaying the log is unsafe: %s", target, fe->unsafe);
		return VHDX_EXIT_USAGE;
	}
	if (j->t.is_block_device) {
		int ro = 0;

		if (ioctl(j->t.fd, BLKROGET, &ro) == 0 && ro && !j->cli->dry_run) {
			host_error("%s: read-only device; refusing", target);
			return VHDX_EXIT_USAGE;
		}
	}
	return VHDX_EXIT_OK;
}

static void print_stats(const struct repair_job *j, const struct vhdx_replay_stats *s, bool done)
{
	const char *target = j->cli->target;

	if (j->log.active) {
		printf("%s %s: %u log entr%s (sequence %llu..%llu): %llu data sectors of 4 KiB, %llu bytes "
		       "zeroed",
		       done ? "replayed the log of" : "would replay the log of", target, j->log.entries,
		       j->log.entries == 1 ? "y" : "ies", (unsigned long long)j->log.tail_sequence,
		       (unsigned long long)j->log.head_sequence, (unsigned long long)s->data_sectors,
		       (unsigned long long)s->zeroed);
		if (s->extended_to)
			printf(", file extended to %llu bytes", (unsigned long long)s->extended_to);
		printf("; %s %u header cop%s with LogGuid zero\n", done ? "wrote" : "then", s->headers,
		       s->headers == 1 ? "y" : "ies");
	} else if (s->guid_unused) {
		printf("%s %s: no log entry carries its LogGuid (nothing was logged under it); %s %u header "
		       "cop%s with LogGuid zero\n",
		       done ? "cleared the LogGuid of" : "would clear the LogGuid of", target,
		       done ? "wrote" : "then", s->headers, s->headers == 1 ? "y" : "ies");
	} else if (s->headers) {
		printf("%s %s: the log was replayed by an interrupted run; %s the other header\n",
		       done ? "finished" : "would finish", target, done ? "wrote" : "would write");
	} else {
		printf("%s: nothing to repair: the log is empty%s\n", target,
		       j->info->type == VHDX_TYPE_DIFFERENCING ?
			       " (its parent chain is not repair's: vhdx check looks at it)" : "");
	}
}

/* After the replay (or with nothing to replay): what repair does not fix.
 * A differencing image's parent chain is `check`'s, not looked at here. */
static int report_remaining(const struct repair_job *j, bool dry_run)
{
	const struct first_error *fe = &j->fe;

	if (!fe->other_count)
		return VHDX_EXIT_OK;
	host_error("%s: %u error%s that repair does not fix (see vhdx check %s); the first: %s", j->cli->target,
		   fe->other_count, dry_run ? (fe->other_count == 1 ? " would remain" : "s would remain") :
					      (fe->other_count == 1 ? " remains" : "s remain"),
		   j->cli->target, fe->other);
	return VHDX_EXIT_FAILED;
}

static int repair_write(struct repair_job *j, bool dry_run)
{
	struct vhdx_replay_stats stats;
	struct vhdx_guid fwg;
	struct vhdx_sink sink;
	char why[VHDX_WHY_SIZE];
	int err;

	memset(&stats, 0, sizeof(stats));
	if (posix_random(fwg.bytes, sizeof(fwg.bytes)) < 0)
		abort(); /* getrandom cannot fail with flags 0 on Linux >= 3.17 */
	vhdx_guid_make_v4(&fwg);
	posix_sink_init(&sink, &j->t);
	why[0] = '\0';
	err = vhdx_log_replay(&j->disk, &j->src, &sink, &fwg, dry_run, j->scratch, REPAIR_SCRATCH, &stats,
			      why, sizeof(why));
	if (err) {
		if (err == VHDX_ERR_IO)
			host_error("%s: %s failed at offset %llu: %s; run vhdx repair again to finish "
				   "(replay is idempotent)",
				   j->cli->target, j->t.failed_op ? j->t.failed_op : "write",
				   (unsigned long long)j->t.failed_offset, strerror(j->t.saved_errno));
		else
			host_error("%s: cannot repair: %s", j->cli->target, why[0] ? why : vhdx_strerror(err));
		/* only an I/O error comes after the replay's first write */
		return err == VHDX_ERR_IO ? host_exit_of(err) : host_exit_before_write(err);
	}
	if (!j->cli->quiet || dry_run)
		print_stats(j, &stats, !dry_run);
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return report_remaining(j, dry_run);
}

int host_cmd_repair(const struct vhdx_cli *cli)
{
	struct repair_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.cli = cli;
	j.t.fd = -1;
	if (!cli->target) {
		host_error("repair: TARGET missing");
		return VHDX_EXIT_USAGE;
	}
	rc = repair_probe(&j);
	if (rc == VHDX_EXIT_OK)
		rc = repair_write(&j, cli->dry_run);
	if (j.t.fd >= 0 && close(j.t.fd) < 0 && rc == VHDX_EXIT_OK && !cli->dry_run) {
		host_error("%s: close failed: %s", cli->target, strerror(errno));
		rc = VHDX_EXIT_FAILED;
	}
	free(j.scratch);
	free(j.info);
	free(j.view);
	free(j.log_index);
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return rc;
}
