/* SPDX-License-Identifier: MIT */
/*
 * vhdx_chain.h - the parent chain of a differencing disk, walked through
 * the frontend's open callback; the checker's finding about it, and
 * vhdx_examine, what `info` and `check` report in every frontend.
 */
#ifndef VHDX_CHAIN_H
#define VHDX_CHAIN_H

#include "vhdx_log.h"
#include "vhdx_info.h"

/*
 * The parent chain of a differencing disk [2.6.2.6]: one policy for every
 * frontend.  A child names its parent by relative_path, then volume_path,
 * then absolute_win32_path; the core asks the frontend to open each path
 * (text as stored, '\' separators), and accepts a candidate only when it
 * opens as a VHDX whose current DataWriteGuid equals parent_linkage, with
 * the child's virtual size and logical sector size.  The chain ends at a
 * disk that is not differencing; it is refused when it is deeper than the
 * caller's array or comes back to a disk already in it (a cycle).
 */
enum vhdx_path_kind {
	VHDX_PATH_RELATIVE = 0,  /* ".\x.vhdx", "..\a\x.vhdx", "x.vhdx": from the child's folder */
	VHDX_PATH_ROOTED,        /* "\a\x.vhdx" or "/a/x.vhdx": from a volume or file system root */
	VHDX_PATH_DRIVE,         /* "C:\a\x.vhdx": a Windows drive letter */
	VHDX_PATH_VOLUME,        /* "\\?\Volume{GUID}\a\x.vhdx", "\\server\share\...": Windows only */
};
enum vhdx_path_kind vhdx_path_kind(const char *path);

/* What the frontend's open callback says about one candidate. */
enum vhdx_parent_open {
	VHDX_PARENT_OPENED = 0,  /* *ret_src is readable until close */
	VHDX_PARENT_ABSENT,      /* nothing there (why: "No such file or directory") */
	VHDX_PARENT_CANNOT,      /* a form this frontend cannot follow (a Windows drive here) */
	VHDX_PARENT_FAILED,      /* there, but it cannot be read (why says why) */
};

struct vhdx_parent_ops {
	void *ctx;
	/*
	 * Opens the file that locator value @path (of kind @kind, from key
	 * @key) names, as seen from @child_name (the name the previous open
	 * gave, or the one given to vhdx_chain_open for the first child).
	 * Fills @name with what it opened or tried (the path as this frontend
	 * spells it, for lines and messages; left empty, the stored text is
	 * shown), *ret_src when OPENED, and @why on anything else.  Windows
	 * forms (DRIVE, VOLUME) are never looked up relative to a current
	 * folder: a frontend that cannot follow them says CANNOT.
	 */
	enum vhdx_parent_open (*open)(void *ctx, const char *child_name, const char *key,
				      const char *path, enum vhdx_path_kind kind,
				      struct vhdx_source *ret_src, char *name, size_t name_len,
				      char *why, size_t why_len);
	/* Releases what open acquired for @src.  May be NULL. */
	void (*close)(void *ctx, struct vhdx_source *src);
	/*
	 * Memory for the index of a level's active log (vhdx_log_view_index),
	 * @len bytes (vhdx_log_view_index_size), or NULL: reads through that
	 * log then walk it (slower, the same bytes).  Given back through
	 * index_free when the level is closed or refused.  May be NULL.
	 */
	void *(*index_alloc)(void *ctx, size_t len);
	void (*index_free)(void *ctx, void *mem, size_t len);
};

/*
 * A chain level's name: the path the frontend opened it by, and the
 * folder its own parent's relative_path starts from, so never cut: as
 * long as Linux's PATH_MAX (4096 bytes, NUL included).  A longer path is
 * refused as too long, with that reason.
 */
#define VHDX_NAME_SIZE 4096u
/*
 * The deepest chain any verb reads or creates, the child included: 16
 * levels, 15 parents.  Readers size their level arrays by it; create
 * refuses a child whose parent's chain already has this many levels
 * (vhdx_parent_depth), with the words the readers use.
 */
#define VHDX_CHAIN_DEPTH_MAX 16u
#define VHDX_CHAIN_WHY_SIZE 2304u /* [byte] chain->why: refused and tried notes, NUL included */

