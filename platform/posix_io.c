/* SPDX-License-Identifier: MIT */
/*
 * posix_io.c - files and block devices for the core: pwrite loops that
 * survive EINTR and short writes, fdatasync at flush points, fallocate
 * for zeroing files (never a hole in a fixed image), BLKZEROOUT on devices.
 */
#include "posix_io.h"
#include "write_ring.h"
#include "vhdx_convert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int failed(struct posix_target *t, const char *op, uint64_t off)
{
	if (!t->failed_op) {
		t->saved_errno = errno;
		t->failed_op = op;
		t->failed_offset = off;
	}
	return VHDX_ERR_IO;
}

#define WRITEBACK_KICK (8u << 20) /* [byte] */

/* [off, off+len) written through @fd now, in this thread (or the ring's
 * writer), and counted.  @direct: EINVAL before a byte is written is
 * VHDX_ERR_UNSUPPORTED, not a failure (the target refuses direct writes). */
static int write_all(struct posix_target *t, int fd, bool direct, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && direct && p == buf)
			return VHDX_ERR_UNSUPPORTED;
		if (n < 0)
			return failed(t, "write", off);
		if (n == 0) {
			errno = ENOSPC;
			return failed(t, "write", off);
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
		t->bytes_written += (uint64_t)n;
		t->writes++;
	}
	return VHDX_OK;
}

/* [off, off+len) written now through the page cache. */
static int write_now(struct posix_target *t, uint64_t off, const void *buf, size_t len)
{
	int err = write_all(t, t->fd, false, off, buf, len);

	if (err)
		return err;
	/* start write-back every WRITEBACK_KICK bytes: the next flush then
	 * waits for little, and the disk writes while we read */
	t->unkicked += len;
	if (t->unkicked >= WRITEBACK_KICK) {
		t->unkicked = 0;
		sync_file_range(t->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	return VHDX_OK;
}

#define DIRECT_ALIGN 4096u /* [byte] offset, length and buffer of a direct write: any logical block divides it */

/* The writer thread's write: aligned ones through t->direct_fd (no copy
 * into the page cache: the CPU it takes is the hash's), the rest through
 * t->fd.  A direct write the target refuses (EINVAL) is made buffered,
 * and so are all after it. */
static int ring_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct posix_target *t = ctx;
	int err;

	if (!t->direct || ((off | len | (uintptr_t)buf) & (DIRECT_ALIGN - 1)))
		return write_now(t, off, buf, len);
	err = write_all(t, t->direct_fd, true, off, buf, len);
	if (err != VHDX_ERR_UNSUPPORTED)
		return err;
	t->direct = false;
	close(t->direct_fd);
	return write_now(t, off, buf, len);
}

/* t->fd opened again for direct writes (the same file or device, by
 * /proc/self/fd); false where that is refused (no /proc, tmpfs before
 * Linux 6.6): the writes stay buffered. */
static bool open_direct(struct posix_target *t)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd);
	t->direct_fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	return t->direct_fd >= 0;
}

/* With a writer thread: every write queued so far made (in order), or the
 * writer's failure (kept in t by failed(), in that thread). */
int posix_sink_drain(struct posix_target *t)
{
	return t->ring ? write_ring_drain(t->ring) : VHDX_OK;
}

static int sink_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct posix_target *t = s->ctx;

	if (t->ring)
		return write_ring_put(t->ring, off, buf, len);
	return write_now(t, off, buf, len);
}

static int sink_flush(const struct vhdx_sink *s)
{
	struct posix_target *t = s->ctx;
	int err = posix_sink_drain(t);

	if (err)
		return err;
	t->flushes++;
	if (fdatasync(t->fd) < 0)
		return failed(t, "flush", 0);
	return VHDX_OK;
}

#define ZERO_WRITE_CHUNK VHDX_ZERO_CHUNK /* [byte] one write per zero() call */

