/* SPDX-License-Identifier: MIT */
/* host_target.h - what the host tool writes to (create, convert): probed,
 * refused or created before anything is written; signals and progress. */
#ifndef VHDX_HOST_TARGET_H
#define VHDX_HOST_TARGET_H

#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "host.h"
#include "posix_io.h"

struct host_target {
	const char *path;
	bool exists, is_block;
	uint64_t size;              /* [byte] of the device, or of the existing file */
	uint32_t sector;            /* [byte] the device's logical block size */
	const char *found;          /* what the target holds; NULL: blank */
	struct stat st;             /* when it exists */
	struct posix_target t;      /* t.fd: the target (-1: not open); t.fresh: created by this run */
};

/*
 * host_target_probe - what @path is and holds, before anything is
 * written: a directory, another kind of file, a pseudo filesystem's file,
 * a device in use (O_EXCL) or read-only, a folder that cannot take a new
 * file are refused (message printed).  An existing target is opened
 * (O_RDWR, or O_RDONLY for a @dry_run).  Returns an exit status.
 */
int host_target_probe(struct host_target *t, const char *path, bool dry_run);
/* Refuses (message printed, VHDX_EXIT_USAGE) a target that is not blank
 * without --force: a device whose first or last MiB is not zero, a file
 * that is not empty. */
int host_target_refuse_nonblank(const struct host_target *t, bool force);
/* Creates a target that did not exist (O_EXCL; t.fresh). */
int host_target_create(struct host_target *t);
/* Removes the file this run created (after a failure); says so when
 * @failure (what failed) is not "". */
void host_target_remove_created(const struct host_target *t, const char *failure);
/* Fresh random FileWriteGuid, DataWriteGuid and, unless differencing
 * (a child keeps its parent's), Page83. */
void host_random_guids(struct vhdx_params *p);
/* Reads up to len bytes at off; short only at the end of the file. */
ssize_t host_read_at(int fd, void *buf, size_t len, uint64_t off);

/* SIGINT, SIGTERM and SIGHUP set host_interrupted: work stops cleanly. */
extern volatile sig_atomic_t host_interrupted;
void host_signals_catch(void);

/* The progress line on a terminal, at most four times a second. */
struct host_progress {
	bool show;
	double start, last;  /* [s] */
};
void host_progress_start(struct host_progress *ps, bool quiet);
/* Non-zero when interrupted: stop. */
int host_progress(struct host_progress *ps, uint64_t done, uint64_t total);
double host_now(void);

/* After host_target_create: the posix sink over the target, progress on
 * @ps (a terminal, unless @quiet), signals caught. */
void host_target_sink(struct host_target *t, struct vhdx_sink *sink, struct host_progress *ps, bool quiet);
/* The start of writing a new VHDX onto the probed target: created (or
 * opened), fresh GUIDs in @params, then host_target_sink.  An exit status:
 * 2 when the target cannot be created (said). */
int host_target_begin(struct host_target *t, struct vhdx_params *params, struct vhdx_sink *sink,
		      struct host_progress *ps, bool quiet);
/* Closes the written and flushed target: a late error of close is a
 * failure like any other ("close failed: ..." in @failure, exit 1). */
int host_target_close(struct host_target *t, char *failure, size_t len);
/* After the core wrote a VHDX ending at @end: a file of another length
 * (an old, longer one) is cut to @end and synced.  0 or VHDX_ERR_IO
 * (t->t.failed_op "truncate"). */
int host_target_trim(struct host_target *t, uint64_t end);
/* What failed in writing to @t, for the message: "interrupted", "OP
 * failed at offset N: errno text", or the core's error. */
void host_target_failure(const struct host_target *t, int err, char *buf, size_t len);
/* The one way out of writing a VHDX (create, convert -O vhdx): the target
 * closed; after a failure (@failure not ""), a file this run created is
 * removed, an old target read back (its signature taken back if one is
 * left) and what it holds said. */
void host_target_release_vhdx(struct host_target *t, int rc, const char *failure);

#endif /* VHDX_HOST_TARGET_H */
