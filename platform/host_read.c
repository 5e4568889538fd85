/* SPDX-License-Identifier: MIT */
/*
 * host_read.c - `vhdx info [--json] TARGET` and `vhdx check TARGET` on the
 * host: a read-only POSIX source (file or block device, O_RDONLY, never
 * written) around the core reader (core/vhdx_read.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "posix_io.h"
#include "vhdx_read.h"

struct rsrc {
	struct posix_target t;
	const char *path;
};

/* Opens @path read-only (O_RDONLY: info and check never write); fills src.
 * Exit status on failure, message printed. */
static int rsrc_open(const char *path, struct rsrc *r, struct vhdx_source *src)
{
	int fd;

	memset(r, 0, sizeof(*r));
	r->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		host_error("%s: cannot open: %s", path, strerror(errno));
		return VHDX_EXIT_USAGE;
	}
	if (posix_source_init(src, &r->t, fd) < 0) {
		host_error("%s: not a readable file or block device: %s", path, strerror(errno));
		close(fd);
		return VHDX_EXIT_USAGE;
	}
	return VHDX_EXIT_OK;
}

struct check_out {
	const char *path;
	bool print;
};

static void print_finding(void *ctx, const struct vhdx_finding *f)
{
	struct check_out *o = ctx;
	char line[512];

	if (!o->print)
		return;
	vhdx_finding_to_text(f, line, sizeof(line));
	printf("%s\n", line);
}

static void print_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

static void host_finding(struct vhdx_info *info, struct check_out *o, enum vhdx_rule rule,
			 uint64_t off, const char *where, const char *found)
{
	struct vhdx_finding f = {
		.severity = vhdx_rule_severity(rule),
		.rule = rule,
		.offset = off,
		.where = where,
		.found = found,
	};

	if (f.severity == VHDX_SEV_ERROR)
		info->errors++;
	else
		info->warnings++;
	print_finding(o, &f);
}

/*
 * A differencing child's parent: relative_path beside the child (the only
 * locator a POSIX host can follow), accepted only when its DataWriteGuid
 * equals parent_linkage [2.6.2.6.3].
 */
static void check_parent(const char *path, struct vhdx_info *info, struct check_out *o)
{
	const char *rel = vhdx_info_locator_value(info, "relative_path");
	const char *link = vhdx_info_locator_value(info, "parent_linkage");
	uint64_t loc_off = 0;
	char cand[1024], found[1200];
	const char *slash = strrchr(path, '/');
	struct vhdx_guid want;
	struct vhdx_info *pinfo;
	struct vhdx_source src;
	struct rsrc r;
	void *scratch;
	size_t i, dir = slash ? (size_t)(slash - path + 1) : 0;
	int err;

	if (info->type != VHDX_TYPE_DIFFERENCING || !info->has_locator)
		return;
	for (i = 0; i < info->meta_count && i < VHDX_INFO_MAX_ITEMS; i++)
		if (vhdx_item_name(&info->items[i].id) &&
		    !strcmp(vhdx_item_name(&info->items[i].id), "Parent Locator"))
			loc_off = info->meta_offset + info->items[i].offset;
	if (!rel || dir + strlen(rel) >= sizeof(cand)) {
		host_finding(info, o, VHDX_R_PARENT_ABSENT, loc_off, "parent locator",
			     "no relative_path a POSIX host can follow");
		return;
	}
	memcpy(cand, path, dir);
	for (i = 0; rel[i]; i++)
		cand[dir + i] = rel[i] == '\\' ? '/' : rel[i];
	cand[dir + i] = '\0';
	if (access(cand, R_OK) != 0) {
		snprintf(found, sizeof(found), "relative_path %s: %s", cand, strerror(errno));
		host_finding(info, o, VHDX_R_PARENT_ABSENT, loc_off, "parent locator", found);
		return;
	}
	if (!link || vhdx_guid_from_text(&want, link, strlen(link)))
		return; /* reported as pl.parent_linkage */
	if (rsrc_open(cand, &r, &src) != VHDX_EXIT_OK)
		return;
	scratch = malloc(VHDX_READ_SCRATCH_MIN);
	pinfo = malloc(sizeof(*pinfo));
	if (scratch && pinfo) {
		const char *why = NULL;

		err = vhdx_probe(&src, scratch, VHDX_READ_SCRATCH_MIN, pinfo);
		if (err || pinfo->current_header < 0)
			why = "no valid VHDX header";
		else if (!vhdx_guid_equal(&pinfo->header[pinfo->current_header].data_write_guid, &want))
			why = "its DataWriteGuid is not parent_linkage";
		else if (pinfo->virtual_size != info->virtual_size ||
			 pinfo->logical_sector_size != info->logical_sector_size)
			why = "its virtual size or logical sector size differs from the child's";
		if (why) {
			snprintf(found, sizeof(found), "%s: %s", cand, why);
			host_finding(info, o, VHDX_R_PARENT_MISMATCH, loc_off, "parent locator", found);
		}
	}
	free(scratch);
	free(pinfo);
	close(r.t.fd);
}

