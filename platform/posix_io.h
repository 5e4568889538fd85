/* SPDX-License-Identifier: MIT */
/* posix_io.h - the core's sink and source over a file descriptor. */
#ifndef VHDX_POSIX_IO_H
#define VHDX_POSIX_IO_H

#include <stdbool.h>
#include <stdint.h>
#include "vhdx.h"

struct write_ring;
struct vhdx_convert_lender;

struct posix_target {
	int fd;
	bool is_block_device;
	bool fresh;           /* created by this run: reads as zeros, may be removed */
	uint64_t size;        /* [byte] device size, or file size when opened */
	uint32_t sector_size; /* [byte] device logical block size, 512 for files */
	int saved_errno;      /* errno of the first failure */
	const char *failed_op;/* "write", "flush", "zero", "allocate", "read" */
	uint64_t failed_offset;
	void *user;           /* the frontend's own state (progress) */
	/* statistics, for benchmarks and tests */
	uint64_t bytes_written, bytes_zeroed, writes, flushes;
	uint64_t unkicked;    /* [byte] written since write-back was last started */
	struct write_ring *ring; /* posix_sink_threaded: the writer thread's; NULL: writes made in place */
	bool direct;          /* the writer's aligned writes go through direct_fd */
	int direct_fd;        /* the target opened again with O_DIRECT */
};

/* Fills a sink whose ctx is t.  Capacity: device size, or 0 for a file. */
void posix_sink_init(struct vhdx_sink *sink, struct posix_target *t);
/*
 * posix_sink_threaded - the sink's writes handed to a writer thread
 * through a bounded FIFO (write_ring.h, 8 MiB): the caller reads and
 * hashes the next range while this one is written.  The writer makes
 * aligned writes with O_DIRECT through a second descriptor of the target
 * where it opens (no copy into the page cache), the rest through t->fd;
 * flushes stay t->fd's (fdatasync covers the file or device whole).  Flush, zero and
 * allocate first wait for the queued writes (nothing is reordered across
 * them); a failed write is said (t's failed_op, offset, errno as without
 * the thread) at the next write, flush or drain, and nothing more is
 * written.  0, or -1 with errno set (the writes are then made in place).
 * While it runs, t's statistics and failure are the writer's: read them
 * after posix_sink_drain or posix_sink_unthreaded.
 */
int posix_sink_threaded(struct posix_target *t);
/* The writer thread's slots lent to the convert job (read into, written
 * from without a copy): true, or false without a writer thread. */
bool posix_sink_lender(struct posix_target *t, struct vhdx_convert_lender *ret);
/* Waits for the queued writes: 0 or VHDX_ERR_IO (the writer's failure). */
int posix_sink_drain(struct posix_target *t);
/* Ends the writer thread; @discard: writes not yet begun are dropped
 * (after a failure or an interrupt), else made first.  0 or VHDX_ERR_IO. */
int posix_sink_unthreaded(struct posix_target *t, bool discard);
/* Fills a source whose ctx is t; size from fstat / BLKGETSIZE64. */
int posix_source_init(struct vhdx_source *src, struct posix_target *t, int fd);

/*
 * posix_open_source - opens @path read-only for reading a disk: without
 * blocking (open(2) of a FIFO waits for a writer, forever), and keeps it
 * only when it is a regular file or a block device, the rule every verb
 * reads by.  The descriptor (blocking again), or -1 with errno set; when
 * the path opened but is something else, *@ret_not says what ("a FIFO",
 * "Is a directory", ...), otherwise it is NULL.
 */
int posix_open_source(const char *path, const char **ret_not);
/* The same with @access (O_RDONLY, O_RDWR, with O_EXCL for a device):
 * repair's target. */
int posix_open_disk(const char *path, int access, const char **ret_not);

/* Size and logical sector of an open fd (block device or file). */
int posix_probe_fd(int fd, bool *ret_is_block, uint64_t *ret_size, uint32_t *ret_sector);

/* Random bytes from getrandom(2). */
int posix_random(void *buf, size_t len);

#endif /* VHDX_POSIX_IO_H */