/*
 * Where the kernel cannot zero a range, the zeros are written here rather
 * than by the core: with O_DIRECT when the target takes it, from a
 * read-only anonymous mapping (every page is the kernel's zero page, so
 * the buffer costs no memory whatever its size).  Through the page cache
 * the same writes ran at 0.2-0.6 times dd oflag=direct under dirty-page
 * throttling on a busy machine, and evicted everyone's cache; direct, they
 * keep pace with dd (BENCHMARKS.md).  VHDX_ERR_UNSUPPORTED (the core then
 * writes zeros) only when the mapping fails.
 */
static int zero_by_writing(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	static const uint8_t *zeros; /* host only: mapped once, never unmapped */
	struct posix_target *t = s->ctx;
	int flags = fcntl(t->fd, F_GETFL);
	bool direct = false;
	int err = VHDX_OK;

	if (!zeros) {
		void *m = mmap(NULL, ZERO_WRITE_CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return VHDX_ERR_UNSUPPORTED;
		zeros = m;
	}
	if (flags >= 0 && !(flags & O_DIRECT) && fcntl(t->fd, F_SETFL, flags | O_DIRECT) == 0)
		direct = true;
	while (len) {
		size_t n = len < ZERO_WRITE_CHUNK ? (size_t)len : ZERO_WRITE_CHUNK;

		err = write_now(t, off, zeros, n);
		if (err && direct && t->saved_errno == EINVAL) {
			/* the target refused this alignment after all: buffered */
			fcntl(t->fd, F_SETFL, flags);
			direct = false;
			t->failed_op = NULL;
			continue;
		}
		if (err)
			break;
		off += n;
		len -= n;
	}
	if (direct)
		fcntl(t->fd, F_SETFL, flags);
	return err;
}

/*
 * Zeroing: a fresh file reads as zeros already, so plain fallocate
 * allocates the range; an old file gets FALLOC_FL_ZERO_RANGE; a device
 * gets BLKZEROOUT.  Where the kernel says no, zero_by_writing().
 */
static int sink_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct posix_target *t = s->ctx;
	int rc = posix_sink_drain(t);

	if (rc)
		return rc;
	if (t->is_block_device) {
		uint64_t range[2] = { off, len };

		rc = ioctl(t->fd, BLKZEROOUT, range);
		if (rc < 0 && (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL))
			return zero_by_writing(s, off, len);
	} else if (t->fresh) {
		do
			rc = fallocate(t->fd, 0, (off_t)off, (off_t)len);
		while (rc < 0 && errno == EINTR);
		if (rc < 0 && errno == EOPNOTSUPP)
			return zero_by_writing(s, off, len);
	} else {
		do
			rc = fallocate(t->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len);
		while (rc < 0 && errno == EINTR);
		if (rc < 0 && (errno == EOPNOTSUPP || errno == ENOSYS))
			return zero_by_writing(s, off, len);
	}
	if (rc < 0)
		return failed(t, "zero", off);
	t->bytes_zeroed += len;
	return VHDX_OK;
}

/* Allocates without touching old content (fixed image, --no-zero). */
static int sink_allocate(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct posix_target *t = s->ctx;
	int rc = posix_sink_drain(t);

	if (rc || t->is_block_device)
		return rc;
	rc = posix_fallocate(t->fd, (off_t)off, (off_t)len);
	if (rc) {
		errno = rc;
		return failed(t, "allocate", off);
	}
	return VHDX_OK;
}

/*
 * The writer thread's ring: RING_SLOTS buffers of RING_SLOT bytes (8 MiB,
 * the peak RSS grows by that much).  A slot holds one of the convert
 * job's chunks whole (1 MiB, CONVERT_CHUNK), which the job reads into
 * (posix_sink_lender: no copy between read and write, the convert job's
 * own buffers for ranges hashed beside are these).  The job holds at most
 * VHDX_CONVERT_SPARES + 1 = 5 (ranges hashed beside and read behind); the
 * other 3 are being written or queued, enough to ride out a write that
 * stalls for a few of the job's steps (one step, read and hash of 1 MiB
 * with libcrypto, is about 0.7 ms).
 */