/* One disk of a chain: level 0 is the child that was opened. */
struct vhdx_chain_level {
	struct vhdx_disk disk;          /* as after replay when through_log */
	struct vhdx_source src;         /* the file; owned by the frontend (close) */
	bool through_log;               /* its log is active: read through view.source */
	struct vhdx_log_view view;
	void *log_index;                /* the view's index (ops->index_alloc), or NULL */
	size_t log_index_len;           /* [byte] */
	char name[VHDX_NAME_SIZE];      /* display name */
	const char *key;                /* locator key that found it; NULL for level 0 */
};

enum vhdx_chain_verdict {
	VHDX_CHAIN_COMPLETE = 0,  /* every parent found and accepted, ends at a non-differencing disk */
	VHDX_CHAIN_ABSENT,        /* a level's parent was not found at any path */
	VHDX_CHAIN_MISMATCH,      /* a candidate was found but refused (linkage, size, sectors, not a VHDX) */
	VHDX_CHAIN_CYCLE,         /* a parent is already in the chain */
	VHDX_CHAIN_TOO_DEEP,      /* more levels than the caller's array */
	VHDX_CHAIN_BAD_LOCATOR,   /* the child's locator has no usable parent_linkage */
};

struct vhdx_chain {
	struct vhdx_chain_level *levels;  /* caller's array */
	unsigned max_levels;
	unsigned depth;                   /* levels opened, child included */
	enum vhdx_chain_verdict verdict;
	unsigned failed_level;            /* the level whose parent failed (verdict != COMPLETE) */
	char why[VHDX_CHAIN_WHY_SIZE];    /* names the path rejected or tried, for lines and findings */
};

/*
 * vhdx_chain_open - open @levels[0] from @src (named @name) and walk its
 * parents through @ops.  Returns VHDX_OK when the walk ran (the verdict
 * says how it ended: a broken chain is not an error here), the errors of
 * vhdx_disk_open for level 0 (nothing kept open then), or
 * VHDX_ERR_INVAL.  Parents that were opened stay open until
 * vhdx_chain_close.  @scratch: VHDX_SCRATCH_SIZE bytes (or more).
 */
int vhdx_chain_open(struct vhdx_chain *chain, struct vhdx_chain_level *levels, unsigned max_levels,
		    const struct vhdx_source *src, const char *name, const struct vhdx_parent_ops *ops,
		    void *scratch, size_t scratch_len, char *why, size_t why_len);
/* Closes every parent (not level 0's source, which the caller gave) and
 * gives back every log index (ops->index_free); once.  The levels' disks
 * and names stay readable for printing. */
void vhdx_chain_close(struct vhdx_chain *chain, const struct vhdx_parent_ops *ops);

/*
 * vhdx_chain_report - the checker's finding about a chain that did not
 * end well: parent.absent (a warning: the parent may live elsewhere) or
 * parent.mismatch (an error: a candidate was there and refused, a cycle,
 * too deep), counted in @info (may be NULL) and passed to @fn.
 */
void vhdx_chain_report(const struct vhdx_chain *chain, struct vhdx_info *info, vhdx_finding_fn fn,
		       void *ctx);

/*
 * vhdx_examine - what `info` and `check` report, one call for every
 * frontend: the image checked as it is after replay when its log is
 * active (read through the view of @levels[0]; the findings still say
 * that replay is pending), and for a differencing image its chain walked
 * through @ops and judged (vhdx_chain_report).  Parents are closed again
 * before it returns; *ret_walked says whether @chain holds levels to print
 * (false when the decoder refused the image: the checker's findings say
 * why).  Returns as vhdx_check.
 */
int vhdx_examine(const struct vhdx_source *src, const char *name, struct vhdx_chain *chain,
		 struct vhdx_chain_level *levels, unsigned max_levels, const struct vhdx_parent_ops *ops,
		 void *scratch, size_t scratch_len, struct vhdx_info *info, vhdx_finding_fn fn, void *ctx,
		 bool *ret_walked);

#endif /* VHDX_CHAIN_H */
