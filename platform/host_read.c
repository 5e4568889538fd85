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
	bool print;  /* findings to stdout (check) */
	FILE *chain; /* the chain's levels, one line each (info); NULL: not kept */
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

/* Where the locator item lies in the file, for findings. */
static uint64_t locator_offset(const struct vhdx_info *info)
{
	const char *name;
	size_t i;

	for (i = 0; i < info->meta_count && i < VHDX_INFO_MAX_ITEMS; i++) {
		name = vhdx_item_name(&info->items[i].id);
		if (name && !strcmp(name, "Parent Locator"))
			return info->meta_offset + info->items[i].offset;
	}
	return 0;
}

/* One level of a chain: the parent a child names, once resolved. */
struct parent_level {
	char path[1024];      /* the candidate accepted, or the last one tried */
	const char *key;      /* the locator key it came from */
	char why[1200];       /* why no candidate was accepted ("" if one was) */
	bool found;           /* a file exists at a candidate */
	struct vhdx_info *info; /* the parent's, probed (caller frees) */
};

/*
 * Resolves the parent of the child at @path: relative_path, then
 * volume_path, then absolute_win32_path (DESIGN.md), '\' read as '/', a
 * relative value taken from the child's folder; a candidate is accepted
 * only when it is a VHDX whose current DataWriteGuid equals parent_linkage
 * and whose size and logical sector match the child's [2.6.2.6.3].
 * Windows-only forms (C:\..., \\?\Volume{...}) never exist here.
 * Returns true when a parent was accepted (lv->info filled).
 */
static bool resolve_parent(const char *path, const struct vhdx_info *info, struct parent_level *lv)
{
	static const char *const keys[] = { "relative_path", "volume_path", "absolute_win32_path" };
	const char *link = vhdx_info_locator_value(info, "parent_linkage");
	const char *slash = strrchr(path, '/');
	size_t dir = slash ? (size_t)(slash - path + 1) : 0, k, i;
	struct vhdx_guid want;
	void *scratch;

	memset(lv, 0, sizeof(*lv));
	snprintf(lv->why, sizeof(lv->why), "no locator path a POSIX host can follow");
	if (!link || vhdx_guid_from_text(&want, link, strlen(link)))
		return false; /* reported as pl.parent_linkage */
	lv->info = malloc(sizeof(*lv->info));
	scratch = malloc(VHDX_READ_SCRATCH_MIN);
	if (!lv->info || !scratch) {
		free(scratch);
		snprintf(lv->why, sizeof(lv->why), "out of memory");
		return false;
	}
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *v = vhdx_info_locator_value(info, keys[k]);
		struct vhdx_source src;
		struct rsrc r;
		size_t n = 0;
		int err;

		if (!v || !*v)
			continue;
		if (v[0] != '\\' && v[0] != '/' && !(v[0] && v[1] == ':')) {
			if (dir >= sizeof(lv->path))
				continue;
			memcpy(lv->path, path, dir);
			n = dir;
		}
		for (i = 0; v[i] && n + 1 < sizeof(lv->path); i++)
			lv->path[n++] = v[i] == '\\' ? '/' : v[i];
		lv->path[n] = '\0';
		lv->key = keys[k];
		if (access(lv->path, R_OK) != 0) {
			snprintf(lv->why, sizeof(lv->why), "%s %s: %s", keys[k], lv->path, strerror(errno));
			continue;
		}
		lv->found = true;
		if (rsrc_open(lv->path, &r, &src) != VHDX_EXIT_OK)
			continue;
		err = vhdx_probe(&src, scratch, VHDX_READ_SCRATCH_MIN, lv->info);
		close(r.t.fd);
		if (err || !lv->info->is_vhdx || lv->info->current_header < 0)
			snprintf(lv->why, sizeof(lv->why), "%s: not a VHDX with a valid header", lv->path);
		else if (!vhdx_guid_equal(&lv->info->header[lv->info->current_header].data_write_guid, &want))
			snprintf(lv->why, sizeof(lv->why), "%s: its DataWriteGuid is not parent_linkage",
				 lv->path);
		else if (lv->info->virtual_size != info->virtual_size ||
			 lv->info->logical_sector_size != info->logical_sector_size)
			snprintf(lv->why, sizeof(lv->why),
				 "%s: its virtual size or logical sector size differs from the child's", lv->path);
		else {
			lv->why[0] = '\0';
			free(scratch);
			return true;
		}
	}
	free(scratch);
	return false;
}