/* Runs the reader; exit status 2 (message printed) if it could not run. */
static int run_check(const struct vhdx_cli *cli, struct vhdx_info *info, struct check_out *o)
{
	struct vhdx_source src;
	struct rsrc r;
	size_t scratch_len = VHDX_CHECK_SCRATCH_ONE_PASS;
	void *scratch;
	int st, err;

	if (!cli->target) {
		host_error("%s: TARGET missing", cli->cmd == VHDX_CMD_INFO ? "info" : "check");
		return VHDX_EXIT_USAGE;
	}
	st = rsrc_open(cli->target, &r, &src);
	if (st != VHDX_EXIT_OK)
		return st;
	scratch = malloc(scratch_len);
	if (!scratch) {
		host_error("out of memory");
		close(r.t.fd);
		return VHDX_EXIT_USAGE;
	}
	err = vhdx_check(&src, scratch, scratch_len, info, print_finding, o);
	free(scratch);
	if (err) {
		if (err == VHDX_ERR_IO)
			host_error("%s: read failed at offset %llu: %s", cli->target,
				   (unsigned long long)r.t.failed_offset, strerror(r.t.saved_errno));
		else
			host_error("%s: reader failed: %s", cli->target, vhdx_strerror(err));
		close(r.t.fd);
		return VHDX_EXIT_USAGE;
	}
	close(r.t.fd);
	check_parent(cli->target, info, o);
	return VHDX_EXIT_OK;
}

int host_cmd_info(const struct vhdx_cli *cli)
{
	struct check_out o = { .path = cli->target, .print = false };
	struct vhdx_info *info = malloc(sizeof(*info));
	int st;

	if (!info) {
		host_error("out of memory");
		return VHDX_EXIT_USAGE;
	}
	st = run_check(cli, info, &o);
	if (st == VHDX_EXIT_OK) {
		vhdx_info_print(info, cli->json, print_line, NULL);
		if (!info->is_vhdx)
			st = VHDX_EXIT_FAILED;
	}
	free(info);
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return st;
}

int host_cmd_check(const struct vhdx_cli *cli)
{
	struct check_out o = { .path = cli->target, .print = true };
	struct vhdx_info *info = malloc(sizeof(*info));
	int st;

	if (!info) {
		host_error("out of memory");
		return VHDX_EXIT_USAGE;
	}
	st = run_check(cli, info, &o);
	if (st == VHDX_EXIT_OK) {
		char sum[128];

		vhdx_info_summary(info, sum, sizeof(sum));
		printf("%s: %s: %u error%s, %u warning%s\n", cli->target, sum, info->errors,
		       info->errors == 1 ? "" : "s", info->warnings, info->warnings == 1 ? "" : "s");
		st = info->errors ? VHDX_EXIT_FAILED : VHDX_EXIT_OK;
	}
	free(info);
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return st;
}
