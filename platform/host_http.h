/* SPDX-License-Identifier: MIT */
/*
 * host_http.h - an http:// or https:// URL as a read-only source of the
 * core (struct vhdx_source) on the host, through libcurl: single-range
 * GETs, a bounded read-ahead, cut transfers resumed where they stopped.
 */
#ifndef VHDX_HOST_HTTP_H
#define VHDX_HOST_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "posix_io.h"

/* --cacert FILE: the CAs HTTPS servers are checked against instead of the
 * system's store; NULL: the system's.  Set once before any open. */
void host_http_set_cacert(const char *file);

/*
 * host_http_open - the file at @url as @src.  One ranged GET answers
 * whether the server is there, serves ranges (a 200 to a ranged GET is
 * refused: "server ignores Range") and how long the file is.  @t is the
 * caller's target: fd -1, the connection in t->user, failures of later
 * reads in t->saved_errno (EIO) / failed_offset, each also printed as one
 * line naming it.  Returns 0, or -1 with one line in @why (404, DNS, TLS,
 * ...) and *@ret_absent set when the server says there is no such file
 * (404, 410).
 */
int host_http_open(const char *url, struct posix_target *t, struct vhdx_source *src, bool *ret_absent,
		   char *why, size_t why_len);
/* Releases what host_http_open took; a no-op for a file's target. */
void host_http_close(struct posix_target *t);
/* True when @t was opened by host_http_open. */
bool host_http_is(const struct posix_target *t);

/*
 * host_http_open_parent - a differencing parent named from a child read
 * from @child_url (vhdx_parent_ops.open): @path resolved against the
 * child's URL (vhdx_url_resolve; a rooted path against its server's root),
 * into @name, then opened as host_http_open does.  Windows drive and
 * volume paths are not followed, as for files.
 */
enum vhdx_parent_open host_http_open_parent(const char *child_url, const char *path, enum vhdx_path_kind kind,
					    struct vhdx_source *ret_src, char *name, size_t name_len, char *why,
					    size_t why_len);

/*
 * From host_http_keep_failure on, the first failed read of any URL (a cut
 * past its retries, a changed page, a server's error) is kept, not printed:
 * host_http_failure returns it ("URL: why"), or NULL when none failed.  For
 * a command that says the failure in its own line (convert).
 */
void host_http_keep_failure(void);
const char *host_http_failure(void);

/* What the connections fetched, for `VHDX_HTTP_STATS=1` on stderr at exit. */
struct host_http_stats {
	unsigned long long requests, bytes, retries, refetched;
};
void host_http_stats(struct host_http_stats *ret);

#endif /* VHDX_HOST_HTTP_H */
