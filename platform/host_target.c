/* SPDX-License-Identifier: MIT */
/*
 * host_target.c - what the host tool writes to, shared by create and
 * convert: the target probed before anything is written (its kind, in
 * use, read-only, what it holds), refused when it must not be written,
 * created new; the signals that interrupt a write and the progress line.
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

#include "host_target.h"
#include "vhdx_identify.h"

volatile sig_atomic_t host_interrupted;

static void on_signal(int sig)
{
	(void)sig;
	host_interrupted = 1;
}

double host_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int host_progress(struct host_progress *ps, uint64_t done, uint64_t total)
{
	double now, rate;
	char d[32], tot[32];

	if (host_interrupted)
		return 1;
	if (!ps->show)
		return 0;
	now = host_now();
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

void host_signals_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* the terminal went away: stop as cleanly */
}

void host_progress_start(struct host_progress *ps, bool quiet)
{
	ps->show = !quiet && isatty(STDERR_FILENO);
	ps->start = ps->last = host_now();
}

/* Reads up to len bytes at off; short only at the end of the target. */
ssize_t host_read_at(int fd, void *buf, size_t len, uint64_t off)
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
	h = host_read_at(fd, head, head_len, 0);
	t = host_read_at(fd, tail, tail_len, size - tail_len);
	if (h < 0 || t < 0) {
		*ret_err = errno;
		return NULL;
	}
	return vhdx_identify(head, (size_t)h, tail, (size_t)t);
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

int host_target_probe(struct host_target *j, const char *target, bool dry_run)
{
	struct stat st;
	int read_err;

	memset(j, 0, sizeof(*j));
	j->path = target;
	j->sector = 512;
	j->t.fd = -1;

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
		int flags = (dry_run ? O_RDONLY : O_RDWR) | O_CLOEXEC;

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
	j->st = st;
	return VHDX_EXIT_OK;
}


int host_target_refuse_nonblank(const struct host_target *j, bool force)
{
	/* a blank device (first and last MiB zero) needs no --force; a
	 * non-empty file always does */
	if (force || (!j->found && (j->is_block || !j->size)))
		return VHDX_EXIT_OK;
	if (j->found)
		host_error("%s holds %s; refusing to overwrite it without --force", j->path, j->found);
	else
		host_error("%s: existing file of %llu bytes; refusing to overwrite it without --force",
			   j->path, (unsigned long long)j->size);
	return VHDX_EXIT_USAGE;
}

int host_target_create(struct host_target *j)
{
	if (j->exists)
		return VHDX_EXIT_OK;
	j->t.fd = open(j->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (j->t.fd < 0) {
		host_error("%s: cannot create: %s", j->path, strerror(errno));
		return VHDX_EXIT_USAGE;
	}
	j->t.fresh = true;
	return VHDX_EXIT_OK;
}

void host_target_remove_created(const struct host_target *j, const char *failure)
{
	if (unlink(j->path) == 0) {
		if (failure[0])
			host_error("%s: %s; removed the file this run created", j->path, failure);
	} else if (failure[0]) {
		host_error("%s: %s; could not remove the file this run created: %s", j->path, failure,
			   strerror(errno));
	}
}

static int on_progress(const struct vhdx_sink *s, uint64_t done, uint64_t total)
{
	const struct posix_target *t = s->ctx;

	return host_progress(t->user, done, total);
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

	if (host_read_at(t->fd, sig, sizeof(sig), 0) != (ssize_t)sizeof(sig))
		return "its first bytes could not be read back";
	if (!vhdx_has_signature(sig, sizeof(sig)))
		return "no VHDX signature";
	if (!t->bytes_written && !t->bytes_zeroed)
		return "nothing was written: it still holds its old VHDX image";
	if (clear_signature(t))
		return "VHDX signature taken back: no VHDX signature";
	return "the VHDX signature could not be taken back: it may still look like a VHDX";
}

void host_random_guids(struct vhdx_params *p)
{
	struct vhdx_guid *g[] = { &p->file_write_guid, &p->data_write_guid, &p->page83 };
	/* a child keeps its parent's Virtual Disk ID (vhdx_child_params) */
	size_t i, n = p->type == VHDX_TYPE_DIFFERENCING ? 2 : 3;

	for (i = 0; i < n; i++) {
		if (posix_random(g[i]->bytes, 16) < 0) {
			/* getrandom cannot fail with flags 0 on Linux >= 3.17 */
			abort();
		}
		vhdx_guid_make_v4(g[i]);
	}
}

void host_target_sink(struct host_target *t, struct vhdx_sink *sink, struct host_progress *ps, bool quiet)
{
	t->t.is_block_device = t->is_block;
	t->t.size = t->size;
	t->t.sector_size = t->sector;
	posix_sink_init(sink, &t->t);
	sink->progress = on_progress;
	t->t.user = ps;
	host_progress_start(ps, quiet);
	host_signals_catch();
}

int host_target_begin(struct host_target *t, struct vhdx_params *params, struct vhdx_sink *sink,
		      struct host_progress *ps, bool quiet)
{
	if (host_target_create(t) != VHDX_EXIT_OK)
		return VHDX_EXIT_USAGE;
	host_random_guids(params);
	host_target_sink(t, sink, ps, quiet);
	return VHDX_EXIT_OK;
}

int host_target_close(struct host_target *t, char *failure, size_t len)
{
	int rc = close(t->t.fd);

	t->t.fd = -1;
	if (rc < 0) {
		snprintf(failure, len, "close failed: %s", strerror(errno));
		return VHDX_EXIT_FAILED;
	}
	return VHDX_EXIT_OK;
}

int host_target_trim(struct host_target *t, uint64_t end)
{
	struct stat st;

	if (t->is_block)
		return VHDX_OK;
	if (fstat(t->t.fd, &st) < 0 ||
	    ((uint64_t)st.st_size != end && (ftruncate(t->t.fd, (off_t)end) < 0 || fdatasync(t->t.fd) < 0))) {
		t->t.saved_errno = errno;
		t->t.failed_op = "truncate";
		t->t.failed_offset = end;
		return VHDX_ERR_IO;
	}
	return VHDX_OK;
}

void host_target_failure(const struct host_target *t, int err, char *buf, size_t len)
{
	if (err == VHDX_ERR_ABORTED)
		snprintf(buf, len, "interrupted");
	else if (t->t.failed_op)
		snprintf(buf, len, "%s failed at offset %llu: %s", t->t.failed_op,
			 (unsigned long long)t->t.failed_offset, strerror(t->t.saved_errno));
	else
		snprintf(buf, len, "failed: %s", vhdx_strerror(err));
}

void host_target_release_vhdx(struct host_target *t, int rc, const char *failure)
{
	const char *left = NULL;

	if (failure[0] && !t->t.fresh) {
		if (t->t.fd < 0)
			t->t.fd = open(t->path, O_RDWR | O_CLOEXEC | (t->is_block ? O_EXCL : 0));
		left = t->t.fd < 0 ? "could not reopen it" : left_behind(&t->t);
	}
	if (t->t.fd >= 0)
		close(t->t.fd);
	t->t.fd = -1;
	if (rc == VHDX_EXIT_OK || !t->t.fresh) {
		if (failure[0])
			host_error("%s: %s; target left as the failure found it (%s)", t->path, failure, left);
	} else {
		host_target_remove_created(t, failure);
	}
}