#define CHAIN_MAX 16 /* levels followed before calling it a loop */

/*
 * Follows a differencing chain from @path up to a parent that is not
 * differencing.  check: a missing parent is a warning (parent.absent), a
 * candidate that exists but does not match is an error (parent.mismatch),
 * at every level.  One line per level goes to o->chain when it is set:
 * info prints them after the rest, whose error counts include the chain's.
 */
static void walk_chain(const char *path, struct vhdx_info *info, struct check_out *o)
{
	FILE *levels = o->chain;
	char child[1024], found[1400], sum[128];
	struct vhdx_info *cur = info, *owned = NULL;
	int level;

	if (info->type != VHDX_TYPE_DIFFERENCING || !info->has_locator)
		return;
	snprintf(child, sizeof(child), "%s", path);
	if (levels)
		fprintf(levels, "parent chain:\n");
	for (level = 1; level <= CHAIN_MAX; level++) {
		struct parent_level lv;
		bool ok = resolve_parent(child, cur, &lv);

		if (!ok) {
			if (levels)
				fprintf(levels, "  %d: not found (%s)\n", level, lv.why);
			snprintf(found, sizeof(found), "%s%s%s", level > 1 ? child : "", level > 1 ? ": " : "",
				 lv.why);
			host_finding(info, o, lv.found ? VHDX_R_PARENT_MISMATCH : VHDX_R_PARENT_ABSENT,
				     locator_offset(cur), "parent locator", found);
			free(lv.info);
			break;
		}
		if (levels) {
			vhdx_info_summary(lv.info, sum, sizeof(sum));
			fprintf(levels, "  %d: %s (%s): %s, DataWriteGuid matches parent_linkage\n", level,
				lv.path, lv.key, sum);
		}
		free(owned);
		owned = lv.info;
		cur = owned;
		snprintf(child, sizeof(child), "%s", lv.path);
		if (cur->type != VHDX_TYPE_DIFFERENCING)
			break;
		if (level == CHAIN_MAX) {
			snprintf(found, sizeof(found), "more than %d levels: a loop?", CHAIN_MAX);
			host_finding(info, o, VHDX_R_PARENT_MISMATCH, locator_offset(info), "parent locator",
				     found);
		}
	}
	free(owned);
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
	walk_chain(cli->target, info, o);
	return VHDX_EXIT_OK;
}

/* Reads and checks cli->target into a fresh info; NULL (message printed,
 * *ret_status set) when it could not run. */
static struct vhdx_info *read_target(const struct vhdx_cli *cli, struct check_out *o, int *ret_status)
{
	struct vhdx_info *info = malloc(sizeof(*info));

	if (!info) {
		host_error("out of memory");
		*ret_status = VHDX_EXIT_USAGE;
		return NULL;
	}
	*ret_status = run_check(cli, info, o);
	if (*ret_status != VHDX_EXIT_OK) {
		free(info);
		return NULL;
	}
	return info;
}

int host_cmd_info(const struct vhdx_cli *cli)
{
	struct check_out o = { .path = cli->target, .print = false };
	struct vhdx_info *info;
	char *chain = NULL;
	size_t chain_len = 0;
	int st;

	if (!cli->json) {
		o.chain = open_memstream(&chain, &chain_len);
		if (!o.chain) {
			host_error("out of memory");
			return VHDX_EXIT_USAGE;
		}
	}
	info = read_target(cli, &o, &st);
	if (o.chain && fclose(o.chain) != 0) {
		host_error("out of memory");
		free(chain);
		free(info);
		return VHDX_EXIT_USAGE;
	}
	if (info) {
		vhdx_info_print(info, cli->json, print_line, NULL);
		if (chain)
			fputs(chain, stdout);
		if (!info->is_vhdx)
			st = VHDX_EXIT_FAILED;
		free(info);
	}
	free(chain);
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return st;
}

int host_cmd_check(const struct vhdx_cli *cli)
{
	struct check_out o = { .path = cli->target, .print = true };
	struct vhdx_info *info;
	int st;

	info = read_target(cli, &o, &st);
	if (info) {
		char sum[128];

		vhdx_info_summary(info, sum, sizeof(sum));
		printf("%s: %s: %u error%s, %u warning%s\n", cli->target, sum, info->errors,
		       info->errors == 1 ? "" : "s", info->warnings, info->warnings == 1 ? "" : "s");
		st = info->errors ? VHDX_EXIT_FAILED : VHDX_EXIT_OK;
		free(info);
	}
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return st;
}
