/* SPDX-License-Identifier: MIT */
/*
 * host_parent.c - what a differencing child takes from its parent: the
 * parent is read and checked with our own reader (refused unless it checks
 * clean and its log is empty), its virtual size, sector sizes and Page 83
 * ID are copied, and the parent locator is built like Hyper-V's
 * (VHDX-FORMAT.md 2.6.2.6): parent_linkage, absolute_win32_path (given
 * with --parent-win32-path: a Linux path means nothing to Hyper-V),
 * relative_path from the child's folder with Windows separators, and
 * parent_linkage2 zero.  A child on a block device has no folder: its
 * relative_path is the parent's path from the root of the parent's
 * filesystem (its mount point), as vhdx.efi writes it for blkN: children.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_parent.h"
#include "posix_io.h"
#include "vhdx_read.h"

/* The path from folder @from to file @to (both absolute, canonical), with
 * '\' separators: ".\name" in the same folder, "..\x\name" elsewhere. */
static int relative_path(const char *from, const char *to, char *buf, size_t len)
{
	size_t common = 0, i;
	const char *rest;
	int n = 0;

	/* the longest common prefix ending at a folder boundary */
	for (i = 0; from[i] && from[i] == to[i]; i++)
		if (from[i] == '/')
			common = i + 1;
	if (!from[i] && to[i] == '/')
		common = i + 1;
	if (strcmp(from, "/") == 0)
		common = 1;
	/* what is left of @from below the common folder ("" when @from is it:
	 * common may be one past @from's end) */
	rest = common < strlen(from) ? from + common : "";
	buf[0] = '\0';
	if (!*rest) {
		n = snprintf(buf, len, ".\\");
	} else {
		const char *p;

		n += snprintf(buf + n, len - (size_t)n, "..\\");
		for (p = rest; *p; p++)
			if (*p == '/' && p[1])
				n += snprintf(buf + n, len - (size_t)n, "..\\");
	}
	for (i = common; to[i] && (size_t)n + 1 < len; i++)
		buf[n++] = to[i] == '/' ? '\\' : to[i];
	if ((size_t)n + 1 >= len)
		return -1;
	buf[n] = '\0';
	return 0;
}

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

int host_parent_prepare(const struct vhdx_cli *cli, const char *child, struct vhdx_params *params,
			struct host_parent *ret)
{
	struct posix_target t;
	struct vhdx_source src;
	struct vhdx_info *info;
	struct stat pst, cst;
	char child_dir[PATH_MAX], *slash;
	void *scratch;
	int fd, err;

	memset(ret, 0, sizeof(*ret));
	memset(&t, 0, sizeof(t));
	fd = open(cli->parent, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		host_error("--parent %s: %s", cli->parent, strerror(errno));
		return VHDX_EXIT_USAGE;
	}
	if (fstat(fd, &pst) < 0) {
		host_error("--parent %s: %s", cli->parent, strerror(errno));
		close(fd);
		return VHDX_EXIT_USAGE;
	}
	if (stat(child, &cst) == 0 && pst.st_dev == cst.st_dev && pst.st_ino == cst.st_ino) {
		host_error("--parent %s: the child cannot be its own parent", cli->parent);
		close(fd);
		return VHDX_EXIT_USAGE;
	}
	if (posix_source_init(&src, &t, fd) < 0) {
		host_error("--parent %s: %s", cli->parent, strerror(errno));
		close(fd);
		return VHDX_EXIT_USAGE;
	}
	info = malloc(sizeof(*info));
	scratch = malloc(VHDX_CHECK_SCRATCH_ONE_PASS);
	if (!info || !scratch) {
		host_error("out of memory");
		close(fd);
		free(info);
		free(scratch);
		return VHDX_EXIT_FAILED;
	}
	err = vhdx_check(&src, scratch, VHDX_CHECK_SCRATCH_ONE_PASS, info, NULL, NULL);
	close(fd);
	free(scratch);
	if (err) {
		host_error("--parent %s: cannot read it: %s", cli->parent,
			   t.failed_op ? strerror(t.saved_errno) : vhdx_strerror(err));
		free(info);
		return VHDX_EXIT_USAGE;
	}
	if (!info->is_vhdx) {
		host_error("--parent %s: not a VHDX image", cli->parent);
		free(info);
		return VHDX_EXIT_USAGE;
	}
	if (info->log_replay_needed) {
		host_error("--parent %s: its log must be replayed first (LogGuid is not zero, [MS-VHDX] 2.3)",
			   cli->parent);
		free(info);
		return VHDX_EXIT_USAGE;
	}
	if (info->errors || !info->geometry_ok || !info->has_page83) {
		host_error("--parent %s: does not check clean (%u errors; see 'vhdx check %s')", cli->parent,
			   info->errors, cli->parent);
		free(info);
		return VHDX_EXIT_USAGE;
	}
	params->virtual_size = info->virtual_size;
	params->logical_sector_size = info->logical_sector_size;
	params->physical_sector_size = info->physical_sector_size;
	params->page83 = info->page83;
	ret->parent_type = info->type;
	/* parent_linkage: the parent's DataWriteGuid, braced, lower case */
	ret->linkage[0] = '{';
	vhdx_guid_to_text(&info->header[info->current_header].data_write_guid, ret->linkage + 1, false);
	strcat(ret->linkage, "}");
	free(info);

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
	if (stat(child, &cst) == 0 && S_ISBLK(cst.st_mode)) {
		volume_root(ret->parent_abs, pst.st_dev, ret->child_dir, sizeof(ret->child_dir));
		ret->from_volume_root = true;
	}
	if (relative_path(ret->child_dir, ret->parent_abs, ret->relative, sizeof(ret->relative)) < 0) {
		host_error("%s: cannot work out the path from the child to its parent: %s", child,
			   strerror(ENAMETOOLONG));
		return VHDX_EXIT_USAGE;
	}
	ret->kv[ret->count++] = (struct vhdx_kv){ "parent_linkage", ret->linkage };
	if (cli->parent_win32_path)
		ret->kv[ret->count++] = (struct vhdx_kv){ "absolute_win32_path", cli->parent_win32_path };
	ret->kv[ret->count++] = (struct vhdx_kv){ "relative_path", ret->relative };
	ret->kv[ret->count++] = (struct vhdx_kv){ "parent_linkage2", "{00000000-0000-0000-0000-000000000000}" };
	params->parent_locator = ret->kv;
	params->parent_locator_count = ret->count;
	return VHDX_EXIT_OK;
}
