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
#include "posix_io.h"
#include "vhdx_describe.h"
#include "vhdx_identify.h"

#define HOST_SCRATCH_SIZE (4u * 1024u * 1024u) /* [byte] see BENCHMARKS.md */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct progress_state {
	bool show;
	double start, last;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_progress(const struct vhdx_sink *s, uint64_t done, uint64_t total)
{
	struct posix_target *t = s->ctx;
	struct progress_state *ps = t->user;
	double now, rate;
	char d[32], tot[32];

	if (interrupted)
		return 1;
	if (!ps->show)
		return 0;
	now = now_seconds();
	if (now - ps->last < 0.25 && done < total)
		return 0;
	ps->last = now;
	rate = done / (now - ps->start + 1e-9);
	snprintf(d, sizeof(d), "%.1f GiB", done / 1073741824.0);
	snprintf(tot, sizeof(tot), "%.1f GiB", total / 1073741824.0);
	fprintf(stderr, "\rwriting %3u%%  %s of %s  %.0f MiB/s  %.0f s left   ",
		(unsigned)(total ? done * 100 / total : 100), d, tot, rate / 1048576.0,
		rate > 0 ? (total - done) / rate : 0.0);
	if (done >= total)
		fputc('\n', stderr);
	return 0;
}

static void print_line(void *ctx, const char *text)
{
	(void)ctx;
	puts(text);
}

/* Reads up to len bytes at off; short only at the end of the target. */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* What the target holds: NULL if blank.  *ret_err set on a read error. */
static const char *inspect(int fd, uint64_t size, int *ret_err)
{
	static uint8_t head[VHDX_IDENTIFY_SPAN], tail[VHDX_IDENTIFY_SPAN];
	size_t head_len = size < sizeof(head) ? (size_t)size : sizeof(head);
	size_t tail_len = size < sizeof(tail) ? (size_t)size : sizeof(tail);
	ssize_t h, t;

	*ret_err = 0;
	h = read_at(fd, head, head_len, 0);
	t = read_at(fd, tail, tail_len, size - tail_len);
	if (h < 0 || t < 0) {
		*ret_err = errno;
		return NULL;
	}
	return vhdx_identify(head, (size_t)h, tail, (size_t)t);
}

/*
 * Makes [0, 4096) read as zeros, the File Type Identifier's slot: a write
 * (the core's own take-back may have failed on a full disk), else punching
 * a hole in a file (frees space) or BLKZEROOUT on a device.
 */
static bool clear_signature(const struct posix_target *t)
{
	static const uint8_t zeros[4096];
	ssize_t n;

	do
		n = pwrite(t->fd, zeros, sizeof(zeros), 0);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(zeros) && fdatasync(t->fd) == 0)
		return true;
	if (t->is_block_device) {
		uint64_t range[2] = { 0, sizeof(zeros) };

		return ioctl(t->fd, BLKZEROOUT, range) == 0 && fdatasync(t->fd) == 0;
	}
	return fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, sizeof(zeros)) == 0 &&
	       fdatasync(t->fd) == 0;
}

/*
 * What a target that existed holds after a failed creation, for the
 * message.  The core's write order leaves no signature once its first
 * write landed, and takes the signature back when the very last write or
 * flush fails; this reads the target back to say so truthfully, and clears
 * the signature when that take-back (or a later truncate) left one.
 */
static const char *left_behind(struct posix_target *t)
{
	uint8_t sig[8];

	if (read_at(t->fd, sig, sizeof(sig), 0) != (ssize_t)sizeof(sig))
		return "its first bytes could not be read back";
	if (memcmp(sig, "vhdxfile", 8) != 0)
		return "no VHDX signature";
	if (!t->bytes_written && !t->bytes_zeroed)
		return "nothing was written: it still holds its old VHDX image";
	if (clear_signature(t))
		return "VHDX signature taken back: no VHDX signature";
	return "the VHDX signature could not be taken back: it may still look like a VHDX";
}

/*
 * The kernel's pseudo filesystems hold regular files that are not storage
 * (/proc, /sys, efivarfs: writing there can change the machine), often of
 * size 0, which would pass as an empty file.  Their name, or NULL.
 */
static const char *pseudo_fs(const char *path)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} fs[] = {
		{ 0x9fa0, "proc" }, { 0x62656572, "sysfs" }, { 0x64626720, "debugfs" },
		{ 0x74726163, "tracefs" }, { 0x73636673, "securityfs" }, { 0x27e0eb, "cgroup" },
		{ 0x63677270, "cgroup2" }, { 0xde5e81e4, "efivarfs" }, { 0x6165676c, "pstore" },
		{ 0x62656570, "configfs" }, { 0xcafe4a11, "bpf" },
	};
	struct statfs sf;
	size_t i;

	if (statfs(path, &sf) < 0)
		return NULL;
	for (i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if ((unsigned long)sf.f_type == fs[i].magic)
			return fs[i].name;
	return NULL;
}

