/* SPDX-License-Identifier: MIT */
/*
 * host_bmap.c - `vhdx bmap SOURCE OUT.bmap` and `vhdx verify --bmap F TARGET`
 * on the host, over the core's bmap writer and parser (vhdx_bmap.h) and
 * the disks of host_disk.h (VHDX chains, dirty logs through the overlay,
 * raw files and devices).
 *
 * bmap: the mapped ranges are the 4096-byte blocks that hold a non-zero
 * byte; a range never crosses a BMAP_WINDOW boundary of the disk, so each
 * is at most 1 MiB and lies in one aligned buffer (a deploy can check a
 * range before it writes it).  Windows that map as ZERO are not read.
 * The file is written beside OUT, synced and renamed over it.
 *
 * verify: exit 0 every range's SHA-256 matches (and with --zeros every
 * unmapped block reads as zeros), 1 the first bad range or block named,
 * 2 could not run (a bad bmap, an unreadable disk, another size).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_disk.h"
#include "host_http.h"
#include "vhdx_bmap_job.h"
#include "vhdx_url.h"

#define BMAP_KEEP (8u * 1024u * 1024u)       /* [byte] ranges kept from the first pass (174762) */
#define BMAP_BUF (VHDX_BMAP_MAKE_BUF_MIN + BMAP_KEEP)
#define VERIFY_BUF (1024u * 1024u)           /* [byte] read at a time */
#define BMAP_FILE_MAX (256ull * 1024 * 1024) /* [byte] the largest bmap read (2.5M ranges) */
#define BMAP_READ (1024u * 1024u)            /* [byte] of a manifest read at a time */

/* OUT.bmap being written: a temporary file beside it. */
struct bmap_out {
	const char *path;
	char tmp[PATH_MAX];
	int fd;
	int saved_errno;
};

static int out_write(void *ctx, uint64_t offset, const void *data, size_t len)
{
	struct bmap_out *o = ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(o->fd, (const char *)data + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->saved_errno = n < 0 ? errno : EIO;
			return VHDX_ERR_IO;
		}
		done += (size_t)n;
	}
	return VHDX_OK;
}

