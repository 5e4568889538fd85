/* SPDX-License-Identifier: MIT */
/*
 * host_disk.h - a disk to read on the host: a VHDX (a child read through
 * its chain, a dirty log through the core's overlay) or a raw file or
 * block device.  Always opened O_RDONLY: reading never writes.
 */
#ifndef VHDX_HOST_DISK_H
#define VHDX_HOST_DISK_H

#include <stdbool.h>
#include <sys/stat.h>

#include "host.h"
#include "posix_io.h"

/* Parents opened by path from the child's folder (the core's policy). */
extern const struct vhdx_parent_ops host_parent_ops;

struct host_disk {
	const char *path;
	bool raw;
	struct posix_target t;        /* level 0's descriptor */
	struct vhdx_source src;
	struct stat st;
	uint64_t size;                /* [byte] the virtual disk (raw: the file) */
	struct vhdx_chain chain;      /* VHDX */
	struct vhdx_chain_level *levels;
	void *scratch;
	size_t scratch_len;
	bool opened_chain;
};

/*
 * host_disk_open - @path as @format (AUTO: VHDX when it starts with the
 * vhdxfile signature, else raw).  A VHDX must open cleanly and its chain
 * be complete.  @what names it in messages ("SOURCE", "A").  Returns an
 * exit status; errors printed as one line.
 */
int host_disk_open(struct host_disk *d, const char *path, enum vhdx_format format);
/* The same; AUTO with @want_vhdx: a VHDX even without the signature (its
 * reason then says why not), as convert reads a *.vhdx SOURCE. */
int host_disk_open_named(struct host_disk *d, const char *path, enum vhdx_format format, bool want_vhdx);
/* posix_open_source with its one-line error ("not a regular file or block
 * device", "cannot open"): the descriptor, or -1 said. */
int host_open_source(const char *path);
void host_disk_close(struct host_disk *d);
/* The one line for the core's @err reading @d at @off (virtual offset, or
 * the raw source's): a URL's failure was said where it happened. */
void host_disk_error(const struct host_disk *d, int err, uint64_t off);

/* The next extent from @off (at most @len): zeros or data.  0 or -1 (errno
 * or a core error printed). */
int host_disk_map(struct host_disk *d, uint64_t off, uint64_t len, struct vhdx_extent *ret);
/* @len bytes of the virtual disk at @off.  0 or -1 (printed). */
int host_disk_read(struct host_disk *d, uint64_t off, void *buf, size_t len);
/* The core's reader over @d (vhdx_data.h): its chain, or its raw bytes
 * with holes found by SEEK_DATA; @page: VHDX_READER_PAGE bytes, a raw
 * disk's bounce buffer. */
void host_disk_reader(struct host_disk *d, struct vhdx_reader *r, void *page);
/* True when @st is the file of any level of the disk. */
bool host_disk_holds(const struct host_disk *d, const struct stat *st);
/* "VHDX (dynamic, 1 GiB), a chain of 2" or "raw, 1 GiB". */
void host_disk_describe(const struct host_disk *d, char *buf, size_t len);

#endif /* VHDX_HOST_DISK_H */
