/* SPDX-License-Identifier: MIT */
/* host_parent.h - read a parent image and build a child's parent locator. */
#ifndef VHDX_HOST_PARENT_H
#define VHDX_HOST_PARENT_H

#include <limits.h>

#include "host.h"

struct host_parent {
	struct vhdx_kv kv[4];        /* the locator, referenced by params */
	size_t count;
	enum vhdx_type parent_type;
	char linkage[VHDX_GUID_TEXT_SIZE + 2];
	char child_dir[PATH_MAX];     /* where relative_path starts */
	bool from_volume_root;       /* the child is a block device: the parent's mount point */
	char parent_abs[PATH_MAX];
	char relative[PATH_MAX * 2];
};

/*
 * host_parent_prepare - check cli->parent with our reader and fill
 * @params (size, sectors, Page 83 ID, locator pointing into @ret) for the
 * child at path @child.  Returns an exit status; errors are printed.
 */
int host_parent_prepare(const struct vhdx_cli *cli, const char *child, struct vhdx_params *params,
			struct host_parent *ret);

#endif /* VHDX_HOST_PARENT_H */
