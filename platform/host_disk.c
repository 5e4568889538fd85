/* SPDX-License-Identifier: MIT */
/*
 * host_disk.c - disks to read on the host (host_disk.h): the core's chain
 * over POSIX files, parents found from the child's folder, and raw files
 * or devices with their holes found by SEEK_DATA/SEEK_HOLE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "host_disk.h"
#include "host_http.h"
#include "vhdx_convert.h"
#include "vhdx_url.h"

#define DISK_SCRATCH_SIZE (1024u * 1024u) /* [byte] decoder, chain, BAT pages */

/* A parent named by locator text: relative to the child's folder, or a
 * rooted path; Windows forms are never looked up here (a drive letter or
 * a volume GUID would be taken relative to the current folder). */
static enum vhdx_parent_open open_parent(void *ctx, const char *child_name, const char *key,
					 const char *path, enum vhdx_path_kind kind,
					 struct vhdx_source *ret_src, char *name, size_t name_len,
					 char *why, size_t why_len)
{
	char folder[PATH_MAX];
	const char *slash = strrchr(child_name, '/');
	struct posix_target *t;
	struct vhdx_text nt;
	const char *what;
	size_t len;
	int fd, n;

	(void)ctx;
	(void)key;
	if (vhdx_url_is_url(child_name))
		return host_http_open_parent(child_name, path, kind, ret_src, name, name_len, why, why_len);
	vhdx_text_init(&nt, name, name_len);
	switch (kind) {
	case VHDX_PATH_DRIVE:
		vhdx_text_str(&nt, path);
		snprintf(why, why_len, "a Windows drive path, not followed here");
		return VHDX_PARENT_CANNOT;
	case VHDX_PATH_VOLUME:
		vhdx_text_str(&nt, path);
		snprintf(why, why_len, "a Windows volume or network path, not followed here");
		return VHDX_PARENT_CANNOT;
	case VHDX_PATH_RELATIVE:
		/* from the child's folder, made absolute so that ".." folds;
		 * a folder past PATH_MAX is too long, never taken as "/" or cut */
		if (child_name[0] == '/') {
			n = snprintf(folder, sizeof(folder), "%.*s",
				     slash ? (int)(slash - child_name + 1) : 1, child_name);
		} else if (!getcwd(folder, sizeof(folder))) {
			n = errno == ERANGE || errno == ENAMETOOLONG ? -1 : 0;
			if (!n) {
				vhdx_text_str(&nt, path);
				snprintf(why, why_len, "the current folder: %s", strerror(errno));
				return VHDX_PARENT_CANNOT;
			}
		} else {
			len = strlen(folder);
			n = snprintf(folder + len, sizeof(folder) - len, "/%.*s",
				     slash ? (int)(slash - child_name + 1) : 0, child_name);
			n = n < 0 ? n : n + (int)len;
		}
		if (n < 0 || (size_t)n >= sizeof(folder)) {
			vhdx_text_str(&nt, path);
			snprintf(why, why_len, "its folder: %s", strerror(ENAMETOOLONG));
			return VHDX_PARENT_CANNOT;
		}
		break;
	case VHDX_PATH_ROOTED:
		snprintf(folder, sizeof(folder), "/");
		break;
	}
	if (vhdx_path_join(folder, 1, '/', path, &nt) != VHDX_OK) {
		snprintf(why, why_len, "%s", strerror(ENAMETOOLONG));
		return VHDX_PARENT_CANNOT;
	}
	fd = posix_open_source(name, &what);
	if (fd < 0 && what) {
		snprintf(why, why_len, "not a regular file or block device: %s", what);
		return VHDX_PARENT_FAILED;
	}
	if (fd < 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? VHDX_PARENT_ABSENT : VHDX_PARENT_FAILED;
	}
	t = calloc(1, sizeof(*t));
	if (!t || posix_source_init(ret_src, t, fd) < 0) {
		snprintf(why, why_len, "%s", t ? strerror(errno) : "out of memory");
		free(t);
		close(fd);
		return VHDX_PARENT_FAILED;
	}
	return VHDX_PARENT_OPENED;
}

static void close_parent(void *ctx, struct vhdx_source *src)
{
	struct posix_target *t = src->ctx;

	(void)ctx;
	if (host_http_is(t))
		host_http_close(t);
	else
		close(t->fd);
	free(t);
}

static void *index_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return malloc(len);
}

static void index_free(void *ctx, void *mem, size_t len)
{
	(void)ctx;
	(void)len;
	free(mem);
}

