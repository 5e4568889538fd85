/* SPDX-License-Identifier: MIT */
/* host_parent.h - a differencing child's parent on the host: accepted and
 * its locator built by the core (vhdx_parent.h), paths worked out here. */
#ifndef VHDX_HOST_PARENT_H
#define VHDX_HOST_PARENT_H

#include <limits.h>

#include "host.h"
#include "vhdx.h"

struct host_parent {
	struct vhdx_child_link link;  /* the locator, referenced by params */
	enum vhdx_type parent_type;
	char child_dir[PATH_MAX];     /* where relative_path starts */
	bool from_volume_root;        /* the child is a block device: the parent's mount point */
	char parent_abs[PATH_MAX];
	char relative[PATH_MAX * 2];
};

/*
 * host_parent_prepare - check cli->parent with the core's parent policy
 * and fill @params (size, sectors, Page 83 ID, locator pointing into @ret)
 * for the child at path @child.  Returns an exit status; errors are printed.
 */
int host_parent_prepare(const struct vhdx_cli *cli, const char *child, struct vhdx_params *params,
			struct host_parent *ret);

#endif /* VHDX_HOST_PARENT_H */
