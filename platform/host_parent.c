/* SPDX-License-Identifier: MIT */
/*
 * host_parent.c - the host's part of a new differencing child: open the
 * parent read-only and hand it to the core's policy (vhdx_parent.h: it
 * must check clean with an empty log; the child copies its size, sectors
 * and Page 83 ID; the locator is built like Hyper-V's), and work out
 * relative_path with the core's vhdx_relative_path from canonical paths.
 * absolute_win32_path is written only when given (--parent-win32-path): a
 * Linux path means nothing to Hyper-V.  A child on a block device has no
 * folder: its relative_path is the parent's path from the root of the
 * parent's filesystem (its mount point), as vhdx.efi writes it for blkN:
 * children.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_disk.h"
#include "host_parent.h"
#include "posix_io.h"

/* The mount point of the filesystem (device @dev) holding the file at
 * absolute path @file: the highest folder above it still on @dev. */
static void volume_root(const char *file, dev_t dev, char *root, size_t len)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	snprintf(root, len, "/");
	for (;;) {
		slash = strrchr(dir, '/');
		if (!slash)
			return;
		if (slash == dir) { /* up to "/" */
			if (stat("/", &st) == 0 && st.st_dev == dev)
				snprintf(root, len, "/");
			return;
		}
		*slash = '\0';
		if (stat(dir, &st) < 0 || st.st_dev != dev)
			return;
		snprintf(root, len, "%s", dir);
	}
}

/*
 * A differencing parent's own chain, walked as the readers walk it: the
 * child must still fit in VHDX_CHAIN_DEPTH_MAX levels (vhdx_parent_depth),
 * or convert and every other reader would refuse it.  VHDX_OK, the errors
 * of vhdx_chain_open, or VHDX_ERR_UNSUPPORTED with @why.
 */
static int parent_depth(const struct vhdx_source *src, const char *path, void *scratch, size_t scratch_len,
			char *why, size_t why_len)
{
	struct vhdx_chain_level *levels = calloc(VHDX_CHAIN_DEPTH_MAX, sizeof(*levels));
	struct vhdx_chain *chain = calloc(1, sizeof(*chain));
	int err = VHDX_ERR_NOSPACE;

	snprintf(why, why_len, "out of memory");
	if (levels && chain) {
		err = vhdx_chain_open(chain, levels, VHDX_CHAIN_DEPTH_MAX, src, path, &host_parent_ops, scratch,
				      scratch_len, why, why_len);
		if (!err) {
			err = vhdx_parent_depth(chain, VHDX_CHAIN_DEPTH_MAX, why, why_len);
			vhdx_chain_close(chain, &host_parent_ops);
		}
	}
	free(chain);
	free(levels);
	return err;
}

/* Opens, checks and decodes the parent; exit status, errors printed. */
static int accept_parent(const char *path, struct stat *pst, struct vhdx_disk *disk)
{
	char why[VHDX_WHY_SIZE];
	struct posix_target t;
	struct vhdx_source src;
	struct vhdx_info *info;
	const char *what;
	void *scratch;
	int fd, err;

	memset(&t, 0, sizeof(t));
	fd = posix_open_source(path, &what);
	if (fd < 0 && what) {
		host_error("--parent %s: not a regular file or block device: %s", path, what);
		return VHDX_EXIT_USAGE;
	}
	if (fd < 0 || fstat(fd, pst) < 0 || posix_source_init(&src, &t, fd) < 0) {
		host_error("--parent %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return VHDX_EXIT_USAGE;
	}
	info = malloc(sizeof(*info));
	scratch = malloc(VHDX_CHECK_SCRATCH_ONE_PASS);
	if (!info || !scratch) {
		close(fd);
		free(info);
		free(scratch);
		return host_out_of_memory();
	}
	why[0] = '\0';
	err = vhdx_parent_accept(&src, path, scratch, VHDX_CHECK_SCRATCH_ONE_PASS, info, disk, why,
				 sizeof(why));
	if (!err && disk->type == VHDX_TYPE_DIFFERENCING)
		err = parent_depth(&src, path, scratch, VHDX_CHECK_SCRATCH_ONE_PASS, why, sizeof(why));
	close(fd);
	free(scratch);
	free(info);
	if (err == VHDX_ERR_IO)
		host_error("--parent %s: cannot read it: %s", path, strerror(t.saved_errno));
	else if (err)
		host_error("--parent %s: %s", path, why[0] ? why : vhdx_strerror(err));
	return host_exit_before_write(err);
}

int host_parent_prepare(const struct vhdx_cli *cli, const char *child, struct vhdx_params *params,
			struct host_parent *ret)
{
	struct vhdx_disk disk;
	struct vhdx_text rel;
	struct stat pst, cst;
	char child_dir[PATH_MAX], *slash;
	bool child_exists;
	int st, err;

	memset(ret, 0, sizeof(*ret));
	st = accept_parent(cli->parent, &pst, &disk);
	if (st != VHDX_EXIT_OK)
		return st;
	child_exists = stat(child, &cst) == 0;
	if (child_exists && pst.st_dev == cst.st_dev && pst.st_ino == cst.st_ino) {
		host_error("--parent %s: the child cannot be its own parent", cli->parent);
		return VHDX_EXIT_USAGE;
	}
	ret->parent_type = disk.type;

	/* relative_path from the child's folder, or for a block device from
	 * the parent's mount point */
	snprintf(child_dir, sizeof(child_dir), "%s", child);
	slash = strrchr(child_dir, '/');
	if (slash)
		*(slash == child_dir ? slash + 1 : slash) = '\0';
	else
		strcpy(child_dir, ".");
	errno = 0;
	if (!realpath(cli->parent, ret->parent_abs) || !realpath(child_dir, ret->child_dir)) {
		host_error("%s: cannot work out the path from the child to its parent: %s", child,
			   strerror(errno));
		return VHDX_EXIT_USAGE;
	}
	if (child_exists && S_ISBLK(cst.st_mode)) {
		volume_root(ret->parent_abs, pst.st_dev, ret->child_dir, sizeof(ret->child_dir));
		ret->from_volume_root = true;
	}
	vhdx_text_init(&rel, ret->relative, sizeof(ret->relative));
	err = vhdx_relative_path(ret->child_dir, ret->parent_abs, false, &rel);
	if (err) {
		host_error("%s: cannot work out the path from the child to its parent: %s", child,
			   err == VHDX_ERR_NOSPACE ? strerror(ENAMETOOLONG) : vhdx_strerror(err));
		return host_exit_before_write(err);
	}
	vhdx_child_params(params, &ret->link, &disk, ret->relative, cli->parent_win32_path);
	return VHDX_EXIT_OK;
}