const struct vhdx_parent_ops host_parent_ops = {
	.open = open_parent,
	.close = close_parent,
	.index_alloc = index_alloc,
	.index_free = index_free,
};

int host_open_source(const char *path)
{
	const char *what;
	int fd = posix_open_source(path, &what);

	if (fd < 0 && what)
		host_error("%s: not a regular file or block device: %s", path, what);
	else if (fd < 0)
		host_error("%s: cannot open: %s", path, strerror(errno));
	return fd;
}

int host_disk_open(struct host_disk *d, const char *path, enum vhdx_format format)
{
	return host_disk_open_named(d, path, format, false);
}

int host_disk_open_named(struct host_disk *d, const char *path, enum vhdx_format format, bool want_vhdx)
{
	struct vhdx_reader r;
	char why[VHDX_WHY_SIZE + VHDX_CHAIN_WHY_SIZE + 160];
	int fd, err;

	memset(d, 0, sizeof(*d));
	d->path = path;
	if (vhdx_url_is_url(path)) {
		char hwhy[512];
		bool absent;

		if (host_http_open(path, &d->t, &d->src, &absent, hwhy, sizeof(hwhy)) < 0) {
			host_error("%s: %s", path, hwhy);
			return VHDX_EXIT_USAGE;
		}
		fd = -1;
		goto opened;
	}
	fd = host_open_source(path);
	if (fd < 0)
		return VHDX_EXIT_USAGE;
	if (fstat(fd, &d->st) < 0 || posix_source_init(&d->src, &d->t, fd) < 0) {
		host_error("%s: not a readable file or block device: %s", path, strerror(errno));
		close(fd);
		return VHDX_EXIT_USAGE;
	}
opened:
	d->scratch_len = DISK_SCRATCH_SIZE;
	d->scratch = malloc(d->scratch_len);
	d->levels = calloc(VHDX_CHAIN_DEPTH_MAX, sizeof(*d->levels));
	if (!d->scratch || !d->levels) {
		host_disk_close(d);
		return host_out_of_memory();
	}
	err = vhdx_convert_open_source(&d->src, path, format, want_vhdx, &host_parent_ops, &d->chain, d->levels,
				       d->scratch, d->scratch_len, &r, why, sizeof(why));
	if (err) {
		/* a parent's errno is kept by its own descriptor: EIO names it */
		if (err == VHDX_ERR_IO && host_http_is(&d->t))
			; /* the URL's failure is said, once, where it happened */
		else if (err == VHDX_ERR_IO)
			host_error("%s: %s: %s", path, why, strerror(d->t.saved_errno ? d->t.saved_errno : EIO));
		else
			host_error("%s: %s", path, why);
		host_disk_close(d);
		return host_exit_before_write(err);
	}
	d->raw = !r.chain;
	d->opened_chain = !d->raw;
	d->size = r.size;
	return VHDX_EXIT_OK;
}

void host_disk_close(struct host_disk *d)
{
	if (d->opened_chain)
		vhdx_chain_close(&d->chain, &host_parent_ops);
	host_http_close(&d->t);
	if (d->t.fd > 0)
		close(d->t.fd);
	free(d->levels);
	free(d->scratch);
	memset(d, 0, sizeof(*d));
}

void host_disk_error(const struct host_disk *d, int err, uint64_t off)
{
	if (err == VHDX_ERR_IO && host_http_is(&d->t))
		; /* the URL's failure is said, once, where it happened */
	else if (d->raw && err == VHDX_ERR_IO)
		host_error("%s: read failed at offset %llu: %s", d->path, (unsigned long long)off,
			   strerror(d->t.saved_errno));
	else if (err == VHDX_ERR_IO)
		host_error("%s: read failed near virtual offset %llu: %s", d->path, (unsigned long long)off,
			   strerror(d->t.saved_errno ? d->t.saved_errno : EIO));
	else
		host_error("%s: cannot read virtual offset %llu: %s (see 'vhdx check %s')", d->path,
			   (unsigned long long)off, vhdx_strerror(err), d->path);
}