static void random_guids(struct vhdx_params *p)
{
	struct vhdx_guid *g[] = { &p->file_write_guid, &p->data_write_guid, &p->page83 };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (posix_random(g[i]->bytes, 16) < 0) {
			/* getrandom cannot fail with flags 0 on Linux >= 3.17 */
			abort();
		}
		vhdx_guid_make_v4(g[i]);
	}
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
	/* probe */
	bool exists, is_block;
	uint64_t size;              /* [byte] of the device, or of the existing file */
	uint32_t sector;            /* [byte] the device's logical block size */
	const char *found;          /* what the target holds; NULL: blank */
	/* plan */
	struct vhdx_plan plan;
	/* write: t.fd is the target (-1: closed), t.fresh a file this run created */
	struct posix_target t;
	struct progress_state ps;
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

/* What the target is and holds; an existing one is opened (j->t.fd). */
static int create_probe(struct create_job *j)
{
	const char *target = j->target;
	struct stat st;
	int read_err;

	j->exists = stat(target, &st) == 0;
	if (!j->exists && errno != ENOENT) {
		host_error("%s: %s", target, strerror(errno));
		return VHDX_EXIT_USAGE;
	}
	if (j->exists && S_ISDIR(st.st_mode)) {
		host_error("%s: is a directory; TARGET must be a file or a block device", target);
		return VHDX_EXIT_USAGE;
	}
	if (j->exists && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		host_error("%s: not a regular file or a block device", target);
		return VHDX_EXIT_USAGE;
	}
	if (j->exists && S_ISREG(st.st_mode) && (j->found = pseudo_fs(target))) {
		host_error("%s: a file of the %s pseudo filesystem, not storage; refusing", target,
			   j->found);
		return VHDX_EXIT_USAGE;
	}
	if (j->exists) {
		/* O_EXCL on a block device fails with EBUSY when it is mounted
		 * or otherwise held open exclusively (Linux open(2)). */
		int flags = (j->cli->dry_run ? O_RDONLY : O_RDWR) | O_CLOEXEC;

		if (S_ISBLK(st.st_mode))
			flags |= O_EXCL;
		j->t.fd = open(target, flags);
		if (j->t.fd < 0) {
			host_error("%s: %s%s", target, strerror(errno),
				   errno == EBUSY ? " (mounted or in use; refusing)" : "");
			return VHDX_EXIT_USAGE;
		}
		if (posix_probe_fd(j->t.fd, &j->is_block, &j->size, &j->sector) < 0) {
			host_error("%s: cannot read its size: %s", target, strerror(errno));
			return VHDX_EXIT_USAGE;
		}
		if (j->is_block) {
			/* Linux opens a read-only device for writing; the
			 * writes fail later (EPERM): refuse it now */
			int ro = 0;

			if (ioctl(j->t.fd, BLKROGET, &ro) == 0 && ro) {
				host_error("%s: read-only device; refusing", target);
				return VHDX_EXIT_USAGE;
			}
		}
		if (j->size) {
			j->found = inspect(j->t.fd, j->size, &read_err);
			if (read_err) {
				host_error("%s: cannot read it: %s", target, strerror(read_err));
				return VHDX_EXIT_USAGE;
			}
		}
	}
	if (!j->exists) {
		/* the folder must take a new file: refuse now, not after the plan */
		char dir[PATH_MAX];
		const char *slash = strrchr(target, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - target) + 1 : 1,
			 slash ? target : ".");
		if (access(dir, W_OK | X_OK) < 0) {
			host_error("%s: cannot create it: %s: %s", target, dir, strerror(errno));
			return VHDX_EXIT_USAGE;
		}
	}
	if (j->is_block && j->sector > 4096) {
		host_error("%s: logical block size %u is larger than 4096 bytes: unsupported", target,
			   j->sector);
		return VHDX_EXIT_USAGE;
	}
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
		if (!j->is_block) {
			host_error("create: --size is required unless TARGET is a block device");
			return VHDX_EXIT_USAGE;
		}
		err = vhdx_plan_largest_fixed(&j->plan, &j->params, j->size, why, sizeof(why));
	} else {
		err = vhdx_plan_init(&j->plan, &j->params, why, sizeof(why));
	}
	if (err) {
		host_error("%s%s%s", err == VHDX_ERR_DEVFULL ? target : "",
			   err == VHDX_ERR_DEVFULL ? ": " : "", why);
		return VHDX_EXIT_USAGE;
	}
	if (j->is_block && j->plan.file_size > j->size) {
		char need[32], have[32];

		vhdx_size_to_text(j->plan.file_size, need, sizeof(need));
		vhdx_size_to_text(j->size, have, sizeof(have));
		host_error("%s: too small: the image needs %s (%llu bytes), the device has %s (%llu bytes)",
			   target, need, (unsigned long long)j->plan.file_size, have,
			   (unsigned long long)j->size);
		return VHDX_EXIT_USAGE;
	}
	/* a blank device (first and last MiB zero) needs no --force; a
	 * non-empty file always does */
	if (!cli->force && (j->found || (!j->is_block && j->size))) {
		if (j->found)
			host_error("%s holds %s; refusing to overwrite it without --force", target,
				   j->found);
		else
			host_error("%s: existing file of %llu bytes; refusing to overwrite it without --force",
				   target, (unsigned long long)j->size);
		return VHDX_EXIT_USAGE;
	}
	if (!cli->quiet) {
		vhdx_plan_print_ex(&j->plan, target, cli->parent, print_line, NULL);
		if (j->params.type == VHDX_TYPE_DIFFERENCING && j->from_volume_root)
			printf("  note           relative_path starts at the parent volume's root\n");
		if (j->found)
			printf("  overwrites     %s (--force)\n", j->found);
		fflush(stdout);
	}
	return VHDX_EXIT_OK;
}