static int out_create(struct bmap_out *o, const char *path)
{
	o->path = path;
	o->saved_errno = 0;
	if ((size_t)snprintf(o->tmp, sizeof(o->tmp), "%s.tmp-XXXXXX", path) >= sizeof(o->tmp)) {
		o->tmp[0] = 0; /* a name cut short is nobody's to remove */
		host_error("%s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	o->fd = mkstemp(o->tmp);
	if (o->fd < 0) {
		o->tmp[0] = 0;
		host_error("%s: cannot create a file beside it: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The temporary file synced, renamed over OUT, the folder synced. */
static int out_commit(struct bmap_out *o)
{
	const char *slash = strrchr(o->path, '/');
	char dir[PATH_MAX];
	int dfd, fd = o->fd;

	o->fd = -1;
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		host_error("%s: %s", o->tmp, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		host_error("%s: %s", o->tmp, strerror(errno));
		return -1;
	}
	if (rename(o->tmp, o->path) < 0) {
		host_error("%s: cannot rename %s over it: %s", o->path, o->tmp, strerror(errno));
		return -1;
	}
	o->tmp[0] = 0;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - o->path + 1) : 1, slash ? o->path : ".");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Whatever is left of the temporary file, removed. */
static void out_discard(struct bmap_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = 0;
}

int host_cmd_bmap(const struct vhdx_cli *cli)
{
	struct host_disk d;
	struct vhdx_reader r;
	struct vhdx_bmap_make job;
	struct bmap_out o = { .fd = -1 };
	struct stat out_st;
	uint8_t *buf = NULL, *page = NULL;
	char line[PATH_MAX + 160];
	int st, err;

	st = host_disk_open(&d, cli->source, cli->source_format);
	if (st != VHDX_EXIT_OK)
		return st;
	st = VHDX_EXIT_USAGE;
	if (stat(cli->target, &out_st) == 0) {
		if (!S_ISREG(out_st.st_mode)) {
			host_error("%s: not a regular file: a bmap is written to a file", cli->target);
			goto out;
		}
		if (host_disk_holds(&d, &out_st)) {
			host_error("%s: is the source (or a level of its chain), not a place for its bmap",
				   cli->target);
			goto out;
		}
	}
	if (!d.size) {
		host_error("%s: an empty disk has no bmap (ImageSize 0)", cli->source);
		goto out;
	}
	buf = aligned_alloc(VHDX_READER_PAGE, BMAP_BUF);
	page = aligned_alloc(VHDX_READER_PAGE, VHDX_READER_PAGE);
	if (!buf || !page) {
		st = host_out_of_memory();
		goto out;
	}
	if (out_create(&o, cli->target) < 0)
		goto out;
	host_disk_reader(&d, &r, page);
	memset(&job, 0, sizeof(job));
	job.disk = &r;
	job.write = out_write;
	job.ctx = &o;
	err = vhdx_bmap_make(&job, buf, BMAP_BUF);
	if (err) {
		if (job.source_failed)
			host_disk_error(&d, err, job.failed_offset);
		else if (job.write_failed)
			host_error("%s: write failed: %s", o.tmp, strerror(o.saved_errno));
		else if (job.source_changed)
			host_error("%s: read differently the second time (the disk changed while it was read)",
				   cli->source);
		else
			host_error("bmap: %s", vhdx_strerror(err));
		st = VHDX_EXIT_FAILED;
		goto out;
	}
	if (out_commit(&o) < 0) {
		st = VHDX_EXIT_FAILED;
		goto out;
	}
	vhdx_bmap_make_say(&job, cli->target, line, sizeof(line));
	printf("%s\n", line);
	st = fflush(stdout) == 0 ? VHDX_EXIT_OK : VHDX_EXIT_USAGE;
out:
	out_discard(&o);
	free(page);
	free(buf);
	host_disk_close(&d);
	return st;
}

/* The manifest file @name as @src (through @t): 0, or -1 with one line
 * printed. */
static int open_manifest_file(const char *name, struct posix_target *t, struct vhdx_source *src, const char *tail)
{
	struct stat st;
	int fd = open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		host_error("%s: cannot open: %s%s", name, strerror(errno), tail);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || posix_source_init(src, t, fd) < 0) {
		host_error("%s: not a bmap: not a regular file%s", name, tail);
		close(fd);
		return -1;
	}
	return 0;
}

char *host_read_manifest(const char *name, size_t *ret_len, const char *tail)
{
	struct posix_target t = { .fd = -1 };
	struct vhdx_source src;
	bool url = vhdx_url_is_url(name), absent;
	char why[512], *text = NULL;
	size_t done = 0, n;

	if (url && host_http_open(name, &t, &src, &absent, why, sizeof(why)) < 0) {
		host_error("%s: %s%s", name, why, tail);
		return NULL;
	}
	if (!url && open_manifest_file(name, &t, &src, tail) < 0)
		return NULL;
	if (src.size > BMAP_FILE_MAX)
		host_error("%s: not a bmap: larger than 256 MiB%s", name, tail);
	else if (!(text = malloc((size_t)src.size + 1)))
		host_out_of_memory();
	while (text && done < (size_t)src.size) {
		n = (size_t)src.size - done < BMAP_READ ? (size_t)src.size - done : BMAP_READ;
		if (src.read(&src, done, text + done, n))
			break;
		done += n;
	}
	if (url)
		host_http_close(&t);
	else
		close(t.fd);
	if (text && done != (size_t)src.size) {
		/* a URL's failed read: its line is the HTTP layer's, or kept */
		if (!url)
			host_error("%s: read failed (%zu of %llu bytes)%s", name, done, (unsigned long long)src.size,
				   tail);
		else if (host_http_failure())
			host_error("%s%s", host_http_failure(), tail);
		free(text);
		text = NULL;
	}
	if (text)
		*ret_len = done;
	return text;
}

int host_cmd_verify(const struct vhdx_cli *cli)
{
	struct vhdx_verify v;
	struct vhdx_reader r;
	struct host_disk d;
	char why[VHDX_VERIFY_WHY_SIZE + 2 * PATH_MAX], line[2 * PATH_MAX + 320];
	uint8_t *buf = NULL, *page = NULL;
	size_t len;
	char *text = host_read_manifest(cli->bmap, &len, "");
	int st, err;

	if (!text)
		return VHDX_EXIT_USAGE;
	st = host_disk_open(&d, cli->target, cli->source_format);
	if (st != VHDX_EXIT_OK) {
		free(text);
		return st;
	}
	st = VHDX_EXIT_USAGE;
	buf = aligned_alloc(VHDX_READER_PAGE, VERIFY_BUF);
	page = aligned_alloc(VHDX_READER_PAGE, VHDX_READER_PAGE);
	if (!buf || !page) {
		st = host_out_of_memory();
		goto out;
	}
	host_disk_reader(&d, &r, page);
	memset(&v, 0, sizeof(v));
	v.disk = &r;
	v.zeros = cli->zeros;
	if (vhdx_verify_open(&v, text, len, cli->bmap_sha256, cli->bmap, cli->target, why, sizeof(why)) != VHDX_OK) {
		host_error("%s", why);
		goto out;
	}
	err = vhdx_verify_run(&v, buf, VERIFY_BUF);
	if (err) {
		host_disk_error(&d, err, v.failed_offset);
		goto out;
	}
	vhdx_verify_say(&v, cli->target, cli->bmap, line, sizeof(line));
	printf("%s\n", line);
	if (v.outcome != VHDX_VERIFY_MATCH) {
		st = VHDX_EXIT_FAILED;
		goto out;
	}
	st = fflush(stdout) == 0 ? VHDX_EXIT_OK : VHDX_EXIT_USAGE;
out:
	free(page);
	free(buf);
	free(text);
	host_disk_close(&d);
	return st;
}