#define RING_SLOTS 8u
#define RING_SLOT (1024u * 1024u) /* [byte] */

int posix_sink_threaded(struct posix_target *t)
{
	struct write_ring *r = malloc(sizeof(*r));

	if (!r)
		return -1;
	if (write_ring_start(r, RING_SLOTS, RING_SLOT, ring_write, t) < 0) {
		int e = errno;

		free(r);
		errno = e;
		return -1;
	}
	t->ring = r;
	t->direct = open_direct(t);
	return 0;
}

static void *lender_take(void *ctx)
{
	return write_ring_take(((struct posix_target *)ctx)->ring);
}

static void lender_give_back(void *ctx, void *buf)
{
	write_ring_give_back(((struct posix_target *)ctx)->ring, buf);
}

bool posix_sink_lender(struct posix_target *t, struct vhdx_convert_lender *ret)
{
	if (!t->ring)
		return false;
	ret->ctx = t;
	ret->size = RING_SLOT;
	ret->take = lender_take;
	ret->give_back = lender_give_back;
	return true;
}

int posix_sink_unthreaded(struct posix_target *t, bool discard)
{
	int err;

	if (!t->ring)
		return VHDX_OK;
	err = write_ring_stop(t->ring, discard);
	free(t->ring);
	t->ring = NULL;
	if (t->direct)
		close(t->direct_fd);
	t->direct = false;
	return err;
}

void posix_sink_init(struct vhdx_sink *sink, struct posix_target *t)
{
	sink->ctx = t;
	sink->write = sink_write;
	sink->flush = sink_flush;
	sink->zero = sink_zero;
	sink->allocate = sink_allocate;
	sink->progress = NULL;
	sink->block_size = t->is_block_device ? t->sector_size : 512;
	sink->capacity = t->is_block_device ? t->size : 0;
	sink->zeroed = t->fresh && !t->is_block_device;
}

static int source_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct posix_target *t = s->ctx;
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(t->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return failed(t, "read", off);
		if (n == 0) {
			errno = EIO; /* past the end: the core never asks for it */
			return failed(t, "read", off);
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return VHDX_OK;
}

int posix_probe_fd(int fd, bool *ret_is_block, uint64_t *ret_size, uint32_t *ret_sector)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;
		int sector;

		if (ioctl(fd, BLKGETSIZE64, &size) < 0 || ioctl(fd, BLKSSZGET, &sector) < 0)
			return -1;
		*ret_is_block = true;
		*ret_size = size;
		*ret_sector = (uint32_t)sector;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	*ret_is_block = false;
	*ret_size = (uint64_t)st.st_size;
	*ret_sector = 512;
	return 0;
}

/* What a file of mode @mode is, when it is neither regular nor a block device. */
static const char *not_a_disk(mode_t mode)
{
	if (S_ISDIR(mode))
		return strerror(EISDIR);
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	return "not a file";
}

int posix_open_source(const char *path, const char **ret_not)
{
	return posix_open_disk(path, O_RDONLY, ret_not);
}

int posix_open_disk(const char *path, int access, const char **ret_not)
{
	struct stat st;
	int fd, flags;

	*ret_not = NULL;
	fd = open(path, access | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		*ret_not = not_a_disk(st.st_mode);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:
	flags = errno;
	close(fd);
	errno = flags;
	return -1;
}

int posix_source_init(struct vhdx_source *src, struct posix_target *t, int fd)
{
	memset(src, 0, sizeof(*src)); /* is_device, log_applied: set below or false */
	t->fd = fd;
	if (posix_probe_fd(fd, &t->is_block_device, &t->size, &t->sector_size) < 0)
		return -1;
	src->ctx = t;
	src->read = source_read;
	src->size = t->size;
	src->is_device = t->is_block_device;
	return 0;
}

int posix_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