/* The image written to the target, flushed and closed. */
static int create_write(struct create_job *j)
{
	const char *target = j->target;
	struct vhdx_sink sink;
	struct sigaction sa;
	int err;

	if (!j->exists) {
		j->t.fd = open(target, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (j->t.fd < 0) {
			host_error("%s: cannot create: %s", target, strerror(errno));
			return VHDX_EXIT_USAGE;
		}
		j->t.fresh = true;
	}
	j->t.is_block_device = j->is_block;
	j->t.size = j->size;
	j->t.sector_size = j->sector;
	random_guids(&j->params);
	j->plan.params.file_write_guid = j->params.file_write_guid;
	j->plan.params.data_write_guid = j->params.data_write_guid;
	j->plan.params.page83 = j->params.page83;
	posix_sink_init(&sink, &j->t);
	sink.progress = on_progress;
	j->t.user = &j->ps;
	j->ps.show = !j->cli->quiet && isatty(STDERR_FILENO);
	j->ps.start = j->ps.last = now_seconds();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* the terminal went away: stop as cleanly */

	j->scratch = aligned_alloc(4096, HOST_SCRATCH_SIZE);
	if (!j->scratch) {
		host_error("out of memory");
		return VHDX_EXIT_FAILED;
	}
	/* a signal before the first write: nothing written, nothing to undo */
	err = interrupted ? VHDX_ERR_ABORTED :
	      vhdx_image_write(&j->plan, &sink, j->scratch, HOST_SCRATCH_SIZE);
	if (!err && !j->is_block && !j->t.fresh && j->size > j->plan.file_size) {
		/* an old, longer file: drop its tail so the image ends where planned */
		if (ftruncate(j->t.fd, (off_t)j->plan.file_size) < 0 || fdatasync(j->t.fd) < 0) {
			j->t.saved_errno = errno;
			j->t.failed_op = "truncate";
			err = VHDX_ERR_IO;
		}
	}
	if (err) {
		if (err == VHDX_ERR_ABORTED)
			snprintf(j->failure, sizeof(j->failure), "interrupted");
		else if (j->t.failed_op)
			snprintf(j->failure, sizeof(j->failure), "%s failed at offset %llu: %s",
				 j->t.failed_op, (unsigned long long)j->t.failed_offset,
				 strerror(j->t.saved_errno));
		else
			snprintf(j->failure, sizeof(j->failure), "failed: %s", vhdx_strerror(err));
		if (j->ps.show)
			fputc('\n', stderr);
		return VHDX_EXIT_FAILED;
	}
	if (close(j->t.fd) < 0) {
		/* written and flushed, yet the kernel reports a late error:
		 * a failure like any other */
		snprintf(j->failure, sizeof(j->failure), "close failed: %s", strerror(errno));
		j->t.fd = -1;
		return VHDX_EXIT_FAILED;
	}
	j->t.fd = -1;
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
	const char *target = j->target;
	const char *left = NULL;

	free(j->scratch);
	if (j->failure[0] && !j->t.fresh) {
		if (j->t.fd < 0)
			j->t.fd = open(target, O_RDWR | O_CLOEXEC | (j->is_block ? O_EXCL : 0));
		left = j->t.fd < 0 ? "could not reopen it" : left_behind(&j->t);
	}
	if (j->t.fd >= 0)
		close(j->t.fd);
	if (rc == VHDX_EXIT_OK || !j->t.fresh) {
		if (j->failure[0])
			host_error("%s: %s; target left as the failure found it (%s)", target,
				   j->failure, left);
	} else if (unlink(target) == 0) {
		if (j->failure[0])
			host_error("%s: %s; removed the file this run created", target, j->failure);
	} else if (j->failure[0]) {
		host_error("%s: %s; could not remove the file this run created: %s", target,
			   j->failure, strerror(errno));
	}
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
	j.sector = 512;
	j.t.fd = -1;
	rc = create_params(&j);
	if (rc == VHDX_EXIT_OK)
		rc = create_probe(&j);
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