int host_disk_map(struct host_disk *d, uint64_t off, uint64_t len, struct vhdx_extent *ret)
{
	int err;

	if (d->raw) {
		/* holes of a sparse file read as zeros and cost nothing to skip */
		off_t data = d->t.is_block_device ? (off_t)off : lseek(d->t.fd, (off_t)off, SEEK_DATA);
		off_t hole;

		memset(ret, 0, sizeof(*ret));
		if (data < 0 && errno == ENXIO)
			data = (off_t)d->size; /* only a hole up to the end */
		if (data < 0)
			data = (off_t)off; /* SEEK_DATA not supported: all data */
		if ((uint64_t)data > off) {
			ret->kind = VHDX_EXTENT_ZERO;
			ret->length = (uint64_t)data - off < len ? (uint64_t)data - off : len;
			return 0;
		}
		hole = d->t.is_block_device ? (off_t)d->size : lseek(d->t.fd, (off_t)off, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > d->size)
			hole = (off_t)d->size;
		ret->kind = VHDX_EXTENT_DATA;
		ret->file_offset = off;
		ret->length = (uint64_t)hole - off < len ? (uint64_t)hole - off : len;
		if (!ret->length)
			ret->length = len;
		return 0;
	}
	err = vhdx_map(&d->chain, off, len, ret, d->scratch, d->scratch_len);
	if (err) {
		host_disk_error(d, err, off);
		return -1;
	}
	return 0;
}

int host_disk_read(struct host_disk *d, uint64_t off, void *buf, size_t len)
{
	int err;

	if (d->raw) {
		err = d->src.read(&d->src, off, buf, len);
		if (err) {
			host_disk_error(d, VHDX_ERR_IO, off);
			return -1;
		}
		return 0;
	}
	err = vhdx_read_at(&d->chain, off, buf, len, d->scratch, d->scratch_len);
	if (err) {
		host_disk_error(d, err, off);
		return -1;
	}
	return 0;
}

/* A loop device's backing file (/sys/dev/block/MAJ:MIN/loop/backing_file),
 * so that a device over a file of the chain counts as that file. */
static bool loop_backing(const struct stat *st, struct stat *ret)
{
	char path[96], file[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file", major(st->st_rdev),
		 minor(st->st_rdev));
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(file, 1, sizeof(file) - 1, f);
	fclose(f);
	while (n && file[n - 1] == '\n')
		n--;
	file[n] = '\0';
	return n && stat(file, ret) == 0;
}

bool host_disk_holds(const struct host_disk *d, const struct stat *target)
{
	struct stat backing;
	const struct stat *st = target;
	unsigned k;

	if (S_ISBLK(target->st_mode)) {
		if (d->t.is_block_device && d->st.st_rdev == target->st_rdev)
			return true;
		if (!loop_backing(target, &backing))
			return false;
		st = &backing;
	}

	if (d->st.st_dev == st->st_dev && d->st.st_ino == st->st_ino)
		return true;
	for (k = 1; !d->raw && k < d->chain.depth; k++) {
		const struct posix_target *t = d->levels[k].src.ctx;
		struct stat pst;

		if (fstat(t->fd, &pst) == 0 && pst.st_dev == st->st_dev && pst.st_ino == st->st_ino)
			return true;
	}
	return false;
}

void host_disk_describe(const struct host_disk *d, char *buf, size_t len)
{
	char sum[96];

	if (d->raw) {
		struct vhdx_text t;

		vhdx_text_init(&t, buf, len);
		vhdx_text_str(&t, d->t.is_block_device ? "raw block device, " : "raw file, ");
		vhdx_text_size(&t, d->size);
		return;
	}
	vhdx_disk_summary(&d->levels[0].disk, sum, sizeof(sum));
	if (d->chain.depth > 1)
		snprintf(buf, len, "%s, a chain of %u%s", sum, d->chain.depth,
			 d->levels[0].through_log ? ", its log read through the overlay (replay pending)" : "");
	else
		snprintf(buf, len, "%s%s", sum,
			 d->levels[0].through_log ? ", its log read through the overlay (replay pending)" : "");
}

/* A raw file's holes (SEEK_DATA/SEEK_HOLE) read as zeros: host_disk_map. */
static int raw_holes(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret)
{
	return host_disk_map(r->ctx, offset, len, ret) < 0 ? VHDX_ERR_IO : VHDX_OK;
}

void host_disk_reader(struct host_disk *d, struct vhdx_reader *r, void *page)
{
	memset(r, 0, sizeof(*r));
	r->size = d->size;
	r->ctx = d;
	if (d->raw) {
		r->raw = &d->src;
		r->raw_map = raw_holes;
		r->scratch = page;
		r->scratch_len = VHDX_READER_PAGE;
	} else {
		r->chain = &d->chain;
		r->scratch = d->scratch;
		r->scratch_len = d->scratch_len;
	}
}
