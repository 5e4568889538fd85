/* SPDX-License-Identifier: MIT */
/*
 * vhdx_parent.h - a new differencing child and its parent: the parent
 * accepted, the child's parameters and parent locator built from it
 * [2.6.2.6], and the relative_path between them.  One policy for both
 * frontends (walking an existing chain is in vhdx_read.h).
 */
#ifndef VHDX_PARENT_H
#define VHDX_PARENT_H

#include "vhdx_create.h"
#include "vhdx_read.h"

/*
 * vhdx_parent_accept - a parent for a new child: it must be a VHDX that
 * checks clean (no errors, its Page 83 ID present) and whose log is empty.
 * Runs the checker over @src (@info is its result) and then the decoder
 * into @ret.  Returns VHDX_OK; VHDX_ERR_CORRUPT or VHDX_ERR_UNSUPPORTED
 * with @why ("its log must be replayed first ...", "does not check clean
 * (3 errors; see 'vhdx check NAME')"); VHDX_ERR_IO; VHDX_ERR_INVAL.
 * @scratch: VHDX_SCRATCH_SIZE bytes or more.
 */
int vhdx_parent_accept(const struct vhdx_source *src, const char *name, void *scratch,
		       size_t scratch_len, struct vhdx_info *info, struct vhdx_disk *ret, char *why,
		       size_t why_len);

/*
 * vhdx_parent_depth - room for one more level below a parent whose chain
 * @parent_chain was walked (vhdx_chain_open) with @max_levels levels, the
 * limit the readers use (VHDX_CHAIN_DEPTH_MAX): the child is a level too,
 * so a parent chain already @max_levels deep, or refused as deeper, leaves
 * none.  VHDX_OK, or VHDX_ERR_UNSUPPORTED with @why in the readers' words
 * ("more than 15 parents: a chain this deep is refused").  A chain broken
 * for another reason is not judged here.
 */
int vhdx_parent_depth(const struct vhdx_chain *parent_chain, unsigned max_levels, char *why,
		      size_t why_len);

/* The locator a child gets; referenced by the params it fills. */
struct vhdx_child_link {
	char linkage[VHDX_GUID_TEXT_SIZE + 2]; /* "{guid}" */
	struct vhdx_kv kv[4];
	size_t count;
};

/*
 * vhdx_child_params - @p's virtual size, sector sizes and Page 83 ID from
 * @parent, and its parent locator in Hyper-V's order: parent_linkage,
 * absolute_win32_path (@win32_path, may be NULL), relative_path,
 * parent_linkage2 zero.  The strings are referenced: @link, @relative_path
 * and @win32_path must outlive @p.
 */
int vhdx_child_params(struct vhdx_params *p, struct vhdx_child_link *link,
		      const struct vhdx_disk *parent, const char *relative_path, const char *win32_path);

/*
 * vhdx_relative_path - relative_path as [2.6.2.6] wants it: the way from
 * folder @from_dir to file @to_file, both absolute ('/' or '\' separated,
 * canonical: no "." or ".." components), written with '\': ".\name" in
 * the same folder, "..\x\name" elsewhere.  @fold_case: folder names
 * compare case-insensitively (ASCII; FAT).  Appends to @out; returns
 * VHDX_OK, VHDX_ERR_NOSPACE (cut: never use a cut path, it names another
 * file) or VHDX_ERR_INVAL (not absolute, or @to_file is a folder).
 */
int vhdx_relative_path(const char *from_dir, const char *to_file, bool fold_case, struct vhdx_text *out);

/*
 * vhdx_path_join - the file a locator path names, as a frontend spells
 * it: @folder (its first @root_len bytes are the root: "/" or "fs0:\\",
 * never folded away) then @path's components ('/' or '\\' separated) with
 * @sep between them, "." dropped and ".." taking back the last folder
 * (lexically, as Windows reads relative_path).  Appends to @out; returns
 * VHDX_OK, VHDX_ERR_NOSPACE (cut) or VHDX_ERR_INVAL (@folder shorter than
 * @root_len).
 */
int vhdx_path_join(const char *folder, size_t root_len, char sep, const char *path,
		   struct vhdx_text *out);

#endif /* VHDX_PARENT_H */
